// Little-endian fields, the byte order of every multi-byte number MSIC
// writes (container, tile payloads, boxes, model files): one definition.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace msic::format {

inline uint16_t load_le16(const uint8_t *p) { return uint16_t(p[0] | (p[1] << 8)); }
inline uint32_t load_le32(const uint8_t *p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline uint64_t load_le64(const uint8_t *p) { return uint64_t(load_le32(p)) | uint64_t(load_le32(p + 4)) << 32; }
inline double load_f64le(const uint8_t *p) {
  uint64_t bits = load_le64(p);
  double v;
  memcpy(&v, &bits, 8);
  return v;
}

inline void store_le16(uint8_t *p, uint16_t v) { p[0] = uint8_t(v), p[1] = uint8_t(v >> 8); }
inline void store_le32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}
inline void store_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (8 * i));
}
inline void store_f64le(uint8_t *p, double v) {
  uint64_t bits;
  memcpy(&bits, &v, 8);
  store_le64(p, bits);
}

// Appends fields to a byte string.
struct Packer {
  std::vector<uint8_t> bytes;
  void u8(uint8_t v) { *grow(1) = v; }
  void u16(uint16_t v) { store_le16(grow(2), v); }
  void u32(uint32_t v) { store_le32(grow(4), v); }
  void u64(uint64_t v) { store_le64(grow(8), v); }
  void f64(double v) { store_f64le(grow(8), v); }
  void raw(const void *p, size_t n) {
    if (n) memcpy(grow(n), p, n);
  }

 private:
  uint8_t *grow(size_t n) {
    bytes.resize(bytes.size() + n);
    return bytes.data() + bytes.size() - n;
  }
};

}  // namespace msic::format
