#include "api/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "errors.h"

namespace msic {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  // A fresh name beside the target, created 0666 so the umask applies as
  // for any new file (mkstemp's 0600 would need a process-wide umask dance).
  int fd = -1;
  std::random_device random;
  for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
    char suffix[32];
    snprintf(suffix, sizeof suffix, ".tmp-%08x", unsigned(random()));
    tmp_path_ = path_ + suffix;
    fd = open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    std::string reason = strerror(errno);
    tmp_path_.clear();
    throw Error(MSIC_ERR_IO, "cannot create a file beside '" + path_ + "': " + reason);
  }
  file_ = fdopen(fd, "wb");
  if (!file_) {
    close(fd);
    unlink(tmp_path_.c_str());
    throw Error(MSIC_ERR_IO, "cannot open '" + tmp_path_ + "'");
  }
}

AtomicFile::~AtomicFile() {
  if (file_) fclose(file_);
  if (!tmp_path_.empty() && !committed_) unlink(tmp_path_.c_str());
}

bool AtomicFile::write(const void *data, size_t size) { return file_ && fwrite(data, 1, size, file_) == size; }

void AtomicFile::commit() {
  if (!file_) throw Error(MSIC_ERR_IO, "'" + tmp_path_ + "' is already closed");
  bool ok = fflush(file_) == 0 && fsync(fileno(file_)) == 0;
  ok = fclose(file_) == 0 && ok;
  file_ = nullptr;
  if (!ok) throw Error(MSIC_ERR_IO, "writing '" + tmp_path_ + "' failed: " + strerror(errno));
  if (rename(tmp_path_.c_str(), path_.c_str()) != 0)
    throw Error(MSIC_ERR_IO, "cannot rename to '" + path_ + "': " + strerror(errno));
  committed_ = true;
}

}  // namespace msic
