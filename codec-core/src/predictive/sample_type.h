// The samples of an image: format (unsigned, signed, float), bytes each and
// the valid bit depth (a 12-bit sensor in 16-bit words). Samples sit in
// memory in the machine's byte order, interleaved by band (the C API's
// convention); the file stores none of them raw.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "msic/msic.h"

namespace msic {

struct SampleType {
  uint32_t format = MSIC_SAMPLE_UNSIGNED;  // msic_sample_format
  uint32_t bit_depth = 8;                  // bits per stored sample: 8, 16 or 32
  uint32_t valid_bits = 0;                 // integer formats: 0 = bit_depth

  size_t bytes() const { return bit_depth / 8; }
  bool is_float() const { return format == MSIC_SAMPLE_FLOAT; }
  uint32_t bits() const { return valid_bits ? valid_bits : bit_depth; }
  // The range of valid values (integer formats).
  int64_t lo() const { return format == MSIC_SAMPLE_SIGNED ? -(int64_t(1) << (bits() - 1)) : 0; }
  int64_t hi() const {
    return format == MSIC_SAMPLE_SIGNED ? (int64_t(1) << (bits() - 1)) - 1 : (int64_t(1) << bits()) - 1;
  }
  // An integer sample at p (any alignment).
  int64_t load_int(const uint8_t *p) const {
    switch (bit_depth) {
      case 8: return format == MSIC_SAMPLE_SIGNED ? int64_t(int8_t(*p)) : int64_t(*p);
      case 16: {
        uint16_t v;
        memcpy(&v, p, 2);
        return format == MSIC_SAMPLE_SIGNED ? int64_t(int16_t(v)) : int64_t(v);
      }
      default: {
        uint32_t v;
        memcpy(&v, p, 4);
        return format == MSIC_SAMPLE_SIGNED ? int64_t(int32_t(v)) : int64_t(v);
      }
    }
  }
  void store_int(uint8_t *p, int64_t v) const {
    switch (bit_depth) {
      case 8: *p = uint8_t(v); return;
      case 16: {
        uint16_t s = uint16_t(v);
        memcpy(p, &s, 2);
        return;
      }
      default: {
        uint32_t s = uint32_t(v);
        memcpy(p, &s, 4);
        return;
      }
    }
  }
  // "UInt16 (12 valid bits)", for messages.
  std::string name() const {
    std::string n = format == MSIC_SAMPLE_FLOAT ? "Float" : format == MSIC_SAMPLE_SIGNED ? "Int" : "UInt";
    n += std::to_string(bit_depth);
    if (valid_bits && valid_bits != bit_depth) n += " (" + std::to_string(valid_bits) + " valid bits)";
    return n;
  }
};

}  // namespace msic
