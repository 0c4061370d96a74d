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
#include <type_traits>
#include <utility>
#include <vector>

namespace msic {

// Sanitizer builds hand every buffer to the heap, exactly sized, so that
// AddressSanitizer sees a read past a plane's end or after its release.
#if defined(__SANITIZE_ADDRESS__)
#define MSIC_POOL_BUFFERS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MSIC_POOL_BUFFERS 0
#endif
#endif
#ifndef MSIC_POOL_BUFFERS
#define MSIC_POOL_BUFFERS 1
#endif

class BufferPool {
 public:
  struct Header;  // (buffer_pool.cpp)
  static constexpr bool kPooling = MSIC_POOL_BUFFERS;
  // Buffers below this come from the heap (glibc keeps those cheaply).
  static constexpr size_t kSmallest = size_t(256) << 10;
  // What a pool keeps at most while its tiles run (about eight 512-px
  // tiles' working sets), and once none runs: enough for the next image
  // on a few threads, little for a host that sits idle.
  static constexpr size_t kDefaultRetain = size_t(256) << 20;
  static constexpr size_t kIdleRetain = size_t(64) << 20;

  // A pool and its owner's reference to it; the destructor hands the kept
  // buffers back to the heap (buffers still in use go there when dropped).
  // It must outlive every Use of its pool.
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

  // Makes `pool` the one this thread allocates from, until destroyed. When
  // the last Use of a pool ends, it keeps no more than kIdleRetain.
  class Use {
   public:
    explicit Use(BufferPool *pool);
    ~Use();
    Use(const Use &) = delete;
    Use &operator=(const Use &) = delete;

   private:
    BufferPool *pool_, *previous_;
  };

  // The pool this thread allocates from (nullptr: the heap).
  static BufferPool *current();

  // 64-byte aligned, uninitialised; free with deallocate().
  static void *allocate(size_t bytes);
  static void deallocate(void *p) noexcept;

  // What it keeps at most while its tiles run from now on (the oldest go
  // first if it holds more); once idle, the smaller of this and
  // kIdleRetain.
  void set_retain(size_t bytes);
  // Bytes kept for reuse now, and how many buffers were handed out again.
  size_t retained_bytes() const;
  uint64_t reuses() const;
  // Tests: every buffer allocated under a Use of this pool, small ones
  // too, starts with this 32-bit pattern in every 4 bytes (0: off), so
  // that a kernel reading what it did not write changes the output.
  void set_poison(uint32_t pattern) { poison_ = pattern; }

 private:
  struct Kept {
    Header *block;
    uint64_t last_use;
  };
  explicit BufferPool(size_t retain) : retain_(retain) {}
  Header *take(size_t capacity);
  void give_back(Header *block) noexcept;
  // With mutex_ held: moves the kept buffers dropped the longest ago onto
  // `freed` (to be freed once unlocked) until at most `limit` is kept.
  void evict_to(size_t limit, Header *&freed) noexcept;
  static void free_all(Header *freed) noexcept;
  void close() noexcept;
  void unref() noexcept;

  mutable std::mutex mutex_;
  size_t retain_;
  std::vector<Kept> kept_;
  size_t kept_bytes_ = 0;
  uint64_t clock_ = 0, reuses_ = 0;
  bool closed_ = false;
  std::atomic<int> active_{0};  // Uses in force
  std::atomic<uint32_t> poison_{0};
  std::atomic<size_t> refs_{1};  // the owner's, and one per buffer in use
};

// The allocator of planes, the engine's scratch and the coders' large
// buffers: from the running thread's pool, new elements left
// uninitialised: every plane a kernel makes is written whole before it is
// read, and zero-filling fresh planes was a fifth of a tile's decode.
// (Values given explicitly, as in assign(n, 0.0f), are still written.)
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
    static_assert(std::is_trivially_default_constructible_v<U>, "left uninitialised: numbers only");
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
