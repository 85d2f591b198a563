// Sums of the rows of a matrix, each in the order of Tensor.combined: four partial sums over
// the elements j ≡ 0, 1, 2, 3 (mod 4) from the left, the last length mod 4 elements into the
// first, then (s₀ + s₁) + (s₂ + s₃). With AVX, eight (Float) or four (Double) rows go at once:
// a block of each row is loaded, transposed in registers, and lane l of each partial sum adds
// row l's elements in that order, so the results are the same bits as the scalar loop. With NEON
// the four partial sums of one row are the lanes of a vector.

#include "BackpropKernels.h"

#include "cpu.h"
#include "transpose.h"

#define ROW_SUM(T)                                                                                 \
  static T rowSum_##T(const T *x, ptrdiff_t j, ptrdiff_t length, T a, T b, T c, T d) {             \
    for (; j + 4 <= length; j += 4) {                                                              \
      a = a + x[j];                                                                                \
      b = b + x[j + 1];                                                                            \
      c = c + x[j + 2];                                                                            \
      d = d + x[j + 3];                                                                            \
    }                                                                                              \
    for (; j < length; j++) a = a + x[j];                                                          \
    return (a + b) + (c + d);                                                                      \
  }
ROW_SUM(float)
ROW_SUM(double)

#if BP_X86
// Eight rows at a time (four for Double); lane l of partial sum s[i] is row l's.
__attribute__((target("avx"))) static void rowSumsAVX_float(const float *x, ptrdiff_t rows, ptrdiff_t length,
                                                             float *out) {
  ptrdiff_t r = 0;
  for (; r + 8 <= rows; r += 8) {
    const float *row = x + r * length;
    __m256 s[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    ptrdiff_t j = 0;
    for (; j + 8 <= length; j += 8) {
      __m256 c[8];
      for (int k = 0; k < 8; k++) c[k] = _mm256_loadu_ps(row + k * length + j);
      transpose8x8(c);  // c[k]: column j + k of each row
      for (int k = 0; k < 8; k++) s[k % 4] = _mm256_add_ps(s[k % 4], c[k]);
    }
    float a[8], b[8], c[8], d[8];
    _mm256_storeu_ps(a, s[0]), _mm256_storeu_ps(b, s[1]), _mm256_storeu_ps(c, s[2]), _mm256_storeu_ps(d, s[3]);
    for (int l = 0; l < 8; l++) out[r + l] = rowSum_float(row + l * length, j, length, a[l], b[l], c[l], d[l]);
  }
  for (; r < rows; r++) out[r] = rowSum_float(x + r * length, 0, length, 0, 0, 0, 0);
}

__attribute__((target("avx"))) static void rowSumsAVX_double(const double *x, ptrdiff_t rows, ptrdiff_t length,
                                                              double *out) {
  ptrdiff_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const double *row = x + r * length;
    __m256d s[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    ptrdiff_t j = 0;
    for (; j + 4 <= length; j += 4) {
      __m256d c[4];
      for (int k = 0; k < 4; k++) c[k] = _mm256_loadu_pd(row + k * length + j);
      transpose4x4(c);  // c[k]: column j + k of each row
      for (int k = 0; k < 4; k++) s[k] = _mm256_add_pd(s[k], c[k]);
    }
    double a[4], b[4], c[4], d[4];
    _mm256_storeu_pd(a, s[0]), _mm256_storeu_pd(b, s[1]), _mm256_storeu_pd(c, s[2]), _mm256_storeu_pd(d, s[3]);
    for (int l = 0; l < 4; l++) out[r + l] = rowSum_double(row + l * length, j, length, a[l], b[l], c[l], d[l]);
  }
  for (; r < rows; r++) out[r] = rowSum_double(x + r * length, 0, length, 0, 0, 0, 0);
}
#endif

#if BP_NEON
// One row at a time: the four partial sums are the four lanes of one vector (two of Double), each
// adding its elements in the scalar loop's order, so the results are the same bits.
static void rowSumsNEON_float(const float *x, ptrdiff_t rows, ptrdiff_t length, float *out) {
  for (ptrdiff_t r = 0; r < rows; r++) {
    const float *row = x + r * length;
    float32x4_t s = vdupq_n_f32(0);
    ptrdiff_t j = 0;
    for (; j + 4 <= length; j += 4) s = vaddq_f32(s, vld1q_f32(row + j));
    out[r] = rowSum_float(row, j, length, vgetq_lane_f32(s, 0), vgetq_lane_f32(s, 1),
                          vgetq_lane_f32(s, 2), vgetq_lane_f32(s, 3));
  }
}

static void rowSumsNEON_double(const double *x, ptrdiff_t rows, ptrdiff_t length, double *out) {
  for (ptrdiff_t r = 0; r < rows; r++) {
    const double *row = x + r * length;
    float64x2_t s01 = vdupq_n_f64(0), s23 = vdupq_n_f64(0);
    ptrdiff_t j = 0;
    for (; j + 4 <= length; j += 4) {
      s01 = vaddq_f64(s01, vld1q_f64(row + j));
      s23 = vaddq_f64(s23, vld1q_f64(row + j + 2));
    }
    out[r] = rowSum_double(row, j, length, vgetq_lane_f64(s01, 0), vgetq_lane_f64(s01, 1),
                           vgetq_lane_f64(s23, 0), vgetq_lane_f64(s23, 1));
  }
}
#define ROW_SUMS_NEON(T, ...) rowSumsNEON_##T(__VA_ARGS__)
#else
#define ROW_SUMS_NEON(T, ...) ((void)0)
#endif

#define ROW_SUMS(T, SUFFIX)                                                                        \
  void bp_row_sums_##SUFFIX(const T *x, ptrdiff_t rows, ptrdiff_t length, T *out) {                \
    if (BP_X86 && bp_has_avx()) {                                                                  \
      ROW_SUMS_AVX(T, x, rows, length, out);                                                       \
      return;                                                                                      \
    }                                                                                              \
    if (BP_NEON && bp_has_neon()) {                                                                \
      ROW_SUMS_NEON(T, x, rows, length, out);                                                      \
      return;                                                                                      \
    }                                                                                              \
    for (ptrdiff_t r = 0; r < rows; r++) out[r] = rowSum_##T(x + r * length, 0, length, 0, 0, 0, 0); \
  }
#if BP_X86
#define ROW_SUMS_AVX(T, ...) rowSumsAVX_##T(__VA_ARGS__)
#else
#define ROW_SUMS_AVX(T, ...) ((void)0)
#endif
ROW_SUMS(float, f32)
ROW_SUMS(double, f64)
