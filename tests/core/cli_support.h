// Running the msic command (and its second build) from the core tests.
#pragma once
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

struct Result {
  int status;  // exit code, or 128 + signal
  std::string output;
};

// Runs a shell command; its stdout and stderr together.
inline Result run(const std::string &cmd) {
  FILE *p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), out};
}

const std::string cli = MSIC_CLI;
const std::string alt_cli = MSIC_ALT_CLI;

inline std::vector<uint8_t> read_file(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
inline void write_file(const std::string &path, const std::vector<uint8_t> &b) {
  std::ofstream(path, std::ios::binary).write((const char *)b.data(), std::streamsize(b.size()));
}
inline off_t size_of(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

}  // namespace
