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
  Copy(kodim_, msic + "[Q=70]");

  msic_file_info info = FileInfo(msic);
  EXPECT_EQ(info.image.width, 768u);
  EXPECT_EQ(info.image.height, 512u);
  EXPECT_EQ(info.image.bands, 3u);
  EXPECT_NEAR(info.quality, 70.0, 1e-3);
  EXPECT_EQ(info.tile_size, 512u);

  EXPECT_TRUE(Contains(Header(msic), "768x512 uchar, 3 bands, srgb, msicload")) << Header(msic);
  EXPECT_NEAR(std::stod(Header(msic, "msic-quality")), 70.0, 1e-3);
  EXPECT_EQ(std::stoi(Header(msic, "msic-tile-size")), 512);

  Copy(msic, back);
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
  r = Exec({VipsExe(), "copy", "stdin", Path("from_stdin.png")}, file);
  ASSERT_TRUE(r.ok()) << r.describe();
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

// ------------------------------------------------------------- corruption

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

// Runs without VIPSHOME (ctest unsets it), so libvips loads the modules of
// its own libdir, where `cmake --install` with CMAKE_INSTALL_PREFIX=/usr puts
// vips-msic.so.
TEST(Installed, SystemModuleRoundTrip) {
  const std::string module = MSIC_TEST_SYSTEM_MODULE;
  if (!FileExists(module)) GTEST_SKIP() << "no module installed at " << module;
  if (std::getenv("VIPSHOME")) GTEST_SKIP() << "VIPSHOME is set: libvips would not look there";

  const std::string dir = FreshWorkDir();
  RunResult r = Exec({VipsExe(), "-l"});
  ASSERT_TRUE(r.ok()) << r.describe();
  ASSERT_TRUE(Contains(r.out, "(msicload)")) << "installed module not loaded from " << module;

  const std::string msic = dir + "/out.msic", back = dir + "/back.png";
  r = Exec({VipsExe(), "copy", DataFile("kodim23.png"), msic + "[Q=70]"});
  ASSERT_TRUE(r.ok()) << r.describe();
  r = Exec({VipsExe(), "copy", msic, back});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(MaxAbsDiff(LoadWithVips(back), DecodeWithCApi(msic)), 0);
  r = Exec({VipsthumbnailExe(), msic, "-s", "64", "-o", dir + "/thumb.png"});
  ASSERT_TRUE(r.ok()) << r.describe();
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
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new VipsEnvironment);
  return RUN_ALL_TESTS();
}
