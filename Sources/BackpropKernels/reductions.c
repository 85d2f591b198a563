// Sums of the rows of a matrix, each in the order of Tensor.combined: four partial sums over
// the elements j ≡ 0, 1, 2, 3 (mod 4) from the left, the last length mod 4 elements into the
// first, then (s₀ + s₁) + (s₂ + s₃). With AVX, eight (Float) or four (Double) rows go at once:
// a block of each row is loaded, transposed in registers, and lane l of each partial sum adds
// row l's elements in that order, so the results are the same bits as the scalar loop.

#include "BackpropKernels.h"

#include "cpu.h"

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
// Rows r ..< r + 8 of x, columns j ..< j + 8, transposed: t[k] holds column j + k of each row.
__attribute__((target("avx"))) static void rowSumsAVX_float(const float *x, ptrdiff_t rows, ptrdiff_t length,
                                                             float *out) {
  ptrdiff_t r = 0;
  for (; r + 8 <= rows; r += 8) {
    const float *row = x + r * length;
    __m256 s[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    ptrdiff_t j = 0;
    for (; j + 8 <= length; j += 8) {
      __m256 t[8];
      for (int k = 0; k < 8; k++) t[k] = _mm256_loadu_ps(row + k * length + j);
      // 8×8 transpose: unpack pairs, shuffle quads, swap 128-bit halves.
      __m256 u0 = _mm256_unpacklo_ps(t[0], t[1]), u1 = _mm256_unpackhi_ps(t[0], t[1]);
      __m256 u2 = _mm256_unpacklo_ps(t[2], t[3]), u3 = _mm256_unpackhi_ps(t[2], t[3]);
      __m256 u4 = _mm256_unpacklo_ps(t[4], t[5]), u5 = _mm256_unpackhi_ps(t[4], t[5]);
      __m256 u6 = _mm256_unpacklo_ps(t[6], t[7]), u7 = _mm256_unpackhi_ps(t[6], t[7]);
      __m256 v0 = _mm256_shuffle_ps(u0, u2, 0x44), v1 = _mm256_shuffle_ps(u0, u2, 0xEE);
      __m256 v2 = _mm256_shuffle_ps(u1, u3, 0x44), v3 = _mm256_shuffle_ps(u1, u3, 0xEE);
      __m256 v4 = _mm256_shuffle_ps(u4, u6, 0x44), v5 = _mm256_shuffle_ps(u4, u6, 0xEE);
      __m256 v6 = _mm256_shuffle_ps(u5, u7, 0x44), v7 = _mm256_shuffle_ps(u5, u7, 0xEE);
      __m256 c[8] = {
          _mm256_permute2f128_ps(v0, v4, 0x20), _mm256_permute2f128_ps(v1, v5, 0x20),
          _mm256_permute2f128_ps(v2, v6, 0x20), _mm256_permute2f128_ps(v3, v7, 0x20),
          _mm256_permute2f128_ps(v0, v4, 0x31), _mm256_permute2f128_ps(v1, v5, 0x31),
          _mm256_permute2f128_ps(v2, v6, 0x31), _mm256_permute2f128_ps(v3, v7, 0x31),
      };
      for (int k = 0; k < 8; k++) s[k % 4] = _mm256_add_ps(s[k % 4], c[k]);
    }
    float a[8], b[8], cc[8], d[8];
    _mm256_storeu_ps(a, s[0]), _mm256_storeu_ps(b, s[1]), _mm256_storeu_ps(cc, s[2]), _mm256_storeu_ps(d, s[3]);
    for (int l = 0; l < 8; l++) out[r + l] = rowSum_float(row + l * length, j, length, a[l], b[l], cc[l], d[l]);
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
      __m256d t0 = _mm256_loadu_pd(row + j), t1 = _mm256_loadu_pd(row + length + j),
              t2 = _mm256_loadu_pd(row + 2 * length + j), t3 = _mm256_loadu_pd(row + 3 * length + j);
      __m256d u0 = _mm256_unpacklo_pd(t0, t1), u1 = _mm256_unpackhi_pd(t0, t1);
      __m256d u2 = _mm256_unpacklo_pd(t2, t3), u3 = _mm256_unpackhi_pd(t2, t3);
      s[0] = _mm256_add_pd(s[0], _mm256_permute2f128_pd(u0, u2, 0x20));
      s[1] = _mm256_add_pd(s[1], _mm256_permute2f128_pd(u1, u3, 0x20));
      s[2] = _mm256_add_pd(s[2], _mm256_permute2f128_pd(u0, u2, 0x31));
      s[3] = _mm256_add_pd(s[3], _mm256_permute2f128_pd(u1, u3, 0x31));
    }
    double a[4], b[4], c[4], d[4];
    _mm256_storeu_pd(a, s[0]), _mm256_storeu_pd(b, s[1]), _mm256_storeu_pd(c, s[2]), _mm256_storeu_pd(d, s[3]);
    for (int l = 0; l < 4; l++) out[r + l] = rowSum_double(row + l * length, j, length, a[l], b[l], c[l], d[l]);
  }
  for (; r < rows; r++) out[r] = rowSum_double(x + r * length, 0, length, 0, 0, 0, 0);
}
#endif

#define ROW_SUMS(T, SUFFIX)                                                                        \
  void bp_row_sums_##SUFFIX(const T *x, ptrdiff_t rows, ptrdiff_t length, T *out) {                \
    if (BP_X86 && bp_has_avx()) {                                                                  \
      ROW_SUMS_AVX(T, x, rows, length, out);                                                       \
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
