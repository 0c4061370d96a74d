#include "tile_codec.h"

#include <dlfcn.h>
#include <torch/torch.h>

#include <algorithm>
#include <mutex>
#include <cmath>

#include "entropy/context_model.h"
#include "entropy/rans.h"
#include "errors.h"
#include "network.h"
#include "tile_payload.h"

namespace msic {
namespace {
using format::TilePayloadHeader;

uint32_t padded(uint32_t v, uint32_t multiple) { return (v + multiple - 1) / multiple * multiple; }
}  // namespace

namespace {
struct Impl {
  net::MsicModel model;
  entropy::ContextModel context;
  Impl(const ModelFile &file) : model(file.config), context(file) {
    model->load(file);
    model->eval();
  }

  // Edge-replicated, padded [1, 3, H, W] in [-0.5, 0.5].
  torch::Tensor to_tensor(const TileImage &t) const {
    uint32_t m = model->config.tile_multiple();
    uint32_t W = padded(t.width, m), H = padded(t.height, m);
    auto x = torch::empty({1, 3, H, W}, torch::kFloat);
    float *p = x.data_ptr<float>();
    for (uint32_t y = 0; y < H; ++y) {
      const uint8_t *row = t.pixels + std::min(y, t.height - 1) * t.stride;
      for (uint32_t xx = 0; xx < W; ++xx) {
        const uint8_t *px = row + std::min(xx, t.width - 1) * t.bands;
        for (int c = 0; c < 3; ++c)
          p[(size_t(c) * H + y) * W + xx] = px[t.bands == 3 ? c : 0] * (1.0f / 255.0f) - 0.5f;
      }
    }
    return x;
  }

  std::vector<entropy::LatentPlane> planes(uint32_t W, uint32_t H) const {
    const ModelConfig &c = model->config;
    std::vector<entropy::LatentPlane> out(c.latent_count());
    for (int l = 0; l < c.latent_count(); ++l) {
      out[l].channels = c.latent_channels(l);
      out[l].height = int(H >> c.latent_shift(l));
      out[l].width = int(W >> c.latent_shift(l));
    }
    return out;
  }
};
}  // namespace

namespace {
// A sequential OpenBLAS (Debian's libopenblas0-serial) is not safe when two
// threads call it at once: tiles decoded in parallel came out wrong. With
// one, tiles take turns in the network; the entropy coding, which never
// calls BLAS, still runs in parallel.
bool blas_is_sequential_openblas() {
  static const bool sequential = [] {
    void *blas = dlopen("libblas.so.3", RTLD_NOW | RTLD_NOLOAD);
    if (!blas) blas = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_NOLOAD);
    if (!blas) return false;
    using GetParallel = int (*)();
    auto get_parallel = reinterpret_cast<GetParallel>(dlsym(blas, "openblas_get_parallel"));
    return get_parallel && get_parallel() == 0;
  }();
  return sequential;
}

class NetworkTurn {
 public:
  NetworkTurn() {
    static std::mutex mutex;
    if (blas_is_sequential_openblas()) lock_ = std::unique_lock<std::mutex>(mutex);
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

class TorchTileCodec final : public TileCodec {
 public:
  explicit TorchTileCodec(const ModelFile &model) : impl_(std::make_unique<Impl>(model)) {
    // Parallelism is over tiles, on the library's own threads: LibTorch's
    // intra-op pool on top would only oversubscribe the cores.
    at::set_num_threads(1);
  }
  std::vector<uint8_t> encode(const TileImage &tile, uint32_t quality_centi) const override;
  void decode(const std::vector<uint8_t> &payload, uint32_t width, uint32_t height, uint32_t bands,
              uint32_t quality_centi, uint8_t *out, size_t stride) const override;
  std::vector<float> round_trip_unquantized(const TileImage &tile) const override;
  // Measured: peak RSS of `msic decode --threads 1` on one-tile files grows
  // by 199-204 bytes per pixel from 512 to 1024 to 2048-px tiles (the
  // activations of the synthesis at full resolution dominate).
  uint64_t decode_bytes_per_pixel() const override { return 210; }

 private:
  std::unique_ptr<Impl> impl_;
};
}  // namespace

std::unique_ptr<TileCodec> TileCodec::create(const ModelFile &model) {
  return std::make_unique<TorchTileCodec>(model);
}

std::vector<uint8_t> TorchTileCodec::encode(const TileImage &tile, uint32_t quality_centi) const {
  torch::NoGradGuard no_grad;
  auto x = impl_->to_tensor(tile);
  uint32_t H = uint32_t(x.size(2)), W = uint32_t(x.size(3));
  std::vector<torch::Tensor> latents;
  {
    NetworkTurn turn;
    latents = impl_->model->transform->analysis(x);
  }
  auto planes = impl_->planes(W, H);
  for (size_t l = 0; l < planes.size(); ++l) {
    auto v = latents[l].contiguous();
    planes[l].values.assign(v.data_ptr<float>(), v.data_ptr<float>() + v.numel());
  }
  entropy::RansEncoder coder;
  impl_->context.encode(planes, impl_->context.gains(quality_centi), coder);
  std::vector<uint8_t> stream = coder.finish();
  TilePayloadHeader header;
  header.grey = tile.bands == 1;
  header.coded_width = W;
  header.coded_height = H;
  header.pad_right = W - tile.width;
  header.pad_bottom = H - tile.height;
  header.escapes = coder.escapes();
  std::vector<uint8_t> out;
  out.reserve(TilePayloadHeader::kSize + stream.size());
  header.append_to(out);
  out.insert(out.end(), stream.begin(), stream.end());
  return out;
}

void TorchTileCodec::decode(const std::vector<uint8_t> &payload, uint32_t width, uint32_t height,
                       uint32_t bands, uint32_t quality_centi, uint8_t *out, size_t stride) const {
  torch::NoGradGuard no_grad;
  uint32_t m = impl_->model->config.tile_multiple();
  const TilePayloadHeader header = TilePayloadHeader::parse(payload.data(), payload.size());
  header.check_tile(width, height, bands, m);
  const uint32_t W = header.coded_width, H = header.coded_height;
  entropy::RansDecoder coder(payload.data() + TilePayloadHeader::kSize, payload.size() - TilePayloadHeader::kSize);
  auto planes = impl_->planes(W, H);
  auto gains = impl_->context.gains(quality_centi);
  impl_->context.decode(planes, gains, coder);
  if (!coder.finished_cleanly() || coder.escapes() != header.escapes)
    throw Error(MSIC_ERR_FORMAT, "corrupt tile (entropy stream mismatch)");
  std::vector<torch::Tensor> latents;
  for (auto &p : planes)
    latents.push_back(torch::from_blob(p.values.data(), {1, p.channels, p.height, p.width}, torch::kFloat));
  torch::Tensor x;
  {
    NetworkTurn turn;
    impl_->model->refine_latents(latents, gains.gain);
    x = impl_->model->postfilter(impl_->model->transform->synthesis(latents));
  }
  // nan_to_num: a crafted tile must not turn into NaN, whose cast is undefined.
  x = torch::nan_to_num((x + 0.5f) * 255.0f, 0.0).round().clamp(0, 255).contiguous();
  const float *p = x.data_ptr<float>();
  for (uint32_t y = 0; y < height; ++y) {
    uint8_t *row = out + y * stride;
    for (uint32_t xx = 0; xx < width; ++xx) {
      if (bands == 3) {
        for (int c = 0; c < 3; ++c) row[xx * 3 + c] = uint8_t(p[(size_t(c) * H + y) * W + xx]);
      } else {
        // Grey was coded as R = G = B; the mean of the three is the best guess.
        float s = p[(size_t(0) * H + y) * W + xx] + p[(size_t(1) * H + y) * W + xx] +
                  p[(size_t(2) * H + y) * W + xx];
        row[xx] = uint8_t(std::clamp(std::nearbyint(s / 3.0f), 0.0f, 255.0f));
      }
    }
  }
}

std::vector<float> TorchTileCodec::round_trip_unquantized(const TileImage &tile) const {
  torch::NoGradGuard no_grad;
  auto x = impl_->to_tensor(tile);
  auto y = impl_->model->transform->synthesis(impl_->model->transform->analysis(x));
  y = ((y + 0.5f) * 255.0f).narrow(2, 0, tile.height).narrow(3, 0, tile.width).contiguous();
  auto v = y.permute({0, 2, 3, 1}).contiguous();  // interleave like the input
  return {v.data_ptr<float>(), v.data_ptr<float>() + v.numel()};
}

}  // namespace msic
