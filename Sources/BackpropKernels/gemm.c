// Packed, register-blocked matrix products in the style of BLIS / GotoBLAS.
//
// C (m×n) = op(A) (m×k) · op(B) (k×n). The loops, outermost first:
//   jc: columns of C in blocks of NC   — a KC×NC block of B is packed into NR-wide panels
//   pc: the inner dimension in steps of KC
//   ic: rows of C in blocks of MC       — an MC×KC block of A is packed into MR-tall panels
//   jr, ir: one MR×NR tile of C per call of the micro-kernel, which keeps the tile in registers
//           for the whole KC loop (12 AVX registers of accumulators) and streams the two panels.
// Packing makes every micro-kernel load contiguous and aligned whatever the transposes, and
// pads edge panels with zeros so the kernel always computes a full tile; partial tiles go
// through a small buffer. The AVX2+FMA kernels are compiled with a target attribute (no global
// compiler flag) and chosen at run time; other CPUs get the portable kernels.

#include "BackpropKernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BP_X86 1
#else
#define BP_X86 0
#endif

enum { MR = 6, NR32 = 16, NR64 = 8, KC = 256, MC = 96, NC = 2048 };

static int useAVX2(void) {
#if BP_X86
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return 0;
#endif
}

const char *bp_gemm_instruction_set(void) { return useAVX2() ? "avx2+fma" : "portable"; }

// Per-thread packing buffers, grown on demand and kept: a product does not allocate once its
// thread has seen one of that size.
static _Thread_local void *packA = NULL, *packB = NULL;
static _Thread_local size_t packACapacity = 0, packBCapacity = 0;

static void *buffer(void **pointer, size_t *capacity, size_t bytes) {
  if (bytes > *capacity) {
    free(*pointer);
    size_t rounded = (bytes + 63) & ~(size_t)63;
    *pointer = aligned_alloc(64, rounded);
    *capacity = *pointer ? rounded : 0;
  }
  return *pointer;
}

static ptrdiff_t minimum(ptrdiff_t x, ptrdiff_t y) { return x < y ? x : y; }

// ---------------------------------------------------------------------------------------------
// The micro-kernels: tile (MR × NR) = Σ_p ap[p] ⊗ bp[p], then stored to or added into C.

#define STORE_TILE(T, NR)                                                                          \
  static void storeTile_##T(const T *tile, T *c, ptrdiff_t ldc, int accumulate, int rows, int cols) { \
    for (int r = 0; r < rows; r++)                                                                 \
      for (int j = 0; j < cols; j++)                                                               \
        c[r * ldc + j] = accumulate ? c[r * ldc + j] + tile[r * NR + j] : tile[r * NR + j];        \
  }
STORE_TILE(float, NR32)
STORE_TILE(double, NR64)

#define PORTABLE_KERNEL(T, NR)                                                                     \
  static void kernelPortable_##T(ptrdiff_t kc, const T *restrict ap, const T *restrict bp, T *c,   \
                                 ptrdiff_t ldc, int accumulate, int rows, int cols) {              \
    T tile[MR * NR];                                                                               \
    memset(tile, 0, sizeof tile);                                                                  \
    for (ptrdiff_t p = 0; p < kc; p++) {                                                           \
      for (int r = 0; r < MR; r++) {                                                               \
        T x = ap[p * MR + r];                                                                      \
        for (int j = 0; j < NR; j++) tile[r * NR + j] += x * bp[p * NR + j];                       \
      }                                                                                            \
    }                                                                                              \
    storeTile_##T(tile, c, ldc, accumulate, rows, cols);                                           \
  }
PORTABLE_KERNEL(float, NR32)
PORTABLE_KERNEL(double, NR64)

#if BP_X86
__attribute__((target("avx2,fma"))) static void kernelAVX2_float(
    ptrdiff_t kc, const float *restrict ap, const float *restrict bp, float *c, ptrdiff_t ldc,
    int accumulate, int rows, int cols) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(),
         c11 = _mm256_setzero_ps(), c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(),
         c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps(), c40 = _mm256_setzero_ps(),
         c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (ptrdiff_t p = 0; p < kc; p++) {
    __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8), x;
    x = _mm256_broadcast_ss(ap + 0), c00 = _mm256_fmadd_ps(x, b0, c00), c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(ap + 1), c10 = _mm256_fmadd_ps(x, b0, c10), c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(ap + 2), c20 = _mm256_fmadd_ps(x, b0, c20), c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(ap + 3), c30 = _mm256_fmadd_ps(x, b0, c30), c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(ap + 4), c40 = _mm256_fmadd_ps(x, b0, c40), c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(ap + 5), c50 = _mm256_fmadd_ps(x, b0, c50), c51 = _mm256_fmadd_ps(x, b1, c51);
    ap += MR;
    bp += NR32;
  }
  __m256 tile[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (rows == MR && cols == NR32) {
    for (int r = 0; r < MR; r++) {
      float *row = c + r * ldc;
      if (accumulate) {
        tile[r][0] = _mm256_add_ps(tile[r][0], _mm256_loadu_ps(row));
        tile[r][1] = _mm256_add_ps(tile[r][1], _mm256_loadu_ps(row + 8));
      }
      _mm256_storeu_ps(row, tile[r][0]);
      _mm256_storeu_ps(row + 8, tile[r][1]);
    }
  } else {
    float partial[MR * NR32] __attribute__((aligned(32)));
    for (int r = 0; r < MR; r++) {
      _mm256_store_ps(partial + r * NR32, tile[r][0]);
      _mm256_store_ps(partial + r * NR32 + 8, tile[r][1]);
    }
    storeTile_float(partial, c, ldc, accumulate, rows, cols);
  }
}

__attribute__((target("avx2,fma"))) static void kernelAVX2_double(
    ptrdiff_t kc, const double *restrict ap, const double *restrict bp, double *c, ptrdiff_t ldc,
    int accumulate, int rows, int cols) {
  __m256d c00 = _mm256_setzero_pd(), c01 = _mm256_setzero_pd(), c10 = _mm256_setzero_pd(),
          c11 = _mm256_setzero_pd(), c20 = _mm256_setzero_pd(), c21 = _mm256_setzero_pd(),
          c30 = _mm256_setzero_pd(), c31 = _mm256_setzero_pd(), c40 = _mm256_setzero_pd(),
          c41 = _mm256_setzero_pd(), c50 = _mm256_setzero_pd(), c51 = _mm256_setzero_pd();
  for (ptrdiff_t p = 0; p < kc; p++) {
    __m256d b0 = _mm256_load_pd(bp), b1 = _mm256_load_pd(bp + 4), x;
    x = _mm256_broadcast_sd(ap + 0), c00 = _mm256_fmadd_pd(x, b0, c00), c01 = _mm256_fmadd_pd(x, b1, c01);
    x = _mm256_broadcast_sd(ap + 1), c10 = _mm256_fmadd_pd(x, b0, c10), c11 = _mm256_fmadd_pd(x, b1, c11);
    x = _mm256_broadcast_sd(ap + 2), c20 = _mm256_fmadd_pd(x, b0, c20), c21 = _mm256_fmadd_pd(x, b1, c21);
    x = _mm256_broadcast_sd(ap + 3), c30 = _mm256_fmadd_pd(x, b0, c30), c31 = _mm256_fmadd_pd(x, b1, c31);
    x = _mm256_broadcast_sd(ap + 4), c40 = _mm256_fmadd_pd(x, b0, c40), c41 = _mm256_fmadd_pd(x, b1, c41);
    x = _mm256_broadcast_sd(ap + 5), c50 = _mm256_fmadd_pd(x, b0, c50), c51 = _mm256_fmadd_pd(x, b1, c51);
    ap += MR;
    bp += NR64;
  }
  __m256d tile[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (rows == MR && cols == NR64) {
    for (int r = 0; r < MR; r++) {
      double *row = c + r * ldc;
      if (accumulate) {
        tile[r][0] = _mm256_add_pd(tile[r][0], _mm256_loadu_pd(row));
        tile[r][1] = _mm256_add_pd(tile[r][1], _mm256_loadu_pd(row + 4));
      }
      _mm256_storeu_pd(row, tile[r][0]);
      _mm256_storeu_pd(row + 4, tile[r][1]);
    }
  } else {
    double partial[MR * NR64] __attribute__((aligned(32)));
    for (int r = 0; r < MR; r++) {
      _mm256_store_pd(partial + r * NR64, tile[r][0]);
      _mm256_store_pd(partial + r * NR64 + 4, tile[r][1]);
    }
    storeTile_double(partial, c, ldc, accumulate, rows, cols);
  }
}
#endif

// ---------------------------------------------------------------------------------------------
// Packing and the loops around the micro-kernel, once per scalar type.

#define GEMM(T, NR, SUFFIX)                                                                        \
  /* op(A)[i0 ..< i0+mc, p0 ..< p0+kc] into MR-tall panels, p-major within a panel. */             \
  static void packA_##T(const T *a, ptrdiff_t rsa, ptrdiff_t csa, ptrdiff_t i0, ptrdiff_t mc,     \
                        ptrdiff_t p0, ptrdiff_t kc, T *dst) {                                      \
    for (ptrdiff_t ir = 0; ir < mc; ir += MR) {                                                    \
      ptrdiff_t rows = minimum(MR, mc - ir);                                                       \
      for (ptrdiff_t p = 0; p < kc; p++) {                                                         \
        const T *src = a + (i0 + ir) * rsa + (p0 + p) * csa;                                       \
        for (ptrdiff_t r = 0; r < MR; r++) *dst++ = r < rows ? src[r * rsa] : (T)0;                \
      }                                                                                            \
    }                                                                                              \
  }                                                                                                \
  /* op(B)[p0 ..< p0+kc, j0 ..< j0+nc] into NR-wide panels, p-major within a panel. */             \
  static void packB_##T(const T *b, ptrdiff_t rsb, ptrdiff_t csb, ptrdiff_t p0, ptrdiff_t kc,     \
                        ptrdiff_t j0, ptrdiff_t nc, T *dst) {                                      \
    for (ptrdiff_t jr = 0; jr < nc; jr += NR) {                                                    \
      ptrdiff_t cols = minimum(NR, nc - jr);                                                       \
      for (ptrdiff_t p = 0; p < kc; p++) {                                                         \
        const T *src = b + (p0 + p) * rsb + (j0 + jr) * csb;                                       \
        if (cols == NR && csb == 1) {                                                              \
          memcpy(dst, src, sizeof(T) * NR);                                                        \
          dst += NR;                                                                               \
        } else {                                                                                   \
          for (ptrdiff_t j = 0; j < NR; j++) *dst++ = j < cols ? src[j * csb] : (T)0;              \
        }                                                                                          \
      }                                                                                            \
    }                                                                                              \
  }                                                                                                \
  void bp_gemm_##SUFFIX(int kernelChoice, int transposeA, int transposeB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,     \
                        const T *a, ptrdiff_t lda, const T *b, ptrdiff_t ldb, T *c, ptrdiff_t ldc, \
                        ptrdiff_t rowBegin, ptrdiff_t rowEnd) {                                    \
    (void)m;                                                                                       \
    if (rowEnd <= rowBegin || n <= 0) return;                                                      \
    if (k <= 0) {                                                                                  \
      for (ptrdiff_t i = rowBegin; i < rowEnd; i++) memset(c + i * ldc, 0, sizeof(T) * n);         \
      return;                                                                                      \
    }                                                                                              \
    ptrdiff_t rsa = transposeA ? 1 : lda, csa = transposeA ? lda : 1;                              \
    ptrdiff_t rsb = transposeB ? 1 : ldb, csb = transposeB ? ldb : 1;                              \
    void (*kernel)(ptrdiff_t, const T *restrict, const T *restrict, T *, ptrdiff_t, int, int, int) \
        = kernelPortable_##T;                                                                      \
    if (BP_X86 && kernelChoice == BP_KERNEL_AUTOMATIC && useAVX2()) kernel = kernelAVX2_##T;                                              \
    ptrdiff_t ncMax = minimum(NC, (n + NR - 1) / NR * NR), kcMax = minimum(KC, k);                 \
    ptrdiff_t mcMax = minimum(MC, (rowEnd - rowBegin + MR - 1) / MR * MR);                         \
    T *bPacked = buffer(&packB, &packBCapacity, sizeof(T) * (size_t)(kcMax * ncMax));              \
    T *aPacked = buffer(&packA, &packACapacity, sizeof(T) * (size_t)(kcMax * mcMax));              \
    if (!bPacked || !aPacked) abort(); /* out of memory, as a Swift allocation would */            \
    for (ptrdiff_t jc = 0; jc < n; jc += NC) {                                                     \
      ptrdiff_t nc = minimum(NC, n - jc);                                                          \
      for (ptrdiff_t pc = 0; pc < k; pc += KC) {                                                   \
        ptrdiff_t kc = minimum(KC, k - pc);                                                        \
        packB_##T(b, rsb, csb, pc, kc, jc, nc, bPacked);                                           \
        for (ptrdiff_t ic = rowBegin; ic < rowEnd; ic += MC) {                                     \
          ptrdiff_t mc = minimum(MC, rowEnd - ic);                                                 \
          packA_##T(a, rsa, csa, ic, mc, pc, kc, aPacked);                                         \
          for (ptrdiff_t jr = 0; jr < nc; jr += NR) {                                              \
            for (ptrdiff_t ir = 0; ir < mc; ir += MR) {                                            \
              kernel(kc, aPacked + ir * kc, bPacked + jr * kc, c + (ic + ir) * ldc + jc + jr, ldc, \
                     pc > 0, (int)minimum(MR, mc - ir), (int)minimum(NR, nc - jr));                \
            }                                                                                      \
          }                                                                                        \
        }                                                                                          \
      }                                                                                            \
    }                                                                                              \
  }

#if !BP_X86
#define kernelAVX2_float kernelPortable_float
#define kernelAVX2_double kernelPortable_double
#endif

GEMM(float, NR32, f32)
GEMM(double, NR64, f64)
