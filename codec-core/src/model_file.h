// The model file: config, named tensors (weights, gains, CDF tables) and its
// SHA-256, which every .msic file records. Format in models/README.md.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model_config.h"

namespace msic {

struct NamedTensor {
  enum class Type : uint8_t { F32 = 0, I32 = 1 };
  Type type = Type::F32;
  std::vector<int64_t> shape;
  std::vector<float> f32;
  std::vector<int32_t> i32;
  int64_t numel() const;
};

struct ModelFile {
  ModelConfig config;
  std::map<std::string, NamedTensor> tensors;
  std::array<uint8_t, 32> hash{};  // of the serialized bytes

  // throws Error; known_hash: the bytes' SHA-256 when the caller has it
  // (the embedded model's is computed at build time).
  static ModelFile parse(const uint8_t *data, size_t size, const std::array<uint8_t, 32> *known_hash = nullptr);
  static ModelFile load(const std::string &path);            // throws Error
  std::vector<uint8_t> serialize() const;
  void save(const std::string &path) const;                  // temp + rename

  const NamedTensor &get(const std::string &name) const;     // throws if absent
  bool has(const std::string &name) const { return tensors.count(name) != 0; }
};

}  // namespace msic
