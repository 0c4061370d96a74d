// Channels x height x width floats, row-major: an image, a latent or an
// activation of one tile (no batch dimension). What the engine's kernels
// take and give, and the latents the context model codes.
#pragma once
#include <cstddef>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace msic {

// An allocator whose vectors leave new elements uninitialised: every plane
// a kernel makes is written whole before it is read, and zero-filling
// fresh planes was a fifth of a tile's decode. (Values given explicitly,
// as in assign(n, 0.0f), are still written.)
template <class T>
struct UninitializedAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  UninitializedAllocator() = default;
  template <class U>
  UninitializedAllocator(const UninitializedAllocator<U> &) noexcept {}
  template <class U>
  void construct(U *p) noexcept {
    ::new (static_cast<void *>(p)) U;
  }
  template <class U, class... Args>
  void construct(U *p, Args &&...args) {
    ::new (static_cast<void *>(p)) U(std::forward<Args>(args)...);
  }
};

struct Planes {
  int channels = 0, height = 0, width = 0;
  std::vector<float, UninitializedAllocator<float>> values;  // every value written before use

  Planes() = default;
  Planes(int c, int h, int w) : channels(c), height(h), width(w), values(size_t(c) * h * w) {}
  size_t plane_size() const { return size_t(height) * width; }
  float *plane(int c) { return values.data() + size_t(c) * plane_size(); }
  const float *plane(int c) const { return values.data() + size_t(c) * plane_size(); }
};

}  // namespace msic
