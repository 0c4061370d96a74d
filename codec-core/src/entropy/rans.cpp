#include "entropy/rans.h"

#include <algorithm>
#include <cstring>

#include "byte_order.h"
#include "errors.h"

namespace msic::entropy {
namespace {

// Escaped values: zigzag to unsigned, then the bit length (5 bits) and the
// bits themselves, in raw 16-bit chunks.
inline uint32_t zigzag(int32_t v) { return v >= 0 ? uint32_t(v) << 1 : (uint32_t(-(v + 1)) << 1) | 1; }
inline int32_t unzigzag(uint32_t u) { return (u & 1) ? -int32_t(u >> 1) - 1 : int32_t(u >> 1); }
inline uint32_t bit_length(uint32_t u) {
  uint32_t bits = 0;
  while (bits < 32 && (u >> bits)) ++bits;
  return bits;
}
}  // namespace

void RansEncoder::next_block() {
  ops_.emplace_back(kBlockOps);
  next_ = ops_.back().data();
  block_end_ = next_ + kBlockOps;
}

void RansEncoder::put_escaped(int32_t value) {
  ++escapes_;
  const uint32_t u = zigzag(value), bits = bit_length(u);
  put_raw16(bits);
  for (uint32_t b = 0; b < bits; b += 16) put_raw16(u >> b);
}

namespace {
// -log2(freq / 2^16) in Q16, for freq in 1 .. 2^16, by integer arithmetic
// only: libm's log2 may differ in its last bit between machines (its FMA
// and plain variants), and the encoder's choices, hence its bytes, must
// not. log2(m) for m in [1, 2) one bit at a time: m^2 >= 2 sets the bit.
uint32_t neg_log2_q16(uint32_t freq) {
  const int e = 31 - __builtin_clz(freq);
  uint64_t m = (uint64_t(freq) << 30) >> e;  // Q30, in [1, 2)
  uint32_t frac = 0;
  for (int b = 15; b >= 0; --b) {
    m = (m * m) >> 30;
    const bool bit = m >= (uint64_t(2) << 30);
    m >>= int(bit);
    frac |= uint32_t(bit) << b;
  }
  return (uint32_t(kProbBits - e) << 16) - frac;
}
}  // namespace

CodingCost::CodingCost(const CdfTables &tables) : symbol_q16_(tables.cdf.size(), 0) {
  for (int t = 0; t < tables.count(); ++t) {
    const int32_t *cdf = tables.cdf.data() + tables.offset[t];
    for (int32_t k = 0; k < tables.size[t]; ++k)
      symbol_q16_[size_t(tables.offset[t]) + size_t(k)] = neg_log2_q16(uint32_t(cdf[k + 1] - cdf[k]));
  }
}


double CodingCost::escaped_bits(int32_t value) { return 16.0 * (1 + (bit_length(zigzag(value)) + 15) / 16); }

std::vector<uint8_t> RansEncoder::finish() {
  RansQuotients quotients;
  PooledVector<uint32_t> words;  // emitted in reverse
  uint64_t x = kRansLow;
  for (size_t b = ops_.size(); b-- > 0;)
    for (const uint32_t *first = ops_[b].data(), *it = b + 1 == ops_.size() ? next_ : first + kBlockOps;
         it != first;) {
      --it;
      const uint64_t start = *it >> 16, freq = (*it & 0xffff) + 1;
      uint64_t x_max = ((kRansLow >> kProbBits) << 32) * freq;
      if (x >= x_max) {
        words.push_back(uint32_t(x));
        x >>= 32;
      }
      const uint64_t q = quotients.of(x, freq);
      x = (q << kProbBits) + (x - q * freq) + start;
    }
  std::vector<uint8_t> out(8 + 4 * words.size());
  format::store_le64(out.data(), x);
  size_t pos = 8;
  for (auto it = words.rbegin(); it != words.rend(); ++it, pos += 4) format::store_le32(out.data() + pos, *it);
  ops_.clear();
  next_ = block_end_ = nullptr;
  return out;
}

RansDecoder::RansDecoder(const uint8_t *data, size_t size) : p_(data), end_(data + size) {
  if (size < 8 || (size - 8) % 4) throw Error(MSIC_ERR_FORMAT, "corrupt tile (bad entropy stream length)");
  x_ = format::load_le64(data);
  p_ += 8;
  if (x_ < kRansLow) throw Error(MSIC_ERR_FORMAT, "corrupt tile (bad entropy coder state)");
}

void RansDecoder::refill() {
  // A valid stream never runs dry: the encoder wrote exactly the words the
  // decoder reads. Stopping here bounds the work a corrupt or hostile
  // payload can cause (a few bytes claiming a 4096x4096 tile would
  // otherwise be decoded to the end as garbage).
  if (end_ - p_ < 4) throw Error(MSIC_ERR_FORMAT, "corrupt tile (entropy stream ends early)");
  x_ = (x_ << 32) | format::load_le32(p_);
  p_ += 4;
}

uint32_t RansDecoder::get_raw16() {
  uint32_t slot = uint32_t(x_ & 0xffff);
  advance(slot, 1);
  return slot;
}

int32_t RansDecoder::get_escaped() {
  ++escapes_;
  uint32_t bits = get_raw16();
  if (bits > 32) bits = 32;
  uint32_t u = 0;
  for (uint32_t b = 0; b < bits; b += 16) u |= get_raw16() << b;
  return unzigzag(u);
}

bool RansDecoder::finished_cleanly() const { return p_ == end_ && x_ == kRansLow; }

}  // namespace msic::entropy
