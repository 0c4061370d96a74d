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

#include <glib.h>

#include <msic/msic.h>

typedef struct _MsicTileCache MsicTileCache;

/* Tiles of `level` (0: the image; else a reduced level, see
 * msic_reader_get_level). At most about max_tiles decoded tiles are kept
 * (more while in use). The reader must outlive the cache. NULL if the
 * level does not exist. */
MsicTileCache *msic_tile_cache_new(msic_reader *reader,
	const msic_file_info *info, uint32_t level, int max_tiles);
void msic_tile_cache_free(MsicTileCache *cache);

/* Rows of every cached tile are this many bytes apart. */
size_t msic_tile_cache_stride(const MsicTileCache *cache);

/* acquire's results. A tile that failed alone is remembered as lost and
 * never decoded again: a damaged tile must not cost a decode for every
 * request that touches it (libvips asks for strips a few lines high). */
#define MSIC_TILE_CACHE_FAILED (-1) /* a tile failed to decode just now */
#define MSIC_TILE_CACHE_LOST (-2)   /* a tile is known lost, not retried */

/* Makes the tiles (tx0..tx1, ty0..ty1) ready and in use: from the cache,
 * decoded now (together, in parallel), or waited for while another thread
 * decodes them. 0 on success: msic_tile_cache_pixels gives each one, and
 * msic_tile_cache_release must follow. Otherwise FAILED or LOST, no tile
 * is left in use, and *why (if why is not NULL) is the reason, to g_free. */
int msic_tile_cache_acquire(MsicTileCache *cache,
	uint32_t tx0, uint32_t ty0, uint32_t tx1, uint32_t ty1, char **why);
const uint8_t *msic_tile_cache_pixels(MsicTileCache *cache,
	uint32_t tx, uint32_t ty);
void msic_tile_cache_release(MsicTileCache *cache,
	uint32_t tx0, uint32_t ty0, uint32_t tx1, uint32_t ty1);

/* For a tile that failed: TRUE the first time it is asked about a tile
 * known lost (the one time to warn, whichever thread or request met the
 * failure), and every time for a tile not remembered as lost (it failed
 * for lack of memory and is tried again). */
gboolean msic_tile_cache_report_once(MsicTileCache *cache,
	uint32_t tx, uint32_t ty);

#endif /* MSIC_TILE_CACHE_H */
