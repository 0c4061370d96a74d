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
// 0 already does). Fitted for msinn-small-v6-int, one tile per image
// (2026-12-05); v5's table had left v6 worse than JPEG in butteraugli at
// 9 of 19 Q (by up to 0.08, at Q 15 and 35). Other model files use the same
// table; a new default model re-runs the script.
constexpr Point kScale[] = {
    {0, 0},     {10, 11.9}, {15, 23.9}, {20, 30.6}, {25, 34.6}, {30, 38.7}, {35, 42.9},
    {40, 44.7}, {45, 46.2}, {50, 47.8}, {55, 49.6}, {60, 51.3}, {65, 53.8}, {70, 56.2},
    {75, 58.4}, {80, 61.6}, {85, 66.1}, {90, 72.1}, {95, 80.3}, {100, 100},
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
