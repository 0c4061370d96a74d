// The VipsModule fixture the test files share: a fresh work folder per
// test, and the vips programs the tests drive most.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support.h"

namespace msictest {

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

}  // namespace msictest
