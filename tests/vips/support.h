// Helpers for the libvips module tests: run the real vips programs, read
// images back in-process, decode MSIC files with the C API, compare pixels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <msic/msic.h>

namespace msictest {

struct RunResult {
  bool exited = false;      // false: killed by a signal (a crash)
  int exit_code = -1;       // valid when exited
  int signal = 0;           // valid when !exited
  std::string out;          // stdout (unless redirected to a file)
  std::string err;          // stderr
  long max_rss_kb = 0;      // peak resident set size of the child
  double seconds = 0;       // wall time

  bool ok() const { return exited && exit_code == 0; }
  std::string describe() const;  // for failure messages
};

// Runs argv[0] (searched on PATH unless it contains '/') with the test's
// environment. stdin_path: file for stdin ("" = /dev/null); stdout_path:
// file that receives stdout ("" = captured into RunResult::out).
// env: extra "NAME=value" settings for the child only.
RunResult Exec(const std::vector<std::string>& argv, const std::string& stdin_path = "",
              const std::string& stdout_path = "", const std::vector<std::string>& env = {});

// Runs a command line through /bin/sh -c (for pipelines).
RunResult Shell(const std::string& command);

// Paths of the programs and data, fixed at configure time.
std::string VipsExe();
std::string VipsheaderExe();
std::string VipsthumbnailExe();
std::string DataFile(const std::string& name);

// A fresh, empty folder for one test: <build>/tests/vips/work/<suite>.<test>.
std::string FreshWorkDir();

bool FileExists(const std::string& path);
std::vector<uint8_t> ReadFileBytes(const std::string& path);
void WriteFileBytes(const std::string& path, const std::vector<uint8_t>& bytes);
std::vector<std::string> ListDir(const std::string& dir);

// Interleaved 8-bit pixels.
struct Pixels {
  int width = 0, height = 0, bands = 0;
  std::vector<uint8_t> data;
};

// Loads any image libvips reads, in-process (must be uchar).
Pixels LoadWithVips(const std::string& path);
// Decodes a whole MSIC file, or a window of it, with the C API.
Pixels DecodeWithCApi(const std::string& path);
Pixels DecodeRegionWithCApi(const std::string& path, int x, int y, int w, int h);

// Largest absolute sample difference; -1 if the geometries differ.
int MaxAbsDiff(const Pixels& a, const Pixels& b);
// PSNR in dB over all samples (peak 255); infinity if identical: the
// suites' one test::psnr (tests/common/psnr.h) on the samples.
double Psnr(const Pixels& a, const Pixels& b);

bool Contains(const std::string& haystack, const std::string& needle);
// The header of an MSIC file, through the C API.
msic_file_info FileInfo(const std::string& path);
// How far a file's reported quality may be from the one asked for: the file
// records the model's quality in hundredths, and the quality maps back from it.
constexpr double kQualityReported = 0.02;
// What --vips-leak reports on exit when objects, tracked memory or files
// were left behind.
bool ReportsLeaks(const std::string& log);

// Whether VIPSHOME came from outside (set by main): libvips' own start-up
// sets it to the prefix it guessed, so after VIPS_INIT the variable is
// always there.
extern bool vipshome_given;

}  // namespace msictest
