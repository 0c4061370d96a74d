// The msic command's images in and out. PNG and binary PNM, the formats of
// a loop over files, are read and written by the command itself (png_io,
// pnm_io: libpng, or nothing); every other format goes through libvips,
// which is loaded only then (vips_io, a module: starting libvips and its
// hundred libraries is most of a short command's time).
#pragma once
#include <msic/msic.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <strings.h>
#include <unistd.h>
#include <memory>
#include <string>
#include <vector>

namespace msic_cli {

// An image being read for encoding, top to bottom.
class ImageInput {
 public:
  virtual ~ImageInput() = default;
  // width, height, bands, bit_depth, sample_format.
  virtual const msic_image_info &info() const = 0;
  // Adds the image's boxes to a writer that has no rows yet: resolution and
  // alpha always (geometry), ICC, XMP (and EXIF, IPTC) unless strip.
  virtual bool add_boxes(msic_writer *w, bool strip, std::string *error) = 0;
  // The next `rows` rows into dst, `stride` bytes apart.
  virtual bool read_rows(uint32_t rows, uint8_t *dst, size_t stride, std::string *error) = 0;
};

// Rows of the decoded image, pulled by an output in any order of bands of
// rows (libvips may ask twice for a row; the built-in writers go in order).
class DecodedRows {
 public:
  virtual ~DecodedRows() = default;
  // Rows y .. y + rows - 1 of the output into dst, `stride` bytes apart.
  // On failure the message is the decoder's, for the input file.
  virtual bool read(uint32_t y, uint32_t rows, uint8_t *dst, size_t stride, std::string *error) = 0;
  // Rows the decoder produces at once (a tile row): the writers pull this many.
  virtual uint32_t rows_per_read() const = 0;
};

// The reader's boxes an output keeps, as libvips's mapping reads them
// (plugin-vips/vips_metadata.h): ICC, XMP and the resolution in pixels per
// mm (1 when the file has none, as libvips's default).
struct OutputMetadata {
  std::string icc, xmp;
  double xres = 1.0, yres = 1.0;
  bool has_exif = false;  // only libvips's savers bring EXIF in line with the image
};

// Built-in readers: nullptr when the file is not one they take whole (not a
// PNG or a binary PGM/PPM of at most 16 bits, or a PNG with EXIF, which
// libvips's rules keep), and then *error stays empty; nullptr with *error
// set when it is a PNG but a damaged one.
std::unique_ptr<ImageInput> open_png(const std::string &path, std::string *error);
std::unique_ptr<ImageInput> open_pnm(const std::string &path, std::string *error);

// True when path ends in "." + suffix (any case) and has no libvips options
// ("out.png[compression=9]" is libvips's to write).
inline bool output_suffix_is(const std::string &path, const char *suffix) {
  const size_t dot = path.rfind('.');
  if (dot == std::string::npos || path.find('[') != std::string::npos) return false;
  return strcasecmp(path.c_str() + dot + 1, suffix) == 0;
}

// Built-in writers, by the output's suffix: .png (1-4 bands, 8 or 16-bit
// unsigned) and .ppm/.pgm/.pnm (1 or 3 bands, 8 or 16-bit unsigned).
// False when they do not take this image or path.
bool png_takes(const std::string &path, const msic_image_info &info, const OutputMetadata &meta);
bool pnm_takes(const std::string &path, const msic_image_info &info);
bool write_png(const std::string &path, const msic_image_info &info, const OutputMetadata &meta,
               DecodedRows &rows, std::string *error);
bool write_pnm(const std::string &path, const msic_image_info &info, DecodedRows &rows, std::string *error);

// Creates path (which must not exist: the command's temporary name) and
// runs write(FILE *, std::string *error) on it; a failure to write or
// close is an error too. The caller removes the file on failure.
template <class Write>
bool write_file(const std::string &path, std::string *error, Write write) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  FILE *f = fd >= 0 ? fdopen(fd, "wb") : nullptr;
  if (!f) {
    *error = strerror(errno);
    if (fd >= 0) close(fd);
    return false;
  }
  bool ok = write(f, error);
  if (ok && (fflush(f) != 0 || ferror(f))) ok = false, *error = "write error: " + std::string(strerror(errno));
  if (fclose(f) != 0 && ok) ok = false, *error = "write error: " + std::string(strerror(errno));
  return ok;
}

// The libvips module's entry points (vips_io.cpp), found with dlopen.
struct VipsIO {
  // Starts libvips (without its loadable modules when the command's
  // images are in formats built into libvips). False with *error when it
  // cannot start.
  bool (*start)(const char *argv0, bool with_modules, std::string *error);
  std::unique_ptr<ImageInput> (*open)(const std::string &path, std::string *error);
  // path may carry libvips save options: "out.tif[compression=lzw]".
  bool (*write)(const std::string &path, msic_reader *reader, const char *in_name, const msic_image_info &info,
                DecodedRows &rows, std::string *error);
};
#define MSIC_CLI_VIPS_IO_ENTRY "msic_cli_vips_io_v1"
extern "C" typedef const VipsIO *(*VipsIOEntry)();

// The module, loaded on first use; nullptr with *error when it cannot be
// (not installed: install libvips42 and the msic-tools package's module).
const VipsIO *vips_io(const char *argv0, bool with_modules, std::string *error);

}  // namespace msic_cli
