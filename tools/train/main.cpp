// msic-train: trains the MSIC network (the same MsicModel the codec runs)
// for rate-distortion with one lambda per quality anchor.
//
//   msic-train --data DIR --init MODEL.msicw --out CKPT_DIR [options]
//   msic-train --resume CKPT_DIR [options]            (continues where it stopped)
//   msic-train --pack FILE --data DIR --count N       (random crops for a remote GPU)
//   msic-train --eval IMAGE --init MODEL.msicw         (estimated rate per anchor)
//   msic-train --refine-eval IMAGE --init MODEL.msicw  (the same with refined latents)
//   msic-train --export FILE --resume DIR [--name N]   (the model file to ship)
//
// Without libvips (the GPU build, -DMSIC_TRAINER_ONLY=ON) --data reads binary
// PPM files only; tools/train/device-train.sh converts the images first.
//
// CKPT_DIR/model.msicw is a complete model file (with CDF tables) at every
// checkpoint, so the latest checkpoint can be used or committed as it is;
// CKPT_DIR/optimizer.pt and CKPT_DIR/state.txt let training resume.
#include <dirent.h>
#include <sys/stat.h>
#ifdef MSIC_HAVE_VIPS
#include <vips/vips.h>
#endif

#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "entropy/cdf_tables.h"
#include "latent_refinement.h"
#include "network.h"
#include "rate_model.h"

using namespace msic;

namespace {

struct Options {
  std::string data, data_pack, init, out, resume, pack, evaluate, refine_evaluate, export_to, name, train_only;
  std::vector<int> refine_anchors;  // --refine-eval's; empty: every anchor
  std::string refine_out;           // --refine-eval's folder for the refined images
  net::RefinementSettings refinement;
  int iterations = 100000, batch = 8, crop = 128, threads = 2, log_every = 20, save_every = 500, count = 4096;
  double lr = 1e-4, lr_final = 1e-5, lambda_low = net::kLambdaLow, lambda_high = net::kLambdaHigh;
  double minutes = 0;  // stop (with a checkpoint) after this long; 0: no limit
  int seed = -1;       // of the crops, anchors and noise; -1: the run's own (12345 for a new one)
  std::string device = "cpu";
};

// One training image: [height, width, 3] uint8, kept on the training device
// so that cropping and downscaling run there too.
using Sample = torch::Tensor;

// Binary PPM (P6, maxval 255): what the trainer reads without libvips.
Sample read_ppm(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  auto token = [&]() {
    std::string t;
    int c;
    while ((c = f.get()) != EOF) {
      if (c == '#') {
        while ((c = f.get()) != EOF && c != '\n') {}
      } else if (std::isspace(c)) {
        if (!t.empty()) break;
      } else {
        t += char(c);
      }
    }
    return t;
  };
  std::string magic = token(), w = token(), h = token(), maxval = token();
  if (magic != "P6" || maxval != "255")
    throw std::runtime_error(path + ": not an 8-bit binary PPM (P6, maxval 255)");
  int64_t width = std::stoll(w), height = std::stoll(h);
  if (width <= 0 || height <= 0 || width * height > (int64_t(1) << 28))
    throw std::runtime_error(path + ": bad PPM size " + w + "x" + h);
  auto rgb = torch::empty({height, width, 3}, torch::kUInt8);
  f.read(reinterpret_cast<char *>(rgb.data_ptr<uint8_t>()), rgb.numel());
  if (!f) throw std::runtime_error(path + ": truncated PPM");
  return rgb;
}

std::vector<std::string> list_folder(const std::string &dir) {
  DIR *d = opendir(dir.c_str());
  if (!d) throw std::runtime_error("cannot open data folder " + dir);
  std::vector<std::string> names;
  while (dirent *e = readdir(d))
    if (e->d_name[0] != '.') names.push_back(dir + "/" + e->d_name);
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

#ifndef MSIC_HAVE_VIPS
// Binary PPMs only (other files are passed over).
std::vector<Sample> load_paths(const std::vector<std::string> &paths) {
  std::vector<Sample> out;
  for (const std::string &path : paths)
    if (path.size() > 4 && path.compare(path.size() - 4, 4, ".ppm") == 0) out.push_back(read_ppm(path));
  if (out.empty()) throw std::runtime_error("no .ppm images to read (this msic-train was built without libvips)");
  return out;
}
#else
// Any image libvips reads, as 8-bit RGB; unreadable files are skipped.
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
    out.push_back(torch::from_blob(px, {u8->Ysize, u8->Xsize, 3}, torch::kUInt8).clone());
    g_free(px);
    g_object_unref(u8);
  }
  if (out.empty()) throw std::runtime_error("no images could be read");
  return out;
}
#endif

std::vector<Sample> load_folder(const std::string &dir) { return load_paths(list_folder(dir)); }

// A folder of images, or one image.
std::vector<Sample> load_folder_or_file(const std::string &path) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return load_folder(path);
  return load_paths({path});
}

// A random crop of `size` pixels after a random downscale (0.5x..1x) and flip.
torch::Tensor random_crop(const Sample &s, int size, std::mt19937 &rng) {
  std::uniform_real_distribution<double> u(0, 1);
  double scale = 0.5 + 0.5 * u(rng);
  const int height = int(s.size(0)), width = int(s.size(1));
  int window = std::min({int(std::lround(size / scale)), width, height});
  int x0 = int(u(rng) * (width - window + 1)), y0 = int(u(rng) * (height - window + 1));
  auto crop = s.narrow(0, y0, window).narrow(1, x0, window).permute({2, 0, 1}).to(torch::kFloat).unsqueeze(0);
  if (window != size)
    crop = torch::nn::functional::interpolate(
        crop, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{size, size}).mode(torch::kArea));
  if (u(rng) < 0.5) crop = crop.flip({3});
  if (u(rng) < 0.5) crop = crop.flip({2});
  return crop / 255.0 - 0.5;
}

double anchor_lambda(const Options &o, int a, int A) { return net::anchor_lambda(a, A, o.lambda_low, o.lambda_high); }

std::vector<int> parse_ints(const std::string &list) {
  std::vector<int> out;
  std::stringstream ss(list);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(std::stoi(item));
  return out;
}

// An image as the evaluations see it: [1, 3, H, W] in [-0.5, 0.5], cut to
// whole multiples of the coarsest level (`multiple` pixels).
torch::Tensor evaluation_image(const Sample &s, int multiple) {
  int64_t w = s.size(1) / multiple * multiple, h = s.size(0) / multiple * multiple;
  return s.narrow(0, 0, h).narrow(1, 0, w).permute({2, 0, 1}).to(torch::kFloat).unsqueeze(0) / 255.0 - 0.5;
}

// PSNR of x_hat rounded to 8 bits, as the codec outputs it.
double psnr_8bit(const torch::Tensor &x_hat, const torch::Tensor &x) {
  auto x_8bit = ((x_hat + 0.5) * 255.0).round().clamp(0, 255) / 255.0 - 0.5;
  return 10 * std::log10(1.0 / torch::mse_loss(x_8bit, x).item<double>());
}

// --refine-eval: the trainer's estimate of the codec's bits and PSNR at
// each anchor, from the analysis's latents (rounded to the nearest step:
// effort 1) and from refined ones (latent_refinement.h), at the anchor's
// training lambda.
int refine_evaluate(const Options &o) {
  ModelFile file = ModelFile::load(o.init);
  net::MsicModel model(file.config);
  model->load(file);
  model->eval();
  const int A = file.config.anchors;
  std::vector<int> anchors = o.refine_anchors;
  if (anchors.empty())
    for (int a = 0; a < A; ++a) anchors.push_back(a);
  for (int a : anchors)
    if (a < 0 || a >= A) throw std::runtime_error("--anchors: the model has anchors 0.." + std::to_string(A - 1));
  auto x = evaluation_image(load_folder_or_file(o.refine_evaluate).front(), file.config.tile_multiple());
  // bpp and PSNR (of the 8-bit output, against the image) estimated from
  // the analysis's latents, from the refined latents, and from the refined
  // image rounded to 8 bits (clipped: its samples outside 0..255).
  printf("anchor  lambda     nearest: bpp  dB        refined: bpp  dB   via 8-bit: bpp  dB      clipped  seconds\n");
  for (int a : anchors) {
    const double lambda = anchor_lambda(o, a, A);
    net::RateDistortion plain;
    {
      torch::NoGradGuard no_grad;
      plain = net::rate_distortion(model, x, a, lambda, net::RateMode::kEstimate);
    }
    auto start = std::chrono::steady_clock::now();
    auto latents = net::refine_latents(model, x, a, lambda, o.refinement);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    torch::NoGradGuard no_grad;
    auto refined = net::rate_distortion_of_latents(model, latents, x, a, lambda, net::RateMode::kEstimate);
    // The image whose analysis gives the refined latents (the transform is
    // invertible), in 8 bits: what today's codec can be given to code them,
    // less the rounding to 8 bits, which the third estimate includes.
    auto image = ((model->transform->synthesis(latents) + 0.5) * 255.0).round();
    const double clipped = ((image < 0) | (image > 255)).to(torch::kFloat).mean().item<double>();
    image = image.clamp(0, 255);
    auto via_8bit = net::rate_distortion_of_latents(model, model->transform->analysis(image / 255.0 - 0.5), x, a,
                                                    lambda, net::RateMode::kEstimate);
    printf("%6d  %.4f  %10.4f %9.3f  %10.4f %9.3f  %10.4f %9.3f  %6.3f%%  %7.1f\n", a, lambda,
           plain.bpp.item<double>(), psnr_8bit(plain.x_hat, x), refined.bpp.item<double>(),
           psnr_8bit(refined.x_hat, x), via_8bit.bpp.item<double>(), psnr_8bit(via_8bit.x_hat, x), 100 * clipped,
           seconds);
    if (!o.refine_out.empty()) {
      auto rgb = image.squeeze(0).permute({1, 2, 0}).to(torch::kUInt8).contiguous();
      const std::string path = o.refine_out + "/anchor" + std::to_string(a) + ".ppm";
      std::ofstream f(path, std::ios::binary);
      f << "P6\n" << rgb.size(1) << " " << rgb.size(0) << "\n255\n";
      f.write(reinterpret_cast<const char *>(rgb.data_ptr<uint8_t>()), rgb.numel());
      if (!f) throw std::runtime_error("cannot write " + path);
    }
    fflush(stdout);
  }
  return 0;
}

// Where a run stands: the iteration, and the training time so far per
// device (for the model card), as key=value lines in CKPT_DIR/state.txt.
struct TrainingState {
  int iteration = 0;
  unsigned seed = 12345;  // a state.txt without one is from before --seed
  std::map<std::string, double> seconds;  // "cpu" / "cuda" -> seconds

  static TrainingState load(const std::string &path) {
    TrainingState st;
    std::ifstream f(path);
    if (!f) throw std::runtime_error("cannot read " + path);
    std::string line;
    while (std::getline(f, line)) {
      size_t eq = line.find('=');
      if (eq == std::string::npos) continue;
      std::string key = line.substr(0, eq), value = line.substr(eq + 1);
      if (key == "iteration") st.iteration = std::stoi(value);
      else if (key == "seed") st.seed = unsigned(std::stoul(value));
      else if (key.rfind("seconds_", 0) == 0) st.seconds[key.substr(8)] = std::stod(value);
    }
    return st;
  }
  void save(const std::string &path) const {
    std::ofstream f(path + ".tmp");
    f << "iteration=" << iteration << "\n";
    for (auto &[device, secs] : seconds) f << "seconds_" << device << "=" << secs << "\n";
    f << "seed=" << seed << "\n";
    f.close();
    if (!f || rename((path + ".tmp").c_str(), path.c_str()) != 0) throw std::runtime_error("cannot write " + path);
  }
};

// Scales the gradients to a total L2 norm of at most max_norm, like
// torch::nn::utils::clip_grad_norm_ but without reading the norm back to
// the host (which would stall a GPU every iteration).
void clip_grad_norm(const std::vector<torch::Tensor> &parameters, double max_norm) {
  std::vector<torch::Tensor> grads, norms;
  for (const auto &p : parameters)
    if (p.grad().defined()) {
      grads.push_back(p.grad());
      norms.push_back(p.grad().norm());
    }
  if (grads.empty()) return;
  auto scale = (max_norm / (torch::stack(norms).norm() + 1e-6)).clamp_max(1.0);
  for (auto &g : grads) g.mul_(scale);
}

// Writes each file under a temporary name and renames it, so that a run
// killed while saving leaves the previous checkpoint whole.
void save_checkpoint(net::MsicModel &model, torch::optim::Adam &opt, const std::string &dir,
                     const TrainingState &state, const std::string &name) {
  mkdir(dir.c_str(), 0755);
  ModelFile file;
  model->store(file);  // store() copies each tensor to the CPU
  file.config.name = name;
  entropy::CdfTables::build(file.config).store(file);
  file.save(dir + "/model.msicw");  // temp + rename
  torch::save(opt, dir + "/optimizer.pt.tmp");
  if (rename((dir + "/optimizer.pt.tmp").c_str(), (dir + "/optimizer.pt").c_str()) != 0)
    throw std::runtime_error("cannot write the checkpoint in " + dir);
  state.save(dir + "/state.txt");
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
      else if (a == "--train-only") o.train_only = next();
      else if (a == "--minutes") o.minutes = std::stod(next());
      else if (a == "--seed") o.seed = std::stoi(next());
      else if (a == "--eval") o.evaluate = next();
      else if (a == "--refine-eval") o.refine_evaluate = next();
      else if (a == "--refine-steps") o.refinement.steps = std::stoi(next());
      else if (a == "--refine-lr") o.refinement.learning_rate = std::stod(next());
      else if (a == "--anchors") o.refine_anchors = parse_ints(next());
      else if (a == "--refine-out") o.refine_out = next();
      else if (a == "--export") o.export_to = next();
      else if (a == "--name") o.name = next();
      else {
        fprintf(stderr, "usage: msic-train --data DIR|--data-pack FILE --init MODEL --out DIR | --resume DIR\n"
                        "       [--iterations N] [--batch B] [--crop S] [--lr LR] [--lr-final LR]\n"
                        "       [--lambda-low L] [--lambda-high L] [--threads T] [--device cpu|cuda]\n"
                        "       [--minutes M] [--log-every N] [--save-every N] [--train-only context]\n"
                        "       [--seed N]\n"
                        "       msic-train --pack FILE --data DIR [--count N] [--crop S]\n"
                        "       msic-train --eval IMAGE --init MODEL\n"
                        "       msic-train --refine-eval IMAGE --init MODEL [--anchors A,B] [--refine-steps N]\n"
                        "                  [--refine-lr LR] [--lambda-low L] [--lambda-high L] [--threads T]\n"
                        "                  [--refine-out DIR]\n"
                        "       msic-train --export FILE --resume DIR|--init MODEL [--name NAME]\n");
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
        auto t = ((random_crop(samples[pick(rng)], o.crop, rng) + 0.5) * 255).round().clamp(0, 255).to(torch::kUInt8)
                     .contiguous();
        f.write(reinterpret_cast<char *>(t.data_ptr<uint8_t>()), t.numel());
      }
      printf("wrote %d crops of %d px to %s\n", o.count, o.crop, o.pack.c_str());
      return 0;
    }
    if (!o.export_to.empty()) {
      // A checkpoint's model, renamed, with its CDF tables rebuilt: the
      // file to ship (models/msic-default.msicw) or to pass to --model.
      std::string from = o.resume.empty() ? o.init : o.resume + "/model.msicw";
      if (from.empty()) throw std::runtime_error("--export needs --resume DIR or --init MODEL");
      ModelFile file = ModelFile::load(from);
      net::MsicModel model(file.config);
      model->load(file);  // checks every tensor against the config
      ModelFile out;
      model->store(out);
      if (!o.name.empty()) out.config.name = o.name;
      entropy::CdfTables::build(out.config).store(out);
      out.save(o.export_to);  // temp + rename
      printf("wrote %s (%s) from %s\n", o.export_to.c_str(), out.config.name.c_str(), from.c_str());
      return 0;
    }
    if (!o.refine_evaluate.empty()) return refine_evaluate(o);
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
      auto x = evaluation_image(samples.front(), file.config.tile_multiple());
      for (int a = 0; a < file.config.anchors; ++a) {
        net::RateDistortion st = net::rate_distortion(model, x, a, 0.0, net::RateMode::kEstimate);
        // The codec's output is rounded to 8 bits, which training does not see.
        printf("anchor %d (quality %.2f): estimated %.4f bpp, %.2f dB (%.2f dB in 8 bits)\n", a,
               100.0 * a / (file.config.anchors - 1), st.bpp.item<double>(), 10 * std::log10(1.0 / st.mse.item<double>()),
               psnr_8bit(st.x_hat, x));
        // Where the bits go: a pass that costs as much as the other, with
        // more context, says the context nets are not helping.
        const double pixels = double(x.size(2) * x.size(3));
        printf("  bpp per latent (fine to coarse), checkerboard pass 1 + pass 2:");
        for (auto &b : st.latent_bits) printf("  %.4f + %.4f", b[0] / pixels, b[1] / pixels);
        printf("\n");
      }
      return 0;
    }
    std::string init = o.resume.empty() ? o.init : o.resume + "/model.msicw";
    if (init.empty() || o.out.empty()) throw std::runtime_error("need --init MODEL and --out DIR, or --resume DIR");
    ModelFile start = ModelFile::load(init);
    net::MsicModel model(start.config);
    model->load(start);
    torch::Device device(o.device == "cuda" ? torch::kCUDA : torch::kCPU);
    if (device.is_cuda()) {
      if (!torch::cuda::is_available()) throw std::runtime_error("--device cuda: no CUDA device is available");
      at::globalContext().setBenchmarkCuDNN(true);  // fixed shapes
      // Full float precision: the codec inverts the transform in float32 on
      // the CPU, and TF32's 10-bit mantissa would hide errors it makes.
      at::globalContext().setAllowTF32CuDNN(false);
    }
    model->to(device);
    model->train();
    // --train-only PART: only the parameters named PART.* learn (say the
    // context nets of a grown model); the rest stay as they are.
    std::vector<torch::Tensor> trained;
    for (auto &p : model->named_parameters()) {
      if (o.train_only.empty() || p.key().rfind(o.train_only + ".", 0) == 0) trained.push_back(p.value());
      else p.value().set_requires_grad(false);
    }
    if (trained.empty()) throw std::runtime_error("--train-only " + o.train_only + ": no such parameters");
    torch::optim::Adam opt(trained, torch::optim::AdamOptions(o.lr));
    TrainingState state;
    if (!o.resume.empty()) {
      torch::load(opt, o.resume + "/optimizer.pt", device);
      state = TrainingState::load(o.resume + "/state.txt");
    }
    // A resumed run must not replay the crops, anchors and noise it began
    // with; a new run from a trained model should not replay its run's
    // (--seed).
    if (o.seed >= 0) state.seed = unsigned(o.seed);
    rng.seed(state.seed + unsigned(state.iteration));
    torch::manual_seed(uint64_t(state.seed) + uint64_t(state.iteration));
    // Images (or packed crops) live on the training device.
    std::vector<Sample> samples;
    torch::Tensor pack;
    if (!o.data_pack.empty()) {
      std::ifstream f(o.data_pack, std::ios::binary);
      int32_t head[3];
      f.read(reinterpret_cast<char *>(head), sizeof head);
      if (!f || head[0] <= 0 || head[1] <= 0 || head[2] != 3 || int64_t(head[0]) * head[1] * head[1] > (int64_t(1) << 34))
        throw std::runtime_error("not a crop pack: " + o.data_pack);
      pack = torch::empty({head[0], 3, head[1], head[1]}, torch::kUInt8);
      f.read(reinterpret_cast<char *>(pack.data_ptr<uint8_t>()), pack.numel());
      if (!f) throw std::runtime_error("truncated pack " + o.data_pack);
      o.crop = head[1];
      pack = pack.to(device);
    } else {
      samples = load_folder(o.data);
      for (auto &s : samples) s = s.to(device);
    }
    const int A = start.config.anchors;
    std::vector<double> lambdas;
    for (int a = 0; a < A; ++a) lambdas.push_back(anchor_lambda(o, a, A));
    printf("training %s from %s: %d %s, %d anchors, lambda %.4f..%.4f, device %s, from iteration %d\n",
           start.config.name.c_str(), init.c_str(), int(pack.defined() ? pack.size(0) : samples.size()),
           pack.defined() ? "packed crops" : "images", A, lambdas.front(), lambdas.back(), o.device.c_str(),
           state.iteration);
    std::uniform_int_distribution<int> anchor(0, A - 1);
    const auto started = std::chrono::steady_clock::now();
    auto t0 = started, last_save = started;
    // Running sums stay on the device: reading them back every iteration
    // would stall a GPU.
    auto zero = torch::zeros({3}, torch::TensorOptions().device(device));
    auto sums = zero.clone();
    int n = 0;
    auto save = [&](int iteration) {
      auto now = std::chrono::steady_clock::now();
      state.iteration = iteration;
      state.seconds[o.device] += std::chrono::duration<double>(now - last_save).count();
      last_save = now;
      save_checkpoint(model, opt, o.out, state, "msinn-small-it" + std::to_string(iteration));
    };
    for (int it = state.iteration; it < o.iterations; ++it) {
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
      auto x = torch::cat(crops, 0);
      int a = anchor(rng);
      net::RateDistortion s = net::rate_distortion(model, x, a, lambdas[a], net::RateMode::kTraining);
      opt.zero_grad();
      s.loss.backward();
      clip_grad_norm(trained, 1.0);
      opt.step();
      net::clamp_context_weights_to_codec_range(model);
      sums += torch::stack({s.loss.detach(), s.bpp.detach(), -10 * torch::log10(s.mse.detach().clamp_min(1e-10))});
      bool out_of_time = o.minutes > 0 &&
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() > 60 * o.minutes;
      if (++n == o.log_every || it + 1 == o.iterations || out_of_time) {
        auto mean = (sums / n).to(torch::kCPU);
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        printf("it %d  loss %.4f  bpp %.4f  psnr %.2f  lr %.2e  %.2f it/s\n", it + 1, mean[0].item<double>(),
               mean[1].item<double>(), mean[2].item<double>(), lr, n / secs);
        fflush(stdout);
        sums = zero.clone();
        n = 0;
        t0 = std::chrono::steady_clock::now();
      }
      if ((it + 1) % o.save_every == 0 || it + 1 == o.iterations || out_of_time) save(it + 1);
      if (out_of_time) {
        printf("stopped after %.1f minutes at iteration %d; --resume %s continues\n", o.minutes, it + 1,
               o.out.c_str());
        break;
      }
    }
  } catch (const std::exception &e) {
    fprintf(stderr, "msic-train: %s\n", e.what());
    return 1;
  }
  return 0;
}
