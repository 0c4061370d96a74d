// The libvips module under concurrency: eight libvips workers decode what
// one decodes, in the vips program and in this process, and threads that
// share one loaded image (a region each, libvips' rule) see the pixels of a
// single-threaded decode. The in-process test is the one tools/sanitize.sh
// runs under TSan: it drives the loader's threaded tile cache directly.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <msic/msic.h>
#include <vips/vips.h>

#include "fixture.h"
#include "support.h"

using namespace msictest;

namespace {

// Restores libvips' concurrency and operation cache when a test ends.
struct VipsSettings {
  int concurrency = vips_concurrency_get();
  int cache_max = vips_cache_get_max();
  ~VipsSettings() {
    vips_concurrency_set(concurrency);
    vips_cache_set_max(cache_max);
  }
};

// Decodes a whole image in this process with `workers` libvips workers.
// The loader asks libvips 8.14 to 8.15.4 for a single worker (their
// threadpool can lose an error); that hint is dropped here so that the
// workers really run in parallel on this valid file.
Pixels DecodeInProcess(const std::string& path, int workers) {
  vips_concurrency_set(workers);
  Pixels p;
  VipsImage* in = vips_image_new_from_file(path.c_str(), "access", VIPS_ACCESS_RANDOM, NULL);
  if (!in) {
    ADD_FAILURE() << vips_error_buffer();
    vips_error_clear();
    return p;
  }
  VipsImage* copy = nullptr;
  if (vips_copy(in, &copy, NULL)) {
    ADD_FAILURE() << vips_error_buffer();
    vips_error_clear();
    g_object_unref(in);
    return p;
  }
  vips_image_remove(copy, VIPS_META_CONCURRENCY);
  size_t size = 0;
  void* mem = vips_image_write_to_memory(copy, &size);
  if (mem) {
    p = Pixels{copy->Xsize, copy->Ysize, copy->Bands,
               std::vector<uint8_t>(static_cast<uint8_t*>(mem), static_cast<uint8_t*>(mem) + size)};
    g_free(mem);
  } else {
    ADD_FAILURE() << vips_error_buffer();
    vips_error_clear();
  }
  g_object_unref(copy);
  g_object_unref(in);
  return p;
}

// ------------------------------------------------------------ the programs

TEST_F(VipsModule, ProgramsDecodeTheSameAtConcurrencyEightAndOne) {
  // Small tiles, so that the workers' strips share tiles.
  const std::string msic = Path("in.msic");
  Copy(kodim_, msic + "[Q=60,tile_size=64]");
  const Pixels expected = DecodeWithCApi(msic);
  // A copy reads strips; a rotation reads columns across every tile row.
  const std::vector<std::vector<std::string>> ops = {{"copy"}, {"rot", "d90"}};
  for (const std::vector<std::string>& op : ops) {
    Pixels decoded[2];
    for (int i = 0; i < 2; ++i) {
      const std::string concurrency = i ? "8" : "1";
      const std::string out = Path(op[0] + concurrency + ".v");
      std::vector<std::string> argv = {VipsExe(), "--vips-concurrency=" + concurrency, op[0], msic, out};
      argv.insert(argv.end(), op.begin() + 1, op.end());
      RunResult r = Exec(argv);
      ASSERT_TRUE(r.ok()) << op[0] << " at concurrency " << concurrency << ": " << r.describe();
      decoded[i] = LoadWithVips(out);
    }
    EXPECT_EQ(MaxAbsDiff(decoded[1], decoded[0]), 0) << op[0];
    if (op[0] == "copy") EXPECT_EQ(MaxAbsDiff(decoded[0], expected), 0);
  }
}

// ------------------------------------------------------------ in process

TEST_F(VipsModule, ThreadsSharingALoadedImageSeeTheSingleThreadedPixels) {
  VipsSettings restore;
  vips_cache_set_max(0);  // every load below makes a loader of its own

  // 448x320 in 64-px tiles (7 x 5), saved through the module in process.
  const std::string msic = Path("in.msic");
  {
    VipsImage* kodim = vips_image_new_from_file(kodim_.c_str(), NULL);
    ASSERT_NE(kodim, nullptr) << vips_error_buffer();
    VipsImage* crop = nullptr;
    ASSERT_EQ(vips_crop(kodim, &crop, 150, 100, 448, 320, NULL), 0) << vips_error_buffer();
    g_object_unref(kodim);
    ASSERT_EQ(vips_image_write_to_file(crop, (msic + "[Q=60,tile_size=64]").c_str(), NULL), 0)
        << vips_error_buffer();
    g_object_unref(crop);
  }
  const Pixels one = DecodeInProcess(msic, 1);
  ASSERT_EQ(one.width, 448);
  EXPECT_EQ(MaxAbsDiff(one, DecodeWithCApi(msic)), 0);
  // Eight libvips workers on one image.
  EXPECT_EQ(MaxAbsDiff(DecodeInProcess(msic, 8), one), 0);

  // Eight threads of our own on one loaded image, each with its region,
  // asking for random rectangles: they meet in the loader's tile cache.
  VipsImage* image = vips_image_new_from_file(msic.c_str(), "access", VIPS_ACCESS_RANDOM, NULL);
  ASSERT_NE(image, nullptr) << vips_error_buffer();
  std::atomic<int> failures{0};
  std::mutex mutex;
  std::string first_failure;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      VipsRegion* region = vips_region_new(image);
      std::mt19937 rng(99u + unsigned(t));
      for (int i = 0; i < 8 && region; ++i) {
        VipsRect r;
        r.width = 1 + int(rng() % 160);
        r.height = 1 + int(rng() % 160);
        r.left = int(rng() % unsigned(448 - r.width + 1));
        r.top = int(rng() % unsigned(320 - r.height + 1));
        std::string what;
        if (vips_region_prepare(region, &r)) {
          what = std::string("prepare failed: ") + vips_error_buffer();
        } else {
          for (int y = 0; y < r.height && what.empty(); ++y)
            if (memcmp(VIPS_REGION_ADDR(region, r.left, r.top + y),
                       one.data.data() + (size_t(r.top + y) * 448 + r.left) * 3, size_t(r.width) * 3))
              what = "pixels differ";
        }
        if (!what.empty() && failures++ == 0) {
          std::lock_guard<std::mutex> lock(mutex);
          first_failure = "thread " + std::to_string(t) + ", " + std::to_string(r.width) + "x" +
                          std::to_string(r.height) + " at (" + std::to_string(r.left) + ", " +
                          std::to_string(r.top) + "): " + what;
        }
      }
      if (!region) ++failures;
      else g_object_unref(region);
      vips_thread_shutdown();
    });
  for (std::thread& thread : threads) thread.join();
  g_object_unref(image);
  EXPECT_EQ(failures.load(), 0) << first_failure;
}

}  // namespace
