/* A threaded cache of decoded MSIC tiles, for the loader.
 *
 * libvips asks for rectangles smaller than an MSIC tile, so decoded tiles
 * are kept for the requests that follow. The tiles a request is missing
 * are decoded together, in parallel on the MSIC library's threads. libvips'
 * own vips_tilecache is not used: in 8.14 it turns a tile that fails into a
 * warning and a black tile.
 */
#ifndef MSIC_TILE_CACHE_H
#define MSIC_TILE_CACHE_H

#include <stdint.h>

#include <msic/msic.h>

typedef struct _MsicTileCache MsicTileCache;

/* At most about max_tiles decoded tiles are kept (more while in use). The
 * reader must outlive the cache. */
MsicTileCache *msic_tile_cache_new(msic_reader *reader,
	const msic_file_info *info, int max_tiles);
void msic_tile_cache_free(MsicTileCache *cache);

/* Rows of every cached tile are this many bytes apart. */
size_t msic_tile_cache_stride(const MsicTileCache *cache);

/* Makes the tiles (tx0..tx1, ty0..ty1) ready and in use: from the cache,
 * decoded now (together, in parallel), or waited for while another thread
 * decodes them. -1 if one fails to decode (msic_last_error() says why; no
 * tile is left in use). On success, msic_tile_cache_pixels gives each one,
 * and msic_tile_cache_release must follow. */
int msic_tile_cache_acquire(MsicTileCache *cache,
	uint32_t tx0, uint32_t ty0, uint32_t tx1, uint32_t ty1);
const uint8_t *msic_tile_cache_pixels(MsicTileCache *cache,
	uint32_t tx, uint32_t ty);
void msic_tile_cache_release(MsicTileCache *cache,
	uint32_t tx0, uint32_t ty0, uint32_t tx1, uint32_t ty1);

#endif /* MSIC_TILE_CACHE_H */
