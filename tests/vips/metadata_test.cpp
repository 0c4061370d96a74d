// The libvips module's metadata: ICC, EXIF, XMP, IPTC and resolution through
// save and load, strip, and boxes the loader cannot use.
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <msic/msic.h>
#include <vips/vips.h>

#include "fixture.h"
#include "support.h"

using namespace msictest;

namespace {

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

// The bytes of float64 values stored little-endian, as formats/MSIC.md
// stores them, whatever the byte order of this machine.
std::vector<uint8_t> LittleEndianF64(std::initializer_list<double> values) {
  std::vector<uint8_t> bytes;
  for (double v : values) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    for (int i = 0; i < 8; i++) bytes.push_back(uint8_t(bits >> (8 * i)));
  }
  return bytes;
}

// ---------------------------------------------------------------- metadata

TEST_F(VipsModule, MetadataSurvivesAndStripRemovesIt) {
  const std::string artist = "MSIC test artist";
  const std::string xmp_text =
      "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
      "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"/></x:xmpmeta>";
  const std::vector<uint8_t> xmp(xmp_text.begin(), xmp_text.end());
  const std::vector<uint8_t> exif = MakeExif(artist);
  // An IPTC-NAA record: tag 2:80 (by-line), "MSIC".
  const std::vector<uint8_t> iptc = {0x1c, 0x02, 0x50, 0x00, 0x04, 'M', 'S', 'I', 'C'};
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
    vips_image_set_blob_copy(x, VIPS_META_IPTC_NAME, iptc.data(), iptc.size());
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
  EXPECT_EQ(FindBox(msic, MSIC_BOX_IPTC, &found), iptc);
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
    EXPECT_EQ(BlobOf(image, VIPS_META_IPTC_NAME), iptc);
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
  FindBox(stripped, MSIC_BOX_IPTC, &found);
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

// The resolution box holds x and y pixels per mm as float64 little-endian
// (formats/MSIC.md), whichever program wrote it: here the msic command and
// vips, from the same PNG (300 dpi across, 100 dpi down).
TEST_F(VipsModule, ResolutionBoxIsLittleEndianFromCliAndVips) {
  const std::string in = Path("res.png"), by_vips = Path("vips.msic"), by_cli = Path("cli.msic");
  RunResult r = Exec({VipsExe(), "copy", kodim_, in, "--xres", "11.811", "--yres", "3.937"});
  ASSERT_TRUE(r.ok()) << r.describe();
  // What libvips reads back from the PNG (pixels per metre, rounded) is
  // what both writers are given.
  double xres = 0, yres = 0;
  {
    VipsImage* image = vips_image_new_from_file(in.c_str(), NULL);
    ASSERT_NE(image, nullptr) << vips_error_buffer();
    xres = image->Xres;
    yres = image->Yres;
    g_object_unref(image);
  }
  ASSERT_NEAR(xres, 11.811, 1e-3);
  ASSERT_NEAR(yres, 3.937, 1e-3);
  const std::vector<uint8_t> expected = LittleEndianF64({xres, yres});

  bool found = false;
  Copy(in, by_vips + "[Q=10]");
  EXPECT_EQ(FindBox(by_vips, MSIC_BOX_RESOLUTION, &found), expected);
  EXPECT_TRUE(found);

  const std::string cli = MSIC_TEST_CLI;
  if (cli.empty()) GTEST_SKIP() << "the msic command is not built";
  r = Exec({cli, "encode", in, by_cli, "--quality", "10"});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(FindBox(by_cli, MSIC_BOX_RESOLUTION, &found), expected);
  EXPECT_TRUE(found);
}

}  // namespace
