// Reader and writer of the MSIC container (see MSIC.md). No codec, no
// LibTorch: tiles are opaque byte strings here.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "errors.h"

namespace msic::format {

constexpr uint8_t kMagic[8] = {0x89, 'M', 'S', 'I', 'C', '\r', '\n', 0x1a};
constexpr uint8_t kEndMagic[8] = {'M', 'S', 'I', 'C', 'E', 'N', 'D', 0};
constexpr uint16_t kVersionMajor = MSIC_FORMAT_VERSION_MAJOR;
constexpr uint16_t kVersionMinor = MSIC_FORMAT_VERSION_MINOR;
constexpr size_t kFixedHeaderSize = 96;
constexpr size_t kTrailerSize = 32;
constexpr size_t kIndexEntrySize = 16;
constexpr uint32_t kTileCodecMsinn = 1;       // the learned lossy codec
constexpr uint32_t kTileCodecPredictive = 2;  // exact and bounded-error coding
constexpr uint32_t kMaxBands = MSIC_MAX_BANDS;
constexpr uint32_t kMaxDimension = MSIC_MAX_DIMENSION;
constexpr uint64_t kMaxPixels = MSIC_MAX_PIXELS;
constexpr uint64_t kMaxBoxBytes = 1ull << 30;
constexpr uint64_t kMaxHeaderBytes = (1ull << 30) + 4096;  // header with all its boxes
constexpr uint32_t kMaxBoxes = 65536;
constexpr char kTileFrameMagic[4] = {'T', 'I', 'L', 'E'};
constexpr size_t kTileFrameSize = 16;  // magic, tile number, length, CRC-32
// Reduced levels (1.3): their tiles' frames, and the locator of their
// directory, the 32 bytes just before the tile index.
constexpr char kLevelTileFrameMagic[4] = {'L', 'T', 'I', 'L'};
constexpr uint8_t kLevelLocatorMagic[8] = {'M', 'S', 'I', 'C', 'L', 'V', 'L', 0};
constexpr size_t kLevelLocatorSize = 32;
constexpr uint32_t kMaxLevels = 20;  // 2^20 reduces the largest side to one pixel

// The tile-size rule of the format; writers check it through this.
constexpr bool tile_size_valid(uint64_t size) {
  return size >= MSIC_TILE_SIZE_MIN && size <= MSIC_TILE_SIZE_MAX && size % MSIC_TILE_SIZE_STEP == 0;
}
// "a multiple of 16 in [64, 4096]", for messages.
std::string tile_size_rule();

struct Box {
  std::array<char, 4> type{};
  std::vector<uint8_t> data;
  std::string type_string() const { return std::string(type.data(), 4); }
};

struct Header {
  uint16_t version_major = kVersionMajor;
  uint16_t version_minor = kVersionMinor;
  uint32_t width = 0, height = 0;
  uint32_t bands = 3, bit_depth = 8;
  uint32_t tile_size = MSIC_TILE_SIZE_DEFAULT;
  uint32_t quality_centi = 7500;
  uint32_t tile_codec = kTileCodecMsinn;
  std::array<uint8_t, 32> model_hash{};  // tile_codec 2: zero (no model)
  uint32_t sample_format = MSIC_SAMPLE_UNSIGNED;  // 1.2: at offset 80
  uint32_t valid_bits = 0;                        // 0: bit_depth
  double max_error = 0;                           // tile_codec 2: 0 = exact
  std::vector<Box> boxes;  // writer: the boxes to write (a reader lists them itself)

  uint32_t tiles_across() const { return (width + tile_size - 1) / tile_size; }
  uint32_t tiles_down() const { return (height + tile_size - 1) / tile_size; }
  uint64_t tile_count() const { return uint64_t(tiles_across()) * tiles_down(); }
};

// A reduced level: the image at 1/2^scale_log2 of its size (each side
// rounded up), cut into tiles of the header's size.
struct Level {
  uint32_t scale_log2 = 0;  // 0: the image itself
  uint32_t width = 0, height = 0, tile_size = 0;
  static Level of(const Header &h, uint32_t scale_log2);
  uint32_t tiles_across() const { return (width + tile_size - 1) / tile_size; }
  uint32_t tiles_down() const { return (height + tile_size - 1) / tile_size; }
  uint64_t tile_count() const { return uint64_t(tiles_across()) * tiles_down(); }
};

struct TileEntry {
  uint64_t offset = 0;
  uint32_t length = 0;
  uint32_t crc = 0;
};

// Throws Error(MSIC_ERR_ARGUMENT / MSIC_ERR_LIMIT ...) if the header could
// not be written or read back as a valid file.
void validate_header(const Header &h);

uint32_t crc32(const void *data, size_t size, uint32_t crc = 0);

// Writes strictly sequentially through `sink` (returns false on failure).
class ContainerWriter {
 public:
  using Sink = std::function<bool(const void *, size_t)>;
  ContainerWriter(Sink sink, Header header);
  // Header and boxes; call once, first.
  void write_header();
  // Tiles are appended in the order given; each index may appear once.
  void write_tile(uint64_t tile_index, const std::vector<uint8_t> &payload);
  // Reduced levels (scales strictly increasing, each > 0): declared before
  // their tiles, which are kept in memory and written by finish() after
  // the image's (a reader that does not know levels, or recovers tiles by
  // their frames, then sees the file as before).
  void set_levels(const std::vector<uint32_t> &scales_log2);
  void write_level_tile(size_t level, uint64_t tile_index, std::vector<uint8_t> payload);
  // Level tiles, level directory, index and trailer; fails if a tile is
  // missing.
  void finish();
  const Header &header() const { return header_; }
  uint64_t bytes_written() const { return position_; }

 private:
  void put(const void *data, size_t size);
  // Frame and payload; returns the payload's index entry.
  TileEntry put_tile(const char magic[4], uint64_t number, const std::vector<uint8_t> &payload);
  Sink sink_;
  Header header_;
  uint64_t position_ = 0;
  std::vector<TileEntry> index_;
  std::vector<bool> written_;
  std::vector<Level> levels_;
  std::vector<std::vector<std::vector<uint8_t>>> level_payloads_;  // [level - 1][tile]
  std::vector<std::vector<bool>> level_written_;
};

// Random-access reader over a read-at function (returns bytes read).
class ContainerReader {
 public:
  using ReadAt = std::function<size_t(uint64_t offset, void *buf, size_t size)>;
  enum class OpenMode {
    kStrict,   // a damaged index or trailer is an error
    kRecover,  // then find the whole tiles by their frames (a truncated copy)
  };
  // Parses and checks header, boxes, trailer and index; throws Error.
  ContainerReader(ReadAt read_at, uint64_t file_size, OpenMode mode = OpenMode::kStrict);
  // True if the index was lost and the tiles were found by their frames.
  bool recovered() const { return recovered_; }
  bool tile_present(uint64_t i) const { return present_.at(i); }
  uint64_t tiles_missing() const { return tiles_missing_; }
  const Header &header() const { return header_; }
  const TileEntry &tile_entry(uint64_t i) const { return index_.at(i); }
  // The image (level 0) and its reduced levels 1 .. level_count() - 1.
  size_t level_count() const { return 1 + levels_.size(); }
  Level level(size_t l) const { return l == 0 ? Level::of(header_, 0) : levels_.at(l - 1).shape; }
  // The bytes of a level's tiles in the file, frames included.
  uint64_t level_bytes(size_t l) const;
  // Metadata boxes, in file order. Their bytes are read on first use
  // (thread-safe) and stay valid while the reader lives.
  size_t box_count() const { return boxes_.size(); }
  std::array<char, 4> box_type(size_t i) const { return boxes_.at(i).type; }
  uint64_t box_size(size_t i) const { return boxes_.at(i).size; }
  const std::vector<uint8_t> &box_data(size_t i) const;
  uint64_t file_size() const { return file_size_; }
  // Reads tile i (of level `level`) and checks its CRC (MSIC_ERR_CHECKSUM
  // on mismatch).
  std::vector<uint8_t> read_tile(uint64_t i, size_t level = 0) const;

 private:
  void read_exact(uint64_t offset, void *buf, size_t size, const char *what) const;
  // Returns the index's offset.
  uint64_t read_index();
  void read_levels(uint64_t index_offset);
  void recover_index();
  // Files 1.1 and later put a frame before each payload (MSIC.md).
  uint64_t frame_size() const { return header_.version_minor >= 1 ? kTileFrameSize : 0; }
  ReadAt read_at_;
  uint64_t file_size_;
  uint64_t header_size_ = 0;
  Header header_;
  struct BoxEntry {
    std::array<char, 4> type{};
    uint64_t offset = 0, size = 0;
  };
  std::vector<BoxEntry> boxes_;
  mutable std::mutex box_mutex_;
  mutable std::vector<std::unique_ptr<std::vector<uint8_t>>> box_data_;
  std::vector<TileEntry> index_;
  std::vector<bool> present_;
  struct StoredLevel {
    Level shape;
    std::vector<TileEntry> index;
  };
  std::vector<StoredLevel> levels_;
  bool recovered_ = false;
  uint64_t tiles_missing_ = 0;
};

}  // namespace msic::format
