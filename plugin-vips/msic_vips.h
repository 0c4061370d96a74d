/* Shared declarations for the libvips MSIC module (vips-msic.so).
 *
 * The module registers msicload, msicload_buffer, msicload_source, msicsave,
 * msicsave_buffer and msicsave_target. It links libvips, GLib and the MSIC C
 * API only.
 */
#ifndef MSIC_VIPS_H
#define MSIC_VIPS_H

#include <vips/vips.h>

#include <msic/msic.h>

#include "msic_tile_cache.h"
#include "vips_metadata.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Suffixes for the file and target classes. */
extern const char *vips__msic_suffs[];

GType vips_foreign_load_msic_file_get_type(void);
GType vips_foreign_load_msic_buffer_get_type(void);
GType vips_foreign_load_msic_source_get_type(void);
GType vips_foreign_save_msic_file_get_type(void);
GType vips_foreign_save_msic_buffer_get_type(void);
GType vips_foreign_save_msic_target_get_type(void);

/* The loaders' abstract base (msicload.c). The file, buffer and source
 * subclasses (msicload_inputs.c) open the reader in their build, then
 * chain up. */
typedef struct _VipsForeignLoadMsic {
	VipsForeignLoad parent_object;

	/* Opened by the subclass build, before our build runs header(). */
	msic_reader *reader;
	msic_file_info info;

	/* What to call the input in messages: the filename, "buffer" or the
	 * source's nick. */
	char *name;

	/* The file we read, if there is one, for the image's filename. */
	char *filename;

	/* Decoded tiles, made by load(). */
	MsicTileCache *tiles;

	/* recover: read what a truncated or damaged file still holds, with
	 * a context of our own that recovers (see msic_context_set_recover);
	 * lost tiles are black, with a warning. */
	gboolean recover;
	msic_context *context;

	/* shrink: load the image this many times smaller (a power of two),
	 * from the stored reduced level that is closest (msic_reader_get_level)
	 * and, if none is exactly that small, shrunk further. */
	int shrink;
	uint32_t level;
	msic_level_info level_info;
} VipsForeignLoadMsic;

typedef VipsForeignLoadClass VipsForeignLoadMsicClass;

GType vips_foreign_load_msic_get_type(void);

/* The context a subclass opens its reader with: NULL (the library's
 * default), or with recover, a recovering one of the loader's own. NULL
 * and an error on failure. */
int vips_foreign_load_msic_context(VipsForeignLoadMsic *msic,
	msic_context **context);

/* Report a failure of the MSIC library, naming the input. */
void vips_foreign_load_msic_error(VipsForeignLoadMsic *msic,
	const char *what);

#ifdef __cplusplus
}
#endif

#endif /* MSIC_VIPS_H */
