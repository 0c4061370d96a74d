#include "entropy/range_coder.h"

namespace msic::entropy {

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
