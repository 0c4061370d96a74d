// Tests of the libvips module (vips-msic.so) through the real vips,
// vipsheader and vipsthumbnail programs, checked against the MSIC C API.
//
// ctest runs them with VIPSHOME pointing at the staging prefix the module is
// built into (see plugin-vips/CMakeLists.txt), so the programs, and libvips
// inside this process, load the module of this tree. The Installed.* tests
// run without VIPSHOME against the module installed in the system libvips
// folder, and skip when there is none.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <msic/msic.h>
#include <vips/vips.h>

#include "support.h"

using namespace msictest;

namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The first box of that type, as bytes; empty optional-like flag via `found`.
std::vector<uint8_t> FindBox(const std::string& path, const char type[4], bool* found) {
  msic_reader* r = msic_reader_open_file(nullptr, path.c_str());
  if (!r) throw std::runtime_error("cannot open " + path + ": " + msic_last_error());
  msic_box box;
  std::vector<uint8_t> bytes;
  *found = msic_reader_find_box(r, type, &box) == MSIC_OK;
  if (*found) bytes.assign(box.data, box.data + box.size);
  msic_reader_close(r);
  return bytes;
}

msic_file_info FileInfo(const std::string& path) {
  msic_reader* r = msic_reader_open_file(nullptr, path.c_str());
  if (!r) throw std::runtime_error("cannot open " + path + ": " + msic_last_error());
  msic_file_info info;
  msic_status st = msic_reader_get_info(r, &info);
  msic_reader_close(r);
  if (st != MSIC_OK) throw std::runtime_error("cannot read info of " + path);
  return info;
}

double ReadF64Le(const uint8_t* p) {
  uint64_t bits = 0;
  for (int i = 7; i >= 0; i--) bits = (bits << 8) | p[i];
  double v;
  std::memcpy(&v, &bits, 8);
  return v;
}

std::vector<uint8_t> BlobOf(VipsImage* image, const char* field) {
  const void* data = nullptr;
  size_t length = 0;
  if (!vips_image_get_typeof(image, field) || vips_image_get_blob(image, field, &data, &length))
    return {};
  const uint8_t* p = static_cast<const uint8_t*>(data);
  return std::vector<uint8_t>(p, p + length);
}

// A minimal EXIF block as libvips stores it: "Exif\0\0", a little-endian
// TIFF header and IFD0 holding one Artist (0x013b) ASCII entry.
std::vector<uint8_t> MakeExif(const std::string& artist) {
  std::vector<uint8_t> b = {'E', 'x', 'i', 'f', 0, 0};
  auto u16 = [&](unsigned v) { b.push_back(v & 0xff); b.push_back((v >> 8) & 0xff); };
  auto u32 = [&](unsigned v) { for (int i = 0; i < 4; i++) b.push_back((v >> (8 * i)) & 0xff); };
  const unsigned count = static_cast<unsigned>(artist.size() + 1);
  b.push_back('I'); b.push_back('I'); u16(42); u32(8);   // TIFF header, IFD0 at 8
  u16(1);                                                 // one entry
  u16(0x013b); u16(2); u32(count); u32(8 + 2 + 12 + 4);   // Artist, ASCII, data after IFD
  u32(0);                                                 // no IFD1
  for (char c : artist) b.push_back(static_cast<uint8_t>(c));
  b.push_back(0);
  return b;
}

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

// What --vips-leak reports on exit when objects, tracked memory or files
// were left behind.
bool ReportsLeaks(const std::string& log) {
  return Contains(log, "objects alive") || Contains(log, "allocations,") ||
         Contains(log, "files:");
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
// out again in row-major order, a new index and trailer. Encoding an image
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

class VipsModule : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshWorkDir();
    kodim_ = DataFile("kodim23.png");
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // vips copy <in> <out>, asserting success.
  void Copy(const std::string& in, const std::string& out) {
    RunResult r = Exec({VipsExe(), "copy", in, out});
    ASSERT_TRUE(r.ok()) << "vips copy " << in << " " << out << ": " << r.describe();
  }

  std::string Header(const std::string& file, const std::string& field = "") {
    std::vector<std::string> argv = {VipsheaderExe()};
    if (!field.empty()) { argv.push_back("-f"); argv.push_back(field); }
    argv.push_back(file);
    RunResult r = Exec(argv);
    EXPECT_TRUE(r.ok()) << "vipsheader " << field << " " << file << ": " << r.describe();
    return r.out;
  }

  std::string dir_;
  std::string kodim_;
};

// ------------------------------------------------------------ registration

TEST_F(VipsModule, ListsAllOperations) {
  RunResult r = Exec({VipsExe(), "-l"});
  ASSERT_TRUE(r.ok()) << r.describe();
  for (const char* op : {"msicload", "msicload_buffer", "msicload_source", "msicsave",
                         "msicsave_buffer", "msicsave_target"})
    EXPECT_TRUE(Contains(r.out, std::string("(") + op + ")")) << op << " missing from vips -l";
  EXPECT_TRUE(Contains(r.out, "(.msic)")) << r.out;

  // The saver documents its options like any libvips saver.
  RunResult help = Exec({VipsExe(), "msicsave"});
  for (const char* option : {"Q ", "tile-size", "threads", "strip", "background"})
    EXPECT_TRUE(Contains(help.out + help.err, option)) << option << "\n" << help.describe();
  RunResult load_help = Exec({VipsExe(), "msicload"});
  for (const char* option : {"fail-on", "access"})
    EXPECT_TRUE(Contains(load_help.out + load_help.err, option)) << load_help.describe();
}

// -------------------------------------------------------------- round trip

TEST_F(VipsModule, RoundTripMatchesCApiDecode) {
  const std::string msic = Path("out.msic"), back = Path("back.png");
  RunResult save = Exec({VipsExe(), "--vips-leak", "copy", kodim_, msic + "[Q=70]"});
  ASSERT_TRUE(save.ok()) << save.describe();
  EXPECT_FALSE(ReportsLeaks(save.err)) << save.describe();

  msic_file_info info = FileInfo(msic);
  EXPECT_EQ(info.image.width, 768u);
  EXPECT_EQ(info.image.height, 512u);
  EXPECT_EQ(info.image.bands, 3u);
  EXPECT_NEAR(info.quality, 70.0, 1e-3);
  EXPECT_EQ(info.tile_size, 512u);

  EXPECT_TRUE(Contains(Header(msic), "768x512 uchar, 3 bands, srgb, msicload")) << Header(msic);
  EXPECT_NEAR(std::stod(Header(msic, "msic-quality")), 70.0, 1e-3);
  EXPECT_EQ(std::stoi(Header(msic, "msic-tile-size")), 512);

  RunResult load = Exec({VipsExe(), "--vips-leak", "copy", msic, back});
  ASSERT_TRUE(load.ok()) << load.describe();
  EXPECT_FALSE(ReportsLeaks(load.err)) << load.describe();
  Pixels original = LoadWithVips(kodim_);
  Pixels through_vips = LoadWithVips(back);
  Pixels through_capi = DecodeWithCApi(msic);
  ASSERT_EQ(through_vips.width, 768);
  ASSERT_EQ(through_vips.height, 512);
  ASSERT_EQ(through_vips.bands, 3);
  // The module adds nothing of its own to the pixels.
  EXPECT_EQ(MaxAbsDiff(through_vips, through_capi), 0);
  const double psnr_vips = Psnr(original, through_vips);
  const double psnr_capi = Psnr(original, through_capi);
  EXPECT_DOUBLE_EQ(psnr_vips, psnr_capi);
  // A sanity floor: a broken pipeline (wrong stride, swapped bands) lands
  // far below it.
  EXPECT_GT(psnr_vips, 22.0);
  RecordProperty("psnr_q70", std::to_string(psnr_vips));

  // The operations by name, with their options: msicsave (the file
  // writer) and msicload with the usual load options.
  const std::string named = Path("named.msic"), named_back = Path("named_back.png");
  RunResult r = Exec({VipsExe(), "msicsave", kodim_, named, "--Q", "70", "--tile-size", "256"});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(FileInfo(named).tile_size, 256u);
  EXPECT_NEAR(FileInfo(named).quality, 70.0, 1e-3);
  r = Exec({VipsExe(), "msicload", named, named_back, "--access", "sequential", "--fail-on",
            "warning"});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(MaxAbsDiff(LoadWithVips(named_back), DecodeWithCApi(named)), 0);
}

TEST_F(VipsModule, QualityAndTileSizeReachTheEncoder) {
  const std::string low = Path("q30.msic"), high = Path("q90.msic");
  Copy(kodim_, low + "[Q=30,tile_size=256]");
  Copy(kodim_, high + "[Q=90,tile_size=256]");
  msic_file_info info = FileInfo(low);
  EXPECT_NEAR(info.quality, 30.0, 1e-3);
  EXPECT_EQ(info.tile_size, 256u);
  EXPECT_EQ(info.tiles_across, 3u);
  EXPECT_EQ(info.tiles_down, 2u);
  EXPECT_NEAR(FileInfo(high).quality, 90.0, 1e-3);
  EXPECT_LT(ReadFileBytes(low).size(), ReadFileBytes(high).size());

  // threads only changes how the encoder works, not what it writes.
  Copy(kodim_, Path("t1.msic") + "[Q=30,tile_size=256,threads=1]");
  EXPECT_EQ(MaxAbsDiff(DecodeWithCApi(Path("t1.msic")), DecodeWithCApi(low)), 0);

  // A tile size in range but not a multiple of 16 is refused, and the file
  // the target created for it does not stay behind. (Values outside an
  // argument's declared range are libvips' business: it warns and keeps
  // the default.)
  const std::string out = Path("bad.msic");
  RunResult r = Exec({VipsExe(), "copy", kodim_, out + "[tile_size=100]"});
  EXPECT_TRUE(r.exited && r.exit_code != 0) << r.describe();
  EXPECT_TRUE(Contains(r.err, "tile_size")) << r.describe();
  EXPECT_FALSE(FileExists(out));
  r = Exec({VipsExe(), "msicsave", kodim_, out, "--tile-size", "100"});
  EXPECT_TRUE(r.exited && r.exit_code != 0) << r.describe();
  EXPECT_FALSE(FileExists(out));
}

TEST_F(VipsModule, GreyStaysOneBandBW) {
  const std::string grey = Path("grey.png"), msic = Path("grey.msic"), back = Path("back.png");
  RunResult r = Exec({VipsExe(), "colourspace", kodim_, grey, "b-w"});
  ASSERT_TRUE(r.ok()) << r.describe();
  Copy(grey, msic);
  EXPECT_EQ(FileInfo(msic).image.bands, 1u);
  EXPECT_TRUE(Contains(Header(msic), "768x512 uchar, 1 band, b-w, msicload")) << Header(msic);
  Copy(msic, back);
  EXPECT_TRUE(Contains(Header(back), "1 band, b-w")) << Header(back);
  EXPECT_EQ(MaxAbsDiff(LoadWithVips(back), DecodeWithCApi(msic)), 0);
}

TEST_F(VipsModule, SixteenBitInputIsShiftedToEightBits) {
  const std::string rgb16 = Path("k16.png");
  RunResult r = Exec({VipsExe(), "colourspace", kodim_, rgb16, "rgb16"});
  ASSERT_TRUE(r.ok()) << r.describe();
  ASSERT_TRUE(Contains(Header(rgb16), "ushort, 3 bands, rgb16")) << Header(rgb16);
  Copy(rgb16, Path("k16.msic"));
  Copy(kodim_, Path("k8.msic"));
  // RGB16 from 8-bit is v * 257, so the top 8 bits are the original: both
  // files code the same pixels.
  EXPECT_EQ(MaxAbsDiff(DecodeWithCApi(Path("k16.msic")), DecodeWithCApi(Path("k8.msic"))), 0);
}

TEST_F(VipsModule, AlphaIsFlattenedWithAWarning) {
  const std::string rgba = Path("rgba.png"), msic = Path("rgba.msic");
  RunResult r = Exec({VipsExe(), "bandjoin_const", kodim_, rgba, "255"});
  ASSERT_TRUE(r.ok()) << r.describe();
  RunResult save = Exec({VipsExe(), "copy", rgba, msic});
  ASSERT_TRUE(save.ok()) << save.describe();
  EXPECT_TRUE(Contains(save.err, "alpha")) << "flattening must not be silent: " << save.describe();
  EXPECT_EQ(FileInfo(msic).image.bands, 3u);

  // No warning when nothing is lost.
  RunResult plain = Exec({VipsExe(), "copy", kodim_, Path("plain.msic")});
  ASSERT_TRUE(plain.ok()) << plain.describe();
  EXPECT_FALSE(Contains(plain.err, "alpha")) << plain.describe();
}

TEST_F(VipsModule, FloatAndOtherFormatsAreRefused) {
  // float: gaussnoise makes a float image.
  {
    RunResult mk = Exec({VipsExe(), "gaussnoise", Path("f.v"), "64", "64"});
    ASSERT_TRUE(mk.ok()) << mk.describe();
    RunResult r = Exec({VipsExe(), "copy", Path("f.v"), Path("f.msic")});
    EXPECT_TRUE(r.exited && r.exit_code != 0) << r.describe();
    EXPECT_TRUE(Contains(r.err, "msicsave")) << r.describe();
    EXPECT_TRUE(Contains(r.err, "float")) << r.describe();
    EXPECT_FALSE(FileExists(Path("f.msic")));
  }
  // 16-bit data that is not RGB16/grey16 (here: a plain ushort image) would
  // be clipped by a cast: refused as well.
  {
    RunResult mk = Exec({VipsExe(), "cast", kodim_, Path("u.v"), "ushort"});
    ASSERT_TRUE(mk.ok()) << mk.describe();
    RunResult r = Exec({VipsExe(), "copy", Path("u.v"), Path("u.msic")});
    EXPECT_TRUE(r.exited && r.exit_code != 0) << r.describe();
    EXPECT_TRUE(Contains(r.err, "ushort")) << r.describe();
    EXPECT_FALSE(FileExists(Path("u.msic")));
  }
  // Nothing half-written is left behind.
  for (const auto& name : ListDir(dir_))
    EXPECT_TRUE(name == "f.v" || name == "u.v") << "left over: " << name;
}

// ---------------------------------------------------------------- metadata

TEST_F(VipsModule, MetadataSurvivesAndStripRemovesIt) {
  const std::string artist = "MSIC test artist";
  const std::string xmp_text =
      "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
      "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"/></x:xmpmeta>";
  const std::vector<uint8_t> xmp(xmp_text.begin(), xmp_text.end());
  const std::vector<uint8_t> exif = MakeExif(artist);
  const double res = 11.811;  // 300 dpi in pixels per mm
  const std::string in = Path("meta_in.v");

  // Input with an ICC profile (icc_transform attaches the one it used),
  // EXIF, XMP and a resolution, kept in a .v file, which stores them all.
  std::vector<uint8_t> icc;
  {
    VipsImage* kodim = vips_image_new_from_file(kodim_.c_str(), NULL);
    ASSERT_NE(kodim, nullptr) << vips_error_buffer();
    VipsImage* tagged = nullptr;
    VipsImage* x = nullptr;
    ASSERT_EQ(vips_icc_transform(kodim, &tagged, "srgb", NULL), 0) << vips_error_buffer();
    ASSERT_EQ(vips_copy(tagged, &x, "xres", res, "yres", res, NULL), 0) << vips_error_buffer();
    vips_image_set_blob_copy(x, VIPS_META_EXIF_NAME, exif.data(), exif.size());
    vips_image_set_blob_copy(x, VIPS_META_XMP_NAME, xmp.data(), xmp.size());
    icc = BlobOf(x, VIPS_META_ICC_NAME);
    ASSERT_EQ(vips_image_write_to_file(x, in.c_str(), NULL), 0) << vips_error_buffer();
    g_object_unref(x);
    g_object_unref(tagged);
    g_object_unref(kodim);
  }
  ASSERT_GT(icc.size(), 100u);
  // The .v file keeps the resolution as a float: that is what we save.
  double stored_res = 0;
  {
    VipsImage* image = vips_image_new_from_file(in.c_str(), NULL);
    ASSERT_NE(image, nullptr) << vips_error_buffer();
    stored_res = image->Xres;
    g_object_unref(image);
  }
  ASSERT_NEAR(stored_res, res, 1e-5);

  const std::string msic = Path("meta.msic");
  Copy(in, msic);

  // In the file, through the C API.
  bool found = false;
  EXPECT_EQ(FindBox(msic, MSIC_BOX_ICC, &found), icc);
  EXPECT_TRUE(found);
  EXPECT_EQ(FindBox(msic, MSIC_BOX_XMP, &found), xmp);
  EXPECT_TRUE(found);
  std::vector<uint8_t> exif_box = FindBox(msic, MSIC_BOX_EXIF, &found);
  ASSERT_TRUE(found);
  EXPECT_TRUE(Contains(std::string(exif_box.begin(), exif_box.end()), artist));
  EXPECT_EQ(std::string(exif_box.begin(), exif_box.begin() + 6), std::string("Exif\0\0", 6));
  std::vector<uint8_t> resl = FindBox(msic, MSIC_BOX_RESOLUTION, &found);
  ASSERT_TRUE(found);
  ASSERT_EQ(resl.size(), 16u);
  EXPECT_DOUBLE_EQ(ReadF64Le(resl.data()), stored_res);
  EXPECT_DOUBLE_EQ(ReadF64Le(resl.data() + 8), stored_res);

  // What the loader makes of it, through the real programs.
  EXPECT_TRUE(Contains(Header(msic, "exif-ifd0-Artist"), artist));
  EXPECT_DOUBLE_EQ(std::stod(Header(msic, "xres")), stored_res);
  const std::string back = Path("meta_back.v");
  Copy(msic, back);
  {
    VipsImage* image = vips_image_new_from_file(back.c_str(), NULL);
    ASSERT_NE(image, nullptr) << vips_error_buffer();
    EXPECT_EQ(BlobOf(image, VIPS_META_ICC_NAME), icc);
    EXPECT_EQ(BlobOf(image, VIPS_META_XMP_NAME), xmp);
    EXPECT_FALSE(BlobOf(image, VIPS_META_EXIF_NAME).empty());
    const char* value = nullptr;
    ASSERT_EQ(vips_image_get_string(image, "exif-ifd0-Artist", &value), 0) << vips_error_buffer();
    EXPECT_TRUE(Contains(value, artist)) << value;
    // Savers that rebuild EXIF (the .v one here) round the resolution to
    // an EXIF rational and read it back: libvips' own small drift.
    EXPECT_NEAR(image->Xres, res, 1e-4);
    EXPECT_NEAR(image->Yres, res, 1e-4);
    EXPECT_EQ(image->Type, VIPS_INTERPRETATION_sRGB);
    g_object_unref(image);
  }

  // strip drops ICC, EXIF and XMP; the resolution is geometry and stays.
  const std::string stripped = Path("stripped.msic");
  Copy(in, stripped + "[strip]");
  FindBox(stripped, MSIC_BOX_ICC, &found);
  EXPECT_FALSE(found);
  FindBox(stripped, MSIC_BOX_EXIF, &found);
  EXPECT_FALSE(found);
  FindBox(stripped, MSIC_BOX_XMP, &found);
  EXPECT_FALSE(found);
  resl = FindBox(stripped, MSIC_BOX_RESOLUTION, &found);
  ASSERT_TRUE(found);
  ASSERT_EQ(resl.size(), 16u);
  EXPECT_DOUBLE_EQ(ReadF64Le(resl.data()), stored_res);

  // And an image that never had EXIF does not get one invented.
  const std::string plain = Path("plain.msic");
  Copy(kodim_, plain);
  FindBox(plain, MSIC_BOX_EXIF, &found);
  EXPECT_FALSE(found);
}

// Boxes the loader cannot use are warnings, and errors under fail_on=warning,
// as with other libvips loaders. The files come straight from the C API.
TEST_F(VipsModule, MalformedMetadataWarnsOrFailsPerFailOn) {
  std::vector<uint8_t> pixels(64 * 64);
  for (size_t i = 0; i < pixels.size(); i++) pixels[i] = uint8_t(i * 7);
  msic_image_info info{64, 64, 1, 8};
  msic_encode_options opts;
  msic_encode_options_init(&opts);
  opts.tile_size = 64;

  struct Case { const char* name; const char* type; std::vector<uint8_t> data; const char* says; };
  const std::vector<Case> cases = {
      {"resl", MSIC_BOX_RESOLUTION, {1, 2, 3}, "resolution"},
      {"exif", MSIC_BOX_EXIF, {'E', 'x', 0}, "EXIF"},  // libexif takes most garbage, not this
  };
  for (const auto& c : cases) {
    msic_box box;
    std::memcpy(box.type, c.type, 4);
    box.data = c.data.data();
    box.size = c.data.size();
    uint8_t* bytes = nullptr;
    size_t size = 0;
    ASSERT_EQ(msic_encode_to_memory(nullptr, &info, pixels.data(), 64, &opts, &box, 1, &bytes, &size),
              MSIC_OK)
        << msic_last_error();
    const std::string file = Path(std::string(c.name) + ".msic");
    WriteFileBytes(file, std::vector<uint8_t>(bytes, bytes + size));
    msic_free(bytes);

    RunResult r = Exec({VipsExe(), "copy", file, Path(std::string(c.name) + ".png")});
    EXPECT_TRUE(r.ok()) << c.name << ": " << r.describe();
    EXPECT_TRUE(Contains(r.err, c.says)) << c.name << ": " << r.describe();
    r = Exec({VipsExe(), "msicload", file, Path(std::string(c.name) + "_strict.png"), "--fail-on",
              "warning"});
    EXPECT_TRUE(r.exited && r.exit_code != 0) << c.name << ": " << r.describe();
    EXPECT_TRUE(Contains(r.err, "msicload")) << c.name << ": " << r.describe();
  }
}

// ------------------------------------------------- target, source, buffer

TEST_F(VipsModule, TargetAndSourceStreams) {
  const std::string file = Path("file.msic"), streamed = Path("stream.msic");
  Copy(kodim_, file + "[Q=70]");

  // ".msic" as the output name writes to stdout through msicsave_target.
  RunResult r = Exec({VipsExe(), "copy", kodim_, ".msic[Q=70]"}, "", streamed);
  ASSERT_TRUE(r.ok()) << r.describe();
  std::vector<uint8_t> bytes = ReadFileBytes(streamed);
  ASSERT_GE(bytes.size(), 8u);
  EXPECT_TRUE(msic_identify(bytes.data(), bytes.size()));
  EXPECT_NEAR(FileInfo(streamed).quality, 70.0, 1e-3);
  const Pixels from_file = DecodeWithCApi(file);
  EXPECT_EQ(MaxAbsDiff(DecodeWithCApi(streamed), from_file), 0);

  // "stdin" loads through msicload_source: from a file on stdin ...
  r = Exec({VipsExe(), "--vips-leak", "copy", "stdin", Path("from_stdin.png")}, file);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_FALSE(ReportsLeaks(r.err)) << r.describe();
  EXPECT_EQ(MaxAbsDiff(LoadWithVips(Path("from_stdin.png")), from_file), 0);

  // ... and from a pipe, which cannot seek (the index is at the end).
  r = Shell("cat '" + file + "' | '" + VipsExe() + "' copy stdin '" + Path("from_pipe.png") + "'");
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(MaxAbsDiff(LoadWithVips(Path("from_pipe.png")), from_file), 0);

  // Both ends streaming.
  r = Shell("'" + VipsExe() + "' copy '" + kodim_ + "' .msic | '" + VipsExe() +
            "' copy stdin '" + Path("piped.png") + "'");
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(LoadWithVips(Path("piped.png")).width, 768);
}

TEST_F(VipsModule, BufferAndSourceInProcess) {
  // This process loaded the module too (same VIPSHOME).
  const std::string file = Path("file.msic");
  Copy(kodim_, file + "[Q=60]");
  const std::vector<uint8_t> bytes = ReadFileBytes(file);
  const Pixels expected = DecodeWithCApi(file);

  const char* loader = vips_foreign_find_load_buffer(bytes.data(), bytes.size());
  ASSERT_NE(loader, nullptr) << vips_error_buffer();
  EXPECT_STREQ(loader, "VipsForeignLoadMsicBuffer");
  VipsImage* image = vips_image_new_from_buffer(bytes.data(), bytes.size(), "", NULL);
  ASSERT_NE(image, nullptr) << vips_error_buffer();
  EXPECT_EQ(image->Xsize, 768);
  size_t size = 0;
  void* mem = vips_image_write_to_memory(image, &size);
  ASSERT_NE(mem, nullptr) << vips_error_buffer();
  Pixels got{768, 512, 3, std::vector<uint8_t>(static_cast<uint8_t*>(mem),
                                               static_cast<uint8_t*>(mem) + size)};
  g_free(mem);
  EXPECT_EQ(MaxAbsDiff(got, expected), 0);

  // msicsave_buffer.
  EXPECT_STREQ(vips_foreign_find_save_buffer(".msic"), "VipsForeignSaveMsicBuffer");
  void* out = nullptr;
  size_t out_size = 0;
  ASSERT_EQ(vips_image_write_to_buffer(image, ".msic[Q=40]", &out, &out_size, NULL), 0)
      << vips_error_buffer();
  ASSERT_TRUE(msic_identify(out, out_size));
  msic_reader* r = msic_reader_open_memory(nullptr, out, out_size);
  ASSERT_NE(r, nullptr) << msic_last_error();
  msic_file_info info;
  ASSERT_EQ(msic_reader_get_info(r, &info), MSIC_OK);
  EXPECT_NEAR(info.quality, 40.0, 1e-3);
  EXPECT_EQ(info.image.width, 768u);
  msic_reader_close(r);
  g_free(out);
  g_object_unref(image);

  // msicload_source on a memory source.
  VipsSource* source = vips_source_new_from_memory(bytes.data(), bytes.size());
  ASSERT_NE(source, nullptr);
  EXPECT_STREQ(vips_foreign_find_load_source(source), "VipsForeignLoadMsicSource");
  VipsImage* from_source = vips_image_new_from_source(source, "", NULL);
  ASSERT_NE(from_source, nullptr) << vips_error_buffer();
  mem = vips_image_write_to_memory(from_source, &size);
  ASSERT_NE(mem, nullptr) << vips_error_buffer();
  got.data.assign(static_cast<uint8_t*>(mem), static_cast<uint8_t*>(mem) + size);
  g_free(mem);
  EXPECT_EQ(MaxAbsDiff(got, expected), 0);
  g_object_unref(from_source);
  g_object_unref(source);
}

// ------------------------------------------------- thumbnail, dzsave, progress

TEST_F(VipsModule, ThumbnailAndDeepZoom) {
  const std::string msic = Path("in.msic");
  Copy(kodim_, msic);

  RunResult r = Exec({VipsthumbnailExe(), msic, "-s", "128", "-o", Path("thumb.png")});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(Contains(Header(Path("thumb.png")), "128x85 uchar, 3 bands, srgb")) << Header(Path("thumb.png"));
  // A thumbnail of the decoded image, not of garbage.
  {
    RunResult ref = Exec({VipsthumbnailExe(), kodim_, "-s", "128", "-o", Path("thumb_ref.png")});
    ASSERT_TRUE(ref.ok()) << ref.describe();
    EXPECT_GT(Psnr(LoadWithVips(Path("thumb.png")), LoadWithVips(Path("thumb_ref.png"))), 25.0);
  }

  r = Exec({VipsExe(), "dzsave", msic, Path("dz")});
  ASSERT_TRUE(r.ok()) << r.describe();
  std::vector<uint8_t> dzi = ReadFileBytes(Path("dz.dzi"));
  std::string dzi_text(dzi.begin(), dzi.end());
  EXPECT_TRUE(Contains(dzi_text, "Width=\"768\"")) << dzi_text;
  EXPECT_TRUE(Contains(dzi_text, "Height=\"512\"")) << dzi_text;
  // Levels 0..10 for 768 px; the top level holds the full-size tiles.
  EXPECT_TRUE(FileExists(Path("dz_files/10/0_0.jpeg")));
  EXPECT_TRUE(FileExists(Path("dz_files/0/0_0.jpeg")));
}

TEST_F(VipsModule, ProgressIsReported) {
  const std::string msic = Path("in.msic");
  Copy(kodim_, msic);
  RunResult r = Exec({VipsExe(), "copy", msic, Path("out.png"), "--vips-progress"});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(Contains(r.out, "% complete")) << r.describe();
  EXPECT_TRUE(Contains(r.out, "done in")) << r.describe();
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
  Copy(src_v, src + "[Q=0]");
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

// -------------------------------------------------------------- corruption

TEST_F(VipsModule, CorruptAndTruncatedFilesAreRefused) {
  const std::string good = Path("good.msic");
  Copy(kodim_, good);
  const std::vector<uint8_t> bytes = ReadFileBytes(good);
  const size_t n = bytes.size();
  ASSERT_GT(n, 200u);

  struct Variant { std::string name; std::vector<uint8_t> data; };
  std::vector<Variant> variants;
  for (size_t len : {size_t(8), size_t(16), size_t(95), size_t(97), n / 2, n - 33, n - 32, n - 1})
    variants.push_back({"truncated_" + std::to_string(len),
                        std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(len))});
  // Single flipped bytes: in the header (height), the version, a tile
  // payload, the tile index, the trailer's tile count and its end magic.
  for (size_t at : {size_t(20), size_t(8), n / 2, n - 40, n - 28, n - 4}) {
    std::vector<uint8_t> d = bytes;
    d[at] ^= 0x5a;
    variants.push_back({"flipped_" + std::to_string(at), d});
  }
  // The right magic followed by garbage.
  {
    std::vector<uint8_t> d(bytes.begin(), bytes.begin() + 8);
    for (int i = 0; i < 4000; i++) d.push_back(static_cast<uint8_t>((i * 2654435761u) >> 13));
    variants.push_back({"garbage", d});
  }

  for (const auto& v : variants) {
    const std::string bad = Path(v.name + ".msic");
    WriteFileBytes(bad, v.data);
    RunResult r = Exec({VipsExe(), "copy", bad, Path(v.name + ".png")});
    EXPECT_TRUE(r.exited) << v.name << " crashed: " << r.describe();
    EXPECT_NE(r.exit_code, 0) << v.name << " was accepted: " << r.describe();
    EXPECT_TRUE(Contains(r.err, "msicload")) << v.name << ": " << r.describe();
    // The source loader takes a different path to the same checks.
    RunResult s = Exec({VipsExe(), "copy", "stdin", Path(v.name + "_stdin.png")}, bad);
    EXPECT_TRUE(s.exited) << v.name << " (stdin) crashed: " << s.describe();
    EXPECT_NE(s.exit_code, 0) << v.name << " (stdin) was accepted: " << s.describe();
  }
}

// ------------------------------------------------------- installed module

// Whether VIPSHOME came from outside: libvips' own start-up sets it to the
// prefix it guessed, so after VIPS_INIT the variable is always there.
bool vipshome_given = false;

// Runs without VIPSHOME (ctest unsets it), so libvips loads the modules of
// its own libdir, where `cmake --install` with CMAKE_INSTALL_PREFIX=/usr puts
// vips-msic.so.
TEST(Installed, SystemModuleRoundTrip) {
  const std::string module = MSIC_TEST_SYSTEM_MODULE;
  if (!FileExists(module)) GTEST_SKIP() << "no module installed at " << module;
  if (vipshome_given) GTEST_SKIP() << "VIPSHOME is set: libvips would not look there";
  // Not inherited by the programs below: they must find the system modules.
  unsetenv("VIPSHOME");

  const std::string dir = FreshWorkDir();
  RunResult r = Exec({VipsExe(), "-l"});
  ASSERT_TRUE(r.ok()) << r.describe();
  ASSERT_TRUE(Contains(r.out, "(msicload)")) << "installed module not loaded from " << module;

  const std::string msic = dir + "/out.msic", back = dir + "/back.png";
  r = Exec({VipsExe(), "copy", DataFile("kodim23.png"), msic + "[Q=70]"});
  ASSERT_TRUE(r.ok()) << r.describe();
  r = Exec({VipsExe(), "copy", msic, back});
  ASSERT_TRUE(r.ok()) << r.describe();
  // Packages from an older tree may embed another default model; then this
  // tree's library cannot decode their files, and comparing says nothing.
  msic_reader *reader = msic_reader_open_file(nullptr, msic.c_str());
  ASSERT_NE(reader, nullptr) << msic_last_error();
  msic_file_info info;
  msic_reader_get_info(reader, &info);
  msic_reader_close(reader);
  if (std::string(info.model_hash) != msic_context_model_hash(nullptr))
    GTEST_SKIP() << "the installed packages embed model " << info.model_hash
                 << ", this tree " << msic_context_model_hash(nullptr) << ": install this tree's packages";
  EXPECT_EQ(MaxAbsDiff(LoadWithVips(back), DecodeWithCApi(msic)), 0);
  r = Exec({VipsthumbnailExe(), msic, "-s", "64", "-o", dir + "/thumb.png"});
  ASSERT_TRUE(r.ok()) << r.describe();
}

// Installs the lib and vips components of this build into a prefix inside
// the build tree and runs vips on that: checks the install destination, that
// the installed module finds the installed libmsic through its RUNPATH, and
// that it works, without touching the system.
TEST(InstallPrefix, InstalledModuleWorksFromItsPrefix) {
  const std::string libdir = MSIC_TEST_INSTALL_LIBDIR;
  if (!libdir.empty() && libdir[0] == '/') GTEST_SKIP() << "absolute CMAKE_INSTALL_LIBDIR";
  const std::string dir = FreshWorkDir(), prefix = dir + "/prefix";
  for (const char* component : {"lib", "vips"}) {
    RunResult r = Exec({MSIC_TEST_CMAKE, "--install", MSIC_TEST_BUILD_DIR, "--prefix", prefix,
                        "--component", component});
    ASSERT_TRUE(r.ok()) << r.describe();
  }
  const std::string module = prefix + "/" + libdir + "/" MSIC_TEST_MODULE_DIRNAME "/vips-msic.so";
  ASSERT_TRUE(FileExists(module)) << module;

  // With VIPSHOME=P libvips loads P/<last part of its own libdir>/vips-modules-X.Y
  // (P/x86_64-linux-gnu on Debian): make that the installed libdir.
  const std::string leaf = MSIC_TEST_VIPS_LIBDIR_LEAF;
  if (leaf != libdir) {
    RunResult r = Exec({"ln", "-s", libdir, prefix + "/" + leaf});
    ASSERT_TRUE(r.ok()) << r.describe();
  }
  const std::vector<std::string> env = {"VIPSHOME=" + prefix, "LD_LIBRARY_PATH="};

  RunResult r = Exec({VipsExe(), "-l"}, "", "", env);
  ASSERT_TRUE(r.ok()) << r.describe();
  ASSERT_TRUE(Contains(r.out, "(msicload)")) << r.describe();
  r = Exec({VipsExe(), "copy", DataFile("kodim23.png"), dir + "/out.msic"}, "", "", env);
  ASSERT_TRUE(r.ok()) << r.describe();
  r = Exec({VipsExe(), "copy", dir + "/out.msic", dir + "/back.png"}, "", "", env);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(MaxAbsDiff(LoadWithVips(dir + "/back.png"), DecodeWithCApi(dir + "/out.msic")), 0);

  // The loader that ran is the installed one, linked to the installed
  // libmsic: ask the dynamic linker.
  r = Exec({VipsExe(), "-l"}, "", "", {"VIPSHOME=" + prefix, "LD_DEBUG=libs"});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(std::regex_search(r.err, std::regex("calling init: " + prefix + "/.*libmsic\\.so")))
      << r.err.substr(0, 4000);
  EXPECT_FALSE(Contains(r.err, "calling init: " MSIC_TEST_BUILD_DIR "/codec-core"))
      << r.err.substr(0, 4000);
  EXPECT_FALSE(Contains(r.err, "calling init: " MSIC_TEST_BUILD_DIR "/plugin-vips"))
      << r.err.substr(0, 4000);
}

}  // namespace

// libvips starts when the first test runs, not when ctest lists the tests.
class VipsEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (VIPS_INIT("msic_vips_tests")) vips_error_exit("unable to start libvips");
  }
  void TearDown() override { vips_shutdown(); }
};

int main(int argc, char** argv) {
  vipshome_given = std::getenv("VIPSHOME") != nullptr;
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new VipsEnvironment);
  return RUN_ALL_TESTS();
}
