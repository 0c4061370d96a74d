#include "api/image_writer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "byte_order.h"
#include "entropy/coding_schedule.h"
#include "errors.h"
#include "parallel.h"
#include "tile_payload.h"

namespace msic {

void check_reserved_zero(const msic_image_info &info) {
  for (uint32_t r : info.reserved)
    if (r != 0) throw Error(MSIC_ERR_ARGUMENT, "msic_image_info: reserved fields must be zero");
}

ImageWriter::ImageWriter(Context &context, const msic_image_info &info, const EncoderSettings &settings,
                         format::ContainerWriter::Sink sink, std::unique_ptr<AtomicFile> file)
    : context_(context), settings_(settings), sink_(std::move(sink)), file_(std::move(file)) {
  check_reserved_zero(info);
  header_.width = info.width;
  header_.height = info.height;
  header_.bands = info.bands;
  header_.bit_depth = info.bit_depth;
  header_.sample_format = info.sample_format;
  header_.valid_bits = info.valid_bits;
  header_.tile_size = settings_.tile_size_for(info.width, info.height);
  if (settings_.exact_coding()) {
    if (settings_.lossless && settings_.max_error > 0)
      throw Error(MSIC_ERR_ARGUMENT, "lossless and max error exclude each other: set one");
    if (info.sample_format != MSIC_SAMPLE_FLOAT && settings_.max_error != std::floor(settings_.max_error))
      throw Error(MSIC_ERR_ARGUMENT, "max error of integer samples must be a whole number");
    header_.tile_codec = format::kTileCodecPredictive;
    header_.quality_centi = 0;
    header_.max_error = settings_.lossless ? 0 : settings_.max_error;
    header_.version_minor = 2;  // 1.2 added tile codec 2 and the sample fields
  } else {
    header_.tile_codec = format::kTileCodecMsinn;
    header_.quality_centi = settings_.model_quality_centi();
    header_.model_hash = context_.model().hash;
    // 1.4 codes tiles of more than 256 rows in parts (payload version 3);
    // files whose tiles have at most 256 rows stay readable by 1.1 readers,
    // byte for byte.
    header_.version_minor = entropy::coding_parts(int(std::min(header_.tile_size, header_.height))) > 1 ? 4 : 1;
    // 1.5: where tiles meet, effort 2 and up boost the border (payload
    // version 4, which older readers refuse tile by tile). An image of one
    // tile, whose reduced levels have one tile each, has no border.
    const uint64_t tiles = uint64_t((header_.width + header_.tile_size - 1) / header_.tile_size) *
                           ((header_.height + header_.tile_size - 1) / header_.tile_size);
    if (settings_.effort >= 2 && tiles > 1) header_.version_minor = 5;
  }
  format::validate_header(header_);
  pixel_bytes_ = size_t(header_.bands) * (header_.bit_depth / 8);
}

void ImageWriter::add_box(const char type[4], const void *data, size_t size) {
  if (out_) throw Error(MSIC_ERR_ARGUMENT, "boxes must be added before the first row");
  if (size > format::kMaxBoxBytes) throw Error(MSIC_ERR_LIMIT, "metadata box larger than 1 GiB");
  format::Box b;
  memcpy(b.type.data(), type, 4);
  auto *p = static_cast<const uint8_t *>(data);
  b.data.assign(p, p + size);
  header_.boxes.push_back(std::move(b));
}

void ImageWriter::add_f64_box(const char type[4], const double *values, size_t count) {
  if (count > format::kMaxBoxBytes / 8) throw Error(MSIC_ERR_LIMIT, "metadata box larger than 1 GiB");
  format::Packer p;
  for (size_t i = 0; i < count; ++i) p.f64(values[i]);
  add_box(type, p.bytes.data(), p.bytes.size());
}

void ImageWriter::start() {
  const std::vector<uint8_t> *nodata = nullptr, *roles = nullptr;
  for (const format::Box &b : header_.boxes) {
    if (b.type_string() == MSIC_BOX_NODATA) nodata = &b.data;
    if (b.type_string() == MSIC_BOX_BAND_ROLES) roles = &b.data;
  }
  const predictive::CodingParams params = predictive::encoder_params(header_, nodata, roles);
  if (header_.tile_codec == format::kTileCodecPredictive)
    exact_ = std::make_unique<predictive::PredictiveCodec>(params);
  else if (std::count(params.exact_bands.begin(), params.exact_bands.end(), 1))
    // The learned coding is lossy in every band: it cannot keep alpha or a mask.
    throw Error(MSIC_ERR_ARGUMENT, "alpha and mask bands need the lossless or max error coding");
  const std::vector<uint32_t> scales = reduced_level_scales(header_, settings_.overviews);
  if (!scales.empty()) header_.version_minor = std::max<uint16_t>(header_.version_minor, 3);  // 1.3 added reduced levels
  levels_ = {format::Level::of(header_, 0)};
  for (uint32_t k : scales) levels_.push_back(format::Level::of(header_, k));
  tile_rows_done_.assign(levels_.size(), 0);
  out_ = std::make_unique<format::ContainerWriter>(sink_, header_);
  out_->set_levels(scales);
  out_->write_header();
  band_.resize(size_t(header_.width) * pixel_bytes_ * std::min(header_.tile_size, header_.height));
  if (scales.empty()) return;
  ReductionRules rules;
  rules.type = params.type;
  rules.bands = header_.bands;
  rules.nearest = settings_.overview_nearest;
  rules.has_nodata = params.has_nodata;
  rules.nodata = params.nodata;
  if (roles && roles->size() == header_.bands) {  // (encoder_params checked it)
    if (roles->back() == MSIC_BAND_MASK) rules.mask_band = int(header_.bands) - 1;
    for (uint32_t b = 0; b < header_.bands && rules.alpha_band < 0; ++b)
      if ((*roles)[b] == MSIC_BAND_ALPHA) rules.alpha_band = int(b);
  }
  reducer_ = std::make_unique<LevelBuilder>(
      header_, scales, rules,
      [this](size_t level, const uint8_t *rows, size_t stride, uint32_t count) {
        encode_rows(level, rows, stride, count);
      });
}

void ImageWriter::encode_rows(size_t level, const uint8_t *rows, size_t stride, uint32_t count) {
  const format::Level &shape = levels_[level];
  const uint32_t ts = header_.tile_size, across = shape.tiles_across(), bands = header_.bands;
  std::vector<std::vector<uint8_t>> payloads(across);
  const int all = context_.threads(settings_.threads);
  BufferPool::Use buffers(context_.buffers_for_tile());
  if (exact_) {
    parallel_for(across, all, [&](size_t tx) {
      const uint32_t x0 = uint32_t(tx) * ts;
      payloads[tx] = exact_->encode(rows + x0 * pixel_bytes_, stride, std::min(ts, shape.width - x0), count);
    });
  } else {
    const TileCodec &codec = context_.codec();
    using Payload = format::TilePayloadHeader;
    const uint32_t ty = tile_rows_done_[level];
    const uint8_t rows_sides = uint8_t((ty > 0 ? Payload::kSideTop : 0) |
                                       (ty + 1 < shape.tiles_down() ? Payload::kSideBottom : 0));
    ThreadShare share(across, all);
    parallel_for(across, all, [&](size_t tx) {
      uint32_t x0 = uint32_t(tx) * ts;
      TileImage t{rows + size_t(x0) * bands, stride, std::min(ts, shape.width - x0), count, bands};
      t.inner_sides = uint8_t(rows_sides | (tx > 0 ? Payload::kSideLeft : 0) |
                              (tx + 1 < across ? Payload::kSideRight : 0));
      payloads[tx] = codec.encode(t, header_.quality_centi, settings_.effort, &share);
    }, &share);
  }
  context_.tile_coded();
  const uint64_t first = uint64_t(tile_rows_done_[level]++) * across;
  for (uint32_t tx = 0; tx < across; ++tx) {
    if (level == 0)
      out_->write_tile(first + tx, payloads[tx]);
    else
      out_->write_level_tile(level, first + tx, std::move(payloads[tx]));
  }
}

void ImageWriter::write_rows(const uint8_t *pixels, size_t stride, uint32_t rows) {
  if (failed_) throw Error(MSIC_ERR_ARGUMENT, "writer already failed");
  if (!pixels && rows) throw Error(MSIC_ERR_ARGUMENT, "pixels is NULL");
  const size_t row_bytes = size_t(header_.width) * pixel_bytes_;
  if (stride < row_bytes) throw Error(MSIC_ERR_ARGUMENT, "stride smaller than a row");
  if (rows > header_.height - rows_done_) throw Error(MSIC_ERR_ARGUMENT, "more rows than the image has");
  if (!out_) start();
  for (uint32_t r = 0; r < rows; ++r) {
    memcpy(band_.data() + size_t(rows_in_band_) * row_bytes, pixels + r * stride, row_bytes);
    ++rows_in_band_;
    ++rows_done_;
    if (rows_in_band_ == header_.tile_size || rows_done_ == header_.height) {
      encode_rows(0, band_.data(), row_bytes, rows_in_band_);
      if (reducer_) reducer_->add_rows(band_.data(), row_bytes, rows_in_band_);
      rows_in_band_ = 0;
      if (settings_.progress && settings_.progress(settings_.progress_user, double(rows_done_) / header_.height))
        throw Error(MSIC_ERR_CANCELLED, "cancelled");
    }
  }
}

void ImageWriter::finish() {
  if (failed_) throw Error(MSIC_ERR_ARGUMENT, "writer already failed");
  if (finished_) throw Error(MSIC_ERR_ARGUMENT, "writer already finished");
  if (rows_done_ != header_.height)
    throw Error(MSIC_ERR_ARGUMENT, "only " + std::to_string(rows_done_) + " of " + std::to_string(header_.height) +
                                       " rows were written");
  if (reducer_) reducer_->finish();
  out_->finish();
  if (file_) file_->commit();
  finished_ = true;
}

}  // namespace msic
