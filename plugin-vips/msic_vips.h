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

/* libvips exports these (its own heif/jxl modules use them) but does not
 * install the header that declares them, so declare them here. They parse
 * the "exif-data" blob into "exif-ifd*" fields, resolution and orientation,
 * and rebuild the blob from those fields before a save. */
int vips__exif_parse(VipsImage *image);
int vips__exif_update(VipsImage *image);

#ifdef __cplusplus
}
#endif

#endif /* MSIC_VIPS_H */
