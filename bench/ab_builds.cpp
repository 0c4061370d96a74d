// msic-bench-ab: two builds of libmsic in one process, taking turns image by
// image, so that the machine's drift (20-25% from minute to minute on the
// project's shared machines) falls on both alike. For each image it times
// an encode and a decode with each build (which goes first alternates;
// one image before, untimed) and prints each build's MP/s over the set
// and the median of the per-image time ratios B / A with their quartiles;
// and whether the two builds wrote the same bytes and decoded the same
// pixels.
//
//   msic-bench-ab [--threads N] [--quality Q] [--effort E] [--quality-b Q] [--effort-b E] [--rounds R]
//                 LIB_A LIB_B IMAGE...
//
// --quality-b and --effort-b set B's where they differ from A's (the
// LibTorch release's quality 75 is Q 91.7683 now, and it has no effort
// option: bench/README.md). Without an effort a build codes at its own
// default.
//
// LIB_A and LIB_B are paths to libmsic.so.1 files of two builds (another
// commit: bench/README.md); the same file twice is one library (to compare
// a build with itself, copy it). This program does not link libmsic: each
// copy is loaded with RTLD_LOCAL | RTLD_DEEPBIND and binds to its own
// symbols.
#include <dlfcn.h>
#include <msic/msic.h>
#include <vips/vips.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_images.h"

namespace {
using bench::Image;
using bench::load;
using bench::now;

// The C API functions of one build.
struct Build {
  std::string path;
  msic_context *(*context_create)(const char *);
  void (*set_threads)(msic_context *, int);
  const char *(*last_error)(void);
  msic_status (*settings_new)(msic_encoder_settings **);
  msic_status (*settings_set)(msic_encoder_settings *, msic_encoder_option, double);
  msic_status (*encode)(msic_context *, const msic_image_info *, const uint8_t *, size_t,
                        const msic_encoder_settings *, const msic_box *, size_t, uint8_t **, size_t *);
  msic_reader *(*open)(msic_context *, const void *, size_t);
  msic_status (*decode)(msic_reader *, uint32_t, uint32_t, uint32_t, uint32_t, uint8_t *, size_t);
  void (*close)(msic_reader *);
  void (*free_)(void *);
  msic_context *ctx = nullptr;
  msic_encoder_settings *settings = nullptr;
  double encode_s = 0, decode_s = 0;

  template <class F>
  void bind(void *lib, F &f, const char *name) {
    f = reinterpret_cast<F>(dlsym(lib, name));
    if (!f) {
      fprintf(stderr, "%s: no %s\n", path.c_str(), name);
      exit(1);
    }
  }
  Build(const char *p, int threads, double quality, int effort) : path(p) {
    // DEEPBIND: the library's calls among its own exported functions bind
    // to itself even if another libmsic is global (vips loads its modules
    // with global symbols, and vips-msic brings a libmsic).
    void *lib = dlopen(p, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!lib) {
      fprintf(stderr, "%s\n", dlerror());
      exit(1);
    }
    bind(lib, context_create, "msic_context_create");
    bind(lib, set_threads, "msic_context_set_threads");
    bind(lib, last_error, "msic_last_error");
    bind(lib, settings_new, "msic_encoder_settings_new");
    bind(lib, settings_set, "msic_encoder_settings_set");
    bind(lib, encode, "msic_encode_image");
    bind(lib, open, "msic_reader_open_memory");
    bind(lib, decode, "msic_reader_decode_region");
    bind(lib, close, "msic_reader_close");
    bind(lib, free_, "msic_free");
    ctx = context_create(nullptr);
    if (!ctx) fail("making a context");
    set_threads(ctx, threads);
    if (settings_new(&settings) || settings_set(settings, MSIC_ENCODER_QUALITY, quality) ||
        (effort > 0 && settings_set(settings, MSIC_ENCODER_EFFORT, effort)))
      fail("setting up");
  }
  [[noreturn]] void fail(const std::string &what) const {
    fprintf(stderr, "%s: %s: %s\n", path.c_str(), what.c_str(), last_error());
    exit(1);
  }
  // Codes `im`; returns the encode and decode times, the file and the pixels.
  void run(const Image &im, double &enc, double &dec, std::vector<uint8_t> &file, std::vector<uint8_t> &pixels) {
    msic_image_info info{uint32_t(im.width), uint32_t(im.height), 3, 8};
    uint8_t *buf;
    size_t size;
    pixels.resize(im.rgb.size());
    const double t0 = now();
    if (encode(ctx, &info, im.rgb.data(), size_t(im.width) * 3, settings, nullptr, 0, &buf, &size) != MSIC_OK)
      fail(im.path);
    const double t1 = now();
    msic_reader *r = open(ctx, buf, size);
    if (!r || decode(r, 0, 0, im.width, im.height, pixels.data(), size_t(im.width) * 3) != MSIC_OK) fail(im.path);
    const double t2 = now();
    close(r);
    file.assign(buf, buf + size);
    free_(buf);
    enc = t1 - t0;
    dec = t2 - t1;
    encode_s += enc;
    decode_s += dec;
  }
};

// Lower quartile, median and upper quartile of v (nearest rank).
void quartiles(std::vector<double> v, double q[3]) {
  std::sort(v.begin(), v.end());
  for (int i = 0; i < 3; ++i) q[i] = v[size_t(double(v.size() - 1) * (i + 1) / 4 + 0.5)];
}
}  // namespace

int main(int argc, char **argv) {
  if (VIPS_INIT(argv[0])) return 1;
  int threads = 2, effort = 0, effort_b = -1, rounds = 2, i = 1;
  double quality = 75, quality_b = -1;
  for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
    if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--quality")) quality = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--quality-b")) quality_b = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--effort")) effort = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--effort-b")) effort_b = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[i + 1]);
    else break;
  }
  if (argc - i < 3 || rounds < 1) {
    fprintf(stderr, "usage: msic-bench-ab [--threads N] [--quality Q] [--effort E] [--quality-b Q] [--effort-b E] "
                    "[--rounds R] LIB_A LIB_B IMAGE...\n");
    return 2;
  }
  if (quality_b < 0) quality_b = quality;
  if (effort_b < 0) effort_b = effort;
  Build builds[2] = {Build(argv[i], threads, quality, effort), Build(argv[i + 1], threads, quality_b, effort_b)};
  std::vector<Image> images;
  for (int k = i + 2; k < argc; ++k) images.push_back(load(argv[k]));
  // Untimed first: a build's first image pays its lazy set-up (the
  // network, the pools; LibTorch's first call is several times slower).
  for (Build &b : builds) {
    double enc, dec;
    std::vector<uint8_t> file, pixels;
    b.run(images[0], enc, dec, file, pixels);
    b.encode_s = b.decode_s = 0;
  }
  std::vector<double> encode_ratio, decode_ratio;
  double megapixels = 0;
  bool same_files = true, same_pixels = true;
  for (int r = 0; r < rounds; ++r)
    for (size_t k = 0; k < images.size(); ++k) {
      double enc[2], dec[2];
      std::vector<uint8_t> file[2], pixels[2];
      for (int turn = 0; turn < 2; ++turn) {
        const int b = int((size_t(r) + k + size_t(turn)) % 2);
        builds[b].run(images[k], enc[b], dec[b], file[b], pixels[b]);
      }
      encode_ratio.push_back(enc[1] / enc[0]);
      decode_ratio.push_back(dec[1] / dec[0]);
      same_files = same_files && file[0] == file[1];
      same_pixels = same_pixels && pixels[0] == pixels[1];
      megapixels += images[k].width * double(images[k].height) / 1e6;
    }
  auto effort_name = [](int e) { return e > 0 ? std::to_string(e) : std::string("default"); };
  printf("images: %zu x %d rounds, threads %d; A: quality %g, effort %s; B: quality %g, effort %s\n", images.size(),
         rounds, threads, quality, effort_name(effort).c_str(), quality_b, effort_name(effort_b).c_str());
  for (int b = 0; b < 2; ++b)
    printf("%c %s: encode %.3f MP/s, decode %.3f MP/s\n", 'A' + b, builds[b].path.c_str(),
           megapixels / builds[b].encode_s, megapixels / builds[b].decode_s);
  double qe[3], qd[3];
  quartiles(encode_ratio, qe);
  quartiles(decode_ratio, qd);
  printf("B / A time per image, median [quartiles]: encode %.3f [%.3f %.3f], decode %.3f [%.3f %.3f]\n", qe[1], qe[0],
         qe[2], qd[1], qd[0], qd[2]);
  printf("same bytes: %s; same pixels: %s\n", same_files ? "yes" : "no", same_pixels ? "yes" : "no");
  return 0;
}
