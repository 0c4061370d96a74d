// Many threads on one multi-tile file through the C API: random windows,
// single tiles and tile batches, on one shared reader and on a reader per
// thread (memory, file and callback readers), must give exactly the pixels
// of a single-threaded decode. Run under TSan by tools/sanitize.sh.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace {

constexpr int kThreads = 16;
constexpr int kOpsPerThread = 6;
constexpr uint32_t kTile = 64;

struct Context {
  msic_context *ctx;
  explicit Context(int threads) : ctx(msic_context_create(nullptr)) {
    if (!ctx) ADD_FAILURE() << msic_last_error();
    msic_context_set_threads(ctx, threads);
  }
  ~Context() { msic_context_destroy(ctx); }
};

// The file every test reads (6 x 4 tiles of 64 px, the last column and row
// partial) and its single-threaded decode.
struct Fixture {
  test::Image image;
  std::vector<uint8_t> file;
  std::vector<uint8_t> reference;
};

const Fixture &fixture() {
  static const Fixture f = [] {
    Fixture f;
    f.image = test::crop(test::kodim23(), 200, 100, 350, 230);
    Context one(1);
    f.file = test::encode(one.ctx, f.image, 50, kTile, 1);
    f.reference = test::decode(one.ctx, f.file);
    return f;
  }();
  return f;
}

// Collects the first mismatch of any thread, for the main thread to report.
struct Failures {
  std::atomic<int> count{0};
  std::mutex mutex;
  std::string first;
  void add(const std::string &what) {
    if (count++ == 0) {
      std::lock_guard<std::mutex> lock(mutex);
      first = what;
    }
  }
};

// Compares a w x h block (rows `stride` apart) with the reference at (x, y).
bool same_as_reference(const uint8_t *px, size_t stride, uint32_t x, uint32_t y, uint32_t w, uint32_t h) {
  const Fixture &f = fixture();
  for (uint32_t r = 0; r < h; ++r)
    if (memcmp(px + r * stride, f.reference.data() + (size_t(y + r) * f.image.width + x) * 3, size_t(w) * 3))
      return false;
  return true;
}

// kOpsPerThread random requests on reader r: windows (decode_region), single
// tiles (decode_tile) and batches of three tiles (decode_tiles). Returns the
// number of tile decodes the requests needed.
uint64_t random_requests(msic_reader *r, int thread, Failures &failures) {
  const Fixture &f = fixture();
  const uint32_t W = f.image.width, H = f.image.height;
  const uint32_t across = (W + kTile - 1) / kTile, down = (H + kTile - 1) / kTile;
  std::mt19937 rng(1234u + unsigned(thread));
  uint64_t tiles = 0;
  for (int op = 0; op < kOpsPerThread; ++op) {
    const std::string where = "thread " + std::to_string(thread) + ", request " + std::to_string(op) + ": ";
    switch ((thread + op) % 4) {
      case 0:
      case 1: {
        uint32_t w = 1 + rng() % 150, h = 1 + rng() % 150;
        uint32_t x = rng() % (W - w + 1), y = rng() % (H - h + 1);
        std::vector<uint8_t> win(size_t(w) * h * 3);
        msic_status s = msic_reader_decode_region(r, x, y, w, h, win.data(), size_t(w) * 3);
        char desc[96];
        snprintf(desc, sizeof desc, "window %ux%u at (%u, %u)", w, h, x, y);
        if (s != MSIC_OK)
          failures.add(where + desc + ": " + msic_last_error());
        else if (!same_as_reference(win.data(), size_t(w) * 3, x, y, w, h))
          failures.add(where + desc + " differs from the single-threaded decode");
        tiles += uint64_t((x + w - 1) / kTile - x / kTile + 1) * ((y + h - 1) / kTile - y / kTile + 1);
        break;
      }
      case 2: {
        uint32_t tx = rng() % across, ty = rng() % down;
        uint32_t tw = std::min(kTile, W - tx * kTile), th = std::min(kTile, H - ty * kTile);
        std::vector<uint8_t> tile(kTile * kTile * 3);
        msic_status s = msic_reader_decode_tile(r, tx, ty, tile.data(), kTile * 3);
        const std::string desc = "tile (" + std::to_string(tx) + ", " + std::to_string(ty) + ")";
        if (s != MSIC_OK)
          failures.add(where + desc + ": " + msic_last_error());
        else if (!same_as_reference(tile.data(), kTile * 3, tx * kTile, ty * kTile, tw, th))
          failures.add(where + desc + " differs from the single-threaded decode");
        tiles += 1;
        break;
      }
      default: {
        uint32_t tx[3], ty[3];
        std::vector<std::vector<uint8_t>> bufs(3, std::vector<uint8_t>(kTile * kTile * 3));
        uint8_t *out[3];
        for (int i = 0; i < 3; ++i) {
          tx[i] = rng() % across;
          ty[i] = rng() % down;
          out[i] = bufs[i].data();
        }
        msic_status s = msic_reader_decode_tiles(r, 3, tx, ty, out, kTile * 3, 2);
        if (s != MSIC_OK) {
          failures.add(where + "batch: " + msic_last_error());
        } else {
          for (int i = 0; i < 3; ++i)
            if (!same_as_reference(out[i], kTile * 3, tx[i] * kTile, ty[i] * kTile, std::min(kTile, W - tx[i] * kTile),
                                   std::min(kTile, H - ty[i] * kTile)))
              failures.add(where + "batch tile (" + std::to_string(tx[i]) + ", " + std::to_string(ty[i]) +
                           ") differs from the single-threaded decode");
        }
        tiles += 3;
        break;
      }
    }
  }
  return tiles;
}

size_t read_from_buffer(void *user, uint64_t offset, void *buf, size_t size) {
  const auto *file = static_cast<const std::vector<uint8_t> *>(user);
  if (offset >= file->size()) return 0;
  size = std::min<size_t>(size, file->size() - offset);
  memcpy(buf, file->data() + offset, size);
  return size;
}

}  // namespace

TEST(Concurrency, SharedReaderGivesTheSingleThreadedPixels) {
  const Fixture &f = fixture();
  ASSERT_EQ(f.reference.size(), f.image.pixels.size());
  // A fresh context: the threads also race to load its codec. Two threads
  // per request, so windows and batches decode in parallel inside too.
  Context c(2);
  msic_reader *r = msic_reader_open_memory(c.ctx, f.file.data(), f.file.size());
  ASSERT_NE(r, nullptr) << msic_last_error();
  Failures failures;
  std::atomic<uint64_t> tiles{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back([&, t] { tiles += random_requests(r, t, failures); });
  for (std::thread &t : threads) t.join();
  EXPECT_EQ(failures.count.load(), 0) << failures.first;
  // The reader's counter saw every tile decode of every thread.
  EXPECT_EQ(msic_reader_tiles_decoded(r), tiles.load());
  msic_reader_close(r);
}

TEST(Concurrency, ReaderPerThreadGivesTheSingleThreadedPixels) {
  const Fixture &f = fixture();
  ASSERT_EQ(f.reference.size(), f.image.pixels.size());
  const std::string path = test::temp_dir() + "/concurrency.msic";
  FILE *out = fopen(path.c_str(), "wb");
  ASSERT_NE(out, nullptr);
  ASSERT_EQ(fwrite(f.file.data(), 1, f.file.size(), out), f.file.size());
  ASSERT_EQ(fclose(out), 0);

  Context c(1);
  Failures failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      // Every kind of reader; every fourth thread on the process-wide
      // context of the embedded model instead of c.
      msic_context *ctx = t % 4 == 3 ? nullptr : c.ctx;
      msic_reader *r = t % 3 == 0   ? msic_reader_open_memory(ctx, f.file.data(), f.file.size())
                       : t % 3 == 1 ? msic_reader_open_file(ctx, path.c_str())
                                    : msic_reader_open_callbacks(ctx, read_from_buffer, f.file.size(),
                                                                 const_cast<std::vector<uint8_t> *>(&f.file));
      if (!r) {
        failures.add("thread " + std::to_string(t) + ": open: " + msic_last_error());
        return;
      }
      const uint64_t tiles = random_requests(r, t, failures);
      if (msic_reader_tiles_decoded(r) != tiles)
        failures.add("thread " + std::to_string(t) + ": " + std::to_string(msic_reader_tiles_decoded(r)) +
                     " tiles decoded, " + std::to_string(tiles) + " expected");
      msic_reader_close(r);
    });
  for (std::thread &t : threads) t.join();
  EXPECT_EQ(failures.count.load(), 0) << failures.first;
}
