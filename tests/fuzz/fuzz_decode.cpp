// Target 2: tile decoding through the C API. msic_reader_new_memory on the
// input (with a recovering context when a strict one refuses it: the tiles
// of a damaged file are then found by their frames), its info and boxes, then msic_reader_decode_region of the whole
// image (when it has at most MSIC_FUZZ_WHOLE_PIXELS) and of a window, and
// msic_reader_decode_tiles of a few tiles. The entropy decoder and the
// engine run instrumented (see CMakeLists.txt).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "fuzz_support.h"

namespace {
msic_context *context = nullptr, *recovering = nullptr;

// Bytes of a pixel: every band's sample.
size_t pixel_bytes(const msic_file_info &fi) { return size_t(fi.image.bands) * (fi.image.bit_depth / 8); }

void decode_region(msic_reader *r, const msic_file_info &fi, uint32_t x, uint32_t y, uint32_t w, uint32_t h) {
  const size_t px = pixel_bytes(fi);
  if (uint64_t(w) * h * px > MSIC_FUZZ_MAX_BUFFER) return;
  std::vector<uint8_t> out(size_t(w) * h * px);
  msic_fuzz_check(msic_reader_decode_region(r, x, y, w, h, out.data(), size_t(w) * px), "decode_region");
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  unsetenv("MSIC_MODEL_PATH");  // only the embedded model, on every machine
  // One thread: executions stay deterministic.
  if (msic_context_new(nullptr, &context) != MSIC_OK || msic_context_new(nullptr, &recovering) != MSIC_OK ||
      msic_context_set_recover(recovering, 1) != MSIC_OK) {
    fprintf(stderr, "msic_context_new: %s\n", msic_last_error());
    abort();
  }
  msic_context_set_threads(context, 1);
  msic_context_set_threads(recovering, 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  msic_identify(data, size);
  msic_reader *r = nullptr;
  msic_status st = msic_reader_new_memory(context, data, size, &r);
  msic_fuzz_check(st, "reader_new_memory");
  if (st != MSIC_OK) {
    st = msic_reader_new_memory(recovering, data, size, &r);
    msic_fuzz_check(st, "reader_new_memory (recover)");
    if (st != MSIC_OK) return 0;
  }

  msic_file_info fi;
  st = msic_reader_get_info(r, &fi);
  msic_fuzz_check(st, "get_info");
  if (st != MSIC_OK) {
    msic_reader_close(r);
    return 0;
  }
  // Boxes: every one, the float64 ones as their readers take them.
  size_t boxes = msic_reader_box_count(r);
  for (size_t i = 0; i < boxes; ++i) {
    msic_box b;
    msic_fuzz_check(msic_reader_get_box(r, i, &b), "get_box");
  }
  static const struct {
    const char *type;
    size_t count;
  } f64[] = {{MSIC_BOX_GEOTRANSFORM, 6}, {MSIC_BOX_NODATA, 1}, {MSIC_BOX_RESOLUTION, 2}};
  for (const auto &k : f64) {
    msic_box b;
    double v[6];
    if (msic_reader_find_box(r, k.type, &b) == MSIC_OK) msic_fuzz_check(msic_box_get_f64(&b, v, k.count), "f64");
  }

  const uint32_t W = fi.image.width, H = fi.image.height;
  const size_t px = pixel_bytes(fi);
  if (uint64_t(W) * H <= MSIC_FUZZ_WHOLE_PIXELS) decode_region(r, fi, 0, 0, W, H);
  // A window at a third of the image, crossing tile borders when it can.
  uint32_t x = W / 3, y = H / 3;
  decode_region(r, fi, x, y, std::min(W - x, MSIC_FUZZ_WINDOW), std::min(H - y, MSIC_FUZZ_WINDOW));

  // A batch: the first tile, the last, and one in the middle.
  const uint32_t ts = fi.tile_size, across = fi.tiles_across, down = fi.tiles_down;
  uint32_t tx[3] = {0, across - 1, across / 2}, ty[3] = {0, down - 1, down / 2};
  size_t count = uint64_t(across) * down == 1 ? 1 : 3;
  if (uint64_t(ts) * ts * px * count > MSIC_FUZZ_MAX_BUFFER) {  // a header claiming 1024 float bands
    msic_reader_close(r);
    return 0;
  }
  std::vector<std::vector<uint8_t>> tiles(count, std::vector<uint8_t>(size_t(ts) * ts * px));
  uint8_t *out[3];
  for (size_t i = 0; i < count; ++i) out[i] = tiles[i].data();
  msic_fuzz_check(msic_reader_decode_tiles(r, count, tx, ty, out, size_t(ts) * px, 1), "decode_tiles");
  // Outside the image: a clean MSIC_ERR_ARGUMENT.
  if (msic_reader_decode_tile(r, across, 0, out[0], size_t(ts) * px) == MSIC_OK) abort();
  // Each reduced level: its info and its first tile; one past the last
  // level is an argument error.
  for (uint32_t l = 1; l <= fi.levels + 1; ++l) {
    msic_level_info li;
    st = msic_reader_get_level(r, l, &li);
    msic_fuzz_check(st, "get_level");
    if (l > fi.levels) {
      if (st == MSIC_OK) abort();
      break;
    }
    if (st != MSIC_OK) continue;
    const uint32_t zero = 0;
    msic_fuzz_check(msic_reader_decode_level_tiles(r, l, 1, &zero, &zero, out, size_t(ts) * px, 1), "level tile");
  }

  msic_reader_close(r);
  return 0;
}
