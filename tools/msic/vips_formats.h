// Whether a command's images need libvips's loadable modules (libheif,
// libjxl, ImageMagick, poppler...), whose loading is most of a short
// command's start-up when libvips is used at all.
#pragma once
#include <string>
#include <vector>

namespace msic_cli {

// False when every image the command reads or writes through libvips is in
// a format built into libvips itself (PNG, JPEG, TIFF, WebP, GIF, PNM, .v),
// judged by the input's first bytes and the output's suffix; true for
// anything else (HEIF, JPEG XL, PDF, ImageMagick's formats...).
bool needs_vips_modules(const std::string &command, const std::vector<std::string> &positional);

}  // namespace msic_cli
