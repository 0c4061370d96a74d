// rANS entropy coder: 64-bit state, 32-bit renormalisation, 16-bit
// probabilities (after Duda's rANS and the rans64 formulation).
// Symbols come from quantized CDF tables (CdfTables) with an escape symbol
// for values outside the table, followed by the value in raw 16-bit chunks.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "buffer_pool.h"
#include "entropy/cdf_tables.h"

namespace msic::entropy {

constexpr int kProbBits = 16;
constexpr uint64_t kRansLow = 1ull << 31;  // the state lives in [2^31, 2^63)

// x / freq for x < 2^63 and 1 <= freq <= 2^16, by a multiply: the
// encoder's state update waits on this quotient, and a 64-bit division
// takes several times as long. Alverson's reciprocals, as in ryg_rans'
// rans64: with s = ceil(log2 freq) and r = ceil(2^(63 + s) / freq), the
// quotient is exactly mulhi(x, r) >> (s - 1). The reciprocals are worked
// out (one 128-bit division) as frequencies come and kept in a small
// direct-mapped cache: a table of all 2^16 would add half a megabyte to
// every tile being encoded.
class RansQuotients {
 public:
  RansQuotients() : freq_(kSlots, 0), reciprocal_(kSlots) {}
  uint64_t of(uint64_t x, uint32_t freq) {
    if (freq == 1) return x;
    const uint32_t s = 64 - uint32_t(__builtin_clzll(freq - 1ull));
    const uint32_t slot = freq & (kSlots - 1);
    if (freq_[slot] != freq) {
      freq_[slot] = freq;
      reciprocal_[slot] = uint64_t((((unsigned __int128)1 << (63 + s)) + freq - 1) / freq);
    }
    return uint64_t((unsigned __int128)x * reciprocal_[slot] >> 64) >> (s - 1);
  }

 private:
  static constexpr uint32_t kSlots = 4096;
  PooledVector<uint32_t> freq_;        // whose reciprocal each slot holds (0: none)
  PooledVector<uint64_t> reciprocal_;
};

// A tile's parts are coded side by side, each coder updated at every
// symbol: a cache line of its own each (two decoders sharing one ran a
// 512-px tile's context model 1.4x slower on two cores than on one).
constexpr size_t kCoderAlignment = 64;

class alignas(kCoderAlignment) RansEncoder {
 public:
  RansEncoder() = default;
  // Its write pointer points into its own queue.
  RansEncoder(const RansEncoder &) = delete;
  RansEncoder &operator=(const RansEncoder &) = delete;
  // Queues value v under table t (encoded at finish, in reverse).
  void put(const CdfTables &tables, int t, int32_t value) {
    const int32_t *cdf = tables.cdf.data() + tables.offset[t];
    const int32_t k = tables.symbol_for_value(t, value);
    push(op(uint32_t(cdf[k]), uint32_t(cdf[k + 1] - cdf[k])));
    if (k == tables.size[t] - 1) put_escaped(value);
  }
  std::vector<uint8_t> finish();
  uint32_t escapes() const { return escapes_; }

 private:
  // One queued symbol in 32 bits: start << 16 | (freq - 1); start < 2^16
  // and 1 <= freq <= 2^16 (kProbBits).
  static uint32_t op(uint32_t start, uint32_t freq) { return start << 16 | (freq - 1); }
  void push(uint32_t op) {
    if (next_ == block_end_) next_block();
    *next_++ = op;
  }
  void next_block();
  void put_escaped(int32_t value);  // the raw chunks after an escape symbol
  void put_raw16(uint32_t bits) { push(op(bits & 0xffff, 1)); }
  // The queue, in blocks of kBlockOps: it is a tile's largest encode
  // buffer, and a vector grown by doubling held up to three times its size
  // at once. The last block is filled up to next_.
  static constexpr size_t kBlockOps = 1 << 16;
  std::vector<PooledVector<uint32_t>> ops_;
  uint32_t *next_ = nullptr, *block_end_ = nullptr;
  uint32_t escapes_ = 0;
};

// What RansEncoder::put(tables, table, value) costs, in bits (escapes
// included), for the encoder's rate-distortion choices. Integer -log2 of
// each symbol's frequency, so the choices, hence the bytes, are the same
// everywhere. Made for the tables' symbols only: a table of every
// frequency took a process 0.7-0.9 ms to build (5% of a 16x16 encode).
class CodingCost {
 public:
  explicit CodingCost(const CdfTables &tables);
  // `tables`: the ones it was made for.
  double bits(const CdfTables &tables, int t, int32_t value) const {
    const int32_t k = tables.symbol_for_value(t, value);
    const double symbol = symbol_q16_[size_t(tables.offset[t]) + size_t(k)] / 65536.0;
    return k == tables.size[t] - 1 ? symbol + escaped_bits(value) : symbol;
  }

 private:
  static double escaped_bits(int32_t value);  // the raw chunks after an escape
  std::vector<uint32_t> symbol_q16_;          // -log2(freq / 2^16) in Q16, at cdf's index of the symbol
};

class alignas(kCoderAlignment) RansDecoder {
 public:
  RansDecoder(const uint8_t *data, size_t size);  // throws Error on short data
  // Throws Error when a corrupt stream runs dry. Inline: it is the serial
  // heart of every decode.
  int32_t get(const CdfTables &tables, int t) {
    const CdfTables::SymbolInterval s = tables.interval_for_slot(t, uint32_t(x_ & 0xffff));
    advance(s.start, s.freq);
    return s.symbol < tables.size[t] - 1 ? tables.min[t] + s.symbol : get_escaped();
  }
  // True if every word was consumed and the state is back where it began.
  bool finished_cleanly() const;
  uint32_t escapes() const { return escapes_; }

 private:
  void advance(uint32_t start, uint32_t freq) {
    x_ = freq * (x_ >> kProbBits) + (x_ & ((1u << kProbBits) - 1)) - start;
    if (x_ < kRansLow) refill();
  }
  void refill();          // the next word, or throws
  int32_t get_escaped();  // the value after an escape symbol
  uint32_t get_raw16();
  const uint8_t *p_, *end_;
  uint64_t x_;
  uint32_t escapes_ = 0;
};

}  // namespace msic::entropy
