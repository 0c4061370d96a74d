#include "buffer_pool.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace msic {
namespace {

thread_local BufferPool *current_pool = nullptr;

// Every buffer starts with this, one alignment unit before what the caller
// gets: the pool it goes back to (nullptr: the heap) and its size.
struct alignas(64) Header {
  BufferPool *pool;
  size_t capacity;  // bytes, header included
};
constexpr std::align_val_t kAlign{64};
constexpr size_t kGranule = size_t(64) << 10;  // pooled sizes are multiples of this

void *heap_block(size_t capacity) { return ::operator new(capacity, kAlign); }
void free_block(void *block) noexcept { ::operator delete(block, kAlign); }

}  // namespace

BufferPool::Owner::Owner(size_t retain) : pool_(new BufferPool(retain)) {}
BufferPool::Owner::~Owner() { pool_->close(); }

BufferPool::Use::Use(BufferPool *pool) : previous_(current_pool) { current_pool = pool; }
BufferPool::Use::~Use() { current_pool = previous_; }

BufferPool *BufferPool::current() { return current_pool; }

void *BufferPool::allocate(size_t bytes) {
  BufferPool *pool = current_pool;
  if (bytes > SIZE_MAX - 2 * kGranule) throw std::bad_alloc();
  size_t capacity = bytes + sizeof(Header);
  void *block;
  if (pool && bytes >= kSmallest) {
    capacity = (capacity + kGranule - 1) / kGranule * kGranule;
    block = pool->take(capacity);
    capacity = static_cast<Header *>(block)->capacity;
  } else {
    pool = nullptr;
    block = heap_block(capacity);
  }
  auto *h = static_cast<Header *>(block);
  h->pool = pool;
  h->capacity = capacity;
  return h + 1;
}

void BufferPool::deallocate(void *p) noexcept {
  if (!p) return;
  Header *h = static_cast<Header *>(p) - 1;
  if (h->pool)
    h->pool->give_back(h, h->capacity);
  else
    free_block(h);
}

void *BufferPool::take(size_t capacity) {
  refs_.fetch_add(1, std::memory_order_relaxed);
  void *block = nullptr;
  size_t got = capacity;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // The smallest kept buffer that holds it, unless more than twice as
    // large (that one may serve a larger request next).
    auto best = kept_.end();
    for (auto it = kept_.begin(); it != kept_.end(); ++it)
      if (it->capacity >= capacity && it->capacity <= 2 * capacity &&
          (best == kept_.end() || it->capacity < best->capacity))
        best = it;
    if (best != kept_.end()) {
      block = best->block;
      got = best->capacity;
      kept_bytes_ -= got;
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
  static_cast<Header *>(block)->capacity = got;
  if (poison_.load(std::memory_order_relaxed)) {
    const uint32_t nan = 0x7fc00000u;  // a quiet NaN in every float
    auto *bytes = static_cast<unsigned char *>(block) + sizeof(Header);
    for (size_t i = 0; i + 4 <= got - sizeof(Header); i += 4) std::memcpy(bytes + i, &nan, 4);
  }
  return block;
}

void BufferPool::give_back(void *block, size_t capacity) noexcept {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    bool keep = !closed_ && capacity <= retain_;
    if (keep) {
      try {
        kept_.push_back({block, capacity, ++clock_});
        kept_bytes_ += capacity;
      } catch (...) {  // no room to remember it
        keep = false;
      }
    }
    if (!keep) free_block(block);
    evict_to_limit();
  }
  unref();
}

size_t BufferPool::evict_oldest() noexcept {
  auto oldest = std::min_element(kept_.begin(), kept_.end(),
                                 [](const Kept &a, const Kept &b) { return a.last_use < b.last_use; });
  const size_t bytes = oldest->capacity;
  free_block(oldest->block);
  kept_bytes_ -= bytes;
  *oldest = kept_.back();
  kept_.pop_back();
  return bytes;
}

void BufferPool::evict_to_limit() noexcept {
  while (kept_bytes_ > retain_) evict_oldest();  // the oldest first
}

void BufferPool::set_retain(size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  retain_ = bytes;
  evict_to_limit();
}

void BufferPool::close() noexcept {
  std::vector<Kept> kept;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    kept.swap(kept_);
    kept_bytes_ = 0;
  }
  for (const Kept &k : kept) free_block(k.block);
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
