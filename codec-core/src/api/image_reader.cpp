#include "api/image_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "errors.h"
#include "parallel.h"

namespace msic {

ImageReader::~ImageReader() {
  if (fd_ >= 0) close(fd_);
}

void ImageReader::open(format::ContainerReader::ReadAt read_at, uint64_t size) {
  using Mode = format::ContainerReader::OpenMode;
  container_ = std::make_unique<format::ContainerReader>(std::move(read_at), size,
                                                         context_.recover() ? Mode::kRecover : Mode::kStrict);
  const format::Header &h = container_->header();
  pixel_bytes_ = size_t(h.bands) * (h.bit_depth / 8);
  tiles_decoded_.reset(new std::atomic<uint64_t>[container_->level_count()]);
  for (size_t l = 0; l < container_->level_count(); ++l) tiles_decoded_[l] = 0;
  if (h.tile_codec == format::kTileCodecPredictive) {
    const std::vector<uint8_t> *nodata = nullptr;
    for (size_t i = 0; i < container_->box_count(); ++i)
      if (container_->box_type(i) == std::array<char, 4>{'N', 'O', 'D', 'T'}) nodata = &container_->box_data(i);
    exact_ = std::make_unique<predictive::PredictiveCodec>(predictive::coding_params(h, nodata));
  }
}

std::unique_ptr<ImageReader> ImageReader::open_file(Context &context, const char *path) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(MSIC_ERR_IO, std::string("cannot open '") + path + "': " + strerror(errno));
  std::unique_ptr<ImageReader> r(new ImageReader(context, fd));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    throw Error(MSIC_ERR_IO, std::string("'") + path + "' is not a regular file");
  r->open(
      [fd](uint64_t off, void *buf, size_t n) -> size_t {
        size_t done = 0;
        while (done < n) {
          ssize_t got = pread(fd, static_cast<char *>(buf) + done, n - done, off_t(off + done));
          if (got < 0 && errno == EINTR) continue;
          if (got <= 0) break;
          done += size_t(got);
        }
        return done;
      },
      uint64_t(st.st_size));
  return r;
}

std::unique_ptr<ImageReader> ImageReader::open_memory(Context &context, const void *data, size_t size) {
  if (!data && size) throw Error(MSIC_ERR_ARGUMENT, "data is NULL");
  std::unique_ptr<ImageReader> r(new ImageReader(context, -1));
  auto *bytes = static_cast<const uint8_t *>(data);
  r->open(
      [bytes, size](uint64_t off, void *buf, size_t n) -> size_t {
        if (off >= size) return 0;
        n = std::min<uint64_t>(n, size - off);
        if (n) memcpy(buf, bytes + off, n);
        return n;
      },
      size);
  return r;
}

std::unique_ptr<ImageReader> ImageReader::open_callbacks(Context &context, msic_read_fn read, uint64_t size,
                                                         void *user) {
  if (!read) throw Error(MSIC_ERR_ARGUMENT, "read function is NULL");
  std::unique_ptr<ImageReader> r(new ImageReader(context, -1));
  std::mutex *m = &r->io_mutex_;
  r->open(
      [read, user, m](uint64_t off, void *buf, size_t n) -> size_t {
        std::lock_guard<std::mutex> lock(*m);
        return read(user, off, buf, n);
      },
      size);
  return r;
}

PooledVector<uint8_t> ImageReader::tile_pixels(size_t level, uint32_t tx, uint32_t ty, uint32_t &w, uint32_t &h,
                                               const ThreadShare *share) {
  const format::Header &hd = header();
  if (level >= container_->level_count())
    throw Error(MSIC_ERR_ARGUMENT, "level " + std::to_string(level) + ": the file has " +
                                       std::to_string(container_->level_count() - 1) + " reduced levels");
  const format::Level shape = container_->level(level);
  if (tx >= shape.tiles_across() || ty >= shape.tiles_down())
    throw Error(MSIC_ERR_ARGUMENT,
                "tile (" + std::to_string(tx) + ", " + std::to_string(ty) + ") is outside the image");
  const TileCodec *codec = exact_ ? nullptr : &model_codec();
  w = std::min(hd.tile_size, shape.width - tx * hd.tile_size);
  h = std::min(hd.tile_size, shape.height - ty * hd.tile_size);
  const uint64_t per_pixel = exact_ ? exact_->decode_bytes_per_pixel() : codec->decode_bytes_per_pixel();
  // Reserved before the payload is read: a tile too large for the limit
  // costs nothing.
  MemoryBudget::Hold hold =
      context_.decode_memory().reserve(uint64_t(w) * h * per_pixel,
                                       ("a " + std::to_string(w) + " x " + std::to_string(h) + " tile").c_str());
  std::vector<uint8_t> payload = container_->read_tile(uint64_t(ty) * shape.tiles_across() + tx, level);
  BufferPool::Use buffers(context_.buffers_for_tile());
  PooledVector<uint8_t> pixels(size_t(w) * h * pixel_bytes_);  // every byte decoded
  if (exact_)
    exact_->decode(payload, w, h, pixels.data(), size_t(w) * pixel_bytes_);
  else
    codec->decode(payload, w, h, hd.bands, hd.quality_centi, pixels.data(), size_t(w) * hd.bands, share);
  ++tiles_decoded_[level];
  context_.tile_coded();
  return pixels;
}

void ImageReader::decode_tile(size_t level, uint32_t tx, uint32_t ty, uint8_t *out, size_t stride,
                              const ThreadShare *share) {
  uint32_t w, h;
  PooledVector<uint8_t> px = tile_pixels(level, tx, ty, w, h, share);
  size_t row = size_t(w) * pixel_bytes_;
  if (stride < row) throw Error(MSIC_ERR_ARGUMENT, "stride smaller than a tile row");
  for (uint32_t y = 0; y < h; ++y) memcpy(out + y * stride, px.data() + y * row, row);
}

void ImageReader::decode_tiles(size_t level, size_t count, const uint32_t *tx, const uint32_t *ty,
                               uint8_t *const *out, size_t stride, int threads) {
  if (count && (!tx || !ty || !out)) throw Error(MSIC_ERR_ARGUMENT, "NULL argument");
  for (size_t i = 0; i < count; ++i)
    if (!out[i]) throw Error(MSIC_ERR_ARGUMENT, "output buffer of tile " + std::to_string(i) + " is NULL");
  const int all = context_.threads(threads);
  ThreadShare share(count, all);
  parallel_for(count, all, [&](size_t i) {
    try {
      decode_tile(level, tx[i], ty[i], out[i], stride, &share);
    } catch (const Error &e) {
      throw Error(e.status(), "tile (" + std::to_string(tx[i]) + ", " + std::to_string(ty[i]) + "): " + e.what());
    }
  }, &share);
}

void ImageReader::decode_region(size_t level, uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint8_t *out,
                                size_t stride) {
  const format::Header &hd = header();
  if (level >= container_->level_count()) throw Error(MSIC_ERR_ARGUMENT, "no such level");
  const format::Level shape = container_->level(level);
  if (w == 0 || h == 0 || x >= shape.width || y >= shape.height || w > shape.width - x || h > shape.height - y)
    throw Error(MSIC_ERR_ARGUMENT, "region lies outside the image");
  const size_t bands = pixel_bytes_;  // bytes per pixel, below
  if (stride < size_t(w) * bands) throw Error(MSIC_ERR_ARGUMENT, "stride smaller than a region row");
  const uint32_t ts = hd.tile_size;
  uint32_t tx0 = x / ts, tx1 = (x + w - 1) / ts, ty0 = y / ts, ty1 = (y + h - 1) / ts;
  uint32_t nx = tx1 - tx0 + 1;
  size_t n = size_t(nx) * (ty1 - ty0 + 1);
  const int all = context_.threads();
  ThreadShare share(n, all);
  parallel_for(n, all, [&](size_t i) {
    uint32_t tx = tx0 + uint32_t(i % nx), ty = ty0 + uint32_t(i / nx);
    uint32_t tw, th;
    PooledVector<uint8_t> px = tile_pixels(level, tx, ty, tw, th, &share);
    // Intersection of the tile with the region, in image coordinates.
    uint32_t ix0 = std::max(x, tx * ts), iy0 = std::max(y, ty * ts);
    uint32_t ix1 = std::min(x + w, tx * ts + tw), iy1 = std::min(y + h, ty * ts + th);
    for (uint32_t yy = iy0; yy < iy1; ++yy)
      memcpy(out + size_t(yy - y) * stride + size_t(ix0 - x) * bands,
             px.data() + (size_t(yy - ty * ts) * tw + (ix0 - tx * ts)) * bands, size_t(ix1 - ix0) * bands);
  }, &share);
}

const TileCodec &ImageReader::model_codec() {
  std::call_once(model_codec_once_, [this] {
    try {
      model_codec_ = &context_.codec_for(header().model_hash);
    } catch (const Error &e) {
      if (e.status() != MSIC_ERR_MODEL) throw;  // (asked again next time)
      model_codec_error_ = e.what();
    }
  });
  if (!model_codec_) throw Error(MSIC_ERR_MODEL, model_codec_error_);
  return *model_codec_;
}

void ImageReader::check_model() {
  // The context's own model needs no search, and its network is made on
  // the first decode, not at open.
  if (exact_ || header().model_hash == context_.model().hash) return;
  model_codec();
}

void ImageReader::verify(msic_progress_fn progress, void *user) {
  check_model();
  // Every tile row of every level; progress counts rows of tiles.
  uint64_t rows = 0, done = 0;
  for (size_t l = 0; l < container_->level_count(); ++l) rows += container_->level(l).tiles_down();
  for (size_t l = 0; l < container_->level_count(); ++l) {
    const format::Level shape = container_->level(l);
    const uint32_t across = shape.tiles_across();
    for (uint32_t ty = 0; ty < shape.tiles_down(); ++ty) {
      const int all = context_.threads();
      ThreadShare share(across, all);
      parallel_for(across, all, [&](size_t tx) {
        uint32_t w, h;
        tile_pixels(l, uint32_t(tx), ty, w, h, &share);
      }, &share);
      if (progress && progress(user, double(++done) / double(rows))) throw Error(MSIC_ERR_CANCELLED, "cancelled");
    }
  }
}

}  // namespace msic
