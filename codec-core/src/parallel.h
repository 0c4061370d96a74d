// Runs fn(0..n-1) on up to `threads` threads; rethrows the first exception.
#pragma once
#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace msic {

template <class Fn>
void parallel_for(size_t n, int threads, Fn fn) {
  size_t workers = std::min<size_t>(n, size_t(std::max(1, threads)));
  if (workers <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (size_t i; (i = next++) < n;) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = n;
      }
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (auto &t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

// Threads each of `items` parallel items may use inside itself: the
// threads parallel_for leaves idle when there are fewer items than threads
// (a one-tile read on four cores gives its tile all four).
inline int threads_per_item(size_t items, int threads) {
  return items == 0 || items >= size_t(std::max(1, threads)) ? 1 : std::max(1, threads / int(items));
}

}  // namespace msic
