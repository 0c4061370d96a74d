// Target 1: the container alone (formats/, no codec). ContainerReader on the
// input, strict and, when that refuses the file, in recovery mode (tiles
// found by their frames); then every box's bytes, every tile read (CRC) and
// its payload header parsed. msic::Error is the only exception the reader
// may throw: anything else escapes and aborts the run.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "container.h"
#include "tile_payload.h"

namespace {

using namespace msic::format;

void check(const ContainerReader &reader, size_t size) {
  const Header &h = reader.header();
  // What every reader derives from the header must hold for a file the
  // container accepted.
  if (h.tile_count() == 0 || h.tiles_across() == 0 || h.tiles_down() == 0) __builtin_trap();
  validate_header(h);
  uint64_t box_bytes = 0;
  for (size_t i = 0; i < reader.box_count(); ++i) {
    reader.box_type(i);
    const std::vector<uint8_t> &data = reader.box_data(i);
    if (data.size() != reader.box_size(i)) __builtin_trap();
    box_bytes += data.size() + 12;
  }
  if (box_bytes > size) __builtin_trap();
  for (uint64_t i = 0; i < h.tile_count(); ++i) {
    if (!reader.tile_present(i)) continue;
    const TileEntry &e = reader.tile_entry(i);
    if (e.offset > size || e.length > size - e.offset) __builtin_trap();
    try {
      std::vector<uint8_t> tile = reader.read_tile(i);
      TilePayloadHeader::parse(tile.data(), tile.size());
    } catch (const msic::Error &) {
    }
  }
  if (reader.tiles_missing() > h.tile_count()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto read_at = [data, size](uint64_t off, void *buf, size_t n) -> size_t {
    // The reader never asks for nothing: an empty box or payload is not
    // read (container.cpp, read_exact), since its buffer may be NULL, which
    // a read function such as libmsic's memory reader hands to memcpy.
    if (!buf || n == 0) __builtin_trap();
    if (off >= size) return 0;
    if (n > size - off) n = size_t(size - off);
    memcpy(buf, data + off, n);
    return n;
  };
  for (auto mode : {ContainerReader::OpenMode::kStrict, ContainerReader::OpenMode::kRecover}) {
    try {
      ContainerReader reader(read_at, size, mode);
      check(reader, size);
      break;  // the recovery mode is for files the strict mode refuses
    } catch (const msic::Error &) {
    }
  }
  return 0;
}
