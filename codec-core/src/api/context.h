// A context: one model (its tile codec made on first use), the codecs of
// the other models its readers met, and a thread count. The C API's
// msic_context.
#pragma once
#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "api/memory_budget.h"
#include "buffer_pool.h"
#include "model_file.h"
#include "tile_codec.h"

namespace msic {

class Context {
 public:
  // Checks the model's tables and context nets, and keeps them for the
  // tile codec (the network is made on first use).
  explicit Context(ModelFile model);
  // The process-wide context of the embedded model (a NULL msic_context*).
  static Context &embedded();
  static ModelFile embedded_model();
  static std::array<uint8_t, 32> embedded_model_hash();

  const ModelFile &model() const { return model_; }
  const std::string &hash_hex() const { return hash_hex_; }
  void set_threads(int threads) { threads_ = threads < 0 ? 0 : threads; }
  void set_recover(bool recover) { recover_ = recover; }
  // Working memory of the tile decodes in flight on this context.
  MemoryBudget &decode_memory() { return decode_memory_; }
  // Sets that limit; the buffer pool keeps no more than it either.
  void set_memory_limit(uint64_t bytes);
  // The working buffers its tiles dropped, for the next tiles to reuse
  // (BufferPool::Use around each tile's coding); none until a first tile
  // (a writer's first row of tiles) is done: the heap, which merges what
  // it gets back, gives a one-off image a smaller peak (a vips copy of a
  // photo: 59 MB, 67 through the pool), and reuse pays after that.
  BufferPool *buffers_for_tile() const {
    return tiles_coded_.load(std::memory_order_relaxed) ? buffers_.get() : nullptr;
  }
  void tile_coded() { tiles_coded_.fetch_add(1, std::memory_order_relaxed); }
  bool recover() const { return recover_; }
  // The thread count to use for a request of `requested` (0: the context's).
  int threads(int requested = 0) const;
  // The tile codec, made on first use (retried if that failed).
  const TileCodec &codec();
  // The tile codec for files coded with the model of this hash: codec(),
  // the embedded context's, or one of a model that find_model
  // (model_library.h) finds, made on first use and kept. Throws
  // Error(MSIC_ERR_MODEL), naming the model and where it was looked for, if
  // none has that hash (looked for again next time: a reader asks once,
  // ImageReader::model_codec).
  const TileCodec &codec_for(const std::array<uint8_t, 32> &model_hash);

 private:
  ModelFile model_;
  std::string hash_hex_;
  std::atomic<int> threads_{0};  // set while other threads decode
  bool recover_ = false;
  std::once_flag codec_once_;
  // The context model made when the context was, until codec() takes it:
  // made twice, it was 4% of a 16x16 encode's process.
  std::optional<entropy::ContextModel> checked_;
  std::unique_ptr<TileCodec> codec_;
  std::mutex other_codecs_mutex_;
  std::map<std::array<uint8_t, 32>, std::unique_ptr<TileCodec>> other_codecs_;
  MemoryBudget decode_memory_;
  BufferPool::Owner buffers_;
  std::atomic<uint64_t> tiles_coded_{0};
};

}  // namespace msic
