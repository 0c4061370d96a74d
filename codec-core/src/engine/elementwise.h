// The element-wise passes of the couplings and the residual predictors,
// on the widest vectors cpu_level() allows: every lane computes what the
// scalar expression computes (exact_math.h), so the bits do not depend on
// the width.
#pragma once
#include <cstddef>

namespace msic::engine {

void coupling_forward(float *y, const float *log_s, const float *t, size_t n);  // y = y * exp(log_s) + t
void coupling_inverse(float *y, const float *log_s, const float *t, size_t n);  // y = (y - t) * exp(-log_s)
void soft_clamp(float *v, size_t n, float clamp);                               // v = clamp * tanh(v / clamp)
// p = p + 0.5 * tanh(r) * inv_gain (the residual predictor's correction)
void add_prediction(float *p, const float *r, size_t n, float inv_gain);

}  // namespace msic::engine
