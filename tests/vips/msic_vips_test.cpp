// Tests of the libvips module (vips-msic.so) through the real vips,
// vipsheader and vipsthumbnail programs, checked against the MSIC C API.
//
// ctest runs them with VIPSHOME pointing at the staging prefix the module is
// built into (see plugin-vips/CMakeLists.txt), so the programs, and libvips
// inside this process, load the module of this tree. The Installed.* tests
// run without VIPSHOME against the module installed in the system libvips
// folder, and skip when there is none.
//
// This file: registration, round trips, options and pixel formats, and
// corrupt files; metadata_test.cpp, streams_test.cpp, large_image_test.cpp
// and install_test.cpp hold the other topics.
#include <map>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <msic/msic.h>
#include <vips/vips.h>

#include "fixture.h"
#include "support.h"

using namespace msictest;

namespace {

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
  EXPECT_NEAR(info.quality, 70.0, kQualityReported);
  EXPECT_EQ(info.tile_size, 1024u);  // 768 x 512: one tile (MSIC_TILE_SIZE_AUTO)

  EXPECT_TRUE(Contains(Header(msic), "768x512 uchar, 3 bands, srgb, msicload")) << Header(msic);
  EXPECT_NEAR(std::stod(Header(msic, "msic-quality")), 70.0, kQualityReported);
  EXPECT_EQ(std::stoi(Header(msic, "msic-tile-size")), 1024);

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
  EXPECT_NEAR(FileInfo(named).quality, 70.0, kQualityReported);
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
  EXPECT_NEAR(info.quality, 30.0, kQualityReported);
  EXPECT_EQ(info.tile_size, 256u);
  EXPECT_EQ(info.tiles_across, 3u);
  EXPECT_EQ(info.tiles_down, 2u);
  EXPECT_NEAR(FileInfo(high).quality, 90.0, kQualityReported);
  EXPECT_LT(ReadFileBytes(low).size(), ReadFileBytes(high).size());

  // threads only changes how the encoder works, not what it writes.
  Copy(kodim_, Path("t1.msic") + "[Q=30,tile_size=256,threads=1]");
  EXPECT_EQ(MaxAbsDiff(DecodeWithCApi(Path("t1.msic")), DecodeWithCApi(low)), 0);

  // effort 1 rounds to the nearest step: a larger file than the default 2.
  Copy(kodim_, Path("e1.msic") + "[Q=30,tile_size=256,effort=1]");
  EXPECT_GT(ReadFileBytes(Path("e1.msic")).size(), ReadFileBytes(low).size());

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
  // Not silently: the low 8 bits are gone.
  RunResult save = Exec({VipsExe(), "copy", rgb16, Path("k16b.msic")});
  ASSERT_TRUE(save.ok()) << save.describe();
  EXPECT_TRUE(Contains(save.err, "8-bit")) << "the cut to 8 bits must not be silent: " << save.describe();
}

// A CMYK image is converted to sRGB: four colour bands become three, and no
// band is dropped, so no warning says one is.
TEST_F(VipsModule, CmykIsConvertedWithoutADroppedBandWarning) {
  const std::string cmyk = Path("cmyk.v");
  RunResult mk = Exec({VipsExe(), "colourspace", kodim_, cmyk, "cmyk"});
  if (!mk.ok()) GTEST_SKIP() << "this libvips cannot make CMYK (no lcms): " << mk.describe();
  RunResult save = Exec({VipsExe(), "copy", cmyk, Path("cmyk.msic")});
  ASSERT_TRUE(save.ok()) << save.describe();
  EXPECT_FALSE(Contains(save.err, "dropping")) << save.describe();
  EXPECT_EQ(FileInfo(Path("cmyk.msic")).image.bands, 3u);
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
    EXPECT_TRUE(Contains(r.err, "lossless")) << "say what takes it: " << r.describe();
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

// ------------------------------------------------------ lossless, max_error

// The largest |a - b| over every sample, as vips computes it.
static double MaxAbsDiffVips(const std::string& a, const std::string& b, const std::string& dir) {
  const std::string d = dir + "/diff.v", m = dir + "/absdiff.v";
  if (!Exec({VipsExe(), "subtract", a, b, d}).ok() || !Exec({VipsExe(), "abs", d, m}).ok()) return -1;
  RunResult r = Exec({VipsExe(), "max", m});
  return r.ok() ? std::stod(r.out) : -1;
}

TEST_F(VipsModule, LosslessKeepsSixteenBitsAndAlpha) {
  const std::string rgba16 = Path("rgba16.png"), msic = Path("rgba16.msic");
  ASSERT_TRUE(Exec({VipsExe(), "colourspace", kodim_, Path("k16.v"), "rgb16"}).ok());
  ASSERT_TRUE(Exec({VipsExe(), "bandjoin_const", Path("k16.v"), rgba16, "40000"}).ok());
  RunResult save = Exec({VipsExe(), "copy", rgba16, msic + "[lossless]"});
  ASSERT_TRUE(save.ok()) << save.describe();
  EXPECT_FALSE(Contains(save.err, "WARNING")) << "nothing is lost: no warning: " << save.describe();
  EXPECT_TRUE(Contains(Header(msic), "ushort, 4 bands, rgb16")) << Header(msic);
  EXPECT_EQ(MaxAbsDiffVips(rgba16, msic, dir_), 0);
}

// Under max_error the colour moves within the bound but alpha stays exact
// (an edge's coverage changed by a few levels would show as a halo).
TEST_F(VipsModule, MaxErrorKeepsAlphaExact) {
  const std::string rgba = Path("rgba.v"), msic = Path("rgba.msic");
  ASSERT_TRUE(Exec({VipsExe(), "extract_band", kodim_, Path("g.v"), "1"}).ok());
  ASSERT_TRUE(Exec({VipsExe(), "bandjoin", kodim_ + " " + Path("g.v"), rgba}).ok());
  RunResult save = Exec({VipsExe(), "copy", rgba, msic + "[max_error=6]"});
  ASSERT_TRUE(save.ok()) << save.describe();
  ASSERT_TRUE(Exec({VipsExe(), "extract_band", msic, Path("a.v"), "3"}).ok());
  EXPECT_EQ(MaxAbsDiffVips(Path("g.v"), Path("a.v"), dir_), 0) << "alpha moved";
  const double worst = MaxAbsDiffVips(rgba, msic, dir_);
  EXPECT_GT(worst, 0) << "the colour bands should use the bound";
  EXPECT_LE(worst, 6);
}

// Every format a raster archive holds, with 1, 3, 4 and 8 bands: lossless
// is exact and max_error=2 holds, through vips copy and the loader.
TEST_F(VipsModule, EveryFormatAndBandCountIsExactOrWithinTheBound) {
  ASSERT_TRUE(Exec({VipsExe(), "bandjoin", kodim_ + " " + kodim_ + " " + kodim_, Path("k9.v")}).ok());
  for (const char* format : {"uchar", "ushort", "short", "float"}) {
    for (const char* bands : {"1", "3", "4", "8"}) {
      SCOPED_TRACE(std::string(format) + " x " + bands);
      // Wider formats: the image scaled to their range plus the image
      // turned round, so that every value can occur (a scaled 8-bit image
      // alone has sparse values, which the coder keeps exactly).
      const std::string src = Path(std::string("src-") + format + bands + ".v");
      ASSERT_TRUE(Exec({VipsExe(), "extract_band", Path("k9.v"), Path("b.v"), "0", "--n", bands}).ok());
      const std::string f = format;
      if (f == "uchar") {
        ASSERT_TRUE(Exec({VipsExe(), "copy", Path("b.v"), src}).ok());
      } else {
        const std::string scale = f == "float" ? "0.37" : "97", offset = f == "short" ? " -12000" : "0";
        ASSERT_TRUE(Exec({VipsExe(), "linear", Path("b.v"), Path("l.v"), scale, offset}).ok());
        ASSERT_TRUE(Exec({VipsExe(), "rot", Path("b.v"), Path("r.v"), "d180"}).ok());
        ASSERT_TRUE(Exec({VipsExe(), "add", Path("l.v"), Path("r.v"), Path("s.v")}).ok());
        ASSERT_TRUE(Exec({VipsExe(), "cast", Path("s.v"), src, format}).ok());
      }
      const std::string exact = Path("exact.msic"), bounded = Path("bounded.msic");
      RunResult save = Exec({VipsExe(), "copy", src, exact + "[lossless,tile_size=128]"});
      ASSERT_TRUE(save.ok()) << save.describe();
      EXPECT_EQ(MaxAbsDiffVips(src, exact, dir_), 0);
      EXPECT_EQ(FileInfo(exact).image.bands, uint32_t(std::stoi(bands)));
      save = Exec({VipsExe(), "copy", src, bounded + "[max_error=2,tile_size=128]"});
      ASSERT_TRUE(save.ok()) << save.describe();
      const double worst = MaxAbsDiffVips(src, bounded, dir_);
      EXPECT_GT(worst, 0);
      EXPECT_LE(worst, 2);
    }
  }
}

TEST_F(VipsModule, MaxErrorHoldsForFloatAndMultibandImages) {
  // A float image (noise around 128, sd 30) and an 8-band uchar image.
  ASSERT_TRUE(Exec({VipsExe(), "gaussnoise", Path("f.v"), "200", "150", "--mean", "128", "--sigma", "30"}).ok());
  RunResult save = Exec({VipsExe(), "copy", Path("f.v"), Path("f.msic[max_error=0.5]")});
  ASSERT_TRUE(save.ok()) << save.describe();
  EXPECT_TRUE(Contains(Header(Path("f.msic")), "float, 1 band")) << Header(Path("f.msic"));
  const double worst = MaxAbsDiffVips(Path("f.v"), Path("f.msic"), dir_);
  EXPECT_GT(worst, 0);
  EXPECT_LE(worst, 0.5);

  const std::string multi = Path("multi.v");
  ASSERT_TRUE(Exec({VipsExe(), "bandjoin", kodim_ + " " + kodim_ + " " + kodim_, Path("k9.v")}).ok());
  ASSERT_TRUE(Exec({VipsExe(), "extract_band", Path("k9.v"), multi, "0", "--n", "8"}).ok());
  ASSERT_TRUE(Exec({VipsExe(), "copy", multi, Path("multi.msic[max_error=2]")}).ok());
  EXPECT_EQ(FileInfo(Path("multi.msic")).image.bands, 8u);
  const double worst8 = MaxAbsDiffVips(multi, Path("multi.msic"), dir_);
  EXPECT_GT(worst8, 0);
  EXPECT_LE(worst8, 2);
  // A fractional bound on integers is refused, with the reason.
  RunResult frac = Exec({VipsExe(), "copy", multi, Path("frac.msic[max_error=1.5]")});
  EXPECT_TRUE(frac.exited && frac.exit_code != 0) << frac.describe();
  EXPECT_TRUE(Contains(frac.err, "whole number")) << frac.describe();
  EXPECT_FALSE(FileExists(Path("frac.msic")));
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

TEST_F(VipsModule, ACorruptTileOfASmallImageIsNeverSavedAsPixels) {
  // Issue #16, finding 1: a 128x64 file of two 64-px tiles with one byte
  // of a tile flipped was saved as black pixels with exit status 0 (libvips
  // 8.14's threadpool lost the error of a last work unit). Every flip must
  // fail, with the default concurrency, for a save and for a statistic.
  const std::string good = Path("small.msic");
  RunResult made = Exec({VipsExe(), "crop", kodim_, good + "[tile_size=64]", "300", "200", "128", "64"});
  ASSERT_TRUE(made.ok()) << made.describe();
  const std::vector<uint8_t> bytes = ReadFileBytes(good);
  const msic_file_info info = FileInfo(good);
  ASSERT_EQ(info.tiles_across * info.tiles_down, 2u);
  // Tile payloads lie between the header (under 200 bytes here) and the
  // index and trailer (64 bytes).
  ASSERT_GT(bytes.size(), 600u);
  for (int i = 0; i < 12; ++i) {
    const size_t at = 200 + (bytes.size() - 300) * size_t(i) / 12;
    std::vector<uint8_t> d = bytes;
    d[at] ^= 0x40;
    const std::string bad = Path("flip" + std::to_string(at) + ".msic");
    WriteFileBytes(bad, d);
    RunResult copy = Exec({VipsExe(), "copy", bad, Path("flip.png")});
    EXPECT_NE(copy.exit_code, 0) << "byte " << at << ": " << copy.describe();
    RunResult avg = Exec({VipsExe(), "avg", bad});
    EXPECT_NE(avg.exit_code, 0) << "byte " << at << ": " << avg.describe();
  }
}

TEST_F(VipsModule, RecoverReadsTheWholeTilesOfATruncatedFile) {
  // Issue #16, finding 7: a partly copied file could not be opened at all.
  // msicload's recover option reads its whole tiles (the rest are black,
  // with a warning); fail_on=truncated makes a lost tile an error again.
  const std::string good = Path("whole.msic"), cut = Path("cut.msic");
  // 256-px tiles: libvips asks for strips of fewer lines than a tile.
  Copy(kodim_, good + "[Q=40,tile_size=256]");
  std::vector<uint8_t> bytes = ReadFileBytes(good);
  bytes.resize(bytes.size() * 2 / 3);
  WriteFileBytes(cut, bytes);
  RunResult strict = Exec({VipsExe(), "copy", cut, Path("strict.png")});
  EXPECT_NE(strict.exit_code, 0) << strict.describe();
  RunResult rec = Exec({VipsExe(), "copy", cut + "[recover]", Path("rec.png")});
  ASSERT_TRUE(rec.ok()) << rec.describe();
  EXPECT_TRUE(Contains(rec.err, "lost")) << rec.describe();
  // A lost tile is decoded (and reported) once, not again for every strip
  // of lines that libvips asks for.
  std::map<std::string, int> reports;
  for (size_t at = rec.err.find("tile ("); at != std::string::npos; at = rec.err.find("tile (", at + 1))
    if (rec.err.compare(rec.err.find(')', at) + 1, 6, " lost:") == 0)
      reports[rec.err.substr(at, rec.err.find(')', at) - at + 1)] += 1;
  EXPECT_FALSE(reports.empty()) << rec.describe();
  for (const auto &[tile, count] : reports) EXPECT_EQ(count, 1) << tile << " reported " << count << " times";
  const Pixels full = DecodeWithCApi(good), got = LoadWithVips(Path("rec.png"));
  ASSERT_EQ(got.data.size(), full.data.size());
  const size_t top = size_t(256) * 768 * 3;  // the first tile row is whole
  EXPECT_TRUE(std::equal(got.data.begin(), got.data.begin() + long(top), full.data.begin()));
  EXPECT_EQ(got.data.back(), 0);  // the last tile is lost: black
  RunResult picky = Exec({VipsExe(), "copy", cut + "[recover,fail_on=truncated]", Path("picky.png")});
  EXPECT_NE(picky.exit_code, 0) << picky.describe();
}

TEST_F(VipsModule, BlockUntrustedBlocksOnlyTheLoader) {
  // The loader parses untrusted files, so VIPS_BLOCK_UNTRUSTED turns it
  // off; the saver reads nothing untrusted and keeps working (issue #16).
  const std::string file = Path("untrusted.msic");
  RunResult r = Shell("VIPS_BLOCK_UNTRUSTED=1 '" + VipsExe() + "' copy '" + kodim_ + "' '" + file + "[Q=40]'");
  ASSERT_TRUE(r.ok()) << r.describe();
  r = Shell("VIPS_BLOCK_UNTRUSTED=1 '" + VipsExe() + "' copy '" + file + "' '" + Path("back.png") + "'");
  EXPECT_FALSE(r.ok()) << r.describe();
  Copy(file, Path("back.png"));  // unblocked, the same file loads
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

