// The msic command reads and writes PNG and binary PNM itself (without
// starting libvips) and everything else through libvips; MSIC_USE_LIBVIPS=1
// sends PNG and PNM through libvips too. Both paths must give the same file
// from the same image, and the same image from the same file. The built-in
// path runs in the second build (alt_cli), which has no libvips module
// beside it: a file it would hand to libvips fails there.
#include <gtest/gtest.h>

#include <algorithm>

#include "cli_support.h"
#include "test_support.h"

namespace {

const std::string kLibvips = "MSIC_USE_LIBVIPS=1 ";

// Writes `image` with extra metadata to path (libvips, in process).
void save_with(VipsImage *image, const std::string &path, const char *field, const std::string &blob) {
  VipsImage *copy = nullptr;
  ASSERT_EQ(vips_copy(image, &copy, NULL), 0) << vips_error_buffer();
  vips_image_set_blob_copy(copy, field, blob.data(), blob.size());
  ASSERT_EQ(vips_image_write_to_file(copy, path.c_str(), NULL), 0) << vips_error_buffer();
  g_object_unref(copy);
}

// Test images of every PNG and PNM kind the built-in readers take, made by
// the vips command from a crop of kodim23. Returns their file names.
std::vector<std::string> make_inputs(const std::string &dir) {
  const std::string src = std::string(MSIC_TEST_DATA_DIR) + "/kodim23.png";
  const std::string c = dir + "/crop.png";
  const std::string rgb16 = "vips cast " + c + " T.v ushort && vips linear T.v U.v 257 3 && "
                            "vips cast U.v W.v ushort && vips copy W.v OUT";
  std::vector<std::pair<std::string, std::string>> made = {
      {"rgb8.png", "vips copy " + c + " OUT"},
      {"grey8.png", "vips colourspace " + c + " OUT b-w"},
      {"rgba8.png", "vips bandjoin_const " + c + " OUT 200"},
      {"greya8.png", "vips colourspace " + c + " T.v b-w && vips bandjoin_const T.v OUT 99"},
      {"palette.png", "vips copy " + c + " OUT[palette]"},
      {"palette-alpha.png", "vips bandjoin_const " + c + " T.v 128 && vips copy T.v OUT[palette]"},
      {"bits1.png", "vips colourspace " + c + " T.v b-w && vips copy T.v OUT[bitdepth=1]"},
      {"rgb16.png", rgb16},
      {"grey16.png", "vips colourspace " + c + " T.v grey16 && vips copy T.v OUT"},
      {"interlaced.png", "vips copy " + c + " OUT[interlace]"},
      {"icc.png", "vips copy " + c + " OUT[profile=srgb]"},
      {"res.png", "vips copy " + c + " OUT --xres 11.811 --yres 3.937"},
      {"rgb8.ppm", "vips copy " + c + " OUT"},
      {"grey8.pgm", "vips colourspace " + c + " OUT b-w"},
      {"rgb16.ppm", rgb16},
  };
  EXPECT_EQ(run("vips crop " + src + " " + c + " 300 200 120 72").status, 0);
  std::vector<std::string> names;
  for (size_t i = 0; i < made.size(); ++i) {
    std::string cmd = made[i].second;
    const std::string t = dir + "/t" + std::to_string(i);  // fresh names: libvips caches by file name
    for (auto [from, to] : {std::pair<std::string, std::string>{"OUT", dir + "/" + made[i].first},
                            {"T.v", t + "a.v"}, {"U.v", t + "b.v"}, {"W.v", t + "c.v"}})
      for (size_t at; (at = cmd.find(from)) != std::string::npos;) cmd.replace(at, from.size(), to);
    Result r = run(cmd);
    EXPECT_EQ(r.status, 0) << cmd << "\n" << r.output;
    names.push_back(made[i].first);
  }
  // libvips always writes pHYs; without it, 72 dpi is the rule.
  std::vector<uint8_t> png = read_file(dir + "/rgb8.png");
  const uint8_t phys[] = {'p', 'H', 'Y', 's'};
  auto at = std::search(png.begin(), png.end(), phys, phys + 4);
  EXPECT_NE(at, png.end());
  if (at != png.end()) png.erase(at - 4, at + 4 + 9 + 4);  // length, type, 9 bytes, CRC
  write_file(dir + "/nophys.png", png);
  names.push_back("nophys.png");
  // A 16-bit PGM whose maximum is 1000: samples kept as they are.
  std::vector<uint8_t> pgm = {'P', '5', ' ', '#', ' ', 'm', 's', 'i', 'c', '\n', '4', '0', ' ', '3', '0', '\n',
                              '1', '0', '0', '0', '\n'};
  for (int i = 0; i < 40 * 30; ++i) pgm.push_back(uint8_t((i * 7 % 1000) >> 8)), pgm.push_back(uint8_t(i * 7 % 1000));
  write_file(dir + "/max1000.pgm", pgm);
  names.push_back("max1000.pgm");
  // XMP and EXIF need the library.
  VipsImage *crop = vips_image_new_from_file(c.c_str(), NULL);
  EXPECT_NE(crop, nullptr);
  save_with(crop, dir + "/xmp.png", VIPS_META_XMP_NAME,
            "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF/></x:xmpmeta>");
  names.push_back("xmp.png");
  VipsImage *jpeg = nullptr;
  EXPECT_EQ(run("vips copy " + c + " " + dir + "/exif-src.jpg").status, 0);
  jpeg = vips_image_new_from_file((dir + "/exif-src.jpg").c_str(), NULL);
  VipsImage *exif = nullptr;
  vips_copy(jpeg, &exif, NULL);
  vips_image_set_string(exif, "exif-ifd0-Artist", "msic test");
  EXPECT_EQ(vips_image_write_to_file(exif, (dir + "/exif.png").c_str(), NULL), 0) << vips_error_buffer();
  names.push_back("exif.png");
  g_object_unref(exif);
  g_object_unref(jpeg);
  g_object_unref(crop);
  return names;
}

TEST(CliImageIO, BuiltInReadersMakeTheFilesLibvipsMakes) {
  const std::string dir = test::temp_dir();
  for (const std::string &name : make_inputs(dir)) {
    const std::string in = dir + "/" + name;
    for (const char *coding : {" --lossless", " --quality 60"}) {
      const bool learned = coding[3] == 'q';
      VipsImage *im = vips_image_new_from_file(in.c_str(), NULL);
      ASSERT_NE(im, nullptr) << vips_error_buffer();
      const bool grey_or_rgb8 = im->BandFmt == VIPS_FORMAT_UCHAR && (im->Bands == 1 || im->Bands == 3);
      g_object_unref(im);
      if (learned && !grey_or_rgb8) continue;
      const std::string a = dir + "/" + name + (learned ? ".q" : ".l") + ".own.msic";
      const std::string b = dir + "/" + name + (learned ? ".q" : ".l") + ".vips.msic";
      Result own = run(alt_cli + " encode " + in + " " + a + coding + " --threads 2");
      Result by_vips = run(kLibvips + cli + " encode " + in + " " + b + coding + " --threads 2");
      ASSERT_EQ(by_vips.status, 0) << name << ": " << by_vips.output;
      if (name == "exif.png") {  // libvips's, so that its EXIF rules apply
        EXPECT_NE(own.status, 0) << own.output;
        EXPECT_NE(own.output.find("need libvips"), std::string::npos) << own.output;
        own = run(cli + " encode " + in + " " + a + coding + " --threads 2");
      }
      ASSERT_EQ(own.status, 0) << name << ": " << own.output;
      EXPECT_EQ(read_file(a), read_file(b)) << name << coding;
    }
  }
  // The metadata made it in.
  EXPECT_NE(run(cli + " info " + dir + "/icc.png.l.own.msic").output.find("box 'ICCP'"), std::string::npos);
  EXPECT_NE(run(cli + " info " + dir + "/xmp.png.l.own.msic").output.find("box 'XMP '"), std::string::npos);
  EXPECT_NE(run(cli + " info " + dir + "/exif.png.l.own.msic").output.find("box 'EXIF'"), std::string::npos);
  EXPECT_NE(run(cli + " info " + dir + "/rgba8.png.l.own.msic").output.find("box 'ROLE'"), std::string::npos);
}

// Decoded by the built-in writers and by libvips: the same pixels, and the
// same ICC profile, XMP and resolution when read back.
TEST(CliImageIO, BuiltInWritersKeepWhatLibvipsKeeps) {
  const std::string dir = test::temp_dir();
  make_inputs(dir);
  struct Case {
    const char *input, *output;
  };
  for (Case c : {Case{"rgb8.png", "png"}, Case{"greya8.png", "png"}, Case{"rgba8.png", "png"},
                 Case{"rgb16.png", "png"}, Case{"grey16.png", "png"}, Case{"icc.png", "png"},
                 Case{"xmp.png", "png"}, Case{"res.png", "png"}, Case{"rgb8.png", "ppm"},
                 Case{"rgb16.png", "ppm"}, Case{"grey8.pgm", "pgm"}, Case{"grey8.pgm", "pnm"},
                 Case{"max1000.pgm", "png"}}) {
    const std::string file = dir + "/" + c.input + ".msic";
    ASSERT_EQ(run(cli + " encode " + dir + "/" + c.input + " " + file + " --lossless").status, 0) << c.input;
    const std::string own = dir + "/" + c.input + ".own." + c.output;
    const std::string by_vips = dir + "/" + c.input + ".vips." + c.output;
    Result r = run(alt_cli + " decode " + file + " " + own);
    ASSERT_EQ(r.status, 0) << c.input << ": " << r.output;
    r = run(kLibvips + cli + " decode " + file + " " + by_vips);
    ASSERT_EQ(r.status, 0) << c.input << ": " << r.output;
    VipsImage *x = vips_image_new_from_file(own.c_str(), NULL), *y = vips_image_new_from_file(by_vips.c_str(), NULL);
    ASSERT_TRUE(x && y) << vips_error_buffer();
    EXPECT_EQ(x->Bands, y->Bands) << c.input;
    EXPECT_EQ(x->BandFmt, y->BandFmt) << c.input;
    EXPECT_EQ(test::load(own).pixels, test::load(by_vips).pixels) << c.input << " to " << c.output;
    EXPECT_EQ(test::load(own).pixels, test::load(dir + "/" + c.input).pixels) << c.input << " to " << c.output;
    EXPECT_DOUBLE_EQ(x->Xres, y->Xres) << c.input;
    EXPECT_DOUBLE_EQ(x->Yres, y->Yres) << c.input;
    for (const char *field : {VIPS_META_ICC_NAME, VIPS_META_XMP_NAME}) {
      const void *a = nullptr, *b = nullptr;
      size_t na = 0, nb = 0;
      if (vips_image_get_typeof(x, field)) vips_image_get_blob(x, field, &a, &na);
      if (vips_image_get_typeof(y, field)) vips_image_get_blob(y, field, &b, &nb);
      EXPECT_EQ(std::string((const char *)a, na), std::string((const char *)b, nb)) << c.input << " " << field;
    }
    g_object_unref(x);
    g_object_unref(y);
  }
  // The reason for the two paths: a PNG command does not load libvips.
  Result needed = run("readelf -d " + cli);
  EXPECT_EQ(needed.output.find("libvips"), std::string::npos) << needed.output;
  EXPECT_NE(needed.output.find("libpng"), std::string::npos) << needed.output;
}

// Damaged PNG and PNM inputs fail with a message naming the file, and
// leave no output behind.
TEST(CliImageIO, DamagedInputsFailCleanly) {
  const std::string dir = test::temp_dir();
  make_inputs(dir);
  const std::vector<uint8_t> png = read_file(dir + "/rgb8.png"), ppm = read_file(dir + "/rgb8.ppm");
  std::vector<uint8_t> crc = png;
  crc[png.size() / 2] ^= 0x55;  // inside IDAT: its CRC no longer matches
  struct Case {
    const char *name;
    std::vector<uint8_t> bytes;
  };
  for (const Case &c : {Case{"cut.png", {png.begin(), png.begin() + long(png.size() / 2)}},
                        Case{"crc.png", crc},
                        Case{"header.png", {png.begin(), png.begin() + 20}},
                        Case{"cut.ppm", {ppm.begin(), ppm.begin() + long(ppm.size() / 2)}},
                        Case{"header.ppm", {'P', '6', '\n', '7', '2', ' '}},
                        Case{"huge.ppm", {'P', '6', ' ', '9', '9', '9', '9', '9', '9', '9', '9', ' ', '1', ' ',
                                          '2', '5', '5', '\n'}}}) {
    const std::string in = dir + "/" + c.name, out = dir + "/" + c.name + ".msic";
    write_file(in, c.bytes);
    for (const std::string &env : {std::string(), kLibvips}) {
      Result r = run(env + cli + " encode " + in + " " + out + " --lossless");
      EXPECT_NE(r.status, 0) << env << c.name << ": " << r.output;
      EXPECT_NE(r.output.find(in), std::string::npos) << env << c.name << ": " << r.output;
      EXPECT_EQ(size_of(out), -1) << env << c.name;
    }
  }
  // Nor a temporary file.
  for (const auto &entry : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
}

// libvips save options after the suffix pick libvips's writer, and the file
// is made under the name without them.
TEST(CliImageIO, SaveOptionsGoToLibvips) {
  const std::string dir = test::temp_dir();
  const std::string src = std::string(MSIC_TEST_DATA_DIR) + "/kodim23.png";
  ASSERT_EQ(run(cli + " encode " + src + " " + dir + "/a.msic --quality 30").status, 0);
  Result r = run(cli + " decode " + dir + "/a.msic \"" + dir + "/fast.png[compression=0]\"");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(run(cli + " decode " + dir + "/a.msic " + dir + "/own.png").status, 0);
  EXPECT_GT(size_of(dir + "/fast.png"), 3 * 768 * 512);  // stored, not compressed
  EXPECT_EQ(test::load(dir + "/fast.png").pixels, test::load(dir + "/own.png").pixels);
}

}  // namespace
