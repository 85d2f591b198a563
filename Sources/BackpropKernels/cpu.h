// What the processor can run, for the kernels' choice between their vector and portable paths
// (internal to BackpropKernels). Each vector function carries its own
// __attribute__((target(...))), so no compiler flag is needed. Every check also asks the
// process's kernel path (bp_kernel_path, cpu.c), so BACKPROP_KERNELS=portable sends every kernel
// down its portable path.
#ifndef BACKPROP_KERNELS_CPU_H
#define BACKPROP_KERNELS_CPU_H

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BP_X86 1
#else
#define BP_X86 0
#endif

#if defined(__aarch64__)
#include <arm_neon.h>
#define BP_NEON 1
#else
#define BP_NEON 0
#endif

#include "BackpropKernels.h"

/// Whether the process's path is one of the x86 vector paths (AVX2, or AVX-512, which uses the
/// AVX2 kernels where it has none of its own).
static inline int bp_x86_vector_path(void) {
  int path = bp_kernel_path();
  return path == BP_PATH_AVX2 || path == BP_PATH_AVX512;
}

static inline int bp_has_avx(void) {
#if BP_X86
  return bp_x86_vector_path() && __builtin_cpu_supports("avx");
#else
  return 0;
#endif
}

static inline int bp_has_avx2(void) {
#if BP_X86
  return bp_x86_vector_path() && __builtin_cpu_supports("avx2");
#else
  return 0;
#endif
}

static inline int bp_has_avx2_fma(void) {
#if BP_X86
  return bp_x86_vector_path() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return 0;
#endif
}

/// The AVX-512 kernels, on the AVX-512 path. On Zen 4, which splits a 512-bit multiply-add into
/// two 256-bit halves, they still gain where they are used (PERFORMANCE.md).
static inline int bp_has_avx512(void) { return BP_X86 && bp_kernel_path() == BP_PATH_AVX512; }

/// Whether the matrix products go to Accelerate's BLAS: on Apple platforms, unless
/// BACKPROP_KERNELS names one of Backprop's paths (cpu.c).
int bp_uses_accelerate(void);

/// NEON, on every AArch64 processor, unless BACKPROP_KERNELS asks for the portable kernels.
static inline int bp_has_neon(void) { return BP_NEON && bp_kernel_path() == BP_PATH_NEON; }

#endif
