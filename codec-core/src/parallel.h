// Runs fn(0..n-1) on up to `threads` threads, each allocating from the
// caller's buffer pool; rethrows the first exception. Items can use threads
// of their own inside (ThreadShare). The threads beside the caller's come
// from a pool the process keeps (parallel.cpp): starting a thread cost
// 50-170 us on this project's machines, and a tile's decode on two cores
// splits some fifty convolutions.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>

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

namespace detail {
// item(context, i) for every i < n, on the calling thread and up to
// `helpers` pooled threads; each participant calls share->worker_done()
// once it finds no item left (as does each helper's place nobody took).
void run_parallel(size_t n, int helpers, void (*item)(void *, size_t), void *context, ThreadShare *share);
}  // namespace detail

template <class Fn>
void parallel_for(size_t n, int threads, Fn fn, ThreadShare *share = nullptr) {
  const size_t workers = std::min<size_t>(n, size_t(std::max(1, threads)));
  if (workers <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  detail::run_parallel(
      n, int(workers) - 1, [](void *f, size_t i) { (*static_cast<Fn *>(f))(i); }, &fn, share);
}

}  // namespace msic
