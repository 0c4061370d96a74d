#include "buffer_pool.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace msic {

// Every buffer starts with this, just before what the caller gets: the
// pool it goes back to (nullptr: the heap), its size, the block malloc
// gave; `next` links buffers to be freed once the pool's lock is released.
struct alignas(64) BufferPool::Header {
  BufferPool *pool;
  size_t capacity;  // bytes, header included
  Header *next;
  void *base;
};

namespace {

thread_local BufferPool *current_pool = nullptr;

constexpr size_t kGranule = size_t(64) << 10;  // pooled sizes are multiples of this (and a header)
constexpr size_t kAlign = alignof(BufferPool::Header);

// Plain malloc, aligned by hand: glibc's aligned allocation of large
// blocks (operator new with an alignment) left 13 MB more resident in a
// `vips copy`; vectors of floats start on a cache line. Sanitizer builds
// take exactly the size, so that no slack hides a read past the end.
BufferPool::Header *heap_block(size_t capacity) {
  void *base = BufferPool::kPooling ? std::malloc(capacity + kAlign) : ::operator new(capacity, std::align_val_t(kAlign));
  if (!base) throw std::bad_alloc();
  auto *h = reinterpret_cast<BufferPool::Header *>((uintptr_t(base) + kAlign - 1) & ~uintptr_t(kAlign - 1));
  h->base = base;
  h->capacity = capacity;
  return h;
}
void free_block(BufferPool::Header *h) noexcept {
  if (BufferPool::kPooling)
    std::free(h->base);
  else
    ::operator delete(h->base, std::align_val_t(kAlign));
}

}  // namespace

BufferPool::Owner::Owner(size_t retain) : pool_(new BufferPool(retain)) {}
BufferPool::Owner::~Owner() { pool_->close(); }

BufferPool::Use::Use(BufferPool *pool) : pool_(pool), previous_(current_pool) {
  current_pool = pool;
  if (pool) pool->active_.fetch_add(1, std::memory_order_relaxed);
}

BufferPool::Use::~Use() {
  current_pool = previous_;
  if (pool_ && pool_->active_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    Header *freed = nullptr;
    {
      std::lock_guard<std::mutex> lock(pool_->mutex_);
      if (pool_->active_.load(std::memory_order_relaxed) == 0)
        pool_->evict_to(std::min(pool_->retain_, kIdleRetain), freed);
    }
    free_all(freed);
  }
}

BufferPool *BufferPool::current() { return current_pool; }

void *BufferPool::allocate(size_t bytes) {
  BufferPool *pool = current_pool;
  if (bytes > SIZE_MAX - 2 * kGranule) throw std::bad_alloc();
  Header *h;
  if (kPooling && pool && bytes >= kSmallest) {
    h = pool->take((bytes + kGranule - 1) / kGranule * kGranule + sizeof(Header));
  } else {
    h = heap_block(bytes + sizeof(Header));
    h->pool = nullptr;
  }
  if (const uint32_t pattern = pool ? pool->poison_.load(std::memory_order_relaxed) : 0) {
    auto *at = reinterpret_cast<unsigned char *>(h + 1);
    for (size_t i = 0; i + 4 <= bytes; i += 4) std::memcpy(at + i, &pattern, 4);
    std::memset(at + bytes / 4 * 4, int(pattern & 0xff), bytes % 4);
  }
  return h + 1;
}

void BufferPool::deallocate(void *p) noexcept {
  if (!p) return;
  Header *h = static_cast<Header *>(p) - 1;
  if (h->pool)
    h->pool->give_back(h);
  else
    free_block(h);
}

BufferPool::Header *BufferPool::take(size_t capacity) {
  refs_.fetch_add(1, std::memory_order_relaxed);  // (the owner's keeps it alive until then)
  Header *block = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // The smallest kept buffer that holds it, unless more than twice as
    // large (that one may serve a larger request next).
    auto best = kept_.end();
    for (auto it = kept_.begin(); it != kept_.end(); ++it)
      if (it->block->capacity >= capacity && it->block->capacity / 2 <= capacity &&
          (best == kept_.end() || it->block->capacity < best->block->capacity))
        best = it;
    if (best != kept_.end()) {
      block = best->block;
      kept_bytes_ -= block->capacity;
      *best = kept_.back();
      kept_.pop_back();
      ++reuses_;
    }
  }
  if (!block) {
    try {
      block = heap_block(capacity);
    } catch (...) {
      unref();
      throw;
    }
  }
  block->pool = this;
  return block;
}

void BufferPool::give_back(Header *block) noexcept {
  Header *freed = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    bool keep = !closed_ && block->capacity <= retain_;
    if (keep) {
      try {
        kept_.push_back({block, ++clock_});
        kept_bytes_ += block->capacity;
      } catch (...) {  // no room to remember it
        keep = false;
      }
    }
    if (!keep) {
      block->next = freed;
      freed = block;
    }
    evict_to(retain_, freed);
  }
  free_all(freed);
  unref();
}

void BufferPool::evict_to(size_t limit, Header *&freed) noexcept {
  while (kept_bytes_ > limit) {
    auto oldest = std::min_element(kept_.begin(), kept_.end(),
                                   [](const Kept &a, const Kept &b) { return a.last_use < b.last_use; });
    Header *block = oldest->block;
    kept_bytes_ -= block->capacity;
    *oldest = kept_.back();
    kept_.pop_back();
    block->next = freed;
    freed = block;
  }
}

void BufferPool::free_all(Header *freed) noexcept {
  while (freed) {
    Header *next = freed->next;
    free_block(freed);
    freed = next;
  }
}

void BufferPool::set_retain(size_t bytes) {
  Header *freed = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    retain_ = bytes;
    evict_to(retain_, freed);
  }
  free_all(freed);
}

void BufferPool::close() noexcept {
  Header *freed = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    evict_to(0, freed);
  }
  free_all(freed);
  unref();
}

void BufferPool::unref() noexcept {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

size_t BufferPool::retained_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return kept_bytes_;
}

uint64_t BufferPool::reuses() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reuses_;
}

}  // namespace msic
