// The working-buffer pool: what a context's tiles drop is handed to the
// next tiles, within its limits, on the threads parallel_for starts; and no
// kernel reads what it did not write (buffers filled with two different
// patterns code the same bytes and pixels).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "buffer_pool.h"
#include "model_file.h"
#include "parallel.h"
#include "tile_codec.h"

namespace {
using msic::BufferPool;

constexpr size_t kLarge = BufferPool::kSmallest * 2;

#define SKIP_UNLESS_POOLING() \
  if (!BufferPool::kPooling) GTEST_SKIP() << "sanitizer build: every buffer comes from the heap"

TEST(BufferPool, ADroppedBufferIsHandedOutAgain) {
  SKIP_UNLESS_POOLING();
  BufferPool::Owner owner;
  BufferPool::Use use(owner.get());
  void *first = BufferPool::allocate(kLarge);
  std::memset(first, 1, kLarge);
  BufferPool::deallocate(first);
  EXPECT_GE(owner.get()->retained_bytes(), kLarge);
  void *second = BufferPool::allocate(kLarge - 100);  // same size class
  EXPECT_EQ(second, first);
  EXPECT_EQ(owner.get()->reuses(), 1u);
  EXPECT_EQ(owner.get()->retained_bytes(), 0u);
  BufferPool::deallocate(second);
}

TEST(BufferPool, SmallBuffersAndThreadsWithoutAPoolUseTheHeap) {
  BufferPool::Owner owner;
  {
    BufferPool::Use use(owner.get());
    void *small = BufferPool::allocate(BufferPool::kSmallest / 2);
    BufferPool::deallocate(small);
  }
  void *unpooled = BufferPool::allocate(kLarge);  // no Use here
  BufferPool::deallocate(unpooled);
  EXPECT_EQ(owner.get()->retained_bytes(), 0u);
  EXPECT_EQ(BufferPool::current(), nullptr);
}

TEST(BufferPool, KeepsNoMoreThanItsLimitAndTheLatestFirst) {
  SKIP_UNLESS_POOLING();
  BufferPool::Owner owner(3 * kLarge);
  BufferPool::Use use(owner.get());
  std::vector<void *> blocks;
  for (int i = 0; i < 5; ++i) blocks.push_back(BufferPool::allocate(kLarge));
  for (void *b : blocks) BufferPool::deallocate(b);
  EXPECT_LE(owner.get()->retained_bytes(), 3 * kLarge);
  EXPECT_GT(owner.get()->retained_bytes(), 2 * kLarge);
  // The last one dropped is among those kept.
  void *again = BufferPool::allocate(kLarge);
  EXPECT_EQ(owner.get()->reuses(), 1u);
  EXPECT_NE(std::find(blocks.begin() + 2, blocks.end(), again), blocks.end());
  BufferPool::deallocate(again);
  owner.get()->set_retain(kLarge);  // a context's memory limit lowered
  EXPECT_LE(owner.get()->retained_bytes(), kLarge);
}

TEST(BufferPool, KeepsLessOnceNoTileRuns) {
  SKIP_UNLESS_POOLING();
  BufferPool::Owner owner;
  const size_t big = BufferPool::kIdleRetain / 2;
  {
    BufferPool::Use use(owner.get());
    std::vector<void *> blocks;
    for (int i = 0; i < 4; ++i) blocks.push_back(BufferPool::allocate(big));
    for (void *b : blocks) BufferPool::deallocate(b);
    EXPECT_GT(owner.get()->retained_bytes(), BufferPool::kIdleRetain);  // while in use
  }
  EXPECT_LE(owner.get()->retained_bytes(), BufferPool::kIdleRetain);
  EXPECT_GT(owner.get()->retained_bytes(), 0u);
}

TEST(BufferPool, ALargeBufferDoesNotServeAMuchSmallerRequest) {
  SKIP_UNLESS_POOLING();
  BufferPool::Owner owner;
  BufferPool::Use use(owner.get());
  void *big = BufferPool::allocate(8 * kLarge);
  BufferPool::deallocate(big);
  void *small = BufferPool::allocate(kLarge);
  EXPECT_NE(small, big);
  BufferPool::deallocate(small);
  EXPECT_EQ(owner.get()->reuses(), 0u);
}

TEST(BufferPool, BuffersMayOutliveTheirPoolsOwner) {
  void *kept;
  {
    BufferPool::Owner owner;
    BufferPool::Use use(owner.get());
    kept = BufferPool::allocate(kLarge);
  }
  std::memset(kept, 2, kLarge);  // still ours (sanitizer builds check it)
  BufferPool::deallocate(kept);  // goes to the heap, and the pool with it
}

TEST(BufferPool, ParallelForWorkersUseTheCallersPool) {
  BufferPool::Owner owner;
  BufferPool::Use use(owner.get());
  std::vector<BufferPool *> seen(8, nullptr);
  std::mutex mutex;
  std::condition_variable more;
  std::set<std::thread::id> threads;
  msic::parallel_for(8, 4, [&](size_t i) {
    seen[i] = BufferPool::current();
    // Each item waits (a while at most) until a second thread has taken
    // one: a worker, not the caller alone, must have run.
    std::unique_lock<std::mutex> lock(mutex);
    threads.insert(std::this_thread::get_id());
    more.notify_all();
    more.wait_for(lock, std::chrono::seconds(20), [&] { return threads.size() > 1; });
  });
  for (BufferPool *p : seen) EXPECT_EQ(p, owner.get());
  EXPECT_GT(threads.size(), 1u) << "no worker thread ran";
}

TEST(BufferPool, NoKernelReadsWhatItDidNotWrite) {
  const msic::TileCodec codec(msic::ModelFile::load(MSIC_DEFAULT_MODEL_FILE));
  // Two tile sizes in turn, so that buffers are reused across shapes.
  auto code = [&] {
    std::vector<uint8_t> all;
    for (int size : {256, 192, 256}) {
      std::vector<uint8_t> pixels(size_t(size) * size * 3);
      for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t((i * 7 + i / 291 * 13) % 251);
      const msic::TileImage tile{pixels.data(), size_t(size) * 3, uint32_t(size), uint32_t(size), 3};
      for (int effort : {1, 3}) {  // effort 3 decodes inside the encoder
        std::vector<uint8_t> payload = codec.encode(tile, 5000, effort);
        std::vector<uint8_t> out(pixels.size());
        codec.decode(payload, uint32_t(size), uint32_t(size), 3, 5000, out.data(), size_t(size) * 3);
        all.insert(all.end(), payload.begin(), payload.end());
        all.insert(all.end(), out.begin(), out.end());
      }
    }
    return all;
  };
  const std::vector<uint8_t> heap = code();
  // Patterns that stay finite and large through ReLU and clamps (a NaN
  // or zero would not show where it was read).
  for (uint32_t pattern : {0x4b000000u, 0xcb7f0000u}) {
    BufferPool::Owner owner;
    owner.get()->set_poison(pattern);
    BufferPool::Use use(owner.get());
    EXPECT_EQ(code(), heap) << std::hex << pattern;
    if (BufferPool::kPooling)
      EXPECT_GT(owner.get()->reuses(), 0u) << "the tiles reused nothing: the test proves less than it claims";
  }
}

}  // namespace
