#include "predictive/predictive_codec.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "byte_order.h"
#include "entropy/range_coder.h"
#include "errors.h"
#include "predictive/band_coder.h"

namespace msic::predictive {
namespace {

// How a band of a tile becomes integers (MSIC.md, "Tile payload, tile_codec 2").
enum Representation : uint8_t {
  kInteger = 0,     // integer samples as they are
  kFloatSteps = 1,  // round((v - base) / (2 x max_error)): floats within the bound
  kFloatBits = 2,   // the float's bit pattern, ordered like the values: exact
};
constexpr uint8_t kPayloadVersion = 1;
constexpr size_t kPayloadHeaderSize = 8;
constexpr size_t kBandRecordSize = 24;
constexpr uint32_t kReferenceReach = 3;  // a band may be predicted from one of the 3 before it
constexpr int64_t kMaxSteps = int64_t(1) << 31;
using predictive::kMaxReferences;

struct BandRecord {
  uint8_t representation = kInteger;
  bool masked = false;     // a nodata mask is coded with the band
  bool tabled = false;     // the band is coded as ranks in its table of values
  std::vector<int64_t> table;  // (in the stream, before the band's samples)
  // Up to two earlier bands (band + 1; 0: none) that help predict this one,
  // and their weights in 1/16.
  std::array<uint16_t, kMaxReferences> reference{};
  std::array<int16_t, kMaxReferences> alpha{};
  uint32_t top = 0;        // kFloatSteps: the largest index
  double base = 0;         // kFloatSteps: the value of index 0
};

uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
float bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
// Bit patterns in the order of the values they hold (negative below positive).
uint32_t ordered(uint32_t bits) { return (bits & 0x80000000u) ? ~bits : bits | 0x80000000u; }
uint32_t unordered(uint32_t o) { return (o & 0x80000000u) ? o & 0x7fffffffu : ~o; }
float load_float(const uint8_t *p) {
  float f;
  memcpy(&f, p, 4);
  return f;
}

bool integral(double v) { return std::isfinite(v) && v == std::floor(v); }

// The per-file facts every band of every tile uses.
struct Domain {
  int64_t lo, hi, max_error;
  bool nodata_in_domain;
  int64_t nodata;
};

class Rules {
 public:
  explicit Rules(const CodingParams &p) : p_(p) {
    nodata_f_ = float(p.nodata);
    int_nodata_ = !p.type.is_float() && p.has_nodata && integral(p.nodata) && p.nodata >= double(p.type.lo()) &&
                  p.nodata <= double(p.type.hi());
  }
  bool is_nodata(float v) const {
    return p_.has_nodata && (std::isnan(p_.nodata) ? std::isnan(v) : v == nodata_f_);
  }
  // The domain of a band coded as `rec` says.
  Domain domain(const BandRecord &rec) const {
    if (rec.tabled) return {0, int64_t(rec.table.size()) - 1, 0, false, 0};
    return value_domain(rec);
  }
  // The domain of the values themselves (a table's entries lie in it).
  Domain value_domain(const BandRecord &rec) const {
    switch (rec.representation) {
      case kFloatSteps: return {0, int64_t(rec.top), 0, false, 0};
      case kFloatBits: return {0, int64_t(UINT32_MAX), 0, false, 0};
      default:  // (nodata as an integer only when it is one: a NaN or 1e30 has no int64)
        return {p_.type.lo(), p_.type.hi(), int64_t(p_.max_error), int_nodata_, int_nodata_ ? int64_t(p_.nodata) : 0};
    }
  }
  // Integer samples carry a nodata mask whenever nodata is a value they can
  // hold: nodata stays exact, valid samples are kept off it (e > 0), and
  // no sample is predicted across the jump to nodata.
  bool int_masked() const { return int_nodata_; }
  double step() const { return 2 * p_.max_error; }
  // The decoded sample i of a band, from its domain value.
  void store(const BandRecord &rec, int64_t v, bool nodata, uint8_t *out) const {
    if (rec.tabled && !nodata) v = rec.table[size_t(v)];
    switch (rec.representation) {
      case kInteger: p_.type.store_int(out, nodata && int_nodata_ ? int64_t(p_.nodata) : v); return;
      case kFloatSteps: {
        const float f = nodata ? nodata_f_ : float(rec.base + double(v) * step());
        memcpy(out, &f, 4);
        return;
      }
      default: {
        const float f = nodata ? nodata_f_ : bits_float(unordered(uint32_t(v)));
        memcpy(out, &f, 4);
        return;
      }
    }
  }
  const CodingParams &params() const { return p_; }
  float nodata_value() const { return nodata_f_; }

 private:
  const CodingParams &p_;
  float nodata_f_;
  bool int_nodata_;
};

// The band records and the stream, as in the payload.
void append_header(std::vector<uint8_t> &out, const std::vector<BandRecord> &records) {
  format::Packer p;
  p.u8(kPayloadVersion);
  p.u8(0);
  p.u16(uint16_t(records.size()));
  p.u32(0);
  for (const BandRecord &r : records) {
    p.u8(r.representation);
    p.u8(uint8_t((r.masked ? 1 : 0) | (r.tabled ? 2 : 0)));
    for (int k = 0; k < kMaxReferences; ++k) {
      p.u16(r.reference[k]);
      p.u16(uint16_t(r.alpha[k]));
    }
    p.u16(0);
    p.u32(r.top);
    p.f64(r.base);
  }
  out.insert(out.end(), p.bytes.begin(), p.bytes.end());
}

std::vector<BandRecord> parse_header(const std::vector<uint8_t> &payload, const Rules &rules) {
  const CodingParams &params = rules.params();
  auto bad = [](const std::string &why) { return Error(MSIC_ERR_FORMAT, "corrupt tile (" + why + ")"); };
  if (payload.size() < kPayloadHeaderSize) throw bad("payload too short");
  const uint8_t *p = payload.data();
  if (p[0] != kPayloadVersion) throw bad("unknown payload version " + std::to_string(p[0]));
  if (p[1] != 0 || format::load_le32(p + 4) != 0) throw bad("reserved bits set");
  if (format::load_le16(p + 2) != params.bands) throw bad("band count differs from the header");
  if (payload.size() < kPayloadHeaderSize + kBandRecordSize * params.bands) throw bad("payload too short");
  std::vector<BandRecord> records(params.bands);
  for (uint32_t b = 0; b < params.bands; ++b) {
    const uint8_t *q = p + kPayloadHeaderSize + kBandRecordSize * b;
    BandRecord &r = records[b];
    r.representation = q[0];
    r.masked = q[1] & 1;
    r.tabled = q[1] & 2;
    for (int k = 0; k < kMaxReferences; ++k) {
      r.reference[k] = format::load_le16(q + 2 + 4 * k);
      r.alpha[k] = int16_t(format::load_le16(q + 4 + 4 * k));
    }
    r.top = format::load_le32(q + 12);
    r.base = format::load_f64le(q + 16);
    const bool is_float = params.type.is_float();
    const bool ok_repr = is_float ? (r.representation == kFloatBits ||
                                     (r.representation == kFloatSteps && params.max_error > 0))
                                  : r.representation == kInteger;
    if (!ok_repr) throw bad("band representation " + std::to_string(q[0]));
    const bool may_mask = r.representation == kInteger ? rules.int_masked() : params.has_nodata;
    if (q[1] > 3 || (r.masked && !may_mask) || format::load_le16(q + 10) != 0)
      throw bad("band flags");
    for (int k = 0; k < kMaxReferences; ++k)
      if (r.reference[k] > b || r.alpha[k] < -kAlphaMax || r.alpha[k] > kAlphaMax ||
          (r.reference[k] == 0) != (r.alpha[k] == 0) || (k && r.reference[k] && !r.reference[k - 1]))
        throw bad("band reference");
    if (r.representation == kFloatSteps ? (int64_t(r.top) >= kMaxSteps || !std::isfinite(r.base))
                                        : (r.top != 0 || r.base != 0))
      throw bad("band range");
  }
  return records;
}

// The spatial prediction error of the original values: what the encoder
// compares bands by when it picks references.
std::vector<int64_t> spatial_error(const std::vector<int64_t> &v, uint32_t w, uint32_t h) {
  std::vector<int64_t> out(v.size());
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x) {
      const size_t i = size_t(y) * w + x;
      const int64_t a = x ? v[i - 1] : (y ? v[i - w] : v[i]);
      const int64_t b = y ? v[i - w] : a;
      const int64_t c = (x && y) ? v[i - w - 1] : b;
      out[i] = v[i] - median_edge(a, b, c);
    }
  return out;
}

// Picks up to two earlier bands (within reach) whose spatial errors,
// weighted (least squares), best cancel this band's; each must help by 2%.
void choose_references(BandRecord &rec, uint32_t band, const std::vector<std::vector<int64_t>> &errors) {
  const std::vector<int64_t> &e = errors[band];
  const size_t n = e.size();
  auto cost_of = [&](const int64_t *f1, int32_t a1, const int64_t *f2, int32_t a2) {
    double cost = 0;
    for (size_t i = 0; i < n; ++i) {
      int64_t p = a1 * f1[i];
      if (f2) p += a2 * f2[i];
      cost += double(std::abs(e[i] - ((p + kAlphaOne / 2) >> 4)));
    }
    return cost;
  };
  auto clamp_alpha = [](double a) {
    return int32_t(std::max<double>(-kAlphaMax, std::min<double>(kAlphaMax, std::round(a * kAlphaOne))));
  };
  double best = 0;
  for (int64_t v : e) best += double(std::abs(v));
  best *= 0.98;
  const uint32_t first = band > kReferenceReach ? band - kReferenceReach : 0;
  for (uint32_t r = first; r < band; ++r) {
    const std::vector<int64_t> &f = errors[r];
    double ef = 0, ff = 0;
    for (size_t i = 0; i < n; ++i) ef += double(e[i]) * double(f[i]), ff += double(f[i]) * double(f[i]);
    if (ff == 0) continue;
    const int32_t a = clamp_alpha(ef / ff);
    if (a == 0) continue;
    const double cost = cost_of(f.data(), a, nullptr, 0);
    if (cost < best) best = cost, rec.reference = {uint16_t(r + 1), 0}, rec.alpha = {int16_t(a), 0};
  }
  if (!rec.reference[0]) return;
  // A second reference: both weights by least squares (2 x 2 normal equations).
  const uint32_t r1 = rec.reference[0] - 1;
  const std::vector<int64_t> &f1 = errors[r1];
  best *= 0.98;
  for (uint32_t r = first; r < band; ++r) {
    if (r == r1) continue;
    const std::vector<int64_t> &f2 = errors[r];
    double s11 = 0, s12 = 0, s22 = 0, s1e = 0, s2e = 0;
    for (size_t i = 0; i < n; ++i) {
      const double x1 = double(f1[i]), x2 = double(f2[i]), y = double(e[i]);
      s11 += x1 * x1, s12 += x1 * x2, s22 += x2 * x2, s1e += x1 * y, s2e += x2 * y;
    }
    const double det = s11 * s22 - s12 * s12;
    if (!(std::fabs(det) > 1e-9 * s11 * s22)) continue;
    const int32_t a1 = clamp_alpha((s1e * s22 - s2e * s12) / det), a2 = clamp_alpha((s2e * s11 - s1e * s12) / det);
    if (a1 == 0 || a2 == 0) continue;
    const double cost = cost_of(f1.data(), a1, f2.data(), a2);
    if (cost < best) best = cost, rec.reference = {uint16_t(r1 + 1), uint16_t(r + 1)}, rec.alpha = {int16_t(a1), int16_t(a2)};
  }
}

}  // namespace

CodingParams coding_params(const format::Header &h, const std::vector<uint8_t> *nodata_box) {
  CodingParams p;
  p.type.format = h.sample_format;
  p.type.bit_depth = h.bit_depth;
  p.type.valid_bits = h.valid_bits;
  p.bands = h.bands;
  p.max_error = h.max_error;
  if (nodata_box) {
    if (nodata_box->size() != 8) throw Error(MSIC_ERR_FORMAT, "NODT box is not one float64");
    p.has_nodata = true;
    p.nodata = format::load_f64le(nodata_box->data());
  }
  return p;
}

CodingParams encoder_params(const format::Header &h, const std::vector<uint8_t> *nodata_box,
                            const std::vector<uint8_t> *roles_box) {
  CodingParams p = coding_params(h, nodata_box);
  if (!roles_box) return p;
  if (roles_box->size() != h.bands)
    throw Error(MSIC_ERR_ARGUMENT, "ROLE box: " + std::to_string(roles_box->size()) + " roles for " +
                                       std::to_string(h.bands) + " bands");
  p.exact_bands.resize(h.bands);
  for (uint32_t b = 0; b < h.bands; ++b) {
    const uint8_t role = (*roles_box)[b];
    if (role > MSIC_BAND_MASK) throw Error(MSIC_ERR_ARGUMENT, "ROLE box: unknown role " + std::to_string(role));
    if (role == MSIC_BAND_MASK && b + 1 != h.bands)
      throw Error(MSIC_ERR_ARGUMENT, "ROLE box: a mask band must be the last band");
    p.exact_bands[b] = role != MSIC_BAND_DATA;
  }
  return p;
}

PredictiveCodec::PredictiveCodec(const CodingParams &params) : params_(params) {
  const SampleType &t = params.type;
  if (!(params.max_error >= 0) || !std::isfinite(params.max_error))
    throw Error(MSIC_ERR_ARGUMENT, "max error must be a finite number >= 0");
  if (!t.is_float() && !integral(params.max_error))
    throw Error(MSIC_ERR_ARGUMENT, "max error of integer samples must be a whole number");
  if (!t.is_float() && params.max_error > double(t.hi() - t.lo()))
    throw Error(MSIC_ERR_ARGUMENT, "max error larger than the samples' range");
}

uint64_t PredictiveCodec::decode_bytes_per_pixel() const {
  // Every band's decoded values (int64), nodata mask and (at most one entry
  // per sample) value table, and the tile's samples as the reader returns them.
  return uint64_t(params_.bands) * (8 + 1 + params_.type.bytes() + 8) + 16;  // + a value table's entry
}

namespace {

// Codes a band exactly as ranks in the table of the values it takes, when
// they are sparse: few distinct values in a wide span (a palette-like band,
// floats that hold whole numbers, 8-bit data scaled to 16). values: in, the
// domain values; out, their ranks. `exact`: always, as a band that must
// decode exactly whatever the bound (a table is exact; alpha, masks).
void choose_table(BandRecord &rec, const Domain &d, std::vector<int64_t> &values, const std::vector<uint8_t> &nodata,
                  bool exact) {
  std::vector<int64_t> used;
  used.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i)
    if (nodata.empty() || !nodata[i]) used.push_back(values[i]);
  std::sort(used.begin(), used.end());
  used.erase(std::unique(used.begin(), used.end()), used.end());
  if (used.empty()) return;
  const uint64_t span = uint64_t(used.back() - used.front()) + 1;
  // Pays when the span at least halves and the table costs at most about a
  // bit per sample.
  if (!exact) {
    if (2 * used.size() > span || 8 * used.size() > values.size()) return;
    // With a bound e, only when no two used values lie within 2e + 1 of each
    // other: quantization could not merge them, so exact ranks cost less.
    for (size_t i = 1; d.max_error && i < used.size(); ++i)
      if (used[i] - used[i - 1] <= 2 * d.max_error) return;
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (!nodata.empty() && nodata[i]) {
      values[i] = 0;
      continue;
    }
    values[i] = std::lower_bound(used.begin(), used.end(), values[i]) - used.begin();
  }
  rec.tabled = true;
  rec.table = std::move(used);
}

// The job of band b: its domain, references and nodata planes. values is
// null when decoding.
BandJob make_job(const BandRecord &rec, const Domain &d, uint32_t w, uint32_t h, uint32_t b,
                 std::vector<std::vector<int64_t>> &recon, std::vector<std::vector<uint8_t>> &nodata_out) {
  const size_t n = size_t(w) * h;
  recon[b].resize(n);
  if (rec.masked) nodata_out[b].resize(n);
  BandJob job;
  job.width = w, job.height = h, job.lo = d.lo, job.hi = d.hi, job.max_error = d.max_error;
  job.recon = recon[b].data();
  for (int k = 0; k < kMaxReferences; ++k)
    if (rec.reference[k]) job.ref_recon[k] = recon[rec.reference[k] - 1].data(), job.alpha[k] = rec.alpha[k];
  job.masked = rec.masked;
  if (rec.masked) {
    job.nodata_out = nodata_out[b].data();
    if (b && !nodata_out[b - 1].empty()) job.nodata_above = nodata_out[b - 1].data();
    job.nodata_in_domain = d.nodata_in_domain, job.nodata = d.nodata;
  }
  return job;
}

}  // namespace

std::vector<uint8_t> PredictiveCodec::encode(const uint8_t *pixels, size_t stride, uint32_t w, uint32_t h) const {
  const Rules rules(params_);
  const SampleType &t = params_.type;
  const uint32_t bands = params_.bands;
  const size_t n = size_t(w) * h, px_bytes = t.bytes() * bands;
  auto sample = [&](size_t i, uint32_t b) {
    return pixels + (i / w) * stride + (i % w) * px_bytes + b * t.bytes();
  };

  std::vector<BandRecord> records(bands);
  std::vector<std::vector<int64_t>> values(bands, std::vector<int64_t>(n));
  std::vector<std::vector<uint8_t>> nodata_in(bands);
  auto exact_band = [&](uint32_t b) { return !params_.exact_bands.empty() && params_.exact_bands[b]; };
  for (uint32_t b = 0; b < bands; ++b) {
    BandRecord &rec = records[b];
    std::vector<int64_t> &v = values[b];
    if (!t.is_float()) {
      rec.masked = rules.int_masked();
      if (rec.masked) nodata_in[b].resize(n);
      for (size_t i = 0; i < n; ++i) {
        v[i] = t.load_int(sample(i, b));
        if (v[i] < t.lo() || v[i] > t.hi())
          throw Error(MSIC_ERR_ARGUMENT, "sample value " + std::to_string(v[i]) + " (band " + std::to_string(b + 1) +
                                             ") lies outside the " + t.name() + " range");
        if (rec.masked) nodata_in[b][i] = v[i] == int64_t(params_.nodata);
      }
    } else {
      // Floats: indices of steps of 2e when every valid sample then stays
      // within e (and off nodata), else the exact bit patterns.
      bool steps = params_.max_error > 0 && !exact_band(b);
      std::vector<uint8_t> mask(n);
      for (size_t i = 0; i < n; ++i) mask[i] = rules.is_nodata(load_float(sample(i, b)));
      if (steps) {
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < n && steps; ++i) {
          if (mask[i]) continue;
          const float f = load_float(sample(i, b));
          if (!std::isfinite(f)) steps = false;
          lo = std::min(lo, double(f));
          hi = std::max(hi, double(f));
        }
        if (steps && !(lo <= hi)) lo = hi = 0;  // every sample nodata
        if (steps && (hi - lo) / rules.step() >= double(kMaxSteps)) steps = false;
        if (steps) {
          rec.representation = kFloatSteps;
          rec.base = lo;
          int64_t top = 0;
          for (size_t i = 0; i < n && steps; ++i) {
            if (mask[i]) {
              v[i] = i ? v[i - 1] : 0;
              continue;
            }
            const float f = load_float(sample(i, b));
            v[i] = std::llround((double(f) - lo) / rules.step());
            top = std::max(top, v[i]);
            uint8_t back[4];
            rules.store(rec, v[i], false, back);
            const float g = load_float(back);
            if (!(std::fabs(double(g) - double(f)) <= params_.max_error) || rules.is_nodata(g)) steps = false;
          }
          if (top >= kMaxSteps) steps = false;  // rounding can reach 2^31: the largest index stays below
          rec.top = uint32_t(top);
        }
      }
      if (!steps) {
        rec = BandRecord{};
        rec.representation = kFloatBits;
        for (size_t i = 0; i < n; ++i) {
          v[i] = ordered(float_bits(load_float(sample(i, b))));
          // Exact: only the nodata value's very bits (not any NaN) are masked.
          mask[i] = params_.has_nodata && float_bits(load_float(sample(i, b))) == float_bits(rules.nodata_value());
        }
      }
      // Exact bit patterns need no mask for nodata, but it keeps prediction
      // away from its value.
      rec.masked = params_.has_nodata;
      if (rec.masked) nodata_in[b] = std::move(mask);
    }
    // An exact integer band goes in a table; an exact float band is
    // already exact as bit patterns (a table there only where it pays).
    choose_table(rec, rules.value_domain(rec), v, nodata_in[b], exact_band(b) && !t.is_float());
  }

  if (bands > 1) {
    std::vector<std::vector<int64_t>> errors(bands);
    for (uint32_t b = 0; b < bands; ++b) errors[b] = spatial_error(values[b], w, h);
    for (uint32_t b = 1; b < bands; ++b) choose_references(records[b], b, errors);
  }

  std::vector<uint8_t> payload;
  append_header(payload, records);
  entropy::RangeEncoder coder;
  std::vector<std::vector<int64_t>> recon(bands);
  std::vector<std::vector<uint8_t>> nodata_out(bands);
  std::vector<uint8_t> decoded(t.bytes());
  for (uint32_t b = 0; b < bands; ++b) {
    BandRecord &rec = records[b];
    const Domain d = rules.domain(rec), vd = rules.value_domain(rec);
    if (rec.tabled) code_table(coder, rec.table, vd.lo, vd.hi, n);
    BandJob job = make_job(rec, d, w, h, b, recon, nodata_out);
    job.values = values[b].data();
    if (rec.masked) job.nodata_in = nodata_in[b].data();
    code_band(coder, job);

    // The bound, checked on what the decoder will write.
    for (size_t i = 0; i < n; ++i) {
      const bool nodata = rec.masked && nodata_out[b][i];
      rules.store(rec, recon[b][i], nodata, decoded.data());
      const uint8_t *in = sample(i, b);
      bool ok;
      if (rec.representation == kInteger) {
        const int64_t got = t.load_int(decoded.data()), want = t.load_int(in);
        ok = std::abs(got - want) <= (exact_band(b) ? 0 : vd.max_error);
        if (rec.masked) ok = ok && (nodata == (want == vd.nodata)) && (got == vd.nodata) == nodata;
      } else if (rec.representation == kFloatBits) {
        ok = memcmp(decoded.data(), in, 4) == 0;
      } else {
        const float got = load_float(decoded.data()), want = load_float(in);
        ok = rules.is_nodata(want) ? (rules.is_nodata(got) && nodata)
                                   : (!rules.is_nodata(got) && std::fabs(double(got) - double(want)) <= params_.max_error);
      }
      if (!ok)
        throw Error(MSIC_ERR_INTERNAL, "encoder check: sample " + std::to_string(i) + " of band " +
                                           std::to_string(b + 1) + " would decode outside the bound");
    }
  }
  std::vector<uint8_t> stream = coder.finish();
  payload.insert(payload.end(), stream.begin(), stream.end());
  return payload;
}

void PredictiveCodec::decode(const std::vector<uint8_t> &payload, uint32_t w, uint32_t h, uint8_t *out,
                             size_t stride) const {
  const Rules rules(params_);
  const SampleType &t = params_.type;
  const uint32_t bands = params_.bands;
  const size_t n = size_t(w) * h, px_bytes = t.bytes() * bands;
  std::vector<BandRecord> records = parse_header(payload, rules);
  const size_t start = kPayloadHeaderSize + kBandRecordSize * bands;
  entropy::RangeDecoder coder(payload.data() + start, payload.size() - start);
  std::vector<std::vector<int64_t>> recon(bands);
  std::vector<std::vector<uint8_t>> nodata(bands);
  for (uint32_t b = 0; b < bands; ++b) {
    BandRecord &rec = records[b];
    if (rec.tabled) {
      const Domain vd = rules.value_domain(rec);
      code_table(coder, rec.table, vd.lo, vd.hi, n);
    }
    BandJob job = make_job(rec, rules.domain(rec), w, h, b, recon, nodata);
    code_band(coder, job);
    for (uint32_t y = 0; y < h; ++y)
      for (uint32_t x = 0; x < w; ++x) {
        const size_t i = size_t(y) * w + x;
        rules.store(rec, recon[b][i], rec.masked && nodata[b][i], out + y * stride + x * px_bytes + b * t.bytes());
      }
  }
  if (!coder.finished_cleanly()) throw Error(MSIC_ERR_FORMAT, "corrupt tile (entropy stream length)");
}

}  // namespace msic::predictive
