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
 * Three classes share one abstract base:
 *   msicload         a filename       msic_reader_open_file
 *   msicload_buffer  a memory blob    msic_reader_open_memory
 *   msicload_source  a VipsSource     msic_reader_open_callbacks
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "msic_vips.h"

const char *vips__msic_suffs[] = { ".msic", NULL };

/* ------------------------------------------------------------ base class */

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
} VipsForeignLoadMsic;

typedef VipsForeignLoadClass VipsForeignLoadMsicClass;

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

/* Report a failure of the MSIC library, naming the input. */
static void
vips_foreign_load_msic_error(VipsForeignLoadMsic *msic, const char *what)
{
	VipsObjectClass *class = VIPS_OBJECT_GET_CLASS(msic);
	const char *detail = msic_last_error();

	vips_error(class->nickname, "%s: %s%s%s",
		msic->name ? msic->name : "input", what,
		detail && detail[0] ? ": " : "", detail ? detail : "");
}

/* Something is wrong but the pixels are usable: a warning, or an error when
 * the caller asked for fail_on=warning. Returns -1 if we must stop. */
static int
vips_foreign_load_msic_warn(VipsForeignLoadMsic *msic, const char *message)
{
	VipsForeignLoad *load = (VipsForeignLoad *) msic;
	VipsObjectClass *class = VIPS_OBJECT_GET_CLASS(msic);

	if (load->fail_on >= VIPS_FAIL_ON_WARNING) {
		vips_error(class->nickname, "%s: %s", msic->name, message);
		return -1;
	}
	g_warning("%s: %s: %s", class->nickname, msic->name, message);
	return 0;
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

static double
read_f64le(const uint8_t *p)
{
	guint64 bits;
	double value;

	memcpy(&bits, p, 8);
	bits = GUINT64_FROM_LE(bits);
	memcpy(&value, &bits, 8);
	return value;
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
		info->bands == 1 ?
			VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB,
		1.0, 1.0);
}

static int
vips_foreign_load_msic_header(VipsForeignLoad *load)
{
	VipsForeignLoadMsic *msic = (VipsForeignLoadMsic *) load;
	VipsObjectClass *class = VIPS_OBJECT_GET_CLASS(load);
	const msic_image_info *info = &msic->info.image;
	VipsImage *out = load->out;
	gboolean have_exif;
	gboolean have_resl;
	double xres, yres;
	size_t i, n;

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

	have_exif = FALSE;
	have_resl = FALSE;
	xres = yres = 1.0;
	n = msic_reader_box_count(msic->reader);
	for (i = 0; i < n; i++) {
		msic_box box;

		if (msic_reader_get_box(msic->reader, i, &box) != MSIC_OK) {
			vips_foreign_load_msic_error(msic,
				"unable to read metadata");
			return -1;
		}

		if (memcmp(box.type, MSIC_BOX_ICC, 4) == 0)
			vips_image_set_blob_copy(out, VIPS_META_ICC_NAME,
				box.data, box.size);
		else if (memcmp(box.type, MSIC_BOX_EXIF, 4) == 0) {
			/* Setting the blob makes libvips parse it; we parse
			 * it again below to learn whether that worked. Keep
			 * the failure out of the error buffer. */
			vips_error_freeze();
			vips_image_set_blob_copy(out, VIPS_META_EXIF_NAME,
				box.data, box.size);
			vips_error_thaw();
			have_exif = TRUE;
		}
		else if (memcmp(box.type, MSIC_BOX_XMP, 4) == 0)
			vips_image_set_blob_copy(out, VIPS_META_XMP_NAME,
				box.data, box.size);
		else if (memcmp(box.type, MSIC_BOX_RESOLUTION, 4) == 0) {
			double x = box.size == 16 ? read_f64le(box.data) : 0;
			double y = box.size == 16 ?
				read_f64le(box.data + 8) : 0;

			if (isfinite(x) && isfinite(y) && x > 0 && y > 0) {
				xres = x;
				yres = y;
				have_resl = TRUE;
			}
			else if (vips_foreign_load_msic_warn(msic,
				"ignoring malformed resolution box"))
				return -1;
		}
		/* Other boxes (geospatial ones, key/value) are for other
		 * readers; libvips has nowhere standard to put them. */
	}

	/* Parse EXIF into exif-ifd* fields, orientation and resolution, as
	 * the JPEG and HEIF loaders do. An EXIF block libvips cannot read
	 * would make every saver that rebuilds EXIF fail later: drop it. */
	if (have_exif) {
		int failed;

		vips_error_freeze();
		failed = vips__exif_parse(out);
		vips_error_thaw();
		if (failed) {
			if (vips_foreign_load_msic_warn(msic,
				"ignoring unreadable EXIF block"))
				return -1;
			vips_image_remove(out, VIPS_META_EXIF_NAME);
		}
	}

	/* The resolution box is written from the vips header, so it wins
	 * over anything EXIF says. */
	if (have_resl) {
		out->Xres = xres;
		out->Yres = yres;
	}

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

/* ------------------------------------------------------------------ file */

typedef struct _VipsForeignLoadMsicFile {
	VipsForeignLoadMsic parent_object;

	char *filename;
} VipsForeignLoadMsicFile;

typedef VipsForeignLoadMsicClass VipsForeignLoadMsicFileClass;

G_DEFINE_TYPE(VipsForeignLoadMsicFile, vips_foreign_load_msic_file,
	vips_foreign_load_msic_get_type());

static int
vips_foreign_load_msic_file_build(VipsObject *object)
{
	VipsForeignLoadMsic *msic = (VipsForeignLoadMsic *) object;
	VipsForeignLoadMsicFile *file = (VipsForeignLoadMsicFile *) object;

	if (file->filename) {
		msic->name = g_strdup(file->filename);
		msic->filename = g_strdup(file->filename);
		if (!(msic->reader =
			msic_reader_open_file(NULL, file->filename))) {
			vips_foreign_load_msic_error(msic, "unable to open");
			return -1;
		}
	}

	return VIPS_OBJECT_CLASS(vips_foreign_load_msic_file_parent_class)->
		build(object);
}

static gboolean
vips_foreign_load_msic_file_is_a(const char *filename)
{
	unsigned char head[16];
	gint64 n;

	if ((n = vips__get_bytes(filename, head, sizeof(head))) <= 0)
		return FALSE;

	return msic_identify(head, (size_t) n) != 0;
}

static VipsForeignFlags
vips_foreign_load_msic_file_get_flags_filename(const char *filename)
{
	(void) filename;

	return VIPS_FOREIGN_PARTIAL;
}

static void
vips_foreign_load_msic_file_class_init(VipsForeignLoadMsicFileClass *class)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(class);
	VipsObjectClass *object_class = (VipsObjectClass *) class;
	VipsForeignClass *foreign_class = (VipsForeignClass *) class;
	VipsForeignLoadClass *load_class = (VipsForeignLoadClass *) class;

	gobject_class->set_property = vips_object_set_property;
	gobject_class->get_property = vips_object_get_property;

	object_class->nickname = "msicload";
	object_class->description = "load MSIC learned-codec image from file";
	object_class->build = vips_foreign_load_msic_file_build;

	foreign_class->suffs = vips__msic_suffs;

	load_class->is_a = vips_foreign_load_msic_file_is_a;
	load_class->get_flags_filename =
		vips_foreign_load_msic_file_get_flags_filename;

	VIPS_ARG_STRING(class, "filename", 1,
		"Filename",
		"Filename to load from",
		VIPS_ARGUMENT_REQUIRED_INPUT,
		G_STRUCT_OFFSET(VipsForeignLoadMsicFile, filename),
		NULL);
}

static void
vips_foreign_load_msic_file_init(VipsForeignLoadMsicFile *file)
{
	(void) file;
}

/* ---------------------------------------------------------------- buffer */

typedef struct _VipsForeignLoadMsicBuffer {
	VipsForeignLoadMsic parent_object;

	/* The reader reads this blob in place; as an argument of the
	 * operation it lives as long as we do. */
	VipsBlob *blob;
} VipsForeignLoadMsicBuffer;

typedef VipsForeignLoadMsicClass VipsForeignLoadMsicBufferClass;

G_DEFINE_TYPE(VipsForeignLoadMsicBuffer, vips_foreign_load_msic_buffer,
	vips_foreign_load_msic_get_type());

static int
vips_foreign_load_msic_buffer_build(VipsObject *object)
{
	VipsForeignLoadMsic *msic = (VipsForeignLoadMsic *) object;
	VipsForeignLoadMsicBuffer *buffer =
		(VipsForeignLoadMsicBuffer *) object;

	if (buffer->blob) {
		VipsArea *area = VIPS_AREA(buffer->blob);

		msic->name = g_strdup("buffer");
		if (!(msic->reader = msic_reader_open_memory(NULL,
			area->data, area->length))) {
			vips_foreign_load_msic_error(msic, "unable to open");
			return -1;
		}
	}

	return VIPS_OBJECT_CLASS(vips_foreign_load_msic_buffer_parent_class)->
		build(object);
}

static gboolean
vips_foreign_load_msic_buffer_is_a(const void *buf, size_t len)
{
	return buf && msic_identify(buf, len) != 0;
}

static void
vips_foreign_load_msic_buffer_class_init(
	VipsForeignLoadMsicBufferClass *class)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(class);
	VipsObjectClass *object_class = (VipsObjectClass *) class;
	VipsForeignLoadClass *load_class = (VipsForeignLoadClass *) class;

	gobject_class->set_property = vips_object_set_property;
	gobject_class->get_property = vips_object_get_property;

	object_class->nickname = "msicload_buffer";
	object_class->description =
		"load MSIC learned-codec image from buffer";
	object_class->build = vips_foreign_load_msic_buffer_build;

	load_class->is_a_buffer = vips_foreign_load_msic_buffer_is_a;

	VIPS_ARG_BOXED(class, "buffer", 1,
		"Buffer",
		"Buffer to load from",
		VIPS_ARGUMENT_REQUIRED_INPUT,
		G_STRUCT_OFFSET(VipsForeignLoadMsicBuffer, blob),
		VIPS_TYPE_BLOB);
}

static void
vips_foreign_load_msic_buffer_init(VipsForeignLoadMsicBuffer *buffer)
{
	(void) buffer;
}

/* ---------------------------------------------------------------- source */

typedef struct _VipsForeignLoadMsicSource {
	VipsForeignLoadMsic parent_object;

	/* An argument: VipsObject's dispose releases it after the base
	 * dispose has closed the reader that reads from it. */
	VipsSource *source;

	/* A VipsSource has one read position: read-at is seek + read under
	 * this lock. (The library also serialises its read calls; the lock
	 * covers minimise as well.) */
	GMutex lock;
} VipsForeignLoadMsicSource;

typedef VipsForeignLoadMsicClass VipsForeignLoadMsicSourceClass;

G_DEFINE_TYPE(VipsForeignLoadMsicSource, vips_foreign_load_msic_source,
	vips_foreign_load_msic_get_type());

static void
vips_foreign_load_msic_source_finalize(GObject *gobject)
{
	VipsForeignLoadMsicSource *self =
		(VipsForeignLoadMsicSource *) gobject;

	g_mutex_clear(&self->lock);

	G_OBJECT_CLASS(vips_foreign_load_msic_source_parent_class)->
		finalize(gobject);
}

static size_t
vips_foreign_load_msic_source_read_at(void *user, uint64_t offset,
	void *buf, size_t size)
{
	VipsForeignLoadMsicSource *self = (VipsForeignLoadMsicSource *) user;
	size_t done;

	if (offset > (uint64_t) G_MAXINT64)
		return 0;

	done = 0;
	g_mutex_lock(&self->lock);
	if (vips_source_seek(self->source, (gint64) offset, SEEK_SET) != -1)
		while (done < size) {
			gint64 n = vips_source_read(self->source,
				(char *) buf + done, size - done);

			if (n <= 0)
				break;
			done += (size_t) n;
		}
	g_mutex_unlock(&self->lock);

	/* A short count tells the library the file is truncated. */
	return done;
}

/* libvips emits "minimise" on the image when a computation ends: let the
 * source close its file descriptor; the next read reopens it. */
static void
vips_foreign_load_msic_source_minimise(VipsImage *image,
	VipsForeignLoadMsicSource *self)
{
	(void) image;

	g_mutex_lock(&self->lock);
	vips_source_minimise(self->source);
	g_mutex_unlock(&self->lock);
}

static int
vips_foreign_load_msic_source_build(VipsObject *object)
{
	VipsForeignLoadMsic *msic = (VipsForeignLoadMsic *) object;
	VipsForeignLoadMsicSource *self =
		(VipsForeignLoadMsicSource *) object;

	if (self->source) {
		const char *filename = vips_connection_filename(
			VIPS_CONNECTION(self->source));
		gint64 length;

		msic->name = g_strdup(vips_connection_nick(
			VIPS_CONNECTION(self->source)));
		msic->filename = g_strdup(filename);

		/* For a pipe this reads everything into memory, which is
		 * unavoidable: the tile index is at the end. */
		if ((length = vips_source_length(self->source)) < 0)
			return -1;

		if (!(msic->reader = msic_reader_open_callbacks(NULL,
			vips_foreign_load_msic_source_read_at,
			(uint64_t) length, self))) {
			vips_foreign_load_msic_error(msic, "unable to open");
			return -1;
		}
	}

	if (VIPS_OBJECT_CLASS(vips_foreign_load_msic_source_parent_class)->
		build(object))
		return -1;

	/* The header is read: from now on we only read tiles. */
	if (self->source) {
		g_mutex_lock(&self->lock);
		vips_source_decode(self->source);
		g_mutex_unlock(&self->lock);

		g_signal_connect(((VipsForeignLoad *) object)->out,
			"minimise",
			G_CALLBACK(vips_foreign_load_msic_source_minimise),
			self);
	}

	return 0;
}

static gboolean
vips_foreign_load_msic_source_is_a(VipsSource *source)
{
	const unsigned char *head;
	gint64 n;

	if ((n = vips_source_sniff_at_most(source,
		(unsigned char **) &head, 16)) < 8)
		return FALSE;

	return msic_identify(head, (size_t) n) != 0;
}

static void
vips_foreign_load_msic_source_class_init(
	VipsForeignLoadMsicSourceClass *class)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(class);
	VipsObjectClass *object_class = (VipsObjectClass *) class;
	VipsOperationClass *operation_class = VIPS_OPERATION_CLASS(class);
	VipsForeignLoadClass *load_class = (VipsForeignLoadClass *) class;

	gobject_class->finalize = vips_foreign_load_msic_source_finalize;
	gobject_class->set_property = vips_object_set_property;
	gobject_class->get_property = vips_object_get_property;

	object_class->nickname = "msicload_source";
	object_class->description =
		"load MSIC learned-codec image from source";
	object_class->build = vips_foreign_load_msic_source_build;

	/* Sources can't be compared, so never cache their loads. */
	operation_class->flags |= VIPS_OPERATION_NOCACHE;

	load_class->is_a_source = vips_foreign_load_msic_source_is_a;

	VIPS_ARG_OBJECT(class, "source", 1,
		"Source",
		"Source to load from",
		VIPS_ARGUMENT_REQUIRED_INPUT,
		G_STRUCT_OFFSET(VipsForeignLoadMsicSource, source),
		VIPS_TYPE_SOURCE);
}

static void
vips_foreign_load_msic_source_init(VipsForeignLoadMsicSource *self)
{
	g_mutex_init(&self->lock);
}
