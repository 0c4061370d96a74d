// Starts libvips for one msic command, without its loadable modules when
// the command needs none of them.
#pragma once
#include <string>
#include <vector>

namespace msic_cli {

// False when every image the command reads or writes through libvips is in
// a format built into libvips itself (PNG, JPEG, TIFF, WebP, GIF, PNM, .v),
// judged by the input's first bytes and the output's suffix; true for
// anything else (HEIF, JPEG XL, PDF, ImageMagick's formats...).
bool needs_vips_modules(const std::string &command, const std::vector<std::string> &positional);

// VIPS_INIT, after pointing libvips at a prefix without modules when they
// are not needed: loading them (libheif, libjxl, ImageMagick, poppler...)
// is most of a short command's start-up. A VIPSHOME the user set is kept.
bool start_vips(const char *argv0, bool with_modules);

}  // namespace msic_cli
