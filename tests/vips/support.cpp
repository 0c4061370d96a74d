#include "support.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>
#include <msic/msic.h>
#include <vips/vips.h>

#include "../common/psnr.h"

namespace fs = std::filesystem;

namespace msictest {

std::string RunResult::describe() const {
  std::ostringstream s;
  if (exited)
    s << "exit code " << exit_code;
  else
    s << "killed by signal " << signal;
  s << "\n--- stdout ---\n" << out.substr(0, 4000) << "\n--- stderr ---\n" << err.substr(0, 4000);
  return s.str();
}

static std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

RunResult Exec(const std::vector<std::string>& argv, const std::string& stdin_path,
              const std::string& stdout_path, const std::vector<std::string>& env) {
  RunResult result;
  if (argv.empty()) throw std::invalid_argument("Run: empty argv");

  // Child output goes to files: no pipe deadlocks, any size.
  char out_tmpl[] = "/tmp/msic-vips-test-out-XXXXXX";
  char err_tmpl[] = "/tmp/msic-vips-test-err-XXXXXX";
  int out_fd = stdout_path.empty() ? mkstemp(out_tmpl)
                                   : open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int err_fd = mkstemp(err_tmpl);
  int in_fd = open(stdin_path.empty() ? "/dev/null" : stdin_path.c_str(), O_RDONLY);
  if (out_fd < 0 || err_fd < 0 || in_fd < 0) throw std::runtime_error("Run: cannot open redirections");

  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("Run: fork failed");
  if (pid == 0) {
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    for (const auto& setting : env) {
      const size_t eq = setting.find('=');
      if (eq != std::string::npos)
        setenv(setting.substr(0, eq).c_str(), setting.substr(eq + 1).c_str(), 1);
    }
    execvp(cargv[0], cargv.data());
    _exit(127);
  }
  close(in_fd);
  close(out_fd);
  close(err_fd);

  int status = 0;
  struct rusage usage {};
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) throw std::runtime_error("Run: wait4 failed");
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.max_rss_kb = usage.ru_maxrss;
  result.exited = WIFEXITED(status);
  if (result.exited)
    result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.signal = WTERMSIG(status);

  if (stdout_path.empty()) {
    result.out = Slurp(out_tmpl);
    unlink(out_tmpl);
  }
  result.err = Slurp(err_tmpl);
  unlink(err_tmpl);
  return result;
}

RunResult Shell(const std::string& command) { return Exec({"/bin/sh", "-c", command}); }

std::string VipsExe() { return MSIC_TEST_VIPS; }
std::string VipsheaderExe() { return MSIC_TEST_VIPSHEADER; }
std::string VipsthumbnailExe() { return MSIC_TEST_VIPSTHUMBNAIL; }
std::string DataFile(const std::string& name) { return std::string(MSIC_TEST_DATA_DIR) + "/" + name; }

std::string FreshWorkDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(MSIC_TEST_WORK_DIR) /
                 (std::string(info->test_suite_name()) + "." + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

bool FileExists(const std::string& path) { return fs::exists(path); }

std::vector<uint8_t> ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFileBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

Pixels LoadWithVips(const std::string& path) {
  VipsImage* image = vips_image_new_from_file(path.c_str(), "access", VIPS_ACCESS_RANDOM, NULL);
  if (!image) {
    std::string message = vips_error_buffer();
    vips_error_clear();
    throw std::runtime_error("vips cannot load " + path + ": " + message);
  }
  Pixels p;
  p.width = image->Xsize;
  p.height = image->Ysize;
  p.bands = image->Bands;
  if (image->BandFmt != VIPS_FORMAT_UCHAR) {
    g_object_unref(image);
    throw std::runtime_error(path + " is not 8-bit");
  }
  size_t size = 0;
  void* mem = vips_image_write_to_memory(image, &size);
  g_object_unref(image);
  if (!mem) {
    std::string message = vips_error_buffer();
    vips_error_clear();
    throw std::runtime_error("vips cannot decode " + path + ": " + message);
  }
  p.data.assign(static_cast<uint8_t*>(mem), static_cast<uint8_t*>(mem) + size);
  g_free(mem);
  return p;
}

Pixels DecodeRegionWithCApi(const std::string& path, int x, int y, int w, int h) {
  msic_reader* r = msic_reader_open_file(nullptr, path.c_str());
  if (!r) throw std::runtime_error("msic cannot open " + path + ": " + msic_last_error());
  msic_file_info info;
  if (msic_reader_get_info(r, &info) != MSIC_OK) {
    msic_reader_close(r);
    throw std::runtime_error("msic_reader_get_info failed: " + std::string(msic_last_error()));
  }
  if (w < 0) w = static_cast<int>(info.image.width);
  if (h < 0) h = static_cast<int>(info.image.height);
  Pixels p;
  p.width = w;
  p.height = h;
  p.bands = static_cast<int>(info.image.bands);
  p.data.resize(static_cast<size_t>(w) * h * p.bands);
  msic_status st = msic_reader_decode_region(r, static_cast<uint32_t>(x), static_cast<uint32_t>(y),
                                             static_cast<uint32_t>(w), static_cast<uint32_t>(h),
                                             p.data.data(), static_cast<size_t>(w) * p.bands);
  std::string message = msic_last_error();
  msic_reader_close(r);
  if (st != MSIC_OK) throw std::runtime_error("msic decode of " + path + " failed: " + message);
  return p;
}

Pixels DecodeWithCApi(const std::string& path) { return DecodeRegionWithCApi(path, 0, 0, -1, -1); }

int MaxAbsDiff(const Pixels& a, const Pixels& b) {
  if (a.width != b.width || a.height != b.height || a.bands != b.bands ||
      a.data.size() != b.data.size())
    return -1;
  int m = 0;
  for (size_t i = 0; i < a.data.size(); i++) m = std::max(m, std::abs(int(a.data[i]) - int(b.data[i])));
  return m;
}

double Psnr(const Pixels& a, const Pixels& b) { return test::psnr(a.data, b.data); }

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
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

bool ReportsLeaks(const std::string& log) {
  return Contains(log, "objects alive") || Contains(log, "allocations,") ||
         Contains(log, "files:");
}

bool vipshome_given = false;

}  // namespace msictest
