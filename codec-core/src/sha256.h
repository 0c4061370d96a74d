// SHA-256, for the content hash that ties a file to its model.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace msic {
std::array<uint8_t, 32> sha256(const void *data, size_t size);
std::string to_hex(const uint8_t *bytes, size_t size);
}  // namespace msic
