/* Lets the ASan and TSan runtimes start inside the vips and GDAL programs
 * (preloaded by tools/sanitize.sh after the runtime; not part of any
 * product).
 *
 * Those programs are not instrumented, so a preloaded sanitizer runtime
 * starts lazily, on the first malloc. In vips that malloc comes from
 * p11-kit's constructor, inside newlocale(), which holds glibc's locale
 * lock for writing; the runtime's start-up then looks up swift_demangle
 * with dlsym and clears the failure with dlerror(), whose message
 * translation takes the same lock for reading. The reader's unlock releases
 * the writer's lock, newlocale's own unlock then drives the reader count
 * negative, and the program's next setlocale() waits forever (every vips
 * command hangs before main() gets going).
 *
 * With this symbol the lookup succeeds, dlerror() has nothing to translate,
 * and the lock is never touched. The runtimes only call it for names that
 * look like Swift's; returning NULL makes them fall back to the C++
 * demangler. */
#include <stddef.h>
#include <stdint.h>

__attribute__((visibility("default"))) char *swift_demangle(const char *mangled, size_t length, char *out,
                                                           size_t *out_length, uint32_t flags) {
  (void)mangled;
  (void)length;
  (void)out;
  (void)out_length;
  (void)flags;
  return NULL;
}
