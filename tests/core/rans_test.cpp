// rANS with the quantized Gaussian tables: round trips, extremes, corruption.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "entropy/cdf_tables.h"
#include "entropy/rans.h"
#include "errors.h"
#include "model_config.h"
#include "round_even.h"

using namespace msic;
using namespace msic::entropy;

namespace {
const CdfTables &tables() {
  static CdfTables t = CdfTables::build(ModelConfig());
  return t;
}

void round_trip(const std::vector<std::pair<int, int32_t>> &symbols) {
  RansEncoder enc;
  for (auto [t, v] : symbols) enc.put(tables(), t, v);
  std::vector<uint8_t> bytes = enc.finish();
  RansDecoder dec(bytes.data(), bytes.size());
  for (size_t i = 0; i < symbols.size(); ++i)
    ASSERT_EQ(dec.get(tables(), symbols[i].first), symbols[i].second) << "symbol " << i;
  EXPECT_TRUE(dec.finished_cleanly());
}
}  // namespace

TEST(CdfTables, EveryTableIsAValidDistribution) {
  const CdfTables &t = tables();
  ASSERT_EQ(t.count(), ModelConfig().scale_count);
  EXPECT_NO_THROW(t.validate());
  // Wider scales, wider tables.
  for (int i = 1; i < t.count(); ++i) EXPECT_GE(t.size[i], t.size[i - 1]);
}

// The decoder's buckets find, for every slot of every table, the symbol a
// plain search of the CDF finds, and its interval; most slots without a
// search.
TEST(CdfTables, IntervalForSlotIsTheIntervalThatHoldsIt) {
  const CdfTables &t = tables();
  size_t wrong = 0, direct = 0;
  for (int table = 0; table < t.count(); ++table) {
    const int32_t *cdf = t.cdf.data() + t.offset[table];
    for (uint32_t slot = 0; slot < 65536; ++slot) {
      const int32_t k = int32_t(std::upper_bound(cdf + 1, cdf + t.size[table] + 1, int32_t(slot)) - (cdf + 1));
      const CdfTables::SymbolInterval s = t.interval_for_slot(table, slot);
      wrong += s.symbol != k || s.start != uint32_t(cdf[k]) || s.freq != uint32_t(cdf[k + 1] - cdf[k]);
      const CdfTables::SlotBucket &b = t.bucket[size_t(table) * CdfTables::kBuckets + (slot >> 8)];
      direct += b.first == b.last;
    }
  }
  EXPECT_EQ(wrong, 0u);
  EXPECT_GT(direct, size_t(t.count()) * 65536 / 2);
}

TEST(CdfTables, ScaleLookupIsMonotoneAndClamped) {
  const CdfTables &t = tables();
  EXPECT_EQ(t.table_for_log2_scale(-(int64_t(100) << 16)), 0);
  EXPECT_EQ(t.table_for_log2_scale(int64_t(100) << 16), t.count() - 1);
  int last = 0;
  for (int64_t v = -(10 << 16); v < 10 << 16; v += 977) {
    int i = t.table_for_log2_scale(v);
    EXPECT_GE(i, last);
    last = i;
  }
}

TEST(Rans, RandomSymbolsMatchingTheirTables) {
  std::mt19937 rng(7);
  std::vector<std::pair<int, int32_t>> s;
  for (int i = 0; i < 200000; ++i) {
    int t = int(rng() % tables().count());
    double scale = 0.11 * std::exp2(t / 8.0);
    s.push_back({t, int32_t(std::lround(std::normal_distribution<double>(0, scale)(rng)))});
  }
  round_trip(s);
}

TEST(Rans, CompressesCloseToTheEntropy) {
  // Unit-scale Gaussian symbols: about 2.1 bits each.
  std::mt19937 rng(3);
  int t = tables().table_for_log2_scale(0);
  RansEncoder enc;
  const int n = 100000;
  for (int i = 0; i < n; ++i) enc.put(tables(), t, int32_t(std::lround(std::normal_distribution<double>(0, 1)(rng))));
  double bits = 8.0 * enc.finish().size() / n;
  EXPECT_GT(bits, 1.9);
  EXPECT_LT(bits, 2.2);
}

TEST(CodingCost, IsWhatTheCoderSpends) {
  const CodingCost cost(tables());
  std::mt19937 rng(5);
  for (int t : {0, 17, 40, tables().count() - 1}) {
    const int32_t *cdf = tables().cdf.data() + tables().offset[t];
    const int32_t n = tables().size[t];
    for (int32_t k = 0; k < n - 1; ++k) {  // every symbol: -log2 of its probability, to Q16
      const double exact = -std::log2((cdf[k + 1] - cdf[k]) / 65536.0);
      ASSERT_NEAR(cost.bits(tables(), t, tables().min[t] + k), exact, 1.0 / 65536) << "table " << t << " symbol " << k;
    }
    // An escape adds its raw 16-bit chunks: the length, then the bits.
    const double escape = -std::log2((cdf[n] - cdf[n - 1]) / 65536.0);
    EXPECT_NEAR(cost.bits(tables(), t, tables().min[t] + n - 1), escape + 32, 1.0 / 65536);
    EXPECT_NEAR(cost.bits(tables(), t, std::numeric_limits<int32_t>::min()), escape + 48, 1.0 / 65536);
    // And a stream of one table's symbols is as long as their costs say.
    RansEncoder enc;
    double total = 0;
    for (int i = 0; i < 20000; ++i) {
      const int32_t v = tables().min[t] + int32_t(rng() % uint32_t(n + 2));
      enc.put(tables(), t, v);
      total += cost.bits(tables(), t, v);
    }
    EXPECT_NEAR(8.0 * enc.finish().size(), total, 0.002 * total + 96);
  }
}

TEST(Rans, QuotientsByReciprocalAreExact) {
  // Every frequency, with states at multiples of it, around them, at the
  // top of the encoder's range (x < 2^47 * freq <= 2^63) and at random.
  RansQuotients q;
  std::mt19937_64 rng(11);
  for (uint64_t f = 1; f <= 65536; ++f) {
    const uint64_t top = (uint64_t(1) << 47) * f - 1;
    std::vector<uint64_t> xs = {0, 1, f - 1, f, f + 1, kRansLow, top, top - f, top / f * f, top / f * f - 1};
    for (int i = 0; i < 12; ++i) {
      const uint64_t x = rng() % (top + 1);
      xs.insert(xs.end(), {x, x / f * f, x / f * f + f - 1});
    }
    for (uint64_t x : xs)
      if (x <= top) ASSERT_EQ(q.of(x, uint32_t(f)), x / f) << "x " << x << " freq " << f;
  }
  for (uint64_t x : {(uint64_t(1) << 63) - 1, (uint64_t(1) << 63) - 2, uint64_t(1) << 62})
    for (uint32_t f : {2u, 3u, 255u, 32769u, 65535u, 65536u}) ASSERT_EQ(q.of(x, f), x / f) << x << " " << f;
}

TEST(RoundEven, IsNearbyintInTheDefaultRoundingMode) {
  std::mt19937 rng(9);
  std::vector<double> d = {0.0, -0.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, 2e9, -2e9, 1999999999.5};
  for (int i = 0; i < 100000; ++i) d.push_back(std::uniform_real_distribution<double>(-2.1e9, 2.1e9)(rng));
  for (int i = 0; i < 100000; ++i) d.push_back(std::uniform_real_distribution<double>(-8, 8)(rng));
  for (int k = -1000; k <= 1000; ++k) d.push_back(k + 0.5);
  for (double v : d) ASSERT_EQ(round_even(v), std::nearbyint(v)) << v;
  for (int k = 0; k <= 255 * 32; ++k) {  // bytes: every thirty-second in [0, 255], ties included
    const float v = float(k) / 32.0f;
    ASSERT_EQ(round_even(v), std::nearbyint(v)) << v;
  }
}

TEST(Rans, ExtremeValuesGoThroughTheEscape) {
  std::vector<std::pair<int, int32_t>> s;
  const int32_t extremes[] = {std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(),
                              -1, 0, 1, 65535, 65536, -65536, 1 << 20, -(1 << 30)};
  for (int t : {0, 1, 40, tables().count() - 1})
    for (int32_t v : extremes) s.push_back({t, v});
  round_trip(s);
}

TEST(Rans, LongRunsOfTheMostLikelySymbol) {
  std::vector<std::pair<int, int32_t>> s(1000000, {0, 0});
  RansEncoder enc;
  for (auto [t, v] : s) enc.put(tables(), t, v);
  EXPECT_LT(enc.finish().size(), 200u);  // ~1e-4 bits per symbol
  round_trip(s);
}

TEST(Rans, EmptyStream) { round_trip({}); }

TEST(Rans, CorruptStreamNeverReadsOutOfBounds) {
  std::mt19937 rng(11);
  RansEncoder enc;
  std::vector<int32_t> values;
  for (int i = 0; i < 5000; ++i) enc.put(tables(), 30, int32_t(rng() % 9) - 4);
  std::vector<uint8_t> bytes = enc.finish();
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<uint8_t> bad = bytes;
    bad[8 + rng() % (bad.size() - 8)] ^= uint8_t(1 + rng() % 255);
    bad.resize(bad.size() - 4 * (trial % 3));
    try {
      RansDecoder dec(bad.data(), bad.size());
      for (int i = 0; i < 5000; ++i) dec.get(tables(), 30);
      EXPECT_FALSE(dec.finished_cleanly()) << "trial " << trial;
    } catch (const Error &e) {
      EXPECT_EQ(e.status(), MSIC_ERR_FORMAT);
    }
  }
  EXPECT_THROW(RansDecoder(bytes.data(), 3), Error);
}

TEST(Rans, AStreamThatRunsDryStopsAtOnce) {
  // A hostile tile payload: a few bytes that claim millions of symbols.
  // The decoder must fail where the words run out, not decode garbage to
  // the end (issue #16: a 1.9 KB payload claiming a 4096x4096 tile).
  RansEncoder enc;
  for (int i = 0; i < 5000; ++i) enc.put(tables(), 30, (i * 7) % 9 - 4);
  std::vector<uint8_t> bytes = enc.finish();
  bytes.resize(8 + 4 * 4);
  RansDecoder dec(bytes.data(), bytes.size());
  int decoded = 0;
  try {
    for (; decoded < 5000; ++decoded) dec.get(tables(), 30);
  } catch (const Error &e) {
    EXPECT_EQ(e.status(), MSIC_ERR_FORMAT);
  }
  EXPECT_LT(decoded, 200);
}
