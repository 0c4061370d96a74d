#include "vips_formats.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

namespace msic_cli {
namespace {

bool builtin_input(const std::string &path) {
  unsigned char m[12] = {0};
  FILE *f = fopen(path.c_str(), "rb");
  if (!f) return true;  // libvips reports the error, modules or not
  const size_t n = fread(m, 1, sizeof m, f);
  fclose(f);
  if (n < 4) return true;
  auto is = [&](const char *magic, size_t len, size_t at = 0) { return n >= at + len && !memcmp(m + at, magic, len); };
  return is("\x89PNG", 4) || is("\xff\xd8\xff", 3) || is("II*\0", 4) || is("MM\0*", 4) ||
         (is("RIFF", 4) && is("WEBP", 4, 8)) || is("GIF8", 4) ||
         (m[0] == 'P' && strchr("1234567Ff", m[1]) && m[1]) ||  // PBM, PGM, PPM, PAM, PFM
         is("\x08\xf2\xa6\xb6", 4) || is("\xb6\xa6\xf2\x08", 4);  // .v
}

bool builtin_output(std::string path) {
  path = path.substr(0, path.find('['));  // "out.png[compression=9]"
  const size_t dot = path.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  for (const char *e : {"png", "jpg", "jpeg", "jpe", "tif", "tiff", "webp", "gif", "ppm", "pgm", "pbm", "pnm",
                        "pfm", "v", "vips", "msic"})
    if (ext == e) return true;
  return false;
}

}  // namespace

bool needs_vips_modules(const std::string &command, const std::vector<std::string> &positional) {
  if (command == "encode") return positional.empty() || !builtin_input(positional[0]);
  if (command == "decode") return positional.size() < 2 || !builtin_output(positional[1]);
  // info, verify, version, help: .msic files are read by libmsic itself.
  return command != "info" && command != "verify" && command != "version" && command != "--version";
}

}  // namespace msic_cli
