// Packed, register-blocked matrix products in the style of BLIS / GotoBLAS.
//
// C (m×n) = op(A) (m×k) · op(B) (k×n). The loops, outermost first:
//   jc: columns of C in blocks of NC   — a KC×NC block of B is packed into NR-wide panels
//   pc: the inner dimension in as few equal steps of at most KC as it takes (depthStep)
//   ic: rows of C in blocks of MC       — an MC×KC block of A is packed into MR-tall panels
//   jr, ir: one MR×NR tile of C per call of the micro-kernel, which keeps the tile in registers
//           for the whole KC loop and streams the two panels.
// Packing makes every micro-kernel load contiguous whatever the transposes, and pads edge panels
// with zeros so the kernel always computes a full tile; partial tiles are stored through masks
// or a small buffer. A small block of B stored by rows is read in place instead (its last,
// narrower panel packed alone): the kernel takes the step between B's rows. A product narrower
// than a tile is computed as its transpose. The vector kernels are compiled with target
// attributes (no global compiler flag) and chosen at run time (a Config below per path); other
// CPUs get the portable kernels, and Apple platforms Accelerate's BLAS.
//
// Tiles: portable, AVX2 and NEON 6 × 16 Floats or 6 × 8 Doubles (12 accumulator registers of
// AVX2, 24 of NEON's 32); AVX-512 12 × 32 Floats or 12 × 16 Doubles (24 of its 32 registers).
// Every vector path sums each element of C over p in order with fused multiply-adds, one depth
// block at a time, so AVX2, AVX-512 and NEON give the same bits.

#include "BackpropKernels.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__APPLE__)
// Accelerate's CBLAS interface of macOS 13.3 / iOS 16.4 and later (cblas_new.h), with
// __LAPACK_int sizes (32-bit unless ACCELERATE_LAPACK_ILP64); Package.swift links the framework.
#define ACCELERATE_NEW_LAPACK 1
#include <Accelerate/Accelerate.h>
#define BP_ACCELERATE 1
#else
#define BP_ACCELERATE 0
#endif

#include "cpu.h"
#include "transpose.h"

enum {
  MR = 6, NR32 = 16, NR64 = 8,               // the portable, AVX2 and NEON tile
  MR512 = 12, NR512_32 = 32, NR512_64 = 16,  // the AVX-512 tile
  MR_MAX = 12, KC = 256, MC = 96, NC = 2048, DIRECT_B_BYTES = 64 << 10, FEW_ROWS = 64, SHALLOW = 64,
  // Rows of C that read a large block of B in place. AVX-512's 32-column panel is two whole
  // cache lines per row of B, read by ten or eleven panels of A at 128 rows: in place there, the
  // MLP's products took 1.8 % less time on Zen 4, where AVX2's 16 columns took 3.7 % more.
  FEW_ROWS_AVX512 = 128,
  // Rows of B ahead that the AVX2 kernels prefetch. B read in place has rows far apart (an
  // image's columns, 3136 bytes for 28 × 28), one cache line of each per step of p; fetched
  // eight steps ahead they were in L1 when needed, and a convolution's products with few filters
  // ran 3–11 % faster on Zen 4 (the AVX-512 kernels, two lines per row, gained nothing).
  B_AHEAD = 8,
  // Bytes between B's rows above which a kernel reading B in place fetches the next panel's
  // rows into L2 as it goes (NEXT_PANEL). Rows that far apart are a convolution's columns or
  // upstream gradient (3136 bytes for 28 × 28), streams too many for the hardware prefetchers;
  // B's rows closer together belong to a small block already in the cache (the MLP's 512-byte
  // rows, where the extra prefetches cost the AVX2 kernel 8 % on Zen 4).
  FAR_ROWS = 2048
};

// Per-thread packing buffers, grown on demand and kept: a product does not allocate once its
// thread has seen one of that size. A thread that exits frees them (the key's destructor runs
// before the thread's _Thread_local variables go), so threads that come and go, such as
// LocalCommunicator's ranks, leave nothing behind.
static _Thread_local void *packA = NULL, *packB = NULL, *swapped = NULL;
static _Thread_local size_t packACapacity = 0, packBCapacity = 0, swappedCapacity = 0;
static pthread_key_t buffersKey;
static pthread_once_t buffersKeyOnce = PTHREAD_ONCE_INIT;

static void freeBuffers(void *unused) {
  (void)unused;
  free(packA);
  free(packB);
  free(swapped);
  packA = packB = swapped = NULL;
  packACapacity = packBCapacity = swappedCapacity = 0;
}

static void makeBuffersKey(void) { pthread_key_create(&buffersKey, freeBuffers); }

static void *buffer(void **pointer, size_t *capacity, size_t bytes) {
  if (bytes > *capacity) {
    if (*capacity == 0) {
      // The thread's first buffer: have the thread free them all when it exits.
      pthread_once(&buffersKeyOnce, makeBuffersKey);
      pthread_setspecific(buffersKey, (void *)1);
    }
    free(*pointer);
    size_t rounded = (bytes + 63) & ~(size_t)63;
    *pointer = aligned_alloc(64, rounded);
    *capacity = *pointer ? rounded : 0;
  }
  return *pointer;
}

static ptrdiff_t minimum(ptrdiff_t x, ptrdiff_t y) { return x < y ? x : y; }

// The step of the inner dimension's blocks: as few blocks as KC allows, of equal depth (the
// last shallower by less than one per block). 784 goes as 4 × 196, not 3 × 256 and a block of
// 16 that would load and store each tile of C for 16 steps of p.
static ptrdiff_t depthStep(ptrdiff_t k) {
  ptrdiff_t blocks = (k + KC - 1) / KC;
  return blocks > 1 ? (k + blocks - 1) / blocks : KC;
}

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
  static void kernelPortable_##T(ptrdiff_t kc, const T *restrict ap, const T *restrict bp,         \
                                 ptrdiff_t ldb, T *c, ptrdiff_t ldc, int accumulate, int rows,     \
                                 int cols) {                                                       \
    T tile[MR * NR];                                                                               \
    memset(tile, 0, sizeof tile);                                                                  \
    for (ptrdiff_t p = 0; p < kc; p++) {                                                           \
      for (int r = 0; r < MR; r++) {                                                               \
        T x = ap[p * MR + r];                                                                      \
        for (int j = 0; j < NR; j++) tile[r * NR + j] += x * bp[p * ldb + j];                      \
      }                                                                                            \
    }                                                                                              \
    storeTile_##T(tile, c, ldc, accumulate, rows, cols);                                           \
  }
PORTABLE_KERNEL(float, NR32)
PORTABLE_KERNEL(double, NR64)

#if defined(__aarch64__)
// The NEON micro-kernels (every AArch64 processor has NEON): the same MR × NR tile as the AVX2
// ones, in 24 of the 32 vector registers (6 rows × 4 vectors of 4 Floats, or of 2 Doubles), with
// the row's A value taken from a lane of a loaded vector (FMLA by element), so each element of C
// is summed in the order of p with fused multiply-adds, as on AVX2.
#define NEON_ROW4(ACC, B0, B1, B2, B3, A, LANE)                                                      \
  ACC[0] = vfmaq_laneq_f32(ACC[0], B0, A, LANE), ACC[1] = vfmaq_laneq_f32(ACC[1], B1, A, LANE),       \
  ACC[2] = vfmaq_laneq_f32(ACC[2], B2, A, LANE), ACC[3] = vfmaq_laneq_f32(ACC[3], B3, A, LANE)
#define NEON_ROW2(ACC, B0, B1, B2, B3, A, LANE)                                                      \
  ACC[0] = vfmaq_lane_f32(ACC[0], B0, A, LANE), ACC[1] = vfmaq_lane_f32(ACC[1], B1, A, LANE),         \
  ACC[2] = vfmaq_lane_f32(ACC[2], B2, A, LANE), ACC[3] = vfmaq_lane_f32(ACC[3], B3, A, LANE)

static void kernelNEON_float(ptrdiff_t kc, const float *restrict ap, const float *restrict bp, ptrdiff_t ldb,
                             float *c, ptrdiff_t ldc, int accumulate, int rows, int cols) {
  float32x4_t c0[4], c1[4], c2[4], c3[4], c4[4], c5[4];
  for (int j = 0; j < 4; j++)
    c0[j] = c1[j] = c2[j] = c3[j] = c4[j] = c5[j] = vdupq_n_f32(0);
  for (ptrdiff_t p = 0; p < kc; p++) {
    float32x4_t b0 = vld1q_f32(bp), b1 = vld1q_f32(bp + 4), b2 = vld1q_f32(bp + 8), b3 = vld1q_f32(bp + 12);
    float32x4_t a = vld1q_f32(ap);
    float32x2_t a45 = vld1_f32(ap + 4);
    NEON_ROW4(c0, b0, b1, b2, b3, a, 0);
    NEON_ROW4(c1, b0, b1, b2, b3, a, 1);
    NEON_ROW4(c2, b0, b1, b2, b3, a, 2);
    NEON_ROW4(c3, b0, b1, b2, b3, a, 3);
    NEON_ROW2(c4, b0, b1, b2, b3, a45, 0);
    NEON_ROW2(c5, b0, b1, b2, b3, a45, 1);
    ap += MR;
    bp += ldb;
  }
  float32x4_t *tile[MR] = {c0, c1, c2, c3, c4, c5};
  if (rows == MR && cols == NR32) {
    for (int r = 0; r < MR; r++)
      for (int j = 0; j < 4; j++) {
        float *at = c + r * ldc + 4 * j;
        vst1q_f32(at, accumulate ? vaddq_f32(tile[r][j], vld1q_f32(at)) : tile[r][j]);
      }
  } else {
    float partial[MR * NR32];
    for (int r = 0; r < MR; r++)
      for (int j = 0; j < 4; j++) vst1q_f32(partial + r * NR32 + 4 * j, tile[r][j]);
    storeTile_float(partial, c, ldc, accumulate, rows, cols);
  }
}

#define NEON_ROW_D(ACC, B0, B1, B2, B3, A, LANE)                                                     \
  ACC[0] = vfmaq_laneq_f64(ACC[0], B0, A, LANE), ACC[1] = vfmaq_laneq_f64(ACC[1], B1, A, LANE),       \
  ACC[2] = vfmaq_laneq_f64(ACC[2], B2, A, LANE), ACC[3] = vfmaq_laneq_f64(ACC[3], B3, A, LANE)

static void kernelNEON_double(ptrdiff_t kc, const double *restrict ap, const double *restrict bp, ptrdiff_t ldb,
                              double *c, ptrdiff_t ldc, int accumulate, int rows, int cols) {
  float64x2_t c0[4], c1[4], c2[4], c3[4], c4[4], c5[4];
  for (int j = 0; j < 4; j++)
    c0[j] = c1[j] = c2[j] = c3[j] = c4[j] = c5[j] = vdupq_n_f64(0);
  for (ptrdiff_t p = 0; p < kc; p++) {
    float64x2_t b0 = vld1q_f64(bp), b1 = vld1q_f64(bp + 2), b2 = vld1q_f64(bp + 4), b3 = vld1q_f64(bp + 6);
    float64x2_t a01 = vld1q_f64(ap), a23 = vld1q_f64(ap + 2), a45 = vld1q_f64(ap + 4);
    NEON_ROW_D(c0, b0, b1, b2, b3, a01, 0);
    NEON_ROW_D(c1, b0, b1, b2, b3, a01, 1);
    NEON_ROW_D(c2, b0, b1, b2, b3, a23, 0);
    NEON_ROW_D(c3, b0, b1, b2, b3, a23, 1);
    NEON_ROW_D(c4, b0, b1, b2, b3, a45, 0);
    NEON_ROW_D(c5, b0, b1, b2, b3, a45, 1);
    ap += MR;
    bp += ldb;
  }
  float64x2_t *tile[MR] = {c0, c1, c2, c3, c4, c5};
  if (rows == MR && cols == NR64) {
    for (int r = 0; r < MR; r++)
      for (int j = 0; j < 4; j++) {
        double *at = c + r * ldc + 2 * j;
        vst1q_f64(at, accumulate ? vaddq_f64(tile[r][j], vld1q_f64(at)) : tile[r][j]);
      }
  } else {
    double partial[MR * NR64];
    for (int r = 0; r < MR; r++)
      for (int j = 0; j < 4; j++) vst1q_f64(partial + r * NR64 + 2 * j, tile[r][j]);
    storeTile_double(partial, c, ldc, accumulate, rows, cols);
  }
}
#endif

#if BP_X86
// Whether a kernel reading B with rows ldb scalars apart fetches the next panel's rows (FAR_ROWS).
#define NEXT_PANEL(T, ldb) ((size_t)(ldb) * sizeof(T) > FAR_ROWS)

__attribute__((target("avx2,fma"))) static void kernelAVX2_float(
    ptrdiff_t kc, const float *restrict ap, const float *restrict bp, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
    int accumulate, int rows, int cols) {
  const int nextPanel = NEXT_PANEL(float, ldb);
  for (int r = 0; r < MR; r++) {  // C's rows start into the cache (as kernelAVX512_*)
    _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + r * ldc + NR32 - 1), _MM_HINT_T0);
  }
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(),
         c11 = _mm256_setzero_ps(), c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(),
         c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps(), c40 = _mm256_setzero_ps(),
         c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (ptrdiff_t p = 0; p < kc; p++) {
    _mm_prefetch((const char *)(bp + B_AHEAD * ldb), _MM_HINT_T0);
    if (nextPanel) _mm_prefetch((const char *)(bp + NR32), _MM_HINT_T1);  // as kernelAVX512_*
    __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8), x;
    x = _mm256_broadcast_ss(ap + 0), c00 = _mm256_fmadd_ps(x, b0, c00), c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(ap + 1), c10 = _mm256_fmadd_ps(x, b0, c10), c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(ap + 2), c20 = _mm256_fmadd_ps(x, b0, c20), c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(ap + 3), c30 = _mm256_fmadd_ps(x, b0, c30), c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(ap + 4), c40 = _mm256_fmadd_ps(x, b0, c40), c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(ap + 5), c50 = _mm256_fmadd_ps(x, b0, c50), c51 = _mm256_fmadd_ps(x, b1, c51);
    ap += MR;
    bp += ldb;
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

// The same for a panel of R < MR rows (the last panel when m is not a multiple of MR): only R
// rows of FMAs, where the full kernel would compute MR and store R. A product with 32 rows (a
// convolution's output channels) has 5 full panels and one of 2, which the full kernel made
// 6·6 rows of work for 32.
#define SHORT_KERNEL(T, R, VEC, NRT, LANES, ZERO, LOAD, BROADCAST, FMADD, ADD, LOADU, STOREU, STORE) \
  __attribute__((target("avx2,fma"))) static void kernelAVX2_##T##_##R(                             \
      ptrdiff_t kc, const T *restrict ap, const T *restrict bp, ptrdiff_t ldb, T *c, ptrdiff_t ldc,   \
      int accumulate, int rows, int cols) {                                                         \
    const int nextPanel = NEXT_PANEL(T, ldb);                                                       \
    VEC tile[R][2];                                                                                 \
    for (int r = 0; r < R; r++) { /* C's rows start into the cache (as kernelAVX512_*) */         \
      _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);                                       \
      _mm_prefetch((const char *)(c + r * ldc + NRT - 1), _MM_HINT_T0);                             \
      tile[r][0] = tile[r][1] = ZERO();                                                             \
    }                                                                                               \
    for (ptrdiff_t p = 0; p < kc; p++) {                                                            \
      _mm_prefetch((const char *)(bp + B_AHEAD * ldb), _MM_HINT_T0);                                \
      if (nextPanel) _mm_prefetch((const char *)(bp + NRT), _MM_HINT_T1); /* as kernelAVX512_* */   \
      VEC b0 = LOAD(bp), b1 = LOAD(bp + LANES);                                                     \
      for (int r = 0; r < R; r++) {                                                                 \
        VEC x = BROADCAST(ap + r);                                                                  \
        tile[r][0] = FMADD(x, b0, tile[r][0]);                                                      \
        tile[r][1] = FMADD(x, b1, tile[r][1]);                                                      \
      }                                                                                             \
      ap += MR;                                                                                     \
      bp += ldb;                                                                                    \
    }                                                                                               \
    if (cols == NRT) {                                                                              \
      /* A constant trip count keeps the tile in registers (no indexing by a run-time row). */     \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                              \
        if (r < rows) {                                                                             \
          T *row = c + r * ldc;                                                                     \
          VEC v0 = tile[r][0], v1 = tile[r][1];                                                     \
          if (accumulate) v0 = ADD(v0, LOADU(row)), v1 = ADD(v1, LOADU(row + LANES));               \
          STOREU(row, v0);                                                                          \
          STOREU(row + LANES, v1);                                                                  \
        }                                                                                           \
      }                                                                                             \
    } else {                                                                                        \
      T partial[MR * NRT] __attribute__((aligned(32)));                                             \
      for (int r = 0; r < R; r++) {                                                                 \
        STORE(partial + r * NRT, tile[r][0]);                                                       \
        STORE(partial + r * NRT + LANES, tile[r][1]);                                               \
      }                                                                                             \
      storeTile_##T(partial, c, ldc, accumulate, rows, cols);                                       \
    }                                                                                               \
  }
SHORT_KERNEL(float, 2, __m256, NR32, 8, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_broadcast_ss, _mm256_fmadd_ps,
             _mm256_add_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_store_ps)
SHORT_KERNEL(float, 4, __m256, NR32, 8, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_broadcast_ss, _mm256_fmadd_ps,
             _mm256_add_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_store_ps)
SHORT_KERNEL(double, 2, __m256d, NR64, 4, _mm256_setzero_pd, _mm256_loadu_pd, _mm256_broadcast_sd,
             _mm256_fmadd_pd, _mm256_add_pd, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_store_pd)
SHORT_KERNEL(double, 4, __m256d, NR64, 4, _mm256_setzero_pd, _mm256_loadu_pd, _mm256_broadcast_sd,
             _mm256_fmadd_pd, _mm256_add_pd, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_store_pd)

// Two rows across two neighbouring full panels of B (2 × 2·NR): the short panel of rows with
// the eight accumulators that keep the FMA units busy. Each element of C still sums its
// products in order of p, so the results are those of the two-row kernel on each panel.
#define WIDE_SHORT_KERNEL(NAME, TARGET, PANEL, T, VEC, LANES, ZERO, LOAD, BROADCAST, FMADD, ADD, LOADU, STOREU) \
  __attribute__((target(TARGET))) static void NAME(                                                 \
      ptrdiff_t kc, const T *restrict ap, const T *restrict bp, const T *restrict bq, ptrdiff_t ldb, \
      T *c, ptrdiff_t ldc, int accumulate, int rows) {                                              \
    const int nextPanel = NEXT_PANEL(T, ldb);                                                       \
    VEC tile[2][4];                                                                                 \
    for (int r = 0; r < 2; r++) { /* C's rows start into the cache (as kernelAVX512_*) */         \
      _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);                                       \
      _mm_prefetch((const char *)(c + r * ldc + 4 * LANES - 1), _MM_HINT_T0);                       \
      tile[r][0] = tile[r][1] = tile[r][2] = tile[r][3] = ZERO();                                   \
    }                                                                                               \
    for (ptrdiff_t p = 0; p < kc; p++) {                                                            \
      _mm_prefetch((const char *)(bp + B_AHEAD * ldb), _MM_HINT_T0);                                \
      _mm_prefetch((const char *)(bq + B_AHEAD * ldb), _MM_HINT_T0);                                \
      if (nextPanel) _mm_prefetch((const char *)(bq + 2 * LANES), _MM_HINT_T1); /* as kernelAVX512_* */ \
      VEC b0 = LOAD(bp), b1 = LOAD(bp + LANES), b2 = LOAD(bq), b3 = LOAD(bq + LANES);               \
      for (int r = 0; r < 2; r++) {                                                                 \
        VEC x = BROADCAST(ap + r);                                                                  \
        tile[r][0] = FMADD(x, b0, tile[r][0]);                                                      \
        tile[r][1] = FMADD(x, b1, tile[r][1]);                                                      \
        tile[r][2] = FMADD(x, b2, tile[r][2]);                                                      \
        tile[r][3] = FMADD(x, b3, tile[r][3]);                                                      \
      }                                                                                             \
      ap += PANEL;                                                                                  \
      bp += ldb;                                                                                    \
      bq += ldb;                                                                                    \
    }                                                                                               \
    _Pragma("clang loop unroll(full)") for (int r = 0; r < 2; r++) {                                \
      if (r < rows) {                                                                               \
        T *row = c + r * ldc;                                                                       \
        _Pragma("clang loop unroll(full)") for (int v = 0; v < 4; v++) {                            \
          VEC value = tile[r][v];                                                                   \
          if (accumulate) value = ADD(value, LOADU(row + v * LANES));                               \
          STOREU(row + v * LANES, value);                                                           \
        }                                                                                           \
      }                                                                                             \
    }                                                                                               \
  }
WIDE_SHORT_KERNEL(kernelAVX2_float_2wide, "avx2,fma", MR, float, __m256, 8, _mm256_setzero_ps, _mm256_loadu_ps,
                  _mm256_broadcast_ss, _mm256_fmadd_ps, _mm256_add_ps, _mm256_loadu_ps, _mm256_storeu_ps)
WIDE_SHORT_KERNEL(kernelAVX2_double_2wide, "avx2,fma", MR, double, __m256d, 4, _mm256_setzero_pd, _mm256_loadu_pd,
                  _mm256_broadcast_sd, _mm256_fmadd_pd, _mm256_add_pd, _mm256_loadu_pd, _mm256_storeu_pd)

__attribute__((target("avx2,fma"))) static void kernelAVX2_double(
    ptrdiff_t kc, const double *restrict ap, const double *restrict bp, ptrdiff_t ldb, double *c,
    ptrdiff_t ldc, int accumulate, int rows, int cols) {
  const int nextPanel = NEXT_PANEL(double, ldb);
  for (int r = 0; r < MR; r++) {  // C's rows start into the cache (as kernelAVX512_*)
    _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + r * ldc + NR64 - 1), _MM_HINT_T0);
  }
  __m256d c00 = _mm256_setzero_pd(), c01 = _mm256_setzero_pd(), c10 = _mm256_setzero_pd(),
          c11 = _mm256_setzero_pd(), c20 = _mm256_setzero_pd(), c21 = _mm256_setzero_pd(),
          c30 = _mm256_setzero_pd(), c31 = _mm256_setzero_pd(), c40 = _mm256_setzero_pd(),
          c41 = _mm256_setzero_pd(), c50 = _mm256_setzero_pd(), c51 = _mm256_setzero_pd();
  for (ptrdiff_t p = 0; p < kc; p++) {
    _mm_prefetch((const char *)(bp + B_AHEAD * ldb), _MM_HINT_T0);
    if (nextPanel) _mm_prefetch((const char *)(bp + NR64), _MM_HINT_T1);  // as kernelAVX512_*
    __m256d b0 = _mm256_loadu_pd(bp), b1 = _mm256_loadu_pd(bp + 4), x;
    x = _mm256_broadcast_sd(ap + 0), c00 = _mm256_fmadd_pd(x, b0, c00), c01 = _mm256_fmadd_pd(x, b1, c01);
    x = _mm256_broadcast_sd(ap + 1), c10 = _mm256_fmadd_pd(x, b0, c10), c11 = _mm256_fmadd_pd(x, b1, c11);
    x = _mm256_broadcast_sd(ap + 2), c20 = _mm256_fmadd_pd(x, b0, c20), c21 = _mm256_fmadd_pd(x, b1, c21);
    x = _mm256_broadcast_sd(ap + 3), c30 = _mm256_fmadd_pd(x, b0, c30), c31 = _mm256_fmadd_pd(x, b1, c31);
    x = _mm256_broadcast_sd(ap + 4), c40 = _mm256_fmadd_pd(x, b0, c40), c41 = _mm256_fmadd_pd(x, b1, c41);
    x = _mm256_broadcast_sd(ap + 5), c50 = _mm256_fmadd_pd(x, b0, c50), c51 = _mm256_fmadd_pd(x, b1, c51);
    ap += MR;
    bp += ldb;
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

// The AVX-512 micro-kernels: R rows (R = MR512 for a full panel; fewer for the last panel of a
// product whose m is not a multiple of 12) × V vectors of 16 Floats or 8 Doubles (V = 2 for a
// full panel of B, 1 for a last panel at most half as wide), with the 32 registers holding up to
// 24 accumulators. Columns past the tile's width are masked off when stored. Every element sums
// its products in order of p with fused multiply-adds, as on AVX2, so the results are bit for
// bit those of the AVX2 kernels.
#define AVX512_KERNEL(T, R, V, VEC, MASK, LANES, SET1, FMADD, ADD, MASKZ_LOADU, MASK_STOREU, LOADU, STOREU) \
  __attribute__((target("avx512f"))) static void kernelAVX512_##T##_##R##x##V(                     \
      ptrdiff_t kc, const T *restrict ap, const T *restrict bp, ptrdiff_t ldb, T *c, ptrdiff_t ldc,   \
      int accumulate, int rows, int cols) {                                                         \
    const int nextPanel = NEXT_PANEL(T, ldb);                                                       \
    VEC tile[R][V];                                                                                 \
    /* C's rows start on their way into the cache, whether added to or written over at the end: \
       a store whose line is in no cache waits for it, and a tile of them stalls the kernel (a    \
       convolution's output, written image by image into the batch's tensor). */                  \
    _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                \
      _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);                                       \
      _mm_prefetch((const char *)(c + r * ldc + V * LANES - 1), _MM_HINT_T0);                       \
    }                                                                                               \
    _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++)                                  \
      _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++) tile[r][v] = SET1((T)0);       \
    for (ptrdiff_t p = 0; p < kc; p++) {                                                            \
      /* The same row of the next panel of B into L2 when B's rows are far apart, so that the   \
         next panel's first tile does not wait on each of its rows. */                           \
      VEC b[V];                                                                                     \
      if (nextPanel)                                                                                \
        _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++)                              \
          _mm_prefetch((const char *)(bp + (V + v) * LANES), _MM_HINT_T1);                          \
      _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++) b[v] = LOADU(bp + v * LANES);  \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                              \
        VEC x = SET1(ap[r]);                                                                        \
        _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++) tile[r][v] = FMADD(x, b[v], tile[r][v]); \
      }                                                                                             \
      ap += MR512;                                                                                  \
      bp += ldb;                                                                                    \
    }                                                                                               \
    /* A constant trip count keeps the tile in registers (no indexing by a run-time row). A     \
       full-width tile takes plain stores: Zen 4's masked stores are slower. */                     \
    if (cols == V * LANES) {                                                                        \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                              \
        if (r < rows) {                                                                             \
          T *row = c + r * ldc;                                                                     \
          _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++) {                          \
            VEC value = tile[r][v];                                                                 \
            if (accumulate) value = ADD(value, LOADU(row + v * LANES));                             \
            STOREU(row + v * LANES, value);                                                         \
          }                                                                                         \
        }                                                                                           \
      }                                                                                             \
      return;                                                                                       \
    }                                                                                               \
    MASK masks[V];                                                                                  \
    _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++) {                                \
      int left = cols - v * LANES;                                                                  \
      masks[v] = (MASK)(left >= LANES ? ~0u : left <= 0 ? 0u : (1u << left) - 1);                   \
    }                                                                                               \
    _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                \
      if (r < rows) {                                                                               \
        T *row = c + r * ldc;                                                                       \
        _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++) {                            \
          VEC value = tile[r][v];                                                                   \
          if (accumulate) value = ADD(value, MASKZ_LOADU(masks[v], row + v * LANES));               \
          MASK_STOREU(row + v * LANES, masks[v], value);                                            \
        }                                                                                           \
      }                                                                                             \
    }                                                                                               \
  }
#define AVX512_FLOAT_KERNEL(R, V)                                                                   \
  AVX512_KERNEL(float, R, V, __m512, __mmask16, 16, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps,  \
                _mm512_maskz_loadu_ps, _mm512_mask_storeu_ps, _mm512_loadu_ps, _mm512_storeu_ps)
#define AVX512_DOUBLE_KERNEL(R, V)                                                                  \
  AVX512_KERNEL(double, R, V, __m512d, __mmask8, 8, _mm512_set1_pd, _mm512_fmadd_pd, _mm512_add_pd,  \
                _mm512_maskz_loadu_pd, _mm512_mask_storeu_pd, _mm512_loadu_pd, _mm512_storeu_pd)
#define AVX512_KERNELS_OF_HEIGHT(R)                                                                 \
  AVX512_FLOAT_KERNEL(R, 2) AVX512_FLOAT_KERNEL(R, 1) AVX512_DOUBLE_KERNEL(R, 2) AVX512_DOUBLE_KERNEL(R, 1)
AVX512_KERNELS_OF_HEIGHT(12)
AVX512_KERNELS_OF_HEIGHT(10)
AVX512_KERNELS_OF_HEIGHT(8)
AVX512_KERNELS_OF_HEIGHT(6)
AVX512_KERNELS_OF_HEIGHT(4)
AVX512_KERNELS_OF_HEIGHT(2)

// Two rows across two neighbouring full panels of B (2 × 2·NR), as kernelAVX2_*_2wide.
#define BROADCAST512_PS(p) _mm512_set1_ps(*(p))
#define BROADCAST512_PD(p) _mm512_set1_pd(*(p))
WIDE_SHORT_KERNEL(kernelAVX512_float_2wide, "avx512f", MR512, float, __m512, 16, _mm512_setzero_ps, _mm512_loadu_ps,
                  BROADCAST512_PS, _mm512_fmadd_ps, _mm512_add_ps, _mm512_loadu_ps, _mm512_storeu_ps)
WIDE_SHORT_KERNEL(kernelAVX512_double_2wide, "avx512f", MR512, double, __m512d, 8, _mm512_setzero_pd,
                  _mm512_loadu_pd, BROADCAST512_PD, _mm512_fmadd_pd, _mm512_add_pd, _mm512_loadu_pd,
                  _mm512_storeu_pd)
#endif

#if BP_X86
// Six rows of eight Floats in registers (t01lo holds (r0, r1) pairs for p = 0, 1 | 4, 5, t01hi for
// 2, 3 | 6, 7, likewise the rest; rows03 holds rows 0-3 for p = q and q + 4), transposed into eight
// p-steps of six, mr apart.
#define STORE_6x8_FLOAT(r, mr, d)                                                                  \
  do {                                                                                             \
    __m256 t01lo = _mm256_unpacklo_ps(r[0], r[1]), t01hi = _mm256_unpackhi_ps(r[0], r[1]);         \
    __m256 t23lo = _mm256_unpacklo_ps(r[2], r[3]), t23hi = _mm256_unpackhi_ps(r[2], r[3]);         \
    __m256 t45lo = _mm256_unpacklo_ps(r[4], r[5]), t45hi = _mm256_unpackhi_ps(r[4], r[5]);         \
    __m256 rows03[4] = {_mm256_shuffle_ps(t01lo, t23lo, 0x44), _mm256_shuffle_ps(t01lo, t23lo, 0xEE), \
                        _mm256_shuffle_ps(t01hi, t23hi, 0x44), _mm256_shuffle_ps(t01hi, t23hi, 0xEE)}; \
    __m256 rows45[2] = {t45lo, t45hi};                                                             \
    for (int half = 0; half < 2; half++) {                                                         \
      float *e = d + half * 4 * mr;                                                                \
      for (int q = 0; q < 4; q++) {                                                                \
        __m128 top = half ? _mm256_extractf128_ps(rows03[q], 1) : _mm256_castps256_ps128(rows03[q]); \
        __m128 pair = half ? _mm256_extractf128_ps(rows45[q / 2], 1) : _mm256_castps256_ps128(rows45[q / 2]); \
        _mm_storeu_ps(e + q * mr, top);                                                            \
        if (q % 2 == 0) _mm_storel_pi((__m64 *)(e + q * mr + 4), pair);                            \
        else _mm_storeh_pi((__m64 *)(e + q * mr + 4), pair);                                       \
      }                                                                                            \
    }                                                                                              \
  } while (0)

// Six rows of four Doubles, transposed into four p-steps of six (mr apart).
#define STORE_6x4_DOUBLE(r, mr, d)                                                                 \
  do {                                                                                             \
    __m256d t01lo = _mm256_unpacklo_pd(r[0], r[1]), t01hi = _mm256_unpackhi_pd(r[0], r[1]);        \
    __m256d t23lo = _mm256_unpacklo_pd(r[2], r[3]), t23hi = _mm256_unpackhi_pd(r[2], r[3]);        \
    __m256d t45lo = _mm256_unpacklo_pd(r[4], r[5]), t45hi = _mm256_unpackhi_pd(r[4], r[5]);        \
    _mm256_storeu_pd(d + 0 * mr, _mm256_permute2f128_pd(t01lo, t23lo, 0x20));                      \
    _mm_storeu_pd(d + 0 * mr + 4, _mm256_castpd256_pd128(t45lo));                                  \
    _mm256_storeu_pd(d + 1 * mr, _mm256_permute2f128_pd(t01hi, t23hi, 0x20));                      \
    _mm_storeu_pd(d + 1 * mr + 4, _mm256_castpd256_pd128(t45hi));                                  \
    _mm256_storeu_pd(d + 2 * mr, _mm256_permute2f128_pd(t01lo, t23lo, 0x31));                      \
    _mm_storeu_pd(d + 2 * mr + 4, _mm256_extractf128_pd(t45lo, 1));                                \
    _mm256_storeu_pd(d + 3 * mr, _mm256_permute2f128_pd(t01hi, t23hi, 0x31));                      \
    _mm_storeu_pd(d + 3 * mr + 4, _mm256_extractf128_pd(t45hi, 1));                                \
  } while (0)

// Six rows of A (row stride lda, contiguous along p) into a panel whose p-steps are mr apart (a
// whole 6-row panel, or half of a 12-row one), eight (Float) or four (Double) values of p at a time: the rows are loaded as vectors and transposed in registers, so
// that a panel costs a few shuffles and full-width stores per block instead of one scalar store
// per element. Returns how many values of p it packed; the caller packs the rest.
__attribute__((target("avx2,fma"))) static ptrdiff_t packRowsAVX2_float(const float *a, ptrdiff_t lda, ptrdiff_t mr,
                                                                          ptrdiff_t kc, float *d) {
  ptrdiff_t p = 0;
  for (; p + 8 <= kc; p += 8, d += 8 * mr) {
    __m256 r[6];
    for (int j = 0; j < 6; j++) r[j] = _mm256_loadu_ps(a + j * lda + p);
    STORE_6x8_FLOAT(r, mr, d);
  }
  return p;
}

__attribute__((target("avx2,fma"))) static ptrdiff_t packRowsAVX2_double(const double *a, ptrdiff_t lda, ptrdiff_t mr,
                                                                           ptrdiff_t kc, double *d) {
  ptrdiff_t p = 0;
  for (; p + 4 <= kc; p += 4, d += 4 * mr) {
    __m256d r[6];
    for (int j = 0; j < 6; j++) r[j] = _mm256_loadu_pd(a + j * lda + p);
    STORE_6x4_DOUBLE(r, mr, d);
  }
  return p;
}

// Six taps of one image's columns (dense windows: stride 1, dilation 1), read straight from the
// zero-padded image: tap r's column row is ho runs of wo scalars, one padded row (wp) apart,
// starting at taps[r]. Positions p0 ..< p0 + kc go into a panel whose p-steps are mr apart, eight
// (Float) or four (Double) at a time, transposed in registers as packRowsAVX2_* does. A group of
// positions that crosses into the next output row takes the rest of its lanes from that row (a
// second load and a blend), so wo must be at least a vector's lanes. Returns how many values of
// p it packed; the caller packs the rest.
// Masks whose first k 32-bit lanes are set, at firstLanes + 8 − k.
static const int firstLanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
#define PACK_WINDOWS_AVX2(T, LANES, VEC, LOAD, BLEND, CAST, TRANSPOSE_STORE)                        \
  __attribute__((target("avx2,fma"))) static ptrdiff_t packWindowsAVX2_##T(                        \
      const T *const taps[6], ptrdiff_t wp, ptrdiff_t wo, ptrdiff_t p0, ptrdiff_t mr, ptrdiff_t kc, T *d) { \
    ptrdiff_t p = 0, y = p0 / wo, x = p0 % wo;                                                     \
    for (; p + LANES <= kc; p += LANES, d += LANES * mr) {                                         \
      ptrdiff_t at = y * wp + x;                                                                   \
      VEC r[6];                                                                                    \
      if (x + LANES <= wo) {                                                                       \
        for (int j = 0; j < 6; j++) r[j] = LOAD(taps[j] + at);                                     \
        x += LANES;                                                                                \
      } else {                                                                                     \
        /* The first (wo − x) lanes are this row's last positions, the rest the next row's first. */ \
        ptrdiff_t left = wo - x, next = at + wp - wo;                                              \
        VEC mask = CAST(_mm256_loadu_si256((const __m256i *)(firstLanes + 8 - left * (8 / LANES)))); \
        for (int j = 0; j < 6; j++) r[j] = BLEND(LOAD(taps[j] + next), LOAD(taps[j] + at), mask);  \
        y += 1, x = LANES - left;                                                                  \
      }                                                                                            \
      if (x == wo) y += 1, x = 0;                                                                  \
      TRANSPOSE_STORE(r, mr, d);                                                                   \
    }                                                                                              \
    return p;                                                                                      \
  }
PACK_WINDOWS_AVX2(float, 8, __m256, _mm256_loadu_ps, _mm256_blendv_ps, _mm256_castsi256_ps, STORE_6x8_FLOAT)
PACK_WINDOWS_AVX2(double, 4, __m256d, _mm256_loadu_pd, _mm256_blendv_pd, _mm256_castsi256_pd, STORE_6x4_DOUBLE)

// A last panel of B narrower than nr (row-major, rows rsb apart): each row's `cols` values and
// zeros to nr, eight Floats or four Doubles at a time, the row's end through a masked load
// (which reads nothing past the mask; masked stores, slow on AMD processors, are not used).
#define PACK_NARROW_AVX2(T, LANES, VEC, LOADU, MASKLOAD, STOREU, ZERO, MASK)                       \
  __attribute__((target("avx2,fma"))) static void packNarrowAVX2_##T(const T *b, ptrdiff_t rsb, ptrdiff_t nr, \
                                                                     ptrdiff_t cols, ptrdiff_t kc, T *d) { \
    ptrdiff_t whole = cols / LANES * LANES, rest = cols - whole;                                   \
    __m256i mask = MASK(rest);                                                                     \
    for (ptrdiff_t p = 0; p < kc; p++, b += rsb, d += nr) {                                        \
      ptrdiff_t j = 0;                                                                             \
      for (; j < whole; j += LANES) STOREU(d + j, LOADU(b + j));                                   \
      if (rest > 0) STOREU(d + j, MASKLOAD(b + j, mask)), j += LANES;                              \
      for (; j < nr; j += LANES) STOREU(d + j, ZERO());                                            \
    }                                                                                              \
  }
#define NARROW_MASK32(k) _mm256_loadu_si256((const __m256i *)(firstLanes + 8 - (k)))
#define NARROW_MASK64(k) _mm256_loadu_si256((const __m256i *)(firstLanes + 8 - 2 * (k)))
PACK_NARROW_AVX2(float, 8, __m256, _mm256_loadu_ps, _mm256_maskload_ps, _mm256_storeu_ps, _mm256_setzero_ps,
                 NARROW_MASK32)
PACK_NARROW_AVX2(double, 4, __m256d, _mm256_loadu_pd, _mm256_maskload_pd, _mm256_storeu_pd, _mm256_setzero_pd,
                 NARROW_MASK64)

// The first `columns` of an nr-wide panel of B (column stride ldb, contiguous along p; `columns`
// a multiple of 8 Floats or 4 Doubles), eight (Float) or four (Double) values of p at a time, transposed in registers. Returns how many values of p
// it packed; the caller packs the rest.
__attribute__((target("avx2,fma"))) static ptrdiff_t packColumnsAVX2_float(const float *b, ptrdiff_t ldb, ptrdiff_t nr,
                                                                             ptrdiff_t columns, ptrdiff_t kc,
                                                                             float *d) {
  ptrdiff_t p = 0;
  for (; p + 8 <= kc; p += 8, d += 8 * nr) {
    for (ptrdiff_t block = 0; block < columns; block += 8) {
      __m256 r[8];
      for (int j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(b + (block + j) * ldb + p);
      transpose8x8(r);
      for (int q = 0; q < 8; q++) _mm256_storeu_ps(d + q * nr + block, r[q]);
    }
  }
  return p;
}

__attribute__((target("avx2,fma"))) static ptrdiff_t packColumnsAVX2_double(const double *b, ptrdiff_t ldb, ptrdiff_t nr,
                                                                              ptrdiff_t columns, ptrdiff_t kc,
                                                                              double *d) {
  ptrdiff_t p = 0;
  for (; p + 4 <= kc; p += 4, d += 4 * nr) {
    for (ptrdiff_t block = 0; block < columns; block += 4) {
      __m256d r[4];
      for (int j = 0; j < 4; j++) r[j] = _mm256_loadu_pd(b + (block + j) * ldb + p);
      transpose4x4(r);
      for (int q = 0; q < 4; q++) _mm256_storeu_pd(d + q * nr + block, r[q]);
    }
  }
  return p;
}
#endif

// ---------------------------------------------------------------------------------------------
// The kernels of each path, and their tile.

#define CONFIG(T)                                                                                  \
  typedef void (*Kernel_##T)(ptrdiff_t kc, const T *restrict ap, const T *restrict bp, ptrdiff_t ldb, T *c, \
                             ptrdiff_t ldc, int accumulate, int rows, int cols);                    \
  typedef void (*WideKernel_##T)(ptrdiff_t kc, const T *restrict ap, const T *restrict bp, const T *restrict bq, \
                                 ptrdiff_t ldb, T *c, ptrdiff_t ldc, int accumulate, int rows);     \
  typedef struct {                                                                                 \
    const char *name;                                                                              \
    ptrdiff_t mr, nr;                /* the tile */                                                \
    Kernel_##T kernels[MR_MAX + 1];  /* kernels[r]: for a panel of r ≤ mr rows */                  \
    Kernel_##T narrow[MR_MAX + 1];   /* the same for a last panel of at most nr / 2 columns */    \
    WideKernel_##T wide;             /* a panel of two rows across two full panels of B, or NULL */ \
    ptrdiff_t (*packRows)(const T *a, ptrdiff_t lda, ptrdiff_t kc, T *d);    /* mr rows, or NULL */ \
    ptrdiff_t (*packColumns)(const T *b, ptrdiff_t ldb, ptrdiff_t columns, ptrdiff_t kc, T *d); /* or NULL */ \
    ptrdiff_t columnBlock;           /* the multiple of columns that packColumns takes */           \
    int readsBInPlace;               /* whether a small row-major block of B is read unpacked */   \
    ptrdiff_t fewRows;               /* the rows of C at most which read any such block in place */ \
    /* Six rows of A from six starts: an image's taps in its padded copy, wo positions to an     \
       output row (packWindowsAVX2_*), or a short panel's rows; or NULL. */                       \
    ptrdiff_t (*packWindows)(const T *const taps[6], ptrdiff_t wp, ptrdiff_t wo, ptrdiff_t p0, ptrdiff_t mr, \
                             ptrdiff_t kc, T *d);                                                  \
    /* A last, narrower panel of row-major B (packNarrowAVX2_*), or NULL. */                        \
    void (*packNarrow)(const T *b, ptrdiff_t rsb, ptrdiff_t nr, ptrdiff_t cols, ptrdiff_t kc, T *d); \
  } Config_##T;
CONFIG(float)
CONFIG(double)

#define SAME_KERNEL(k) {k, k, k, k, k, k, k, k, k, k, k, k, k}

static const Config_float portableFloat = {"portable", MR, NR32, SAME_KERNEL(kernelPortable_float),
                                           SAME_KERNEL(kernelPortable_float), NULL, NULL, NULL, 0, 0, FEW_ROWS, NULL, NULL};
static const Config_double portableDouble = {"portable", MR, NR64, SAME_KERNEL(kernelPortable_double),
                                             SAME_KERNEL(kernelPortable_double), NULL, NULL, NULL, 0, 0, FEW_ROWS, NULL, NULL};

#if BP_NEON
// The full tile also serves short panels.
static const Config_float neonFloat = {"neon", MR, NR32, SAME_KERNEL(kernelNEON_float),
                                       SAME_KERNEL(kernelNEON_float), NULL, NULL, NULL, 0, 1, FEW_ROWS, NULL, NULL};
static const Config_double neonDouble = {"neon", MR, NR64, SAME_KERNEL(kernelNEON_double),
                                         SAME_KERNEL(kernelNEON_double), NULL, NULL, NULL, 0, 1, FEW_ROWS, NULL, NULL};
#endif

#if BP_X86
#define PACKERS(T, NRT, NR512)                                                                     \
  static ptrdiff_t packRows6_##T(const T *a, ptrdiff_t lda, ptrdiff_t kc, T *d) {                 \
    return packRowsAVX2_##T(a, lda, MR, kc, d);                                                    \
  }                                                                                                \
  static ptrdiff_t packRows12_##T(const T *a, ptrdiff_t lda, ptrdiff_t kc, T *d) {                \
    packRowsAVX2_##T(a + 6 * lda, lda, MR512, kc, d + 6);                                          \
    return packRowsAVX2_##T(a, lda, MR512, kc, d);                                                 \
  }                                                                                                \
  static ptrdiff_t packColumnsAVX2Tile_##T(const T *b, ptrdiff_t ldb, ptrdiff_t columns, ptrdiff_t kc, T *d) { \
    return packColumnsAVX2_##T(b, ldb, NRT, columns, kc, d);                                       \
  }                                                                                                \
  static ptrdiff_t packColumnsAVX512Tile_##T(const T *b, ptrdiff_t ldb, ptrdiff_t columns, ptrdiff_t kc, T *d) { \
    return packColumnsAVX2_##T(b, ldb, NR512, columns, kc, d);                                     \
  }
PACKERS(float, NR32, NR512_32)
PACKERS(double, NR64, NR512_64)

#define AVX2_KERNELS(T) {kernelAVX2_##T##_2, kernelAVX2_##T##_2, kernelAVX2_##T##_2, kernelAVX2_##T##_4, \
                         kernelAVX2_##T##_4, kernelAVX2_##T, kernelAVX2_##T}
#define AVX512_KERNELS(T, V)                                                                       \
  {kernelAVX512_##T##_2x##V, kernelAVX512_##T##_2x##V, kernelAVX512_##T##_2x##V,                     \
   kernelAVX512_##T##_4x##V, kernelAVX512_##T##_4x##V, kernelAVX512_##T##_6x##V,                     \
   kernelAVX512_##T##_6x##V, kernelAVX512_##T##_8x##V, kernelAVX512_##T##_8x##V,                     \
   kernelAVX512_##T##_10x##V, kernelAVX512_##T##_10x##V, kernelAVX512_##T##_12x##V,                  \
   kernelAVX512_##T##_12x##V}
static const Config_float avx2Float = {"avx2+fma", MR, NR32, AVX2_KERNELS(float), AVX2_KERNELS(float),
                                       kernelAVX2_float_2wide, packRows6_float, packColumnsAVX2Tile_float, 8, 1, FEW_ROWS,
                                       packWindowsAVX2_float, packNarrowAVX2_float};
static const Config_double avx2Double = {"avx2+fma", MR, NR64, AVX2_KERNELS(double), AVX2_KERNELS(double),
                                         kernelAVX2_double_2wide, packRows6_double, packColumnsAVX2Tile_double, 4, 1, FEW_ROWS,
                                         packWindowsAVX2_double, packNarrowAVX2_double};
static const Config_float avx512Float = {"avx512", MR512, NR512_32, AVX512_KERNELS(float, 2),
                                         AVX512_KERNELS(float, 1), kernelAVX512_float_2wide, packRows12_float,
                                         packColumnsAVX512Tile_float, 8, 1, FEW_ROWS_AVX512, packWindowsAVX2_float, packNarrowAVX2_float};
static const Config_double avx512Double = {"avx512", MR512, NR512_64, AVX512_KERNELS(double, 2),
                                           AVX512_KERNELS(double, 1), kernelAVX512_double_2wide, packRows12_double,
                                           packColumnsAVX512Tile_double, 4, 1, FEW_ROWS_AVX512, packWindowsAVX2_double, packNarrowAVX2_double};
#endif

#define CHOOSE(T, SUFFIX)                                                                          \
  static const Config_##T *config_##T(int kernelChoice) {                                          \
    if (kernelChoice != BP_KERNEL_AUTOMATIC) return &portable##SUFFIX;                             \
    CHOOSE_X86(SUFFIX)                                                                             \
    CHOOSE_NEON(SUFFIX)                                                                            \
    return &portable##SUFFIX;                                                                      \
  }
#if BP_X86
#define CHOOSE_X86(SUFFIX)                                                                         \
  if (bp_has_avx512()) return &avx512##SUFFIX;                                            \
  if (bp_has_avx2_fma()) return &avx2##SUFFIX;
#else
#define CHOOSE_X86(SUFFIX)
#endif
#if BP_NEON
#define CHOOSE_NEON(SUFFIX)                                                                        \
  if (bp_has_neon()) return &neon##SUFFIX;
#else
#define CHOOSE_NEON(SUFFIX)
#endif
CHOOSE(float, Float)
CHOOSE(double, Double)

#if BP_ACCELERATE
// C = op(A)·op(B), or C += op(A)·op(B) when adding, for the rows [rowBegin, rowEnd) of C, by
// Accelerate: cblas_sgemm and cblas_dgemm (order, transposes, M, N, K, α, A, lda, B, ldb, β, C,
// ldc) on the block of rows, whose op(A) starts at row rowBegin.
#define ACCELERATE_GEMM(T, BLAS)                                                                   \
  static void accelerate_##T(int transposeA, int transposeB, ptrdiff_t n, ptrdiff_t k, const T *a,   \
                             ptrdiff_t lda, const T *b, ptrdiff_t ldb, T *c, ptrdiff_t ldc,        \
                             ptrdiff_t rowBegin, ptrdiff_t rowEnd, int adding) {                   \
    BLAS(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans, \
         (__LAPACK_int)(rowEnd - rowBegin), (__LAPACK_int)n, (__LAPACK_int)k, (T)1,                \
         a + (transposeA ? rowBegin : rowBegin * lda), (__LAPACK_int)lda, b, (__LAPACK_int)ldb,    \
         adding ? (T)1 : (T)0, c + rowBegin * ldc, (__LAPACK_int)ldc);                             \
  }
ACCELERATE_GEMM(float, cblas_sgemm)
ACCELERATE_GEMM(double, cblas_dgemm)
// Whether a product goes to Accelerate: the automatic choice on an Apple platform, unless
// BACKPROP_KERNELS names another path; empty products stay with the loops below.
#define TO_ACCELERATE(kernelChoice, n, k, rowBegin, rowEnd)                                        \
  ((kernelChoice) == BP_KERNEL_AUTOMATIC && bp_uses_accelerate() && (n) > 0 && (k) > 0 && (rowEnd) > (rowBegin))
#else
#define TO_ACCELERATE(kernelChoice, n, k, rowBegin, rowEnd) 0
#define accelerate_float(...) ((void)0)
#define accelerate_double(...) ((void)0)
#endif

const char *bp_gemm_instruction_set(void) {
  if (BP_ACCELERATE && bp_uses_accelerate()) return "accelerate";
  return config_float(BP_KERNEL_AUTOMATIC)->name;
}

ptrdiff_t bp_gemm_tile_rows(void) { return config_float(BP_KERNEL_AUTOMATIC)->mr; }

ptrdiff_t bp_gemm_tile_columns(void) { return config_float(BP_KERNEL_AUTOMATIC)->nr; }

// ---------------------------------------------------------------------------------------------
// Packing and the loops around the micro-kernel, once per scalar type.

// Packing copies op(A) and op(B) into the panels the micro-kernel streams. It touches every
// element of both operands once per block, so in the products of a small network (k or n of a
// few hundred) it is a real share of the time, and full panels take branch-free paths. A run
// that is contiguous in the source and in the panel (rows of B, or of A stored transposed) is
// copied whole; where the panel runs across the source's rows (A, or B stored transposed), the
// x86 paths load 8 (Float) or 4 (Double) values of each row and transpose them in registers.
// Edge panels are padded with zeros.
// Copies one row of a panel (mr or nr scalars): a fixed size for the tiles there are, so that
// the compiler inlines the copy as a few vector moves instead of calling memcpy per row.
#define COPY_RUN(T, d, s, count)                                                                   \
  do {                                                                                             \
    switch (count) {                                                                               \
    case 6: memcpy(d, s, sizeof(T) * 6); break;                                                    \
    case 8: memcpy(d, s, sizeof(T) * 8); break;                                                    \
    case 12: memcpy(d, s, sizeof(T) * 12); break;                                                  \
    case 16: memcpy(d, s, sizeof(T) * 16); break;                                                  \
    case 32: memcpy(d, s, sizeof(T) * 32); break;                                                  \
    default: memcpy(d, s, sizeof(T) * (size_t)(count));                                            \
    }                                                                                              \
  } while (0)

#define PACK(T)                                                                                    \
  /* op(A)[i0 ..< i0+mc, p0 ..< p0+kc] into mr-tall panels, p-major within a panel. */             \
  static void packA_##T(const Config_##T *config, const T *a, ptrdiff_t rsa, ptrdiff_t csa, ptrdiff_t i0, \
                        ptrdiff_t mc, ptrdiff_t p0, ptrdiff_t kc, T *dst) {                        \
    ptrdiff_t mr = config->mr, full = mc / mr * mr;                                                \
    if (rsa == 1) {                                                                                \
      /* Stored transposed: for each p the rows are contiguous; deal each run into the panels. */  \
      for (ptrdiff_t p = 0; p < kc; p++) {                                                         \
        const T *src = a + i0 + (p0 + p) * csa;                                                    \
        T *d = dst + p * mr;                                                                       \
        for (ptrdiff_t ir = 0; ir < full; ir += mr, d += mr * kc) COPY_RUN(T, d, src + ir, mr);    \
      }                                                                                            \
    } else {                                                                                       \
      for (ptrdiff_t ir = 0; ir < full; ir += mr) {                                                \
        const T *r0 = a + (i0 + ir) * rsa + p0 * csa;                                              \
        T *d = dst + ir * kc;                                                                      \
        ptrdiff_t p = config->packRows && csa == 1 ? config->packRows(r0, rsa, kc, d) : 0;         \
        if (mr == MR) {                                                                            \
          const T *r1 = r0 + rsa, *r2 = r1 + rsa, *r3 = r2 + rsa, *r4 = r3 + rsa, *r5 = r4 + rsa;  \
          for (d += p * MR; p < kc; p++, d += MR) {                                                \
            ptrdiff_t q = p * csa;                                                                 \
            d[0] = r0[q], d[1] = r1[q], d[2] = r2[q], d[3] = r3[q], d[4] = r4[q], d[5] = r5[q];    \
          }                                                                                        \
        } else {                                                                                   \
          for (d += p * mr; p < kc; p++, d += mr)                                                  \
            for (ptrdiff_t r = 0; r < mr; r++) d[r] = r0[r * rsa + p * csa];                       \
        }                                                                                          \
      }                                                                                            \
    }                                                                                              \
    if (full < mc) {                                                                               \
      /* The last, shorter panel: rows contiguous along p go through the six-row transposes,      \
         the missing rows read from a row of zeros; the rest element by element. */             \
      ptrdiff_t rows = mc - full, p = 0;                                                           \
      T *d = dst + full * kc;                                                                      \
      if (rsa != 1 && csa == 1 && config->packWindows) {                                           \
        static const T zeros[KC];                                                                  \
        const T *starts[MR_MAX];                                                                   \
        for (ptrdiff_t r = 0; r < mr; r++) starts[r] = r < rows ? a + (i0 + full + r) * rsa + p0 : zeros; \
        /* Rows that never end: positions never cross into a next one. */                          \
        for (ptrdiff_t r = 0; r < mr; r += 6) p = config->packWindows(starts + r, 0, PTRDIFF_MAX, 0, mr, kc, d + r); \
      }                                                                                            \
      for (; p < kc; p++) {                                                                        \
        const T *src = a + (i0 + full) * rsa + (p0 + p) * csa;                                     \
        for (ptrdiff_t r = 0; r < mr; r++) d[p * mr + r] = r < rows ? src[r * rsa] : (T)0;         \
      }                                                                                            \
    }                                                                                              \
  }                                                                                                \
  /* op(B)[p0 ..< p0+kc, j0 ..< j0+nc] into nr-wide panels, p-major within a panel. */             \
  static void packB_##T(const Config_##T *config, const T *b, ptrdiff_t rsb, ptrdiff_t csb, ptrdiff_t p0, \
                        ptrdiff_t kc, ptrdiff_t j0, ptrdiff_t nc, T *dst) {                        \
    ptrdiff_t nr = config->nr, full = nc / nr * nr;                                                \
    if (csb == 1) {                                                                                \
      /* Rows contiguous: read each row of the block once, in order, and deal it into panels. */   \
      for (ptrdiff_t p = 0; p < kc; p++) {                                                         \
        const T *src = b + (p0 + p) * rsb + j0;                                                    \
        T *d = dst + p * nr;                                                                       \
        for (ptrdiff_t jr = 0; jr < full; jr += nr, d += nr * kc) COPY_RUN(T, d, src + jr, nr);    \
      }                                                                                            \
    } else {                                                                                       \
      /* Stored transposed: column j of op(B) is contiguous along p; write it down the panel. */   \
      for (ptrdiff_t jr = 0; jr < full; jr += nr) {                                                \
        T *d = dst + jr * kc;                                                                      \
        const T *columns = b + p0 * rsb + (j0 + jr) * csb;                                         \
        ptrdiff_t done = config->packColumns && rsb == 1 ? config->packColumns(columns, csb, nr, kc, d) : 0; \
        for (ptrdiff_t j = 0; j < nr; j++) {                                                       \
          const T *src = columns + j * csb;                                                        \
          for (ptrdiff_t p = done; p < kc; p++) d[p * nr + j] = src[p * rsb];                      \
        }                                                                                          \
      }                                                                                            \
    }                                                                                              \
    if (full < nc) {                                                                               \
      /* The last, narrower panel: row-major, in vectors where the path has them; stored         \
         transposed, its whole blocks of columns are transposed in registers too; the rest       \
         element by element, and zeros past its end. */                                         \
      ptrdiff_t cols = nc - full, blocks = 0, done = 0;                                            \
      T *d = dst + full * kc;                                                                      \
      const T *columns = b + p0 * rsb + (j0 + full) * csb;                                         \
      if (csb != 1 && rsb == 1 && config->packColumns) {                                           \
        blocks = cols / config->columnBlock * config->columnBlock;                                 \
        if (blocks > 0) done = config->packColumns(columns, csb, blocks, kc, d);                   \
      } else if (csb == 1 && config->packNarrow) {                                                 \
        config->packNarrow(columns, rsb, nr, cols, kc, d);                                         \
        return;                                                                                    \
      }                                                                                            \
      for (ptrdiff_t p = 0; p < kc; p++) {                                                         \
        const T *src = columns + p * rsb;                                                          \
        for (ptrdiff_t j = p < done ? blocks : 0; j < nr; j++) d[p * nr + j] = j < cols ? src[j * csb] : (T)0; \
      }                                                                                            \
    }                                                                                              \
  }
PACK(float)
PACK(double)

// The loops around the micro-kernel for rows [rowBegin, rowEnd) of C. op(A) is read through
// its row and column strides, or, when `prepacked` is given, from the panels of
// bp_gemm_pack_a_* (every block of A packed once for all the products that share it).
#define GEMM(T, SUFFIX)                                                                            \
  static void gemm_##SUFFIX(const Config_##T *config, const T *a, ptrdiff_t rsa, ptrdiff_t csa,    \
                            const T *prepacked, ptrdiff_t mPadded, const T *b, ptrdiff_t rsb, ptrdiff_t csb, \
                            ptrdiff_t n, ptrdiff_t k, T *c, ptrdiff_t ldc, ptrdiff_t rowBegin, ptrdiff_t rowEnd, \
                            int adding) {                                                          \
    if (rowEnd <= rowBegin || n <= 0 || (k <= 0 && adding)) return;                                \
    if (k <= 0) {                                                                                  \
      for (ptrdiff_t i = rowBegin; i < rowEnd; i++) memset(c + i * ldc, 0, sizeof(T) * (size_t)n); \
      return;                                                                                      \
    }                                                                                              \
    const ptrdiff_t mr = config->mr, nr = config->nr;                                              \
    ptrdiff_t ncMax = minimum(NC, (n + nr - 1) / nr * nr), kcMax = minimum(KC, k);                 \
    ptrdiff_t mcMax = minimum(MC, (rowEnd - rowBegin + mr - 1) / mr * mr);                         \
    T *bPacked = buffer(&packB, &packBCapacity, sizeof(T) * (size_t)(kcMax * ncMax));              \
    T *aPacked = prepacked ? NULL : buffer(&packA, &packACapacity, sizeof(T) * (size_t)(kcMax * mcMax)); \
    if (!bPacked || (!prepacked && !aPacked)) abort(); /* out of memory, as a Swift allocation would */ \
    for (ptrdiff_t jc = 0; jc < n; jc += NC) {                                                     \
      ptrdiff_t nc = minimum(NC, n - jc);                                                          \
      /* A block of B is read where it is (a row of panel jr is nr scalars at b + p·rsb + jr),  \
         which saves the packing pass, when its rows span little memory, when few rows of C    \
         (config->fewRows, a few panels of A) would share the packed copy, or when the block   \
         is shallow (at most SHALLOW rows, whose panel stays in L1 for every panel of A); a    \
         last panel narrower than nr is packed alone. Otherwise the rows are too far apart for  \
         the cache to serve every panel of A, and the block is packed; so is a block whose rows \
         are a multiple of 4 KiB apart (at 1024 Floats, reading it in place ran at 70 % of       \
         packing). */                                                                           \
      size_t rowBytes = (size_t)rsb * sizeof(T);                                                   \
      int direct = config->readsBInPlace && csb == 1 &&                                            \
                   ((size_t)kcMax * rowBytes <= DIRECT_B_BYTES ||                                  \
                    ((rowEnd - rowBegin <= config->fewRows || kcMax <= SHALLOW) && rowBytes % 4096 != 0)); \
      ptrdiff_t ldb = direct ? rsb : nr, fullColumns = direct ? nc / nr * nr : nc;                 \
      for (ptrdiff_t pc = 0, step = depthStep(k); pc < k; pc += step) {                            \
        ptrdiff_t kc = minimum(step, k - pc);                                                      \
        const T *bBlock = direct ? b + pc * rsb + jc : bPacked;                                    \
        if (!direct) packB_##T(config, b, rsb, csb, pc, kc, jc, nc, bPacked);                      \
        else if (fullColumns < nc) packB_##T(config, b, rsb, csb, pc, kc, jc + fullColumns, nc - fullColumns, bPacked); \
        for (ptrdiff_t ic = rowBegin; ic < rowEnd; ic += MC) {                                     \
          ptrdiff_t mc = minimum(MC, rowEnd - ic);                                                 \
          /* In the prepacked layout the panel of rows i.. of a KC block starts at i·kc. */        \
          const T *aBlock = prepacked ? prepacked + pc * mPadded + ic * kc : aPacked;              \
          if (!prepacked) packA_##T(config, a, rsa, csa, ic, mc, pc, kc, aPacked);                 \
          for (ptrdiff_t jr = 0; jr < nc; jr += nr) {                                              \
            for (ptrdiff_t ir = 0; ir < mc; ir += mr) {                                            \
              int rows = (int)minimum(mr, mc - ir), wide = config->wide && rows <= 2;              \
              if (wide && jr / nr % 2 == 1 && jr + nr <= nc) continue; /* done with the last */    \
              /* Panel jr starts at jr·kc when packed, at column jr when read in place; a narrow  \
                 last panel read in place was packed alone. */                                     \
              const T *bPanel = bBlock + jr * (direct ? 1 : kc), *bNext = bBlock + (jr + nr) * (direct ? 1 : kc); \
              T *tile = c + (ic + ir) * ldc + jc + jr;                                             \
              if (wide && jr / nr % 2 == 0 && jr + 2 * nr <= nc) {                                 \
                /* This panel and the next, both full, in one call. */                             \
                config->wide(kc, aBlock + ir * kc, bPanel, bNext, ldb, tile, ldc, pc > 0 || adding, rows); \
                continue;                                                                          \
              }                                                                                    \
              int packedAlone = jr >= fullColumns, cols = (int)minimum(nr, nc - jr);               \
              (cols <= nr / 2 ? config->narrow : config->kernels)[rows](                           \
                  kc, aBlock + ir * kc, packedAlone ? bPacked : bPanel, packedAlone ? nr : ldb, tile, ldc, \
                  pc > 0 || adding, rows, cols);                                                   \
            }                                                                                      \
          }                                                                                        \
        }                                                                                          \
      }                                                                                            \
    }                                                                                              \
  }                                                                                                \
  /* A product only a few columns wide (a filter gradient over few taps, a layer of ten outputs) \
     wastes most of each tile. Its transpose, Cᵀ = op(B)ᵀ·op(A)ᵀ, fills whole tiles: it is        \
     computed into this thread's buffer and transposed into C. Each element sums the same        \
     products in the same order (a·b is b·a, also fused), so the bits are those of the direct    \
     product; when adding, only a product within one KC block goes this way, so that it is still \
     added to C at once. */                                                                     \
  static void gemmOrSwapped_##SUFFIX(const Config_##T *config, const T *a, ptrdiff_t rsa, ptrdiff_t csa,    \
                                     const T *b, ptrdiff_t rsb, ptrdiff_t csb, ptrdiff_t n, ptrdiff_t k, T *c, \
                                     ptrdiff_t ldc, ptrdiff_t rowBegin, ptrdiff_t rowEnd, int adding) {     \
    ptrdiff_t rows = rowEnd - rowBegin;                                                            \
    if (!(n > 0 && n < config->nr && rows >= 2 * n && rows >= 2 * config->mr && k > 0 && (!adding || k <= KC))) { \
      gemm_##SUFFIX(config, a, rsa, csa, NULL, 0, b, rsb, csb, n, k, c, ldc, rowBegin, rowEnd, adding); \
      return;                                                                                      \
    }                                                                                              \
    T *t = buffer(&swapped, &swappedCapacity, sizeof(T) * (size_t)(n * rows));                    \
    if (!t) abort();                                                                               \
    /* op(B)ᵀ[j][p] = op(B)[p][j]; op(A)ᵀ[p][i] = op(A)[rowBegin + i][p]. */                       \
    gemm_##SUFFIX(config, b, csb, rsb, NULL, 0, a + rowBegin * rsa, csa, rsa, rows, k, t, rows, 0, n, 0); \
    for (ptrdiff_t i = 0; i < rows; i++) {                                                         \
      T *row = c + (rowBegin + i) * ldc;                                                           \
      for (ptrdiff_t j = 0; j < n; j++) row[j] = adding ? row[j] + t[j * rows + i] : t[j * rows + i]; \
    }                                                                                              \
  }                                                                                                \
  void bp_gemm_##SUFFIX(int kernelChoice, int transposeA, int transposeB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,     \
                        const T *a, ptrdiff_t lda, const T *b, ptrdiff_t ldb, T *c, ptrdiff_t ldc, \
                        ptrdiff_t rowBegin, ptrdiff_t rowEnd) {                                    \
    (void)m;                                                                                       \
    if (TO_ACCELERATE(kernelChoice, n, k, rowBegin, rowEnd)) {                                     \
      accelerate_##T(transposeA, transposeB, n, k, a, lda, b, ldb, c, ldc, rowBegin, rowEnd, 0);   \
      return;                                                                                      \
    }                                                                                              \
    gemmOrSwapped_##SUFFIX(config_##T(kernelChoice), a, transposeA ? 1 : lda, transposeA ? lda : 1, b,  \
                           transposeB ? 1 : ldb, transposeB ? ldb : 1, n, k, c, ldc, rowBegin, rowEnd, 0); \
  }                                                                                                \
  void bp_gemm_add_##SUFFIX(int kernelChoice, int transposeA, int transposeB, ptrdiff_t m, ptrdiff_t n, \
                            ptrdiff_t k, const T *a, ptrdiff_t lda, const T *b, ptrdiff_t ldb, T *c,  \
                            ptrdiff_t ldc, ptrdiff_t rowBegin, ptrdiff_t rowEnd) {                 \
    (void)m;                                                                                       \
    if (TO_ACCELERATE(kernelChoice, n, k, rowBegin, rowEnd)) {                                     \
      accelerate_##T(transposeA, transposeB, n, k, a, lda, b, ldb, c, ldc, rowBegin, rowEnd, 1);   \
      return;                                                                                      \
    }                                                                                              \
    gemmOrSwapped_##SUFFIX(config_##T(kernelChoice), a, transposeA ? 1 : lda, transposeA ? lda : 1, b,  \
                           transposeB ? 1 : ldb, transposeB ? ldb : 1, n, k, c, ldc, rowBegin, rowEnd, 1); \
  }                                                                                                \
  void bp_gemm_pack_a_##SUFFIX(int kernelChoice, int transposeA, ptrdiff_t m, ptrdiff_t k, const T *a, \
                               ptrdiff_t lda, T *packed) {                                         \
    if (TO_ACCELERATE(kernelChoice, 1, k, 0, m)) {                                                 \
      /* For Accelerate, op(A) row-major and contiguous, m·k of the buffer's scalars. */           \
      for (ptrdiff_t i = 0; i < m; i++)                                                            \
        for (ptrdiff_t p = 0; p < k; p++) packed[i * k + p] = transposeA ? a[p * lda + i] : a[i * lda + p]; \
      return;                                                                                      \
    }                                                                                              \
    const Config_##T *config = config_##T(kernelChoice);                                           \
    ptrdiff_t rsa = transposeA ? 1 : lda, csa = transposeA ? lda : 1;                              \
    ptrdiff_t mPadded = (m + config->mr - 1) / config->mr * config->mr;                            \
    for (ptrdiff_t pc = 0, step = depthStep(k); pc < k; pc += step) {                              \
      ptrdiff_t kc = minimum(step, k - pc);                                                        \
      for (ptrdiff_t ic = 0; ic < m; ic += MC)                                                     \
        packA_##T(config, a, rsa, csa, ic, minimum(MC, m - ic), pc, kc, packed + pc * mPadded + ic * kc); \
    }                                                                                              \
  }                                                                                                \
  static void prepacked_##SUFFIX(int kernelChoice, const T *packedA, int transposeB, ptrdiff_t m, ptrdiff_t n, \
                                 ptrdiff_t k, const T *b, ptrdiff_t ldb, T *c, ptrdiff_t ldc, ptrdiff_t rowBegin, \
                                 ptrdiff_t rowEnd, int adding) {                                  \
    if (TO_ACCELERATE(kernelChoice, n, k, rowBegin, rowEnd)) {                                     \
      accelerate_##T(0, transposeB, n, k, packedA, k, b, ldb, c, ldc, rowBegin, rowEnd, adding);   \
      return;                                                                                      \
    }                                                                                              \
    const Config_##T *config = config_##T(kernelChoice);                                           \
    gemm_##SUFFIX(config, NULL, 0, 0, packedA, (m + config->mr - 1) / config->mr * config->mr, b,  \
                  transposeB ? 1 : ldb, transposeB ? ldb : 1, n, k, c, ldc, rowBegin, rowEnd, adding); \
  }                                                                                                \
  void bp_gemm_prepacked_##SUFFIX(int kernelChoice, const T *packedA, int transposeB, ptrdiff_t m, ptrdiff_t n, \
                                  ptrdiff_t k, const T *b, ptrdiff_t ldb, T *c, ptrdiff_t ldc,     \
                                  ptrdiff_t rowBegin, ptrdiff_t rowEnd) {                          \
    prepacked_##SUFFIX(kernelChoice, packedA, transposeB, m, n, k, b, ldb, c, ldc, rowBegin, rowEnd, 0); \
  }                                                                                                \
  void bp_gemm_prepacked_add_##SUFFIX(int kernelChoice, const T *packedA, int transposeB, ptrdiff_t m, \
                                      ptrdiff_t n, ptrdiff_t k, const T *b, ptrdiff_t ldb, T *c, ptrdiff_t ldc, \
                                      ptrdiff_t rowBegin, ptrdiff_t rowEnd) {                      \
    prepacked_##SUFFIX(kernelChoice, packedA, transposeB, m, n, k, b, ldb, c, ldc, rowBegin, rowEnd, 1); \
  }

// The columns of one image under dense windows, packed as bp_gemm_pack_a_* packs op(A): for
// each KC block of positions, the mr-tall panels of taps, p-major, zeros past the last tap. Tap
// (channel, i, j) at position (y, x) is padded[channel·hp·wp + (i + y)·wp + j + x].
#define PACK_WINDOWS(T, SUFFIX)                                                                    \
  void bp_gemm_pack_windows_##SUFFIX(int kernelChoice, const T *padded, ptrdiff_t channels, ptrdiff_t hp, \
                                     ptrdiff_t wp, ptrdiff_t kh, ptrdiff_t kw, T *packed) {        \
    ptrdiff_t m = channels * kh * kw, ho = hp - kh + 1, wo = wp - kw + 1, k = ho * wo;             \
    if (m <= 0 || ho <= 0 || wo <= 0) return;                                                      \
    if (TO_ACCELERATE(kernelChoice, 1, k, 0, m)) {                                                 \
      /* For Accelerate, the columns row-major, as bp_gemm_pack_a_* leaves op(A). */               \
      for (ptrdiff_t t = 0; t < m; t++) {                                                          \
        const T *row = padded + t / (kh * kw) * hp * wp + t / kw % kh * wp + t % kw;               \
        for (ptrdiff_t y = 0; y < ho; y++) memcpy(packed + t * k + y * wo, row + y * wp, sizeof(T) * (size_t)wo); \
      }                                                                                            \
      return;                                                                                      \
    }                                                                                              \
    const Config_##T *config = config_##T(kernelChoice);                                           \
    ptrdiff_t mr = config->mr, mPadded = (m + mr - 1) / mr * mr;                                   \
    int vectors = config->packWindows && wo >= 32 / (ptrdiff_t)sizeof(T);                         \
    for (ptrdiff_t pc = 0, step = depthStep(k); pc < k; pc += step) {                              \
      ptrdiff_t kc = minimum(step, k - pc);                                                        \
      for (ptrdiff_t i = 0; i < mPadded; i += mr) {                                                \
        T *d = packed + pc * mPadded + i * kc;                                                     \
        /* Tap t = (channel, ti, tj) starts at channel·hp·wp + ti·wp + tj; step to the next. */    \
        const T *taps[MR_MAX];                                                                     \
        ptrdiff_t channel = i / (kh * kw), ti = i / kw % kh, tj = i % kw;                          \
        for (ptrdiff_t r = 0; r < mr; r++) {                                                       \
          taps[r] = i + r < m ? padded + channel * hp * wp + ti * wp + tj : NULL;                  \
          if (++tj == kw && (tj = 0, ++ti == kh)) ti = 0, channel++;                               \
        }                                                                                          \
        ptrdiff_t p = 0;                                                                           \
        if (vectors && i + mr <= m) {                                                              \
          /* Whole panels six taps at a time (a 12-tall panel in two halves). */                   \
          for (ptrdiff_t r = 0; r < mr; r += 6) p = config->packWindows(taps + r, wp, wo, pc, mr, kc, d + r); \
        }                                                                                          \
        for (ptrdiff_t y = (pc + p) / wo, x = (pc + p) % wo; p < kc; p++) {                        \
          for (ptrdiff_t r = 0; r < mr; r++) d[p * mr + r] = taps[r] ? taps[r][y * wp + x] : (T)0; \
          if (++x == wo) y++, x = 0;                                                               \
        }                                                                                          \
      }                                                                                            \
    }                                                                                              \
  }
PACK_WINDOWS(float, f32)
PACK_WINDOWS(double, f64)

ptrdiff_t bp_gemm_packed_a_count(ptrdiff_t m, ptrdiff_t k) { return (m + MR_MAX - 1) / MR_MAX * MR_MAX * k; }

ptrdiff_t bp_gemm_depth_block(void) { return KC; }

GEMM(float, f32)
GEMM(double, f64)

// ---------------------------------------------------------------------------------------------
// Small products (below the packing threshold: attention's per-head products, a small batch's
// layers), on the calling thread, without packing: each row of C is built across its columns,
// eight Floats (four Doubles) at a time, summing over p in order with fused multiply-adds, four
// rows at once so that four chains of FMAs overlap; the last columns take scalar FMAs in the same
// order. So each element has the same bits on AVX2, AVX-512 (which keeps these loops) and NEON.
// The portable loop adds the products without fusing them, in the same order.

#define SMALL_ROWS(T, R, VEC, LANES, ZERO, LOAD, STORE, SET1, FMADD, SCALAR_FMA)                   \
  for (; i + R <= m; i += R) {                                                                     \
    ptrdiff_t j = 0;                                                                               \
    for (; j + LANES <= n; j += LANES) {                                                           \
      VEC s[R];                                                                                    \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) s[r] = ZERO;                  \
      for (ptrdiff_t p = 0; p < k; p++) {                                                          \
        VEC bv = LOAD(b + p * n + j);                                                              \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++)                             \
          s[r] = FMADD(SET1(a[(i + r) * rsa + p * csa]), bv, s[r]);                                \
      }                                                                                            \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) STORE(c + (i + r) * n + j, s[r]); \
    }                                                                                              \
    for (; j < n; j++)                                                                             \
      for (int r = 0; r < R; r++) {                                                                \
        T s = 0;                                                                                   \
        for (ptrdiff_t p = 0; p < k; p++) s = SCALAR_FMA(a[(i + r) * rsa + p * csa], b[p * n + j], s); \
        c[(i + r) * n + j] = s;                                                                    \
      }                                                                                            \
  }
#define SMALL(T, NAME, ATTRIBUTES, VEC, LANES, ZERO, LOAD, STORE, SET1, FMADD, SCALAR_FMA)          \
  ATTRIBUTES static void NAME(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const T *a, ptrdiff_t rsa, ptrdiff_t csa, \
                              const T *b, T *c) {                                                  \
    ptrdiff_t i = 0;                                                                               \
    SMALL_ROWS(T, 4, VEC, LANES, ZERO, LOAD, STORE, SET1, FMADD, SCALAR_FMA)                       \
    SMALL_ROWS(T, 1, VEC, LANES, ZERO, LOAD, STORE, SET1, FMADD, SCALAR_FMA)                       \
  }

#if BP_X86
SMALL(float, smallAVX2_float, __attribute__((target("avx2,fma"))), __m256, 8, _mm256_setzero_ps(), _mm256_loadu_ps,
      _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps, __builtin_fmaf)
SMALL(double, smallAVX2_double, __attribute__((target("avx2,fma"))), __m256d, 4, _mm256_setzero_pd(),
      _mm256_loadu_pd, _mm256_storeu_pd, _mm256_set1_pd, _mm256_fmadd_pd, __builtin_fma)
#endif
#if BP_NEON
#define NEON_FMADD_F32(x, y, s) vfmaq_f32(s, x, y)
#define NEON_FMADD_F64(x, y, s) vfmaq_f64(s, x, y)
SMALL(float, smallNEON_float, , float32x4_t, 4, vdupq_n_f32(0), vld1q_f32, vst1q_f32, vdupq_n_f32, NEON_FMADD_F32,
      __builtin_fmaf)
SMALL(double, smallNEON_double, , float64x2_t, 2, vdupq_n_f64(0), vld1q_f64, vst1q_f64, vdupq_n_f64, NEON_FMADD_F64,
      __builtin_fma)
#endif

#define SMALL_ENTRY(T, SUFFIX)                                                                     \
  static void smallPortable_##T(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const T *a, ptrdiff_t rsa, ptrdiff_t csa, \
                                const T *b, T *c) {                                                \
    for (ptrdiff_t i = 0; i < m; i++)                                                              \
      for (ptrdiff_t j = 0; j < n; j++) {                                                          \
        T s = 0;                                                                                   \
        for (ptrdiff_t p = 0; p < k; p++) s = s + a[i * rsa + p * csa] * b[p * n + j];             \
        c[i * n + j] = s;                                                                          \
      }                                                                                            \
  }                                                                                                \
  void bp_small_gemm_##SUFFIX(int transposeA, int transposeB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const T *a, \
                              const T *b, T *c) {                                                  \
    if (m <= 0 || n <= 0) return;                                                                  \
    if (transposeB && k > 0) {                                                                     \
      /* Row j of the stored B is column j of op(B): transposed into this thread's buffer. */      \
      T *rows = buffer(&packB, &packBCapacity, sizeof(T) * (size_t)(k * n));                       \
      if (!rows) abort();                                                                          \
      for (ptrdiff_t p = 0; p < k; p++)                                                            \
        for (ptrdiff_t j = 0; j < n; j++) rows[p * n + j] = b[j * k + p];                          \
      b = rows;                                                                                    \
    }                                                                                              \
    ptrdiff_t rsa = transposeA ? 1 : k, csa = transposeA ? m : 1;                                  \
    SMALL_X86(T, m, n, k, a, rsa, csa, b, c)                                                       \
    SMALL_NEON(T, m, n, k, a, rsa, csa, b, c)                                                      \
    smallPortable_##T(m, n, k, a, rsa, csa, b, c);                                                 \
  }
#if BP_X86
#define SMALL_X86(T, ...)                                                                          \
  if (bp_has_avx2_fma()) {                                                                         \
    smallAVX2_##T(__VA_ARGS__);                                                                    \
    return;                                                                                        \
  }
#else
#define SMALL_X86(T, ...)
#endif
#if BP_NEON
#define SMALL_NEON(T, ...)                                                                         \
  if (bp_has_neon()) {                                                                             \
    smallNEON_##T(__VA_ARGS__);                                                                    \
    return;                                                                                        \
  }
#else
#define SMALL_NEON(T, ...)
#endif
SMALL_ENTRY(float, f32)
SMALL_ENTRY(double, f64)
