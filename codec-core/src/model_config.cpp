#include "model_config.h"

#include <sstream>

#include "entropy/coding_schedule.h"
#include "errors.h"

namespace msic {
namespace {
std::string join(const std::vector<int> &v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}
std::vector<int> split_ints(const std::string &s) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::stoi(item));
  return out;
}
}  // namespace

std::string ModelConfig::to_text() const {
  std::ostringstream o;
  o << "name=" << name << "\nlevels=" << levels << "\nunits=" << join(units)
    << "\ncoupling_width=" << join(coupling_width) << "\ncoupling_clamp=" << coupling_clamp
    << "\ncontext_width=" << join(context_width) << "\nlrp_width=" << join(lrp_width)
    << "\npostfilter_width=" << postfilter_width << "\ncausal_context=" << causal_context
    << "\nanchors=" << anchors
    << "\nscale_min=" << scale_min << "\nscale_steps_per_octave=" << scale_steps_per_octave
    << "\nscale_count=" << scale_count << "\ntable_tail=" << table_tail << "\n";
  // Only when set: an older model's text (hence its hash) stays what it
  // was, and a library that predates a key refuses a model that uses it.
  if (integer_convolutions) o << "integer_convolutions=" << integer_convolutions << "\n";
  if (context_depth != 1) o << "context_depth=" << context_depth << "\n";
  if (synthesis_context) o << "synthesis_context=" << synthesis_context << "\n";
  return o.str();
}

ModelConfig ModelConfig::from_text(const std::string &text) {
  ModelConfig c;
  std::stringstream ss(text);
  std::string line;
  try {
    while (std::getline(ss, line)) {
      if (line.empty() || line[0] == '#') continue;
      size_t eq = line.find('=');
      if (eq == std::string::npos) throw Error(MSIC_ERR_MODEL, "model config line without '=': " + line);
      std::string k = line.substr(0, eq), v = line.substr(eq + 1);
      if (k == "name") c.name = v;
      else if (k == "levels") c.levels = std::stoi(v);
      else if (k == "units") c.units = split_ints(v);
      else if (k == "coupling_width") c.coupling_width = split_ints(v);
      else if (k == "coupling_clamp") c.coupling_clamp = std::stof(v);
      else if (k == "context_width") c.context_width = split_ints(v);
      else if (k == "lrp_width") c.lrp_width = split_ints(v);
      else if (k == "postfilter_width") c.postfilter_width = std::stoi(v);
      else if (k == "causal_context") c.causal_context = std::stoi(v);
      else if (k == "anchors") c.anchors = std::stoi(v);
      else if (k == "scale_min") c.scale_min = std::stof(v);
      else if (k == "scale_steps_per_octave") c.scale_steps_per_octave = std::stoi(v);
      else if (k == "scale_count") c.scale_count = std::stoi(v);
      else if (k == "table_tail") c.table_tail = std::stof(v);
      else if (k == "integer_convolutions") c.integer_convolutions = std::stoi(v);
      else if (k == "context_depth") c.context_depth = std::stoi(v);
      else if (k == "synthesis_context") c.synthesis_context = std::stoi(v);
      else throw Error(MSIC_ERR_MODEL, "unknown model config key '" + k + "'");
    }
  } catch (const std::logic_error &e) {
    throw Error(MSIC_ERR_MODEL, "bad number in model config line: " + line);
  }
  c.validate();
  return c;
}

void ModelConfig::validate() const {
  auto bad = [](const std::string &m) { throw Error(MSIC_ERR_MODEL, "invalid model config: " + m); };
  if (levels < 1 || levels > 6) bad("levels must be 1..6");
  if (int(units.size()) != levels || int(coupling_width.size()) != levels)
    bad("units and coupling_width need one value per level");
  if (int(context_width.size()) != latent_count() || int(lrp_width.size()) != latent_count())
    bad("context_width and lrp_width need one value per latent");
  for (int u : units) if (u < 0 || u > 16) bad("units per level must be 0..16");
  for (int w : coupling_width) if (w < 1 || w > 1024) bad("coupling width out of range");
  for (int w : context_width) if (w < 1 || w > 1024) bad("context width out of range");
  for (int w : lrp_width) if (w < 0 || w > 1024) bad("lrp width out of range");
  if (postfilter_width < 0 || postfilter_width > 256) bad("postfilter width out of range");
  if (causal_context != 0 && causal_context != 1) bad("causal_context must be 0 or 1");
  if (synthesis_context < 0 || synthesis_context > levels - 1) bad("synthesis_context must be 0..levels-1");
  if (integer_convolutions != 0 && integer_convolutions != 1) bad("integer_convolutions must be 0 or 1");
  if (context_depth < 1 || context_depth > 4) bad("context_depth must be 1..4");
  if (anchors < 2 || anchors > 64) bad("anchors must be 2..64");
  if (!(scale_min > 0) || scale_steps_per_octave < 1 || scale_count < 2 || scale_count > 512)
    bad("scale table grid");
}

int ModelConfig::level_channels(int level) const { return 12 << level; }

int ModelConfig::latent_channels(int latent) const {
  // Level k (0-based) works on 12 * 2^k channels and lets half of them go.
  if (latent < levels) return level_channels(latent) / 2;
  return level_channels(levels - 1) / 2;
}

int ModelConfig::latent_shift(int latent) const { return latent < levels ? latent + 1 : levels; }

int ModelConfig::first_channel(int latent) const {
  int first = 0;
  for (int l = 0; l < latent; ++l) first += latent_channels(l);
  return first;
}

int ModelConfig::total_latent_channels() const { return first_channel(latent_count()); }

std::vector<int> ModelConfig::context_sources(int latent) const {
  // Coarsest latent: none. The two latents of the last level see each
  // other; every finer latent sees the next coarser level's output(s).
  if (latent == levels) return {};
  if (latent == levels - 1) return {levels};
  if (latent == levels - 2) return {levels - 1, levels};
  return {latent + 1};
}

int ModelConfig::synthesis_channels(int latent) const {
  return latent < levels - 1 && latent >= levels - 1 - synthesis_context ? latent_channels(latent) : 0;
}

int ModelConfig::context_net_inputs(int latent) const {
  return context_channels(latent) + entropy::kSynthesisTaps * synthesis_channels(latent);
}

int ModelConfig::context_channels(int latent) const {
  int c = 0;
  for (int s : context_sources(latent)) c += latent_channels(s);
  return c;
}

double ModelConfig::transform_macs_per_pixel() const {
  double total = 0;
  for (int k = 0; k < levels; ++k) {
    double c = level_channels(k), half = c / 2, w = coupling_width[k];
    double per_position = c * c + 9 * half * w + w * w + 9 * w * c;
    total += units[k] * per_position / double(1 << (2 * (k + 1)));
  }
  return total;
}

double ModelConfig::context_macs_per_pixel() const {
  double total = 0;
  for (int l = 0; l < latent_count(); ++l) {
    double c = latent_channels(l), h = context_width[l];
    // Spatial inputs in the second pass (and causal ones in the first), each
    // for half the positions.
    double per_position =
        h * context_net_inputs(l) + (causal_context ? 1.0 : 0.5) * h * 4 * c + (context_depth - 1) * h * h + 2 * c * h;
    total += per_position / double(1 << (2 * latent_shift(l)));
  }
  return total;
}

double ModelConfig::lrp_macs_per_pixel() const {
  double total = 0;
  for (int l = 0; l < latent_count(); ++l) {
    double c = latent_channels(l), w = lrp_width[l];
    total += (9 * (c + context_channels(l)) * w + 9 * w * c) / double(1 << (2 * latent_shift(l)));
  }
  return total;
}

double ModelConfig::postfilter_macs_per_pixel() const { return 2.0 * 27 * postfilter_width; }

}  // namespace msic
