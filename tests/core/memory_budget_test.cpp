// The decoder's memory budget: decodes wait for their share, a tile that
// alone needs more than the limit is refused, and the C API applies it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "api/memory_budget.h"
#include "errors.h"
#include "test_support.h"

using msic::MemoryBudget;

TEST(MemoryBudget, ASecondHoldWaitsUntilTheFirstIsGivenBack) {
  MemoryBudget budget;
  budget.set_limit(100);
  std::atomic<bool> second_held{false};
  std::thread other;
  {
    MemoryBudget::Hold first = budget.reserve(60, "first");
    other = std::thread([&] {
      MemoryBudget::Hold second = budget.reserve(60, "second");
      second_held = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(second_held) << "60 + 60 bytes held under a limit of 100";
  }
  other.join();
  EXPECT_TRUE(second_held);
  MemoryBudget::Hold a = budget.reserve(50, "a"), b = budget.reserve(50, "b");  // both fit
}

TEST(MemoryBudget, MoreThanTheLimitAloneIsRefusedNotAwaited) {
  MemoryBudget budget;
  budget.set_limit(100);
  try {
    budget.reserve(101, "a 64 x 64 tile");
    FAIL() << "no error";
  } catch (const msic::Error &e) {
    EXPECT_EQ(e.status(), MSIC_ERR_LIMIT);
    EXPECT_NE(std::string(e.what()).find("a 64 x 64 tile"), std::string::npos) << e.what();
  }
  // Lowering the limit wakes a waiter that can never fit.
  MemoryBudget::Hold first = budget.reserve(80, "first");
  std::atomic<int> status{-1};
  std::thread waiter([&] {
    try {
      budget.reserve(60, "waiter");
      status = MSIC_OK;
    } catch (const msic::Error &e) {
      status = e.status();
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  budget.set_limit(50);
  waiter.join();
  EXPECT_EQ(status, MSIC_ERR_LIMIT);
  budget.set_limit(0);  // no limit
  MemoryBudget::Hold big = budget.reserve(uint64_t(1) << 50, "big");
}

TEST(MemoryBudget, TheReaderAppliesTheContextsLimit) {
  test::Image im{200, 150, 3, std::vector<uint8_t>(200 * 150 * 3)};
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = uint8_t((i * 13) & 255);
  std::vector<uint8_t> file = test::encode(nullptr, im, 60, 64);
  msic_context *ctx = nullptr;
  ASSERT_EQ(msic_context_new(nullptr, &ctx), MSIC_OK) << msic_last_error();
  msic_reader *r = nullptr;
  ASSERT_EQ(msic_reader_new_memory(ctx, file.data(), file.size(), &r), MSIC_OK) << msic_last_error();
  std::vector<uint8_t> whole(im.pixels.size()), limited(im.pixels.size());
  ASSERT_EQ(msic_reader_decode_region(r, 0, 0, 200, 150, whole.data(), 200 * 3), MSIC_OK) << msic_last_error();

  ASSERT_EQ(msic_context_set_memory_limit(ctx, 4096), MSIC_OK);
  EXPECT_EQ(msic_reader_decode_region(r, 0, 0, 200, 150, limited.data(), 200 * 3), MSIC_ERR_LIMIT);
  EXPECT_NE(std::string(msic_last_error()).find("64 x 64 tile"), std::string::npos) << msic_last_error();

  // Room for about one 64-px tile at a time: 12 tiles on 4 threads take
  // turns and give the same pixels.
  ASSERT_EQ(msic_context_set_memory_limit(ctx, 64 * 64 * 300), MSIC_OK);
  msic_context_set_threads(ctx, 4);
  EXPECT_EQ(msic_reader_decode_region(r, 0, 0, 200, 150, limited.data(), 200 * 3), MSIC_OK) << msic_last_error();
  EXPECT_EQ(limited, whole);
  msic_reader_close(r);
  msic_context_destroy(ctx);
}

TEST(MemoryBudget, TheEnvironmentSetsTheDefault) {
  setenv("MSIC_MEMORY_LIMIT", "3", 1);
  EXPECT_EQ(MemoryBudget().limit(), uint64_t(3) << 20);
  setenv("MSIC_MEMORY_LIMIT", "0", 1);
  EXPECT_EQ(MemoryBudget().limit(), 0u);
  setenv("MSIC_MEMORY_LIMIT", "2GB", 1);  // not megabytes: ignored
  EXPECT_EQ(MemoryBudget().limit(), MemoryBudget::kDefaultLimit);
  unsetenv("MSIC_MEMORY_LIMIT");
  EXPECT_EQ(MemoryBudget().limit(), MemoryBudget::kDefaultLimit);
}
