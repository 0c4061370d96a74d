// A new file written under a temporary name beside its destination and
// renamed over it only when complete: a failed or cancelled write leaves
// the destination as it was and no temporary file behind.
#pragma once
#include <cstdio>
#include <string>

namespace msic {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // throws Error(MSIC_ERR_IO)
  ~AtomicFile();                           // removes the temporary file unless committed
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;

  bool write(const void *data, size_t size);
  // Flushes, syncs and renames into place; throws Error(MSIC_ERR_IO).
  void commit();

 private:
  std::string path_, tmp_path_;
  FILE *file_ = nullptr;
  bool committed_ = false;
};

}  // namespace msic
