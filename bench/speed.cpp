// msic-bench-speed: model size and cost, encode/decode throughput and peak
// memory on a set of images (the Kodak set in bench/README.md), in-process
// through the C API, with a given number of threads.
//
//   msic-bench-speed [--threads N] [--quality Q] [--effort E] [--tile-size N] [--repeat R] [--model PATH] IMAGE...
#include <msic/msic.h>
#include <sys/resource.h>
#include <vips/vips.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_images.h"

using bench::Image;
using bench::load;
using bench::now;

int main(int argc, char **argv) {
  if (VIPS_INIT(argv[0])) return 1;
  int threads = 2, repeat = 1, effort = MSIC_EFFORT_DEFAULT, tile_size = MSIC_TILE_SIZE_AUTO;
  float quality = 75;
  const char *model = nullptr;  // the embedded default
  std::vector<Image> images;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--quality") && i + 1 < argc) quality = float(atof(argv[++i]));
    else if (!strcmp(argv[i], "--effort") && i + 1 < argc) effort = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--tile-size") && i + 1 < argc) tile_size = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
    else images.push_back(load(argv[i]));
  }
  if (images.empty()) {
    fprintf(stderr, "usage: msic-bench-speed [--threads N] [--quality Q] [--effort E] [--tile-size N] [--repeat R] "
                    "[--model PATH] IMAGE...\n");
    return 2;
  }
  msic_context *ctx = msic_context_create(model);
  if (!ctx) return fprintf(stderr, "%s\n", msic_last_error()), 1;
  msic_context_set_threads(ctx, threads);
  msic_model_info mi;
  msic_context_get_model_info(ctx, &mi);
  printf("model: %s (%s)\n", mi.name, mi.hash);
  printf("parameters: %llu\n", (unsigned long long)mi.parameters);
  printf("MACs per pixel: transform %.0f, entropy model %.0f, decoder total %.0f\n",
         mi.transform_macs_per_pixel, mi.entropy_macs_per_pixel, mi.decoder_macs_per_pixel);

  msic_encoder_settings *settings;
  if (msic_encoder_settings_new(&settings) || msic_encoder_settings_set(settings, MSIC_ENCODER_QUALITY, quality) ||
      msic_encoder_settings_set(settings, MSIC_ENCODER_EFFORT, effort) ||
      msic_encoder_settings_set(settings, MSIC_ENCODER_TILE_SIZE, tile_size))
    return fprintf(stderr, "%s\n", msic_last_error()), 2;
  double megapixels = 0, enc_s = 0, dec_s = 0, bits = 0, psnr_sum = 0;
  int coded = 0;
  for (int r = 0; r < repeat; ++r)
    for (auto &im : images) {
      msic_image_info info{uint32_t(im.width), uint32_t(im.height), 3, 8};
      uint8_t *buf;
      size_t size;
      double t0 = now();
      if (msic_encode_image(ctx, &info, im.rgb.data(), size_t(im.width) * 3, settings, nullptr, 0, &buf, &size) !=
          MSIC_OK)
        return fprintf(stderr, "%s: %s\n", im.path.c_str(), msic_last_error()), 1;
      double t1 = now();
      msic_reader *rd = msic_reader_open_memory(ctx, buf, size);
      std::vector<uint8_t> out(im.rgb.size());
      if (!rd || msic_reader_decode_region(rd, 0, 0, im.width, im.height, out.data(), size_t(im.width) * 3))
        return fprintf(stderr, "%s: %s\n", im.path.c_str(), msic_last_error()), 1;
      double t2 = now();
      msic_reader_close(rd);
      msic_free(buf);
      double se = 0;
      for (size_t i = 0; i < out.size(); ++i) se += (double(out[i]) - im.rgb[i]) * (double(out[i]) - im.rgb[i]);
      psnr_sum += se ? 10 * std::log10(255.0 * 255.0 * out.size() / se) : 99.0;
      ++coded;
      enc_s += t1 - t0;
      dec_s += t2 - t1;
      megapixels += im.width * double(im.height) / 1e6;
      bits += 8.0 * size;
    }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("images: %zu x %d, quality %.6g, effort %d, tile size %d, threads %d\n", images.size(), repeat, quality, effort,
         tile_size, threads);
  printf("bits per pixel: %.4f\n", bits / (megapixels * 1e6));
  printf("PSNR-RGB (mean of per-image): %.3f dB\n", psnr_sum / coded);
  printf("encode: %.3f MP/s\n", megapixels / enc_s);
  printf("decode: %.3f MP/s\n", megapixels / dec_s);
  printf("peak memory: %.1f MiB\n", ru.ru_maxrss / 1024.0);
  msic_encoder_settings_destroy(settings);
  msic_context_destroy(ctx);
  return 0;
}
