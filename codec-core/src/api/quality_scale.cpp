#include "api/quality_scale.h"

#include <algorithm>
#include <iterator>

namespace msic {

namespace {

struct Point {
  double quality, model;
};

// Measured for model v3 on the 24 Kodak images by bench/calibrate_quality.py
// (the check is in README.md): the lowest model quality at which msic
// reaches libjpeg at Q in PSNR and in butteraugli, at every fifth Q (at Q 5,
// model quality 0 already does). Its check found butteraugli within 0.03
// of JPEG's with two 512-px tiles per image, 0.05 since each is one tile
// (2026-12-04; the metric is not smooth at that level), and still 0.05 with
// model v4 (v3's transform, new context nets), so the table was kept. Other
// model files use the same table; a new default model re-runs the script.
constexpr Point kScale[] = {
    {0, 0},     {10, 13.7}, {15, 24.8}, {20, 31.5}, {25, 35.7}, {30, 39.1}, {35, 41.8},
    {40, 43.7}, {45, 45.6}, {50, 47.1}, {55, 48.7}, {60, 50.5}, {65, 52.5}, {70, 55.0},
    {75, 58.0}, {80, 60.7}, {85, 65.3}, {90, 71.2}, {95, 79.1}, {100, 100},
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
