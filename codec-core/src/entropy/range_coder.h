// Adaptive binary range coder for the exact and bounded-error tile codec
// (predictive/). Unlike rANS (rans.*), which codes the learned codec's
// static tables in reverse, this one codes forward, so that probabilities
// can adapt sample by sample with constant memory: the encoder streams its
// bytes out as it goes. The scheme is the classic carry-propagating
// binary range coder (Subbotin, LZMA): 32-bit range, bytes out with a
// delayed carry; MSIC.md states it to the bit.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "errors.h"

namespace msic::entropy {

// Probability that the next bit is 0, learnt by two counters with fast and
// slow adaptation (their mean codes): 16-bit each.
struct AdaptiveBit {
  uint16_t fast = 1u << 15, slow = 1u << 15;
  uint8_t seen = 0;  // bits coded so far, up to kSlowShift: early bits teach faster
  static constexpr int kCodeBits = 12;  // the coder uses a 12-bit probability
  static constexpr int kFastShift = 5, kSlowShift = 7;
  uint32_t p0() const {
    uint32_t p = (uint32_t(fast) + slow) >> (17 - kCodeBits);
    return p < 1 ? 1 : (p > (1u << kCodeBits) - 1 ? (1u << kCodeBits) - 1 : p);
  }
  void update(int bit) {
    const int fs = seen < kFastShift ? seen + 1 : kFastShift, ss = seen < kSlowShift ? seen + 1 : kSlowShift;
    if (seen < kSlowShift) ++seen;
    if (bit) {
      fast -= fast >> fs;
      slow -= slow >> ss;
    } else {
      fast += (65535 - fast) >> fs;
      slow += (65535 - slow) >> ss;
    }
  }
};

// Logistic mixing: two models' probabilities averaged as log-odds
// (stretch(p) = ln(p / (1 - p)), squash its inverse, in fixed point: a
// 33-point table of squash, linearly interpolated, and stretch its exact
// integer inverse), so that two contexts can each say what they know.
int stretch(uint32_t p12);  // p in [1, 4095] -> [-2047, 2047]
uint32_t squash(int x);     // [-2047, 2047] -> [1, 4095]
// Two models' log-odds, weighted by weights the mixer learns as it codes
// (16.16 fixed point; both start at 1/2).
struct Mixer2 {
  int32_t w[2] = {1 << 15, 1 << 15};
  static constexpr int kRateShift = 13;
  uint32_t p0(int sa, int sb) const { return squash(int((int64_t(w[0]) * sa + int64_t(w[1]) * sb) >> 16)); }
  void update(int sa, int sb, uint32_t p0, int bit) {
    const int err = ((bit ^ 1) << AdaptiveBit::kCodeBits) - int(p0);
    w[0] += (sa * err) >> kRateShift;
    w[1] += (sb * err) >> kRateShift;
  }
};

class RangeEncoder {
 public:
  static constexpr bool kEncodes = true;
  // Codes `bit` with the model's probability, then updates the model.
  int code(AdaptiveBit &m, int bit) {
    code_p0(m.p0(), bit);
    m.update(bit);
    return bit;
  }
  // Codes `bit` with the mix of two models, then updates them and the mixer.
  int code(AdaptiveBit &a, AdaptiveBit &b, Mixer2 &m, int bit) {
    const int sa = stretch(a.p0()), sb = stretch(b.p0());
    const uint32_t p0 = m.p0(sa, sb);
    code_p0(p0, bit);
    a.update(bit);
    b.update(bit);
    m.update(sa, sb, p0, bit);
    return bit;
  }
  // The low `n` bits of `value` (n <= 32), most significant first, each with
  // probability 1/2.
  uint64_t code_raw(uint64_t value, int n) {
    for (int i = n - 1; i >= 0; --i) {
      range_ >>= 1;
      if ((value >> i) & 1) low_ += range_;
      normalise();
    }
    return value;
  }
  // Flushes the coder; the bytes are complete after this.
  std::vector<uint8_t> finish();
  size_t bytes_so_far() const { return out_.size(); }

 private:
  void code_p0(uint32_t p0, int bit) {
    const uint32_t bound = (range_ >> AdaptiveBit::kCodeBits) * p0;
    if (bit) {
      low_ += bound;
      range_ -= bound;
    } else {
      range_ = bound;
    }
    normalise();
  }
  void normalise() {
    while (range_ < (1u << 24)) {
      range_ <<= 8;
      shift_low();
    }
  }
  void shift_low();
  uint64_t low_ = 0;  // 33 bits: bit 32 is the carry into the bytes out
  uint32_t range_ = 0xffffffffu;
  uint8_t cache_ = 0;      // the last byte, held back until its carry is known
  uint64_t pending_ = 1;   // cache_ and the 0xff bytes after it
  std::vector<uint8_t> out_;
};

class RangeDecoder {
 public:
  static constexpr bool kEncodes = false;
  // Throws Error(MSIC_ERR_FORMAT) on a stream too short to start.
  RangeDecoder(const uint8_t *data, size_t size);
  int code(AdaptiveBit &m, int /*ignored*/ = 0) {
    const int bit = code_p0(m.p0());
    m.update(bit);
    return bit;
  }
  int code(AdaptiveBit &a, AdaptiveBit &b, Mixer2 &m, int /*ignored*/ = 0) {
    const int sa = stretch(a.p0()), sb = stretch(b.p0());
    const uint32_t p0 = m.p0(sa, sb);
    const int bit = code_p0(p0);
    a.update(bit);
    b.update(bit);
    m.update(sa, sb, p0, bit);
    return bit;
  }
  uint64_t code_raw(uint64_t /*ignored*/, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) {
      range_ >>= 1;
      uint32_t bit = code_ >= range_;
      if (bit) code_ -= range_;
      v = (v << 1) | bit;
      normalise();
    }
    return v;
  }
  // True if the decoder read exactly the bytes the encoder wrote.
  bool finished_cleanly() const { return p_ == end_ && overrun_ == 0; }

 private:
  int code_p0(uint32_t p0) {
    const uint32_t bound = (range_ >> AdaptiveBit::kCodeBits) * p0;
    int bit;
    if (code_ < bound) {
      range_ = bound;
      bit = 0;
    } else {
      code_ -= bound;
      range_ -= bound;
      bit = 1;
    }
    normalise();
    return bit;
  }
  void normalise() {
    while (range_ < (1u << 24)) {
      range_ <<= 8;
      code_ = (code_ << 8) | next_byte();
    }
  }
  uint32_t next_byte() {
    if (p_ < end_) return *p_++;
    // A valid stream is read exactly to its end; a corrupt one may ask for
    // more. A few zero bytes let it finish the current symbol; then it stops
    // (bounding the work a hostile payload can cause).
    if (++overrun_ > 8) throw Error(MSIC_ERR_FORMAT, "corrupt tile (entropy stream ends early)");
    return 0;
  }
  const uint8_t *p_, *end_;
  uint32_t code_ = 0, range_ = 0xffffffffu;
  uint32_t overrun_ = 0;
};

}  // namespace msic::entropy
