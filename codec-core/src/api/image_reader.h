// Reads an MSIC file through a read-at function: header and boxes at open,
// tiles on demand (decoded in parallel for windows and batches).
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/context.h"
#include "container.h"
#include "parallel.h"
#include "predictive/predictive_codec.h"

namespace msic {

class ImageReader {
 public:
  // The read-at function of a file descriptor (closed by the reader), of a
  // memory buffer, and of a user callback (calls serialised).
  static std::unique_ptr<ImageReader> open_file(Context &context, const char *path);
  static std::unique_ptr<ImageReader> open_memory(Context &context, const void *data, size_t size);
  static std::unique_ptr<ImageReader> open_callbacks(Context &context, msic_read_fn read, uint64_t size,
                                                     void *user);
  ~ImageReader();

  const format::Header &header() const { return container_->header(); }
  const format::ContainerReader &container() const { return *container_; }
  uint64_t file_size() const { return container_->file_size(); }
  // Tiles of level `level` (0: the image) decoded so far.
  uint64_t tiles_decoded(size_t level = 0) const {
    return level < container_->level_count() ? tiles_decoded_[level].load() : 0;
  }

  // Tile (tx, ty) of a level, min(tile_size, remaining) columns and rows,
  // into out. share: threads for the tile's network (parallel.h; none:
  // this one).
  void decode_tile(size_t level, uint32_t tx, uint32_t ty, uint8_t *out, size_t stride,
                   const ThreadShare *share = nullptr);
  void decode_tiles(size_t level, size_t count, const uint32_t *tx, const uint32_t *ty, uint8_t *const *out,
                    size_t stride, int threads);
  void decode_region(size_t level, uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint8_t *out, size_t stride);
  void verify(msic_progress_fn progress, void *user);
  // Throws Error(MSIC_ERR_MODEL) unless the tiles have a model to decode
  // with (Context::codec_for); an exactly coded file needs none.
  void check_model();

 private:
  ImageReader(Context &context, int fd) : context_(context), fd_(fd) {}
  void open(format::ContainerReader::ReadAt read_at, uint64_t size);
  // The codec of the model the file names, asked of the context once per
  // reader (a missing model is not searched for again by every tile).
  const TileCodec &model_codec();
  // Pixels of tile (tx, ty), tightly packed; sets its width and height.
  PooledVector<uint8_t> tile_pixels(size_t level, uint32_t tx, uint32_t ty, uint32_t &w, uint32_t &h,
                                    const ThreadShare *share = nullptr);

  Context &context_;
  int fd_ = -1;          // file mode: pread is thread-safe by itself
  std::mutex io_mutex_;  // callback mode: calls are serialised
  std::unique_ptr<format::ContainerReader> container_;
  std::unique_ptr<predictive::PredictiveCodec> exact_;  // tile codec 2
  std::once_flag model_codec_once_;                     // tile codec 1: model_codec()
  const TileCodec *model_codec_ = nullptr;              // (the context's)
  std::string model_codec_error_;                       // why there is none
  size_t pixel_bytes_ = 0;                            // bands x bytes per sample
  std::unique_ptr<std::atomic<uint64_t>[]> tiles_decoded_;  // per level
};

}  // namespace msic
