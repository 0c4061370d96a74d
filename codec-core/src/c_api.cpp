// The C API: contexts (a model and a thread count), readers and writers.
// Every entry point catches exceptions and turns them into a status code
// and a thread-local message.
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <string>
#include <thread>

#include "container.h"
#include "entropy/context_model.h"
#include "errors.h"
#include "model_file.h"
#include "msic/msic.h"
#include "parallel.h"
#include "sha256.h"
#include "tile_codec.h"
#include "version.h"

extern "C" const uint8_t msic_default_model_data[];
extern "C" const uint8_t msic_default_model_end[];

using msic::Error;
using msic::format::ContainerReader;
using msic::format::ContainerWriter;

namespace {
thread_local std::string last_error;
thread_local msic_status last_status = MSIC_OK;

msic_status fail(msic_status s, const std::string &message) {
  last_error = message;
  last_status = s;
  return s;
}

// Runs body; maps exceptions to status + message.
template <class Body>
msic_status guarded(Body body) {
  try {
    body();
    return MSIC_OK;
  } catch (const Error &e) {
    return fail(e.status(), e.what());
  } catch (const std::bad_alloc &) {
    return fail(MSIC_ERR_NOMEM, "out of memory");
  } catch (const std::exception &e) {
    return fail(MSIC_ERR_INTERNAL, std::string("internal error: ") + e.what());
  }
}

int default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n ? int(n) : 1;
}
}  // namespace

namespace {
// LibTorch lives in libmsic-codec, beside this library, loaded on the first
// encode or decode: programs that only load the plugins (every vips and GDAL
// command) never pay its start-up time and memory.
std::unique_ptr<msic::TileCodec> load_tile_codec(const msic::ModelFile &model) {
  static std::once_flag once;
  static msic::TileCodecFactory factory = nullptr;
  static std::string error;
  std::call_once(once, [] {
    std::string dir;
    Dl_info self;
    if (dladdr(reinterpret_cast<void *>(&msic_version_string), &self) && self.dli_fname) {
      std::string path = self.dli_fname;
      size_t slash = path.rfind('/');
      if (slash != std::string::npos) dir = path.substr(0, slash + 1);
    }
    std::string backend = dir + MSIC_BACKEND_FILE;
    void *handle = dlopen(backend.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      error = dlerror();
      return;
    }
    // Tiles run in parallel on our threads; OpenBLAS threads inside each
    // convolution would only oversubscribe the cores. The call, not the
    // environment: setenv here could race with getenv in the host's other
    // threads, and OpenBLAS may have started already (GDAL links it through
    // armadillo). dlsym on the handle searches the backend's dependencies.
    using SetThreads = void (*)(int);
    if (auto set = reinterpret_cast<SetThreads>(dlsym(handle, "openblas_set_num_threads"));
        set && !getenv("OPENBLAS_NUM_THREADS"))
      set(1);
    factory = reinterpret_cast<msic::TileCodecFactory>(dlsym(handle, MSIC_TILE_CODEC_FACTORY));
    if (!factory) error = backend + " does not export " MSIC_TILE_CODEC_FACTORY;
  });
  if (!factory) throw Error(MSIC_ERR_INTERNAL, "cannot load the MSIC codec (" + error + ")");
  char message[1024] = "";
  msic::TileCodec *codec = factory(&model, message, sizeof message);
  if (!codec) throw Error(MSIC_ERR_MODEL, std::string("the model does not load: ") + message);
  return std::unique_ptr<msic::TileCodec>(codec);
}
}  // namespace

struct msic_context {
  msic::ModelFile model;
  std::string hash_hex;
  int threads = 0;
  int effective_threads() const { return threads > 0 ? threads : default_threads(); }

  const msic::TileCodec &codec() {
    std::call_once(codec_once, [this] { codec_ = load_tile_codec(model); });  // retried if it threw
    return *codec_;
  }

 private:
  std::once_flag codec_once;
  std::unique_ptr<msic::TileCodec> codec_;
};

namespace {
msic_context *make_context(msic::ModelFile model) {
  msic::entropy::ContextModel check(model);  // tables and context nets, without LibTorch
  auto ctx = std::make_unique<msic_context>();
  ctx->hash_hex = msic::to_hex(model.hash.data(), 32);
  ctx->model = std::move(model);
  return ctx.release();
}

msic_context *resolve(msic_context *ctx) {
  if (ctx) return ctx;
  static std::once_flag once;
  static msic_context *fallback = nullptr;
  static std::string error;
  std::call_once(once, [] {
    try {
      fallback = make_context(msic::ModelFile::parse(
          msic_default_model_data, size_t(msic_default_model_end - msic_default_model_data)));
    } catch (const std::exception &e) {
      error = e.what();
    }
  });
  if (!fallback) throw Error(MSIC_ERR_MODEL, "the embedded model does not load: " + error);
  return fallback;
}

void check_options(const msic_encode_options &o) {
  if (!(o.quality >= 0.0f && o.quality <= 100.0f))
    throw Error(MSIC_ERR_ARGUMENT, "quality must be a number in [0, 100]");
  if (o.tile_size < 64 || o.tile_size > 4096 || o.tile_size % 16)
    throw Error(MSIC_ERR_ARGUMENT, "tile size must be a multiple of 16 in [64, 4096]");
  if (o.threads < 0) throw Error(MSIC_ERR_ARGUMENT, "threads must be >= 0");
}
}  // namespace

extern "C" {

const char *msic_version_string(void) { return MSIC_VERSION_STRING; }
const char *msic_last_error(void) { return last_error.c_str(); }

const char *msic_status_name(msic_status s) {
  switch (s) {
    case MSIC_OK: return "ok";
    case MSIC_ERR_ARGUMENT: return "invalid argument";
    case MSIC_ERR_IO: return "input/output error";
    case MSIC_ERR_FORMAT: return "not a valid MSIC file";
    case MSIC_ERR_VERSION: return "unsupported MSIC version";
    case MSIC_ERR_CHECKSUM: return "checksum mismatch";
    case MSIC_ERR_MODEL: return "model error";
    case MSIC_ERR_LIMIT: return "image too large";
    case MSIC_ERR_UNSUPPORTED: return "unsupported image";
    case MSIC_ERR_CANCELLED: return "cancelled";
    case MSIC_ERR_NOMEM: return "out of memory";
    case MSIC_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

msic_context *msic_context_create(const char *model_path) {
  msic_context *ctx = nullptr;
  guarded([&] {
    ctx = model_path ? make_context(msic::ModelFile::load(model_path))
                     : make_context(msic::ModelFile::parse(
                           msic_default_model_data,
                           size_t(msic_default_model_end - msic_default_model_data)));
  });
  return ctx;
}

void msic_context_destroy(msic_context *ctx) { delete ctx; }

void msic_context_set_threads(msic_context *ctx, int threads) {
  try {
    resolve(ctx)->threads = threads < 0 ? 0 : threads;
  } catch (const Error &e) {
    fail(e.status(), e.what());
  }
}

const char *msic_context_model_hash(const msic_context *ctx) {
  try {
    return resolve(const_cast<msic_context *>(ctx))->hash_hex.c_str();
  } catch (const Error &e) {
    fail(e.status(), e.what());
    return nullptr;
  }
}

const char *msic_context_model_name(const msic_context *ctx) {
  try {
    return resolve(const_cast<msic_context *>(ctx))->model.config.name.c_str();
  } catch (const Error &e) {
    fail(e.status(), e.what());
    return nullptr;
  }
}

msic_status msic_context_get_model_info(const msic_context *c, msic_model_info *info) {
  return guarded([&] {
    if (!info) throw Error(MSIC_ERR_ARGUMENT, "info is NULL");
    const msic_context *ctx = resolve(const_cast<msic_context *>(c));
    const msic::ModelConfig &cfg = ctx->model.config;
    memset(info, 0, sizeof *info);
    info->name = cfg.name.c_str();
    info->hash = ctx->hash_hex.c_str();
    for (const auto &[name, t] : ctx->model.tensors)
      if (t.type == msic::NamedTensor::Type::F32) info->parameters += uint64_t(t.numel());
    info->transform_macs_per_pixel = cfg.transform_macs_per_pixel();
    info->entropy_macs_per_pixel = cfg.context_macs_per_pixel();
    info->decoder_macs_per_pixel = cfg.transform_macs_per_pixel() + cfg.context_macs_per_pixel() +
                                   cfg.lrp_macs_per_pixel() + cfg.postfilter_macs_per_pixel();
  });
}

void msic_encode_options_init(msic_encode_options *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->quality = 75.0f;
  o->tile_size = 512;
}

void msic_free(void *p) { free(p); }

int msic_identify(const void *head, size_t size) {
  return head && size >= 8 && memcmp(head, msic::format::kMagic, 8) == 0;
}

}  // extern "C"

// ------------------------------------------------------------------ writer

struct msic_writer {
  msic_context *ctx = nullptr;
  msic_encode_options opts{};
  msic::format::Header header;
  ContainerWriter::Sink sink;
  std::unique_ptr<ContainerWriter> out;  // made at the first row, when the boxes are final
  // File mode: temporary file renamed over `path` at finish.
  FILE *file = nullptr;
  std::string path, tmp_path;
  bool header_written = false, finished = false, failed = false;
  std::vector<uint8_t> band;  // one tile row of pixels
  uint32_t rows_in_band = 0, rows_done = 0, tile_row = 0;

  ~msic_writer() {
    if (file) fclose(file);
    if (!tmp_path.empty() && !finished) unlink(tmp_path.c_str());
  }
  int threads() const { return opts.threads > 0 ? opts.threads : ctx->effective_threads(); }

  void encode_band() {
    const uint32_t ts = header.tile_size, across = header.tiles_across();
    const uint32_t bands = header.bands;
    std::vector<std::vector<uint8_t>> payloads(across);
    msic::parallel_for(across, threads(), [&](size_t tx) {
      uint32_t x0 = uint32_t(tx) * ts;
      msic::TileImage t{band.data() + size_t(x0) * bands, size_t(header.width) * bands,
                        std::min(ts, header.width - x0), rows_in_band, bands};
      payloads[tx] = ctx->codec().encode(t, header.quality_centi);
    });
    for (uint32_t tx = 0; tx < across; ++tx)
      out->write_tile(uint64_t(tile_row) * across + tx, payloads[tx]);
    ++tile_row;
    rows_in_band = 0;
  }
};

namespace {
msic_writer *create_writer(msic_context *ctx, const msic_image_info *info,
                           const msic_encode_options *opts, ContainerWriter::Sink sink,
                           std::unique_ptr<msic_writer> w) {
  if (!info) throw Error(MSIC_ERR_ARGUMENT, "image info is NULL");
  w->ctx = resolve(ctx);
  if (opts) w->opts = *opts; else msic_encode_options_init(&w->opts);
  check_options(w->opts);
  msic::format::Header &h = w->header;
  h.width = info->width;
  h.height = info->height;
  h.bands = info->bands;
  h.bit_depth = info->bit_depth;
  h.tile_size = w->opts.tile_size;
  h.quality_centi = uint32_t(std::lround(double(w->opts.quality) * 100.0));
  h.model_hash = w->ctx->model.hash;
  msic::format::validate_header(h);
  w->sink = std::move(sink);
  return w.release();
}
}  // namespace

extern "C" {

msic_writer *msic_writer_create_file(msic_context *ctx, const char *path, const msic_image_info *info,
                                     const msic_encode_options *opts) {
  msic_writer *result = nullptr;
  guarded([&] {
    if (!path) throw Error(MSIC_ERR_ARGUMENT, "path is NULL");
    auto w = std::make_unique<msic_writer>();
    w->path = path;
    // A fresh name beside the target, created 0666 so the umask applies as
    // for any new file (mkstemp's 0600 would need a process-wide umask dance).
    int fd = -1;
    std::random_device random;
    for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
      char suffix[32];
      snprintf(suffix, sizeof suffix, ".tmp-%08x", unsigned(random()));
      w->tmp_path = w->path + suffix;
      fd = open(w->tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
      std::string reason = strerror(errno);
      w->tmp_path.clear();
      throw Error(MSIC_ERR_IO, "cannot create a file beside '" + w->path + "': " + reason);
    }
    w->file = fdopen(fd, "wb");
    if (!w->file) {
      close(fd);
      throw Error(MSIC_ERR_IO, "cannot open '" + w->tmp_path + "'");
    }
    FILE *f = w->file;
    result = create_writer(ctx, info, opts, [f](const void *d, size_t n) { return fwrite(d, 1, n, f) == n; },
                           std::move(w));
  });
  return result;
}

msic_writer *msic_writer_create_stream(msic_context *ctx, msic_write_fn write, void *user,
                                       const msic_image_info *info, const msic_encode_options *opts) {
  msic_writer *result = nullptr;
  guarded([&] {
    if (!write) throw Error(MSIC_ERR_ARGUMENT, "write function is NULL");
    result = create_writer(ctx, info, opts,
                           [write, user](const void *d, size_t n) { return write(user, d, n) == 0; },
                           std::make_unique<msic_writer>());
  });
  return result;
}

msic_status msic_writer_add_box(msic_writer *w, const char type[4], const void *data, size_t size) {
  return guarded([&] {
    if (!w || !type || (size && !data)) throw Error(MSIC_ERR_ARGUMENT, "NULL argument");
    if (w->header_written) throw Error(MSIC_ERR_ARGUMENT, "boxes must be added before the first row");
    if (size > msic::format::kMaxBoxBytes) throw Error(MSIC_ERR_LIMIT, "metadata box larger than 1 GiB");
    msic::format::Box b;
    memcpy(b.type.data(), type, 4);
    auto *p = static_cast<const uint8_t *>(data);
    b.data.assign(p, p + size);
    w->header.boxes.push_back(std::move(b));
  });
}

msic_status msic_writer_write_rows(msic_writer *w, const uint8_t *pixels, size_t stride, uint32_t rows) {
  if (!w) return fail(MSIC_ERR_ARGUMENT, "writer is NULL");
  if (w->failed) return fail(MSIC_ERR_ARGUMENT, "writer already failed");
  msic_status s = guarded([&] {
    if (!pixels && rows) throw Error(MSIC_ERR_ARGUMENT, "pixels is NULL");
    const msic::format::Header &h = w->header;
    size_t row_bytes = size_t(h.width) * h.bands;
    if (stride < row_bytes) throw Error(MSIC_ERR_ARGUMENT, "stride smaller than a row");
    if (rows > h.height - w->rows_done) throw Error(MSIC_ERR_ARGUMENT, "more rows than the image has");
    if (!w->header_written) {
      w->header_written = true;
      w->out = std::make_unique<ContainerWriter>(w->sink, h);
      w->out->write_header();
      w->band.resize(row_bytes * std::min(h.tile_size, h.height));
    }
    for (uint32_t r = 0; r < rows; ++r) {
      memcpy(w->band.data() + size_t(w->rows_in_band) * row_bytes, pixels + r * stride, row_bytes);
      ++w->rows_in_band;
      ++w->rows_done;
      if (w->rows_in_band == h.tile_size || w->rows_done == h.height) {
        w->encode_band();
        if (w->opts.progress &&
            w->opts.progress(w->opts.progress_user, double(w->rows_done) / h.height))
          throw Error(MSIC_ERR_CANCELLED, "cancelled");
      }
    }
  });
  if (s != MSIC_OK) w->failed = true;
  return s;
}

msic_status msic_writer_finish(msic_writer *w) {
  if (!w) return fail(MSIC_ERR_ARGUMENT, "writer is NULL");
  msic_status s = guarded([&] {
    if (w->failed) throw Error(MSIC_ERR_ARGUMENT, "writer already failed");
    if (w->finished) throw Error(MSIC_ERR_ARGUMENT, "writer already finished");
    if (w->rows_done != w->header.height)
      throw Error(MSIC_ERR_ARGUMENT, "only " + std::to_string(w->rows_done) + " of " +
                                         std::to_string(w->header.height) + " rows were written");
    w->out->finish();
    if (w->file) {
      bool ok = fflush(w->file) == 0 && fsync(fileno(w->file)) == 0;
      ok = fclose(w->file) == 0 && ok;
      w->file = nullptr;
      if (!ok) throw Error(MSIC_ERR_IO, "writing '" + w->tmp_path + "' failed: " + strerror(errno));
      if (rename(w->tmp_path.c_str(), w->path.c_str()) != 0)
        throw Error(MSIC_ERR_IO, "cannot rename to '" + w->path + "': " + strerror(errno));
    }
    w->finished = true;
  });
  if (s != MSIC_OK) w->failed = true;
  return s;
}

void msic_writer_destroy(msic_writer *w) { delete w; }

msic_status msic_encode_to_memory(msic_context *ctx, const msic_image_info *info, const uint8_t *pixels,
                                  size_t stride, const msic_encode_options *opts, const msic_box *boxes,
                                  size_t box_count, uint8_t **out, size_t *out_size) {
  if (!out || !out_size) return fail(MSIC_ERR_ARGUMENT, "output pointers are NULL");
  *out = nullptr;
  *out_size = 0;
  std::vector<uint8_t> bytes;
  auto sink = [](void *user, const void *d, size_t n) {
    auto *b = static_cast<std::vector<uint8_t> *>(user);
    b->insert(b->end(), static_cast<const uint8_t *>(d), static_cast<const uint8_t *>(d) + n);
    return 0;
  };
  std::unique_ptr<msic_writer, void (*)(msic_writer *)> w(
      msic_writer_create_stream(ctx, sink, &bytes, info, opts), msic_writer_destroy);
  if (!w) return last_status;
  for (size_t i = 0; i < box_count; ++i) {
    msic_status s = msic_writer_add_box(w.get(), boxes[i].type, boxes[i].data, boxes[i].size);
    if (s != MSIC_OK) return s;
  }
  msic_status s = msic_writer_write_rows(w.get(), pixels, stride, info->height);
  if (s == MSIC_OK) s = msic_writer_finish(w.get());
  if (s != MSIC_OK) return s;
  *out = static_cast<uint8_t *>(malloc(bytes.size()));
  if (!*out) return fail(MSIC_ERR_NOMEM, "out of memory");
  memcpy(*out, bytes.data(), bytes.size());
  *out_size = bytes.size();
  return MSIC_OK;
}

}  // extern "C"

// ------------------------------------------------------------------ reader

struct msic_reader {
  msic_context *ctx = nullptr;
  std::unique_ptr<ContainerReader> container;
  int fd = -1;  // file mode: pread is thread-safe by itself
  std::mutex io_mutex;  // callback mode: calls are serialised
  std::atomic<uint64_t> tiles_decoded{0};

  ~msic_reader() {
    if (fd >= 0) close(fd);
  }

  void check_model() const {
    if (container->header().model_hash != ctx->model.hash)
      throw Error(MSIC_ERR_MODEL,
                  "this file was coded with model " +
                      msic::to_hex(container->header().model_hash.data(), 32) +
                      ", but the loaded model is '" + ctx->model.config.name + "' (" + ctx->hash_hex +
                      "); load the model file with that hash");
  }

  std::vector<uint8_t> decode_tile(uint32_t tx, uint32_t ty, uint32_t &w, uint32_t &h) {
    const msic::format::Header &hd = container->header();
    if (tx >= hd.tiles_across() || ty >= hd.tiles_down())
      throw Error(MSIC_ERR_ARGUMENT, "tile (" + std::to_string(tx) + ", " + std::to_string(ty) +
                                         ") is outside the image");
    check_model();
    w = std::min(hd.tile_size, hd.width - tx * hd.tile_size);
    h = std::min(hd.tile_size, hd.height - ty * hd.tile_size);
    std::vector<uint8_t> payload = container->read_tile(uint64_t(ty) * hd.tiles_across() + tx);
    std::vector<uint8_t> pixels(size_t(w) * h * hd.bands);
    ctx->codec().decode(payload, w, h, hd.bands, hd.quality_centi, pixels.data(), size_t(w) * hd.bands);
    ++tiles_decoded;
    return pixels;
  }
};

namespace {
msic_reader *open_reader(msic_context *ctx, std::unique_ptr<msic_reader> r,
                         ContainerReader::ReadAt read_at, uint64_t size) {
  r->ctx = resolve(ctx);
  r->container = std::make_unique<ContainerReader>(std::move(read_at), size);
  return r.release();
}
}  // namespace

extern "C" {

msic_reader *msic_reader_open_file(msic_context *ctx, const char *path) {
  msic_reader *result = nullptr;
  guarded([&] {
    if (!path) throw Error(MSIC_ERR_ARGUMENT, "path is NULL");
    auto r = std::make_unique<msic_reader>();
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) throw Error(MSIC_ERR_IO, std::string("cannot open '") + path + "': " + strerror(errno));
    struct stat st;
    if (fstat(r->fd, &st) != 0 || !S_ISREG(st.st_mode))
      throw Error(MSIC_ERR_IO, std::string("'") + path + "' is not a regular file");
    int fd = r->fd;
    auto read_at = [fd](uint64_t off, void *buf, size_t n) -> size_t {
      size_t done = 0;
      while (done < n) {
        ssize_t got = pread(fd, static_cast<char *>(buf) + done, n - done, off_t(off + done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        done += size_t(got);
      }
      return done;
    };
    result = open_reader(ctx, std::move(r), read_at, uint64_t(st.st_size));
  });
  return result;
}

msic_reader *msic_reader_open_memory(msic_context *ctx, const void *data, size_t size) {
  msic_reader *result = nullptr;
  guarded([&] {
    if (!data && size) throw Error(MSIC_ERR_ARGUMENT, "data is NULL");
    auto *bytes = static_cast<const uint8_t *>(data);
    auto read_at = [bytes, size](uint64_t off, void *buf, size_t n) -> size_t {
      if (off >= size) return 0;
      n = std::min<uint64_t>(n, size - off);
      memcpy(buf, bytes + off, n);
      return n;
    };
    result = open_reader(ctx, std::make_unique<msic_reader>(), read_at, size);
  });
  return result;
}

msic_reader *msic_reader_open_callbacks(msic_context *ctx, msic_read_fn read, uint64_t file_size,
                                        void *user) {
  msic_reader *result = nullptr;
  guarded([&] {
    if (!read) throw Error(MSIC_ERR_ARGUMENT, "read function is NULL");
    auto r = std::make_unique<msic_reader>();
    std::mutex *m = &r->io_mutex;
    auto read_at = [read, user, m](uint64_t off, void *buf, size_t n) -> size_t {
      std::lock_guard<std::mutex> lock(*m);
      return read(user, off, buf, n);
    };
    result = open_reader(ctx, std::move(r), read_at, file_size);
  });
  return result;
}

void msic_reader_close(msic_reader *r) { delete r; }

msic_status msic_reader_get_info(const msic_reader *r, msic_file_info *info) {
  return guarded([&] {
    if (!r || !info) throw Error(MSIC_ERR_ARGUMENT, "NULL argument");
    const msic::format::Header &h = r->container->header();
    memset(info, 0, sizeof *info);
    info->image = {h.width, h.height, h.bands, h.bit_depth};
    info->tile_size = h.tile_size;
    info->tiles_across = h.tiles_across();
    info->tiles_down = h.tiles_down();
    info->quality = float(h.quality_centi) / 100.0f;
    info->format_version = uint32_t(h.version_major) << 16 | h.version_minor;
    std::string hex = msic::to_hex(h.model_hash.data(), 32);
    memcpy(info->model_hash, hex.c_str(), 65);
    info->file_size = r->container->file_size();
  });
}

size_t msic_reader_box_count(const msic_reader *r) { return r ? r->container->header().boxes.size() : 0; }

msic_status msic_reader_get_box(const msic_reader *r, size_t i, msic_box *box) {
  return guarded([&] {
    if (!r || !box) throw Error(MSIC_ERR_ARGUMENT, "NULL argument");
    const auto &boxes = r->container->header().boxes;
    if (i >= boxes.size()) throw Error(MSIC_ERR_ARGUMENT, "box index out of range");
    memcpy(box->type, boxes[i].type.data(), 4);
    box->data = boxes[i].data.data();
    box->size = boxes[i].data.size();
  });
}

msic_status msic_reader_find_box(const msic_reader *r, const char type[4], msic_box *box) {
  if (!r || !type || !box) return fail(MSIC_ERR_ARGUMENT, "NULL argument");
  for (const auto &b : r->container->header().boxes)
    if (memcmp(b.type.data(), type, 4) == 0) {
      memcpy(box->type, type, 4);
      box->data = b.data.data();
      box->size = b.data.size();
      return MSIC_OK;
    }
  return MSIC_ERR_ARGUMENT;
}

msic_status msic_reader_decode_tile(msic_reader *r, uint32_t tx, uint32_t ty, uint8_t *out, size_t stride) {
  return guarded([&] {
    if (!r || !out) throw Error(MSIC_ERR_ARGUMENT, "NULL argument");
    uint32_t w, h;
    std::vector<uint8_t> px = r->decode_tile(tx, ty, w, h);
    size_t row = size_t(w) * r->container->header().bands;
    if (stride < row) throw Error(MSIC_ERR_ARGUMENT, "stride smaller than a tile row");
    for (uint32_t y = 0; y < h; ++y) memcpy(out + y * stride, px.data() + y * row, row);
  });
}

msic_status msic_reader_decode_region(msic_reader *r, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
                                      uint8_t *out, size_t stride) {
  return guarded([&] {
    if (!r || !out) throw Error(MSIC_ERR_ARGUMENT, "NULL argument");
    const msic::format::Header &hd = r->container->header();
    if (w == 0 || h == 0 || x >= hd.width || y >= hd.height || w > hd.width - x || h > hd.height - y)
      throw Error(MSIC_ERR_ARGUMENT, "region lies outside the image");
    const size_t bands = hd.bands;
    if (stride < size_t(w) * bands) throw Error(MSIC_ERR_ARGUMENT, "stride smaller than a region row");
    const uint32_t ts = hd.tile_size;
    uint32_t tx0 = x / ts, tx1 = (x + w - 1) / ts, ty0 = y / ts, ty1 = (y + h - 1) / ts;
    uint32_t nx = tx1 - tx0 + 1;
    size_t n = size_t(nx) * (ty1 - ty0 + 1);
    msic::parallel_for(n, r->ctx->effective_threads(), [&](size_t i) {
      uint32_t tx = tx0 + uint32_t(i % nx), ty = ty0 + uint32_t(i / nx);
      uint32_t tw, th;
      std::vector<uint8_t> px = r->decode_tile(tx, ty, tw, th);
      // Intersection of the tile with the region, in image coordinates.
      uint32_t ix0 = std::max(x, tx * ts), iy0 = std::max(y, ty * ts);
      uint32_t ix1 = std::min(x + w, tx * ts + tw), iy1 = std::min(y + h, ty * ts + th);
      for (uint32_t yy = iy0; yy < iy1; ++yy)
        memcpy(out + size_t(yy - y) * stride + size_t(ix0 - x) * bands,
               px.data() + (size_t(yy - ty * ts) * tw + (ix0 - tx * ts)) * bands, size_t(ix1 - ix0) * bands);
    });
  });
}

msic_status msic_reader_verify(msic_reader *r, msic_progress_fn progress, void *user) {
  return guarded([&] {
    if (!r) throw Error(MSIC_ERR_ARGUMENT, "reader is NULL");
    const msic::format::Header &hd = r->container->header();
    r->check_model();
    uint32_t across = hd.tiles_across();
    for (uint32_t ty = 0; ty < hd.tiles_down(); ++ty) {
      msic::parallel_for(across, r->ctx->effective_threads(), [&](size_t tx) {
        uint32_t w, h;
        r->decode_tile(uint32_t(tx), ty, w, h);
      });
      if (progress && progress(user, double(ty + 1) / hd.tiles_down()))
        throw Error(MSIC_ERR_CANCELLED, "cancelled");
    }
  });
}

uint64_t msic_reader_tiles_decoded(const msic_reader *r) { return r ? r->tiles_decoded.load() : 0; }

}  // extern "C"
