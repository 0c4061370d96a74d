/* Makes GLib's own synchronisation visible to ThreadSanitizer, for the TSan
 * runs of tools/sanitize.sh (preloaded into the test programs; not part of
 * any product).
 *
 * Debian's GLib is not instrumented, and on Linux its GMutex and GCond are
 * built on raw futexes, which TSan cannot see: every access that libvips or
 * our libvips module orders with a GMutex (msic_tile_cache.c, the saver's
 * writes through libvips' sink) would be reported as a race. This library
 * interposes the GLib functions that other libraries call through the PLT
 * (libvips, libgobject, vips-msic.so) and tells TSan what they do:
 * g_mutex_lock/trylock/unlock and g_cond_wait/wait_until, as mutex
 * operations (TSan's mutex annotations). libvips' threads hand work over
 * with these (vips_semaphore is a GMutex and a GCond).
 * GRecMutex and GRWLock are pthread objects inside GLib and visible already.
 * GLib's calls to itself do not go through the PLT and stay invisible; with
 * TSAN_OPTIONS=ignore_noninstrumented_modules=1 the memory accesses of
 * uninstrumented libraries are ignored anyway, so what is checked is our
 * instrumented code.
 *
 * In a process without the TSan runtime (a program a test starts) the
 * annotations are absent (weak) and every function just calls GLib's. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

typedef int gboolean;
typedef int64_t gint64;
typedef struct GMutex GMutex;
typedef struct GCond GCond;
typedef void (*lock_fn)(GMutex *);
typedef gboolean (*trylock_fn)(GMutex *);
typedef void (*wait_fn)(GCond *, GMutex *);
typedef gboolean (*wait_until_fn)(GCond *, GMutex *, gint64);

#define TRY_LOCK (1u << 4)
#define TRY_LOCK_FAILED (1u << 5)

void __tsan_mutex_pre_lock(void *addr, unsigned flags) __attribute__((weak));
void __tsan_mutex_post_lock(void *addr, unsigned flags, int recursion) __attribute__((weak));
int __tsan_mutex_pre_unlock(void *addr, unsigned flags) __attribute__((weak));
void __tsan_mutex_post_unlock(void *addr, unsigned flags) __attribute__((weak));

/* GLib's function: next in the global scope, or, when GLib came in with a
 * library that was dlopen'ed RTLD_LOCAL (LibTorch's dependencies under
 * GDAL did, when libmsic loaded LibTorch), in GLib itself. */
static void *real(const char *name) {
  void *f = dlsym(RTLD_NEXT, name);
  if (!f) {
    void *glib = dlopen("libglib-2.0.so.0", RTLD_LAZY | RTLD_NOLOAD);
    if (glib) f = dlsym(glib, name);
  }
  if (!f) abort();
  return f;
}
#define REAL(type, name) \
  static type real_fn; \
  if (!real_fn) real_fn = (type)real(name)

static void locked(void *m, unsigned flags) {
  if (__tsan_mutex_post_lock) __tsan_mutex_post_lock(m, flags, 0);
}
static void before_lock(void *m, unsigned flags) {
  if (__tsan_mutex_pre_lock) __tsan_mutex_pre_lock(m, flags);
}
static void unlocking(void *m) {
  if (__tsan_mutex_pre_unlock) __tsan_mutex_pre_unlock(m, 0);
}
static void unlocked(void *m) {
  if (__tsan_mutex_post_unlock) __tsan_mutex_post_unlock(m, 0);
}

void g_mutex_lock(GMutex *m) {
  REAL(lock_fn, "g_mutex_lock");
  before_lock(m, 0);
  real_fn(m);
  locked(m, 0);
}

gboolean g_mutex_trylock(GMutex *m) {
  REAL(trylock_fn, "g_mutex_trylock");
  before_lock(m, TRY_LOCK);
  gboolean ok = real_fn(m);
  locked(m, ok ? TRY_LOCK : TRY_LOCK | TRY_LOCK_FAILED);
  return ok;
}

void g_mutex_unlock(GMutex *m) {
  REAL(lock_fn, "g_mutex_unlock");
  unlocking(m);
  real_fn(m);
  unlocked(m);
}

/* The wait releases the mutex and takes it again before returning. */
void g_cond_wait(GCond *c, GMutex *m) {
  REAL(wait_fn, "g_cond_wait");
  unlocking(m);
  unlocked(m);
  real_fn(c, m);
  before_lock(m, 0);
  locked(m, 0);
}

gboolean g_cond_wait_until(GCond *c, GMutex *m, gint64 end_time) {
  REAL(wait_until_fn, "g_cond_wait_until");
  unlocking(m);
  unlocked(m);
  gboolean signalled = real_fn(c, m, end_time);
  before_lock(m, 0);
  locked(m, 0);
  return signalled;
}
