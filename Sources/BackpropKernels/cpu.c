// The kernel path of this process: the best the processor runs, or the one the environment
// variable BACKPROP_KERNELS asks for (as OPENBLAS_CORETYPE does for OpenBLAS), for tests and
// comparisons. Chosen once, on the first kernel call. On Apple platforms the matrix products go
// to Accelerate unless BACKPROP_KERNELS names one of Backprop's own paths.

#include "cpu.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Atomic int chosenPath = -1;

/// The best path this processor runs.
static int bestPath(void) {
#if BP_X86
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return BP_PATH_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return BP_PATH_AVX2;
#endif
#if BP_NEON
  return BP_PATH_NEON;
#endif
  return BP_PATH_PORTABLE;
}

/// The path BACKPROP_KERNELS asks for, when this build has it and the processor runs it; a
/// sentence on standard error and the best path otherwise.
static int requestedPath(int best) {
  const char *request = getenv("BACKPROP_KERNELS");
  if (!request || !*request) return best;
  if (strcmp(request, "accelerate") == 0) {
#if !defined(__APPLE__)
    fprintf(stderr, "Backprop: BACKPROP_KERNELS=accelerate, but Accelerate is Apple's; using %s\n",
            bp_kernel_path_name(best));
#endif
    return best;
  }
  if (strcmp(request, "portable") == 0) return BP_PATH_PORTABLE;
  if (strcmp(request, "avx2") == 0) {
    if (best == BP_PATH_AVX2 || best == BP_PATH_AVX512) return BP_PATH_AVX2;
    fprintf(stderr, "Backprop: BACKPROP_KERNELS=avx2, but this processor lacks AVX2 and FMA; "
                    "using the portable kernels\n");
    return best;
  }
  if (strcmp(request, "neon") == 0) {
    if (best == BP_PATH_NEON) return BP_PATH_NEON;
    fprintf(stderr, "Backprop: BACKPROP_KERNELS=neon, but this is not an AArch64 processor; using %s\n",
            bp_kernel_path_name(best));
    return best;
  }
  if (strcmp(request, "avx512") == 0) {
    if (best == BP_PATH_AVX512) return BP_PATH_AVX512;
    fprintf(stderr,
            "Backprop: BACKPROP_KERNELS=avx512, but this processor lacks AVX-512 (F, DQ, BW, VL); using %s\n",
            bp_kernel_path_name(best));
    return best;
  }
  fprintf(stderr,
          "Backprop: BACKPROP_KERNELS=%s is not a kernel path (portable, avx2, avx512, neon, accelerate); "
          "using %s\n",
          request, bp_kernel_path_name(best));
  return best;
}

int bp_kernel_path(void) {
  int path = atomic_load_explicit(&chosenPath, memory_order_relaxed);
  if (path >= 0) return path;
  path = requestedPath(bestPath());
  int expected = -1;
  // Two threads that race here choose the same path; only the first stores it.
  atomic_compare_exchange_strong(&chosenPath, &expected, path);
  return atomic_load_explicit(&chosenPath, memory_order_relaxed);
}

int bp_uses_accelerate(void) {
#if defined(__APPLE__)
  static _Atomic int decided = -1;
  int value = atomic_load_explicit(&decided, memory_order_relaxed);
  if (value >= 0) return value;
  // Two threads that race here decide the same.
  const char *request = getenv("BACKPROP_KERNELS");
  value = !request || !*request || strcmp(request, "accelerate") == 0;
  atomic_store_explicit(&decided, value, memory_order_relaxed);
  return value;
#else
  return 0;
#endif
}

const char *bp_kernel_path_name(int path) {
  return path == BP_PATH_AVX512 ? "avx512"
         : path == BP_PATH_AVX2 ? "avx2"
         : path == BP_PATH_NEON ? "neon"
                                : "portable";
}
