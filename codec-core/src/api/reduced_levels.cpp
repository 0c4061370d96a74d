#include "api/reduced_levels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "errors.h"

namespace msic {

std::vector<uint32_t> reduced_level_scales(const format::Header &header, uint32_t first) {
  std::vector<uint32_t> scales;
  if (first == 0) return scales;
  for (uint32_t k = 1; k <= format::kMaxLevels; ++k) {
    const format::Level level = format::Level::of(header, k - 1);
    if (level.width <= header.tile_size && level.height <= header.tile_size) break;  // k - 1 fits one tile
    if (k >= first) scales.push_back(k);
  }
  return scales;
}

namespace {

double load_sample(const SampleType &t, const uint8_t *p) {
  if (t.is_float()) {
    float f;
    memcpy(&f, p, 4);
    return f;
  }
  return double(t.load_int(p));
}

}  // namespace

LevelBuilder::LevelBuilder(const format::Header &header, const std::vector<uint32_t> &scales,
                           const ReductionRules &rules, EmitRows emit)
    : rules_(rules), tile_size_(header.tile_size), pixel_bytes_(size_t(rules.bands) * rules.type.bytes()),
      emit_(std::move(emit)) {
  const SampleType &t = rules.type;
  nodata_holdable_ = rules.has_nodata && (t.is_float() || (std::isfinite(rules.nodata) &&
                                                           rules.nodata == std::floor(rules.nodata) &&
                                                           rules.nodata >= double(t.lo()) &&
                                                           rules.nodata <= double(t.hi())));
  if (scales.empty()) return;
  for (uint32_t k = 1; k <= scales.back(); ++k) {
    Stage s;
    s.scale = k;
    s.in_width = format::Level::of(header, k - 1).width;
    const format::Level level = format::Level::of(header, k);
    s.width = level.width;
    s.height = level.height;
    s.pending.resize(size_t(s.in_width) * pixel_bytes_);
    s.out.resize(size_t(s.width) * pixel_bytes_);
    for (size_t i = 0; i < scales.size(); ++i)
      if (scales[i] == k) s.stored = int(i);
    if (s.stored >= 0) s.tile_rows.resize(size_t(s.width) * pixel_bytes_ * std::min(tile_size_, s.height));
    stages_.push_back(std::move(s));
  }
}

void LevelBuilder::add_rows(const uint8_t *rows, size_t stride, uint32_t count) {
  for (uint32_t r = 0; r < count && !stages_.empty(); ++r) feed(0, rows + r * stride);
}

void LevelBuilder::finish() {
  // A stage left holding one row (an odd height) reduces it alone; its
  // output may complete a pair in the next stage, finished after it.
  for (size_t i = 0; i < stages_.size(); ++i) {
    Stage &s = stages_[i];
    if (!s.has_pending) continue;
    s.has_pending = false;
    reduce(s, s.pending.data(), nullptr, s.out.data());
    output(i);
  }
  for (const Stage &s : stages_)
    if (s.rows_out != s.height) throw Error(MSIC_ERR_INTERNAL, "a reduced level is missing rows");
}

void LevelBuilder::feed(size_t i, const uint8_t *row) {
  Stage &s = stages_[i];
  if (!s.has_pending) {
    memcpy(s.pending.data(), row, s.pending.size());
    s.has_pending = true;
    return;
  }
  s.has_pending = false;
  reduce(s, s.pending.data(), row, s.out.data());
  output(i);
}

void LevelBuilder::output(size_t i) {
  Stage &s = stages_[i];
  const size_t row_bytes = s.out.size();
  if (s.stored >= 0) {
    memcpy(s.tile_rows.data() + size_t(s.rows_held) * row_bytes, s.out.data(), row_bytes);
    ++s.rows_held;
  }
  ++s.rows_out;
  if (s.stored >= 0 && (s.rows_held == tile_size_ || s.rows_out == s.height)) {
    emit_(size_t(s.stored) + 1, s.tile_rows.data(), row_bytes, s.rows_held);
    s.rows_held = 0;
  }
  if (i + 1 < stages_.size()) feed(i + 1, s.out.data());
}

bool LevelBuilder::valid(const uint8_t *pixel, uint32_t band) const {
  const SampleType &t = rules_.type;
  if (rules_.mask_band >= 0 && load_sample(t, pixel + size_t(rules_.mask_band) * t.bytes()) == 0) return false;
  // A fully transparent pixel's colour is not part of the picture.
  if (rules_.alpha_band >= 0 && int(band) != rules_.alpha_band &&
      load_sample(t, pixel + size_t(rules_.alpha_band) * t.bytes()) == 0)
    return false;
  if (!rules_.has_nodata) return true;
  const double v = load_sample(t, pixel + band * t.bytes());
  if (std::isnan(rules_.nodata)) return !std::isnan(v);
  return t.is_float() ? float(v) != float(rules_.nodata) : v != rules_.nodata;
}

void LevelBuilder::reduce(const Stage &s, const uint8_t *row0, const uint8_t *row1, uint8_t *out) const {
  const SampleType &t = rules_.type;
  const size_t pb = pixel_bytes_, sb = t.bytes();
  const bool plain_bytes = t.format == MSIC_SAMPLE_UNSIGNED && t.bit_depth == 8 && !rules_.has_nodata &&
                           rules_.mask_band < 0 && rules_.alpha_band < 0;
  for (uint32_t x = 0; x < s.width; ++x) {
    const uint8_t *px[4];
    int n = 0;
    for (const uint8_t *row : {row0, row1}) {
      if (!row) continue;
      px[n++] = row + size_t(2 * x) * pb;
      if (2 * x + 1 < s.in_width) px[n++] = row + size_t(2 * x + 1) * pb;
    }
    uint8_t *o = out + size_t(x) * pb;
    if (rules_.nearest) {
      memcpy(o, px[0], pb);
      continue;
    }
    if (plain_bytes) {  // the common case, 8-bit photographs: a rounded mean
      for (uint32_t b = 0; b < rules_.bands; ++b) {
        unsigned sum = 0;
        for (int k = 0; k < n; ++k) sum += px[k][b];
        o[b] = uint8_t((sum + unsigned(n) / 2) / unsigned(n));
      }
      continue;
    }
    for (uint32_t b = 0; b < rules_.bands; ++b) {
      double sum = 0, all = 0, top = -INFINITY;
      int used = 0;
      for (int k = 0; k < n; ++k) {
        const double v = load_sample(t, px[k] + b * sb);
        top = std::max(top, v);
        all += v;
        if (valid(px[k], b)) sum += v, ++used;
      }
      double v;
      if (int(b) == rules_.mask_band)
        v = top;  // valid wherever any of the four is
      else if (used)
        v = sum / used;
      else
        v = nodata_holdable_ ? rules_.nodata : all / n;
      uint8_t *dst = o + b * sb;
      if (t.is_float()) {
        float f = float(v);
        // A mean of valid samples never reads back as nodata.
        if (used && rules_.has_nodata && !std::isnan(rules_.nodata) && f == float(rules_.nodata))
          f = std::nextafter(f, INFINITY);
        memcpy(dst, &f, 4);
        continue;
      }
      int64_t i = std::llround(v);
      if (used && rules_.has_nodata && double(i) == rules_.nodata) i += i < t.hi() ? 1 : -1;
      t.store_int(dst, std::min(t.hi(), std::max(t.lo(), i)));
    }
  }
}

}  // namespace msic
