/* Save libvips images as MSIC.
 *
 * Rows go to an msic_writer as libvips computes them (vips_sink_disc), top
 * to bottom; the writer codes each tile row as soon as it is complete, so
 * memory stays bounded by about one tile row whatever the image height.
 *
 *   msicsave         msic_writer_new_file: temporary file renamed over
 *                    the target at the end, nothing left on failure
 *   msicsave_buffer  msic_writer_new_stream into a memory VipsTarget
 *   msicsave_target  msic_writer_new_stream into the VipsTarget (pipes,
 *                    stdout, custom targets); a target that is a regular
 *                    file is written like msicsave, because libvips 8.14
 *                    sends every file save through the _target saver
 *
 * The learned (lossy) coding holds 8-bit grey or RGB. The usual libvips save
 * conversions apply (colourspace to sRGB, 16-bit RGB/grey shifted down to 8
 * bits, alpha flattened against "background", with a warning); anything
 * else that is not 8-bit, such as a float image, is refused rather than
 * silently clipped. With "lossless" or "max_error" the image is written as
 * it is: every band (alpha included), 8/16/32-bit integers or floats.
 */
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "msic_vips.h"

typedef struct _VipsForeignSaveMsic {
	VipsForeignSave parent_object;

	/* Options. */
	int Q;
	int tile_size;
	int threads;
	gboolean lossless;
	double max_error;
	int overviews;
	int effort;

	/* Set by the subclass before chaining up: a filename for the file
	 * writer, else a target for the stream writer. A target that is a
	 * file sets both: we write the file, then end the target. */
	const char *filename;
	VipsTarget *target;

	/* The 8-bit, 1- or 3-band image we write. */
	VipsImage *image;
	msic_encoder_settings *settings;
	msic_writer *writer;
} VipsForeignSaveMsic;

typedef VipsForeignSaveClass VipsForeignSaveMsicClass;

G_DEFINE_ABSTRACT_TYPE(VipsForeignSaveMsic, vips_foreign_save_msic,
	VIPS_TYPE_FOREIGN_SAVE);

static void
vips_foreign_save_msic_dispose(GObject *gobject)
{
	VipsForeignSaveMsic *msic = (VipsForeignSaveMsic *) gobject;

	/* An unfinished file writer removes its temporary file here. */
	VIPS_FREEF(msic_writer_destroy, msic->writer);
	VIPS_FREEF(msic_encoder_settings_destroy, msic->settings);
	VIPS_UNREF(msic->image);
	VIPS_UNREF(msic->target);

	G_OBJECT_CLASS(vips_foreign_save_msic_parent_class)->dispose(gobject);
}

static int
vips_foreign_save_msic_error(VipsForeignSaveMsic *msic, const char *what)
{
	vips__msic_error(VIPS_OBJECT_GET_CLASS(msic)->nickname, NULL, what);

	return -1;
}

static int
vips_foreign_save_msic_stream_write(void *user, const void *data,
	size_t size)
{
	VipsTarget *target = VIPS_TARGET(user);

	return vips_target_write(target, data, size) ? -1 : 0;
}

/* Stop encoding if the computation is killed (eg. by a user). */
static int
vips_foreign_save_msic_progress(void *user, double fraction)
{
	(void) fraction;

	return vips_image_iskilled(VIPS_IMAGE(user)) ? 1 : 0;
}

static int
vips_foreign_save_msic_write_block(VipsRegion *region, VipsRect *area,
	void *a)
{
	VipsForeignSaveMsic *msic = (VipsForeignSaveMsic *) a;

	/* sink_disc hands us whole-width strips in order. */
	if (msic_writer_write_rows(msic->writer,
		VIPS_REGION_ADDR(region, 0, area->top),
		VIPS_REGION_LSKIP(region),
		(uint32_t) area->height) != MSIC_OK)
		return vips_foreign_save_msic_error(msic,
			"unable to encode");

	return 0;
}

/* Our options as encoder settings. The library checks the values (the
 * tile size rule lives there) and its message names the option and its
 * range. */
static int
vips_foreign_save_msic_settings(VipsForeignSaveMsic *msic)
{
	const struct {
		msic_encoder_option option;
		const char *name;
		double value;
	} options[] = {
		{ MSIC_ENCODER_QUALITY, "Q", msic->Q },
		{ MSIC_ENCODER_TILE_SIZE, "tile_size", msic->tile_size },
		{ MSIC_ENCODER_THREADS, "threads", msic->threads },
		{ MSIC_ENCODER_LOSSLESS, "lossless", msic->lossless ? 1 : 0 },
		{ MSIC_ENCODER_MAX_ERROR, "max_error", msic->max_error },
		{ MSIC_ENCODER_OVERVIEWS, "overviews", msic->overviews },
		{ MSIC_ENCODER_EFFORT, "effort", msic->effort },
	};
	size_t i;

	if (msic_encoder_settings_new(&msic->settings) != MSIC_OK)
		return vips_foreign_save_msic_error(msic,
			"unable to start writing");

	for (i = 0; i < G_N_ELEMENTS(options); i++)
		if (msic_encoder_settings_set(msic->settings,
			options[i].option, options[i].value) != MSIC_OK) {
			char what[64];

			g_snprintf(what, sizeof(what), "invalid %s %g",
				options[i].name, options[i].value);
			return vips_foreign_save_msic_error(msic, what);
		}

	return 0;
}

/* Exact and bounded-error coding keep the image as it is: save->in, not
 * the 8-bit RGB that save->ready was converted to. */
static int
vips_foreign_save_msic_prepare_exact(VipsForeignSaveMsic *msic)
{
	VipsForeignSave *save = (VipsForeignSave *) msic;
	VipsObjectClass *class = VIPS_OBJECT_GET_CLASS(msic);
	msic_image_info probe;
	VipsImage *x;

	if (vips_image_decode(save->in, &x))
		return -1;
	msic->image = x;
	memset(&probe, 0, sizeof(probe));
	if (vips__msic_sample_format(x->BandFmt, &probe, class->nickname))
		return -1;
	if (x->Bands < 1 || (guint) x->Bands > MSIC_MAX_BANDS) {
		vips_error(class->nickname, "MSIC stores 1 to %u bands, not %d",
			MSIC_MAX_BANDS, x->Bands);
		return -1;
	}

	return 0;
}

/* Turn save->ready into the 8-bit image we can write, or refuse it. */
static int
vips_foreign_save_msic_prepare(VipsForeignSaveMsic *msic)
{
	VipsForeignSave *save = (VipsForeignSave *) msic;
	VipsObjectClass *class = VIPS_OBJECT_GET_CLASS(msic);
	VipsImage *ready = save->ready;
	VipsImage *x;

	if (msic->lossless || msic->max_error > 0)
		return vips_foreign_save_msic_prepare_exact(msic);

	/* 16-bit RGB and grey: keep the top 8 bits, as the JPEG saver does.
	 * The format table leaves every other format alone so that we can
	 * refuse it here instead of clipping it. */
	if (ready->BandFmt == VIPS_FORMAT_USHORT &&
		(ready->Type == VIPS_INTERPRETATION_RGB16 ||
		 ready->Type == VIPS_INTERPRETATION_GREY16)) {
		VipsImage **t = (VipsImage **)
			vips_object_local_array(VIPS_OBJECT(msic), 2);

		g_warning("%s: the learned coding stores 8-bit samples: "
			"keeping the top 8 of the 16 bits (lossless or "
			"max_error keep all 16)", class->nickname);
		if (vips_rshift_const1(ready, &t[0], 8, NULL) ||
			vips_cast(t[0], &t[1], VIPS_FORMAT_UCHAR, NULL) ||
			vips_copy(t[1], &x,
				"interpretation",
				ready->Type == VIPS_INTERPRETATION_RGB16 ?
					VIPS_INTERPRETATION_sRGB :
					VIPS_INTERPRETATION_B_W,
				NULL))
			return -1;
	}
	else {
		if (ready->BandFmt != VIPS_FORMAT_UCHAR) {
			vips_error(class->nickname,
				"the learned coding stores 8-bit images, this "
				"image is %s (%s); use lossless or max_error, "
				"or convert it first, for example with "
				"\"vips cast ... uchar\" or "
				"\"vips colourspace ... srgb\"",
				vips_enum_nick(VIPS_TYPE_BAND_FORMAT,
					ready->BandFmt),
				vips_enum_nick(VIPS_TYPE_INTERPRETATION,
					ready->Type));
			return -1;
		}

		x = ready;
		g_object_ref(x);
	}
	msic->image = x;

	if (x->Coding != VIPS_CODING_NONE ||
		(x->Bands != 1 && x->Bands != 3)) {
		vips_error(class->nickname,
			"MSIC stores 1 (grey) or 3 (RGB) bands, "
			"not %d", x->Bands);
		return -1;
	}

	/* Say what the conversion threw away: alpha, or bands beyond the
	 * colour ones (CMYK's four become RGB's three by conversion, which
	 * drops nothing). */
	const gboolean alpha = vips_image_hasalpha(save->in);
	const int colour = save->in->Bands - (alpha ? 1 : 0);
	if (alpha)
		g_warning("%s: the learned coding has no alpha channel: "
			"flattening %d bands to %d against the background "
			"(lossless or max_error keep it)", class->nickname,
			save->in->Bands, x->Bands);
	else if (colour > x->Bands &&
		!(save->in->Type == VIPS_INTERPRETATION_CMYK && colour == 4))
		g_warning("%s: MSIC stores 1 or 3 bands: dropping %d of %d "
			"bands", class->nickname, colour - x->Bands,
			save->in->Bands);

	return 0;
}

static int
vips_foreign_save_msic_build(VipsObject *object)
{
	VipsForeignSaveMsic *msic = (VipsForeignSaveMsic *) object;
	VipsForeignSave *save = (VipsForeignSave *) object;
	msic_image_info info;
	msic_status status;

	if (VIPS_OBJECT_CLASS(vips_foreign_save_msic_parent_class)->
		build(object))
		return -1;

	/* Bad options are reported before anything about the image. */
	if (vips_foreign_save_msic_settings(msic) ||
		vips_foreign_save_msic_prepare(msic))
		return -1;

	memset(&info, 0, sizeof(info));
	info.width = (uint32_t) msic->image->Xsize;
	info.height = (uint32_t) msic->image->Ysize;
	info.bands = (uint32_t) msic->image->Bands;
	if (vips__msic_sample_format(msic->image->BandFmt, &info,
		VIPS_OBJECT_GET_CLASS(object)->nickname))
		return -1;

	status = msic_encoder_settings_set_progress(msic->settings,
		vips_foreign_save_msic_progress, msic->image);
	if (status == MSIC_OK && msic->filename)
		status = msic_writer_new_file(NULL, msic->filename,
			&info, msic->settings, &msic->writer);
	else if (status == MSIC_OK)
		status = msic_writer_new_stream(NULL,
			vips_foreign_save_msic_stream_write, msic->target,
			&info, msic->settings, &msic->writer);
	if (status != MSIC_OK)
		return vips_foreign_save_msic_error(msic,
			"unable to start writing");
	/* The writer keeps a copy. */
	VIPS_FREEF(msic_encoder_settings_destroy, msic->settings);

	if (vips__msic_metadata_save(msic->image, save->strip, msic->writer,
		VIPS_OBJECT_GET_CLASS(object)->nickname))
		return -1;

	if (vips_sink_disc(msic->image,
		vips_foreign_save_msic_write_block, msic))
		return -1;

	if (msic_writer_finish(msic->writer) != MSIC_OK)
		return vips_foreign_save_msic_error(msic,
			"unable to finish writing");
	VIPS_FREEF(msic_writer_destroy, msic->writer);

	if (msic->target &&
		vips_target_end(msic->target))
		return -1;

	return 0;
}

#define UC VIPS_FORMAT_UCHAR
#define C VIPS_FORMAT_CHAR
#define US VIPS_FORMAT_USHORT
#define S VIPS_FORMAT_SHORT
#define UI VIPS_FORMAT_UINT
#define I VIPS_FORMAT_INT
#define F VIPS_FORMAT_FLOAT
#define X VIPS_FORMAT_COMPLEX
#define D VIPS_FORMAT_DOUBLE
#define DX VIPS_FORMAT_DPCOMPLEX

/* No silent casts: uchar passes, ushort RGB16/grey16 is shifted down in
 * prepare(), everything else is refused there. */
static VipsBandFormat vips_foreign_save_msic_format_table[10] = {
	/* Band format:  UC  C  US  S  UI  I  F  X  D  DX */
	/* Promotion: */ UC, C, US, S, UI, I, F, X, D, DX
};

static void
vips_foreign_save_msic_class_init(VipsForeignSaveMsicClass *class)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(class);
	VipsObjectClass *object_class = (VipsObjectClass *) class;
	VipsForeignClass *foreign_class = (VipsForeignClass *) class;
	VipsForeignSaveClass *save_class = (VipsForeignSaveClass *) class;

	gobject_class->dispose = vips_foreign_save_msic_dispose;
	gobject_class->set_property = vips_object_set_property;
	gobject_class->get_property = vips_object_get_property;

	object_class->nickname = "msicsave_base";
	object_class->description = "save image in MSIC learned-codec format";
	object_class->build = vips_foreign_save_msic_build;

	/* Not VIPS_OPERATION_UNTRUSTED: a saver parses no untrusted input, so
	 * VIPS_BLOCK_UNTRUSTED (meant for loaders) must not turn it off. */

	foreign_class->suffs = vips__msic_suffs;

	/* Grey or RGB: alpha is flattened, other bands dropped. */
	save_class->saveable = VIPS_SAVEABLE_RGB;
	save_class->format_table = vips_foreign_save_msic_format_table;

	VIPS_ARG_INT(class, "Q", 10,
		"Q",
		"Q factor",
		VIPS_ARGUMENT_OPTIONAL_INPUT,
		G_STRUCT_OFFSET(VipsForeignSaveMsic, Q),
		MSIC_QUALITY_MIN, MSIC_QUALITY_MAX, MSIC_QUALITY_DEFAULT);

	VIPS_ARG_INT(class, "tile_size", 11,
		"Tile size",
		"Tile width and height in pixels (multiple of 16); 0: 512, "
		"or one 1024-px tile for an image of 513 to 1024 px",
		VIPS_ARGUMENT_OPTIONAL_INPUT,
		G_STRUCT_OFFSET(VipsForeignSaveMsic, tile_size),
		MSIC_TILE_SIZE_AUTO, MSIC_TILE_SIZE_MAX, MSIC_TILE_SIZE_AUTO);

	VIPS_ARG_INT(class, "threads", 12,
		"Threads",
		"Encoder threads (0 means the library default)",
		VIPS_ARGUMENT_OPTIONAL_INPUT,
		G_STRUCT_OFFSET(VipsForeignSaveMsic, threads),
		0, 1024, 0);

	VIPS_ARG_BOOL(class, "lossless", 13,
		"Lossless",
		"Every sample exact: any band count (alpha kept), 8/16/32-bit "
		"integers and floats; Q is not used",
		VIPS_ARGUMENT_OPTIONAL_INPUT,
		G_STRUCT_OFFSET(VipsForeignSaveMsic, lossless),
		FALSE);

	VIPS_ARG_DOUBLE(class, "max_error", 14,
		"Max error",
		"Every sample within this of the original (a whole number for "
		"integer images; 0: off), as lossless otherwise",
		VIPS_ARGUMENT_OPTIONAL_INPUT,
		G_STRUCT_OFFSET(VipsForeignSaveMsic, max_error),
		0, 1e30, 0);

	VIPS_ARG_INT(class, "overviews", 15,
		"Overviews",
		"Store the image reduced at 1/2^overviews, then each half of "
		"that down to one tile, for shrink-on-load (0: none)",
		VIPS_ARGUMENT_OPTIONAL_INPUT,
		G_STRUCT_OFFSET(VipsForeignSaveMsic, overviews),
		0, 20, MSIC_OVERVIEWS_DEFAULT);

	VIPS_ARG_INT(class, "effort", 16,
		"Effort",
		"Encoder effort: 1 fastest, 2 each latent's step chosen for "
		"rate and distortion and finer steps where tiles meet, "
		"3 a lower error still at tile borders, "
		"4 as 2 with latents moved by gradients before coding "
		"(slow: archives), 5 as 4 with 3.3x the steps",
		VIPS_ARGUMENT_OPTIONAL_INPUT,
		G_STRUCT_OFFSET(VipsForeignSaveMsic, effort),
		1, MSIC_EFFORT_MAX, MSIC_EFFORT_DEFAULT);
}

static void
vips_foreign_save_msic_init(VipsForeignSaveMsic *msic)
{
	msic->Q = 75;
	msic->tile_size = MSIC_TILE_SIZE_AUTO;
	msic->threads = 0;
	msic->overviews = MSIC_OVERVIEWS_DEFAULT;
	msic->effort = MSIC_EFFORT_DEFAULT;
}

/* ------------------------------------------------------------------ file */

typedef struct _VipsForeignSaveMsicFile {
	VipsForeignSaveMsic parent_object;

	char *filename;
} VipsForeignSaveMsicFile;

typedef VipsForeignSaveMsicClass VipsForeignSaveMsicFileClass;

G_DEFINE_TYPE(VipsForeignSaveMsicFile, vips_foreign_save_msic_file,
	vips_foreign_save_msic_get_type());

static int
vips_foreign_save_msic_file_build(VipsObject *object)
{
	VipsForeignSaveMsic *msic = (VipsForeignSaveMsic *) object;
	VipsForeignSaveMsicFile *file = (VipsForeignSaveMsicFile *) object;

	msic->filename = file->filename;

	return VIPS_OBJECT_CLASS(vips_foreign_save_msic_file_parent_class)->
		build(object);
}

static void
vips_foreign_save_msic_file_class_init(VipsForeignSaveMsicFileClass *class)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(class);
	VipsObjectClass *object_class = (VipsObjectClass *) class;

	gobject_class->set_property = vips_object_set_property;
	gobject_class->get_property = vips_object_get_property;

	object_class->nickname = "msicsave";
	object_class->description =
		"save image to file in MSIC learned-codec format";
	object_class->build = vips_foreign_save_msic_file_build;

	VIPS_ARG_STRING(class, "filename", 1,
		"Filename",
		"Filename to save to",
		VIPS_ARGUMENT_REQUIRED_INPUT,
		G_STRUCT_OFFSET(VipsForeignSaveMsicFile, filename),
		NULL);
}

static void
vips_foreign_save_msic_file_init(VipsForeignSaveMsicFile *file)
{
	(void) file;
}

/* ---------------------------------------------------------------- buffer */

typedef struct _VipsForeignSaveMsicBuffer {
	VipsForeignSaveMsic parent_object;

	VipsArea *buf;
} VipsForeignSaveMsicBuffer;

typedef VipsForeignSaveMsicClass VipsForeignSaveMsicBufferClass;

G_DEFINE_TYPE(VipsForeignSaveMsicBuffer, vips_foreign_save_msic_buffer,
	vips_foreign_save_msic_get_type());

static int
vips_foreign_save_msic_buffer_build(VipsObject *object)
{
	VipsForeignSaveMsic *msic = (VipsForeignSaveMsic *) object;
	VipsBlob *blob;

	if (!(msic->target = vips_target_new_to_memory()))
		return -1;

	if (VIPS_OBJECT_CLASS(vips_foreign_save_msic_buffer_parent_class)->
		build(object))
		return -1;

	g_object_get(msic->target, "blob", &blob, NULL);
	g_object_set(object, "buffer", blob, NULL);
	vips_area_unref(VIPS_AREA(blob));

	return 0;
}

static void
vips_foreign_save_msic_buffer_class_init(
	VipsForeignSaveMsicBufferClass *class)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(class);
	VipsObjectClass *object_class = (VipsObjectClass *) class;

	gobject_class->set_property = vips_object_set_property;
	gobject_class->get_property = vips_object_get_property;

	object_class->nickname = "msicsave_buffer";
	object_class->description =
		"save image to buffer in MSIC learned-codec format";
	object_class->build = vips_foreign_save_msic_buffer_build;

	VIPS_ARG_BOXED(class, "buffer", 1,
		"Buffer",
		"Buffer to save to",
		VIPS_ARGUMENT_REQUIRED_OUTPUT,
		G_STRUCT_OFFSET(VipsForeignSaveMsicBuffer, buf),
		VIPS_TYPE_BLOB);
}

static void
vips_foreign_save_msic_buffer_init(VipsForeignSaveMsicBuffer *buffer)
{
	(void) buffer;
}

/* ---------------------------------------------------------------- target */

typedef struct _VipsForeignSaveMsicTarget {
	VipsForeignSaveMsic parent_object;

	VipsTarget *target;
} VipsForeignSaveMsicTarget;

typedef VipsForeignSaveMsicClass VipsForeignSaveMsicTargetClass;

G_DEFINE_TYPE(VipsForeignSaveMsicTarget, vips_foreign_save_msic_target,
	vips_foreign_save_msic_get_type());

static gboolean
is_regular_file(const char *path, gboolean *empty)
{
	GStatBuf st;

	if (g_stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return FALSE;
	if (empty)
		*empty = st.st_size == 0;
	return TRUE;
}

static int
vips_foreign_save_msic_target_build(VipsObject *object)
{
	VipsForeignSaveMsic *msic = (VipsForeignSaveMsic *) object;
	VipsForeignSaveMsicTarget *target =
		(VipsForeignSaveMsicTarget *) object;

	if (target->target) {
		const char *path =
			vips_connection_filename(VIPS_CONNECTION(target->target));

		msic->target = target->target;
		g_object_ref(msic->target);

		/* libvips 8.14 saves every file through the _target saver
		 * when there is one (vips_image_write_to_file), on a target
		 * that has already created the file. For a plain file, write
		 * it the msicsave way instead: a temporary file renamed over
		 * the target's path at the end, nothing half-written. */
		if (path &&
			is_regular_file(path, NULL))
			msic->filename = path;
	}

	if (VIPS_OBJECT_CLASS(vips_foreign_save_msic_target_parent_class)->
		build(object)) {
		gboolean empty;

		/* Don't leave the empty file the target created behind. */
		if (msic->filename &&
			is_regular_file(msic->filename, &empty) &&
			empty)
			(void) g_unlink(msic->filename);

		return -1;
	}

	return 0;
}

static void
vips_foreign_save_msic_target_class_init(
	VipsForeignSaveMsicTargetClass *class)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(class);
	VipsObjectClass *object_class = (VipsObjectClass *) class;

	gobject_class->set_property = vips_object_set_property;
	gobject_class->get_property = vips_object_get_property;

	object_class->nickname = "msicsave_target";
	object_class->description =
		"save image to target in MSIC learned-codec format";
	object_class->build = vips_foreign_save_msic_target_build;

	VIPS_ARG_OBJECT(class, "target", 1,
		"Target",
		"Target to save to",
		VIPS_ARGUMENT_REQUIRED_INPUT,
		G_STRUCT_OFFSET(VipsForeignSaveMsicTarget, target),
		VIPS_TYPE_TARGET);
}

static void
vips_foreign_save_msic_target_init(VipsForeignSaveMsicTarget *target)
{
	(void) target;
}
