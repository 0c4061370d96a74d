#include "msic_tile_cache.h"

#include <glib.h>

typedef enum {
	TILE_DECODING, /* a thread decodes it; others wait */
	TILE_READY
} TileState;

typedef struct {
	gint64 index; /* ty * tiles_across + tx; the hash key */
	TileState state;
	int users;
	guint64 last_use;
	uint8_t *pixels;
} Tile;

typedef struct {
	char *why;
	gboolean reported;
} LostTile;

static void
lost_tile_free(gpointer data)
{
	LostTile *lost = (LostTile *) data;

	g_free(lost->why);
	g_free(lost);
}

struct _MsicTileCache {
	msic_reader *reader;
	msic_file_info info;
	uint32_t level;
	uint32_t tiles_across; /* of the level */
	int max_tiles;

	GMutex lock;
	GCond changed;
	GHashTable *tiles; /* &Tile.index -> Tile */
	GHashTable *lost;  /* gint64 index -> LostTile */
	guint64 clock;
};

static void
tile_free(gpointer data)
{
	Tile *tile = (Tile *) data;

	g_free(tile->pixels);
	g_free(tile);
}

MsicTileCache *
msic_tile_cache_new(msic_reader *reader, const msic_file_info *info,
	uint32_t level, int max_tiles)
{
	MsicTileCache *cache;
	msic_level_info shape;

	if (msic_reader_get_level(reader, level, &shape) != MSIC_OK)
		return NULL;
	cache = g_new0(MsicTileCache, 1);
	cache->reader = reader;
	cache->info = *info;
	cache->level = level;
	cache->tiles_across = shape.tiles_across;
	cache->max_tiles = max_tiles < 1 ? 1 : max_tiles;
	g_mutex_init(&cache->lock);
	g_cond_init(&cache->changed);
	cache->tiles = g_hash_table_new_full(g_int64_hash, g_int64_equal,
		NULL, tile_free);
	cache->lost = g_hash_table_new_full(g_int64_hash, g_int64_equal,
		g_free, lost_tile_free);

	return cache;
}

void
msic_tile_cache_free(MsicTileCache *cache)
{
	if (!cache)
		return;
	g_hash_table_destroy(cache->tiles);
	g_hash_table_destroy(cache->lost);
	g_cond_clear(&cache->changed);
	g_mutex_clear(&cache->lock);
	g_free(cache);
}

size_t
msic_tile_cache_stride(const MsicTileCache *cache)
{
	return (size_t) cache->info.tile_size * cache->info.image.bands *
		(cache->info.image.bit_depth / 8);
}

static gint64
tile_index(const MsicTileCache *cache, uint32_t tx, uint32_t ty)
{
	return (gint64) ty * cache->tiles_across + tx;
}

/* Drops the least recently used tiles nobody uses, down to below the
 * limit. With the lock held. */
static void
evict(MsicTileCache *cache)
{
	while (g_hash_table_size(cache->tiles) >= (guint) cache->max_tiles) {
		GHashTableIter iter;
		gpointer key, value;
		Tile *oldest = NULL;

		g_hash_table_iter_init(&iter, cache->tiles);
		while (g_hash_table_iter_next(&iter, &key, &value)) {
			Tile *tile = (Tile *) value;

			if (tile->state == TILE_READY && tile->users == 0 &&
				(!oldest || tile->last_use < oldest->last_use))
				oldest = tile;
		}
		if (!oldest)
			return; /* all in use: over the limit for now */
		g_hash_table_remove(cache->tiles, &oldest->index);
	}
}

/* Releases the first `count` tiles of the rectangle, in row order. */
static void
release_first(MsicTileCache *cache, uint32_t tx0, uint32_t ty0,
	uint32_t tx1, guint count)
{
	const uint32_t across = tx1 - tx0 + 1;
	guint i;

	for (i = 0; i < count; i++) {
		gint64 index = tile_index(cache, tx0 + i % across,
			ty0 + i / across);
		Tile *tile = g_hash_table_lookup(cache->tiles, &index);

		if (tile && tile->users > 0)
			tile->users -= 1;
	}
}

/* The reason a known-lost tile in the rectangle was lost, or NULL. With
 * the lock held. */
static const char *
lost_in(MsicTileCache *cache, uint32_t tx0, uint32_t ty0,
	uint32_t tx1, uint32_t ty1)
{
	uint32_t tx, ty;

	if (g_hash_table_size(cache->lost) == 0)
		return NULL;
	for (ty = ty0; ty <= ty1; ty++)
		for (tx = tx0; tx <= tx1; tx++) {
			const gint64 index = tile_index(cache, tx, ty);
			const LostTile *lost =
				g_hash_table_lookup(cache->lost, &index);

			if (lost)
				return lost->why;
		}

	return NULL;
}

int
msic_tile_cache_acquire(MsicTileCache *cache,
	uint32_t tx0, uint32_t ty0, uint32_t tx1, uint32_t ty1, char **why)
{
	const uint32_t across = tx1 - tx0 + 1;
	const guint n = across * (ty1 - ty0 + 1);
	const size_t stride = msic_tile_cache_stride(cache);
	const size_t bytes = stride * cache->info.tile_size;
	uint32_t *xs = g_new(uint32_t, n);
	uint32_t *ys = g_new(uint32_t, n);
	uint8_t **outs = g_new0(uint8_t *, n);
	Tile **mine = g_new(Tile *, n);
	guint todo = 0, i;
	msic_status status = MSIC_OK;
	const char *known;
	const LostTile *lost;
	int result;

	g_mutex_lock(&cache->lock);
	if ((known = lost_in(cache, tx0, ty0, tx1, ty1))) {
		result = MSIC_TILE_CACHE_LOST;
		goto out;
	}
	/* Take what is ready, claim what nobody decodes, wait for the rest;
	 * tiles are taken in row order, so two threads never wait on each
	 * other. */
	for (i = 0; i < n; i++) {
		const uint32_t tx = tx0 + i % across, ty = ty0 + i / across;
		const gint64 index = tile_index(cache, tx, ty);
		Tile *tile;

		while ((tile = g_hash_table_lookup(cache->tiles, &index)) &&
			tile->state == TILE_DECODING)
			g_cond_wait(&cache->changed, &cache->lock);
		if (!tile &&
			(lost = g_hash_table_lookup(cache->lost, &index))) {
			known = lost->why;
			/* It failed in the thread we waited for: give back
			 * what we took and claimed. */
			release_first(cache, tx0, ty0, tx1, i);
			while (todo > 0)
				g_hash_table_remove(cache->tiles,
					&mine[--todo]->index);
			result = MSIC_TILE_CACHE_LOST;
			goto out;
		}
		if (!tile) {
			evict(cache);
			tile = g_new0(Tile, 1);
			tile->index = index;
			tile->state = TILE_DECODING;
			g_hash_table_insert(cache->tiles, &tile->index, tile);
			xs[todo] = tx;
			ys[todo] = ty;
			mine[todo] = tile;
			todo += 1;
		}
		tile->users += 1;
		tile->last_use = ++cache->clock;
	}
	g_mutex_unlock(&cache->lock);

	/* Decode what we claimed together, without the lock. */
	for (i = 0; i < todo && status == MSIC_OK; i++)
		if (!(outs[i] = g_try_malloc(bytes)))
			status = MSIC_ERR_NOMEM;
	if (todo && status == MSIC_OK)
		status = msic_reader_decode_level_tiles(cache->reader,
			cache->level, todo, xs, ys, outs, stride, 0);
	/* msic_last_error() is this thread's: read it before the lock. */
	known = status == MSIC_OK ? NULL : msic_last_error();

	g_mutex_lock(&cache->lock);
	if (known && todo == 1 && status != MSIC_ERR_NOMEM) {
		gint64 *index = g_new(gint64, 1);
		LostTile *entry = g_new0(LostTile, 1);

		*index = mine[0]->index;
		entry->why = g_strdup(known);
		g_hash_table_replace(cache->lost, index, entry);
	}
	for (i = 0; i < todo; i++) {
		if (status == MSIC_OK) {
			mine[i]->pixels = outs[i];
			mine[i]->state = TILE_READY;
		}
		else {
			/* Gone: waiting threads find it lost (a tile that
			 * failed alone) or decode it alone themselves. */
			g_free(outs[i]);
			g_hash_table_remove(cache->tiles, &mine[i]->index);
		}
	}
	if (status != MSIC_OK)
		release_first(cache, tx0, ty0, tx1, n);
	result = status == MSIC_OK ? 0 : MSIC_TILE_CACHE_FAILED;

out:
	if (result && why)
		*why = g_strdup(known);
	g_cond_broadcast(&cache->changed);
	g_mutex_unlock(&cache->lock);
	g_free(xs);
	g_free(ys);
	g_free(outs);
	g_free(mine);

	return result;
}

const uint8_t *
msic_tile_cache_pixels(MsicTileCache *cache, uint32_t tx, uint32_t ty)
{
	const gint64 index = tile_index(cache, tx, ty);
	Tile *tile;

	g_mutex_lock(&cache->lock);
	tile = g_hash_table_lookup(cache->tiles, &index);
	g_mutex_unlock(&cache->lock);

	return tile ? tile->pixels : NULL;
}

void
msic_tile_cache_release(MsicTileCache *cache,
	uint32_t tx0, uint32_t ty0, uint32_t tx1, uint32_t ty1)
{
	g_mutex_lock(&cache->lock);
	release_first(cache, tx0, ty0, tx1,
		(tx1 - tx0 + 1) * (ty1 - ty0 + 1));
	g_mutex_unlock(&cache->lock);
}

gboolean
msic_tile_cache_report_once(MsicTileCache *cache, uint32_t tx, uint32_t ty)
{
	const gint64 index = tile_index(cache, tx, ty);
	LostTile *lost;
	gboolean first = TRUE;

	g_mutex_lock(&cache->lock);
	if ((lost = g_hash_table_lookup(cache->lost, &index))) {
		first = !lost->reported;
		lost->reported = TRUE;
	}
	g_mutex_unlock(&cache->lock);

	return first;
}
