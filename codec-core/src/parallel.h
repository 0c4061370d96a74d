// Runs fn(0..n-1) on up to `threads` threads, each allocating from the
// caller's buffer pool; rethrows the first exception. Items can use threads
// of their own inside (ThreadShare).
#pragma once
#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "buffer_pool.h"

namespace msic {

// Threads each item of a parallel_for may use inside itself: the threads
// the loop leaves idle when there are fewer items than threads (a one-tile
// read on four cores gives its tile all four), and, as workers run out of
// items, theirs (two tiles of unequal size on two cores: the larger one
// gets both once the smaller is done).
class ThreadShare {
 public:
  ThreadShare(size_t items, int threads)
      : total_(std::max(1, threads)),
        per_item_(items == 0 || items >= size_t(total_) ? 1 : std::max(1, total_ / int(items))) {}
  int for_one_item() const { return std::min(total_, per_item_ + idle_.load(std::memory_order_relaxed)); }
  void worker_done() { idle_.fetch_add(1, std::memory_order_relaxed); }

 private:
  const int total_, per_item_;
  std::atomic<int> idle_{0};
};

template <class Fn>
void parallel_for(size_t n, int threads, Fn fn, ThreadShare *share = nullptr) {
  size_t workers = std::min<size_t>(n, size_t(std::max(1, threads)));
  if (workers <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  BufferPool *const buffer_pool = BufferPool::current();
  auto work = [&] {
    BufferPool::Use buffers(buffer_pool);
    for (size_t i; (i = next++) < n;) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = n;
      }
    }
    if (share) share->worker_done();
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (auto &t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace msic
