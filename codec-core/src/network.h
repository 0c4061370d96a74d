// The MSINN network, in LibTorch: the one definition used by the encoder,
// the decoder and the trainer. Include only where LibTorch is needed.
//
//   image -> [squeeze -> units -> split] x levels -> latents (fine..coarse)
//
// Each unit is ActNorm -> invertible 1x1 convolution -> affine coupling; the
// synthesis runs the same units backwards, so with quantization off
// synthesis(analysis(x)) == x up to float rounding.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "model_config.h"
#include "model_file.h"

namespace msic::net {

struct InvertibleUnitImpl : torch::nn::Module {
  InvertibleUnitImpl(int channels, int width, float clamp);
  torch::Tensor forward(torch::Tensor x);
  torch::Tensor inverse(torch::Tensor y);

  torch::Tensor actnorm_log_scale, actnorm_bias;  // [C]
  torch::Tensor mix;                              // [C, C], invertible
  torch::Tensor w1, b1, w2, b2, w3, b3;           // coupling net
  float clamp;

 private:
  std::pair<torch::Tensor, torch::Tensor> coupling(const torch::Tensor &xa);
};
TORCH_MODULE(InvertibleUnit);

struct MultiScaleTransformImpl : torch::nn::Module {
  explicit MultiScaleTransformImpl(const ModelConfig &config);
  std::vector<torch::Tensor> analysis(torch::Tensor x);  // latents fine -> coarse
  torch::Tensor synthesis(const std::vector<torch::Tensor> &latents);
  // One level of the synthesis: level k's input from its latent and the
  // continued half (level k + 1's input; for the last level, the last
  // latent).
  torch::Tensor synthesis_level(int k, const torch::Tensor &latent, const torch::Tensor &continued);
  std::vector<std::vector<InvertibleUnit>> levels;
};
TORCH_MODULE(MultiScaleTransform);

// Latent residual prediction: from a dequantized latent and its (upsampled)
// channel context, predicts a correction bounded to half a quantization bin.
struct ResidualPredictorImpl : torch::nn::Module {
  ResidualPredictorImpl(int channels, int context_channels, int width);
  torch::Tensor forward(const torch::Tensor &latent, const torch::Tensor &context,
                        const torch::Tensor &inv_gain);
  torch::Tensor w1, b1, w2, b2;
};
TORCH_MODULE(ResidualPredictor);

// Optional residual post-filter on the reconstructed image.
struct PostFilterImpl : torch::nn::Module {
  explicit PostFilterImpl(int width);
  torch::Tensor forward(const torch::Tensor &x);
  torch::Tensor w1, b1, w2, b2;
};
TORCH_MODULE(PostFilter);

// Float twin of the integer context net (entropy/context_model.cpp), for
// training; the codec runs the integer one on the same weights. Both follow
// entropy/coding_schedule.h.
struct ContextNetImpl : torch::nn::Module {
  // depth: hidden layers (ModelConfig::context_depth).
  ContextNetImpl(int channels, int context_channels, int width, bool causal, int depth = 1);
  // Mean and log2 scale (ungained) for every position: anchors (pass 0)
  // see `context`, and with a causal net also their pass-0 neighbours in
  // `causal`; the others also see their pass-1 neighbours in `latent`.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor &latent, const torch::Tensor &context,
                                                  const torch::Tensor &causal = {});
  torch::Tensor wc, ws, wa, b1, b2, wo, bo;  // wa: causal inputs (undefined without)
  // The residual hidden layers after the first ("wm1", "bm1", ...).
  std::vector<torch::Tensor> wm, bm;
};
TORCH_MODULE(ContextNet);

struct MsicModelImpl : torch::nn::Module {
  explicit MsicModelImpl(const ModelConfig &config);
  // Copies every parameter from the file (shapes must match).
  void load(const ModelFile &file);
  // Parameters as named tensors (without the CDF tables).
  void store(ModelFile &file);

  // Decoder side: adds the residual prediction to the dequantized latents.
  void refine_latents(std::vector<torch::Tensor> &latents, const std::vector<float> &gains);
  // The same with 1 / gain for every latent channel as a tensor on the
  // latents' device (the trainer: no copy to the host).
  void refine_latents(std::vector<torch::Tensor> &latents, const torch::Tensor &inv_gains);
  // The residual prediction of latent l alone; the coarser latents must be
  // refined already.
  torch::Tensor refine_latent(int l, const std::vector<torch::Tensor> &latents, const torch::Tensor &inv_gains);
  torch::Tensor postfilter(const torch::Tensor &x);

  ModelConfig config;
  MultiScaleTransform transform{nullptr};
  std::vector<ResidualPredictor> lrp;   // null where lrp_width is 0
  PostFilter post{nullptr};
  std::vector<ContextNet> context;
  torch::Tensor gain_log2, gain_log2_scale;  // [anchors, total latent channels]
};
TORCH_MODULE(MsicModel);

// 1 at the positions of the second coding pass, 0 at the anchors:
// [1, 1, height, width].
torch::Tensor second_pass_mask(int64_t height, int64_t width, const torch::TensorOptions &options);

// The decoded context sources of `latent`, nearest-neighbour upsampled to
// its size (height x width), then, for a context net of a model with
// synthesis_context, the neighbourhood of `continued` (the synthesis at the
// latent's level; coding_schedule.h); undefined when there are none.
torch::Tensor context_features(const ModelConfig &config, const std::vector<torch::Tensor> &latents,
                               int latent, int64_t height, int64_t width, const torch::Tensor &continued = {});

}  // namespace msic::net
