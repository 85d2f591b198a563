// Sums of the rows of a matrix, each in one order on every path: lane l of L partial sums (L = 32
// for Float, 16 for Double: two 512-bit registers) adds the row's elements j ≡ l (mod L) from the
// left, starting from +0; then the lanes fold in halves, lane i adding lane i + w for w = L/2,
// …, 4; then (s₀ + s₁) + (s₂ + s₃). Each lane is a sequence of additions in element order, so
// any vector width that holds whole lanes gives the same bits: AVX-512 as two registers, AVX as
// four, NEON as eight, the portable loop as an array. A lane that a short tail leaves out adds
// +0, which changes nothing (a partial sum that starts from +0 is never −0).

#include "BackpropKernels.h"

#include "cpu.h"

#define LANES_float 32
#define LANES_double 16

// The lanes' fold and the last four partial sums, in place in `l`.
#define FOLD(T)                                                                                    \
  static T fold_##T(T *l) {                                                                        \
    for (int w = LANES_##T / 2; w >= 4; w /= 2)                                                    \
      for (int i = 0; i < w; i++) l[i] = l[i] + l[i + w];                                          \
    return (l[0] + l[1]) + (l[2] + l[3]);                                                          \
  }                                                                                                \
  /* The lanes from element j of the row on, then the fold. */                                    \
  static T finish_##T(const T *x, ptrdiff_t j, ptrdiff_t length, T *l) {                          \
    for (; j + LANES_##T <= length; j += LANES_##T)                                                \
      for (int k = 0; k < LANES_##T; k++) l[k] = l[k] + x[j + k];                                  \
    for (int k = 0; j + k < length; k++) l[k] = l[k] + x[j + k];                                  \
    return fold_##T(l);                                                                            \
  }                                                                                                \
  static T rowSum_##T(const T *x, ptrdiff_t length) {                                              \
    T l[LANES_##T] = {0};                                                                          \
    return finish_##T(x, 0, length, l);                                                            \
  }
FOLD(float)
FOLD(double)

#if BP_X86
// The last four partial sums of a 128-bit register.
__attribute__((target("avx"))) static inline float last4_float(__m128 s) {
  float l[4];
  _mm_storeu_ps(l, s);
  return (l[0] + l[1]) + (l[2] + l[3]);
}

__attribute__((target("avx"))) static inline double last4_double(__m256d s) {
  double l[4];
  _mm256_storeu_pd(l, s);
  return (l[0] + l[1]) + (l[2] + l[3]);
}

// Lanes 0–15 in a, 16–31 in b; a tail of t < 32 elements is loaded with its lanes masked.
__attribute__((target("avx512f"))) static float rowSumAVX512_float(const float *x, ptrdiff_t length) {
  __m512 a = _mm512_setzero_ps(), b = _mm512_setzero_ps();
  ptrdiff_t j = 0;
  for (; j + 32 <= length; j += 32) {
    a = _mm512_add_ps(a, _mm512_loadu_ps(x + j));
    b = _mm512_add_ps(b, _mm512_loadu_ps(x + j + 16));
  }
  ptrdiff_t t = length - j;
  if (t > 0) {
    a = _mm512_add_ps(a, _mm512_maskz_loadu_ps((__mmask16)(t >= 16 ? 0xFFFF : (1u << t) - 1), x + j));
    if (t > 16) b = _mm512_add_ps(b, _mm512_maskz_loadu_ps((__mmask16)((1u << (t - 16)) - 1), x + j + 16));
  }
  __m512 v16 = _mm512_add_ps(a, b);
  __m256 v8 = _mm256_add_ps(_mm512_castps512_ps256(v16),
                            _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v16), 1)));
  return last4_float(_mm_add_ps(_mm256_castps256_ps128(v8), _mm256_extractf128_ps(v8, 1)));
}

__attribute__((target("avx512f"))) static double rowSumAVX512_double(const double *x, ptrdiff_t length) {
  __m512d a = _mm512_setzero_pd(), b = _mm512_setzero_pd();
  ptrdiff_t j = 0;
  for (; j + 16 <= length; j += 16) {
    a = _mm512_add_pd(a, _mm512_loadu_pd(x + j));
    b = _mm512_add_pd(b, _mm512_loadu_pd(x + j + 8));
  }
  ptrdiff_t t = length - j;
  if (t > 0) {
    a = _mm512_add_pd(a, _mm512_maskz_loadu_pd((__mmask8)(t >= 8 ? 0xFF : (1u << t) - 1), x + j));
    if (t > 8) b = _mm512_add_pd(b, _mm512_maskz_loadu_pd((__mmask8)((1u << (t - 8)) - 1), x + j + 8));
  }
  __m512d v8 = _mm512_add_pd(a, b);
  return last4_double(_mm256_add_pd(_mm512_castpd512_pd256(v8), _mm512_extractf64x4_pd(v8, 1)));
}

// Lanes 0–7, 8–15, 16–23 and 24–31 in four registers (0–3, …, 12–15 for Double); a tail is
// loaded with AVX's masked loads, the masks cut from a row of all-ones and zeros.
static const int32_t tailMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

__attribute__((target("avx"))) static inline __m256i firstLanes(ptrdiff_t count, int width) {
  ptrdiff_t k = count < 0 ? 0 : count > width ? width : count;  // 32-bit lanes of the mask
  return _mm256_loadu_si256((const __m256i *)(tailMask + 8 - k * (8 / width)));
}

__attribute__((target("avx"))) static float rowSumAVX_float(const float *x, ptrdiff_t length) {
  __m256 s[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  ptrdiff_t j = 0;
  for (; j + 32 <= length; j += 32)
    for (int k = 0; k < 4; k++) s[k] = _mm256_add_ps(s[k], _mm256_loadu_ps(x + j + 8 * k));
  for (int k = 0; j + 8 * k < length; k++)
    s[k] = _mm256_add_ps(s[k], _mm256_maskload_ps(x + j + 8 * k, firstLanes(length - j - 8 * k, 8)));
  __m256 v8 = _mm256_add_ps(_mm256_add_ps(s[0], s[2]), _mm256_add_ps(s[1], s[3]));
  return last4_float(_mm_add_ps(_mm256_castps256_ps128(v8), _mm256_extractf128_ps(v8, 1)));
}

__attribute__((target("avx"))) static double rowSumAVX_double(const double *x, ptrdiff_t length) {
  __m256d s[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
  ptrdiff_t j = 0;
  for (; j + 16 <= length; j += 16)
    for (int k = 0; k < 4; k++) s[k] = _mm256_add_pd(s[k], _mm256_loadu_pd(x + j + 4 * k));
  for (int k = 0; j + 4 * k < length; k++)
    s[k] = _mm256_add_pd(s[k], _mm256_maskload_pd(x + j + 4 * k, firstLanes(length - j - 4 * k, 4)));
  return last4_double(_mm256_add_pd(_mm256_add_pd(s[0], s[2]), _mm256_add_pd(s[1], s[3])));
}
#endif

#if BP_NEON
// Eight registers of four lanes (two for Double); the tail and the fold go through the portable
// code, lane by lane.
static float rowSumNEON_float(const float *x, ptrdiff_t length) {
  float32x4_t s[8];
  for (int k = 0; k < 8; k++) s[k] = vdupq_n_f32(0);
  ptrdiff_t j = 0;
  for (; j + 32 <= length; j += 32)
    for (int k = 0; k < 8; k++) s[k] = vaddq_f32(s[k], vld1q_f32(x + j + 4 * k));
  float l[32];
  for (int k = 0; k < 8; k++) vst1q_f32(l + 4 * k, s[k]);
  return finish_float(x, j, length, l);
}

static double rowSumNEON_double(const double *x, ptrdiff_t length) {
  float64x2_t s[8];
  for (int k = 0; k < 8; k++) s[k] = vdupq_n_f64(0);
  ptrdiff_t j = 0;
  for (; j + 16 <= length; j += 16)
    for (int k = 0; k < 8; k++) s[k] = vaddq_f64(s[k], vld1q_f64(x + j + 2 * k));
  double l[16];
  for (int k = 0; k < 8; k++) vst1q_f64(l + 2 * k, s[k]);
  return finish_double(x, j, length, l);
}
#endif

#if BP_X86
#define ROW_SUM_AVX512(T, x, length) rowSumAVX512_##T(x, length)
#define ROW_SUM_AVX(T, x, length) rowSumAVX_##T(x, length)
#else
#define ROW_SUM_AVX512(T, x, length) 0
#define ROW_SUM_AVX(T, x, length) 0
#endif
#if BP_NEON
#define ROW_SUM_NEON(T, x, length) rowSumNEON_##T(x, length)
#else
#define ROW_SUM_NEON(T, x, length) 0
#endif

#define ROW_SUMS(T, SUFFIX)                                                                        \
  void bp_row_sums_##SUFFIX(const T *x, ptrdiff_t rows, ptrdiff_t length, T *out) {                \
    if (bp_has_avx512()) {                                                                         \
      for (ptrdiff_t r = 0; r < rows; r++) out[r] = ROW_SUM_AVX512(T, x + r * length, length);     \
    } else if (bp_has_avx()) {                                                                     \
      for (ptrdiff_t r = 0; r < rows; r++) out[r] = ROW_SUM_AVX(T, x + r * length, length);        \
    } else if (bp_has_neon()) {                                                                    \
      for (ptrdiff_t r = 0; r < rows; r++) out[r] = ROW_SUM_NEON(T, x + r * length, length);       \
    } else {                                                                                       \
      for (ptrdiff_t r = 0; r < rows; r++) out[r] = rowSum_##T(x + r * length, length);            \
    }                                                                                              \
  }
ROW_SUMS(float, f32)
ROW_SUMS(double, f64)
