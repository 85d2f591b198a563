// Copies of runs at fixed strides, for im2col, and col2im of dense windows. A copy moves every
// run of a column row (one tap of one channel of one image) in one call instead of one call per
// run. With AVX or NEON a run moves in whole vectors; the plain loops are for the portable path
// (the compiler makes the copy a memcpy call per run, which costs more than a short run).
// AVX-512 keeps the AVX loops: its masked runs made the Digits CNN's step 30 % slower on Zen 4.

#include "BackpropKernels.h"

#include "cpu.h"

#if BP_X86
// Masks whose first k lanes are set, at offset 8 − k (Float) or 2·(4 − k) (Double).
static const int tailMasks[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

// A run of one vector (an 8×8 image's rows of Float) is one load and one store. Masked stores are
// slow on AMD processors (microcoded), so a tail avoids them: the run's last whole vector moves
// again, overlapping the one before with the same values. Only runs shorter than a vector take
// masked loads and stores.
#define AVX_RUNS(T, SUFFIX, VEC, LANES, LOAD, STORE, MASKLOAD, MASKSTORE, MASK)                     \
  __attribute__((target("avx"))) static void copyRunsAVX_##SUFFIX(T *dst, ptrdiff_t dstStride,     \
                                                                  const T *src, ptrdiff_t srcStride, \
                                                                  ptrdiff_t runs, ptrdiff_t length) { \
    if (length == LANES) {                                                                         \
      for (ptrdiff_t r = 0; r < runs; r++, dst += dstStride, src += srcStride) STORE(dst, LOAD(src)); \
      return;                                                                                      \
    }                                                                                              \
    if (length > LANES && length <= 4 * LANES) {                                                   \
      /* Runs of two to four vectors (28 Floats, a 28-wide image's rows): the first vectors and  \
         the last, overlapping the one before with the same values, without a loop. */           \
      ptrdiff_t last = length - LANES;                                                             \
      for (ptrdiff_t r = 0; r < runs; r++, dst += dstStride, src += srcStride) {                   \
        VEC first = LOAD(src), end = LOAD(src + last);                                             \
        if (length > 2 * LANES) STORE(dst + LANES, LOAD(src + LANES));                             \
        if (length > 3 * LANES) STORE(dst + 2 * LANES, LOAD(src + 2 * LANES));                     \
        STORE(dst, first);                                                                         \
        STORE(dst + last, end);                                                                    \
      }                                                                                            \
      return;                                                                                      \
    }                                                                                              \
    ptrdiff_t full = length / LANES * LANES, tail = length - full;                                 \
    if (full == 0) {                                                                               \
      __m256i mask = MASK(tail);                                                                   \
      for (ptrdiff_t r = 0; r < runs; r++, dst += dstStride, src += srcStride)                     \
        MASKSTORE(dst, mask, MASKLOAD(src, mask));                                                 \
      return;                                                                                      \
    }                                                                                              \
    for (ptrdiff_t r = 0; r < runs; r++, dst += dstStride, src += srcStride) {                     \
      for (ptrdiff_t t = 0; t < full; t += LANES) STORE(dst + t, LOAD(src + t));                   \
      if (tail != 0) STORE(dst + length - LANES, LOAD(src + length - LANES));                      \
    }                                                                                              \
  }
#define MASK32(k) _mm256_loadu_si256((const __m256i *)(tailMasks + 8 - (k)))
#define MASK64(k) _mm256_loadu_si256((const __m256i *)(tailMasks + 8 - 2 * (k)))
AVX_RUNS(float, f32, __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_maskload_ps, _mm256_maskstore_ps,
         MASK32)
AVX_RUNS(double, f64, __m256d, 4, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_maskload_pd, _mm256_maskstore_pd,
         MASK64)

// col2im of dense windows (stride 1, dilation 1) by gathering instead of scattering: each vector
// of an image row sums its kh·kw taps in a register, in tap order from zero, and is stored once,
// where adding the column rows into a padded image tap by tap read and wrote each pixel once per
// tap, and the image was then cut out of the padding. Four vectors of a row go at once, so that
// their chains of additions overlap. A tap's lanes that fall outside the output row (at a row's
// ends) are loaded with the others and cleared by a mask; adding those zeros changes nothing,
// since a sum that starts from +0 is never −0, so every pixel is the same sum in the same order:
// the same bits. The cleared lanes read neighbouring columns, never outside the buffer: only tap
// columns j > 0 start before their row (by at most j scalars, into tap j − 1's row), and only
// j < kw − 1 end past it (by at most kw − 1 − j, into tap j + 1's). A row's last vector overlaps
// the one before it, with the same values, rather than store through a mask; rows narrower
// than a vector take the portable loop.
// One call of foldBlocksAVX_* for NB blocks, of one image row or of a pair.
#define FOLD_BLOCKS(SUFFIX, NB)                                                                    \
  (pair ? foldBlocksAVX_##SUFFIX(NB, 2, taps, rows, step, kw, positions, wo, at, mask, pixels, w, x + b)    \
        : foldBlocksAVX_##SUFFIX(NB, 1, taps, rows, step, kw, positions, wo, at, mask, pixels, w, x + b))
#define AVX_FOLD(T, SUFFIX, VEC, LANES, LOAD, STORE, ADD, ZERO, AND, MASK)                          \
  /* NB blocks of one image row at once, so that their sums' additions overlap; with ROWS = 2,  \
     of the next image row too, whose taps are one output row (wo scalars) further on under the  \
     same masks (an interior row, which reads the same tap rows): twice the chains in flight.    \
     NB and ROWS are constants at every call, so the loops over them unroll. */                  \
  __attribute__((target("avx"), always_inline)) static inline void foldBlocksAVX_##SUFFIX(         \
      int nb, int imageRows, const T *taps, ptrdiff_t rows, ptrdiff_t step, ptrdiff_t kw,          \
      ptrdiff_t positions, ptrdiff_t wo, const ptrdiff_t *first, const VEC *masks, T *out, ptrdiff_t w, \
      const ptrdiff_t *x) {                                                                        \
    VEC sum[2][4] = {{ZERO(), ZERO(), ZERO(), ZERO()}, {ZERO(), ZERO(), ZERO(), ZERO()}};          \
    for (ptrdiff_t i = 0; i < rows; i++, taps += step)                                             \
      for (ptrdiff_t j = 0; j < kw; j++, taps += positions)                                        \
        for (int b = 0; b < nb; b++) {                                                             \
          const T *tap = taps + first[b * kw + j];                                                 \
          VEC mask = masks[b * kw + j];                                                            \
          for (int r = 0; r < imageRows; r++) sum[r][b] = ADD(sum[r][b], AND(LOAD(tap + r * wo), mask)); \
        }                                                                                          \
    for (int r = 0; r < imageRows; r++)                                                            \
      for (int b = 0; b < nb; b++) STORE(out + r * w + x[b], sum[r][b]);                           \
  }                                                                                                \
  __attribute__((target("avx"))) static int foldDenseAVX_##SUFFIX(                                 \
      const T *columns, ptrdiff_t planes, ptrdiff_t kh, ptrdiff_t kw, ptrdiff_t ho, ptrdiff_t wo,  \
      ptrdiff_t ph, ptrdiff_t pw, ptrdiff_t h, ptrdiff_t w, T *out) {                              \
    enum { MAX_TAPS = 128 };                                                                       \
    ptrdiff_t blocks = (w + LANES - 1) / LANES, positions = ho * wo;                               \
    if (w < LANES || blocks * kw > MAX_TAPS) return 0;                                             \
    /* Per block of a row and tap column j: where lane 0 reads (an output column), and the mask \
       of the lanes inside the output row. The same for every row and plane. */                \
    ptrdiff_t first[MAX_TAPS], x[MAX_TAPS];                                                        \
    VEC masks[MAX_TAPS];                                                                           \
    for (ptrdiff_t b = 0; b < blocks; b++) {                                                       \
      x[b] = b * LANES + LANES <= w ? b * LANES : w - LANES;                                       \
      for (ptrdiff_t j = 0; j < kw; j++) {                                                         \
        ptrdiff_t at = x[b] + pw - j, begin = at < 0 ? -at : 0, end = wo - at < LANES ? wo - at : LANES; \
        if (end < begin) end = begin;                                                              \
        first[b * kw + j] = at;                                                                    \
        masks[b * kw + j] = (VEC)_mm256_andnot_ps(_mm256_castsi256_ps(MASK(begin)), _mm256_castsi256_ps(MASK(end))); \
      }                                                                                            \
    }                                                                                              \
    /* From tap row i's run, past its kw column rows, to tap row i + 1's run. */                   \
    ptrdiff_t step = -wo;                                                                          \
    for (ptrdiff_t plane = 0; plane < planes; plane++, columns += kh * kw * positions, out += h * w) \
      for (ptrdiff_t y = 0; y < h; y++) {                                                          \
        /* Tap rows i in [iBegin, iEnd) read output row y + ph − i, which must be in 0 ..< ho. */   \
        ptrdiff_t iBegin = y + ph - ho + 1 > 0 ? y + ph - ho + 1 : 0, iEnd = y + ph + 1 < kh ? y + ph + 1 : kh; \
        const T *taps = columns + iBegin * kw * positions + (y + ph - iBegin) * wo;                \
        ptrdiff_t rows = iEnd > iBegin ? iEnd - iBegin : 0;                                        \
        /* Row y + 1 with the same tap rows (an interior row), in the same pass. */               \
        ptrdiff_t nextBegin = y + ph - ho + 2 > 0 ? y + ph - ho + 2 : 0, nextEnd = y + ph + 2 < kh ? y + ph + 2 : kh; \
        int pair = y + 1 < h && rows > 0 && nextBegin == iBegin && nextEnd == iEnd;                \
        for (ptrdiff_t b = 0; b < blocks; b += 4) {                                                \
          const ptrdiff_t *at = first + b * kw;                                                    \
          const VEC *mask = masks + b * kw;                                                        \
          T *pixels = out + y * w;                                                                 \
          switch (blocks - b) {                                                                    \
          case 1: FOLD_BLOCKS(SUFFIX, 1); break;                                                   \
          case 2: FOLD_BLOCKS(SUFFIX, 2); break;                                                   \
          case 3: FOLD_BLOCKS(SUFFIX, 3); break;                                                   \
          default: FOLD_BLOCKS(SUFFIX, 4);                                                         \
          }                                                                                        \
        }                                                                                          \
        y += pair;                                                                                 \
      }                                                                                            \
    return 1;                                                                                      \
  }
AVX_FOLD(float, f32, __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_add_ps, _mm256_setzero_ps,
         _mm256_and_ps, MASK32)
AVX_FOLD(double, f64, __m256d, 4, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_add_pd, _mm256_setzero_pd,
         _mm256_and_pd, MASK64)
#endif

#if BP_NEON
// NEON: whole vectors of 4 Floats or 2 Doubles, then the tail element by element.
#define NEON_RUNS(T, SUFFIX, LANES, LOAD, STORE)                                                   \
  static void copyRunsNEON_##SUFFIX(T *dst, ptrdiff_t dstStride, const T *src, ptrdiff_t srcStride,  \
                                    ptrdiff_t runs, ptrdiff_t length) {                            \
    ptrdiff_t full = length / LANES * LANES;                                                       \
    for (ptrdiff_t r = 0; r < runs; r++, dst += dstStride, src += srcStride) {                     \
      for (ptrdiff_t t = 0; t < full; t += LANES) STORE(dst + t, LOAD(src + t));                   \
      for (ptrdiff_t t = full; t < length; t++) dst[t] = src[t];                                   \
    }                                                                                              \
  }
NEON_RUNS(float, f32, 4, vld1q_f32, vst1q_f32)
NEON_RUNS(double, f64, 2, vld1q_f64, vst1q_f64)
#define RUNS_NEON(NAME, SUFFIX, ...) NAME##_##SUFFIX(__VA_ARGS__)
#else
#define RUNS_NEON(NAME, SUFFIX, ...) ((void)0)
#endif

#define RUNS(T, SUFFIX)                                                                            \
  void bp_copy_runs_##SUFFIX(T *dst, ptrdiff_t dstStride, const T *src, ptrdiff_t srcStride,      \
                             ptrdiff_t runs, ptrdiff_t length) {                                   \
    if (BP_X86 && bp_has_avx()) {                                                                      \
      RUNS_AVX(copyRunsAVX, SUFFIX, dst, dstStride, src, srcStride, runs, length);                 \
      return;                                                                                      \
    }                                                                                              \
    if (BP_NEON && bp_has_neon()) {                                                                \
      RUNS_NEON(copyRunsNEON, SUFFIX, dst, dstStride, src, srcStride, runs, length);               \
      return;                                                                                      \
    }                                                                                              \
    for (ptrdiff_t r = 0; r < runs; r++, dst += dstStride, src += srcStride)                       \
      for (ptrdiff_t t = 0; t < length; t++) dst[t] = src[t];                                      \
  }
#if BP_X86
#define RUNS_AVX(NAME, SUFFIX, ...) NAME##_##SUFFIX(__VA_ARGS__)
#else
#define RUNS_AVX(NAME, SUFFIX, ...) ((void)0)
#endif
RUNS(float, f32)
RUNS(double, f64)

// col2im of dense windows, portable: each image row is zeroed and gets its taps' runs added in
// tap order, while it is in L1 (loops the compiler vectorises, NEON included); the x86 paths
// gather each vector's taps in registers instead (foldDenseAVX_*), with the same bits.
#define FOLD_DENSE(T, SUFFIX)                                                                      \
  void bp_fold_dense_##SUFFIX(const T *columns, ptrdiff_t planes, ptrdiff_t kh, ptrdiff_t kw, ptrdiff_t ho, \
                              ptrdiff_t wo, ptrdiff_t ph, ptrdiff_t pw, ptrdiff_t h, ptrdiff_t w, T *out) { \
    if (BP_X86 && bp_has_avx() && FOLD_AVX(SUFFIX, columns, planes, kh, kw, ho, wo, ph, pw, h, w, out)) return; \
    ptrdiff_t positions = ho * wo;                                                                 \
    for (ptrdiff_t plane = 0; plane < planes; plane++, columns += kh * kw * positions, out += h * w) \
      for (ptrdiff_t y = 0; y < h; y++) {                                                          \
        T *pixels = out + y * w;                                                                   \
        for (ptrdiff_t x = 0; x < w; x++) pixels[x] = 0;                                           \
        for (ptrdiff_t i = 0; i < kh; i++) {                                                       \
          ptrdiff_t row = y + ph - i;                                                              \
          if (row < 0 || row >= ho) continue;                                                      \
          for (ptrdiff_t j = 0; j < kw; j++) {                                                     \
            /* Pixel x reads output column x + pw − j, which must be in 0 ..< wo. */                \
            const T *tap = columns + (i * kw + j) * positions + row * wo;                          \
            ptrdiff_t begin = j - pw > 0 ? j - pw : 0, end = wo + j - pw < w ? wo + j - pw : w;    \
            for (ptrdiff_t x = begin; x < end; x++) pixels[x] += tap[x + pw - j];                  \
          }                                                                                        \
        }                                                                                          \
      }                                                                                            \
  }
#if BP_X86
#define FOLD_AVX(SUFFIX, ...) foldDenseAVX_##SUFFIX(__VA_ARGS__)
#else
#define FOLD_AVX(SUFFIX, ...) 0
#endif
FOLD_DENSE(float, f32)
FOLD_DENSE(double, f64)
