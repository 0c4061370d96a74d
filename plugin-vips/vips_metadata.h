/* The one mapping between libvips image metadata and MSIC boxes.
 *
 * The libvips module (msicload, msicsave) and the msic command both use
 * it, so a file carries the same boxes whichever wrote it, and either reads
 * them back the same way:
 *
 *   "icc-profile-data"  <->  ICCP
 *   "exif-data"         <->  EXIF  (kept in line with the image on save,
 *                                   parsed into exif-* fields on load)
 *   "xmp-data"          <->  XMP
 *   "iptc-data"         <->  IPTC
 *   Xres, Yres          <->  RESL  (pixels per mm, float64 little-endian;
 *                                   wins over the resolution in EXIF)
 *   an alpha band        ->  ROLE  (so that max_error keeps it exact)
 *
 * Built as a static library that needs libvips and the MSIC C API headers
 * only: each program links the libmsic it wants.
 */
#ifndef MSIC_VIPS_METADATA_H
#define MSIC_VIPS_METADATA_H

#include <stdint.h>

#include <vips/vips.h>

#include <msic/msic.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What an MSIC image is to libvips: its band format, and its
 * interpretation (grey, RGB, 16-bit variants, or multiband beyond 4 bands). */
VipsBandFormat vips__msic_band_format(const msic_image_info *info);
VipsInterpretation vips__msic_interpretation(const msic_image_info *info);

/* Sets info's bit_depth and sample_format for a libvips band format.
 * Returns 0, or -1 with a vips error naming `domain` for the formats MSIC
 * does not hold (double, complex). */
int vips__msic_sample_format(VipsBandFormat format, msic_image_info *info,
	const char *domain);

/* vips_error() for a failure of the MSIC library, in the module's words:
 * "domain: [name: ]what[: msic_last_error()]". name may be NULL. */
void vips__msic_error(const char *domain, const char *name, const char *what);

/* Adds the boxes for image's metadata to a writer that has no rows yet:
 * the resolution and alpha always (they are geometry, kept under strip as
 * JPEG and PNG keep resolution), ICC, EXIF, XMP and IPTC unless strip.
 * image is not modified. Returns
 * 0, or -1 with the reason in the vips error buffer (MSIC failures under
 * `domain`). */
int vips__msic_metadata_save(VipsImage *image, gboolean strip,
	msic_writer *writer, const char *domain);

/* Sets image's metadata from the reader's boxes. Boxes that leave the
 * pixels usable but cannot be read (a malformed resolution, EXIF libvips
 * cannot parse) are skipped with a g_warning "domain: [name: ]message", or
 * fail with that message when fail_on_warning. Returns 0, or -1 with the
 * reason in the vips error buffer. */
int vips__msic_metadata_load(VipsImage *image, msic_reader *reader,
	const char *domain, const char *name, gboolean fail_on_warning);

/* libvips exports these (its own heif/jxl modules use them) but does not
 * install the header that declares them, so declare them here. They parse
 * the "exif-data" blob into "exif-ifd*" fields, resolution and orientation,
 * and rebuild the blob from those fields before a save. */
int vips__exif_parse(VipsImage *image);
int vips__exif_update(VipsImage *image);

#ifdef __cplusplus
}
#endif

#endif /* MSIC_VIPS_METADATA_H */
