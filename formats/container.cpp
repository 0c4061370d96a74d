#include "container.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "byte_order.h"

namespace msic::format {
namespace {

uint32_t crc_table[8][256];
struct CrcInit {
  CrcInit() {
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      crc_table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; ++n)
      for (int t = 1; t < 8; ++t)
        crc_table[t][n] = (crc_table[t - 1][n] >> 8) ^ crc_table[0][crc_table[t - 1][n] & 0xff];
  }
} crc_init;

}  // namespace

uint32_t crc32(const void *data, size_t size, uint32_t crc) {
  auto *p = static_cast<const uint8_t *>(data);
  crc = ~crc;
  while (size >= 8) {
    uint32_t a = load_le32(p) ^ crc, b = load_le32(p + 4);
    crc = crc_table[7][a & 0xff] ^ crc_table[6][(a >> 8) & 0xff] ^ crc_table[5][(a >> 16) & 0xff] ^
          crc_table[4][a >> 24] ^ crc_table[3][b & 0xff] ^ crc_table[2][(b >> 8) & 0xff] ^
          crc_table[1][(b >> 16) & 0xff] ^ crc_table[0][b >> 24];
    p += 8;
    size -= 8;
  }
  while (size--) crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::string tile_size_rule() {
  return "a multiple of " + std::to_string(MSIC_TILE_SIZE_STEP) + " in [" + std::to_string(MSIC_TILE_SIZE_MIN) +
         ", " + std::to_string(MSIC_TILE_SIZE_MAX) + "]";
}

void validate_header(const Header &h) {
  if (h.width == 0 || h.height == 0)
    throw Error(MSIC_ERR_FORMAT, "image has zero width or height");
  if (h.width > kMaxDimension || h.height > kMaxDimension ||
      uint64_t(h.width) * h.height > kMaxPixels)
    throw Error(MSIC_ERR_LIMIT, "image of " + std::to_string(h.width) + "x" +
                                    std::to_string(h.height) +
                                    " pixels exceeds the limit (" + std::to_string(kMaxDimension) +
                                    " per side, 2^36 in all)");
  if (h.tile_codec != kTileCodecMsinn && h.tile_codec != kTileCodecPredictive)
    throw Error(MSIC_ERR_VERSION, "unknown tile codec " + std::to_string(h.tile_codec) +
                                      " (a newer MSIC wrote this file)");
  if (!tile_size_valid(h.tile_size))
    throw Error(MSIC_ERR_FORMAT, "tile size " + std::to_string(h.tile_size) + " is not " + tile_size_rule());
  if (h.quality_centi > 10000)
    throw Error(MSIC_ERR_FORMAT, "quality beyond 100");
  const bool is_float = h.sample_format == MSIC_SAMPLE_FLOAT;
  if (h.tile_codec == kTileCodecMsinn) {
    if (h.bands != 1 && h.bands != 3)
      throw Error(MSIC_ERR_UNSUPPORTED, std::to_string(h.bands) +
                                            " bands: the learned coding takes 1 (grey) or 3 (RGB); "
                                            "lossless and max-error coding take any number");
    if (h.bit_depth != 8 || h.sample_format != MSIC_SAMPLE_UNSIGNED || (h.valid_bits && h.valid_bits != 8))
      throw Error(MSIC_ERR_UNSUPPORTED, "the learned coding takes 8-bit unsigned samples; "
                                        "lossless and max-error coding take 8, 16 and 32-bit integers and floats");
    if (h.max_error != 0) throw Error(MSIC_ERR_FORMAT, "max error set for the learned coding");
    return;
  }
  if (h.bands < 1 || h.bands > kMaxBands)
    throw Error(MSIC_ERR_UNSUPPORTED, std::to_string(h.bands) + " bands: at most " + std::to_string(kMaxBands));
  if (h.sample_format > MSIC_SAMPLE_FLOAT)
    throw Error(MSIC_ERR_UNSUPPORTED, "unknown sample format " + std::to_string(h.sample_format));
  if (is_float ? h.bit_depth != 32 : (h.bit_depth != 8 && h.bit_depth != 16 && h.bit_depth != 32))
    throw Error(MSIC_ERR_UNSUPPORTED, "bit depth " + std::to_string(h.bit_depth) +
                                          (is_float ? ": floats are 32-bit" : ": integers are 8, 16 or 32-bit"));
  if (h.valid_bits > h.bit_depth || (is_float && h.valid_bits) ||
      (h.valid_bits == 1 && h.sample_format == MSIC_SAMPLE_SIGNED))
    throw Error(MSIC_ERR_FORMAT, "valid bits " + std::to_string(h.valid_bits) + " do not fit the samples");
  if (!(h.max_error >= 0) || !std::isfinite(h.max_error) || (!is_float && h.max_error != std::floor(h.max_error)))
    throw Error(MSIC_ERR_FORMAT, "max error must be a finite number >= 0 (whole for integer samples)");
}

Level Level::of(const Header &h, uint32_t scale_log2) {
  Level l;
  l.scale_log2 = scale_log2;
  l.width = uint32_t(((uint64_t(h.width) - 1) >> scale_log2) + 1);
  l.height = uint32_t(((uint64_t(h.height) - 1) >> scale_log2) + 1);
  l.tile_size = h.tile_size;
  return l;
}

ContainerWriter::ContainerWriter(Sink sink, Header header)
    : sink_(std::move(sink)), header_(std::move(header)) {
  validate_header(header_);
  index_.resize(header_.tile_count());
  written_.assign(index_.size(), false);
}

void ContainerWriter::put(const void *data, size_t size) {
  if (size && !sink_(data, size)) throw Error(MSIC_ERR_IO, "writing the MSIC file failed");
  position_ += size;
}

void ContainerWriter::write_header() {
  Packer p;
  p.raw(kMagic, 8);
  p.u16(header_.version_major);
  p.u16(header_.version_minor);
  if (header_.boxes.size() > kMaxBoxes)
    throw Error(MSIC_ERR_LIMIT, "more than " + std::to_string(kMaxBoxes) + " metadata boxes");
  uint64_t header_size = kFixedHeaderSize + 4;
  for (const Box &b : header_.boxes) header_size += 12 + b.data.size();
  if (header_size > kMaxHeaderBytes) throw Error(MSIC_ERR_LIMIT, "metadata boxes exceed 1 GiB in all");
  p.u32(uint32_t(header_size));
  p.u32(header_.width);
  p.u32(header_.height);
  p.u16(uint16_t(header_.bands));
  p.u16(uint16_t(header_.bit_depth));
  p.u32(header_.tile_size);
  p.u32(header_.quality_centi);
  p.u32(header_.tile_codec);
  p.raw(header_.model_hash.data(), 32);
  p.u32(0);  // flags
  p.u32(uint32_t(header_.boxes.size()));
  p.u8(uint8_t(header_.sample_format));
  p.u8(uint8_t(header_.valid_bits));
  p.u16(0);
  p.u32(0);
  p.f64(header_.max_error);
  for (const Box &b : header_.boxes) {
    p.raw(b.type.data(), 4);
    p.u64(b.data.size());
    p.raw(b.data.data(), b.data.size());
  }
  p.u32(crc32(p.bytes.data(), p.bytes.size()));
  put(p.bytes.data(), p.bytes.size());
}

TileEntry ContainerWriter::put_tile(const char magic[4], uint64_t number, const std::vector<uint8_t> &payload) {
  if (payload.size() > UINT32_MAX) throw Error(MSIC_ERR_LIMIT, "tile payload exceeds 4 GiB");
  const uint32_t crc = crc32(payload.data(), payload.size());
  // The tile's frame: what a recovering reader finds tiles by when the
  // index at the end is lost (a truncated copy). Readers otherwise skip it.
  Packer frame;
  frame.raw(magic, 4);
  frame.u32(uint32_t(number));
  frame.u32(uint32_t(payload.size()));
  frame.u32(crc);
  put(frame.bytes.data(), frame.bytes.size());
  const TileEntry entry{position_, uint32_t(payload.size()), crc};
  put(payload.data(), payload.size());
  return entry;
}

void ContainerWriter::write_tile(uint64_t i, const std::vector<uint8_t> &payload) {
  if (i >= index_.size() || written_[i]) throw Error(MSIC_ERR_INTERNAL, "tile written twice");
  index_[i] = put_tile(kTileFrameMagic, i, payload);
  written_[i] = true;
}

void ContainerWriter::set_levels(const std::vector<uint32_t> &scales_log2) {
  if (!levels_.empty()) throw Error(MSIC_ERR_INTERNAL, "levels set twice");
  if (scales_log2.size() > kMaxLevels) throw Error(MSIC_ERR_INTERNAL, "too many reduced levels");
  for (size_t l = 0; l < scales_log2.size(); ++l) {
    if (scales_log2[l] == 0 || scales_log2[l] > kMaxLevels || (l && scales_log2[l] <= scales_log2[l - 1]))
      throw Error(MSIC_ERR_INTERNAL, "reduced levels must have increasing scales");
    levels_.push_back(Level::of(header_, scales_log2[l]));
    level_payloads_.emplace_back(levels_.back().tile_count());
    level_written_.emplace_back(levels_.back().tile_count(), false);
  }
}

void ContainerWriter::write_level_tile(size_t level, uint64_t i, std::vector<uint8_t> payload) {
  if (level < 1 || level > levels_.size() || i >= level_written_[level - 1].size() ||
      level_written_[level - 1][i])
    throw Error(MSIC_ERR_INTERNAL, "level tile written twice or out of range");
  level_payloads_[level - 1][i] = std::move(payload);
  level_written_[level - 1][i] = true;
}

void ContainerWriter::finish() {
  for (bool w : written_)
    if (!w) throw Error(MSIC_ERR_INTERNAL, "finishing an MSIC file with tiles missing");
  for (const std::vector<bool> &level : level_written_)
    for (bool w : level)
      if (!w) throw Error(MSIC_ERR_INTERNAL, "finishing an MSIC file with level tiles missing");
  if (!levels_.empty()) {
    // Level tiles, then their directory and its locator, just before the
    // index (which stays where a 1.2 reader looks for it).
    Packer dir;
    dir.u32(uint32_t(levels_.size()));
    for (size_t l = 0; l < levels_.size(); ++l) {
      std::vector<TileEntry> entries;
      for (uint64_t i = 0; i < levels_[l].tile_count(); ++i) {
        entries.push_back(put_tile(kLevelTileFrameMagic, i, level_payloads_[l][i]));
        std::vector<uint8_t>().swap(level_payloads_[l][i]);
      }
      dir.u32(levels_[l].scale_log2);
      dir.u32(uint32_t(entries.size()));
      for (const TileEntry &e : entries) {
        dir.u64(e.offset);
        dir.u32(e.length);
        dir.u32(e.crc);
      }
    }
    const uint64_t dir_offset = position_;
    put(dir.bytes.data(), dir.bytes.size());
    Packer locator;
    locator.raw(kLevelLocatorMagic, 8);
    locator.u64(dir_offset);
    locator.u64(dir.bytes.size());
    locator.u32(crc32(dir.bytes.data(), dir.bytes.size()));
    locator.u32(0);
    put(locator.bytes.data(), locator.bytes.size());
  }
  Packer p;
  for (const TileEntry &e : index_) {
    p.u64(e.offset);
    p.u32(e.length);
    p.u32(e.crc);
  }
  uint64_t index_offset = position_;
  uint32_t index_crc = crc32(p.bytes.data(), p.bytes.size());
  put(p.bytes.data(), p.bytes.size());
  Packer t;
  t.u64(index_offset);
  t.u32(uint32_t(index_.size()));
  t.u32(index_crc);
  t.u64(0);
  t.raw(kEndMagic, 8);
  put(t.bytes.data(), t.bytes.size());
}

ContainerReader::ContainerReader(ReadAt read_at, uint64_t file_size, OpenMode mode)
    : read_at_(std::move(read_at)), file_size_(file_size) {
  if (file_size_ < kFixedHeaderSize + 4 + kTrailerSize) {
    uint8_t head[8] = {};
    size_t n = file_size_ < 8 ? size_t(file_size_) : 8;
    if (n && read_at_(0, head, n) == n && n == 8 && memcmp(head, kMagic, 8) == 0)
      throw Error(MSIC_ERR_FORMAT, "truncated MSIC file (" + std::to_string(file_size_) + " bytes)");
    throw Error(MSIC_ERR_FORMAT, "not an MSIC file (too short)");
  }
  uint8_t fixed[kFixedHeaderSize];
  read_exact(0, fixed, sizeof fixed, "header");
  if (memcmp(fixed, kMagic, 8) != 0) throw Error(MSIC_ERR_FORMAT, "not an MSIC file (bad magic)");
  header_.version_major = load_le16(fixed + 8);
  header_.version_minor = load_le16(fixed + 10);
  if (header_.version_major != kVersionMajor)
    throw Error(MSIC_ERR_VERSION, "MSIC format version " + std::to_string(header_.version_major) +
                                      "." + std::to_string(header_.version_minor) +
                                      " is not supported (this library reads 1.x)");
  header_size_ = load_le32(fixed + 12);
  header_.width = load_le32(fixed + 16);
  header_.height = load_le32(fixed + 20);
  header_.bands = load_le16(fixed + 24);
  header_.bit_depth = load_le16(fixed + 26);
  header_.tile_size = load_le32(fixed + 28);
  header_.quality_centi = load_le32(fixed + 32);
  header_.tile_codec = load_le32(fixed + 36);
  memcpy(header_.model_hash.data(), fixed + 40, 32);
  uint32_t box_count = load_le32(fixed + 76);
  // Zero in files before 1.2: unsigned samples, all bits valid, no bound.
  header_.sample_format = fixed[80];
  header_.valid_bits = fixed[81];
  header_.max_error = load_f64le(fixed + 88);
  if (header_size_ < kFixedHeaderSize + 4 || header_size_ > file_size_ - kTrailerSize)
    throw Error(MSIC_ERR_FORMAT, "corrupt MSIC header (header size out of range)");
  if (header_size_ > kMaxHeaderBytes)
    throw Error(MSIC_ERR_LIMIT, "MSIC metadata larger than 1 GiB is not read");
  if (uint64_t(box_count) * 12 > header_size_ - kFixedHeaderSize - 4)
    throw Error(MSIC_ERR_FORMAT, "corrupt MSIC header (box count)");
  if (box_count > kMaxBoxes)
    throw Error(MSIC_ERR_LIMIT, "MSIC header declares " + std::to_string(box_count) + " metadata boxes (at most " +
                                    std::to_string(kMaxBoxes) + " are read)");


  // The whole header is checked by its CRC before any field is trusted
  // further. It is read in chunks: boxes may be large and are only read
  // when asked for (box_data), so opening a file costs little memory
  // whatever its metadata.
  {
    std::vector<uint8_t> chunk(size_t(std::min<uint64_t>(header_size_ - 4, 1 << 20)));
    uint32_t crc = 0;
    for (uint64_t at = 0; at < header_size_ - 4; at += chunk.size()) {
      size_t n = size_t(std::min<uint64_t>(chunk.size(), header_size_ - 4 - at));
      read_exact(at, chunk.data(), n, "header");
      crc = crc32(chunk.data(), n, crc);
    }
    uint8_t stored[4];
    read_exact(header_size_ - 4, stored, 4, "header");
    if (crc != load_le32(stored)) throw Error(MSIC_ERR_CHECKSUM, "MSIC header fails its CRC-32 (corrupt file)");
  }
  validate_header(header_);

  // The box directory: types and places, not the bytes.
  uint64_t pos = kFixedHeaderSize, end = header_size_ - 4;
  boxes_.reserve(box_count);
  for (uint32_t b = 0; b < box_count; ++b) {
    if (end - pos < 12) throw Error(MSIC_ERR_FORMAT, "corrupt MSIC header (box overruns)");
    uint8_t head[12];
    read_exact(pos, head, sizeof head, "header");
    BoxEntry e;
    memcpy(e.type.data(), head, 4);
    e.size = load_le64(head + 4);
    pos += 12;
    if (e.size > end - pos) throw Error(MSIC_ERR_FORMAT, "corrupt MSIC header (box overruns)");
    e.offset = pos;
    pos += e.size;
    boxes_.push_back(e);
  }
  if (pos != end) throw Error(MSIC_ERR_FORMAT, "corrupt MSIC header (trailing bytes)");
  box_data_.resize(boxes_.size());

  present_.assign(header_.tile_count(), false);
  try {
    const uint64_t index_offset = read_index();
    if (header_.version_minor >= 3) {
      try {
        read_levels(index_offset);
      } catch (const Error &) {
        // A damaged level directory: the image itself is intact.
        if (mode != OpenMode::kRecover) throw;
        levels_.clear();
      }
    }
  } catch (const Error &e) {
    if (mode != OpenMode::kRecover || frame_size() == 0 ||
        (e.status() != MSIC_ERR_FORMAT && e.status() != MSIC_ERR_CHECKSUM))
      throw;
    recover_index();
  }
}

uint64_t ContainerReader::read_index() {
  uint8_t trailer[kTrailerSize];
  read_exact(file_size_ - kTrailerSize, trailer, sizeof trailer, "trailer");
  if (memcmp(trailer + 24, kEndMagic, 8) != 0)
    throw Error(MSIC_ERR_FORMAT, "truncated or corrupt MSIC file (no trailer at the end)");
  if (load_le64(trailer + 16) != 0) throw Error(MSIC_ERR_FORMAT, "corrupt MSIC trailer (reserved bytes)");
  uint64_t index_offset = load_le64(trailer);
  uint64_t tile_count = load_le32(trailer + 8);
  if (tile_count != header_.tile_count())
    throw Error(MSIC_ERR_FORMAT, "corrupt MSIC file (tile count does not match the size)");
  uint64_t index_bytes = tile_count * kIndexEntrySize;
  if (index_offset < header_size_ || index_offset > file_size_ - kTrailerSize ||
      file_size_ - kTrailerSize - index_offset != index_bytes)
    throw Error(MSIC_ERR_FORMAT, "corrupt MSIC file (index out of place)");
  std::vector<uint8_t> index(index_bytes);
  read_exact(index_offset, index.data(), index.size(), "tile index");
  if (crc32(index.data(), index.size()) != load_le32(trailer + 12))
    throw Error(MSIC_ERR_CHECKSUM, "MSIC tile index fails its CRC-32 (corrupt file)");
  index_.resize(tile_count);
  for (uint64_t i = 0; i < tile_count; ++i) {
    const uint8_t *e = index.data() + i * kIndexEntrySize;
    TileEntry t{load_le64(e), load_le32(e + 8), load_le32(e + 12)};
    if (t.offset < header_size_ + frame_size() || t.offset > index_offset || t.length > index_offset - t.offset)
      throw Error(MSIC_ERR_FORMAT, "corrupt MSIC file (tile " + std::to_string(i) +
                                       " lies outside the tile area)");
    index_[i] = t;
    present_[i] = true;
  }
  // Tiles (frame and payload) may not share bytes: otherwise a small file
  // could declare a huge image whose tiles all point at one payload (a
  // decompression bomb).
  std::vector<const TileEntry *> by_offset;
  for (const TileEntry &t : index_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TileEntry *a, const TileEntry *b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->offset - frame_size() < by_offset[i - 1]->offset + by_offset[i - 1]->length)
      throw Error(MSIC_ERR_FORMAT, "corrupt MSIC file (two tiles share payload bytes)");
  return index_offset;
}

void ContainerReader::read_levels(uint64_t index_offset) {
  // A 1.3 file with reduced levels has their directory's locator in the 32
  // bytes before the index (after every tile); without it, it has none.
  // (A level has at most as many tiles as the image plus its width and
  // height in tiles, so all levels hold fewer than 2 x its tiles + 21.)
  if (index_offset - header_size_ < kLevelLocatorSize) return;
  uint8_t locator[kLevelLocatorSize];
  read_exact(index_offset - kLevelLocatorSize, locator, sizeof locator, "level locator");
  if (memcmp(locator, kLevelLocatorMagic, 8) != 0) return;
  if (load_le32(locator + 28) != 0) throw Error(MSIC_ERR_FORMAT, "corrupt MSIC file (level locator)");
  const uint64_t dir_offset = load_le64(locator + 8), dir_size = load_le64(locator + 16);
  const uint64_t dir_end = index_offset - kLevelLocatorSize;
  if (dir_offset < header_size_ || dir_offset > dir_end || dir_size != dir_end - dir_offset || dir_size < 4 ||
      dir_size > 4 + kMaxLevels * 8 + kIndexEntrySize * (2 * index_.size() + kMaxLevels + 1))
    throw Error(MSIC_ERR_FORMAT, "corrupt MSIC file (level directory out of place)");
  std::vector<uint8_t> dir(dir_size);
  read_exact(dir_offset, dir.data(), dir.size(), "level directory");
  if (crc32(dir.data(), dir.size()) != load_le32(locator + 24))
    throw Error(MSIC_ERR_CHECKSUM, "MSIC level directory fails its CRC-32 (corrupt file)");
  const uint32_t count = load_le32(dir.data());
  if (count > kMaxLevels) throw Error(MSIC_ERR_FORMAT, "corrupt MSIC file (too many levels)");
  size_t pos = 4;
  std::vector<const TileEntry *> by_offset;
  for (const TileEntry &t : index_) by_offset.push_back(&t);
  levels_.resize(count);
  for (uint32_t l = 0; l < count; ++l) {
    if (dir.size() - pos < 8) throw Error(MSIC_ERR_FORMAT, "corrupt MSIC file (level directory overruns)");
    const uint32_t scale = load_le32(dir.data() + pos), tiles = load_le32(dir.data() + pos + 4);
    pos += 8;
    if (scale == 0 || scale > kMaxLevels || (l && scale <= levels_[l - 1].shape.scale_log2))
      throw Error(MSIC_ERR_FORMAT, "corrupt MSIC file (level scales)");
    StoredLevel &level = levels_[l];
    level.shape = Level::of(header_, scale);
    if (tiles != level.shape.tile_count() || (dir.size() - pos) / kIndexEntrySize < tiles)
      throw Error(MSIC_ERR_FORMAT, "corrupt MSIC file (level tile count)");
    level.index.resize(tiles);
    for (uint32_t i = 0; i < tiles; ++i, pos += kIndexEntrySize) {
      const uint8_t *e = dir.data() + pos;
      const TileEntry t{load_le64(e), load_le32(e + 8), load_le32(e + 12)};
      if (t.offset < header_size_ + kTileFrameSize || t.offset > dir_offset || t.length > dir_offset - t.offset)
        throw Error(MSIC_ERR_FORMAT, "corrupt MSIC file (a level tile lies outside the tile area)");
      level.index[i] = t;
    }
  }
  if (pos != dir.size()) throw Error(MSIC_ERR_FORMAT, "corrupt MSIC file (level directory size)");
  for (const TileEntry &t : index_)
    if (t.offset + t.length > dir_offset)
      throw Error(MSIC_ERR_FORMAT, "corrupt MSIC file (a tile overlaps the level directory)");
  // No tile of any level shares bytes with another (read_index's rule).
  for (const StoredLevel &level : levels_)
    for (const TileEntry &t : level.index) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TileEntry *a, const TileEntry *b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->offset - kTileFrameSize < by_offset[i - 1]->offset + by_offset[i - 1]->length)
      throw Error(MSIC_ERR_FORMAT, "corrupt MSIC file (two tiles share payload bytes)");
}

void ContainerReader::recover_index() {
  // Walk the tile frames from the end of the header, as a writer appends
  // them, keeping every tile whose frame and payload are whole and whose
  // CRC holds; stop at the first thing that is not a frame.
  index_.assign(header_.tile_count(), TileEntry{});
  present_.assign(index_.size(), false);
  recovered_ = true;
  uint64_t pos = header_size_;
  uint8_t frame[kTileFrameSize];
  std::vector<uint8_t> payload;
  while (file_size_ - pos >= kTileFrameSize && read_at_(pos, frame, kTileFrameSize) == kTileFrameSize &&
         memcmp(frame, kTileFrameMagic, 4) == 0) {
    const uint64_t i = load_le32(frame + 4);
    const TileEntry t{pos + kTileFrameSize, load_le32(frame + 8), load_le32(frame + 12)};
    if (i >= index_.size() || t.length > file_size_ - t.offset) break;
    payload.resize(t.length);
    // No read for an empty payload: buf would be NULL (read_exact's rule).
    if (t.length && read_at_(t.offset, payload.data(), t.length) != t.length) break;
    if (crc32(payload.data(), payload.size()) == t.crc && !present_[i]) {
      index_[i] = t;
      present_[i] = true;
    }
    pos = t.offset + t.length;
  }
  tiles_missing_ = uint64_t(std::count(present_.begin(), present_.end(), false));
}

const std::vector<uint8_t> &ContainerReader::box_data(size_t i) const {
  if (i >= boxes_.size()) throw Error(MSIC_ERR_ARGUMENT, "box index out of range");
  std::lock_guard<std::mutex> lock(box_mutex_);
  if (!box_data_[i]) {
    auto data = std::make_unique<std::vector<uint8_t>>(size_t(boxes_[i].size));
    read_exact(boxes_[i].offset, data->data(), data->size(), "metadata box");
    box_data_[i] = std::move(data);
  }
  return *box_data_[i];
}

void ContainerReader::read_exact(uint64_t offset, void *buf, size_t size, const char *what) const {
  // Nothing to read (an empty box or payload): the read-at function is not
  // called, since buf may be NULL then.
  if (size == 0 && offset <= file_size_) return;
  if (offset > file_size_ || size > file_size_ - offset || read_at_(offset, buf, size) != size)
    throw Error(MSIC_ERR_FORMAT, std::string("truncated MSIC file (reading the ") + what + ")");
}

uint64_t ContainerReader::level_bytes(size_t l) const {
  if (l >= level_count()) throw Error(MSIC_ERR_ARGUMENT, "level out of range");
  const std::vector<TileEntry> &index = l ? levels_[l - 1].index : index_;
  uint64_t bytes = 0;
  for (const TileEntry &e : index) bytes += e.length + (l ? kTileFrameSize : frame_size());
  return bytes;
}

std::vector<uint8_t> ContainerReader::read_tile(uint64_t i, size_t level) const {
  if (level >= level_count()) throw Error(MSIC_ERR_ARGUMENT, "level out of range");
  const std::vector<TileEntry> &index = level ? levels_[level - 1].index : index_;
  if (i >= index.size()) throw Error(MSIC_ERR_ARGUMENT, "tile index out of range");
  if (!level && !present_[i])
    throw Error(MSIC_ERR_FORMAT, "tile " + std::to_string(i) + " is missing (the file is truncated or damaged)");
  // Frame (files 1.1 and later) and payload in one read; the frame must
  // agree with the index.
  const TileEntry &e = index[i];
  const size_t frame = level ? kTileFrameSize : frame_size();
  const char *magic = level ? kLevelTileFrameMagic : kTileFrameMagic;
  std::vector<uint8_t> data(frame + size_t(e.length));
  read_exact(e.offset - frame, data.data(), data.size(), "tile");
  if (frame && (memcmp(data.data(), magic, 4) != 0 || load_le32(data.data() + 4) != i ||
                load_le32(data.data() + 8) != e.length || load_le32(data.data() + 12) != e.crc))
    throw Error(MSIC_ERR_FORMAT, "tile " + std::to_string(i) + " does not match its index entry (corrupt file)");
  if (crc32(data.data() + frame, e.length) != e.crc)
    throw Error(MSIC_ERR_CHECKSUM, "tile " + std::to_string(i) + " fails its CRC-32 (corrupt file)");
  data.erase(data.begin(), data.begin() + long(frame));
  return data;
}

}  // namespace msic::format
