#include "api/memory_budget.h"

#include <cstdlib>
#include <string>

#include "errors.h"

namespace msic {

namespace {
std::string megabytes(uint64_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MB"; }
}  // namespace

MemoryBudget::MemoryBudget() {
  // A value that is not a plain number of megabytes is ignored, not guessed at.
  if (const char *env = getenv("MSIC_MEMORY_LIMIT")) {
    char *end = nullptr;
    const unsigned long long mb = strtoull(env, &end, 10);
    if (*env >= '0' && *env <= '9' && end && !*end && mb < (1ull << 40)) limit_ = uint64_t(mb) << 20;
  }
}

void MemoryBudget::set_limit(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  limit_ = bytes;
  freed_.notify_all();
}

uint64_t MemoryBudget::limit() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return limit_;
}

MemoryBudget::Hold MemoryBudget::reserve(uint64_t bytes, const char *what) {
  std::unique_lock<std::mutex> lock(mutex_);
  // Nobody waits for ever: a hold is only kept while one tile decodes.
  freed_.wait(lock, [&] { return !limit_ || bytes > limit_ || held_ + bytes <= limit_; });
  if (limit_ && bytes > limit_)
    throw Error(MSIC_ERR_LIMIT, std::string(what) + " needs about " + megabytes(bytes) +
                                    " of working memory, over the decoder's limit of " + megabytes(limit_) +
                                    " (raise it: msic_context_set_memory_limit, msic --memory-limit MB or MSIC_MEMORY_LIMIT=MB)");
  held_ += bytes;
  return Hold(this, bytes);
}

void MemoryBudget::release(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  held_ -= bytes;
  freed_.notify_all();
}

}  // namespace msic
