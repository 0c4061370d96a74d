// The MSIC container: write, read, random tile access and every bad input.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "container.h"
#include "errors.h"
#include "tile_payload.h"

using namespace msic;
using namespace msic::format;

namespace {
struct Written {
  Header header;
  std::vector<std::vector<uint8_t>> tiles;
  std::vector<uint8_t> bytes;
};

Written write_sample(uint32_t w = 1000, uint32_t h = 700, uint32_t tile = 256) {
  Written s;
  s.header.width = w;
  s.header.height = h;
  s.header.tile_size = tile;
  s.header.quality_centi = 6050;
  for (int i = 0; i < 32; ++i) s.header.model_hash[i] = uint8_t(i * 7);
  Box icc{{'I', 'C', 'C', 'P'}, std::vector<uint8_t>(300, 0x42)};
  Box unknown{{'Z', 'Z', 'Z', 'Z'}, {1, 2, 3}};
  s.header.boxes = {icc, unknown};
  std::mt19937 rng(5);
  ContainerWriter writer([&](const void *d, size_t n) {
    s.bytes.insert(s.bytes.end(), (const uint8_t *)d, (const uint8_t *)d + n);
    return true;
  }, s.header);
  writer.write_header();
  s.tiles.resize(s.header.tile_count());
  // Out of order on purpose: the index, not the position, says where a tile is.
  for (int64_t i = int64_t(s.tiles.size()) - 1; i >= 0; --i) {
    s.tiles[i].resize(10 + rng() % 500);
    for (auto &b : s.tiles[i]) b = uint8_t(rng());
    writer.write_tile(uint64_t(i), s.tiles[i]);
  }
  writer.finish();
  return s;
}

ContainerReader open(const std::vector<uint8_t> &bytes, int *reads = nullptr) {
  return ContainerReader(
      [&bytes, reads](uint64_t off, void *buf, size_t n) -> size_t {
        if (reads) ++*reads;
        if (off >= bytes.size()) return 0;
        n = std::min<size_t>(n, bytes.size() - off);
        memcpy(buf, bytes.data() + off, n);
        return n;
      },
      bytes.size());
}

msic_status status_of(const std::vector<uint8_t> &bytes) {
  try {
    ContainerReader r = open(bytes);
    for (uint64_t i = 0; i < r.header().tile_count(); ++i) r.read_tile(i);
    return MSIC_OK;
  } catch (const Error &e) {
    return e.status();
  }
}

void put32(std::vector<uint8_t> &b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = uint8_t(v >> (8 * i));
}
// Rewrites the header CRC so that a test can reach the checks behind it.
void fix_header_crc(std::vector<uint8_t> &b) {
  uint32_t header_size = b[12] | b[13] << 8 | b[14] << 16 | uint32_t(b[15]) << 24;
  put32(b, header_size - 4, crc32(b.data(), header_size - 4));
}
}  // namespace

TEST(Crc32, KnownVector) {
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(crc32("", 0), 0u);
}

TEST(Container, RoundTripWithBoxesAndRandomTileAccess) {
  Written s = write_sample();
  int reads = 0;
  ContainerReader r = open(s.bytes, &reads);
  EXPECT_EQ(r.header().width, 1000u);
  EXPECT_EQ(r.header().height, 700u);
  EXPECT_EQ(r.header().tiles_across(), 4u);
  EXPECT_EQ(r.header().tiles_down(), 3u);
  EXPECT_EQ(r.header().quality_centi, 6050u);
  EXPECT_EQ(r.header().model_hash, s.header.model_hash);
  ASSERT_EQ(r.box_count(), 2u);
  EXPECT_EQ(std::string(r.box_type(0).data(), 4), "ICCP");
  EXPECT_EQ(r.box_data(0), s.header.boxes[0].data);
  EXPECT_EQ(std::string(r.box_type(1).data(), 4), "ZZZZ");  // unknown boxes survive
  // One tile costs one read: nothing else is touched.
  int before = reads;
  EXPECT_EQ(r.read_tile(7), s.tiles[7]);
  EXPECT_EQ(reads, before + 1);
  for (uint64_t i : {11u, 0u, 5u}) EXPECT_EQ(r.read_tile(i), s.tiles[i]);
}

TEST(Container, FailingSinkIsAnIoError) {
  Header h;
  h.width = h.height = 64;
  h.tile_size = 64;
  ContainerWriter w([](const void *, size_t) { return false; }, h);
  try {
    w.write_header();
    FAIL();
  } catch (const Error &e) {
    EXPECT_EQ(e.status(), MSIC_ERR_IO);
  }
}

TEST(Container, EveryTruncationIsRefused) {
  Written s = write_sample(300, 200, 128);
  for (size_t n = 0; n < s.bytes.size(); n += (n < 200 ? 1 : 37)) {
    std::vector<uint8_t> cut(s.bytes.begin(), s.bytes.begin() + n);
    EXPECT_NE(status_of(cut), MSIC_OK) << "truncated to " << n;
  }
}

TEST(Container, WrongMagic) {
  Written s = write_sample();
  s.bytes[1] = 'X';
  EXPECT_EQ(status_of(s.bytes), MSIC_ERR_FORMAT);
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  png.resize(500);
  EXPECT_EQ(status_of(png), MSIC_ERR_FORMAT);
}

TEST(Container, UnknownMajorVersion) {
  Written s = write_sample();
  s.bytes[8] = 2;
  EXPECT_EQ(status_of(s.bytes), MSIC_ERR_VERSION);
}

TEST(Container, CorruptHeaderTileAndIndex) {
  Written s = write_sample();
  std::vector<uint8_t> b = s.bytes;
  b[100] ^= 1;  // inside the ICC box
  EXPECT_EQ(status_of(b), MSIC_ERR_CHECKSUM);
  b = s.bytes;
  ContainerReader r = open(s.bytes);
  b[r.tile_entry(3).offset + 2] ^= 0x10;
  EXPECT_EQ(status_of(b), MSIC_ERR_CHECKSUM);
  // Only the damaged tile is refused; the others still read.
  ContainerReader r2 = open(b);
  EXPECT_NO_THROW(r2.read_tile(2));
  EXPECT_THROW(r2.read_tile(3), Error);
  b = s.bytes;
  b[b.size() - 32 - 5] ^= 0xff;  // inside the index
  EXPECT_EQ(status_of(b), MSIC_ERR_CHECKSUM);
}

TEST(Container, AbsurdDimensionsAreRefusedBeforeAllocating) {
  Written s = write_sample();
  std::vector<uint8_t> b = s.bytes;
  put32(b, 16, 1000000);
  put32(b, 20, 1000000);  // 10^12 pixels
  fix_header_crc(b);
  EXPECT_EQ(status_of(b), MSIC_ERR_LIMIT);
  b = s.bytes;
  put32(b, 16, 0x7fffffff);
  fix_header_crc(b);
  EXPECT_EQ(status_of(b), MSIC_ERR_LIMIT);
  b = s.bytes;
  put32(b, 28, 17);  // tile size not a multiple of 16
  fix_header_crc(b);
  EXPECT_EQ(status_of(b), MSIC_ERR_FORMAT);
  b = s.bytes;
  put32(b, 76, 0xffffffff);  // box count
  fix_header_crc(b);
  EXPECT_EQ(status_of(b), MSIC_ERR_FORMAT);
}

TEST(Container, RandomByteFlipsNeverCrash) {
  Written s = write_sample(500, 300, 128);
  std::mt19937 rng(9);
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> b = s.bytes;
    b[rng() % b.size()] ^= uint8_t(1 + rng() % 255);
    EXPECT_NE(status_of(b), MSIC_OK);  // every byte is covered by a CRC or checked
  }
}

TEST(Container, WriterRejectsMissingTiles) {
  Header h;
  h.width = 200, h.height = 100, h.tile_size = 64;
  std::vector<uint8_t> out;
  ContainerWriter w([&](const void *, size_t) { return true; }, h);
  w.write_header();
  w.write_tile(0, {1, 2, 3});
  EXPECT_THROW(w.finish(), Error);
  EXPECT_THROW(w.write_tile(0, {1}), Error);
}

TEST(Container, TilesThatSharePayloadBytesAreRefused) {
  // A decompression bomb: every index entry points at tile 0's payload, so
  // a small file would declare an image far larger than its bytes.
  Written s = write_sample(300, 200, 128);
  ASSERT_EQ(status_of(s.bytes), MSIC_OK);
  const size_t trailer = s.bytes.size() - kTrailerSize;
  uint64_t index_offset = 0;
  for (int i = 0; i < 8; ++i) index_offset |= uint64_t(s.bytes[trailer + i]) << (8 * i);
  const uint64_t tiles = s.header.tile_count();
  std::vector<uint8_t> bomb = s.bytes;
  for (uint64_t t = 1; t < tiles; ++t)
    memcpy(bomb.data() + index_offset + t * kIndexEntrySize, bomb.data() + index_offset, kIndexEntrySize);
  put32(bomb, trailer + 12, crc32(bomb.data() + index_offset, tiles * kIndexEntrySize));
  EXPECT_EQ(status_of(bomb), MSIC_ERR_FORMAT);
  // Overlapping by one byte is refused too.
  std::vector<uint8_t> overlap = s.bytes;
  uint8_t *e1 = overlap.data() + index_offset + kIndexEntrySize;  // tile 1, written before tile 0
  uint32_t len1 = e1[8] | e1[9] << 8 | e1[10] << 16 | uint32_t(e1[11]) << 24;
  put32(overlap, index_offset + kIndexEntrySize + 8, len1 + 1);
  put32(overlap, trailer + 12, crc32(overlap.data() + index_offset, tiles * kIndexEntrySize));
  EXPECT_EQ(status_of(overlap), MSIC_ERR_FORMAT);
}

TEST(Container, LargeBoxesAreReadOnlyWhenAskedFor) {
  // Issue #16, finding 4: a 1 GiB unknown box cost 2.1 GB of memory to
  // open. The header is now checked in chunks and a box read on first use.
  Written s;
  s.header.width = s.header.height = 64;
  s.header.tile_size = 64;
  s.header.boxes = {Box{{'B', 'I', 'G', '!'}, std::vector<uint8_t>(24 << 20, 0x33)},
                    Box{{'X', 'M', 'P', ' '}, {'<', 'x', '/', '>'}}};
  ContainerWriter writer([&](const void *d, size_t n) {
    s.bytes.insert(s.bytes.end(), (const uint8_t *)d, (const uint8_t *)d + n);
    return true;
  }, s.header);
  writer.write_header();
  writer.write_tile(0, {1, 2, 3});
  writer.finish();
  size_t largest_read = 0;
  ContainerReader r(
      [&](uint64_t off, void *buf, size_t n) -> size_t {
        largest_read = std::max(largest_read, n);
        memcpy(buf, s.bytes.data() + off, n);
        return n;
      },
      s.bytes.size());
  EXPECT_LE(largest_read, size_t(1) << 20);  // the 24 MiB box was not read whole
  ASSERT_EQ(r.box_count(), 2u);
  EXPECT_EQ(r.box_size(0), uint64_t(24) << 20);
  EXPECT_EQ(r.box_data(1), std::vector<uint8_t>({'<', 'x', '/', '>'}));
  EXPECT_LE(largest_read, size_t(1) << 20);  // nor for reading another box
  EXPECT_EQ(r.box_data(0).size(), size_t(24) << 20);
}

TEST(Container, TooManyBoxesAreRefusedBeforeReadingThem) {
  // A header of 1-byte boxes cost 1.8 GB to open (finding 4).
  Header h;
  h.width = h.height = 64;
  h.tile_size = 64;
  h.boxes.assign(kMaxBoxes + 1, Box{{'t', 'i', 'n', 'y'}, {7}});
  ContainerWriter w([](const void *, size_t) { return true; }, h);
  try {
    w.write_header();
    FAIL() << "the writer wrote more boxes than a reader reads";
  } catch (const Error &e) {
    EXPECT_EQ(e.status(), MSIC_ERR_LIMIT);
  }
  // A reader refuses the count before it looks at any box (a header large
  // enough to hold that many box headers).
  Header big = h;
  big.boxes = {Box{{'p', 'a', 'd', ' '}, std::vector<uint8_t>(12 * (kMaxBoxes + 1))}};
  std::vector<uint8_t> bytes;
  ContainerWriter bw([&](const void *d, size_t n) {
    bytes.insert(bytes.end(), (const uint8_t *)d, (const uint8_t *)d + n);
    return true;
  }, big);
  bw.write_header();
  bw.write_tile(0, {1, 2, 3});
  bw.finish();
  put32(bytes, 76, kMaxBoxes + 1);
  fix_header_crc(bytes);
  EXPECT_EQ(status_of(bytes), MSIC_ERR_LIMIT);
}

TEST(Container, ATruncatedFileGivesBackItsWholeTilesWhenRecovering) {
  // Issue #16, finding 7: the index is at the end, so a partly copied file
  // could not be opened at all. Every payload has a frame before it, which
  // a recovering reader follows; a strict reader still refuses the file.
  Written s = write_sample(300, 200, 64);  // 5 x 4 tiles, written last to first
  const uint64_t tiles = s.header.tile_count();
  for (size_t cut : {s.bytes.size() - 1, s.bytes.size() / 2, s.bytes.size() / 5}) {
    std::vector<uint8_t> part(s.bytes.begin(), s.bytes.begin() + long(cut));
    EXPECT_NE(status_of(part), MSIC_OK) << cut;
    ContainerReader r(
        [&](uint64_t off, void *buf, size_t n) -> size_t {
          if (off >= part.size()) return 0;
          n = std::min<size_t>(n, part.size() - off);
          memcpy(buf, part.data() + off, n);
          return n;
        },
        part.size(), ContainerReader::OpenMode::kRecover);
    EXPECT_TRUE(r.recovered());
    uint64_t whole = 0;
    for (uint64_t i = 0; i < tiles; ++i) {
      if (!r.tile_present(i)) {
        EXPECT_THROW(r.read_tile(i), Error);
        continue;
      }
      ++whole;
      EXPECT_EQ(r.read_tile(i), s.tiles[i]) << "tile " << i << ", cut at " << cut;
    }
    EXPECT_EQ(whole + r.tiles_missing(), tiles);
    EXPECT_GT(whole, 0u) << cut;
    if (cut == s.bytes.size() - 1) EXPECT_EQ(r.tiles_missing(), 0u);  // only the trailer was lost
  }
  // An intact file opens the same way in both modes.
  ContainerReader whole_file = open(s.bytes);
  EXPECT_FALSE(whole_file.recovered());
}

TEST(Container, RecoveringNeverAsksToReadNothing) {
  // The fuzzer's recover-empty-frame input: a truncated file whose first
  // frame holds an empty payload made the recovering reader call the
  // read-at function with a NULL buffer and size 0 (memcpy from NULL).
  Header h;
  h.width = 128, h.height = 64, h.tile_size = 64;
  std::vector<uint8_t> bytes;
  ContainerWriter w([&](const void *d, size_t n) {
    bytes.insert(bytes.end(), (const uint8_t *)d, (const uint8_t *)d + n);
    return true;
  }, h);
  w.write_header();
  w.write_tile(0, {});
  w.write_tile(1, {4, 5, 6});
  w.finish();
  bytes.resize(bytes.size() - 1);  // the trailer is gone
  ContainerReader r(
      [&](uint64_t off, void *buf, size_t n) -> size_t {
        EXPECT_TRUE(n > 0 && buf) << "read of " << n << " bytes at " << off;
        if (off >= bytes.size()) return 0;
        n = std::min<size_t>(n, bytes.size() - off);
        memcpy(buf, bytes.data() + off, n);
        return n;
      },
      bytes.size(), ContainerReader::OpenMode::kRecover);
  EXPECT_TRUE(r.tile_present(0));
  EXPECT_TRUE(r.tile_present(1));
  EXPECT_EQ(r.read_tile(1), std::vector<uint8_t>({4, 5, 6}));
}

namespace {
// Whether parsing `p` as a tile payload header fails with `expect`.
bool refused(const std::vector<uint8_t> &p, msic_status expect = MSIC_ERR_FORMAT) {
  try {
    TilePayloadHeader::parse(p.data(), p.size());
  } catch (const Error &e) {
    return e.status() == expect;
  }
  return false;
}
}  // namespace

// The tile payload header (tile_codec 1): one part as version 2, more as
// version 3 with their sizes; a header whose parts do not fill the
// payload exactly, or that is cut short, is refused before any stream is read.
TEST(TilePayload, PartsRoundTripAndBadTablesAreRefused) {
  TilePayloadHeader h;
  h.coded_width = 512, h.coded_height = 512, h.escapes = 3;
  h.part_sizes = {8 + 4 * 10};
  std::vector<uint8_t> one;
  h.append_to(one);
  ASSERT_EQ(one.size(), TilePayloadHeader::kOnePartSize);
  EXPECT_EQ(one[0], 2);
  one.resize(one.size() + h.part_sizes[0]);
  const TilePayloadHeader back1 = TilePayloadHeader::parse(one.data(), one.size());
  EXPECT_EQ(back1.part_sizes, h.part_sizes);
  EXPECT_EQ(back1.size(), TilePayloadHeader::kOnePartSize);

  h.part_sizes = {8 + 4 * 10, 8, 8 + 4 * 3};
  std::vector<uint8_t> three;
  h.append_to(three);
  ASSERT_EQ(three.size(), 16u + 4 * 3);
  EXPECT_EQ(three[0], 3);
  EXPECT_EQ(three[12], 3);
  const size_t header = three.size();
  three.resize(header + 8 + 40 + 8 + 8 + 12);
  const TilePayloadHeader back3 = TilePayloadHeader::parse(three.data(), three.size());
  EXPECT_EQ(back3.part_sizes, h.part_sizes);
  EXPECT_EQ(back3.escapes, 3u);
  EXPECT_EQ(back3.size(), header);

  EXPECT_TRUE(refused(std::vector<uint8_t>(three.begin(), three.end() - 4))) << "parts longer than the payload";
  std::vector<uint8_t> longer = three;
  longer.resize(longer.size() + 4);
  EXPECT_TRUE(refused(longer)) << "bytes past the last part";
  std::vector<uint8_t> bad = three;
  bad[12] = 1;  // one part is version 2's layout
  EXPECT_TRUE(refused(bad));
  bad[12] = 17;
  EXPECT_TRUE(refused(bad));
  bad = three;
  bad[13] = 1;
  EXPECT_TRUE(refused(bad)) << "reserved bytes";
  bad = three;
  bad[16 + 4] = 4;  // the second part: 4 bytes, shorter than a coder's state
  EXPECT_TRUE(refused(bad));
  bad = three;
  bad[16] = 8 + 40 + 2;  // not whole words
  EXPECT_TRUE(refused(bad));
  bad = three;
  bad[16 + 3] = 0xff;  // a size near 4 GB: the sum must not wrap
  EXPECT_TRUE(refused(bad));
  EXPECT_TRUE(refused(std::vector<uint8_t>(three.begin(), three.begin() + 20))) << "part table cut short";
  bad = three;
  bad[0] = 5;
  EXPECT_TRUE(refused(bad, MSIC_ERR_VERSION)) << "a newer payload version is named as such";
}

// Version 4 (format 1.5): the border boost's sides and size, with one part
// or more; a boost without sides, sides without a boost, unknown side bits
// or a boost past the limit are refused.
TEST(TilePayload, BorderBoostRoundTripsAndBadBoostsAreRefused) {
  for (const std::vector<uint32_t> &sizes : {std::vector<uint32_t>{8 + 4 * 10}, std::vector<uint32_t>{8, 8 + 4 * 3}}) {
    TilePayloadHeader h;
    h.coded_width = 256, h.coded_height = 512, h.escapes = 1;
    h.part_sizes = sizes;
    h.boosted_sides = TilePayloadHeader::kSideLeft | TilePayloadHeader::kSideBottom;
    h.boost_eighths = 5;
    std::vector<uint8_t> p;
    h.append_to(p);
    ASSERT_EQ(p.size(), 16u + 4 * sizes.size());
    EXPECT_EQ(p[0], 4);
    EXPECT_EQ(p[12], sizes.size());
    for (uint32_t n : sizes) p.resize(p.size() + n);
    const TilePayloadHeader back = TilePayloadHeader::parse(p.data(), p.size());
    EXPECT_EQ(back.version, 4);
    EXPECT_EQ(back.boosted_sides, h.boosted_sides);
    EXPECT_EQ(back.boost_eighths, 5);
    EXPECT_EQ(back.part_sizes, sizes);
    EXPECT_EQ(back.size(), 16u + 4 * sizes.size());

    const struct {
      size_t at;
      uint8_t value;
      const char *what;
    } bad_bytes[] = {{13, 0, "version 4 without boosted sides"}, {13, 16, "an unknown side"},
                     {14, 0, "no boost"},  {14, TilePayloadHeader::kMaxBoost + 1, "a boost past the limit"},
                     {15, 1, "the reserved byte"}, {12, 0, "no parts"}};
    for (const auto &b : bad_bytes) {
      std::vector<uint8_t> bad = p;
      bad[b.at] = b.value;
      EXPECT_TRUE(refused(bad)) << b.what;
    }
  }
  TilePayloadHeader none;
  none.coded_width = none.coded_height = 64;
  none.part_sizes = {8};
  std::vector<uint8_t> p;
  none.append_to(p);
  EXPECT_EQ(p[0], 2) << "no boost: the earlier versions, byte for byte";
}
