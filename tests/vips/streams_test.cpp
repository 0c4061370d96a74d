// The libvips module on targets, sources and buffers, and under the
// programs that stream: vipsthumbnail, dzsave, progress.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <msic/msic.h>
#include <vips/vips.h>

#include "fixture.h"
#include "support.h"

using namespace msictest;

namespace {

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
  EXPECT_NEAR(FileInfo(streamed).quality, 70.0, kQualityReported);
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
  EXPECT_NEAR(info.quality, 40.0, kQualityReported);
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

}  // namespace
