#include "api/quality_scale.h"

#include <algorithm>
#include <iterator>

namespace msic {

namespace {

struct Point {
  double quality, model;
};

// Measured by bench/calibrate_quality.py on the 24 Kodak images (the check
// is in README.md): the lowest model quality at which msic reaches libjpeg
// at Q in PSNR and in butteraugli, at every fifth Q (at Q 5, model quality
// 0 already does). Fitted for msinn-small-v5-int, one tile per image
// (2026-12-05); its check found butteraugli within 0.03 of JPEG's at every
// Q (the metric is not smooth at that level), where v3's table left v5
// worse by up to 0.12 from Q 35 up. Other model files use the same table; a
// new default model re-runs the script.
constexpr Point kScale[] = {
    {0, 0},     {10, 12.0}, {15, 23.6}, {20, 30.6}, {25, 34.6}, {30, 38.6}, {35, 42.3},
    {40, 44.6}, {45, 46.2}, {50, 47.9}, {55, 49.6}, {60, 51.2}, {65, 53.7}, {70, 56.1},
    {75, 58.2}, {80, 61.6}, {85, 65.6}, {90, 72.1}, {95, 80.9}, {100, 100},
};

// Piecewise linear through the points, from the `from` column to the `to` one.
double interpolate(double x, double Point::*from, double Point::*to) {
  const Point *end = std::end(kScale);
  const Point *hi = std::lower_bound(std::begin(kScale), end, x,
                                     [from](const Point &p, double v) { return p.*from < v; });
  if (hi == std::begin(kScale)) return hi->*to;
  if (hi == end) return end[-1].*to;
  const Point &lo = hi[-1];
  return lo.*to + (hi->*to - lo.*to) * (x - lo.*from) / (hi->*from - lo.*from);
}

}  // namespace

double model_quality(double quality) { return interpolate(quality, &Point::quality, &Point::model); }
double user_quality(double model_quality) { return interpolate(model_quality, &Point::model, &Point::quality); }

}  // namespace msic
