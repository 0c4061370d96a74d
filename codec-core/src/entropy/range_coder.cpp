#include "entropy/range_coder.h"

namespace msic::entropy {

namespace {
// squash at -2048, -1920, ..., 2048: 4096 / (1 + e^(-x / 256)), rounded.
constexpr int kSquashPoints[33] = {1,    2,    3,    6,    10,   16,   27,   45,   73,   120,  194,
                                   310,  488,  747,  1101, 1546, 2047, 2549, 2994, 3348, 3607, 3785,
                                   3901, 3975, 4024, 4050, 4068, 4079, 4085, 4089, 4092, 4093, 4094};

struct StretchTable {
  int16_t value[4096];
  StretchTable() {
    // The inverse of squash: the smallest x whose squash reaches p.
    int x = -2047;
    for (uint32_t p = 0; p < 4096; ++p) {
      while (x < 2047 && squash(x) < p) ++x;
      value[p] = int16_t(x);
    }
  }
};
}  // namespace

uint32_t squash(int x) {
  if (x > 2047) x = 2047;
  if (x < -2047) x = -2047;
  const int i = (x + 2048) >> 7, w = (x + 2048) & 127;
  const int p = (kSquashPoints[i] * (128 - w) + kSquashPoints[i + 1] * w + 64) >> 7;
  return uint32_t(p < 1 ? 1 : (p > 4095 ? 4095 : p));
}

int stretch(uint32_t p12) {
  static const StretchTable table;
  return table.value[p12 & 4095];
}

// Bytes leave the encoder one behind: a byte can still receive the carry of
// a later addition to low_, which ripples through any run of 0xff bytes
// after it. pending_ counts the held byte and those 0xff bytes.
void RangeEncoder::shift_low() {
  if (uint32_t(low_) < 0xff000000u || (low_ >> 32) != 0) {
    const uint8_t carry = uint8_t(low_ >> 32);
    uint8_t held = cache_;
    do {
      out_.push_back(uint8_t(held + carry));
      held = 0xff;
    } while (--pending_ != 0);
    cache_ = uint8_t(low_ >> 24);
  }
  ++pending_;
  low_ = (low_ & 0x00ffffffu) << 8;
}

std::vector<uint8_t> RangeEncoder::finish() {
  for (int i = 0; i < 5; ++i) shift_low();
  return std::move(out_);
}

RangeDecoder::RangeDecoder(const uint8_t *data, size_t size) : p_(data), end_(data + size) {
  // The encoder's first byte is the empty cache: always 0.
  if (size < 5 || data[0] != 0) throw Error(MSIC_ERR_FORMAT, "corrupt tile (bad range coder start)");
  ++p_;
  for (int i = 0; i < 4; ++i) code_ = (code_ << 8) | *p_++;
}

}  // namespace msic::entropy
