// Shared by the fuzz targets: what counts as a finding besides a sanitizer
// report, and the size limits that keep executions fast.
#pragma once
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <msic/msic.h>

/* Whole images are decoded only up to this many pixels; larger ones get a
 * window and a few tiles. */
#define MSIC_FUZZ_WHOLE_PIXELS (512u * 512u)
/* The window every target decodes (at a third of the image). */
#define MSIC_FUZZ_WINDOW 48u
/* Output buffers larger than this are not asked for (a header may claim
 * 1024 bands of floats in 4096-pixel tiles). */
#define MSIC_FUZZ_MAX_BUFFER (256ull << 20)

/* A hostile file must give a clean error. MSIC_ERR_INTERNAL is what the C
 * layer makes of an unexpected exception (std::out_of_range, a logic error,
 * a backend that does not load): abort, so that libFuzzer records the input. */
static inline void msic_fuzz_check(msic_status status, const char *what) {
  if (status == MSIC_ERR_INTERNAL) {
    fprintf(stderr, "==msic-fuzz== %s: MSIC_ERR_INTERNAL: %s\n", what, msic_last_error());
    abort();
  }
}
