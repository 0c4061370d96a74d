// msic: encode, decode, inspect and verify MSIC files.
// Images in and out: PNG and binary PNM by the command itself, the rest
// through libvips (image_io.h); the codec through the MSIC C API.
#include <msic/msic.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#include <sys/mman.h>
#endif

#include "image_io.h"
#include "vips_formats.h"

#include <cerrno>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

namespace {

const char *kUsage =
    "usage: msic <command> [options]\n"
    "\n"
    "commands:\n"
    "  encode IN OUT.msic   compress an image (PNG, PNM; TIFF, JPEG, WebP, ... via libvips)\n"
    "  decode IN.msic OUT   decompress to PNG, PNM or any format libvips writes (by OUT's suffix)\n"
    "  info IN.msic         describe a file (--json for machines)\n"
    "  verify IN.msic       check every tile's CRC-32 and that it decodes\n"
    "  version              print the library version and the default model\n"
    "\n"
    "common options:\n"
    "  --threads N          worker threads (default: all cores)\n"
    "  --model PATH         model file instead of the embedded default\n"
    "  --memory-limit MB    working memory of the tile decodes in flight (default 1024,\n"
    "                       or $MSIC_MEMORY_LIMIT; 0 = none); a tile that needs more is refused\n"
    "\n"
    "'msic <command> --help' describes each command. MSIC_USE_LIBVIPS=1 in the environment\n"
    "reads and writes PNG and PNM through libvips too.\n";

const char *kEncodeHelp =
    "usage: msic encode IN OUT.msic [--quality Q | --lossless | --max-error E] [--effort N] [--tile-size N]\n"
    "                   [--strip] [--overviews K] [--threads N] [--model PATH]\n"
    "  --quality Q     0..100, any real value (default 75); read like JPEG's: at Q, msic is smaller\n"
    "                  than a JPEG at Q and looks about as good (the README has the table)\n"
    "  --effort N      1: fastest; 2 (default): each latent's step chosen for rate and distortion,\n"
    "                  finer steps where tiles meet; 3: a lower error still at tile borders (2x the time);\n"
    "                  4: as 2, latents moved by gradients before coding (fewer bits; about a minute per 768 x 512 image);\n"
    "                  5: as 4, with 3.3x the steps (fewer bits still, for archives)\n"
    "  --lossless      every sample exact; any band count, 8/16/32-bit integers and floats\n"
    "  --max-error E   every sample within E of the original (a whole number for integers)\n"
    "  --tile-size N   tile width/height, multiple of 16 in [64, 4096] (default: 512, or one\n"
    "                  1024-px tile for an image of 513 to 1024 px on its longer side)\n"
    "  --strip         drop ICC, EXIF, XMP and IPTC metadata\n"
    "  --overviews K   store the image reduced, at 1/2^K and each half of that down to one tile,\n"
    "                  for fast previews (default 4; 0: none)\n"
    "Input: 8-bit grey or RGB. OUT is written under a temporary name and renamed when complete.\n";
const char *kDecodeHelp =
    "usage: msic decode IN.msic OUT [--region X,Y,W,H] [--recover] [--threads N] [--memory-limit MB]\n"
    "                   [--model PATH]\n"
    "  --region X,Y,W,H   decode only this window (only the tiles it touches are decoded)\n"
    "  --recover          from a truncated or damaged file, decode every tile that is whole;\n"
    "                     the others are black, and msic says how many (exit status 3)\n"
    "OUT's suffix picks the format (.png, .ppm, .tif, .jpg, .webp, ...); libvips options may follow\n"
    "it, as in out.png[compression=9]. The command's own PNG writer favours speed (zlib's RLE).\n";
const char *kInfoHelp = "usage: msic info IN.msic [--json]\n";
const char *kVerifyHelp = "usage: msic verify IN.msic [--threads N] [--memory-limit MB] [--model PATH]\n";

struct Args {
  std::string command;
  const char *argv0 = "msic";
  std::vector<std::string> positional;
  float quality = float(MSIC_QUALITY_DEFAULT);
  unsigned tile_size = MSIC_TILE_SIZE_AUTO;
  int threads = 0;
  std::optional<double> memory_limit_mb;  // none: the library's default (or $MSIC_MEMORY_LIMIT)
  bool strip = false, json = false, help = false, recover = false, lossless = false;
  double max_error = 0;
  double overviews = MSIC_OVERVIEWS_DEFAULT;  // checked by the library
  double effort = MSIC_EFFORT_DEFAULT;        // checked by the library
  std::string model, region;
};

// Thrown by die() and caught in main(), so that destructors run: a writer
// removes its temporary file.
struct ExitStatus {
  int code;
};

[[noreturn]] void die(const std::string &message, int code = 1) {
  fprintf(stderr, "msic: %s\n", message.c_str());
  throw ExitStatus{code};
}

double parse_number(const std::string &flag, const char *text) {
  char *end = nullptr;
  errno = 0;
  double v = strtod(text, &end);
  if (!*text || *end || errno) die("option " + flag + " needs a number, got '" + text + "'", 2);
  return v;
}

Args parse(int argc, char **argv, int first) {
  Args a;
  for (int i = first; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&]() -> const char * {
      if (i + 1 >= argc) die("option " + s + " needs a value", 2);
      return argv[++i];
    };
    if (s == "--help" || s == "-h") a.help = true;
    else if (s == "--quality" || s == "-q") a.quality = float(parse_number(s, value()));
    else if (s == "--tile-size") a.tile_size = unsigned(parse_number(s, value()));
    else if (s == "--threads") a.threads = int(parse_number(s, value()));
    else if (s == "--model") a.model = value();
    else if (s == "--memory-limit") a.memory_limit_mb = parse_number(s, value());
    else if (s == "--region") a.region = value();
    else if (s == "--strip") a.strip = true;
    else if (s == "--lossless") a.lossless = true;
    else if (s == "--max-error") a.max_error = parse_number(s, value());
    else if (s == "--overviews") a.overviews = parse_number(s, value());
    else if (s == "--effort") a.effort = parse_number(s, value());
    else if (s == "--recover") a.recover = true;
    else if (s == "--json") a.json = true;
    else if (s.size() > 1 && s[0] == '-') die("unknown option '" + s + "' (see msic --help)", 2);
    else a.positional.push_back(s);
  }
  return a;
}

using Context = std::unique_ptr<msic_context, void (*)(msic_context *)>;

Context make_context(const Args &a) {
  msic_context *ctx = nullptr;
  if (msic_context_new(a.model.empty() ? nullptr : a.model.c_str(), &ctx) != MSIC_OK)
    die(msic_last_error());
  msic_context_set_threads(ctx, a.threads);
  msic_context_set_recover(ctx, a.recover);
  if (a.memory_limit_mb) {
    const double mb = *a.memory_limit_mb;
    if (!(mb >= 0 && mb < 1e12)) die("--memory-limit needs megabytes >= 0", 2);
    msic_context_set_memory_limit(ctx, uint64_t(mb * 1048576.0));
  }
  return Context(ctx, msic_context_destroy);
}

struct Reader {
  msic_reader *r = nullptr;
  explicit Reader(msic_context *ctx, const std::string &path) {
    if (msic_reader_new_file(ctx, path.c_str(), &r) != MSIC_OK) die(path + ": " + msic_last_error());
  }
  ~Reader() { msic_reader_close(r); }
};

// OUT split into the file to make and libvips's save options, if any:
// "out.png[compression=9]" -> "out.png", "[compression=9]".
std::pair<std::string, std::string> split_options(const std::string &out) {
  const size_t open = out.rfind('[');
  if (out.empty() || out.back() != ']' || open == std::string::npos || open == 0) return {out, ""};
  return {out.substr(0, open), out.substr(open)};
}

// Temporary name beside `path` with the same suffix, so that the same
// writer is picked; renamed over `path` only once the image is complete.
std::string temp_beside(const std::string &path) {
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  size_t dot = base.find_last_of('.');
  std::string suffix = dot == std::string::npos ? "" : base.substr(dot);
  return dir + "." + base + ".tmp-" + std::to_string(getpid()) + suffix;
}

int progress_bar(void *, double fraction) {
  fprintf(stderr, "\r%3d%%", int(fraction * 100));
  if (fraction >= 1.0) fprintf(stderr, "\n");
  return 0;
}

bool use_libvips_only() {
  const char *v = getenv("MSIC_USE_LIBVIPS");
  return v && *v && strcmp(v, "0") != 0;
}

const msic_cli::VipsIO &libvips(const Args &a) {
  std::string error;
  const msic_cli::VipsIO *io = msic_cli::vips_io(a.argv0, msic_cli::needs_vips_modules(a.command, a.positional), &error);
  if (!io) die(error);
  return *io;
}

// PNG and PNM by the command's own readers, anything else through libvips.
std::unique_ptr<msic_cli::ImageInput> open_input(const Args &a, const std::string &in) {
  if (access(in.c_str(), R_OK) != 0) die(in + ": " + strerror(errno));
  std::string error;
  std::unique_ptr<msic_cli::ImageInput> input;
  if (!use_libvips_only()) {
    input = msic_cli::open_png(in, &error);
    if (!input && error.empty()) input = msic_cli::open_pnm(in, &error);
    if (!error.empty()) die(in + ": " + error);
  }
  if (!input) input = libvips(a).open(in, &error);
  if (!input) die(in + ": " + error);
  return input;
}

std::string sample_name(const msic_image_info &info) {
  const char *kind = info.sample_format == MSIC_SAMPLE_FLOAT    ? "float"
                     : info.sample_format == MSIC_SAMPLE_SIGNED ? "signed"
                                                                : "unsigned";
  return std::to_string(info.bit_depth) + "-bit " + kind;
}

int cmd_encode(const Args &a) {
  if (a.help) return fputs(kEncodeHelp, stdout), 0;
  if (a.positional.size() != 2) die(std::string("encode needs IN and OUT\n") + kEncodeHelp, 2);
  const std::string &in = a.positional[0], &out = a.positional[1];
  std::unique_ptr<msic_cli::ImageInput> input = open_input(a, in);
  const msic_image_info info = input->info();
  const bool exact = a.lossless || a.max_error > 0;
  if (!exact && (info.bit_depth != 8 || info.sample_format != MSIC_SAMPLE_UNSIGNED))
    die(in + ": the learned coding takes 8-bit images (this one has " + sample_name(info) +
        " samples): use --lossless or --max-error E, or convert it, e.g. vips cast IN OUT uchar");
  if (!exact && info.bands != 1 && info.bands != 3)
    die(in + ": " + std::to_string(info.bands) +
        " bands; the learned coding takes grey (1 band) or RGB (3 bands): use --lossless or --max-error E, "
        "or remove the alpha channel first (e.g. vips flatten IN OUT)");

  Context ctx = make_context(a);
  // The library checks the values (the tile size rule lives there) and its
  // message names the option and its range. Threads stay at 0, the
  // context's setting, which make_context set from --threads.
  msic_encoder_settings *settings = nullptr;
  if (msic_encoder_settings_new(&settings) != MSIC_OK) die(out + ": " + msic_last_error());
  std::unique_ptr<msic_encoder_settings, void (*)(msic_encoder_settings *)> hold_s(
      settings, msic_encoder_settings_destroy);
  if (msic_encoder_settings_set(settings, MSIC_ENCODER_QUALITY, a.quality) != MSIC_OK ||
      msic_encoder_settings_set(settings, MSIC_ENCODER_TILE_SIZE, a.tile_size) != MSIC_OK ||
      msic_encoder_settings_set(settings, MSIC_ENCODER_LOSSLESS, a.lossless ? 1 : 0) != MSIC_OK ||
      msic_encoder_settings_set(settings, MSIC_ENCODER_MAX_ERROR, a.max_error) != MSIC_OK ||
      msic_encoder_settings_set(settings, MSIC_ENCODER_OVERVIEWS, a.overviews) != MSIC_OK ||
      msic_encoder_settings_set(settings, MSIC_ENCODER_EFFORT, a.effort) != MSIC_OK ||
      (isatty(2) && msic_encoder_settings_set_progress(settings, progress_bar, nullptr) != MSIC_OK))
    die(out + ": " + msic_last_error());
  msic_writer *w = nullptr;
  if (msic_writer_new_file(ctx.get(), out.c_str(), &info, settings, &w) != MSIC_OK)
    die(out + ": " + msic_last_error());
  std::unique_ptr<msic_writer, void (*)(msic_writer *)> hold_w(w, msic_writer_destroy);
  std::string error;
  if (!input->add_boxes(w, a.strip, &error)) die(out + ": " + error);

  // Stream the input a tile row at a time: memory stays bounded.
  const size_t stride = size_t(info.width) * info.bands * (info.bit_depth / 8);
  std::vector<uint8_t> rows;
  const uint32_t tile_size = msic_writer_tile_size(w);
  for (uint32_t y = 0; y < info.height; y += tile_size) {
    const uint32_t n = std::min(tile_size, info.height - y);
    rows.resize(stride * n);
    if (!input->read_rows(n, rows.data(), stride, &error)) die(in + ": " + error);
    if (msic_writer_write_rows(w, rows.data(), stride, n) != MSIC_OK) die(out + ": " + msic_last_error());
  }
  if (msic_writer_finish(w) != MSIC_OK) die(out + ": " + msic_last_error());
  return 0;
}

// Rows of a window of the file, for a writer to pull: the tile row under
// the rows asked for is decoded once (its tiles in parallel) and kept.
struct TileRowSource final : msic_cli::DecodedRows {
  msic_reader *reader;
  uint32_t x, y, w, h;
  uint32_t pixel_bytes;  // bands x bytes per sample
  uint32_t tile_size;
  uint32_t band_y0 = 0, band_y1 = 0;  // image rows held in `band`
  std::unique_ptr<uint8_t[]> band;  // not zeroed: only what decodes is touched
  size_t band_capacity = 0;
  std::string error;  // msic's message, if a decode failed
  bool recover = false;
  uint64_t tiles_lost = 0;  // recover: tiles left black

  TileRowSource(msic_reader *r, const msic_file_info &fi, uint32_t x_, uint32_t y_, uint32_t w_, uint32_t h_)
      : reader(r), x(x_), y(y_), w(w_), h(h_), pixel_bytes(fi.image.bands * (fi.image.bit_depth / 8)),
        tile_size(fi.tile_size) {}

  // The band again, one tile at a time, black where a tile fails.
  bool decode_band_tile_by_tile() {
    const size_t row = size_t(w) * pixel_bytes;
    std::fill(band.get(), band.get() + row * (band_y1 - band_y0), uint8_t(0));
    std::vector<uint8_t> tile(size_t(tile_size) * tile_size * pixel_bytes);
    const uint32_t ty = band_y0 / tile_size;
    for (uint32_t tx = x / tile_size; tx * tile_size < x + w; ++tx) {
      const msic_status status = msic_reader_decode_tile(reader, tx, ty, tile.data(), size_t(tile_size) * pixel_bytes);
      // Only damage loses a tile; a limit, a missing model or memory stops.
      if (status != MSIC_OK && status != MSIC_ERR_FORMAT && status != MSIC_ERR_CHECKSUM) return false;
      if (status != MSIC_OK) {
        fprintf(stderr, "msic: tile (%u, %u) lost: %s\n", tx, ty, msic_last_error());
        ++tiles_lost;
        continue;
      }
      const uint32_t x0 = std::max(x, tx * tile_size), x1 = std::min(x + w, (tx + 1) * tile_size);
      for (uint32_t iy = band_y0; iy < band_y1; ++iy)
        memcpy(band.get() + (iy - band_y0) * row + size_t(x0 - x) * pixel_bytes,
               tile.data() + (size_t(iy - ty * tile_size) * tile_size + (x0 - tx * tile_size)) * pixel_bytes,
               size_t(x1 - x0) * pixel_bytes);
    }
    return true;
  }

  // Decodes the tile row under image row iy into `band`.
  bool load_band(uint32_t iy) {
    const size_t row = size_t(w) * pixel_bytes;
    const uint32_t t0 = iy / tile_size * tile_size;
    band_y0 = std::max(y, t0);
    band_y1 = std::min(y + h, t0 + tile_size);
    const size_t bytes = row * (band_y1 - band_y0);
    if (bytes > band_capacity) {
      band.reset(new (std::nothrow) uint8_t[bytes]);
      band_capacity = band ? bytes : 0;
      if (!band) {
        band_y0 = band_y1 = 0;
        error = "not enough memory for a tile row of " + std::to_string(w) + " pixels (use --region)";
        return false;
      }
    }
    if (msic_reader_decode_region(reader, x, band_y0, w, band_y1 - band_y0, band.get(), row) != MSIC_OK &&
        !(recover && decode_band_tile_by_tile())) {
      band_y0 = band_y1 = 0;
      error = msic_last_error();
      return false;
    }
    return true;
  }

  bool read(uint32_t oy, uint32_t rows, uint8_t *dst, size_t stride, std::string *why) override {
    const size_t row = size_t(w) * pixel_bytes;
    for (uint32_t i = 0; i < rows; ++i) {
      const uint32_t iy = y + oy + i;
      if ((iy < band_y0 || iy >= band_y1) && !load_band(iy)) return *why = error, false;
      memcpy(dst + i * stride, band.get() + (iy - band_y0) * row, row);
    }
    return true;
  }

  uint32_t rows_per_read() const override { return tile_size; }
};

// What the built-in writers keep of the file's boxes, read as libvips's
// mapping reads them (plugin-vips/vips_metadata.c).
msic_cli::OutputMetadata output_metadata(msic_reader *r, const std::string &in) {
  msic_cli::OutputMetadata meta;
  // The last box of a type wins, as in libvips's mapping.
  const size_t boxes = msic_reader_box_count(r);
  for (size_t i = 0; i < boxes; ++i) {
    char type[4];
    uint64_t size = 0;
    if (msic_reader_get_box_header(r, i, type, &size) != MSIC_OK) die(in + ": " + msic_last_error());
    const std::string t(type, 4);
    if (t != MSIC_BOX_ICC && t != MSIC_BOX_XMP && t != MSIC_BOX_EXIF && t != MSIC_BOX_RESOLUTION) continue;
    msic_box box;
    if (msic_reader_get_box(r, i, &box) != MSIC_OK) die(in + ": " + msic_last_error());
    const std::string bytes(reinterpret_cast<const char *>(box.data), box.size);
    if (t == MSIC_BOX_ICC) meta.icc = bytes;
    if (t == MSIC_BOX_XMP) meta.xmp = bytes;
    if (t == MSIC_BOX_EXIF) meta.has_exif = true;
    if (t == MSIC_BOX_RESOLUTION) {
      double v[2];
      if (msic_box_get_f64(&box, v, 2) == MSIC_OK && std::isfinite(v[0]) && std::isfinite(v[1]) && v[0] > 0 &&
          v[1] > 0)
        meta.xres = v[0], meta.yres = v[1];
      else
        fprintf(stderr, "msic: %s: ignoring malformed resolution box\n", in.c_str());
    }
  }
  return meta;
}

int cmd_decode(const Args &a) {
  if (a.help) return fputs(kDecodeHelp, stdout), 0;
  if (a.positional.size() != 2) die(std::string("decode needs IN and OUT\n") + kDecodeHelp, 2);
  const std::string &in = a.positional[0];
  const auto [out, save_options] = split_options(a.positional[1]);
  Context ctx = make_context(a);
  Reader r(ctx.get(), in);
  msic_file_info fi;
  msic_reader_get_info(r.r, &fi);
  unsigned x = 0, y = 0, w = fi.image.width, h = fi.image.height;
  if (!a.region.empty() && sscanf(a.region.c_str(), "%u,%u,%u,%u", &x, &y, &w, &h) != 4)
    die("--region needs X,Y,W,H", 2);
  if (w == 0 || h == 0 || x >= fi.image.width || y >= fi.image.height || w > fi.image.width - x ||
      h > fi.image.height - y || w > 10000000 || h > 10000000)
    die(in + ": the region lies outside the " + std::to_string(fi.image.width) + "x" +
        std::to_string(fi.image.height) + " image", 2);
  msic_image_info info = fi.image;
  info.width = w;
  info.height = h;
  // The output is pulled a tile row at a time, so memory stays at one tile
  // row whatever the image's size.
  TileRowSource source(r.r, fi, x, y, w, h);
  source.recover = a.recover;
  const std::string tmp = temp_beside(out);
  std::string error;
  bool ok;
  // Only the PNG writer keeps boxes (and libvips warns about them itself).
  const msic_cli::OutputMetadata meta =
      msic_cli::output_suffix_is(out, "png") ? output_metadata(r.r, in) : msic_cli::OutputMetadata{};
  if (!use_libvips_only() && save_options.empty() && msic_cli::png_takes(out, info, meta))
    ok = msic_cli::write_png(tmp, info, meta, source, &error);
  else if (!use_libvips_only() && save_options.empty() && msic_cli::pnm_takes(out, info))
    ok = msic_cli::write_pnm(tmp, info, source, &error);
  else
    ok = libvips(a).write(tmp + save_options, r.r, in.c_str(), info, source, &error);
  if (!ok) {
    unlink(tmp.c_str());
    die(source.error.empty() ? out + ": " + error : in + ": " + source.error);
  }
  if (rename(tmp.c_str(), out.c_str())) {
    unlink(tmp.c_str());
    die(out + ": " + strerror(errno));
  }
  if (source.tiles_lost) {
    fprintf(stderr, "msic: %s: %llu tile%s could not be recovered and %s black in %s\n", in.c_str(),
            (unsigned long long)source.tiles_lost, source.tiles_lost == 1 ? "" : "s",
            source.tiles_lost == 1 ? "is" : "are", out.c_str());
    return 3;
  }
  return 0;
}

std::string json_escape(const std::string &s) {
  std::string o;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') o += '\\', o += char(c);
    else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else o += char(c);
  }
  return o;
}

int cmd_info(const Args &a) {
  if (a.help) return fputs(kInfoHelp, stdout), 0;
  if (a.positional.size() != 1) die(std::string("info needs one file\n") + kInfoHelp, 2);
  // Info needs no model: open against the default context but decode nothing;
  // it says whether the file's model is here (found by its hash).
  Reader r(nullptr, a.positional[0]);
  msic_file_info fi;
  msic_reader_get_info(r.r, &fi);
  const bool model_found = msic_reader_check_model(r.r) == MSIC_OK;
  size_t nbox = msic_reader_box_count(r.r);
  const char *sample = fi.image.sample_format == MSIC_SAMPLE_FLOAT    ? "float"
                       : fi.image.sample_format == MSIC_SAMPLE_SIGNED ? "signed"
                                                                      : "unsigned";
  const char *coding = fi.coding == MSIC_CODING_LOSSLESS    ? "lossless"
                       : fi.coding == MSIC_CODING_MAX_ERROR ? "max-error"
                                                            : "learned";
  double bpp = 8.0 * double(fi.file_size) / (double(fi.image.width) * fi.image.height);
  if (a.json) {
    printf("{\"file\": \"%s\", \"format_version\": \"%u.%u\", \"width\": %u, \"height\": %u, "
           "\"bands\": %u, \"bit_depth\": %u, \"sample_format\": \"%s\", \"valid_bits\": %u, "
           "\"coding\": \"%s\", \"max_error\": %.17g, \"tile_size\": %u, \"tiles_across\": %u, "
           "\"tiles_down\": %u, \"quality\": %.4f, \"model_quality\": %.2f, \"model_hash\": \"%s\", "
           "\"model_found\": %s, \"file_size\": %llu, "
           "\"bits_per_pixel\": %.4f, \"levels\": [",
           json_escape(a.positional[0]).c_str(), fi.format_version >> 16, fi.format_version & 0xffff,
           fi.image.width, fi.image.height, fi.image.bands, fi.image.bit_depth, sample,
           fi.image.valid_bits ? fi.image.valid_bits : fi.image.bit_depth, coding, fi.max_error, fi.tile_size,
           fi.tiles_across, fi.tiles_down, fi.quality, fi.model_quality, fi.model_hash,
           model_found ? "true" : "false", (unsigned long long)fi.file_size, bpp);
    for (uint32_t l = 1; l <= fi.levels; ++l) {
      msic_level_info li;
      if (msic_reader_get_level(r.r, l, &li) != MSIC_OK) die(a.positional[0] + ": " + msic_last_error());
      printf("%s{\"scale\": %u, \"width\": %u, \"height\": %u, \"bytes\": %llu}", l > 1 ? ", " : "",
             1u << li.scale_log2, li.width, li.height, (unsigned long long)li.bytes);
    }
    printf("], \"boxes\": [");
    for (size_t i = 0; i < nbox; ++i) {
      char type[4];
      uint64_t size = 0;
      msic_reader_get_box_header(r.r, i, type, &size);
      printf("%s{\"type\": \"%s\", \"size\": %llu}", i ? ", " : "",
             json_escape(std::string(type, 4)).c_str(), (unsigned long long)size);
    }
    printf("]}\n");
    return 0;
  }
  printf("%s: MSIC %u.%u\n", a.positional[0].c_str(), fi.format_version >> 16, fi.format_version & 0xffff);
  printf("  size:      %u x %u, %u band%s, %u-bit %s", fi.image.width, fi.image.height, fi.image.bands,
         fi.image.bands == 1 ? "" : "s", fi.image.bit_depth, sample);
  if (fi.image.valid_bits && fi.image.valid_bits != fi.image.bit_depth) printf(" (%u valid bits)", fi.image.valid_bits);
  printf("\n  tiles:     %u x %u of %u px\n", fi.tiles_across, fi.tiles_down, fi.tile_size);
  for (uint32_t l = 1; l <= fi.levels; ++l) {
    msic_level_info li;
    if (msic_reader_get_level(r.r, l, &li) != MSIC_OK) die(a.positional[0] + ": " + msic_last_error());
    printf("  level %u:   1/%u, %u x %u, %llu bytes\n", l, 1u << li.scale_log2, li.width, li.height,
           (unsigned long long)li.bytes);
  }
  if (fi.coding == MSIC_CODING_LEARNED) printf("  quality:   %.6g (model quality %.2f)\n", fi.quality, fi.model_quality);
  else if (fi.coding == MSIC_CODING_LOSSLESS) printf("  coding:    lossless\n");
  else printf("  coding:    every sample within %g\n", fi.max_error);
  printf("  file:      %llu bytes, %.4f bits per pixel\n", (unsigned long long)fi.file_size, bpp);
  if (fi.coding == MSIC_CODING_LEARNED)
    printf("  model:     %s%s\n", fi.model_hash,
           model_found ? "" : " (not found here: load it with --model, or see MSIC_MODEL_PATH)");
  for (size_t i = 0; i < nbox; ++i) {
    char type[4];
    uint64_t size = 0;
    msic_reader_get_box_header(r.r, i, type, &size);
    printf("  box '%.4s': %llu bytes\n", type, (unsigned long long)size);
  }
  return 0;
}

int cmd_verify(const Args &a) {
  if (a.help) return fputs(kVerifyHelp, stdout), 0;
  if (a.positional.size() != 1) die(std::string("verify needs one file\n") + kVerifyHelp, 2);
  Context ctx = make_context(a);
  Reader r(ctx.get(), a.positional[0]);
  if (msic_reader_verify(r.r, nullptr, nullptr) != MSIC_OK) die(a.positional[0] + ": " + msic_last_error());
  msic_file_info fi;
  msic_reader_get_info(r.r, &fi);
  printf("%s: OK, %u tiles\n", a.positional[0].c_str(), fi.tiles_across * fi.tiles_down);
  return 0;
}


int run(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  std::string cmd = argv[1];
  Args a = parse(argc, argv, 2);
  a.command = cmd;
  a.argv0 = argv[0];
  if (cmd == "version" || cmd == "--version") {
    printf("msic %s, default model %s (%s)\n", msic_version_string(), msic_context_model_name(nullptr),
           msic_context_model_hash(nullptr));
    return 0;
  }
  try {
    if (cmd == "encode") return cmd_encode(a);
    if (cmd == "decode") return cmd_decode(a);
    if (cmd == "info") return cmd_info(a);
    if (cmd == "verify") return cmd_verify(a);
  } catch (const std::bad_alloc &) {
    die(std::string("not enough memory for this image") + (cmd == "decode" ? " (try --region)" : ""));
  }
  die("unknown command '" + cmd + "'\n" + kUsage, 2);
}

#ifdef __GLIBC__
// A tile's network allocates and frees planes of megabytes, and glibc by
// default hands each back to the kernel (munmap, heap trim): the next one
// faults its pages in again, 4 KiB at a time. For this short-lived process
// (a library must not set its host's malloc): keep freed memory in one heap
// for reuse, and ask the kernel to back its first 128 MiB with transparent
// huge pages (honoured in its "madvise" and "always" modes). Measured on a
// Kodak decode, 1 thread: page faults 10.5 K -> 0.3 K, CPU time 280-320 ->
// 145 ms; peak RSS 27-29 -> 33 MB (a 2.7 MP one-tile decode: 199 -> 220 MB).
void use_heap_for_planes() {
  // glibc before 2.35 refuses thresholds above 32 MiB; setting the others
  // alone would switch off its own dynamic threshold: leave it all as is.
  if (mallopt(M_MMAP_THRESHOLD, 256 << 20) != 1) return;
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 64 << 20);
#ifdef M_ARENA_MAX
  mallopt(M_ARENA_MAX, 1);  // every thread's planes in the heap below
#endif
  constexpr size_t kReserve = size_t(128) << 20, kHuge = size_t(2) << 20;
  if (void *p = malloc(kReserve)) {  // virtual only until touched
    const uintptr_t first = (uintptr_t(p) + kHuge - 1) & ~(kHuge - 1), end = (uintptr_t(p) + kReserve) & ~(kHuge - 1);
    madvise(reinterpret_cast<void *>(first), end - first, MADV_HUGEPAGE);  // a hint: failure changes nothing
    free(p);
  }
}
#endif

}  // namespace

int main(int argc, char **argv) {
#ifdef __GLIBC__
  use_heap_for_planes();
#endif
  try {
    return run(argc, argv);
  } catch (const ExitStatus &e) {
    return e.code;
  }
}
