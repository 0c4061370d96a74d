#include "engine/network_engine.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "engine/elementwise.h"
#include "engine/exact_math.h"
#include "errors.h"

namespace msic::engine {

namespace {
// The fewest rows of a band or of a part (a thread's share of a plane): a
// band's nets read two rows of halo each side, an eighth at most. (A
// 512-px tile's coarsest level, 32 rows, took the same time on two threads
// in parts of 16 rows as splitting each convolution: 1.9-2.1 ms.)
constexpr int kMinRows = 32;

// part(r0, r1) over contiguous parts of `rows` rows, one per thread the
// tile may use now (ThreadsScope), each on its thread alone with its own
// buffers; or part(0, rows) here, each convolution split as before, where
// parts would have fewer than kMinRows rows. Two cores splitting every
// convolution gained little: a 512-px tile's synthesis ran 1.14x as fast
// on two as on one, and 1.37x in parts (medians of 10 rounds). A core that
// reads what the other has just written waits for it (a round trip
// between the two cores of this project's machine takes 100-120 ns);
// parts keep most of each operation's data on one core, and start a
// thread once per operation, not once per convolution. Every value is
// computed as on one thread: the bits do not change.
int row_parts(int rows) { return std::min(ThreadsScope::threads(), rows / kMinRows); }

template <class Part>
void by_row_parts(int rows, Part part) {
  const int parts = row_parts(rows);
  if (parts <= 1) return part(0, rows);
  parallel_for(size_t(parts), parts, [&](size_t p) {
    ThreadsScope alone(nullptr);
    ScratchScope scratch;
    part(int(p * size_t(rows) / size_t(parts)), int((p + 1) * size_t(rows) / size_t(parts)));
  });
}

// Rows [a0, a1) of x's first `count` channels.
Planes row_band(const Planes &x, int count, int a0, int a1) {
  Planes rows(count, a1 - a0, x.width);
  for (int c = 0; c < count; ++c)
    memcpy(rows.plane(c), x.plane(c) + size_t(a0) * x.width, sizeof(float) * rows.plane_size());
  return rows;
}

// r = c2(relu(c1(x))) (two 3x3 convolutions) on rows [r0, r1) of x, from
// rows r0 - 2 .. r1 + 2 (zeros only past the tile's edges): the values the
// whole tile's would have there, in rows [r0 - a0, r1 - a0) of r.
Planes two_convolutions(const Conv &c1, const Conv &c2, const Planes &x, int r0, int r1, int &a0) {
  a0 = std::max(0, r0 - 2);
  const int a1 = std::min(x.height, r1 + 2);
  Planes band, h, r;
  if (a0 > 0 || a1 < x.height) band = row_band(x, x.channels, a0, a1);
  convolve(c1, band.channels ? band : x, h, 0, true);
  band = Planes();
  convolve(c2, h, r);
  return r;
}

const NamedTensor &tensor(const ModelFile &m, const std::string &name, std::vector<int64_t> shape) {
  const NamedTensor &t = m.get(name);
  if (t.type != NamedTensor::Type::F32 || t.shape != shape)
    throw Error(MSIC_ERR_MODEL, "model tensor '" + name + "' does not fit the model config");
  return t;
}

// Integer arithmetic where the model asks for it (ModelConfig::
// integer_convolutions) and gives the input step of this convolution.
Conv load_conv(const ModelFile &m, const std::string &prefix, const char *w, const char *b, int out, int in, int k) {
  Conv c;
  c.in = in, c.out = out, c.k = k;
  c.name = prefix + w;
  c.weights = tensor(m, c.name, {out, in, k, k}).f32.vector();
  c.bias = tensor(m, prefix + b, {out}).f32.vector();
  const std::string shift = c.name + kInputShiftSuffix;
  if (m.config.integer_convolutions && m.has(shift)) {
    const NamedTensor &t = m.get(shift);
    if (t.type != NamedTensor::Type::I32 || t.i32.size() != 1)
      throw Error(MSIC_ERR_MODEL, "model tensor '" + shift + "' is not one integer");
    make_integer(c, t.i32[0]);
  }
  return c;
}

// Whether the C x C matrix m has an inverse by the rule of invert() below:
// every pivot (the largest magnitude left in its column) above 1e-12, in
// Gaussian elimination in double. The pivots are those of invert()'s in
// exact arithmetic, for a fifth of its work.
void check_invertible(const std::vector<float> &m, int n, const std::string &name) {
  std::vector<double> a(m.begin(), m.end());
  for (int col = 0; col < n; ++col) {
    int pivot = col;
    for (int r = col + 1; r < n; ++r)
      if (std::fabs(a[size_t(r) * n + col]) > std::fabs(a[size_t(pivot) * n + col])) pivot = r;
    if (!(std::fabs(a[size_t(pivot) * n + col]) > 1e-12))
      throw Error(MSIC_ERR_MODEL, "model tensor '" + name + "' is not invertible");
    if (pivot != col)
      for (int c = col; c < n; ++c) std::swap(a[size_t(pivot) * n + c], a[size_t(col) * n + c]);
    const double d = a[size_t(col) * n + col];
    for (int r = col + 1; r < n; ++r) {
      const double f = a[size_t(r) * n + col] / d;
      if (f == 0.0) continue;
      for (int c = col; c < n; ++c) a[size_t(r) * n + c] -= f * a[size_t(col) * n + c];
    }
  }
}

// Gauss-Jordan with partial pivoting, in double (as the LibTorch decoder
// inverts the mix in double), rounded to float once. The left half's
// columns before `col` are done (never read again), so the row operations
// skip them: the same values, a quarter less of a model load's time.
std::vector<float> invert(const std::vector<float> &m, int n, const std::string &name) {
  std::vector<double> a(size_t(n) * 2 * n, 0.0);
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < n; ++c) a[size_t(r) * 2 * n + c] = m[size_t(r) * n + c];
    a[size_t(r) * 2 * n + n + r] = 1.0;
  }
  for (int col = 0; col < n; ++col) {
    int pivot = col;
    for (int r = col + 1; r < n; ++r)
      if (std::fabs(a[size_t(r) * 2 * n + col]) > std::fabs(a[size_t(pivot) * 2 * n + col])) pivot = r;
    if (!(std::fabs(a[size_t(pivot) * 2 * n + col]) > 1e-12))
      throw Error(MSIC_ERR_MODEL, "model tensor '" + name + "' is not invertible");
    if (pivot != col)
      for (int c = col; c < 2 * n; ++c) std::swap(a[size_t(pivot) * 2 * n + c], a[size_t(col) * 2 * n + c]);
    const double d = a[size_t(col) * 2 * n + col];
    for (int c = col; c < 2 * n; ++c) a[size_t(col) * 2 * n + c] /= d;
    for (int r = 0; r < n; ++r) {
      if (r == col) continue;
      const double f = a[size_t(r) * 2 * n + col];
      if (f == 0.0) continue;
      for (int c = col; c < 2 * n; ++c) a[size_t(r) * 2 * n + c] -= f * a[size_t(col) * 2 * n + c];
    }
  }
  std::vector<float> inv(size_t(n) * n);
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < n; ++c) inv[size_t(r) * n + c] = float(a[size_t(r) * 2 * n + n + c]);
  return inv;
}

Conv mix_conv(std::vector<float> m, int n, const std::string &name) {
  Conv c;
  c.name = name;
  c.in = c.out = n, c.k = 1;
  c.weights = std::move(m);
  return c;
}

}  // namespace

NetworkEngine::NetworkEngine(const ModelFile &model) : config_(model.config) {
  config_.validate();
  for (int k = 0; k < config_.levels; ++k) {
    const int C = config_.level_channels(k), half = C / 2, width = config_.coupling_width[k];
    std::vector<Unit> units;
    for (int u = 0; u < config_.units[k]; ++u) {
      const std::string p = "transform.level" + std::to_string(k) + "." + std::to_string(u) + ".";
      Unit unit;
      const std::vector<float> log_scale = tensor(model, p + "actnorm_log_scale", {C}).f32.vector();
      for (float v : log_scale) {
        unit.scale.push_back(exact_exp(v));
        unit.inv_scale.push_back(exact_exp(-v));
      }
      unit.bias = tensor(model, p + "actnorm_bias", {C}).f32.vector();
      std::vector<float> mix = tensor(model, p + "mix", {C, C}).f32.vector();
      check_invertible(mix, C, p + "mix");
      unit.mix = mix_conv(std::move(mix), C, p + "mix");
      unit.c1 = load_conv(model, p, "w1", "b1", width, half, 3);
      unit.c2 = load_conv(model, p, "w2", "b2", width, width, 1);
      unit.c3 = load_conv(model, p, "w3", "b3", C, width, 3);
      unit.clamp = config_.coupling_clamp;
      units.push_back(std::move(unit));
    }
    levels_.push_back(std::move(units));
  }
  for (int l = 0; l < config_.latent_count(); ++l) {
    Predictor pr;
    if (config_.lrp_width[l] > 0) {
      const std::string p = "lrp." + std::to_string(l) + ".";
      const int c = config_.latent_channels(l), in = c + config_.context_channels(l), w = config_.lrp_width[l];
      pr.present = true;
      pr.c1 = load_conv(model, p, "w1", "b1", w, in, 3);
      pr.c2 = load_conv(model, p, "w2", "b2", c, w, 3);
    }
    lrp_.push_back(std::move(pr));
  }
  if (config_.postfilter_width > 0) {
    has_post_ = true;
    post1_ = load_conv(model, "post.", "w1", "b1", config_.postfilter_width, 3, 3);
    post2_ = load_conv(model, "post.", "w2", "b2", 3, config_.postfilter_width, 3);
  }
}

Planes NetworkEngine::Unit::coupling(const Planes &x) const {
  // On the first half of x: h = relu(c1 x); h += relu(c2 h); raw = c3 h;
  // raw's first half becomes log_s = clamp tanh(raw / clamp), its second
  // half is t.
  // Each plane is released as soon as it is dead: the peak of a tile's
  // working memory is the sum of what lives at once.
  Planes h, raw;
  convolve(c1, x, h, 0, true);
  residual_relu(c2, h);
  convolve(c3, h, raw);
  h = Planes();
  float *log_s = raw.plane(0);
  const size_t n = raw.plane_size() * size_t(raw.channels / 2);
  soft_clamp(log_s, n, clamp);
  return raw;
}

void NetworkEngine::Unit::couple(Planes &y, bool inverse, int p0, int p1) const {
  // A band of rows at a time: the net's two 3x3 convolutions reach two
  // rows up and down, so each band's net reads two more rows each side,
  // and every value is computed from exactly the inputs that the whole
  // tile's net would use (zeros only at the tile's edges): the same bits,
  // with the net's activations alive for one band. Bands of 16 K pixels
  // (3 MB of activations at the finest level, against 6 for 32 K: the
  // peak of vips copy kodim23.png x.msic drops from 60.6 MB to 57.2)
  // recompute 6% of a 512-px tile's finest couplings. The encoder, which
  // holds more besides (the tile's pixels, the rANS queue), takes 8 K:
  // that peak is then 53.8-54.8 MB in 10 runs (57.2-60.1 in 8 at 16 K),
  // for 12% recomputed, about 3% of a 1-thread encode.
  const size_t band_pixels = inverse ? 16384 : 8192;
  const int half = y.channels / 2, H = y.height, W = y.width;
  // At least kMinRows rows (tiles of 2048 px and more), of equal height.
  const int most = std::max(kMinRows, int(band_pixels / size_t(std::max(W, 1))));
  if (p1 <= p0) return;
  const int bands = (p1 - p0 + most - 1) / most, height = (p1 - p0 + bands - 1) / bands;
  for (int r0 = p0; r0 < p1; r0 += height) {
    const int r1 = std::min(p1, r0 + height), a0 = std::max(0, r0 - 2), a1 = std::min(H, r1 + 2);
    const Planes st = a0 > 0 || a1 < H ? coupling(row_band(y, half, a0, a1)) : coupling(y);
    const size_t first = size_t(r0 - a0) * W, n = size_t(r1 - r0) * W;
    for (int c = 0; c < half; ++c) {
      float *p = y.plane(half + c) + size_t(r0) * W;
      const float *s = st.plane(c) + first, *t = st.plane(half + c) + first;
      if (inverse)
        coupling_inverse(p, s, t, n);
      else
        coupling_forward(p, s, t, n);
    }
  }
}

// ActNorm and the mix are per pixel, the coupling reads two rows past its
// part of y's first half (which it does not change): forward takes two
// passes over the parts, inverse one.
Planes NetworkEngine::Unit::forward(Planes x) const {
  const int C = x.channels;
  Planes y(mix.out, x.height, x.width);
  by_row_parts(x.height, [&](int r0, int r1) {
    const size_t first = size_t(r0) * x.width, count = size_t(r1 - r0) * x.width;
    for (int c = 0; c < C; ++c) {
      float *p = x.plane(c) + first;
      for (size_t i = 0; i < count; ++i) p[i] = p[i] * scale[c] + bias[c];
    }
    convolve_pixels(mix, x, y, first, count);
  });
  x = Planes();
  by_row_parts(y.height, [&](int r0, int r1) { couple(y, false, r0, r1); });
  return y;
}

Planes NetworkEngine::Unit::inverse(Planes y, const Conv &inverse_mix) const {
  Planes x(inverse_mix.out, y.height, y.width);
  by_row_parts(y.height, [&](int r0, int r1) {
    couple(y, true, r0, r1);
    unmix(y, inverse_mix, x, r0, r1);
  });
  return x;
}

Planes NetworkEngine::Unit::inverse_taped(Planes y, const Conv &inverse_mix, CouplingActivations &net) const {
  const int half = y.channels / 2;
  convolve(c1, y, net.h1, 0, true);
  net.h2 = net.h1;
  residual_relu(c2, net.h2);
  convolve(c3, net.h2, net.raw);
  Planes log_s = channels(net.raw, 0, half);
  in_ranges(log_s.values.size(),
            [&](size_t first, size_t last) { soft_clamp(log_s.values.data() + first, last - first, clamp); });
  Planes x(inverse_mix.out, y.height, y.width);
  by_row_parts(y.height, [&](int r0, int r1) {
    const size_t first = size_t(r0) * y.width, count = size_t(r1 - r0) * y.width;
    for (int c = 0; c < half; ++c)
      coupling_inverse(y.plane(half + c) + first, log_s.plane(c) + first, net.raw.plane(half + c) + first, count);
    unmix(y, inverse_mix, x, r0, r1);
  });
  return x;
}

void NetworkEngine::Unit::unmix(const Planes &y, const Conv &inverse_mix, Planes &x, int r0, int r1) const {
  const size_t first = size_t(r0) * y.width, count = size_t(r1 - r0) * y.width;
  convolve_pixels(inverse_mix, y, x, first, count);
  for (int c = 0; c < x.channels; ++c) {
    float *p = x.plane(c) + first;
    for (size_t i = 0; i < count; ++i) p[i] = (p[i] - bias[c]) * inv_scale[c];
  }
}

std::vector<Planes> NetworkEngine::analysis(Planes x) const {
  std::vector<Planes> latents;
  for (const auto &units : levels_) {
    x = space_to_depth(x);
    for (const Unit &u : units) x = u.forward(std::move(x));
    const int half = x.channels / 2;
    latents.push_back(channels(x, 0, half));
    Planes rest = channels(x, half, half);
    x = std::move(rest);
  }
  latents.push_back(std::move(x));
  return latents;
}

const std::vector<std::vector<Conv>> &NetworkEngine::inverse_mixes() const {
  std::call_once(inverse_mixes_->made, [this] {
    std::vector<std::vector<Conv>> mixes(levels_.size());
    for (size_t k = 0; k < levels_.size(); ++k)
      for (size_t u = 0; u < levels_[k].size(); ++u) {
        const Conv &mix = levels_[k][u].mix;
        mixes[k].push_back(mix_conv(invert(mix.weights, mix.in, mix.name), mix.in, mix.name));
      }
    inverse_mixes_->mixes = std::move(mixes);
  });
  return inverse_mixes_->mixes;
}

Planes NetworkEngine::synthesis(std::vector<Planes> latents) const {
  Planes x = std::move(latents.back());
  for (int k = int(levels_.size()) - 1; k >= 0; --k) x = synthesis_level(k, latents[k], std::move(x));
  return x;
}

Planes NetworkEngine::synthesis_level(int k, const Planes &latent, Planes continued) const {
  const std::vector<Conv> &inverse = inverse_mixes()[size_t(k)];
  Planes x = concat(latent, continued);
  continued = Planes();
  for (int u = int(levels_[k].size()) - 1; u >= 0; --u) x = levels_[k][u].inverse(std::move(x), inverse[u]);
  return depth_to_space(x);
}

IncrementalSynthesis::IncrementalSynthesis(const NetworkEngine &engine, const ModelConfig &config,
                                           std::vector<Planes> &latents, const std::vector<float> &gains)
    : engine_(engine), config_(config), latents_(latents), gains_(gains), refined_(config.latent_count()),
      level_(config.levels) {}

void IncrementalSynthesis::run_level() {
  // (Checked here: an encoder's latents are made after this is.)
  if (int(latents_.size()) != config_.latent_count() || int(gains_.size()) != config_.total_latent_channels())
    throw Error(MSIC_ERR_INTERNAL, "engine: latents or gains do not fit the model");
  const int k = level_ - 1;
  while (refined_ > k) engine_.refine_latent(latents_, --refined_, gains_);
  // (The latents stay: the finer ones' residual prediction reads them.)
  Planes below = k == config_.levels - 1 ? latents_.back() : std::move(x_);
  x_ = engine_.synthesis_level(k, latents_[size_t(k)], std::move(below));
  level_ = k;
}

const Planes &IncrementalSynthesis::continued(int latent) {
  if (latent < 0 || latent > config_.levels - 2 || level_ <= latent)
    throw Error(MSIC_ERR_INTERNAL, "engine: no continued half of latent " + std::to_string(latent) + " now");
  while (level_ > latent + 1) run_level();
  return x_;
}

Planes IncrementalSynthesis::finish() {
  while (level_ > 0) run_level();
  return std::move(x_);
}

Planes NetworkEngine::predictor_input(const std::vector<Planes> &latents, int latent) const {
  const Planes &own = latents[latent];
  const int H = own.height, W = own.width;
  int channels = own.channels;
  for (int s : config_.context_sources(latent)) channels += latents[s].channels;
  Planes out(channels, H, W);
  memcpy(out.values.data(), own.values.data(), sizeof(float) * own.values.size());
  int at = own.channels;
  for (int s : config_.context_sources(latent)) {
    const Planes &f = latents[s];
    const int sh = config_.latent_shift(s) - config_.latent_shift(latent);
    for (int c = 0; c < f.channels; ++c, ++at)
      for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x)
          out.plane(at)[size_t(y) * W + x] = f.plane(c)[size_t(y >> sh) * f.width + (x >> sh)];
  }
  return out;
}

void NetworkEngine::refine_latents(std::vector<Planes> &latents, const std::vector<float> &gains) const {
  if (int(latents.size()) != config_.latent_count() || int(gains.size()) != config_.total_latent_channels())
    throw Error(MSIC_ERR_INTERNAL, "engine: latents or gains do not fit the model");
  for (int l = config_.latent_count() - 1; l >= 0; --l) refine_latent(latents, l, gains);
}

void NetworkEngine::refine_latent(std::vector<Planes> &latents, int l, const std::vector<float> &gains) const {
  if (!lrp_[l].present) return;
  const int c = config_.latent_channels(l), off = config_.first_channel(l);
  const Planes in = predictor_input(latents, l);
  by_row_parts(in.height, [&](int r0, int r1) {
    int a0 = 0;
    const Planes r = two_convolutions(lrp_[l].c1, lrp_[l].c2, in, r0, r1, a0);
    const size_t first = size_t(r0 - a0) * in.width, n = size_t(r1 - r0) * in.width;
    for (int ch = 0; ch < c; ++ch) {
      const float inv_gain = 1.0f / gains[off + ch];
      add_prediction(latents[l].plane(ch) + size_t(r0) * in.width, r.plane(ch) + first, n, inv_gain);
    }
  });
}

void NetworkEngine::postfilter(Planes &image) const {
  if (!has_post_) return;
  // Parts read rows of the image that others change: from a copy.
  const Planes copy = row_parts(image.height) > 1 ? image : Planes();
  const Planes &x = copy.channels ? copy : image;
  by_row_parts(x.height, [&](int r0, int r1) {
    int a0 = 0;
    const Planes r = two_convolutions(post1_, post2_, x, r0, r1, a0);
    const size_t first = size_t(r0 - a0) * x.width, n = size_t(r1 - r0) * x.width;
    for (int c = 0; c < image.channels; ++c) {
      float *p = image.plane(c) + size_t(r0) * x.width;
      const float *rr = r.plane(c) + first;
      for (size_t i = 0; i < n; ++i) p[i] = p[i] + rr[i];
    }
  });
}

}  // namespace msic::engine
