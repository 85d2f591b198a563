// The C library allocator's policy for large buffers, which Swift cannot set on its own.
// Why Backprop sets it, what it costs and how to opt out: MallocThresholds.swift in BackpropTensor.

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
