// The C library allocator's policy for large buffers, which Swift cannot reach on its own.
//
// glibc serves a request above its mmap threshold (128 KiB at start) with a fresh mmap and
// returns it with munmap, and trims the top of the heap when more than its trim threshold is
// free. A training step frees and allocates the same large tensors every time, so each of them
// cost an mmap, a page fault per 4 KiB and an munmap: measured here, a 784-256-128-10 MLP step
// went from 1.8 to 2.8 ms once the heap had been used for many small objects. glibc adapts both
// thresholds by itself, but only after certain frees, and its heuristics failed in that state.

#include "BackpropKernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__GLIBC__)
#include <malloc.h>

int bp_keep_large_buffers(void) {
  const char *setting = getenv("BACKPROP_MALLOC");
  if (setting != NULL && strcmp(setting, "system") == 0) return 0;
  // The values glibc's own adaptive policy reaches at most on 64-bit systems: buffers up to
  // 32 MiB come from the heap, and up to 64 MiB of free heap is kept for reuse.
  return mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024) == 1 && mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024) == 1;
}
#else
int bp_keep_large_buffers(void) { return 0; }
#endif
