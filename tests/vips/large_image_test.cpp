// Large images through the libvips module: crops decode only their tiles,
// and encode and decode stream in bounded memory.
#include <cstdint>
#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <msic/msic.h>
#include <vips/vips.h>

#include "fixture.h"
#include "support.h"

using namespace msictest;

namespace {

// "msicload: <name>: N of M tiles decoded", which the loader logs (g_info,
// shown by --vips-info) when it closes.
bool TilesDecoded(const std::string& log, long* decoded, long* total) {
  std::smatch m;
  static const std::regex re("msicload: .*: ([0-9]+) of ([0-9]+) tiles decoded");
  if (!std::regex_search(log, m, re)) return false;
  *decoded = std::stol(m[1]);
  *total = std::stol(m[2]);
  return true;
}

// "...; of reduced level L, N": the tiles of the level the loader read.
bool LevelTilesDecoded(const std::string& log, long* level, long* decoded) {
  std::smatch m;
  static const std::regex re("tiles decoded; of reduced level ([0-9]+), ([0-9]+)");
  if (!std::regex_search(log, m, re)) return false;
  *level = std::stol(m[1]);
  *decoded = std::stol(m[2]);
  return true;
}

// libvips' peak of tracked pixel memory, printed by --vips-leak, in bytes.
double HighWaterBytes(const std::string& log) {
  std::smatch m;
  static const std::regex re("memory: high-water mark ([0-9.]+) (bytes|KB|MB|GB|TB)");
  if (!std::regex_search(log, m, re)) return -1;
  const std::string unit = m[2];
  double scale = unit == "bytes" ? 1 : unit == "KB" ? 1024.0 : unit == "MB" ? 1024.0 * 1024
               : unit == "GB" ? 1024.0 * 1024 * 1024 : 1024.0 * 1024 * 1024 * 1024;
  return std::stod(m[1]) * scale;
}

uint32_t Get32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t(b[at]) | uint32_t(b[at + 1]) << 8 | uint32_t(b[at + 2]) << 16 |
         uint32_t(b[at + 3]) << 24;
}
uint64_t Get64(const std::vector<uint8_t>& b, size_t at) {
  return uint64_t(Get32(b, at)) | uint64_t(Get32(b, at + 4)) << 32;
}
void Put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; i++) b[at + i] = uint8_t(v >> (8 * i));
}
void Append32(std::vector<uint8_t>& b, uint32_t v) { for (int i = 0; i < 4; i++) b.push_back(uint8_t(v >> (8 * i))); }
void Append64(std::vector<uint8_t>& b, uint64_t v) { for (int i = 0; i < 8; i++) b.push_back(uint8_t(v >> (8 * i))); }

// CRC-32 (IEEE 802.3, zlib's crc32), as formats/MSIC.md specifies.
uint32_t Crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// Builds a width x height MSIC file whose tile (tx, ty) is tile
// (tx % across, ty % down) of `source`, following formats/MSIC.md: the
// source's header with the new size and header CRC, every payload written
// out again in row-major order after its frame, a new index and trailer. Encoding an image
// this size would take minutes; this takes a moment and the tiles are real
// encoder output.
void TileUpMsic(const std::string& source, const std::string& dest, uint32_t width,
                uint32_t height) {
  const std::vector<uint8_t> src = ReadFileBytes(source);
  const msic_file_info info = FileInfo(source);
  const size_t n = src.size();
  const uint32_t header_size = Get32(src, 12);
  const uint64_t index_offset = Get64(src, n - 32);
  const uint32_t across = info.tiles_across, down = info.tiles_down, ts = info.tile_size;
  ASSERT_EQ(Get32(src, n - 24), across * down);
  ASSERT_EQ(width % ts, 0u);
  ASSERT_EQ(height % ts, 0u);
  ASSERT_EQ(info.image.width % ts, 0u);  // only full tiles get repeated
  ASSERT_EQ(info.image.height % ts, 0u);

  std::vector<uint8_t> out(src.begin(), src.begin() + header_size);
  Put32(out, 16, width);
  Put32(out, 20, height);
  Put32(out, header_size - 4, Crc32(out.data(), header_size - 4));

  std::vector<uint8_t> index;
  const uint32_t new_across = width / ts, new_down = height / ts;
  for (uint32_t ty = 0; ty < new_down; ty++)
    for (uint32_t tx = 0; tx < new_across; tx++) {
      const size_t entry = size_t(index_offset) + 16 * ((ty % down) * across + tx % across);
      const uint64_t offset = Get64(src, entry);
      const uint32_t length = Get32(src, entry + 8);
      ASSERT_LE(offset + length, index_offset);
      // The tile frame (format 1.1): TILE, tile number, length, CRC.
      out.insert(out.end(), {'T', 'I', 'L', 'E'});
      Append32(out, ty * new_across + tx);
      Append32(out, length);
      Append32(out, Get32(src, entry + 12));
      Append64(index, out.size());
      Append32(index, length);
      Append32(index, Get32(src, entry + 12));  // same bytes, same CRC
      out.insert(out.end(), src.begin() + long(offset), src.begin() + long(offset + length));
    }
  const uint64_t new_index_offset = out.size();
  out.insert(out.end(), index.begin(), index.end());
  Append64(out, new_index_offset);
  Append32(out, new_across * new_down);
  Append32(out, Crc32(index.data(), index.size()));
  Append64(out, 0);
  const char end_magic[8] = {'M', 'S', 'I', 'C', 'E', 'N', 'D', '\0'};
  out.insert(out.end(), end_magic, end_magic + 8);
  WriteFileBytes(dest, out);
}

// ------------------------------------------------------------ large images

// Encoding runs at roughly a megapixel a second here, so the image for the
// real encode is 4608 x 4096 (72 tiles): large enough that a crop touching
// 4 tiles is unmistakable, small enough to encode within the test budget.
TEST_F(VipsModule, CropOfAnEncodedImageDecodesOnlyItsTiles) {
  const std::string big_v = Path("big.v"), big = Path("big.msic"), crop = Path("crop.png");
  RunResult r = Exec({VipsExe(), "replicate", kodim_, big_v, "6", "8"});
  ASSERT_TRUE(r.ok()) << r.describe();

  // The encode streams: libvips' pixel buffers stay far below the image.
  r = Exec({VipsExe(), "--vips-leak", "copy", big_v, big + "[Q=50]"});
  ASSERT_TRUE(r.ok()) << r.describe();
  const double image_bytes = 4608.0 * 4096 * 3;
  const double save_peak = HighWaterBytes(r.out + r.err);
  ASSERT_GT(save_peak, 0) << r.describe();
  EXPECT_LT(save_peak, 0.25 * image_bytes) << r.describe();
  RecordProperty("encode_seconds", std::to_string(r.seconds));
  std::remove(big_v.c_str());  // 57 MB we no longer need

  const msic_file_info info = FileInfo(big);
  ASSERT_EQ(info.tiles_across * info.tiles_down, 72u);

  // x 2000..2299 and y 1500..1699 touch tile columns 3-4 and rows 2-3.
  r = Exec({VipsExe(), "--vips-info", "crop", big, crop, "2000", "1500", "300", "200"});
  ASSERT_TRUE(r.ok()) << r.describe();
  long decoded = -1, total = -1;
  ASSERT_TRUE(TilesDecoded(r.out + r.err, &decoded, &total)) << r.describe();
  EXPECT_EQ(total, 72);
  EXPECT_EQ(decoded, 4) << r.out;
  EXPECT_EQ(MaxAbsDiff(LoadWithVips(crop), DecodeRegionWithCApi(big, 2000, 1500, 300, 200)), 0);
}

// A 16384 x 16384 image (805 MB of pixels, 1024 tiles) assembled from real
// encoded tiles: a crop must decode 4 tiles, quickly, in a fraction of the
// memory the whole image would need.
TEST_F(VipsModule, CropOfAHugeImageReadsOnlyItsTiles) {
  const std::string src_v = Path("src.v"), src = Path("src.msic"), huge = Path("huge.msic");
  RunResult r = Exec({VipsExe(), "replicate", kodim_, Path("rep.v"), "2", "2"});
  ASSERT_TRUE(r.ok()) << r.describe();
  r = Exec({VipsExe(), "crop", Path("rep.v"), src_v, "0", "0", "1024", "1024"});
  ASSERT_TRUE(r.ok()) << r.describe();
  Copy(src_v, src + "[Q=0,tile_size=512]");
  TileUpMsic(src, huge, 16384, 16384);
  if (HasFatalFailure()) return;

  EXPECT_TRUE(Contains(Header(huge), "16384x16384 uchar, 3 bands, srgb, msicload")) << Header(huge);

  // x 5000..5599, y 7000..7399: tile columns 9-10, rows 13-14.
  const std::string crop = Path("crop.png");
  r = Exec({VipsExe(), "--vips-info", "--vips-leak", "crop", huge, crop, "5000", "7000", "600",
            "400"});
  ASSERT_TRUE(r.ok()) << r.describe();
  long decoded = -1, total = -1;
  ASSERT_TRUE(TilesDecoded(r.out + r.err, &decoded, &total)) << r.describe();
  EXPECT_EQ(total, 1024);
  EXPECT_EQ(decoded, 4) << r.out;
  EXPECT_LT(r.seconds, 60.0);
  EXPECT_LT(r.max_rss_kb, 400L * 1024) << "whole image would be 786432 KB";
  EXPECT_LT(HighWaterBytes(r.out + r.err), 64.0 * 1024 * 1024) << r.describe();
  EXPECT_FALSE(ReportsLeaks(r.err)) << r.describe();
  RecordProperty("huge_crop_seconds", std::to_string(r.seconds));
  RecordProperty("huge_crop_max_rss_kb", std::to_string(r.max_rss_kb));

  // The pixels are those of the source tiles the crop maps to.
  const Pixels got = LoadWithVips(crop);
  EXPECT_EQ(MaxAbsDiff(got, DecodeRegionWithCApi(huge, 5000, 7000, 600, 400)), 0);
  const Pixels src_pixels = DecodeWithCApi(src);
  Pixels expected{600, 400, 3, {}};
  for (int y = 0; y < 400; y++)
    for (int x = 0; x < 600; x++)
      for (int b = 0; b < 3; b++)
        expected.data.push_back(src_pixels.data[(size_t((7000 + y) % 1024) * 1024 +
                                                  size_t((5000 + x) % 1024)) * 3 + b]);
  EXPECT_EQ(MaxAbsDiff(got, expected), 0);
  std::remove(huge.c_str());
}

// Shrink-on-load: shrink=8 reads the file's 1/8 level and not one tile of
// the image; shrink=32 reads the smallest level (1/16) and halves it; both
// look like the full decode shrunk. vipsthumbnail takes the option too.
TEST_F(VipsModule, ShrinkOnLoadReadsAReducedLevel) {
  const std::string big = Path("big.msic");
  RunResult r = Exec({VipsExe(), "replicate", kodim_, Path("rep.v"), "4", "4"});  // 3072 x 2048
  ASSERT_TRUE(r.ok()) << r.describe();
  Copy(Path("rep.v"), big + "[Q=60,tile_size=256,overviews=3]");
  const msic_file_info info = FileInfo(big);
  ASSERT_EQ(info.levels, 2u) << "1/8 (384 x 256) and 1/16 (one tile)";
  const Pixels full = LoadWithVips(big);

  struct Case { int shrink; long level, tiles; int width, height; };
  for (const Case c : {Case{8, 1, 2, 384, 256}, Case{32, 2, 1, 96, 64}}) {
    SCOPED_TRACE("shrink " + std::to_string(c.shrink));
    // (A name per case: this process maps the .v files it loads.)
    const std::string out = Path("small" + std::to_string(c.shrink) + ".v");
    r = Exec({VipsExe(), "--vips-info", "copy", big + "[shrink=" + std::to_string(c.shrink) + "]", out});
    ASSERT_TRUE(r.ok()) << r.describe();
    long decoded = -1, total = -1, level = -1, level_tiles = -1;
    ASSERT_TRUE(TilesDecoded(r.out + r.err, &decoded, &total)) << r.describe();
    EXPECT_EQ(decoded, 0) << "no tile of the image itself";
    ASSERT_TRUE(LevelTilesDecoded(r.out + r.err, &level, &level_tiles)) << r.describe();
    EXPECT_EQ(level, c.level);
    EXPECT_EQ(level_tiles, c.tiles);
    const Pixels small = LoadWithVips(out);
    ASSERT_EQ(small.width, c.width);
    ASSERT_EQ(small.height, c.height);
    // The full decode block-averaged by the same factor.
    Pixels reduced{c.width, c.height, 3, {}};
    for (int y = 0; y < c.height; y++)
      for (int x = 0; x < c.width; x++)
        for (int b = 0; b < 3; b++) {
          double sum = 0;
          for (int yy = 0; yy < c.shrink; yy++)
            for (int xx = 0; xx < c.shrink; xx++)
              sum += full.data[(size_t(y * c.shrink + yy) * full.width + size_t(x * c.shrink + xx)) * 3 + b];
          reduced.data.push_back(uint8_t(sum / (c.shrink * c.shrink) + 0.5));
        }
    EXPECT_GT(Psnr(small, reduced), 30.0);
  }

  r = Exec({VipsthumbnailExe(), "--vips-info", big + "[shrink=16]", "-s", "100", "-o", Path("thumb.png")});
  ASSERT_TRUE(r.ok()) << r.describe();
  long decoded = -1, total = -1;
  ASSERT_TRUE(TilesDecoded(r.out + r.err, &decoded, &total)) << r.describe();
  EXPECT_EQ(decoded, 0);
  EXPECT_EQ(LoadWithVips(Path("thumb.png")).width, 100);

  r = Exec({VipsExe(), "copy", big + "[shrink=3]", Path("bad.v")});
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.err, "power of two")) << r.describe();
}

// Decoding a whole image streams: libvips holds a few tile rows, not the
// image (the tile cache keeps 2.5 rows of tiles).
TEST_F(VipsModule, DecodeStreamsInBoundedMemory) {
  const std::string tall_v = Path("tall.v"), tall = Path("tall.msic");
  RunResult r = Exec({VipsExe(), "replicate", kodim_, tall_v, "1", "16"});  // 768 x 8192
  ASSERT_TRUE(r.ok()) << r.describe();
  Copy(tall_v, tall + "[Q=50,tile_size=256]");
  std::remove(tall_v.c_str());
  r = Exec({VipsExe(), "--vips-leak", "--vips-info", "avg", tall});
  ASSERT_TRUE(r.ok()) << r.describe();
  const double image_bytes = 768.0 * 8192 * 3;
  const double peak = HighWaterBytes(r.out + r.err);
  ASSERT_GT(peak, 0) << r.describe();
  EXPECT_LT(peak, 0.25 * image_bytes) << r.describe();
  long decoded = -1, total = -1;
  ASSERT_TRUE(TilesDecoded(r.out + r.err, &decoded, &total)) << r.describe();
  EXPECT_EQ(total, 3 * 32);
  EXPECT_EQ(decoded, total) << "every tile exactly once";
}

}  // namespace
