// Working buffers kept for reuse. A tile's decode makes and drops planes of
// a few megabytes each; from the C library's heap they come back as fresh
// pages from the kernel (page faults and zero-filling were a fifth of a
// decode), every tile, every image. A context keeps the buffers its tiles
// dropped and hands them to the next tiles, on any thread, across calls.
//
// Planes (planes.h) and the coders' large buffers allocate through here
// (PoolAllocator): from the pool that the running thread uses
// (BufferPool::Use, set where a context codes a tile and passed on by
// parallel_for), or from the heap where none is set (the trainer, tests).
// A buffer remembers its pool, so it may outlive the Use that made it and
// even the pool's owner.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace msic {

class BufferPool {
 public:
  // Buffers below this come from the heap (glibc keeps those cheaply).
  static constexpr size_t kSmallest = size_t(256) << 10;
  // What a pool keeps at most while nothing uses it: a few 512-px tile
  // decodes' working sets.
  static constexpr size_t kDefaultRetain = size_t(256) << 20;

  // A pool and its owner's reference to it; the destructor hands the kept
  // buffers back to the heap (buffers still in use go there when dropped).
  class Owner {
   public:
    explicit Owner(size_t retain = kDefaultRetain);
    ~Owner();
    Owner(const Owner &) = delete;
    Owner &operator=(const Owner &) = delete;
    BufferPool *get() const { return pool_; }

   private:
    BufferPool *pool_;
  };

  // Makes `pool` the one this thread allocates from, until destroyed.
  class Use {
   public:
    explicit Use(BufferPool *pool);
    ~Use();
    Use(const Use &) = delete;
    Use &operator=(const Use &) = delete;

   private:
    BufferPool *previous_;
  };

  // The pool this thread allocates from (nullptr: the heap).
  static BufferPool *current();

  // 64-byte aligned, uninitialised; free with deallocate().
  static void *allocate(size_t bytes);
  static void deallocate(void *p) noexcept;

  // What it keeps at most from now on (the oldest go first if it holds
  // more).
  void set_retain(size_t bytes);
  // Bytes kept for reuse now, and how many buffers were handed out again.
  size_t retained_bytes() const;
  uint64_t reuses() const;
  // Fill every buffer handed out with NaN (tests: nothing may read what
  // it did not write).
  void set_poison(bool poison) { poison_ = poison; }

 private:
  struct Kept {
    void *block;
    size_t capacity;
    uint64_t last_use;
  };
  explicit BufferPool(size_t retain) : retain_(retain) {}
  void *take(size_t capacity);
  void give_back(void *block, size_t capacity) noexcept;
  // With mutex_ held: frees the kept buffer dropped the longest ago (there
  // is one) and returns its size; frees those until within retain_.
  size_t evict_oldest() noexcept;
  void evict_to_limit() noexcept;
  void close() noexcept;
  void unref() noexcept;

  size_t retain_;
  mutable std::mutex mutex_;
  std::vector<Kept> kept_;
  size_t kept_bytes_ = 0;
  uint64_t clock_ = 0, reuses_ = 0;
  bool closed_ = false;
  std::atomic<bool> poison_{false};
  std::atomic<size_t> refs_{1};  // the owner's, and one per buffer in use
};

// The allocator of planes, the engine's scratch and the coders' large
// buffers: from the running thread's pool, 64-byte aligned, and new
// elements left uninitialised: every plane a kernel makes is written whole
// before it is read, and zero-filling fresh planes was a fifth of a tile's
// decode. (Values given explicitly, as in assign(n, 0.0f), are still
// written.)
template <class T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U> &) noexcept {}
  T *allocate(size_t n) {
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_alloc();
    return static_cast<T *>(BufferPool::allocate(n * sizeof(T)));
  }
  void deallocate(T *p, size_t) noexcept { BufferPool::deallocate(p); }
  template <class U>
  void construct(U *p) noexcept {
    ::new (static_cast<void *>(p)) U;
  }
  template <class U, class... Args>
  void construct(U *p, Args &&...args) {
    ::new (static_cast<void *>(p)) U(std::forward<Args>(args)...);
  }
  // Every buffer knows its pool: any allocator frees any buffer.
  template <class U>
  bool operator==(const PoolAllocator<U> &) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const PoolAllocator<U> &) const noexcept {
    return false;
  }
};

template <class T>
using PooledVector = std::vector<T, PoolAllocator<T>>;

}  // namespace msic
