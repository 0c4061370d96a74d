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
// The threads that run a loop's items; each waits in arrive() (a while at
// most) until `want` of them have taken one: the loop must have had that
// many.
struct Rendezvous {
  std::mutex mutex;
  std::condition_variable more;
  std::set<std::thread::id> seen;

  void arrive(size_t want) {
    std::unique_lock<std::mutex> lock(mutex);
    seen.insert(std::this_thread::get_id());
    more.notify_all();
    more.wait_for(lock, std::chrono::seconds(20), [&] { return seen.size() >= want; });
  }
};

std::set<std::thread::id> threads_of_a_loop(size_t items, int threads, size_t want) {
  Rendezvous threads_seen;
  msic::parallel_for(items, threads, [&](size_t) { threads_seen.arrive(want); });
  return threads_seen.seen;
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
  alarm(120);  // a loop that never ends fails the run at once, not at ctest's timeout
  std::atomic<int> inner{0};
  msic::ThreadShare share(3, 4);
  msic::parallel_for(3, 4, [&](size_t) {
    for (int conv = 0; conv < 20; ++conv)
      msic::parallel_for(6, share.for_one_item(), [&](size_t) { inner.fetch_add(1); });
  }, &share);
  alarm(0);
  EXPECT_EQ(inner.load(), 3 * 20 * 6);
}

TEST(Parallel, AnErrorReachesTheCallerAndTheNextLoopRuns) {
  // Thrown on a helper: every item waits until two threads have taken one,
  // then the items not on the caller's thread throw.
  const std::thread::id caller = std::this_thread::get_id();
  Rendezvous threads_seen;
  try {
    msic::parallel_for(4, 2, [&](size_t) {
      threads_seen.arrive(2);
      if (std::this_thread::get_id() != caller) throw std::runtime_error("from a helper");
    });
    ADD_FAILURE() << "no error reached the caller";
  } catch (const std::runtime_error &e) {
    EXPECT_STREQ(e.what(), "from a helper");
  }
  EXPECT_EQ(threads_seen.seen.size(), 2u);
  std::atomic<int> after{0};
  msic::parallel_for(10, 3, [&](size_t) { after.fetch_add(1); });
  EXPECT_EQ(after.load(), 10);
}

TEST(Parallel, WorkersThatRunOutGiveTheirThreadsToTheRest) {
  // Two items on two threads: once the short one is done, the long one
  // may use both.
  msic::ThreadShare share(2, 2);
  std::atomic<int> seen_by_long{0};
  msic::parallel_for(2, 2, [&](size_t i) {
    if (i == 1) return;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (share.for_one_item() < 2 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    seen_by_long = share.for_one_item();
  }, &share);
  EXPECT_EQ(seen_by_long.load(), 2);
}

TEST(Parallel, AForkedChildRunsLoops) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer ends a forked child of a threaded process that starts threads";
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
  GTEST_SKIP() << "ThreadSanitizer ends a forked child of a threaded process that starts threads";
#endif
#endif
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
