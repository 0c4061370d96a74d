// The custom mutator every MSIC fuzzer links. Almost every byte of an MSIC
// file is covered by a CRC-32 (header, index, each tile), so plain mutations
// stop at the checksum and never reach the box parser, the index checks or
// the entropy decoder. After libFuzzer's own mutation this mutator usually
// recomputes every CRC it can find (header, index entries and the tile
// frames of format 1.1, found through the index and by walking the frames
// from the header on); one mutation in eight keeps the wrong ones, so the
// checksum paths stay covered too. Some mutations are aimed at one tile's
// payload (whose length may shrink; its index entry and frame follow), at
// the header and its boxes, or cut the file short (a partial copy: the
// index is lost and a recovering reader walks the frames).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

extern "C" size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

namespace {

uint32_t crc_table[256];
bool crc_ready = [] {
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    crc_table[n] = c;
  }
  return true;
}();

uint32_t crc32(const uint8_t *p, size_t n) {
  uint32_t c = ~0u;
  while (n--) c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
  return ~c;
}

uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | uint32_t(p[3]) << 24; }
uint64_t le64(const uint8_t *p) { return le32(p) | uint64_t(le32(p + 4)) << 32; }
void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}

constexpr uint8_t kMagic[8] = {0x89, 'M', 'S', 'I', 'C', '\r', '\n', 0x1a};
constexpr size_t kFixed = 96, kTrailer = 32, kEntry = 16;

// The index as the trailer describes it, if it lies inside the data.
bool find_index(const uint8_t *d, size_t size, size_t &index, size_t &count) {
  if (size < kFixed + 4 + kTrailer || memcmp(d, kMagic, 8) != 0) return false;
  const uint8_t *t = d + size - kTrailer;
  uint64_t off = le64(t), n = le32(t + 8);
  if (off > size - kTrailer || n > (size - kTrailer - off) / kEntry) return false;
  index = size_t(off);
  count = size_t(n);
  return true;
}

constexpr size_t kFrame = 16;  // "TILE", tile number, length, CRC-32 (format 1.1)

bool is_frame(const uint8_t *d, size_t size, uint64_t at, const char *magic = "TILE") {
  return at + kFrame <= size && memcmp(d + at, magic, 4) == 0;
}

// One index entry's CRC (and its frame's length and CRC) from the bytes it
// points at.
void fix_entry(uint8_t *d, size_t size, uint8_t *e, const char *magic) {
  uint64_t off = le64(e), len = le32(e + 8);
  if (off > size || len > size - off) return;
  uint32_t crc = crc32(d + off, size_t(len));
  put32(e + 12, crc);
  if (off >= kFrame && is_frame(d, size, off - kFrame, magic)) {
    put32(d + off - kFrame + 8, uint32_t(len));
    put32(d + off - kFrame + 12, crc);
  }
}

// Reduced levels (1.3): the level tiles' entries in their directory, and
// the directory's CRC in the locator just before the index.
void fix_level_checksums(uint8_t *d, size_t size, size_t index) {
  if (index < 32 || memcmp(d + index - 32, "MSICLVL", 8) != 0) return;
  const uint64_t dir = le64(d + index - 24), dir_size = le64(d + index - 16);
  if (dir > index - 32 || dir_size != index - 32 - dir || dir_size < 4) return;
  uint8_t *p = d + dir;
  size_t pos = 4;
  for (uint32_t l = 0, levels = le32(p); l < levels && pos + 8 <= dir_size; ++l) {
    const uint32_t tiles = le32(p + pos + 4);
    pos += 8;
    for (uint32_t t = 0; t < tiles && pos + kEntry <= dir_size; ++t, pos += kEntry)
      fix_entry(d, size, p + pos, "LTIL");
  }
  put32(d + index - 8, crc32(p, size_t(dir_size)));
}

void fix_checksums(uint8_t *d, size_t size) {
  if (size < kFixed + 4 || memcmp(d, kMagic, 8) != 0) return;
  uint32_t hs = le32(d + 12);
  if (hs < kFixed + 4 || hs > size) return;
  put32(d + hs - 4, crc32(d, hs - 4));
  // The frames, one after the other from the end of the header.
  for (uint64_t at = hs; is_frame(d, size, at);) {
    uint64_t len = le32(d + at + 8);
    if (len > size - at - kFrame) break;
    put32(d + at + 12, crc32(d + at + kFrame, size_t(len)));
    at += kFrame + len;
  }
  size_t index, count;
  if (!find_index(d, size, index, count)) return;
  for (size_t i = 0; i < count; ++i) fix_entry(d, size, d + index + i * kEntry, "TILE");
  fix_level_checksums(d, size, index);
  put32(d + size - kTrailer + 12, crc32(d + index, count * kEntry));
}

// Mutates the bytes [begin, begin + len) in place; returns their new length
// (<= len: the rest of the range is left as it was).
size_t mutate_range(uint8_t *d, size_t begin, size_t len) {
  if (len == 0) return 0;
  std::vector<uint8_t> part(d + begin, d + begin + len);
  size_t n = LLVMFuzzerMutate(part.data(), len, len);
  memcpy(d + begin, part.data(), n);
  return n;
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
  size_t index, count;
  switch (seed % 8) {
    case 2:
      // Cut short somewhere after the header: a partial copy.
      if (size >= kFixed + 4 && memcmp(data, kMagic, 8) == 0 && le32(data + 12) < size) {
        size_t hs = le32(data + 12);
        size = hs + (seed / 8) % (size - hs);
        break;
      }
      size = LLVMFuzzerMutate(data, size, max_size);
      break;
    case 3:
    case 4:
    case 5:
      // One tile's payload; a shorter payload shortens its index entry.
      if (find_index(data, size, index, count) && count) {
        uint8_t *e = data + index + (seed / 8) % count * kEntry;
        uint64_t off = le64(e), len = le32(e + 8);
        if (off <= size && len <= size - off && len) {
          put32(e + 8, uint32_t(mutate_range(data, size_t(off), size_t(len))));
          break;
        }
      }
      size = LLVMFuzzerMutate(data, size, max_size);
      break;
    case 6:
      // The fixed header and the boxes.
      if (size >= kFixed + 4 + kTrailer && memcmp(data, kMagic, 8) == 0 && le32(data + 12) <= size &&
          le32(data + 12) >= kFixed + 4) {
        mutate_range(data, 8, le32(data + 12) - 8 - 4);
        break;
      }
      size = LLVMFuzzerMutate(data, size, max_size);
      break;
    case 7:
      return LLVMFuzzerMutate(data, size, max_size);  // checksums left as they fall
    default:
      size = LLVMFuzzerMutate(data, size, max_size);
  }
  fix_checksums(data, size);
  return size;
}
