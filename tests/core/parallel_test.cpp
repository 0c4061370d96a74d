// parallel_for on the process's worker pool (parallel.cpp): every item once,
// loops inside loops, errors, the threads it shares, and a forked child.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "parallel.h"

namespace {
// Runs a loop whose items each wait (a while at most) until `want` threads
// have taken one: the loop must have had that many.
std::set<std::thread::id> threads_of_a_loop(size_t items, int threads, size_t want) {
  std::mutex mutex;
  std::condition_variable more;
  std::set<std::thread::id> seen;
  msic::parallel_for(items, threads, [&](size_t) {
    std::unique_lock<std::mutex> lock(mutex);
    seen.insert(std::this_thread::get_id());
    more.notify_all();
    more.wait_for(lock, std::chrono::seconds(20), [&] { return seen.size() >= want; });
  });
  return seen;
}
}  // namespace

TEST(Parallel, EveryItemOnceLoopAfterLoop) {
  for (int round = 0; round < 200; ++round) {
    const size_t n = 1 + size_t(round % 37);
    std::vector<std::atomic<int>> runs(n);
    msic::parallel_for(n, 1 + round % 5, [&](size_t i) { runs[i].fetch_add(1); });
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(runs[i].load(), 1) << "round " << round << " item " << i;
  }
}

TEST(Parallel, TheThreadsAskedForRunTheItems) {
  EXPECT_EQ(threads_of_a_loop(4, 4, 4).size(), 4u);
  // Again: the pooled threads are reused, and still four take part.
  EXPECT_EQ(threads_of_a_loop(8, 4, 4).size(), 4u);
}

TEST(Parallel, LoopsInsideLoopsFinish) {
  // Tiles whose convolutions split again, as a multi-tile decode does.
  std::atomic<int> inner{0};
  msic::ThreadShare share(3, 4);
  msic::parallel_for(3, 4, [&](size_t) {
    for (int conv = 0; conv < 20; ++conv)
      msic::parallel_for(6, share.for_one_item(), [&](size_t) { inner.fetch_add(1); });
  }, &share);
  EXPECT_EQ(inner.load(), 3 * 20 * 6);
}

TEST(Parallel, AnErrorReachesTheCallerAndTheNextLoopRuns) {
  std::atomic<int> ran{0};
  EXPECT_THROW(msic::parallel_for(50, 3, [&](size_t i) {
                 ran.fetch_add(1);
                 if (i == 7) throw std::runtime_error("item 7");
               }),
               std::runtime_error);
  EXPECT_LE(ran.load(), 50);
  std::atomic<int> after{0};
  msic::parallel_for(10, 3, [&](size_t) { after.fetch_add(1); });
  EXPECT_EQ(after.load(), 10);
}

TEST(Parallel, WorkersThatRunOutGiveTheirThreadsToTheRest) {
  // Two items on two threads: once the short one is done, the long one
  // may use both.
  msic::ThreadShare share(2, 2);
  std::atomic<int> seen_by_long{0};
  std::atomic<bool> short_done{false};
  msic::parallel_for(2, 2, [&](size_t i) {
    if (i == 1) {
      short_done = true;
      return;
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (share.for_one_item() < 2 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    seen_by_long = share.for_one_item();
  }, &share);
  EXPECT_EQ(seen_by_long.load(), 2);
}

TEST(Parallel, AForkedChildRunsLoops) {
  threads_of_a_loop(4, 4, 4);  // the parent has pooled threads
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(60);  // a hang fails the test instead of stalling it
    std::atomic<int> runs{0};
    msic::parallel_for(100, 4, [&](size_t) { runs.fetch_add(1); });
    _exit(runs.load() == 100 && threads_of_a_loop(4, 4, 4).size() == 4 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
}
