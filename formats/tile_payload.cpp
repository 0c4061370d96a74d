#include "tile_payload.h"

#include "byte_order.h"
#include "errors.h"

namespace msic::format {

namespace {
constexpr uint8_t kFlagGrey = 1;
}

void TilePayloadHeader::append_to(std::vector<uint8_t> &out) const {
  if (coded_width > 0xffff || coded_height > 0xffff)
    throw Error(MSIC_ERR_INTERNAL, "tile too large for its payload header");
  uint8_t h[kSize] = {kVersion, uint8_t(grey ? kFlagGrey : 0)};
  store_le16(h + 2, uint16_t(coded_width));
  store_le16(h + 4, uint16_t(coded_height));
  store_le32(h + 8, escapes);  // bytes 6..7 stay zero (reserved)
  out.insert(out.end(), h, h + kSize);
}

TilePayloadHeader TilePayloadHeader::parse(const uint8_t *p, size_t size) {
  if (size < kSize || p[0] != kVersion || (p[1] & ~kFlagGrey) || load_le16(p + 6) != 0)
    throw Error(MSIC_ERR_FORMAT, "corrupt tile (bad payload header)");
  TilePayloadHeader h;
  h.grey = p[1] & kFlagGrey;
  h.coded_width = load_le16(p + 2);
  h.coded_height = load_le16(p + 4);
  h.escapes = load_le32(p + 8);
  return h;
}

}  // namespace msic::format
