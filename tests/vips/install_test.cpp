// The libvips module as installed: in the system libvips folder, and in a
// prefix made by `cmake --install`.
#include <cstdlib>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <msic/msic.h>
#include <vips/vips.h>

#include "support.h"

using namespace msictest;

namespace {

// ------------------------------------------------------- installed module

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
  // tree's library may not find it, and comparing says nothing.
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
