#include "api/context.h"

#include <thread>

#include "api/model_library.h"
#include "entropy/context_model.h"
#include "errors.h"
#include "sha256.h"

extern "C" const uint8_t msic_default_model_data[];
extern "C" const uint8_t msic_default_model_end[];
extern "C" const char msic_default_model_sha256[64];

namespace msic {

Context::Context(ModelFile model) {
  checked_.emplace(model);  // tables and context nets; the network later
  hash_hex_ = to_hex(model.hash.data(), 32);
  model_ = std::move(model);
  set_memory_limit(decode_memory_.limit());  // (the environment's, if set)
}

void Context::set_memory_limit(uint64_t bytes) {
  decode_memory_.set_limit(bytes);
  buffers_.get()->set_retain(
      size_t(bytes && bytes < BufferPool::kDefaultRetain ? bytes : uint64_t(BufferPool::kDefaultRetain)));
}

std::array<uint8_t, 32> Context::embedded_model_hash() {
  std::array<uint8_t, 32> hash;
  for (int i = 0; i < 32; ++i) {
    auto nibble = [](char c) { return uint8_t(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10); };
    hash[i] = uint8_t(nibble(msic_default_model_sha256[2 * i]) << 4 | nibble(msic_default_model_sha256[2 * i + 1]));
  }
  return hash;
}

ModelFile Context::embedded_model() {
  const std::array<uint8_t, 32> hash = embedded_model_hash();
  return ModelFile::parse_static(msic_default_model_data, size_t(msic_default_model_end - msic_default_model_data), &hash);
}

Context &Context::embedded() {
  static std::once_flag once;
  static Context *context = nullptr;
  static std::string error;
  std::call_once(once, [] {
    try {
      context = new Context(embedded_model());  // lives as long as the process
    } catch (const std::exception &e) {
      error = e.what();
    }
  });
  if (!context) throw Error(MSIC_ERR_MODEL, "the embedded model does not load: " + error);
  return *context;
}

int Context::threads(int requested) const {
  if (requested > 0) return requested;
  if (threads_ > 0) return threads_;
  unsigned n = std::thread::hardware_concurrency();
  return n ? int(n) : 1;
}

const TileCodec &Context::codec() {
  std::call_once(codec_once_, [this] {  // retried if it threw
    // (A try that threw used up the checked context model: made again.)
    entropy::ContextModel context = checked_ ? std::move(*checked_) : entropy::ContextModel(model_);
    checked_.reset();
    codec_ = std::make_unique<TileCodec>(model_, std::move(context));
  });
  return *codec_;
}

const TileCodec &Context::codec_for(const std::array<uint8_t, 32> &model_hash) {
  if (model_hash == model_.hash) return codec();
  if (model_hash == embedded_model_hash()) return embedded().codec();  // the process's one
  {
    std::lock_guard<std::mutex> lock(other_codecs_mutex_);
    auto it = other_codecs_.find(model_hash);
    if (it != other_codecs_.end()) return *it->second;
  }
  // Searched for and made outside the lock (a search reads files); if
  // another thread made it meanwhile, the first one kept serves both.
  std::optional<ModelFile> model = find_model(model_hash);
  if (!model)
    throw Error(MSIC_ERR_MODEL, "this file was coded with model " + to_hex(model_hash.data(), 32) +
                                    ", which is not the loaded model '" + model_.config.name + "' (" + hash_hex_ +
                                    ") and was not found (looked in " + model_search_path() +
                                    "); load the model file with that hash, or put it in a folder named by "
                                    "MSIC_MODEL_PATH");
  auto made = std::make_unique<TileCodec>(*model);
  std::lock_guard<std::mutex> lock(other_codecs_mutex_);
  return *other_codecs_.emplace(model_hash, std::move(made)).first->second;
}

}  // namespace msic
