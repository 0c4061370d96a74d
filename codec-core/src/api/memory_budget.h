// The working memory of the tile decodes in flight on one context. A
// decode reserves its share first and waits while the others hold the
// budget, so that every thread of every reader (the library's own, vips',
// GDAL's) cannot together take more than the limit; a tile that alone
// needs more is refused (a hostile header claiming 4096 x 4096 tiles, or a
// file that needs a larger limit than the default).
#pragma once
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "msic/msic.h"

namespace msic {

class MemoryBudget {
 public:
  // Decodes of 512-px tiles (the default above 1024 px) run many at a time
  // under it; 1024-px tiles (61 MB; an image of 513 to 1024 px by default)
  // 16 at a time; 2048-px tiles (about 0.34 GB each) three at a time; a 4096-px tile
  // (1.3 GB) needs a larger limit.
  static constexpr uint64_t kDefaultLimit = MSIC_DEFAULT_MEMORY_LIMIT;

  class Hold {
   public:
    Hold(MemoryBudget *budget, uint64_t bytes) : budget_(budget), bytes_(bytes) {}
    Hold(Hold &&o) noexcept : budget_(o.budget_), bytes_(o.bytes_) { o.budget_ = nullptr; }
    Hold(const Hold &) = delete;
    Hold &operator=(const Hold &) = delete;
    Hold &operator=(Hold &&) = delete;
    ~Hold() {
      if (budget_) budget_->release(bytes_);
    }

   private:
    MemoryBudget *budget_;
    uint64_t bytes_;
  };

  // The default: kDefaultLimit, or $MSIC_MEMORY_LIMIT megabytes.
  MemoryBudget();
  // 0: no limit.
  void set_limit(uint64_t bytes);
  uint64_t limit() const;
  // Waits until `bytes` fit beside what others hold. Throws
  // Error(MSIC_ERR_LIMIT), naming `what`, if they exceed the limit alone.
  Hold reserve(uint64_t bytes, const char *what);

 private:
  void release(uint64_t bytes);
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  uint64_t limit_ = kDefaultLimit;
  uint64_t held_ = 0;
};

}  // namespace msic
