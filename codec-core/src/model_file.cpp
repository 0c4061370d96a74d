#include "model_file.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "byte_order.h"
#include "errors.h"
#include "sha256.h"

namespace msic {
namespace {
constexpr char kModelMagic[8] = {'M', 'S', 'I', 'C', 'M', 'O', 'D', 'L'};
constexpr uint32_t kModelVersion = 1;

struct Cursor {
  const uint8_t *p, *end;
  void need(size_t n) {
    if (size_t(end - p) < n) throw Error(MSIC_ERR_MODEL, "model file is truncated");
  }
  uint32_t u32() {
    need(4);
    uint32_t v = format::load_le32(p);
    p += 4;
    return v;
  }
  void raw(void *out, size_t n) {
    need(n);
    memcpy(out, p, n);
    p += n;
  }
};
void put32(std::vector<uint8_t> &b, uint32_t v) {
  b.resize(b.size() + 4);
  format::store_le32(b.data() + b.size() - 4, v);
}
}  // namespace

int64_t NamedTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// Layout: magic, u32 version, u32 config length, config text, u32 tensor
// count, then per tensor: u32 name length, name, u32 type, u32 ndim,
// u32 dims..., little-endian data (4 bytes per element).
std::vector<uint8_t> ModelFile::serialize() const {
  std::vector<uint8_t> b(kModelMagic, kModelMagic + 8);
  put32(b, kModelVersion);
  std::string text = config.to_text();
  put32(b, uint32_t(text.size()));
  b.insert(b.end(), text.begin(), text.end());
  put32(b, uint32_t(tensors.size()));
  for (const auto &[name, t] : tensors) {
    put32(b, uint32_t(name.size()));
    b.insert(b.end(), name.begin(), name.end());
    put32(b, uint32_t(t.type));
    put32(b, uint32_t(t.shape.size()));
    for (int64_t d : t.shape) put32(b, uint32_t(d));
    const uint8_t *data = t.type == NamedTensor::Type::F32 ? t.f32.bytes() : t.i32.bytes();
    b.insert(b.end(), data, data + 4 * t.numel());  // host is little-endian (x86-64, arm64)
  }
  return b;
}

ModelFile ModelFile::parse(std::shared_ptr<const std::vector<uint8_t>> bytes,
                           const std::array<uint8_t, 32> *known_hash) {
  const uint8_t *data = bytes->data();
  const size_t size = bytes->size();
  return parse_bytes(std::move(bytes), data, size, known_hash);
}

ModelFile ModelFile::parse_static(const uint8_t *data, size_t size, const std::array<uint8_t, 32> *known_hash) {
  return parse_bytes(nullptr, data, size, known_hash);
}

ModelFile ModelFile::parse_bytes(std::shared_ptr<const void> keep, const uint8_t *data, size_t size,
                                 const std::array<uint8_t, 32> *known_hash) {
  ModelFile m;
  Cursor c{data, data + size};
  char magic[8];
  c.raw(magic, 8);
  if (memcmp(magic, kModelMagic, 8) != 0) throw Error(MSIC_ERR_MODEL, "not an MSIC model file (bad magic)");
  uint32_t version = c.u32();
  if (version != kModelVersion)
    throw Error(MSIC_ERR_MODEL, "model file version " + std::to_string(version) + " is not supported");
  uint32_t text_len = c.u32();
  c.need(text_len);
  std::string text(reinterpret_cast<const char *>(c.p), text_len);
  c.p += text_len;
  m.config = ModelConfig::from_text(text);
  uint32_t count = c.u32();
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t name_len = c.u32();
    c.need(name_len);
    std::string name(reinterpret_cast<const char *>(c.p), name_len);
    c.p += name_len;
    NamedTensor t;
    uint32_t type = c.u32();
    if (type > 1) throw Error(MSIC_ERR_MODEL, "model tensor '" + name + "' has an unknown type");
    t.type = NamedTensor::Type(type);
    uint32_t ndim = c.u32();
    if (ndim > 8) throw Error(MSIC_ERR_MODEL, "model tensor '" + name + "' has too many dimensions");
    int64_t n = 1;
    for (uint32_t d = 0; d < ndim; ++d) {
      t.shape.push_back(c.u32());
      n *= t.shape.back();
      if (n > (int64_t(1) << 30)) throw Error(MSIC_ERR_MODEL, "model tensor '" + name + "' is too large");
    }
    c.need(size_t(4 * n));
    if (t.type == NamedTensor::Type::F32)
      t.f32 = TensorValues<float>::borrow(keep, c.p, size_t(n));
    else
      t.i32 = TensorValues<int32_t>::borrow(keep, c.p, size_t(n));
    c.p += 4 * n;
    m.tensors[name] = std::move(t);
  }
  if (c.p != c.end) throw Error(MSIC_ERR_MODEL, "model file has trailing bytes");
  m.hash = known_hash ? *known_hash : sha256(data, size);
  return m;
}

ModelFile ModelFile::load(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(MSIC_ERR_MODEL, "cannot open model file '" + path + "'");
  auto bytes = std::make_shared<const std::vector<uint8_t>>((std::istreambuf_iterator<char>(in)),
                                                           std::istreambuf_iterator<char>());
  return parse(std::move(bytes));
}

void ModelFile::save(const std::string &path) const {
  std::vector<uint8_t> bytes = serialize();
  std::string tmp = path + ".tmp";
  FILE *f = fopen(tmp.c_str(), "wb");
  if (!f) throw Error(MSIC_ERR_IO, "cannot write '" + tmp + "'");
  bool ok = fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    remove(tmp.c_str());
    throw Error(MSIC_ERR_IO, "cannot write model file '" + path + "'");
  }
}

const NamedTensor &ModelFile::get(const std::string &name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw Error(MSIC_ERR_MODEL, "model file lacks tensor '" + name + "'");
  return it->second;
}

}  // namespace msic
