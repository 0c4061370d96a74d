#include "api/model_library.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "api/context.h"
#include "errors.h"
#include "sha256.h"

#ifndef MSIC_MODEL_DIR
#error "the build defines MSIC_MODEL_DIR: <datadir>/msic/models, or \"\" for none"
#endif

namespace msic {
namespace {

// A model file is a few megabytes; a larger *.msicw is not read.
constexpr uintmax_t kMaxModelFileBytes = uintmax_t(256) << 20;

std::vector<std::string> model_folders() {
  std::vector<std::string> folders;
  if (const char *path = getenv("MSIC_MODEL_PATH")) {
    const std::string p = path;
    for (size_t start = 0; start <= p.size();) {
      const size_t end = std::min(p.find(':', start), p.size());
      if (end > start) folders.push_back(p.substr(start, end - start));  // (an empty entry names none)
      start = end + 1;
    }
  }
  if (*MSIC_MODEL_DIR) folders.push_back(MSIC_MODEL_DIR);
  return folders;
}

// The folder's *.msicw files, in name order (the same search on every run).
std::vector<std::filesystem::path> model_files(const std::string &folder) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;  // a folder that is missing or unreadable holds none
  for (std::filesystem::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".msicw" && it->is_regular_file(ec)) files.push_back(it->path());
  std::sort(files.begin(), files.end());
  return files;
}

// The file's bytes if their SHA-256 is `hash` (checked before parsing).
std::optional<std::vector<uint8_t>> bytes_with_hash(const std::filesystem::path &file,
                                                    const std::array<uint8_t, 32> &hash) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec || size > kMaxModelFileBytes) return std::nullopt;
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  std::ifstream in(file, std::ios::binary);
  if (!in.read(reinterpret_cast<char *>(bytes.data()), std::streamsize(size)) ||
      sha256(bytes.data(), bytes.size()) != hash)
    return std::nullopt;
  return bytes;
}

}  // namespace

std::optional<ModelFile> find_model(const std::array<uint8_t, 32> &hash) {
  if (hash == Context::embedded_model_hash()) return Context::embedded_model();
  for (const std::string &folder : model_folders())
    for (const std::filesystem::path &file : model_files(folder)) {
      try {
        if (std::optional<std::vector<uint8_t>> bytes = bytes_with_hash(file, hash))
          return ModelFile::parse(std::make_shared<const std::vector<uint8_t>>(std::move(*bytes)), &hash);
      } catch (const std::exception &) {
        // Unreadable, or a damaged model: not the one sought.
      }
    }
  return std::nullopt;
}

std::string model_search_path() {
  std::string s = "the embedded model";
  for (const std::string &folder : model_folders()) s += ", " + folder;
  return s;
}

}  // namespace msic
