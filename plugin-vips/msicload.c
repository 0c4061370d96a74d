/* Load MSIC images into libvips.
 *
 * The loader is region based: libvips asks for rectangles, we decode only
 * the MSIC tiles those rectangles touch (msic_reader_decode_tile is
 * thread-safe, so the libvips worker threads decode tiles in parallel) and a
 * threaded vips_tilecache keeps a couple of tile rows so that neighbouring
 * requests do not decode a tile twice. Memory therefore stays bounded by a
 * few tile rows whatever the image size, and a crop decodes only the tiles
 * under it.
 *
 * This file is the abstract base: header, metadata and tiles. msicload,
 * msicload_buffer and msicload_source derive from it and open the reader
 * on their input (msicload_inputs.c).
 */
#include <stdint.h>
#include <string.h>

#include "msic_vips.h"

const char *vips__msic_suffs[] = { ".msic", NULL };

G_DEFINE_ABSTRACT_TYPE(VipsForeignLoadMsic, vips_foreign_load_msic,
	VIPS_TYPE_FOREIGN_LOAD);

static void
vips_foreign_load_msic_dispose(GObject *gobject)
{
	VipsForeignLoadMsic *msic = (VipsForeignLoadMsic *) gobject;

	if (msic->reader) {
		/* Lets users (and our tests) see how much random access
		 * saved: `vips --vips-info crop huge.msic ...`. */
		g_info("msicload: %s: %" G_GUINT64_FORMAT " of %u tiles decoded",
			msic->name ? msic->name : "image",
			(guint64) msic_reader_tiles_decoded(msic->reader),
			msic->info.tiles_across * msic->info.tiles_down);
		msic_reader_close(msic->reader);
		msic->reader = NULL;
	}
	VIPS_FREE(msic->name);
	VIPS_FREE(msic->filename);

	G_OBJECT_CLASS(vips_foreign_load_msic_parent_class)->dispose(gobject);
}

void
vips_foreign_load_msic_error(VipsForeignLoadMsic *msic, const char *what)
{
	vips__msic_error(VIPS_OBJECT_GET_CLASS(msic)->nickname,
		msic->name ? msic->name : "input", what);
}

/* Subclass builds open the reader, then chain up here. */
static int
vips_foreign_load_msic_build(VipsObject *object)
{
	VipsForeignLoadMsic *msic = (VipsForeignLoadMsic *) object;

	if (msic->reader &&
		msic_reader_get_info(msic->reader, &msic->info) != MSIC_OK) {
		vips_foreign_load_msic_error(msic, "unable to read header");
		return -1;
	}

	return VIPS_OBJECT_CLASS(vips_foreign_load_msic_parent_class)->
		build(object);
}

static VipsForeignFlags
vips_foreign_load_msic_get_flags(VipsForeignLoad *load)
{
	(void) load;

	/* Any rectangle can be decoded on its own. */
	return VIPS_FOREIGN_PARTIAL;
}

/* Geometry and pixel format, shared by the header image and the image the
 * pixels are generated into. */
static void
vips_foreign_load_msic_set_geometry(VipsForeignLoadMsic *msic,
	VipsImage *image)
{
	const msic_image_info *info = &msic->info.image;

	vips_image_init_fields(image,
		(int) info->width, (int) info->height, (int) info->bands,
		VIPS_FORMAT_UCHAR, VIPS_CODING_NONE,
		vips__msic_interpretation(info->bands),
		1.0, 1.0);
}

static int
vips_foreign_load_msic_header(VipsForeignLoad *load)
{
	VipsForeignLoadMsic *msic = (VipsForeignLoadMsic *) load;
	VipsObjectClass *class = VIPS_OBJECT_GET_CLASS(load);
	const msic_image_info *info = &msic->info.image;
	VipsImage *out = load->out;

	if (!msic->reader) {
		vips_error(class->nickname, "%s", "no input to load");
		return -1;
	}

	/* The library validates the header; refuse anything we cannot
	 * represent anyway, rather than trust it blindly. */
	if (info->width < 1 || info->height < 1 ||
		info->width > VIPS_MAX_COORD ||
		info->height > VIPS_MAX_COORD ||
		(info->bands != 1 && info->bands != 3) ||
		info->bit_depth != 8 ||
		msic->info.tile_size < 1) {
		vips_error(class->nickname,
			"%s: unsupported MSIC image: %ux%u, %u bands, "
			"%u bits, tile size %u",
			msic->name, info->width, info->height, info->bands,
			info->bit_depth, msic->info.tile_size);
		return -1;
	}

	vips_foreign_load_msic_set_geometry(msic, out);
	if (msic->filename)
		VIPS_SETSTR(out->filename, msic->filename);

	/* Tiled random access, like tiled TIFF. */
	if (vips_image_pipelinev(out, VIPS_DEMAND_STYLE_SMALLTILE, NULL))
		return -1;

	if (vips__msic_metadata_load(out, msic->reader, class->nickname,
		msic->name, load->fail_on >= VIPS_FAIL_ON_WARNING))
		return -1;

	vips_image_set_double(out, "msic-quality", msic->info.quality);
	vips_image_set_int(out, "msic-tile-size", (int) msic->info.tile_size);
	vips_image_set_string(out, "msic-model-hash", msic->info.model_hash);

	return 0;
}

/* Per-thread state of the tile generator: a scratch tile for requests that
 * do not line up with the tile grid. */
typedef struct {
	uint8_t *scratch;
} MsicSeq;

static void *
vips_foreign_load_msic_start(VipsImage *out, void *a, void *b)
{
	(void) out;
	(void) a;
	(void) b;

	return g_new0(MsicSeq, 1);
}

static int
vips_foreign_load_msic_stop(void *vseq, void *a, void *b)
{
	MsicSeq *seq = (MsicSeq *) vseq;

	(void) a;
	(void) b;

	g_free(seq->scratch);
	g_free(seq);

	return 0;
}

static int
vips_foreign_load_msic_decode_error(VipsForeignLoadMsic *msic,
	uint32_t tx, uint32_t ty)
{
	char what[64];

	g_snprintf(what, sizeof(what), "tile (%u, %u) failed to decode",
		tx, ty);
	vips_foreign_load_msic_error(msic, what);

	/* Don't leave a broken loader in the operation cache. */
	vips_operation_invalidate(VIPS_OPERATION(msic));

	return -1;
}

static int
vips_foreign_load_msic_generate(VipsRegion *or,
	void *vseq, void *a, void *b, gboolean *stop)
{
	MsicSeq *seq = (MsicSeq *) vseq;
	VipsForeignLoadMsic *msic = (VipsForeignLoadMsic *) a;
	const VipsRect *r = &or->valid;
	const uint32_t ts = msic->info.tile_size;
	const uint32_t width = msic->info.image.width;
	const uint32_t height = msic->info.image.height;
	const size_t ps = msic->info.image.bands;
	const size_t lskip = VIPS_REGION_LSKIP(or);
	uint32_t tx0, ty0, tx1, ty1, tx, ty;

	(void) b;
	(void) stop;

	tx0 = (uint32_t) r->left / ts;
	ty0 = (uint32_t) r->top / ts;
	tx1 = (uint32_t) (VIPS_RECT_RIGHT(r) - 1) / ts;
	ty1 = (uint32_t) (VIPS_RECT_BOTTOM(r) - 1) / ts;

	for (ty = ty0; ty <= ty1; ty++)
		for (tx = tx0; tx <= tx1; tx++) {
			VipsRect tile;
			VipsRect hit;
			int y;

			tile.left = (int) (tx * ts);
			tile.top = (int) (ty * ts);
			tile.width = (int) VIPS_MIN(ts, width - tx * ts);
			tile.height = (int) VIPS_MIN(ts, height - ty * ts);

			/* The tile cache asks for whole tiles: decode those
			 * straight into the region. */
			if (vips_rect_equalsrect(&tile, r)) {
				if (msic_reader_decode_tile(msic->reader,
					tx, ty,
					VIPS_REGION_ADDR(or, r->left, r->top),
					lskip) != MSIC_OK)
					return vips_foreign_load_msic_decode_error(
						msic, tx, ty);
				continue;
			}

			if (!seq->scratch &&
				!(seq->scratch = g_try_malloc(
					(size_t) ts * ts * ps))) {
				vips_error("msicload", "%s",
					"out of memory for a tile");
				return -1;
			}
			if (msic_reader_decode_tile(msic->reader, tx, ty,
				seq->scratch, (size_t) tile.width * ps) !=
				MSIC_OK)
				return vips_foreign_load_msic_decode_error(
					msic, tx, ty);

			vips_rect_intersectrect(&tile, r, &hit);
			for (y = 0; y < hit.height; y++)
				memcpy(VIPS_REGION_ADDR(or,
						hit.left, hit.top + y),
					seq->scratch +
						((size_t) (hit.top + y -
							tile.top) *
							tile.width +
						(hit.left - tile.left)) * ps,
					(size_t) hit.width * ps);
		}

	return 0;
}

static int
vips_foreign_load_msic_load(VipsForeignLoad *load)
{
	VipsForeignLoadMsic *msic = (VipsForeignLoadMsic *) load;
	VipsImage **t = (VipsImage **)
		vips_object_local_array(VIPS_OBJECT(load), 2);
	const uint32_t ts = msic->info.tile_size;

	t[0] = vips_image_new();
	vips_foreign_load_msic_set_geometry(msic, t[0]);
	if (vips_image_pipelinev(t[0], VIPS_DEMAND_STYLE_SMALLTILE, NULL) ||
		vips_image_generate(t[0],
			vips_foreign_load_msic_start,
			vips_foreign_load_msic_generate,
			vips_foreign_load_msic_stop,
			msic, NULL))
		return -1;

	/* Two tile rows plus a half, so requests that straddle a tile row
	 * boundary (libvips works in smaller tiles and strips) do not
	 * decode the same tiles again. Threaded: different tiles decode in
	 * parallel, each only once. */
	if (vips_tilecache(t[0], &t[1],
			"tile_width", (int) ts,
			"tile_height", (int) ts,
			"max_tiles", (int) (2.5 * (1 + msic->info.tiles_across)),
			"threaded", TRUE,
			NULL) ||
		vips_image_write(t[1], load->real))
		return -1;

	return 0;
}

static void
vips_foreign_load_msic_class_init(VipsForeignLoadMsicClass *class)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(class);
	VipsObjectClass *object_class = (VipsObjectClass *) class;
	VipsOperationClass *operation_class = VIPS_OPERATION_CLASS(class);
	VipsForeignLoadClass *load_class = (VipsForeignLoadClass *) class;

	gobject_class->dispose = vips_foreign_load_msic_dispose;
	gobject_class->set_property = vips_object_set_property;
	gobject_class->get_property = vips_object_get_property;

	object_class->nickname = "msicload_base";
	object_class->description = "load MSIC learned-codec image";
	object_class->build = vips_foreign_load_msic_build;

	/* A new format and a neural decoder that have not been fuzzed yet:
	 * let VIPS_BLOCK_UNTRUSTED turn us off. */
	operation_class->flags |= VIPS_OPERATION_UNTRUSTED;

	load_class->get_flags = vips_foreign_load_msic_get_flags;
	load_class->header = vips_foreign_load_msic_header;
	load_class->load = vips_foreign_load_msic_load;
}

static void
vips_foreign_load_msic_init(VipsForeignLoadMsic *msic)
{
	(void) msic;
}
