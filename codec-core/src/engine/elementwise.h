// The element-wise passes of the couplings, the residual predictors and
// the top effort's relaxed coding (relaxed_coding.h), on the widest vectors cpu_level() allows: every lane computes what the
// scalar expression computes (exact_math.h), so the bits do not depend on
// the width.
#pragma once
#include <cstddef>
#include <cstdint>

namespace msic::engine {

void coupling_forward(float *y, const float *log_s, const float *t, size_t n);  // y = y * exp(log_s) + t
void coupling_inverse(float *y, const float *log_s, const float *t, size_t n);  // y = (y - t) * exp(-log_s)
void soft_clamp(float *v, size_t n, float clamp);                               // v = clamp * tanh(v / clamp)
// p = p + 0.5 * tanh(r) * inv_gain (the residual predictor's correction)
void add_prediction(float *p, const float *r, size_t n, float inv_gain);
// The synthesis backwards (synthesis_gradient.cpp) through an inverse
// coupling's second half, y2' = (y2 - t) exp(-log_s), log_s = clamp
// tanh(raw_s / clamp), t = raw_t: from g on y2', writes g on y2 (over g)
// and on raw_s and raw_t (over them).
void coupling_gradient(float *g, float *raw_s, float *raw_t, const float *y2, size_t n, float clamp);
// The same through add_prediction: from g on p, the gradient on r,
// out = g * 0.5 * inv_gain * (1 - tanh(r)^2).
void prediction_gradient(float *out, const float *g, const float *r, size_t n, float inv_gain);

// Stochastic Gumbel annealing's relaxation of r, a latent less its mean in
// steps, given as floor(r) + fraction, at a temperature with a logistic
// draw (the difference of two Gumbel draws): r relaxed is floor(r) + up,
// up = sigmoid(((atanh(d) - atanh(1 - d)) / temperature + draw) /
// temperature), d the fraction kept 1e-5 inside (0, 1); slope = d up / d r.
// (The caller splits r in double: a float r of 10 would move the fraction
// by 1e-6, a lot where the relaxation is steep.)
void relax_symbols(const float *fraction, const float *draw, size_t n, float temperature, float *up, float *slope);
// The bits of symbols v under discretized Gaussians of log2 scale s,
// clamped to [scale_min, scale_max] (a table's range), at least 1e-9 of
// probability; their slopes in v and in s (0 where s is clamped or the
// probability floored).
void gaussian_bits(const float *v, const float *log2_scale, size_t n, float scale_min, float scale_max, float *bits,
                   float *slope, float *scale_slope);
// Logistic draws, out[i] a function of key and first + i only (so that
// any split into ranges, on any threads, gives the same draws).
void logistic_draws(float *out, size_t n, uint32_t key, uint32_t first);

}  // namespace msic::engine
