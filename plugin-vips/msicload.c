/* Load MSIC images into libvips.
 *
 * The loader is region based: libvips asks for rectangles, we decode only
 * the MSIC tiles those rectangles touch (msic_reader_decode_tile is
 * thread-safe; the tiles of a request decode in parallel) and a tile cache
 * (msic_tile_cache.c) keeps a couple of tile rows so that neighbouring
 * requests do not decode a tile twice. Memory therefore stays bounded by a
 * few tile rows whatever the image size, and a crop decodes only the tiles
 * under it. With shrink (shrink-on-load, as jpegload's) the tiles come from
 * the file's reduced level nearest the size asked for, so a thumbnail of a
 * huge image decodes a few small tiles.
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

	msic_tile_cache_free(msic->tiles);
	msic->tiles = NULL;
	if (msic->reader) {
		/* Lets users (and our tests) see how much random access
		 * saved: `vips --vips-info crop huge.msic ...`. */
		g_info("msicload: %s: %" G_GUINT64_FORMAT " of %u tiles "
			"decoded; of reduced level %u, %" G_GUINT64_FORMAT,
			msic->name ? msic->name : "image",
			(guint64) msic_reader_tiles_decoded(msic->reader),
			msic->info.tiles_across * msic->info.tiles_down,
			msic->level,
			(guint64) msic_reader_level_tiles_decoded(msic->reader,
				msic->level));
		msic_reader_close(msic->reader);
		msic->reader = NULL;
	}
	if (msic->context) {
		msic_context_destroy(msic->context);
		msic->context = NULL;
	}
	VIPS_FREE(msic->name);
	VIPS_FREE(msic->filename);

	G_OBJECT_CLASS(vips_foreign_load_msic_parent_class)->dispose(gobject);
}

int
vips_foreign_load_msic_context(VipsForeignLoadMsic *msic,
	msic_context **context)
{
	*context = NULL;
	if (!msic->recover)
		return 0;
	if (!msic->context &&
		(msic_context_new(NULL, &msic->context) != MSIC_OK ||
			msic_context_set_recover(msic->context, 1) != MSIC_OK)) {
		vips_foreign_load_msic_error(msic, "unable to recover");
		return -1;
	}
	*context = msic->context;

	return 0;
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
	if (msic->shrink < 1 || (msic->shrink & (msic->shrink - 1))) {
		vips_error(VIPS_OBJECT_GET_CLASS(msic)->nickname,
			"shrink must be a power of two (1, 2, 4, 8 ...), "
			"not %d", msic->shrink);
		return -1;
	}
	/* The stored level nearest below the size asked for. */
	msic->level = 0;
	if (msic->reader) {
		uint32_t l;

		for (l = 1; l <= msic->info.levels; l++) {
			msic_level_info shape;

			if (msic_reader_get_level(msic->reader, l, &shape) ==
				MSIC_OK &&
				(1 << shape.scale_log2) <= msic->shrink)
				msic->level = l;
		}
		if (msic_reader_get_level(msic->reader, msic->level,
			&msic->level_info) != MSIC_OK) {
			vips_foreign_load_msic_error(msic,
				"unable to read a reduced level");
			return -1;
		}
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

/* width x height (the image loaded, or the level it is made from) in the
 * file's pixel format. */
static void
vips_foreign_load_msic_set_geometry(VipsForeignLoadMsic *msic,
	VipsImage *image, uint32_t width, uint32_t height)
{
	const msic_image_info *info = &msic->info.image;

	vips_image_init_fields(image,
		(int) width, (int) height, (int) info->bands,
		vips__msic_band_format(info), VIPS_CODING_NONE,
		vips__msic_interpretation(info),
		1.0, 1.0);
}

static gboolean
vips__msic_threadpool_loses_errors(void)
{
	const int version = vips_version(0) * 10000 + vips_version(1) * 100 +
		vips_version(2);

	return version >= 81400 && version < 81505;
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
		info->bands < 1 || info->bands > MSIC_MAX_BANDS ||
		(info->bit_depth != 8 && info->bit_depth != 16 &&
			info->bit_depth != 32) ||
		msic->info.tile_size < 1) {
		vips_error(class->nickname,
			"%s: unsupported MSIC image: %ux%u, %u bands, "
			"%u bits, tile size %u",
			msic->name, info->width, info->height, info->bands,
			info->bit_depth, msic->info.tile_size);
		return -1;
	}

	/* 1/shrink of the image, sides rounded up, as the levels are. */
	vips_foreign_load_msic_set_geometry(msic, out,
		(info->width - 1) / (uint32_t) msic->shrink + 1,
		(info->height - 1) / (uint32_t) msic->shrink + 1);
	if (msic->filename)
		VIPS_SETSTR(out->filename, msic->filename);

	/* Tiled random access, like tiled TIFF. */
	if (vips_image_pipelinev(out, VIPS_DEMAND_STYLE_SMALLTILE, NULL))
		return -1;

	/* libvips 8.14.0 to 8.15.4 can lose an error raised in the last
	 * work units of a threaded computation (libvips PR #4116) and then
	 * save a corrupt file's pixels as if they were good. One libvips
	 * worker cannot lose it; the tiles still decode in parallel inside
	 * the MSIC library. */
	if (vips__msic_threadpool_loses_errors())
		vips_image_set_int(out, VIPS_META_CONCURRENCY, 1);

	if (vips__msic_metadata_load(out, msic->reader, class->nickname,
		msic->name, load->fail_on >= VIPS_FAIL_ON_WARNING))
		return -1;

	/* Pixels per mm of what is loaded. */
	out->Xres /= msic->shrink;
	out->Yres /= msic->shrink;

	vips_image_set_double(out, "msic-quality", msic->info.quality);
	vips_image_set_int(out, "msic-tile-size", (int) msic->info.tile_size);
	vips_image_set_string(out, "msic-model-hash", msic->info.model_hash);

	return 0;
}

/* Copies the part of tile (tx, ty) inside the region from `pixels` (rows
 * `stride` bytes apart), or paints it black if pixels is NULL. */
static void
vips_foreign_load_msic_paste(VipsForeignLoadMsic *msic, VipsRegion *or,
	uint32_t tx, uint32_t ty, const uint8_t *pixels, size_t stride)
{
	const uint32_t ts = msic->info.tile_size;
	const size_t ps = (size_t) msic->info.image.bands *
		(msic->info.image.bit_depth / 8);
	VipsRect tile;
	VipsRect hit;
	int y;

	tile.left = (int) (tx * ts);
	tile.top = (int) (ty * ts);
	tile.width = (int) ts;
	tile.height = (int) ts;
	vips_rect_intersectrect(&tile, &or->valid, &hit);
	for (y = 0; y < hit.height; y++) {
		uint8_t *q = VIPS_REGION_ADDR(or, hit.left, hit.top + y);

		if (pixels)
			memcpy(q, pixels +
				(size_t) (hit.top + y - tile.top) * stride +
				(size_t) (hit.left - tile.left) * ps,
				(size_t) hit.width * ps);
		else
			memset(q, 0, (size_t) hit.width * ps);
	}
}

/* Reports a tile that failed, with the reason the tile cache gave. */
static void
vips_foreign_load_msic_tile_error(VipsForeignLoadMsic *msic, const char *why)
{
	vips_error(VIPS_OBJECT_GET_CLASS(msic)->nickname,
		"%s: failed to decode: %s",
		msic->name ? msic->name : "input", why ? why : "");
}

/* recover: the request tile by tile, black where a tile is lost (one
 * warning per lost tile; the cache does not decode it again). With
 * fail_on=truncated or stricter a lost tile is an error, as a truncated
 * file is for libvips' other loaders. */
static int
vips_foreign_load_msic_generate_recovering(VipsForeignLoadMsic *msic,
	VipsRegion *or, uint32_t tx0, uint32_t ty0, uint32_t tx1, uint32_t ty1)
{
	VipsForeignLoad *load = (VipsForeignLoad *) msic;
	const size_t stride = msic_tile_cache_stride(msic->tiles);
	uint32_t tx, ty;

	for (ty = ty0; ty <= ty1; ty++)
		for (tx = tx0; tx <= tx1; tx++) {
			char *why = NULL;
			int result = msic_tile_cache_acquire(msic->tiles,
				tx, ty, tx, ty, &why);

			if (!result) {
				vips_foreign_load_msic_paste(msic, or, tx, ty,
					msic_tile_cache_pixels(msic->tiles,
						tx, ty), stride);
				msic_tile_cache_release(msic->tiles,
					tx, ty, tx, ty);
				continue;
			}
			if (load->fail_on >= VIPS_FAIL_ON_TRUNCATED) {
				vips_foreign_load_msic_tile_error(msic, why);
				g_free(why);
				return -1;
			}
			if (msic_tile_cache_report_once(msic->tiles, tx, ty))
				g_warning("msicload: %s: tile (%u, %u) lost: %s",
					msic->name ? msic->name : "input",
					tx, ty, why);
			g_free(why);
			vips_foreign_load_msic_paste(msic, or, tx, ty, NULL, 0);
		}

	return 0;
}

static int
vips_foreign_load_msic_generate(VipsRegion *or,
	void *seq, void *a, void *b, gboolean *stop)
{
	VipsForeignLoadMsic *msic = (VipsForeignLoadMsic *) a;
	const VipsRect *r = &or->valid;
	const uint32_t ts = msic->info.tile_size;
	const size_t stride = msic_tile_cache_stride(msic->tiles);
	const uint32_t tx0 = (uint32_t) r->left / ts;
	const uint32_t ty0 = (uint32_t) r->top / ts;
	const uint32_t tx1 = (uint32_t) (VIPS_RECT_RIGHT(r) - 1) / ts;
	const uint32_t ty1 = (uint32_t) (VIPS_RECT_BOTTOM(r) - 1) / ts;
	uint32_t tx, ty;

	(void) seq;
	(void) b;
	(void) stop;

	/* All the tiles the request touches, decoded together. */
	if (msic->recover) {
		if (msic_tile_cache_acquire(msic->tiles,
			tx0, ty0, tx1, ty1, NULL))
			return vips_foreign_load_msic_generate_recovering(msic,
				or, tx0, ty0, tx1, ty1);
	}
	else {
		char *why = NULL;

		if (msic_tile_cache_acquire(msic->tiles,
			tx0, ty0, tx1, ty1, &why)) {
			/* libmsic's message names the tile. */
			vips_foreign_load_msic_tile_error(msic, why);
			g_free(why);
			/* Don't leave a broken loader in the operation
			 * cache. */
			vips_operation_invalidate(VIPS_OPERATION(msic));
			return -1;
		}
	}

	for (ty = ty0; ty <= ty1; ty++)
		for (tx = tx0; tx <= tx1; tx++)
			vips_foreign_load_msic_paste(msic, or, tx, ty,
				msic_tile_cache_pixels(msic->tiles, tx, ty),
				stride);
	msic_tile_cache_release(msic->tiles, tx0, ty0, tx1, ty1);

	return 0;
}

static int
vips_foreign_load_msic_load(VipsForeignLoad *load)
{
	VipsForeignLoadMsic *msic = (VipsForeignLoadMsic *) load;
	VipsImage **t = (VipsImage **)
		vips_object_local_array(VIPS_OBJECT(load), 3);
	const msic_level_info *level = &msic->level_info;
	const int rest = msic->shrink >> level->scale_log2;

	/* Two tile rows plus a half, so that requests straddling a tile
	 * row boundary do not decode the same tiles again. */
	if (!msic->tiles &&
		!(msic->tiles = msic_tile_cache_new(msic->reader, &msic->info,
			msic->level, (int) (2.5 * (1 + level->tiles_across))))) {
		vips_foreign_load_msic_error(msic, "unable to read a level");
		return -1;
	}

	/* Full-width strips: a request then spans a whole tile row, whose
	 * tiles decode in parallel on the library's threads. */
	t[0] = vips_image_new();
	vips_foreign_load_msic_set_geometry(msic, t[0], level->width,
		level->height);
	if (vips_image_pipelinev(t[0], VIPS_DEMAND_STYLE_FATSTRIP, NULL) ||
		vips_image_generate(t[0],
			NULL, vips_foreign_load_msic_generate, NULL,
			msic, NULL))
		return -1;
	if (rest == 1)
		return vips_image_write(t[0], load->real);

	/* No level that small: block-shrink the nearest, to the size the
	 * header promised (vips_shrink rounds: never below one pixel). */
	if (vips_shrink(t[0], &t[1],
			VIPS_MIN(rest, (int) level->width),
			VIPS_MIN(rest, (int) level->height), NULL) ||
		vips_embed(t[1], &t[2], 0, 0,
			(int) ((msic->info.image.width - 1) /
				(uint32_t) msic->shrink + 1),
			(int) ((msic->info.image.height - 1) /
				(uint32_t) msic->shrink + 1),
			"extend", VIPS_EXTEND_COPY, NULL) ||
		vips_image_write(t[2], load->real))
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

	VIPS_ARG_INT(class, "shrink", 21,
		"Shrink",
		"Shrink by this power of two on load, from the file's reduced "
		"levels",
		VIPS_ARGUMENT_OPTIONAL_INPUT,
		G_STRUCT_OFFSET(VipsForeignLoadMsic, shrink),
		1, 1 << 20, 1);

	VIPS_ARG_BOOL(class, "recover", 20,
		"Recover",
		"Read what a truncated or damaged file still holds",
		VIPS_ARGUMENT_OPTIONAL_INPUT,
		G_STRUCT_OFFSET(VipsForeignLoadMsic, recover),
		FALSE);

	load_class->get_flags = vips_foreign_load_msic_get_flags;
	load_class->header = vips_foreign_load_msic_header;
	load_class->load = vips_foreign_load_msic_load;
}

static void
vips_foreign_load_msic_init(VipsForeignLoadMsic *msic)
{
	msic->shrink = 1;
}
