// Finds and loads msic-vips-io.so, the command's libvips half, the first
// time an image needs it.
#include <dlfcn.h>
#include <unistd.h>

#include "image_io.h"

namespace msic_cli {
namespace {

// Beside the executable (a build tree), where it is installed, and where
// it would be relative to the executable (a package made for another
// prefix than the build was configured with).
std::vector<std::string> module_paths() {
  std::vector<std::string> paths;
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  const std::string dir = n > 0 ? std::string(exe, size_t(n)) : std::string();
  const std::string exe_dir = dir.substr(0, dir.find_last_of('/') + 1);
  if (!exe_dir.empty()) paths.push_back(exe_dir + "msic-vips-io.so");
  paths.push_back(std::string(MSIC_CLI_MODULE_DIR) + "/msic-vips-io.so");
  if (!exe_dir.empty()) paths.push_back(exe_dir + "../" MSIC_CLI_MODULE_RELATIVE_DIR "/msic-vips-io.so");
  return paths;
}

}  // namespace

const VipsIO *vips_io(const char *argv0, bool with_modules, std::string *error) {
  static const VipsIO *io = nullptr;
  if (io) return io;
  std::string why;
  for (const std::string &path : module_paths()) {
    if (access(path.c_str(), F_OK) != 0) continue;
    void *module = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    auto entry = module ? reinterpret_cast<VipsIOEntry>(dlsym(module, MSIC_CLI_VIPS_IO_ENTRY)) : nullptr;
    if (!entry) {
      const char *e = dlerror();
      why = e ? e : path + ": not an msic module";
      if (module) dlclose(module);
      continue;
    }
    const VipsIO *candidate = entry();
    if (!candidate->start(argv0, with_modules, error)) return nullptr;
    return io = candidate;
  }
  *error = "images other than PNG and binary PGM/PPM need libvips, and its part of msic cannot be loaded" +
           (why.empty() ? std::string(" (msic-vips-io.so is not installed)") : ": " + why);
  return nullptr;
}

}  // namespace msic_cli
