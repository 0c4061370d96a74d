#include "api/backend_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include "errors.h"

namespace msic {
namespace {
// Any symbol of libmsic: dladdr on it finds the folder libmsic was loaded from.
void anchor() {}
}  // namespace

// LibTorch lives in libmsic-codec, beside this library, loaded on the first
// encode or decode: programs that only load the plugins (every vips and GDAL
// command) never pay its start-up time and memory.
std::unique_ptr<TileCodec> load_tile_codec(const ModelFile &model) {
  static std::once_flag once;
  static TileCodecFactory factory = nullptr;
  static std::string error;
  std::call_once(once, [] {
    std::string dir;
    Dl_info self;
    if (dladdr(reinterpret_cast<void *>(&anchor), &self) && self.dli_fname) {
      std::string path = self.dli_fname;
      size_t slash = path.rfind('/');
      if (slash != std::string::npos) dir = path.substr(0, slash + 1);
    }
    std::string backend = dir + MSIC_BACKEND_FILE;
    void *handle = dlopen(backend.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      error = dlerror();
      return;
    }
    // Tiles run in parallel on our threads; OpenBLAS threads inside each
    // convolution would only oversubscribe the cores. The call, not the
    // environment: setenv here could race with getenv in the host's other
    // threads, and OpenBLAS may have started already (GDAL links it through
    // armadillo). dlsym on the handle searches the backend's dependencies.
    using SetThreads = void (*)(int);
    if (auto set = reinterpret_cast<SetThreads>(dlsym(handle, "openblas_set_num_threads"));
        set && !getenv("OPENBLAS_NUM_THREADS"))
      set(1);
    factory = reinterpret_cast<TileCodecFactory>(dlsym(handle, MSIC_TILE_CODEC_FACTORY));
    if (!factory) error = backend + " does not export " MSIC_TILE_CODEC_FACTORY;
  });
  if (!factory) throw Error(MSIC_ERR_INTERNAL, "cannot load the MSIC codec (" + error + ")");
  char message[1024] = "";
  TileCodec *codec = factory(&model, message, sizeof message);
  if (!codec) throw Error(MSIC_ERR_MODEL, std::string("the model does not load: ") + message);
  return std::unique_ptr<TileCodec>(codec);
}

}  // namespace msic
