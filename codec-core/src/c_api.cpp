// The C API: a thin layer over the C++ core in api/. Every entry point runs
// its body through guarded(), the one place where exceptions become a status
// code and a thread-local message.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "api/context.h"
#include "api/encoder_settings.h"
#include "api/image_reader.h"
#include "api/image_writer.h"
#include "api/quality_scale.h"
#include "byte_order.h"
#include "container.h"
#include "errors.h"
#include "msic/msic.h"
#include "msic/version.h"
#include "sha256.h"

using msic::Error;

// The opaque C handles are the C++ objects themselves.
struct msic_context : msic::Context {
  using Context::Context;
};
struct msic_encoder_settings : msic::EncoderSettings {};
struct msic_writer : msic::ImageWriter {
  using ImageWriter::ImageWriter;
};
struct msic_reader {
  std::unique_ptr<msic::ImageReader> impl;
};

namespace {
thread_local std::string last_error;
thread_local msic_status last_status = MSIC_OK;

msic_status fail(msic_status s, const std::string &message) {
  last_error = message;
  last_status = s;
  return s;
}

template <class Body>
msic_status guarded(Body body) noexcept {
  try {
    body();
    return MSIC_OK;
  } catch (const Error &e) {
    return fail(e.status(), e.what());
  } catch (const std::bad_alloc &) {
    return fail(MSIC_ERR_NOMEM, "out of memory");
  } catch (const std::exception &e) {
    return fail(MSIC_ERR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(MSIC_ERR_INTERNAL, "internal error");
  }
}

template <class Pointer>
void need(Pointer p, const char *what) {
  if (!p) throw Error(MSIC_ERR_ARGUMENT, std::string(what) + " is NULL");
}

// A NULL context is the embedded model's.
msic::Context &resolve(const msic_context *ctx) {
  return ctx ? *const_cast<msic_context *>(ctx) : msic::Context::embedded();
}

msic_writer *new_writer(msic_context *ctx, const msic_image_info *info, const msic::EncoderSettings &settings,
                        msic::format::ContainerWriter::Sink sink, std::unique_ptr<msic::AtomicFile> file = nullptr) {
  need(info, "image info");
  return new msic_writer(resolve(ctx), *info, settings, std::move(sink), std::move(file));
}

msic::EncoderSettings settings_or_default(const msic_encoder_settings *s) {
  return s ? static_cast<const msic::EncoderSettings &>(*s) : msic::EncoderSettings{};
}
msic::EncoderSettings settings_from(const msic_encode_options *o) {
  return o ? msic::EncoderSettings::from_options(*o) : msic::EncoderSettings{};
}

msic_writer *file_writer(msic_context *ctx, const char *path, const msic_image_info *info,
                         const msic::EncoderSettings &settings) {
  need(path, "path");
  need(info, "image info");
  auto file = std::make_unique<msic::AtomicFile>(path);
  msic::AtomicFile *f = file.get();
  return new_writer(ctx, info, settings, [f](const void *d, size_t n) { return f->write(d, n); }, std::move(file));
}

msic_writer *stream_writer(msic_context *ctx, msic_write_fn write, void *user, const msic_image_info *info,
                           const msic::EncoderSettings &settings) {
  need(write, "write function");
  return new_writer(ctx, info, settings, [write, user](const void *d, size_t n) { return write(user, d, n) == 0; });
}

// Runs a writer call; a failure leaves the writer refusing further calls.
template <class Body>
msic_status guarded_write(msic_writer *w, Body body) {
  if (!w) return fail(MSIC_ERR_ARGUMENT, "writer is NULL");
  msic_status s = guarded([&] { body(*w); });
  if (s != MSIC_OK) w->mark_failed();
  return s;
}

msic_status encode_image(msic_context *ctx, const msic_image_info *info, const uint8_t *pixels, size_t stride,
                         const msic::EncoderSettings &settings, const msic_box *boxes, size_t box_count,
                         uint8_t **out, size_t *out_size) {
  return guarded([&] {
    need(out, "out");
    need(out_size, "out_size");
    *out = nullptr;
    *out_size = 0;
    if (box_count) need(boxes, "boxes");
    std::vector<uint8_t> bytes;
    std::unique_ptr<msic_writer> w(new_writer(ctx, info, settings, [&bytes](const void *d, size_t n) {
      bytes.insert(bytes.end(), static_cast<const uint8_t *>(d), static_cast<const uint8_t *>(d) + n);
      return true;
    }));
    for (size_t i = 0; i < box_count; ++i) w->add_box(boxes[i].type, boxes[i].data, boxes[i].size);
    w->write_rows(pixels, stride, info->height);
    w->finish();
    *out = static_cast<uint8_t *>(malloc(bytes.size()));
    if (!*out) throw std::bad_alloc();
    memcpy(*out, bytes.data(), bytes.size());
    *out_size = bytes.size();
  });
}

template <class Open>
msic_status new_reader(msic_reader **reader, Open open) {
  return guarded([&] {
    need(reader, "reader");
    *reader = nullptr;
    auto r = std::make_unique<msic_reader>();
    r->impl = open();
    *reader = r.release();
  });
}

// The shorthands: the object, or NULL with the status kept for msic_last_status().
template <class T, class New>
T *or_null(New make) {
  T *object = nullptr;
  return make(&object) == MSIC_OK ? object : nullptr;
}
}  // namespace

extern "C" {

// ------------------------------------------------------------- library

uint32_t msic_version(void) { return MSIC_VERSION; }
const char *msic_version_string(void) { return MSIC_VERSION_STRING; }
const char *msic_last_error(void) { return last_error.c_str(); }
msic_status msic_last_status(void) { return last_status; }

const char *msic_status_name(msic_status s) {
  switch (s) {
    case MSIC_OK: return "ok";
    case MSIC_ERR_ARGUMENT: return "invalid argument";
    case MSIC_ERR_IO: return "input/output error";
    case MSIC_ERR_FORMAT: return "not a valid MSIC file";
    case MSIC_ERR_VERSION: return "unsupported MSIC version";
    case MSIC_ERR_CHECKSUM: return "checksum mismatch";
    case MSIC_ERR_MODEL: return "model error";
    case MSIC_ERR_LIMIT: return "beyond a limit";
    case MSIC_ERR_UNSUPPORTED: return "unsupported image";
    case MSIC_ERR_CANCELLED: return "cancelled";
    case MSIC_ERR_NOMEM: return "out of memory";
    case MSIC_ERR_INTERNAL: return "internal error";
    case MSIC_STATUS_FORCE_INT_: break;
  }
  return "unknown status";
}

void msic_free(void *p) { free(p); }

int msic_identify(const void *head, size_t size) {
  return head && size >= 8 && memcmp(head, msic::format::kMagic, 8) == 0;
}

// ------------------------------------------------------------- context

msic_status msic_context_new(const char *model_path, msic_context **ctx) {
  return guarded([&] {
    need(ctx, "ctx");
    *ctx = nullptr;
    *ctx = new msic_context(model_path ? msic::ModelFile::load(model_path) : msic::Context::embedded_model());
  });
}

msic_context *msic_context_create(const char *model_path) {
  return or_null<msic_context>([&](msic_context **c) { return msic_context_new(model_path, c); });
}

void msic_context_destroy(msic_context *ctx) { delete ctx; }

void msic_context_set_threads(msic_context *ctx, int threads) {
  guarded([&] { resolve(ctx).set_threads(threads); });
}

msic_status msic_context_set_recover(msic_context *ctx, int recover) {
  return guarded([&] { resolve(ctx).set_recover(recover != 0); });
}

msic_status msic_context_set_memory_limit(msic_context *ctx, uint64_t bytes) {
  return guarded([&] { resolve(ctx).set_memory_limit(bytes); });
}

const char *msic_context_model_hash(const msic_context *ctx) {
  const char *hash = nullptr;
  guarded([&] { hash = resolve(ctx).hash_hex().c_str(); });
  return hash;
}

const char *msic_context_model_name(const msic_context *ctx) {
  const char *name = nullptr;
  guarded([&] { name = resolve(ctx).model().config.name.c_str(); });
  return name;
}

msic_status msic_context_get_model_info(const msic_context *ctx, msic_model_info *info) {
  return guarded([&] {
    need(info, "info");
    const msic::Context &c = resolve(ctx);
    const msic::ModelConfig &cfg = c.model().config;
    memset(info, 0, sizeof *info);
    info->name = cfg.name.c_str();
    info->hash = c.hash_hex().c_str();
    for (const auto &[name, t] : c.model().tensors)
      if (t.type == msic::NamedTensor::Type::F32) info->parameters += uint64_t(t.numel());
    info->transform_macs_per_pixel = cfg.transform_macs_per_pixel();
    info->entropy_macs_per_pixel = cfg.context_macs_per_pixel();
    info->decoder_macs_per_pixel = cfg.transform_macs_per_pixel() + cfg.context_macs_per_pixel() +
                                   cfg.lrp_macs_per_pixel() + cfg.postfilter_macs_per_pixel();
  });
}

// ------------------------------------------------------------- encoder settings

msic_status msic_encoder_settings_new(msic_encoder_settings **settings) {
  return guarded([&] {
    need(settings, "settings");
    *settings = new msic_encoder_settings();
  });
}

void msic_encoder_settings_destroy(msic_encoder_settings *settings) { delete settings; }

msic_status msic_encoder_settings_set(msic_encoder_settings *settings, msic_encoder_option option, double value) {
  return guarded([&] {
    need(settings, "settings");
    settings->set(option, value);
  });
}

msic_status msic_encoder_settings_get(const msic_encoder_settings *settings, msic_encoder_option option,
                                      double *value) {
  return guarded([&] {
    need(settings, "settings");
    need(value, "value");
    *value = settings->get(option);
  });
}

msic_status msic_encoder_settings_set_progress(msic_encoder_settings *settings, msic_progress_fn progress,
                                               void *user) {
  return guarded([&] {
    need(settings, "settings");
    settings->progress = progress;
    settings->progress_user = user;
  });
}

void msic_encode_options_init(msic_encode_options *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->quality = float(MSIC_QUALITY_DEFAULT);
  o->tile_size = MSIC_TILE_SIZE_AUTO;
}

// ------------------------------------------------------------- writing

msic_status msic_writer_new_file(msic_context *ctx, const char *path, const msic_image_info *info,
                                 const msic_encoder_settings *settings, msic_writer **writer) {
  return guarded([&] {
    need(writer, "writer");
    *writer = nullptr;
    *writer = file_writer(ctx, path, info, settings_or_default(settings));
  });
}

msic_status msic_writer_new_stream(msic_context *ctx, msic_write_fn write, void *user, const msic_image_info *info,
                                   const msic_encoder_settings *settings, msic_writer **writer) {
  return guarded([&] {
    need(writer, "writer");
    *writer = nullptr;
    *writer = stream_writer(ctx, write, user, info, settings_or_default(settings));
  });
}

msic_writer *msic_writer_create_file(msic_context *ctx, const char *path, const msic_image_info *info,
                                     const msic_encode_options *opts) {
  msic_writer *w = nullptr;
  guarded([&] { w = file_writer(ctx, path, info, settings_from(opts)); });
  return w;
}

msic_writer *msic_writer_create_stream(msic_context *ctx, msic_write_fn write, void *user,
                                       const msic_image_info *info, const msic_encode_options *opts) {
  msic_writer *w = nullptr;
  guarded([&] { w = stream_writer(ctx, write, user, info, settings_from(opts)); });
  return w;
}

msic_status msic_writer_add_box(msic_writer *w, const char type[4], const void *data, size_t size) {
  return guarded_write(w, [&](msic::ImageWriter &iw) {
    need(type, "type");
    if (size) need(data, "data");
    iw.add_box(type, data, size);
  });
}

msic_status msic_writer_add_f64_box(msic_writer *w, const char type[4], const double *values, size_t count) {
  return guarded_write(w, [&](msic::ImageWriter &iw) {
    need(type, "type");
    if (count) need(values, "values");
    iw.add_f64_box(type, values, count);
  });
}

msic_status msic_writer_write_rows(msic_writer *w, const uint8_t *pixels, size_t stride, uint32_t rows) {
  return guarded_write(w, [&](msic::ImageWriter &iw) { iw.write_rows(pixels, stride, rows); });
}

uint32_t msic_writer_tile_size(const msic_writer *w) { return w ? w->tile_size() : 0; }

msic_status msic_writer_finish(msic_writer *w) {
  return guarded_write(w, [&](msic::ImageWriter &iw) { iw.finish(); });
}

void msic_writer_destroy(msic_writer *w) { delete w; }

msic_status msic_encode_image(msic_context *ctx, const msic_image_info *info, const uint8_t *pixels, size_t stride,
                              const msic_encoder_settings *settings, const msic_box *boxes, size_t box_count,
                              uint8_t **out, size_t *out_size) {
  return encode_image(ctx, info, pixels, stride, settings_or_default(settings), boxes, box_count, out, out_size);
}

msic_status msic_encode_to_memory(msic_context *ctx, const msic_image_info *info, const uint8_t *pixels,
                                  size_t stride, const msic_encode_options *opts, const msic_box *boxes,
                                  size_t box_count, uint8_t **out, size_t *out_size) {
  msic::EncoderSettings settings;
  msic_status s = guarded([&] { settings = settings_from(opts); });
  return s != MSIC_OK ? s : encode_image(ctx, info, pixels, stride, settings, boxes, box_count, out, out_size);
}

// ------------------------------------------------------------- reading

msic_status msic_reader_new_file(msic_context *ctx, const char *path, msic_reader **reader) {
  return new_reader(reader, [&] {
    need(path, "path");
    return msic::ImageReader::open_file(resolve(ctx), path);
  });
}

msic_status msic_reader_new_memory(msic_context *ctx, const void *data, size_t size, msic_reader **reader) {
  return new_reader(reader, [&] { return msic::ImageReader::open_memory(resolve(ctx), data, size); });
}

msic_status msic_reader_new_callbacks(msic_context *ctx, msic_read_fn read, uint64_t file_size, void *user,
                                      msic_reader **reader) {
  return new_reader(reader, [&] { return msic::ImageReader::open_callbacks(resolve(ctx), read, file_size, user); });
}

msic_reader *msic_reader_open_file(msic_context *ctx, const char *path) {
  return or_null<msic_reader>([&](msic_reader **r) { return msic_reader_new_file(ctx, path, r); });
}

msic_reader *msic_reader_open_memory(msic_context *ctx, const void *data, size_t size) {
  return or_null<msic_reader>([&](msic_reader **r) { return msic_reader_new_memory(ctx, data, size, r); });
}

msic_reader *msic_reader_open_callbacks(msic_context *ctx, msic_read_fn read, uint64_t file_size, void *user) {
  return or_null<msic_reader>(
      [&](msic_reader **r) { return msic_reader_new_callbacks(ctx, read, file_size, user, r); });
}

void msic_reader_close(msic_reader *r) { delete r; }

msic_status msic_reader_get_info(const msic_reader *r, msic_file_info *info) {
  return guarded([&] {
    need(r, "reader");
    need(info, "info");
    const msic::format::Header &h = r->impl->header();
    memset(info, 0, sizeof *info);
    info->image.width = h.width;
    info->image.height = h.height;
    info->image.bands = h.bands;
    info->image.bit_depth = h.bit_depth;
    info->image.sample_format = h.sample_format;
    info->image.valid_bits = h.valid_bits;
    info->tile_size = h.tile_size;
    info->tiles_across = h.tiles_across();
    info->tiles_down = h.tiles_down();
    // The header holds the model's quality in hundredths; the quality maps
    // back from it to within about 0.02 of the one asked for, and asking
    // for it again (this float, or it to 4 decimals) records the same
    // model quality.
    info->model_quality = h.quality_centi / 100.0;
    info->quality = float(msic::user_quality(info->model_quality));
    info->format_version = uint32_t(h.version_major) << 16 | h.version_minor;
    std::string hex = msic::to_hex(h.model_hash.data(), 32);
    memcpy(info->model_hash, hex.c_str(), 65);
    info->file_size = r->impl->file_size();
    info->tiles_missing = r->impl->container().tiles_missing();
    info->levels = uint32_t(r->impl->container().level_count() - 1);
    if (h.tile_codec == msic::format::kTileCodecPredictive) {
      info->coding = h.max_error > 0 ? MSIC_CODING_MAX_ERROR : MSIC_CODING_LOSSLESS;
      info->max_error = h.max_error;
    }
  });
}

size_t msic_reader_box_count(const msic_reader *r) { return r ? r->impl->container().box_count() : 0; }

msic_status msic_reader_get_box(const msic_reader *r, size_t i, msic_box *box) {
  return guarded([&] {
    need(r, "reader");
    need(box, "box");
    const msic::format::ContainerReader &c = r->impl->container();
    if (i >= c.box_count()) throw Error(MSIC_ERR_ARGUMENT, "box index out of range");
    const std::vector<uint8_t> &data = c.box_data(i);  // read on first use
    memcpy(box->type, c.box_type(i).data(), 4);
    box->data = data.data();
    box->size = data.size();
  });
}

msic_status msic_reader_get_box_header(const msic_reader *r, size_t i, char type[4], uint64_t *size) {
  return guarded([&] {
    need(r, "reader");
    need(type, "type");
    need(size, "size");
    const msic::format::ContainerReader &c = r->impl->container();
    if (i >= c.box_count()) throw Error(MSIC_ERR_ARGUMENT, "box index out of range");
    memcpy(type, c.box_type(i).data(), 4);
    *size = c.box_size(i);
  });
}

msic_status msic_reader_find_box(const msic_reader *r, const char type[4], msic_box *box) {
  if (!r || !type || !box) return fail(MSIC_ERR_ARGUMENT, "NULL argument");
  const msic::format::ContainerReader &c = r->impl->container();
  for (size_t i = 0; i < c.box_count(); ++i)
    if (memcmp(c.box_type(i).data(), type, 4) == 0) return msic_reader_get_box(r, i, box);
  return MSIC_ERR_ARGUMENT;  // absent: no message, as documented
}

msic_status msic_box_get_f64(const msic_box *box, double *values, size_t count) {
  return guarded([&] {
    need(box, "box");
    if (count) need(values, "values");
    if (box->size != count * 8 || (count && !box->data))
      throw Error(MSIC_ERR_FORMAT, "box '" + std::string(box->type, 4) + "' holds " + std::to_string(box->size) +
                                       " bytes, not " + std::to_string(count) + " float64 values");
    for (size_t i = 0; i < count; ++i) values[i] = msic::format::load_f64le(box->data + 8 * i);
  });
}

msic_status msic_reader_decode_tile(msic_reader *r, uint32_t tx, uint32_t ty, uint8_t *out, size_t stride) {
  return guarded([&] {
    need(r, "reader");
    need(out, "out");
    r->impl->decode_tile(0, tx, ty, out, stride);
  });
}

msic_status msic_reader_decode_tiles(msic_reader *r, size_t count, const uint32_t *tx, const uint32_t *ty,
                                     uint8_t *const *out, size_t stride, int threads) {
  return guarded([&] {
    need(r, "reader");
    r->impl->decode_tiles(0, count, tx, ty, out, stride, threads);
  });
}

msic_status msic_reader_decode_level_tiles(msic_reader *r, uint32_t level, size_t count, const uint32_t *tx,
                                           const uint32_t *ty, uint8_t *const *out, size_t stride, int threads) {
  return guarded([&] {
    need(r, "reader");
    r->impl->decode_tiles(level, count, tx, ty, out, stride, threads);
  });
}

msic_status msic_reader_decode_region(msic_reader *r, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
                                      uint8_t *out, size_t stride) {
  return guarded([&] {
    need(r, "reader");
    need(out, "out");
    r->impl->decode_region(0, x, y, w, h, out, stride);
  });
}

msic_status msic_reader_decode_level_region(msic_reader *r, uint32_t level, uint32_t x, uint32_t y, uint32_t w,
                                            uint32_t h, uint8_t *out, size_t stride) {
  return guarded([&] {
    need(r, "reader");
    need(out, "out");
    r->impl->decode_region(level, x, y, w, h, out, stride);
  });
}

msic_status msic_reader_get_level(const msic_reader *r, uint32_t level, msic_level_info *info) {
  return guarded([&] {
    need(r, "reader");
    need(info, "info");
    const msic::format::ContainerReader &c = r->impl->container();
    if (level >= c.level_count())
      throw Error(MSIC_ERR_ARGUMENT, "level " + std::to_string(level) + ": the file has " +
                                         std::to_string(c.level_count() - 1) + " reduced levels");
    const msic::format::Level shape = c.level(level);
    memset(info, 0, sizeof *info);
    info->scale_log2 = shape.scale_log2;
    info->width = shape.width;
    info->height = shape.height;
    info->tiles_across = shape.tiles_across();
    info->tiles_down = shape.tiles_down();
    info->bytes = c.level_bytes(level);
  });
}

msic_status msic_reader_check_model(msic_reader *r) {
  return guarded([&] {
    need(r, "reader");
    r->impl->check_model();
  });
}

msic_status msic_reader_verify(msic_reader *r, msic_progress_fn progress, void *user) {
  return guarded([&] {
    need(r, "reader");
    r->impl->verify(progress, user);
  });
}

uint64_t msic_reader_tiles_decoded(const msic_reader *r) { return r ? r->impl->tiles_decoded() : 0; }

uint64_t msic_reader_level_tiles_decoded(const msic_reader *r, uint32_t level) {
  return r ? r->impl->tiles_decoded(level) : 0;
}

}  // extern "C"
