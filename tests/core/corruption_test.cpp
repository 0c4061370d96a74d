// Damaged files (issue #16): every single-byte change and every truncation
// of a small multi-tile file gives a clear error or exactly the right
// pixels, tile by tile; a header cannot make padding decode as image; and
// tile payloads written before version 2 still decode.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>

#include "byte_order.h"
#include "container.h"
#include "test_support.h"
#include "tile_payload.h"

using test::Image;

namespace {
Image pattern(uint32_t w, uint32_t h) {
  Image im{w, h, 3, std::vector<uint8_t>(size_t(w) * h * 3)};
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x)
      for (uint32_t c = 0; c < 3; ++c) im.pixels[(size_t(y) * w + x) * 3 + c] = uint8_t(x * 5 + y * 3 + c * 70);
  return im;
}

struct Tiles {
  uint32_t across = 0, down = 0, tile = 0, bands = 0;
  std::vector<std::vector<uint8_t>> pixels;  // per tile, rows tile * bands bytes apart
  std::vector<msic_status> status;
};

// Opens `file` and decodes every tile on its own (or only those `wanted`
// says, leaving the others empty with MSIC_ERR_ARGUMENT).
Tiles decode_tiles(const std::vector<uint8_t> &file, msic_status *open_status,
                   const std::function<bool(size_t)> &wanted = nullptr) {
  Tiles t;
  msic_reader *r = nullptr;
  *open_status = msic_reader_new_memory(nullptr, file.data(), file.size(), &r);
  if (*open_status != MSIC_OK) return t;
  msic_file_info fi;
  msic_reader_get_info(r, &fi);
  t.across = fi.tiles_across, t.down = fi.tiles_down, t.tile = fi.tile_size, t.bands = fi.image.bands;
  for (uint32_t ty = 0; ty < t.down; ++ty)
    for (uint32_t tx = 0; tx < t.across; ++tx) {
      std::vector<uint8_t> px(size_t(t.tile) * t.tile * t.bands, 0);
      const size_t i = t.status.size();
      t.status.push_back(wanted && !wanted(i) ? MSIC_ERR_ARGUMENT
                                              : msic_reader_decode_tile(r, tx, ty, px.data(), size_t(t.tile) * t.bands));
      t.pixels.push_back(std::move(px));
    }
  msic_reader_close(r);
  return t;
}

uint64_t index_offset(const std::vector<uint8_t> &file) {
  return msic::format::load_le64(file.data() + file.size() - msic::format::kTrailerSize);
}

// Payload offset and length of tile i.
std::pair<uint64_t, uint32_t> payload_of(const std::vector<uint8_t> &file, uint64_t i) {
  const uint8_t *e = file.data() + index_offset(file) + i * msic::format::kIndexEntrySize;
  return {msic::format::load_le64(e), msic::format::load_le32(e + 8)};
}

// Rewrites the CRCs of the header and of tile i after a deliberate edit.
void fix_crcs(std::vector<uint8_t> &file, int64_t tile = -1) {
  using namespace msic::format;
  uint32_t header_size = load_le32(file.data() + 12);
  store_le32(file.data() + header_size - 4, crc32(file.data(), header_size - 4));
  if (tile >= 0) {
    auto [off, len] = payload_of(file, uint64_t(tile));
    uint8_t *e = file.data() + index_offset(file) + uint64_t(tile) * kIndexEntrySize;
    store_le32(e + 12, crc32(file.data() + off, len));
    store_le32(file.data() + off - 4, crc32(file.data() + off, len));  // the tile's frame
    uint32_t tiles = load_le32(file.data() + file.size() - kTrailerSize + 8);
    store_le32(file.data() + file.size() - kTrailerSize + 12,
               crc32(file.data() + index_offset(file), tiles * kIndexEntrySize));
  }
}
}  // namespace

TEST(Corruption, EverySingleByteChangeIsAnErrorOrTheRightPixels) {
  // Four tiles, three of them small, so that the ~10,000 variants decode
  // in seconds.
  const std::vector<uint8_t> file = test::encode(nullptr, pattern(80, 72), 50, 64);
  const uint32_t header_size = msic::format::load_le32(file.data() + 12);
  const uint64_t index_at = index_offset(file);
  msic_status s;
  const Tiles good = decode_tiles(file, &s);
  ASSERT_EQ(s, MSIC_OK);
  ASSERT_EQ(good.pixels.size(), 4u);
  for (msic_status ts : good.status) ASSERT_EQ(ts, MSIC_OK);

  size_t opened = 0, tile_errors = 0, intact_tiles = 0;
  for (size_t at = 0; at < file.size(); ++at)
    for (uint8_t change : {uint8_t(0x01), uint8_t(0x80), uint8_t(0xff)}) {
      // Payload bytes: every CRC-32 catches any one-byte change, so one
      // value each; the structure around them gets three.
      const bool payload = at >= header_size && at < index_at;
      if (payload && change != 0xff) continue;
      std::vector<uint8_t> bad = file;
      bad[at] ^= change;
      // A payload byte: decode its tile (which must fail) and, in turn,
      // one of the others (which must be exact); elsewhere every tile.
      size_t touched = SIZE_MAX;
      for (size_t i = 0; payload && i < good.pixels.size(); ++i) {
        auto [off, len] = payload_of(file, i);
        if (at >= off && at < off + len) touched = i;
      }
      const size_t other = (touched + 1 + at % (good.pixels.size() - 1)) % good.pixels.size();
      const Tiles t = decode_tiles(bad, &s, [&](size_t i) { return !payload || i == touched || i == other; });
      if (s != MSIC_OK) {
        EXPECT_STRNE(msic_last_error(), "") << "byte " << at;
        continue;
      }
      ++opened;
      ASSERT_EQ(t.pixels.size(), good.pixels.size()) << "byte " << at;
      if (touched != SIZE_MAX) EXPECT_NE(t.status[touched], MSIC_OK) << "byte " << at << " was not caught";
      for (size_t i = 0; i < t.pixels.size(); ++i) {
        if (payload && i != touched && i != other) continue;
        if (t.status[i] != MSIC_OK) {
          ++tile_errors;
          continue;
        }
        ++intact_tiles;
        EXPECT_EQ(t.pixels[i], good.pixels[i]) << "byte " << at << " ^ " << int(change) << ", tile " << i;
      }
    }
  // Changes in a payload leave the file open and fail that tile alone.
  EXPECT_GT(opened, 0u);
  EXPECT_GT(tile_errors, 0u);
  EXPECT_GT(intact_tiles, 0u);
}

TEST(Corruption, EveryTruncationIsAClearError) {
  const std::vector<uint8_t> file = test::encode(nullptr, pattern(100, 70), 50, 64);
  for (size_t n = 0; n < file.size(); ++n) {
    std::vector<uint8_t> cut(file.begin(), file.begin() + long(n));
    msic_status s;
    decode_tiles(cut, &s);
    EXPECT_NE(s, MSIC_OK) << n << " bytes";
    EXPECT_STRNE(msic_last_error(), "") << n << " bytes";
  }
}

TEST(Corruption, GeometryGrownInsideThePaddingIsRefused) {
  // Finding 5: 300x200 raised to 303x207 (CRCs recomputed) decoded padding
  // as image. A version 2 payload records its padding.
  std::vector<uint8_t> file = test::encode(nullptr, pattern(300, 200), 50);
  msic::format::store_le32(file.data() + 16, 303);
  msic::format::store_le32(file.data() + 20, 207);
  fix_crcs(file);
  msic_status s;
  const Tiles t = decode_tiles(file, &s);
  ASSERT_EQ(s, MSIC_OK);  // the container itself is consistent
  ASSERT_EQ(t.status.size(), 1u);
  EXPECT_EQ(t.status[0], MSIC_ERR_FORMAT);
  EXPECT_NE(std::string(msic_last_error()).find("tile size"), std::string::npos) << msic_last_error();
}

TEST(Corruption, PartsSwappedOrResizedAreErrors) {
  // One tile of 288 coded rows: two parts (payload version 3). Swapping
  // their streams, or moving a word from one to the other in the table
  // (the sizes still fill the payload), must be caught by the decoder.
  const std::vector<uint8_t> file = test::encode(nullptr, pattern(300, 280), 50, 512);
  auto [off, len] = payload_of(file, 0);
  const msic::format::TilePayloadHeader h = msic::format::TilePayloadHeader::parse(file.data() + off, len);
  ASSERT_EQ(h.version, 3);
  ASSERT_EQ(h.part_sizes.size(), 2u);
  const size_t at = off + h.size(), a = h.part_sizes[0], b = h.part_sizes[1];
  msic_status s;
  ASSERT_FALSE(test::decode(nullptr, file, &s).empty());

  std::vector<uint8_t> swapped = file;
  std::copy(file.begin() + long(at + a), file.begin() + long(at + a + b), swapped.begin() + long(at));
  std::copy(file.begin() + long(at), file.begin() + long(at + a), swapped.begin() + long(at + b));
  msic::format::store_le32(swapped.data() + off + 16, uint32_t(b));
  msic::format::store_le32(swapped.data() + off + 20, uint32_t(a));
  fix_crcs(swapped, 0);
  EXPECT_TRUE(test::decode(nullptr, swapped, &s).empty());
  EXPECT_EQ(s, MSIC_ERR_FORMAT) << msic_last_error();

  std::vector<uint8_t> moved = file;
  msic::format::store_le32(moved.data() + off + 16, uint32_t(a + 4));
  msic::format::store_le32(moved.data() + off + 20, uint32_t(b - 4));
  fix_crcs(moved, 0);
  EXPECT_TRUE(test::decode(nullptr, moved, &s).empty());
  EXPECT_EQ(s, MSIC_ERR_FORMAT) << msic_last_error();
}

TEST(Corruption, VersionOnePayloadsStillDecode) {
  // Files written before the padding was recorded: payload version 1 with
  // zeros in bytes 6 and 7 decode to the same pixels.
  const std::vector<uint8_t> file = test::encode_at_effort(pattern(100, 70), 1, 50, 64);  // (no border boost)
  std::vector<uint8_t> old = file;
  for (uint64_t i = 0; i < 4; ++i) {
    auto [off, len] = payload_of(old, i);
    ASSERT_EQ(old[off], 2);
    old[off] = 1;
    old[off + 6] = old[off + 7] = 0;
    fix_crcs(old, int64_t(i));
  }
  msic_status s;
  EXPECT_EQ(test::decode(nullptr, old, &s), test::decode(nullptr, file));
  EXPECT_EQ(s, MSIC_OK);
}

TEST(Corruption, Format10FilesWithoutFramesStillDecode) {
  // Files written before the tile frames (format 1.0: payloads one after
  // another, version 1 payload headers) decode to the same pixels.
  using namespace msic::format;
  const std::vector<uint8_t> file = test::encode_at_effort(pattern(100, 70), 1, 50, 64);  // (no border boost)
  const uint32_t header_size = load_le32(file.data() + 12);
  std::vector<uint8_t> old(file.begin(), file.begin() + header_size);
  store_le16(old.data() + 10, 0);  // version_minor
  store_le32(old.data() + header_size - 4, crc32(old.data(), header_size - 4));
  std::vector<uint8_t> index;
  const uint32_t tiles = load_le32(file.data() + file.size() - kTrailerSize + 8);
  for (uint64_t i = 0; i < tiles; ++i) {
    auto [off, len] = payload_of(file, i);
    std::vector<uint8_t> payload(file.begin() + long(off), file.begin() + long(off + len));
    payload[0] = 1;
    payload[6] = payload[7] = 0;
    uint8_t entry[kIndexEntrySize];
    store_le64(entry, old.size());
    store_le32(entry + 8, len);
    store_le32(entry + 12, crc32(payload.data(), payload.size()));
    index.insert(index.end(), entry, entry + kIndexEntrySize);
    old.insert(old.end(), payload.begin(), payload.end());
  }
  const uint64_t index_at = old.size();
  old.insert(old.end(), index.begin(), index.end());
  uint8_t trailer[kTrailerSize] = {};
  store_le64(trailer, index_at);
  store_le32(trailer + 8, tiles);
  store_le32(trailer + 12, crc32(index.data(), index.size()));
  memcpy(trailer + 24, kEndMagic, 8);
  old.insert(old.end(), trailer, trailer + kTrailerSize);

  msic_status s;
  EXPECT_EQ(test::decode(nullptr, old, &s), test::decode(nullptr, file));
  EXPECT_EQ(s, MSIC_OK) << msic_last_error();
}
