// The model file: config, named tensors (weights, gains, CDF tables) and its
// SHA-256, which every .msic file records. Format in models/README.md.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model_config.h"

namespace msic {

// A tensor's values, 4-byte little-endian words (the host's order: x86-64,
// arm64). A parsed model borrows them from its bytes where they lie: a
// short process paid more for the fresh pages of a copy of the weights
// than for anything it computed (a model is 1.5 MB; each new page costs
// microseconds on a virtual machine). A tensor made or changed in memory
// owns a vector. The bytes need not be aligned: reads copy a word.
template <class T>
class TensorValues {
  static_assert(sizeof(T) == 4, "model tensors hold 4-byte words");

 public:
  TensorValues() = default;
  TensorValues(std::vector<T> values) : owned_(std::move(values)) {}
  TensorValues(std::initializer_list<T> values) : owned_(values) {}
  // n words at `bytes`, which `keep` keeps alive (null: they live as long
  // as the process).
  static TensorValues borrow(std::shared_ptr<const void> keep, const uint8_t *bytes, size_t n) {
    TensorValues v;
    v.keep_ = std::move(keep), v.bytes_ = bytes, v.borrowed_size_ = n;
    return v;
  }

  size_t size() const { return bytes_ ? borrowed_size_ : owned_.size(); }
  bool empty() const { return size() == 0; }
  T operator[](size_t i) const {
    T v;
    memcpy(&v, bytes() + 4 * i, 4);
    return v;
  }
  const uint8_t *bytes() const { return bytes_ ? bytes_ : reinterpret_cast<const uint8_t *>(owned_.data()); }
  std::vector<T> vector() const {  // a copy
    std::vector<T> v(size());
    if (!v.empty()) memcpy(v.data(), bytes(), 4 * v.size());
    return v;
  }
  // The values to change: borrowed ones are copied first, once.
  std::vector<T> &owned() {
    if (bytes_) {
      owned_ = vector();
      bytes_ = nullptr, borrowed_size_ = 0, keep_.reset();
    }
    return owned_;
  }
  // The same bits.
  bool operator==(const TensorValues &o) const {
    return size() == o.size() && (empty() || memcmp(bytes(), o.bytes(), 4 * size()) == 0);
  }

 private:
  std::vector<T> owned_;
  std::shared_ptr<const void> keep_;
  const uint8_t *bytes_ = nullptr;  // non-null: borrowed
  size_t borrowed_size_ = 0;
};

struct NamedTensor {
  enum class Type : uint8_t { F32 = 0, I32 = 1 };
  Type type = Type::F32;
  std::vector<int64_t> shape;
  TensorValues<float> f32;
  TensorValues<int32_t> i32;
  int64_t numel() const;
};

struct ModelFile {
  ModelConfig config;
  std::map<std::string, NamedTensor> tensors;
  std::array<uint8_t, 32> hash{};  // of the serialized bytes

  // Both throw Error. known_hash: the bytes' SHA-256 when the caller has it
  // (the embedded model's is computed at build time). The tensors borrow
  // their values from the bytes: parse keeps them alive with the model;
  // parse_static is for bytes that live as long as the process.
  static ModelFile parse(std::shared_ptr<const std::vector<uint8_t>> bytes,
                         const std::array<uint8_t, 32> *known_hash = nullptr);
  static ModelFile parse_static(const uint8_t *data, size_t size, const std::array<uint8_t, 32> *known_hash);
  static ModelFile load(const std::string &path);            // throws Error
  std::vector<uint8_t> serialize() const;
  void save(const std::string &path) const;                  // temp + rename

  const NamedTensor &get(const std::string &name) const;     // throws if absent
  bool has(const std::string &name) const { return tensors.count(name) != 0; }

 private:
  static ModelFile parse_bytes(std::shared_ptr<const void> keep, const uint8_t *data, size_t size,
                               const std::array<uint8_t, 32> *known_hash);
};

}  // namespace msic
