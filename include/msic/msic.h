/*
 * MSIC: learned image compression, C API.
 *
 * This is the only interface the plugins (libvips, GDAL) and the tools link
 * against. The neural network and its inference engine stay behind it.
 *
 * Conventions
 *  - Every function that can fail returns an msic_status and sets a
 *    thread-local message readable with msic_last_error(). Functions that
 *    make an object hand it back through an out-parameter (the older
 *    openers at the end of this file return NULL instead).
 *  - The API grows without breaking programs built against an older header:
 *    encoder settings are an opaque object set by option id (new options get
 *    new ids), and the info structs end in reserved fields that the library
 *    zero-fills when it writes a struct and requires to be zero when it reads
 *    one, so that new fields take them over with 0 meaning the old behaviour.
 *  - Pixels are interleaved by band, bit_depth / 8 bytes per sample in the
 *    machine's byte order, rows `stride` bytes apart.
 *  - A NULL msic_context* means the process-wide default context, which uses
 *    the model embedded in the library.
 *  - Readers may be used from several threads at once (decode_tile and
 *    decode_region are thread-safe); a writer may be fed from any thread,
 *    but from one at a time.
 *  - A context prepares its network on the first encode or decode, so
 *    opening files and reading headers stays cheap.
 */
#ifndef MSIC_MSIC_H
#define MSIC_MSIC_H

#include <stddef.h>
#include <stdint.h>

#include "msic/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MSIC_API __attribute__((visibility("default")))
#else
#define MSIC_API
#endif

typedef enum msic_status {
  MSIC_OK = 0,
  MSIC_ERR_ARGUMENT = 1,    /* bad parameter from the caller */
  MSIC_ERR_IO = 2,          /* open/read/write/rename failed */
  MSIC_ERR_FORMAT = 3,      /* not an MSIC file, truncated, inconsistent */
  MSIC_ERR_VERSION = 4,     /* MSIC file of an unsupported version */
  MSIC_ERR_CHECKSUM = 5,    /* a tile or the index fails its CRC-32 */
  MSIC_ERR_MODEL = 6,       /* model missing, unreadable or not the file's */
  MSIC_ERR_LIMIT = 7,       /* dimensions beyond what we allocate */
  MSIC_ERR_UNSUPPORTED = 8, /* valid request we do not handle (bands, depth) */
  MSIC_ERR_CANCELLED = 9,   /* the progress callback asked to stop */
  MSIC_ERR_NOMEM = 10,
  MSIC_ERR_INTERNAL = 11,
  MSIC_STATUS_FORCE_INT_ = 0x7fffffff /* not a status: keeps the enum an int */
} msic_status;

/* Version of the library at run time: MSIC_VERSION's form (version.h). */
MSIC_API uint32_t msic_version(void);
/* The same as "major.minor.patch". */
MSIC_API const char *msic_version_string(void);
/* Message of the last failure on this thread ("" if none). */
MSIC_API const char *msic_last_error(void);
MSIC_API const char *msic_status_name(msic_status status);
/* Status of the last failure on this thread (MSIC_OK if none). */
MSIC_API msic_status msic_last_status(void);

/* ---------------------------------------------------------------- context */

typedef struct msic_context msic_context;

/* Loads a model file; model_path NULL loads the embedded default model. */
MSIC_API msic_status msic_context_new(const char *model_path, msic_context **ctx);
MSIC_API void msic_context_destroy(msic_context *ctx);
/* Worker threads for tiles (0 = number of cores). Default 0. */
MSIC_API void msic_context_set_threads(msic_context *ctx, int threads);
/* Readers opened with this context and recover non-zero accept a file
 * whose tile index is lost (a truncated or partly copied file): they find
 * the whole tiles by their frames, and the missing ones fail to decode
 * (msic_file_info.tiles_missing counts them). Default 0: such a file is
 * refused. Set it on a context of your own, not the shared default. */
MSIC_API msic_status msic_context_set_recover(msic_context *ctx, int recover);
/* Working memory that the tile decodes in flight on this context may take
 * together, in bytes (0 = no limit). Decodes wait for their share; a tile
 * that alone needs more fails with MSIC_ERR_LIMIT, so that a hostile or
 * unusual file (4096-px tiles) cannot make a reader take gigabytes.
 * Default: MSIC_DEFAULT_MEMORY_LIMIT, or the environment's MSIC_MEMORY_LIMIT
 * in megabytes when set (for programs that do not call this: vips, GDAL).
 * Once its first tile (a writer's first row of tiles) is done, a context
 * also keeps the working buffers its tiles drop, for the next tiles to
 * reuse (no page faults and zero-filling again): at most 256 MiB and this limit while its tiles
 * run, 64 MiB once none does; msic_context_destroy frees them (the NULL
 * context's live as long as the process). */
#define MSIC_DEFAULT_MEMORY_LIMIT (1ull << 30)
MSIC_API msic_status msic_context_set_memory_limit(msic_context *ctx, uint64_t bytes);
/* 64 hex digits + NUL: content hash of the model the context holds. */
MSIC_API const char *msic_context_model_hash(const msic_context *ctx);
MSIC_API const char *msic_context_model_name(const msic_context *ctx);

typedef struct msic_model_info {
  const char *name;               /* valid while the context lives */
  const char *hash;               /* 64 hex digits */
  uint64_t parameters;            /* learned parameters (CDF tables excluded) */
  double transform_macs_per_pixel; /* analysis or synthesis, each */
  double entropy_macs_per_pixel;   /* integer context model */
  double decoder_macs_per_pixel;   /* synthesis + context + residual prediction + post-filter */
  uint64_t reserved[8];            /* zero */
} msic_model_info;
MSIC_API msic_status msic_context_get_model_info(const msic_context *ctx, msic_model_info *info);

/* ---------------------------------------------------------------- images */

#define MSIC_MAX_DIMENSION 1000000u     /* per side */
#define MSIC_MAX_PIXELS (1ull << 36)     /* 68.7 gigapixels */

/* Tiles are square: a multiple of MSIC_TILE_SIZE_STEP in [MIN, MAX]. */
#define MSIC_TILE_SIZE_MIN 64
#define MSIC_TILE_SIZE_MAX 4096
#define MSIC_TILE_SIZE_STEP 16
#define MSIC_TILE_SIZE_DEFAULT 512
/* MSIC_ENCODER_TILE_SIZE's default: 512-px tiles (MSIC_TILE_SIZE_DEFAULT),
 * except that an image of 513 to MSIC_TILE_SIZE_SINGLE_MAX px on its longer
 * side is one tile (tile_size MSIC_TILE_SIZE_SINGLE_MAX). Tiles are coded
 * independently: fewer borders, fewer bits; larger tiles, more memory for
 * each tile decoding, and a window reads whole tiles. */
#define MSIC_TILE_SIZE_AUTO 0
#define MSIC_TILE_SIZE_SINGLE_MAX 1024
/* Quality: any real value in [MIN, MAX]. */
#define MSIC_QUALITY_MIN 0.0
#define MSIC_QUALITY_MAX 100.0
#define MSIC_QUALITY_DEFAULT 75.0
/* Reduced levels (MSIC_ENCODER_OVERVIEWS): the first is 1/2^4 of the image
 * (1/8 cost 10% of a smooth upsampled mosaic, 1/16 about 2.5%). */
#define MSIC_OVERVIEWS_DEFAULT 4
/* Encoder effort (MSIC_ENCODER_EFFORT): 1 .. MAX, default 2; 3 encodes
 * twice to lower the error at tile borders; 4 moves the latents by
 * gradients before coding (slow: for archives); 5 does so for more steps
 * (slower still). Every decoder reads every effort. */
#define MSIC_EFFORT_MAX 5
#define MSIC_EFFORT_DEFAULT 2

/* Samples: unsigned or signed integers of 8, 16 or 32 bits, or 32-bit
 * floats. The learned (lossy) coding takes 8-bit unsigned grey or RGB; the
 * exact and bounded-error codings (MSIC_ENCODER_LOSSLESS,
 * MSIC_ENCODER_MAX_ERROR) take every format and 1 .. MSIC_MAX_BANDS bands. */
typedef enum msic_sample_format {
  MSIC_SAMPLE_UNSIGNED = 0,
  MSIC_SAMPLE_SIGNED = 1,
  MSIC_SAMPLE_FLOAT = 2,
  MSIC_SAMPLE_FORMAT_FORCE_INT_ = 0x7fffffff
} msic_sample_format;
#define MSIC_MAX_BANDS 1024u

typedef struct msic_image_info {
  uint32_t width;
  uint32_t height;
  uint32_t bands;         /* 1 .. MSIC_MAX_BANDS (learned coding: 1 grey or 3 RGB) */
  uint32_t bit_depth;     /* bits per sample in memory: 8, 16 or 32 (float: 32) */
  uint32_t sample_format; /* msic_sample_format; 0 = unsigned */
  uint32_t valid_bits;    /* integers: bits that may be set (a 12-bit sensor in
                             16-bit samples: 12); 0 = bit_depth */
  uint32_t reserved[10];  /* zero */
} msic_image_info;

/* Metadata boxes: a four-character type and bytes. Known types: */
#define MSIC_BOX_ICC "ICCP"          /* ICC profile */
#define MSIC_BOX_EXIF "EXIF"         /* EXIF block as libvips stores it */
#define MSIC_BOX_XMP "XMP "          /* XMP packet */
#define MSIC_BOX_IPTC "IPTC"         /* IPTC-NAA record, as libvips stores it */
#define MSIC_BOX_CRS_WKT "CRSW"      /* coordinate reference system, WKT, UTF-8 */
#define MSIC_BOX_GEOTRANSFORM "GEOT" /* 6 x float64 little-endian, GDAL order */
#define MSIC_BOX_NODATA "NODT"       /* 1 x float64 little-endian */
#define MSIC_BOX_BAND_DESC "BDSC"    /* band descriptions, NUL-terminated each */
#define MSIC_BOX_KEYVALUE "KVMD"     /* "domain\0key\0value\0" triples */
#define MSIC_BOX_RESOLUTION "RESL"   /* 2 x float64 LE: x and y pixels per mm */
#define MSIC_BOX_COLOR_TABLE "CLRT"  /* a band's colour table (MSIC.md) */
#define MSIC_BOX_ATTRIBUTE_TABLE "GRAT" /* a band's raster attribute table (MSIC.md) */
#define MSIC_BOX_BAND_ROLES "ROLE"   /* one msic_band_role byte per band */
#define MSIC_BOX_GCPS "GCPS"         /* ground control points (MSIC.md) */

/* What a band is (the ROLE box). The exact and bounded-error coding codes
 * alpha and mask bands exactly, whatever the max error. */
typedef enum msic_band_role {
  MSIC_BAND_DATA = 0,
  MSIC_BAND_ALPHA = 1, /* opacity of the other bands */
  MSIC_BAND_MASK = 2   /* validity of every other band's samples: 0 invalid,
                          else valid (GDAL's per-dataset mask); the last band */
} msic_band_role;

typedef struct msic_box {
  char type[4];
  const uint8_t *data;
  size_t size;
} msic_box;

/* Return non-zero to cancel. fraction is in [0, 1]. */
typedef int (*msic_progress_fn)(void *user, double fraction);

/* ------------------------------------------------------- encoder settings */

/* What an encoder is asked to do, set option by option (as libjxl's frame
 * settings): a program built today keeps working when options are added. */
typedef struct msic_encoder_settings msic_encoder_settings;

typedef enum msic_encoder_option {
  /* Any real value in [0, 100]; default 75. Read like libjpeg's quality: a
   * file at Q is smaller than a JPEG at Q and looks about as good (README.md
   * has the measured table). */
  MSIC_ENCODER_QUALITY = 1,
  MSIC_ENCODER_TILE_SIZE = 2, /* see MSIC_TILE_SIZE_*; default MSIC_TILE_SIZE_AUTO */
  MSIC_ENCODER_THREADS = 3,   /* integer >= 0; 0 = the context's setting */
  /* 1: every sample decodes exactly (no model involved; quality unused).
   * Default 0. */
  MSIC_ENCODER_LOSSLESS = 4,
  /* > 0: every sample decodes within this of the original (integer
   * samples: a whole number; floats: any real). A NODATA box's value is
   * kept exact and never taken by a valid sample. Default 0 (off). */
  MSIC_ENCODER_MAX_ERROR = 5,
  /* Reduced levels stored for previews and overviews (format 1.3): k >= 1
   * stores the image at 1/2^k, then each level half the one before, down
   * to the first that fits in one tile; 0 stores none. Integer 0 .. 20;
   * default MSIC_OVERVIEWS_DEFAULT. An image whose 1/2^(k-1) fits in one
   * tile gets none. */
  MSIC_ENCODER_OVERVIEWS = 6,
  /* How 2 x 2 pixels of a level make one of the next: 0 their mean (nodata
   * and masked-out pixels left out), 1 the top-left one (class codes,
   * palette indices). Default 0. */
  MSIC_ENCODER_OVERVIEW_NEAREST = 7,
  /* How hard the learned coding's encoder works; any decoder reads every
   * effort's files. 1: each latent rounded to its nearest step (the
   * fastest). 2: each latent off the tile's border, in coding order, the
   * step whose squared error plus bits (weighted) is least (Kodak: about 3%
   * fewer bits at equal PSNR). 3: as 2, then the pixels of the tile's edges
   * are moved by half the error the decoder would leave there and it is
   * coded again (a lower error next to tile borders, about 2x the time).
   * 4: as 2 (not 3), after 300 steps of gradient descent that move the
   * latents for bits + distortion through the decoder's network and the
   * context nets (stochastic Gumbel annealing), keeping effort 2's tile
   * where that costs less (about 8% fewer bits at equal PSNR, for over a thousand
   * times effort 2's time and several times its memory: for archives).
   * 5: as 4 with 1000 steps (about 10% fewer bits than 2, about 3x effort 4's
   * time). Integer 1 .. MSIC_EFFORT_MAX; default MSIC_EFFORT_DEFAULT. */
  MSIC_ENCODER_EFFORT = 8,
  /* Not an option: makes the enum hold any int id a caller may pass. */
  MSIC_ENCODER_OPTION_FORCE_INT_ = 0x7fffffff
} msic_encoder_option;

/* Settings with every option at its default. */
MSIC_API msic_status msic_encoder_settings_new(msic_encoder_settings **settings);
MSIC_API void msic_encoder_settings_destroy(msic_encoder_settings *settings);
/* Sets an option; MSIC_ERR_ARGUMENT (with a message that names the option
 * and its range) for a value out of range, MSIC_ERR_UNSUPPORTED for an id
 * this library does not know. Integer options take integral values. */
MSIC_API msic_status msic_encoder_settings_set(msic_encoder_settings *settings,
                                               msic_encoder_option option, double value);
MSIC_API msic_status msic_encoder_settings_get(const msic_encoder_settings *settings,
                                               msic_encoder_option option, double *value);
/* Called after each tile row; may be NULL. */
MSIC_API msic_status msic_encoder_settings_set_progress(msic_encoder_settings *settings,
                                                        msic_progress_fn progress, void *user);

/* ---------------------------------------------------------------- writing */

typedef struct msic_writer msic_writer;

/* Receives the file's bytes in order; returns 0 on success. */
typedef int (*msic_write_fn)(void *user, const void *data, size_t size);

/* Writes to `path` through a temporary file in the same folder that is
 * renamed over `path` by msic_writer_finish; nothing is left on failure.
 * settings NULL: every option at its default. The writer keeps a copy. */
MSIC_API msic_status msic_writer_new_file(msic_context *ctx, const char *path,
                                          const msic_image_info *info,
                                          const msic_encoder_settings *settings,
                                          msic_writer **writer);
/* Streams the file through `write`, strictly sequentially (no seeking). */
MSIC_API msic_status msic_writer_new_stream(msic_context *ctx, msic_write_fn write, void *user,
                                            const msic_image_info *info,
                                            const msic_encoder_settings *settings,
                                            msic_writer **writer);
/* Boxes must be added before the first row. Data is copied. */
MSIC_API msic_status msic_writer_add_box(msic_writer *w, const char type[4],
                                         const void *data, size_t size);
/* A box of `count` float64 values, stored little-endian as MSIC.md says
 * (GEOTRANSFORM: 6, NODATA: 1, RESOLUTION: 2). */
MSIC_API msic_status msic_writer_add_f64_box(msic_writer *w, const char type[4],
                                             const double *values, size_t count);
/* Feeds the next `rows` rows, top to bottom. Tiles are coded as soon as a
 * tile row is complete, so memory stays bounded by one tile row. */
MSIC_API msic_status msic_writer_write_rows(msic_writer *w, const uint8_t *pixels,
                                            size_t stride, uint32_t rows);
/* The file's tile size: the setting, or what MSIC_TILE_SIZE_AUTO chose for
 * the image's dimensions. Rows are best fed a tile row at a time. */
MSIC_API uint32_t msic_writer_tile_size(const msic_writer *w);
/* Writes the tile index and, for files, renames into place. */
MSIC_API msic_status msic_writer_finish(msic_writer *w);
/* Frees the writer; if not finished, removes the temporary file. */
MSIC_API void msic_writer_destroy(msic_writer *w);

/* One-shot: encodes a whole image in memory into a malloc'ed buffer the
 * caller frees with msic_free. */
MSIC_API msic_status msic_encode_image(msic_context *ctx, const msic_image_info *info,
                                       const uint8_t *pixels, size_t stride,
                                       const msic_encoder_settings *settings,
                                       const msic_box *boxes, size_t box_count,
                                       uint8_t **out, size_t *out_size);
MSIC_API void msic_free(void *p);

/* ---------------------------------------------------------------- reading */

typedef struct msic_reader msic_reader;

/* Reads `size` bytes at `offset` into buf; returns the bytes read. May be
 * called from several threads: the library serialises the calls. */
typedef size_t (*msic_read_fn)(void *user, uint64_t offset, void *buf, size_t size);

/* How a file's tiles are coded. */
typedef enum msic_coding {
  MSIC_CODING_LEARNED = 0,   /* the model's lossy coding, at `quality` */
  MSIC_CODING_LOSSLESS = 1,  /* exact */
  MSIC_CODING_MAX_ERROR = 2, /* every sample within `max_error` */
  MSIC_CODING_FORCE_INT_ = 0x7fffffff
} msic_coding;

typedef struct msic_file_info {
  msic_image_info image;
  uint32_t tile_size;
  uint32_t tiles_across;
  uint32_t tiles_down;
  float quality;          /* learned coding: the quality asked for (within 0.02: see model_quality) */
  uint32_t format_version;
  char model_hash[65]; /* hex; all zeros for exact and bounded-error files (no model) */
  uint64_t file_size;
  uint64_t tiles_missing; /* tiles a recovering reader did not find (else 0) */
  uint32_t coding;        /* msic_coding */
  uint32_t levels;        /* reduced levels stored (msic_reader_get_level) */
  double max_error;       /* MSIC_CODING_MAX_ERROR: the bound; else 0 */
  double model_quality;   /* learned coding: the model's quality that `quality` mapped to, as the
                             file records it (0 .. 100); files record this, so the quality scale
                             may be recalibrated for a new model without changing old files.
                             0 with quality > 0: a library from before the scale (1.0.0) */
  uint64_t reserved[4];   /* zero */
} msic_file_info;

MSIC_API msic_status msic_reader_new_file(msic_context *ctx, const char *path,
                                          msic_reader **reader);
/* The buffer must stay valid until msic_reader_close. */
MSIC_API msic_status msic_reader_new_memory(msic_context *ctx, const void *data, size_t size,
                                            msic_reader **reader);
MSIC_API msic_status msic_reader_new_callbacks(msic_context *ctx, msic_read_fn read,
                                               uint64_t file_size, void *user,
                                               msic_reader **reader);
MSIC_API void msic_reader_close(msic_reader *r);

MSIC_API msic_status msic_reader_get_info(const msic_reader *r, msic_file_info *info);
MSIC_API size_t msic_reader_box_count(const msic_reader *r);
/* Type and size of box i, without reading its bytes (a box can be up to
 * 1 GiB: look before you load). */
MSIC_API msic_status msic_reader_get_box_header(const msic_reader *r, size_t i, char type[4],
                                                uint64_t *size);
/* Box i, read on first use; data stays valid until the reader is closed. */
MSIC_API msic_status msic_reader_get_box(const msic_reader *r, size_t i, msic_box *box);
/* First box of that type, or MSIC_ERR_ARGUMENT if absent (no message set). */
MSIC_API msic_status msic_reader_find_box(const msic_reader *r, const char type[4],
                                          msic_box *box);

/* The `count` float64 values of a box written by msic_writer_add_f64_box;
 * MSIC_ERR_FORMAT (with a message) if the box does not hold exactly that
 * many. */
MSIC_API msic_status msic_box_get_f64(const msic_box *box, double *values, size_t count);

/* Decodes tile (tx, ty) into out: min(tile_size, remaining) columns/rows. */
MSIC_API msic_status msic_reader_decode_tile(msic_reader *r, uint32_t tx, uint32_t ty,
                                             uint8_t *out, size_t stride);
/* Decodes the window (x, y, w, h), decoding only the tiles it touches, in
 * parallel with the context's threads. */
MSIC_API msic_status msic_reader_decode_region(msic_reader *r, uint32_t x, uint32_t y,
                                               uint32_t w, uint32_t h, uint8_t *out,
                                               size_t stride);
/* Decodes `count` tiles, tile i = (tx[i], ty[i]) into out[i] with rows
 * `stride` bytes apart, on `threads` threads (0 = the context's setting).
 * Stops at the first failure, whose message names the tile. */
MSIC_API msic_status msic_reader_decode_tiles(msic_reader *r, size_t count, const uint32_t *tx,
                                              const uint32_t *ty, uint8_t *const *out,
                                              size_t stride, int threads);
/* MSIC_OK if the tiles have a model to decode with: the file was coded
 * without one (lossless, bounded error), or with the reader's context's
 * model, or with one found by its SHA-256 (msic_file_info.model_hash)
 * among the embedded model, the *.msicw files in the folders of
 * $MSIC_MODEL_PATH (':'-separated) and those in the installed models
 * folder (where the packages install the retired default models, so that
 * their files keep decoding after the default changes). Else
 * MSIC_ERR_MODEL with a message naming the model and where it was looked
 * for. Decoding does the same by itself (once per reader); this lets a
 * reader say so at open time. For a file of another model, it loads that
 * model; for the context's own, it does nothing. */
MSIC_API msic_status msic_reader_check_model(msic_reader *r);
/* Checks every tile's CRC and that it decodes. */
MSIC_API msic_status msic_reader_verify(msic_reader *r, msic_progress_fn progress,
                                        void *user);
/* Tiles decoded by this reader so far (lets tests prove random access). */
MSIC_API uint64_t msic_reader_tiles_decoded(const msic_reader *r);

/* Reduced levels: level 0 is the image, levels 1 .. msic_file_info.levels
 * the stored reductions, each 1/2^scale_log2 of the image (sides rounded
 * up), in tiles of the file's tile size. A level decodes without reading
 * any tile of the others. */
typedef struct msic_level_info {
  uint32_t scale_log2;
  uint32_t width, height;
  uint32_t tiles_across, tiles_down;
  uint32_t reserved;    /* zero */
  uint64_t bytes;       /* the level's tiles in the file, frames included */
} msic_level_info;

MSIC_API msic_status msic_reader_get_level(const msic_reader *r, uint32_t level,
                                           msic_level_info *info);
/* msic_reader_decode_region and msic_reader_decode_tiles at a level. */
MSIC_API msic_status msic_reader_decode_level_region(msic_reader *r, uint32_t level, uint32_t x,
                                                     uint32_t y, uint32_t w, uint32_t h,
                                                     uint8_t *out, size_t stride);
MSIC_API msic_status msic_reader_decode_level_tiles(msic_reader *r, uint32_t level, size_t count,
                                                    const uint32_t *tx, const uint32_t *ty,
                                                    uint8_t *const *out, size_t stride,
                                                    int threads);
/* Tiles of that level decoded so far (msic_reader_tiles_decoded: level 0). */
MSIC_API uint64_t msic_reader_level_tiles_decoded(const msic_reader *r, uint32_t level);

/* True if the first bytes look like an MSIC file (needs >= 8 bytes). */
MSIC_API int msic_identify(const void *head, size_t size);

/* ------------------------------------------------------------ shorthands
 * For small programs: the functions above with the object as the result,
 * NULL on failure (msic_last_status() and msic_last_error() say why), and
 * the three common encoder options as a plain struct. This struct will not
 * grow: options added later are set through msic_encoder_settings only. */

typedef struct msic_encode_options {
  float quality;       /* any real value in [0, 100]; default 75 */
  uint32_t tile_size;  /* see MSIC_TILE_SIZE_*; default MSIC_TILE_SIZE_AUTO */
  int threads;         /* 0 = the context's setting */
  msic_progress_fn progress; /* may be NULL */
  void *progress_user;
} msic_encode_options;

MSIC_API void msic_encode_options_init(msic_encode_options *opts);
MSIC_API msic_context *msic_context_create(const char *model_path);
MSIC_API msic_writer *msic_writer_create_file(msic_context *ctx, const char *path,
                                              const msic_image_info *info,
                                              const msic_encode_options *opts);
MSIC_API msic_writer *msic_writer_create_stream(msic_context *ctx, msic_write_fn write,
                                                void *user, const msic_image_info *info,
                                                const msic_encode_options *opts);
MSIC_API msic_status msic_encode_to_memory(msic_context *ctx, const msic_image_info *info,
                                           const uint8_t *pixels, size_t stride,
                                           const msic_encode_options *opts,
                                           const msic_box *boxes, size_t box_count,
                                           uint8_t **out, size_t *out_size);
MSIC_API msic_reader *msic_reader_open_file(msic_context *ctx, const char *path);
MSIC_API msic_reader *msic_reader_open_memory(msic_context *ctx, const void *data,
                                              size_t size);
MSIC_API msic_reader *msic_reader_open_callbacks(msic_context *ctx, msic_read_fn read,
                                                 uint64_t file_size, void *user);

#ifdef __cplusplus
}
#endif
#endif /* MSIC_MSIC_H */
