// The adaptive binary range coder (entropy/range_coder.*): what goes in
// comes out, skewed models cost what they should, and a stream that is cut
// short or padded is noticed.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "entropy/range_coder.h"

using msic::entropy::AdaptiveBit;
using msic::entropy::RangeDecoder;
using msic::entropy::RangeEncoder;

namespace {
struct Op {
  int model;    // -1: raw bits
  uint64_t value;
  int bits;
};

std::vector<Op> random_ops(uint32_t seed, size_t n) {
  std::mt19937_64 rng(seed);
  std::vector<Op> ops;
  for (size_t i = 0; i < n; ++i) {
    if (rng() % 7 == 0) {
      const int bits = int(rng() % 33);
      ops.push_back({-1, bits ? rng() & ((uint64_t(1) << bits) - 1) : 0, bits});
    } else {
      const int model = int(rng() % 4);
      // Model m sees ones with probability 0.02, 0.3, 0.5, 0.97.
      const double p1[] = {0.02, 0.3, 0.5, 0.97};
      ops.push_back({model, uint64_t(double(rng() % 10000) / 10000 < p1[model]), 1});
    }
  }
  return ops;
}
}  // namespace

TEST(RangeCoder, DecodesWhatWasEncoded) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    const std::vector<Op> ops = random_ops(seed, seed * 997);
    AdaptiveBit enc_models[4], dec_models[4];
    RangeEncoder enc;
    for (const Op &op : ops) op.model < 0 ? enc.code_raw(op.value, op.bits) : enc.code(enc_models[op.model], int(op.value));
    const std::vector<uint8_t> bytes = enc.finish();
    RangeDecoder dec(bytes.data(), bytes.size());
    for (const Op &op : ops) {
      const uint64_t got = op.model < 0 ? dec.code_raw(0, op.bits) : uint64_t(dec.code(dec_models[op.model]));
      ASSERT_EQ(got, op.value);
    }
    EXPECT_TRUE(dec.finished_cleanly());
  }
}

TEST(RangeCoder, MixedModelsDecodeAndLearnTheBetterModel) {
  // Model a knows the bits (P(1) = 0.9 where the truth is 0.9), model b is
  // fooled (it sees a coin): the mix must code near a's cost, and decode.
  std::mt19937 rng(11);
  std::vector<int> bits(50000);
  for (int &b : bits) b = rng() % 10 != 0;
  msic::entropy::AdaptiveBit ea, eb, da, db;
  AdaptiveBit coin;
  msic::entropy::Mixer2 em, dm;
  RangeEncoder enc;
  std::mt19937 noise(12);
  for (int b : bits) {
    enc.code(coin, int(noise() & 1));  // keeps b's context a coin
    enc.code(ea, eb, em, b);
    eb = AdaptiveBit{};
  }
  const std::vector<uint8_t> bytes = enc.finish();
  const double cost = 8.0 * double(bytes.size()) / double(bits.size()) - 1.0;  // minus the coin bits
  EXPECT_LT(cost, 0.50);  // entropy of 0.9: 0.469
  RangeDecoder dec(bytes.data(), bytes.size());
  AdaptiveBit dcoin;
  std::mt19937 noise2(12);
  for (int b : bits) {
    ASSERT_EQ(dec.code(dcoin), int(noise2() & 1));
    ASSERT_EQ(dec.code(da, db, dm), b);
    db = AdaptiveBit{};
  }
  EXPECT_TRUE(dec.finished_cleanly());
}

TEST(RangeCoder, StretchInvertsSquash) {
  for (int x = -2047; x <= 2047; ++x) {
    const uint32_t p = msic::entropy::squash(x);
    ASSERT_GE(p, 1u);
    ASSERT_LE(p, 4095u);
    if (x > -2047) ASSERT_GE(p, msic::entropy::squash(x - 1));
    ASSERT_LE(msic::entropy::stretch(p), x);  // the smallest x reaching p
    ASSERT_EQ(msic::entropy::squash(msic::entropy::stretch(p)), p);
  }
}

TEST(RangeCoder, SkewedBitsCostTheirEntropy) {
  // 100,000 bits with P(1) = 0.05: entropy 0.286 bits each.
  std::mt19937 rng(3);
  AdaptiveBit m;
  RangeEncoder enc;
  for (int i = 0; i < 100000; ++i) enc.code(m, rng() % 100 < 5);
  const double bits = 8.0 * double(enc.finish().size()) / 100000;
  EXPECT_GT(bits, 0.27);
  EXPECT_LT(bits, 0.30);
}

TEST(RangeCoder, NoticesStreamsOfTheWrongLength) {
  const std::vector<Op> ops = random_ops(9, 5000);
  AdaptiveBit enc_models[4];
  RangeEncoder enc;
  for (const Op &op : ops) op.model < 0 ? enc.code_raw(op.value, op.bits) : enc.code(enc_models[op.model], int(op.value));
  std::vector<uint8_t> bytes = enc.finish();
  auto decode_all = [&](const std::vector<uint8_t> &b) {
    AdaptiveBit models[4];
    RangeDecoder dec(b.data(), b.size());
    for (const Op &op : ops) op.model < 0 ? dec.code_raw(0, op.bits) : uint64_t(dec.code(models[op.model]));
    return dec.finished_cleanly();
  };
  EXPECT_TRUE(decode_all(bytes));
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(decode_all(longer));
  // Cut short by many bytes: the decoder stops with an error rather than read on.
  std::vector<uint8_t> shorter(bytes.begin(), bytes.end() - 64);
  EXPECT_THROW(decode_all(shorter), msic::Error);
  const std::vector<uint8_t> bad_start = {1, 0, 0, 0, 0};
  EXPECT_THROW(RangeDecoder(bad_start.data(), bad_start.size()), msic::Error);
}
