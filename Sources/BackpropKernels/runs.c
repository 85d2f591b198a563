// Copies and additions of runs at fixed strides, for im2col and col2im: one call moves every
// run of a column row (one tap of one channel of one image) instead of one call per run. With
// AVX or NEON a run moves in whole vectors; the plain loops are for the portable path (the
// compiler makes the copy a memcpy call per run, which costs more than a short run). AVX-512 keeps
// the AVX loops: its masked runs made the Digits CNN's step 30 % slower on Zen 4.

#include "BackpropKernels.h"

#include "cpu.h"

#if BP_X86
// Masks whose first k lanes are set, at offset 8 − k (Float) or 2·(4 − k) (Double).
static const int tailMasks[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

// NAME##_SUFFIX copies (ADD 0) or adds (ADD 1) the runs; the flag is a constant, so neither loop
// tests it. A run of one vector (an 8×8 image's rows of Float) is one load and one store. Masked
// stores are slow on AMD processors (microcoded), so a tail avoids them: a copy moves the run's
// last whole vector again, overlapping the one before with the same values; an addition adds
// the tail in half a vector and then element by element. Only runs shorter than a vector take
// masked loads and stores.
#define AVX_RUNS(NAME, ADDING, T, SUFFIX, VEC, LANES, LOAD, STORE, ADD, MASKLOAD, MASKSTORE, MASK, HLOAD, \
                 HSTORE, HADD)                                                                     \
  __attribute__((target("avx"))) static void NAME##_##SUFFIX(T *dst, ptrdiff_t dstStride,          \
                                                             const T *src, ptrdiff_t srcStride,    \
                                                             ptrdiff_t runs, ptrdiff_t length) {   \
    if (length == LANES) {                                                                         \
      for (ptrdiff_t r = 0; r < runs; r++, dst += dstStride, src += srcStride)                     \
        STORE(dst, ADDING ? ADD(LOAD(dst), LOAD(src)) : LOAD(src));                                \
      return;                                                                                      \
    }                                                                                              \
    if (!ADDING && length > LANES && length <= 4 * LANES) {                                        \
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
      for (ptrdiff_t r = 0; r < runs; r++, dst += dstStride, src += srcStride) {                   \
        VEC v = MASKLOAD(src, mask);                                                               \
        MASKSTORE(dst, mask, ADDING ? ADD(MASKLOAD(dst, mask), v) : v);                            \
      }                                                                                            \
      return;                                                                                      \
    }                                                                                              \
    for (ptrdiff_t r = 0; r < runs; r++, dst += dstStride, src += srcStride) {                     \
      for (ptrdiff_t t = 0; t < full; t += LANES) {                                                \
        VEC v = LOAD(src + t);                                                                     \
        STORE(dst + t, ADDING ? ADD(LOAD(dst + t), v) : v);                                        \
      }                                                                                            \
      if (tail == 0) continue;                                                                     \
      if (ADDING) {                                                                                \
        ptrdiff_t t = full;                                                                        \
        if (tail >= LANES / 2) {                                                                   \
          HSTORE(dst + t, HADD(HLOAD(dst + t), HLOAD(src + t)));                                   \
          t += LANES / 2;                                                                          \
        }                                                                                          \
        for (; t < length; t++) dst[t] += src[t];                                                  \
      } else {                                                                                     \
        STORE(dst + length - LANES, LOAD(src + length - LANES));                                   \
      }                                                                                            \
    }                                                                                              \
  }
#define AVX_RUNS_BOTH(...)                                                                         \
  AVX_RUNS(copyRunsAVX, 0, __VA_ARGS__)                                                            \
  AVX_RUNS(addRunsAVX, 1, __VA_ARGS__)
#define MASK32(k) _mm256_loadu_si256((const __m256i *)(tailMasks + 8 - (k)))
#define MASK64(k) _mm256_loadu_si256((const __m256i *)(tailMasks + 8 - 2 * (k)))
AVX_RUNS_BOTH(float, f32, __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_add_ps, _mm256_maskload_ps,
              _mm256_maskstore_ps, MASK32, _mm_loadu_ps, _mm_storeu_ps, _mm_add_ps)
AVX_RUNS_BOTH(double, f64, __m256d, 4, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_add_pd, _mm256_maskload_pd,
              _mm256_maskstore_pd, MASK64, _mm_loadu_pd, _mm_storeu_pd, _mm_add_pd)
#endif

#if BP_NEON
// NEON: whole vectors of 4 Floats or 2 Doubles, then the tail element by element.
#define NEON_RUNS(NAME, ADDING, T, SUFFIX, LANES, LOAD, STORE, ADD)                                \
  static void NAME##_##SUFFIX(T *dst, ptrdiff_t dstStride, const T *src, ptrdiff_t srcStride, ptrdiff_t runs, \
                              ptrdiff_t length) {                                                  \
    ptrdiff_t full = length / LANES * LANES;                                                       \
    for (ptrdiff_t r = 0; r < runs; r++, dst += dstStride, src += srcStride) {                     \
      for (ptrdiff_t t = 0; t < full; t += LANES) STORE(dst + t, ADDING ? ADD(LOAD(dst + t), LOAD(src + t)) : LOAD(src + t)); \
      for (ptrdiff_t t = full; t < length; t++) dst[t] = ADDING ? dst[t] + src[t] : src[t];        \
    }                                                                                              \
  }
NEON_RUNS(copyRunsNEON, 0, float, f32, 4, vld1q_f32, vst1q_f32, vaddq_f32)
NEON_RUNS(addRunsNEON, 1, float, f32, 4, vld1q_f32, vst1q_f32, vaddq_f32)
NEON_RUNS(copyRunsNEON, 0, double, f64, 2, vld1q_f64, vst1q_f64, vaddq_f64)
NEON_RUNS(addRunsNEON, 1, double, f64, 2, vld1q_f64, vst1q_f64, vaddq_f64)
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
  }                                                                                                \
  void bp_add_runs_##SUFFIX(T *dst, ptrdiff_t dstStride, const T *src, ptrdiff_t srcStride,       \
                            ptrdiff_t runs, ptrdiff_t length) {                                    \
    if (BP_X86 && bp_has_avx()) {                                                                      \
      RUNS_AVX(addRunsAVX, SUFFIX, dst, dstStride, src, srcStride, runs, length);                  \
      return;                                                                                      \
    }                                                                                              \
    if (BP_NEON && bp_has_neon()) {                                                                \
      RUNS_NEON(addRunsNEON, SUFFIX, dst, dstStride, src, srcStride, runs, length);                \
      return;                                                                                      \
    }                                                                                              \
    for (ptrdiff_t r = 0; r < runs; r++, dst += dstStride, src += srcStride)                       \
      for (ptrdiff_t t = 0; t < length; t++) dst[t] += src[t];                                     \
  }
#if BP_X86
#define RUNS_AVX(NAME, SUFFIX, ...) NAME##_##SUFFIX(__VA_ARGS__)
#else
#define RUNS_AVX(NAME, SUFFIX, ...) ((void)0)
#endif
RUNS(float, f32)
RUNS(double, f64)
