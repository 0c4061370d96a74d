// msic-train: trains the MSIC network (the same MsicModel the codec runs)
// for rate-distortion with one lambda per quality anchor.
//
//   msic-train --data DIR --init MODEL.msicw --out CKPT_DIR [options]
//   msic-train --resume CKPT_DIR [options]            (continues where it stopped)
//   msic-train --pack FILE --data DIR --count N       (random crops for a remote GPU)
//
// CKPT_DIR/model.msicw is a complete model file (with CDF tables) at every
// checkpoint, so the latest checkpoint can be used or committed as it is;
// CKPT_DIR/optimizer.pt and CKPT_DIR/state.txt let training resume.
#include <dirent.h>
#include <sys/stat.h>
#ifdef MSIC_HAVE_VIPS
#include <vips/vips.h>
#endif

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "entropy/cdf_tables.h"
#include "network.h"

using namespace msic;

namespace {

struct Options {
  std::string data, data_pack, init, out, resume, pack, evaluate;
  int iterations = 100000, batch = 8, crop = 128, threads = 2, log_every = 20, save_every = 500, count = 4096;
  double lr = 1e-4, lr_final = 1e-5, lambda_low = 0.0015, lambda_high = 0.6;
  std::string device = "cpu";
};

struct Sample {
  int width, height;
  std::vector<uint8_t> rgb;  // interleaved
};

std::vector<Sample> load_folder(const std::string &dir);

// A folder of images, or one image.
std::vector<Sample> load_folder_or_file(const std::string &path);

#ifndef MSIC_HAVE_VIPS
std::vector<Sample> load_folder_or_file(const std::string &path) { return load_folder(path); }
std::vector<Sample> load_folder(const std::string &dir) {
  throw std::runtime_error("this msic-train was built without libvips and cannot read " + dir +
                           ": pack crops elsewhere (--pack) and train with --data-pack");
}
#else
std::vector<Sample> load_paths(const std::vector<std::string> &paths);

std::vector<Sample> load_folder(const std::string &dir) {
  DIR *d = opendir(dir.c_str());
  if (!d) throw std::runtime_error("cannot open data folder " + dir);
  std::vector<std::string> names;
  while (dirent *e = readdir(d))
    if (e->d_name[0] != '.') names.push_back(dir + "/" + e->d_name);
  closedir(d);
  std::sort(names.begin(), names.end());
  return load_paths(names);
}

std::vector<Sample> load_folder_or_file(const std::string &path) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return load_folder(path);
  return load_paths({path});
}

std::vector<Sample> load_paths(const std::vector<std::string> &paths) {
  std::vector<Sample> out;
  for (const std::string &path : paths) {
    VipsImage *im = vips_image_new_from_file(path.c_str(), NULL), *rgb = nullptr, *u8 = nullptr;
    if (!im) {
      fprintf(stderr, "skipping %s: %s", path.c_str(), vips_error_buffer());
      vips_error_clear();
      continue;
    }
    vips_colourspace(im, &rgb, VIPS_INTERPRETATION_sRGB, NULL);
    g_object_unref(im);
    if (vips_image_get_bands(rgb) > 3) {
      VipsImage *three;
      vips_extract_band(rgb, &three, 0, "n", 3, NULL);
      g_object_unref(rgb);
      rgb = three;
    }
    vips_cast_uchar(rgb, &u8, NULL);
    g_object_unref(rgb);
    size_t size;
    auto *px = static_cast<uint8_t *>(vips_image_write_to_memory(u8, &size));
    out.push_back({u8->Xsize, u8->Ysize, std::vector<uint8_t>(px, px + size)});
    g_free(px);
    g_object_unref(u8);
  }
  if (out.empty()) throw std::runtime_error("no images could be read");
  return out;
}
#endif

// A random crop of `size` pixels after a random downscale (0.5x..1x) and flip.
torch::Tensor random_crop(const Sample &s, int size, std::mt19937 &rng) {
  std::uniform_real_distribution<double> u(0, 1);
  double scale = 0.5 + 0.5 * u(rng);
  int window = std::min({int(std::lround(size / scale)), s.width, s.height});
  int x0 = int(u(rng) * (s.width - window + 1)), y0 = int(u(rng) * (s.height - window + 1));
  auto full = torch::from_blob(const_cast<uint8_t *>(s.rgb.data()), {s.height, s.width, 3}, torch::kUInt8);
  auto crop = full.narrow(0, y0, window).narrow(1, x0, window).permute({2, 0, 1}).to(torch::kFloat).unsqueeze(0);
  if (window != size)
    crop = torch::nn::functional::interpolate(
        crop, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{size, size}).mode(torch::kArea));
  if (u(rng) < 0.5) crop = crop.flip({3});
  if (u(rng) < 0.5) crop = crop.flip({2});
  return crop / 255.0 - 0.5;
}

torch::Tensor round_ste(const torch::Tensor &x) { return x + (torch::round(x) - x).detach(); }

torch::Tensor normal_cdf(const torch::Tensor &v) { return 0.5 * torch::erfc(-v * M_SQRT1_2); }

struct Step {
  torch::Tensor loss, bpp, mse;
};

// Rate (bits) and reconstruction for one batch at anchor a: the codec's
// coding order and context, with uniform noise for the rate and rounding
// (straight-through) for the reconstruction.
Step rd_step(net::MsicModel &model, const torch::Tensor &x, int a, double lambda, bool evaluate = false) {
  const ModelConfig &c = model->config;
  auto latents = model->transform->analysis(x);
  const int L = c.latent_count();
  std::vector<torch::Tensor> known(L);
  std::vector<float> gains_float(c.total_latent_channels());
  auto log2_gain = model->gain_log2[a], log2_scale = model->gain_log2_scale[a];
  auto bits = torch::zeros({}, x.options());
  int off = c.total_latent_channels();
  for (int l = L - 1; l >= 0; --l) {
    int ch = c.latent_channels(l);
    off -= ch;
    auto lg = log2_gain.narrow(0, off, ch).view({1, ch, 1, 1});
    auto g = torch::exp2(lg);
    auto ls = log2_scale.narrow(0, off, ch).view({1, ch, 1, 1});
    auto ctx = net::context_features(c, known, l, latents[l].size(2), latents[l].size(3));
    auto y_g = latents[l] * g;
    // Anchors first (their parameters ignore the spatial input), then the rest.
    auto [mean_a, log2s_a] = model->context[l]->forward(torch::zeros_like(y_g), ctx);
    auto H = y_g.size(2), W = y_g.size(3);
    auto second = torch::fmod(torch::arange(H, x.options()).view({1, 1, H, 1}) +
                              torch::arange(W, x.options()).view({1, 1, 1, W}), 2.0);
    auto anchors_hat = (round_ste(y_g - mean_a * g) + mean_a * g) / g * (1 - second);
    auto [mean_b, log2s_b] = model->context[l]->forward(anchors_hat, ctx);
    auto mean = mean_a * (1 - second) + mean_b * second;
    auto log2s = log2s_a * (1 - second) + log2s_b * second;
    auto mean_g = mean * g;
    auto sigma = torch::exp2(log2s + lg + ls).clamp(0.11, 1e4);
    // Training: uniform noise. Evaluation: the symbols the codec would code.
    auto noisy = evaluate ? torch::round(y_g - mean_g) + mean_g : y_g + torch::rand_like(y_g) - 0.5;
    auto p = normal_cdf((noisy - mean_g + 0.5) / sigma) - normal_cdf((noisy - mean_g - 0.5) / sigma);
    bits = bits - torch::log2(p.clamp_min(1e-9)).sum();
    known[l] = (round_ste(y_g - mean_g) + mean_g) / g;
    auto gv = g.detach().flatten().to(torch::kCPU);
    for (int i = 0; i < ch; ++i) gains_float[off + i] = gv[i].item<float>();
  }
  model->refine_latents(known, gains_float);
  auto x_hat = model->postfilter(model->transform->synthesis(known));
  auto mse = torch::mse_loss(x_hat, x);
  auto bpp = bits / double(x.size(0) * x.size(2) * x.size(3));
  return {lambda * 255.0 * 255.0 * mse + bpp, bpp, mse};
}

void save_checkpoint(net::MsicModel &model, torch::optim::Adam &opt, const std::string &dir, int iteration,
                     const std::string &name) {
  mkdir(dir.c_str(), 0755);
  ModelFile file;
  model->store(file);  // store() copies each tensor to the CPU
  file.config.name = name;
  entropy::CdfTables::build(file.config).store(file);
  file.save(dir + "/model.msicw");
  torch::save(opt, dir + "/optimizer.pt");
  std::ofstream(dir + "/state.txt") << "iteration=" << iteration << "\n";
}

}  // namespace

int main(int argc, char **argv) {
#ifdef MSIC_HAVE_VIPS
  if (VIPS_INIT(argv[0])) return 1;
#endif
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--data") o.data = next();
      else if (a == "--data-pack") o.data_pack = next();
      else if (a == "--init") o.init = next();
      else if (a == "--out") o.out = next();
      else if (a == "--resume") o.resume = o.out = next();
      else if (a == "--pack") o.pack = next();
      else if (a == "--count") o.count = std::stoi(next());
      else if (a == "--iterations") o.iterations = std::stoi(next());
      else if (a == "--batch") o.batch = std::stoi(next());
      else if (a == "--crop") o.crop = std::stoi(next());
      else if (a == "--threads") o.threads = std::stoi(next());
      else if (a == "--lr") o.lr = std::stod(next());
      else if (a == "--lr-final") o.lr_final = std::stod(next());
      else if (a == "--lambda-low") o.lambda_low = std::stod(next());
      else if (a == "--lambda-high") o.lambda_high = std::stod(next());
      else if (a == "--log-every") o.log_every = std::stoi(next());
      else if (a == "--save-every") o.save_every = std::stoi(next());
      else if (a == "--device") o.device = next();
      else if (a == "--eval") o.evaluate = next();
      else {
        fprintf(stderr, "usage: msic-train --data DIR|--data-pack FILE --init MODEL --out DIR | --resume DIR\n"
                        "       [--iterations N] [--batch B] [--crop S] [--lr LR] [--lr-final LR]\n"
                        "       [--lambda-low L] [--lambda-high L] [--threads T] [--device cpu|cuda]\n"
                        "       msic-train --pack FILE --data DIR [--count N] [--crop S]\n");
        return 2;
      }
    } catch (const std::exception &e) {
      fprintf(stderr, "msic-train: %s\n", e.what());
      return 2;
    }
  }
  try {
    torch::set_num_threads(o.threads);
    std::mt19937 rng(12345);
    if (!o.pack.empty()) {
      // Crops as raw uint8 [count, 3, crop, crop] with a 12-byte header.
      auto samples = load_folder(o.data);
      std::ofstream f(o.pack, std::ios::binary);
      int32_t head[3] = {o.count, o.crop, 3};
      f.write(reinterpret_cast<char *>(head), sizeof head);
      std::uniform_int_distribution<size_t> pick(0, samples.size() - 1);
      for (int i = 0; i < o.count; ++i) {
        auto t = ((random_crop(samples[pick(rng)], o.crop, rng) + 0.5) * 255).round().clamp(0, 255).to(torch::kUInt8).contiguous();
        f.write(reinterpret_cast<char *>(t.data_ptr<uint8_t>()), t.numel());
      }
      printf("wrote %d crops of %d px to %s\n", o.count, o.crop, o.pack.c_str());
      return 0;
    }
    if (!o.evaluate.empty()) {
      // The rate the trainer's float model predicts for one image at every
      // anchor, to compare with what the codec writes (msic encode at
      // quality 100 * a / (anchors - 1)): the two must agree closely.
      ModelFile file = ModelFile::load(o.init);
      net::MsicModel model(file.config);
      model->load(file);
      model->eval();
      torch::NoGradGuard no_grad;
      auto samples = load_folder_or_file(o.evaluate);
      const Sample &s = samples.front();
      int64_t w = s.width / 16 * 16, h = s.height / 16 * 16;
      auto x = torch::from_blob(const_cast<uint8_t *>(s.rgb.data()), {s.height, s.width, 3}, torch::kUInt8)
                   .narrow(0, 0, h).narrow(1, 0, w).permute({2, 0, 1}).to(torch::kFloat).unsqueeze(0) / 255.0 - 0.5;
      for (int a = 0; a < file.config.anchors; ++a) {
        Step st = rd_step(model, x, a, 0.0, true);
        printf("anchor %d (quality %.2f): estimated %.4f bpp, %.2f dB\n", a, 100.0 * a / (file.config.anchors - 1),
               st.bpp.item<double>(), 10 * std::log10(1.0 / st.mse.item<double>()));
      }
      return 0;
    }
    std::string init = o.resume.empty() ? o.init : o.resume + "/model.msicw";
    if (init.empty() || o.out.empty()) throw std::runtime_error("need --init MODEL and --out DIR, or --resume DIR");
    ModelFile start = ModelFile::load(init);
    net::MsicModel model(start.config);
    model->load(start);
    torch::Device device(o.device == "cuda" ? torch::kCUDA : torch::kCPU);
    model->to(device);
    model->train();
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(o.lr));
    int first = 0;
    if (!o.resume.empty()) {
      torch::load(opt, o.resume + "/optimizer.pt");
      std::ifstream st(o.resume + "/state.txt");
      std::string line;
      std::getline(st, line);
      first = std::stoi(line.substr(line.find('=') + 1));
    }
    std::vector<Sample> samples;
    torch::Tensor pack;
    if (!o.data_pack.empty()) {
      std::ifstream f(o.data_pack, std::ios::binary);
      int32_t head[3];
      f.read(reinterpret_cast<char *>(head), sizeof head);
      pack = torch::empty({head[0], 3, head[1], head[1]}, torch::kUInt8);
      f.read(reinterpret_cast<char *>(pack.data_ptr<uint8_t>()), pack.numel());
      if (!f) throw std::runtime_error("truncated pack " + o.data_pack);
      o.crop = head[1];
    } else {
      samples = load_folder(o.data);
    }
    const int A = start.config.anchors;
    std::vector<double> lambdas;
    for (int a = 0; a < A; ++a)
      lambdas.push_back(o.lambda_low * std::pow(o.lambda_high / o.lambda_low, double(a) / (A - 1)));
    printf("training %s from %s: %d images%s, %d anchors, lambda %.4f..%.4f, device %s\n",
           start.config.name.c_str(), init.c_str(), int(samples.size()),
           pack.defined() ? " (packed crops)" : "", A, lambdas.front(), lambdas.back(), o.device.c_str());
    std::uniform_int_distribution<int> anchor(0, A - 1);
    auto t0 = std::chrono::steady_clock::now();
    double sum_loss = 0, sum_bpp = 0, sum_psnr = 0;
    int n = 0;
    for (int it = first; it < o.iterations; ++it) {
      // Cosine decay from lr to lr_final.
      double lr = o.lr_final + 0.5 * (o.lr - o.lr_final) * (1 + std::cos(M_PI * it / o.iterations));
      for (auto &group : opt.param_groups()) static_cast<torch::optim::AdamOptions &>(group.options()).lr(lr);
      std::vector<torch::Tensor> crops;
      for (int b = 0; b < o.batch; ++b) {
        if (pack.defined()) {
          int i = int(rng() % pack.size(0));
          crops.push_back(pack[i].unsqueeze(0).to(torch::kFloat) / 255.0 - 0.5);
        } else {
          crops.push_back(random_crop(samples[rng() % samples.size()], o.crop, rng));
        }
      }
      auto x = torch::cat(crops, 0).to(device);
      int a = anchor(rng);
      Step s = rd_step(model, x, a, lambdas[a]);
      opt.zero_grad();
      s.loss.backward();
      torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
      opt.step();
      sum_loss += s.loss.item<double>();
      sum_bpp += s.bpp.item<double>();
      sum_psnr += 10 * std::log10(1.0 / std::max(s.mse.item<double>(), 1e-10));
      if (++n == o.log_every || it + 1 == o.iterations) {
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        printf("it %d  loss %.4f  bpp %.4f  psnr %.2f  lr %.2e  %.2f it/s\n", it + 1, sum_loss / n, sum_bpp / n,
               sum_psnr / n, lr, n / secs);
        fflush(stdout);
        sum_loss = sum_bpp = sum_psnr = 0;
        n = 0;
        t0 = std::chrono::steady_clock::now();
      }
      if ((it + 1) % o.save_every == 0 || it + 1 == o.iterations)
        save_checkpoint(model, opt, o.out, it + 1, "msinn-small-it" + std::to_string(it + 1));
    }
  } catch (const std::exception &e) {
    fprintf(stderr, "msic-train: %s\n", e.what());
    return 1;
  }
  return 0;
}
