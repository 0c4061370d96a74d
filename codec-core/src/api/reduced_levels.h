// The reduced levels a writer stores (MSIC.md, "Reduced levels"): which
// scales, and the 2 x 2 reduction that makes each level from the one above,
// row by row as the image streams in: its buffers are one tile row per
// stored level, whatever the image size. (The coded level tiles wait in the
// container writer until the end: about 0.4% of the file from 1/16, a third
// from 1/2.)
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "container.h"
#include "predictive/sample_type.h"

namespace msic {

// The scales (log2) stored for `first` (MSIC_ENCODER_OVERVIEWS): 1/2^first,
// then each half the one before, down to the first that fits in one tile;
// none when the image fits in one tile before 1/2^first, or first is 0.
std::vector<uint32_t> reduced_level_scales(const format::Header &header, uint32_t first);

// How 2 x 2 pixels become one.
struct ReductionRules {
  SampleType type;
  uint32_t bands = 1;
  bool nearest = false;  // the top-left pixel (class codes, palettes); else the mean
  bool has_nodata = false;
  double nodata = 0;     // samples equal to it (NaN: any NaN) are left out of means
  int mask_band = -1;    // a validity mask (ROLE): kept valid where any pixel is,
                         // and masked-out pixels are left out of the others' means
  int alpha_band = -1;   // an alpha band (ROLE): averaged itself, and fully
                         // transparent pixels are left out of the others' means
};

class LevelBuilder {
 public:
  // Called with `count` complete rows of stored level `level` (1-based, in
  // the order of `scales`), `stride` bytes apart, top to bottom: a whole
  // tile row, or the level's last rows.
  using EmitRows = std::function<void(size_t level, const uint8_t *rows, size_t stride, uint32_t count)>;

  LevelBuilder(const format::Header &header, const std::vector<uint32_t> &scales, const ReductionRules &rules,
               EmitRows emit);
  // Rows of the image itself, top to bottom.
  void add_rows(const uint8_t *rows, size_t stride, uint32_t count);
  // After the image's last row: the levels' last rows.
  void finish();

 private:
  struct Stage {                   // halves scale - 1 into scale
    uint32_t scale = 0;
    uint32_t in_width = 0, width = 0, height = 0;
    std::vector<uint8_t> pending;  // an input row waiting for its pair
    bool has_pending = false;
    std::vector<uint8_t> out;      // the row just reduced
    int stored = -1;               // index of the stored level, -1: an intermediate
    std::vector<uint8_t> tile_rows;
    uint32_t rows_held = 0, rows_out = 0;
  };
  // A row of stage i's input; a reduced row of stage i (in its `out`).
  void feed(size_t i, const uint8_t *row);
  void output(size_t i);
  // row1 null: the last row of an odd height, alone.
  void reduce(const Stage &s, const uint8_t *row0, const uint8_t *row1, uint8_t *out) const;
  bool valid(const uint8_t *pixel, uint32_t band) const;

  ReductionRules rules_;
  bool nodata_holdable_ = false;  // the nodata value is a sample value
  uint32_t tile_size_;
  size_t pixel_bytes_;
  std::vector<Stage> stages_;
  EmitRows emit_;
};

}  // namespace msic
