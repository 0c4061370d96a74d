/* The libvips <-> MSIC metadata mapping (see vips_metadata.h).
 */
#include <math.h>
#include <string.h>

#include "vips_metadata.h"

/* vips image fields and the box each one goes to. */
static const struct {
	const char *field;
	const char *type;
} vips__msic_blob_boxes[] = {
	{ VIPS_META_ICC_NAME, MSIC_BOX_ICC },
	{ VIPS_META_EXIF_NAME, MSIC_BOX_EXIF },
	{ VIPS_META_XMP_NAME, MSIC_BOX_XMP },
	{ VIPS_META_IPTC_NAME, MSIC_BOX_IPTC },
};

VipsBandFormat
vips__msic_band_format(const msic_image_info *info)
{
	const gboolean is_signed = info->sample_format == MSIC_SAMPLE_SIGNED;

	if (info->sample_format == MSIC_SAMPLE_FLOAT)
		return VIPS_FORMAT_FLOAT;
	switch (info->bit_depth) {
	case 16:
		return is_signed ? VIPS_FORMAT_SHORT : VIPS_FORMAT_USHORT;
	case 32:
		return is_signed ? VIPS_FORMAT_INT : VIPS_FORMAT_UINT;
	default:
		return is_signed ? VIPS_FORMAT_CHAR : VIPS_FORMAT_UCHAR;
	}
}

VipsInterpretation
vips__msic_interpretation(const msic_image_info *info)
{
	const gboolean is_16 = info->bit_depth == 16 &&
		info->sample_format == MSIC_SAMPLE_UNSIGNED;

	if (info->bands <= 2)
		return is_16 ? VIPS_INTERPRETATION_GREY16 : VIPS_INTERPRETATION_B_W;
	if (info->bands <= 4)
		return is_16 ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB;
	return VIPS_INTERPRETATION_MULTIBAND;
}

int
vips__msic_sample_format(VipsBandFormat format, msic_image_info *info,
	const char *domain)
{
	switch (format) {
	case VIPS_FORMAT_UCHAR:
	case VIPS_FORMAT_CHAR:
		info->bit_depth = 8;
		break;
	case VIPS_FORMAT_USHORT:
	case VIPS_FORMAT_SHORT:
		info->bit_depth = 16;
		break;
	case VIPS_FORMAT_UINT:
	case VIPS_FORMAT_INT:
	case VIPS_FORMAT_FLOAT:
		info->bit_depth = 32;
		break;
	default:
		vips_error(domain, "%s samples are not supported "
			"(MSIC holds 8, 16 and 32-bit integers and 32-bit floats)",
			vips_enum_nick(VIPS_TYPE_BAND_FORMAT, format));
		return -1;
	}
	info->sample_format = format == VIPS_FORMAT_FLOAT ? MSIC_SAMPLE_FLOAT :
		vips_band_format_isuint(format) ? MSIC_SAMPLE_UNSIGNED :
		MSIC_SAMPLE_SIGNED;
	return 0;
}

void
vips__msic_error(const char *domain, const char *name, const char *what)
{
	const char *detail = msic_last_error();

	vips_error(domain, "%s%s%s%s%s",
		name ? name : "", name ? ": " : "", what,
		detail && detail[0] ? ": " : "", detail ? detail : "");
}

/* Something is wrong but the pixels are usable: a warning, or an error when
 * the caller asked for fail_on=warning. Returns -1 if we must stop. */
static int
vips__msic_warn(const char *domain, const char *name,
	gboolean fail_on_warning, const char *message)
{
	if (fail_on_warning) {
		vips_error(domain, "%s%s%s",
			name ? name : "", name ? ": " : "", message);
		return -1;
	}
	g_warning("%s: %s%s%s", domain,
		name ? name : "", name ? ": " : "", message);
	return 0;
}

static int
vips__msic_add_blob(VipsImage *image, msic_writer *writer,
	const char *field, const char *type, const char *domain)
{
	const void *data;
	size_t length;

	if (!vips_image_get_typeof(image, field))
		return 0;
	if (vips_image_get_blob(image, field, &data, &length))
		return -1;
	if (length > 0 &&
		msic_writer_add_box(writer, type, data, length) != MSIC_OK) {
		vips__msic_error(domain, NULL, "unable to add metadata");
		return -1;
	}

	return 0;
}

int
vips__msic_metadata_save(VipsImage *image, gboolean strip,
	msic_writer *writer, const char *domain)
{
	double resolution[2];
	VipsImage *x;
	int result;
	size_t i;

	/* Resolution is part of the image geometry, not strippable
	 * metadata: JPEG and PNG keep it under strip as well. */
	resolution[0] = image->Xres;
	resolution[1] = image->Yres;
	if (msic_writer_add_f64_box(writer, MSIC_BOX_RESOLUTION,
		resolution, 2) != MSIC_OK) {
		vips__msic_error(domain, NULL, "unable to add metadata");
		return -1;
	}

	/* Alpha is structure too: the exact codings keep it exact whatever
	 * max_error (the learned coding only ever sees flattened images). */
	if (vips_image_hasalpha(image)) {
		uint8_t *roles = g_malloc0(image->Bands);

		roles[image->Bands - 1] = MSIC_BAND_ALPHA;
		result = msic_writer_add_box(writer, MSIC_BOX_BAND_ROLES,
			roles, image->Bands) == MSIC_OK ? 0 : -1;
		g_free(roles);
		if (result) {
			vips__msic_error(domain, NULL,
				"unable to add metadata");
			return -1;
		}
	}

	if (strip)
		return 0;

	/* Bring an existing EXIF block in line with the image (size,
	 * resolution, orientation, edited exif-* fields), as the JPEG and
	 * HEIF savers do, on a copy since that edits the metadata. We don't
	 * invent EXIF for images that had none. */
	if (vips_copy(image, &x, NULL))
		return -1;
	result = 0;
	if (vips_image_get_typeof(x, VIPS_META_EXIF_NAME) &&
		vips__exif_update(x))
		result = -1;
	for (i = 0; !result && i < G_N_ELEMENTS(vips__msic_blob_boxes); i++)
		result = vips__msic_add_blob(x, writer,
			vips__msic_blob_boxes[i].field,
			vips__msic_blob_boxes[i].type, domain);
	g_object_unref(x);

	return result;
}

int
vips__msic_metadata_load(VipsImage *image, msic_reader *reader,
	const char *domain, const char *name, gboolean fail_on_warning)
{
	gboolean have_exif;
	gboolean have_resl;
	double resolution[2];
	size_t i, j, n;

	have_exif = FALSE;
	have_resl = FALSE;
	resolution[0] = resolution[1] = 1.0;
	n = msic_reader_box_count(reader);
	for (i = 0; i < n; i++) {
		msic_box box;
		const char *field;
		gboolean is_exif;
		char type[4];
		uint64_t size;

		/* Only the boxes we map are read: others (geospatial ones,
		 * key/value) are for other readers, libvips has nowhere
		 * standard to put them, and they may be large. */
		if (msic_reader_get_box_header(reader, i, type, &size) !=
			MSIC_OK) {
			vips__msic_error(domain, name,
				"unable to read metadata");
			return -1;
		}
		field = NULL;
		for (j = 0; j < G_N_ELEMENTS(vips__msic_blob_boxes); j++)
			if (memcmp(type, vips__msic_blob_boxes[j].type, 4) == 0)
				field = vips__msic_blob_boxes[j].field;
		if (!field && memcmp(type, MSIC_BOX_RESOLUTION, 4) != 0)
			continue;

		if (msic_reader_get_box(reader, i, &box) != MSIC_OK) {
			vips__msic_error(domain, name,
				"unable to read metadata");
			return -1;
		}

		if (memcmp(box.type, MSIC_BOX_RESOLUTION, 4) == 0) {
			double v[2];

			if (msic_box_get_f64(&box, v, 2) == MSIC_OK &&
				isfinite(v[0]) && isfinite(v[1]) &&
				v[0] > 0 && v[1] > 0) {
				resolution[0] = v[0];
				resolution[1] = v[1];
				have_resl = TRUE;
			}
			else if (vips__msic_warn(domain, name,
				fail_on_warning,
				"ignoring malformed resolution box"))
				return -1;
			continue;
		}

		/* Setting the EXIF blob makes libvips parse it; we parse it
		 * again below to learn whether that worked. Keep the failure
		 * out of the error buffer. */
		is_exif = strcmp(field, VIPS_META_EXIF_NAME) == 0;
		if (is_exif)
			vips_error_freeze();
		vips_image_set_blob_copy(image, field, box.data, box.size);
		if (is_exif) {
			vips_error_thaw();
			have_exif = TRUE;
		}
	}

	/* Parse EXIF into exif-ifd* fields, orientation and resolution, as
	 * the JPEG and HEIF loaders do. An EXIF block libvips cannot read
	 * would make every saver that rebuilds EXIF fail later: drop it. */
	if (have_exif) {
		int failed;

		vips_error_freeze();
		failed = vips__exif_parse(image);
		vips_error_thaw();
		if (failed) {
			if (vips__msic_warn(domain, name, fail_on_warning,
				"ignoring unreadable EXIF block"))
				return -1;
			vips_image_remove(image, VIPS_META_EXIF_NAME);
		}
	}

	/* The resolution box is written from the vips header, so it wins
	 * over anything EXIF says. */
	if (have_resl) {
		image->Xres = resolution[0];
		image->Yres = resolution[1];
	}

	return 0;
}
