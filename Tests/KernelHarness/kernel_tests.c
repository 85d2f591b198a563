// Every kernel of BackpropKernels against a naive reference, in C, so that it runs on machines
// and architectures the Swift toolchain here cannot target: Scripts/test-kernels builds it with
// the kernels for this machine and, cross-compiled, for aarch64 under qemu. It exits non-zero
// and names the first kernel that disagrees. Products and reductions are checked to rounding
// against sums in double (long double's order differs per path); copies, square roots, pooling
// offsets and row sums bit for bit, since every path does those in the same order.

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "BackpropKernels.h"

static int failures = 0;
/// FNV-1a over the bits of every product the automatic kernels compute, and of the elementwise
/// functions over a wide range: paths that promise the same bits (AVX2, AVX-512 and NEON) print
/// the same digests, which Scripts/test-kernels compares.
static uint64_t productDigest = 0xcbf29ce484222325u, elementwiseDigest = 0xcbf29ce484222325u;

static void digest(uint64_t *value, const void *bytes, size_t count) {
  for (size_t i = 0; i < count; i++) *value = (*value ^ ((const unsigned char *)bytes)[i]) * 0x100000001b3u;
}
static uint64_t state = 0x9E3779B97F4A7C15u;

static double uniform(double low, double high) {
  state ^= state << 13, state ^= state >> 7, state ^= state << 17;
  return low + (high - low) * (double)(state >> 11) / (double)(1ull << 53);
}

#define FAIL(...)                                                                                  \
  do {                                                                                             \
    if (failures++ < 20) {                                                                         \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
    }                                                                                              \
  } while (0)

// C = op(A)·op(B) by the definition, summed in double.
#define REFERENCE_PRODUCT(T)                                                                       \
  static void reference_##T(int ta, int tb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const T *a, ptrdiff_t lda, \
                            const T *b, ptrdiff_t ldb, double *c) {                                \
    for (ptrdiff_t i = 0; i < m; i++)                                                              \
      for (ptrdiff_t j = 0; j < n; j++) {                                                          \
        double sum = 0;                                                                            \
        for (ptrdiff_t p = 0; p < k; p++)                                                          \
          sum += (double)(ta ? a[p * lda + i] : a[i * lda + p]) * (double)(tb ? b[j * ldb + p] : b[p * ldb + j]); \
        c[i * n + j] = sum;                                                                        \
      }                                                                                            \
  }
REFERENCE_PRODUCT(float)
REFERENCE_PRODUCT(double)

#define CHECK_PRODUCTS(T, SUFFIX, TOLERANCE)                                                       \
  static void check_products_##SUFFIX(int kernel) {                                               \
    const ptrdiff_t sizes[][3] = {{1, 1, 1}, {5, 3, 7}, {37, 53, 29}, {64, 300, 70}, {100, 17, 130}, {6, 520, 16},     \
                                   {23, 40, 97}, {20, 600, 64}, {7, 33, 200}, {2, 64, 128},       \
                                   {64, 300, 9}, {40, 100, 5}, {130, 77, 31}};                   \
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)                                    \
      for (int ta = 0; ta < 2; ta++)                                                               \
        for (int tb = 0; tb < 2; tb++) {                                                           \
          ptrdiff_t m = sizes[s][0], k = sizes[s][1], n = sizes[s][2];                             \
          ptrdiff_t lda = ta ? m : k, ldb = tb ? k : n;                                            \
          T *a = malloc(sizeof(T) * m * k), *b = malloc(sizeof(T) * k * n), *c = malloc(sizeof(T) * m * n); \
          T *added = malloc(sizeof(T) * m * n), *packed = malloc(sizeof(T) * bp_gemm_packed_a_count(m, k)); \
          double *want = malloc(sizeof(double) * m * n);                                           \
          for (ptrdiff_t i = 0; i < m * k; i++) a[i] = (T)uniform(-1, 1);                          \
          for (ptrdiff_t i = 0; i < k * n; i++) b[i] = (T)uniform(-1, 1);                          \
          for (ptrdiff_t i = 0; i < m * n; i++) added[i] = (T)1;                                   \
          reference_##T(ta, tb, m, n, k, a, lda, b, ldb, want);                                    \
          bp_gemm_##SUFFIX(kernel, ta, tb, m, n, k, a, lda, b, ldb, c, n, 0, m);                   \
          bp_gemm_add_##SUFFIX(kernel, ta, tb, m, n, k, a, lda, b, ldb, added, n, 0, m);           \
          for (ptrdiff_t i = 0; i < m * n; i++) {                                                  \
            double tolerance = TOLERANCE * (double)k;                                              \
            if (fabs(c[i] - want[i]) > tolerance || fabs(added[i] - 1 - want[i]) > tolerance) {    \
              FAIL("bp_gemm_" #SUFFIX " (kernel %d) %tdx%tdx%td, transposes %d %d, element %td: %g, added %g, want %g", \
                   kernel, m, k, n, ta, tb, i, (double)c[i], (double)added[i] - 1, want[i]);     \
              break;                                                                               \
            }                                                                                      \
          }                                                                                        \
          if (kernel == BP_KERNEL_AUTOMATIC) digest(&productDigest, c, sizeof(T) * m * n), digest(&productDigest, added, sizeof(T) * m * n); \
          bp_gemm_pack_a_##SUFFIX(kernel, ta, m, k, a, lda, packed);                              \
          T *prepacked = malloc(sizeof(T) * m * n);                                                \
          bp_gemm_prepacked_##SUFFIX(kernel, packed, tb, m, n, k, b, ldb, prepacked, n, 0, m);     \
          if (memcmp(prepacked, c, sizeof(T) * m * n) != 0)                                        \
            FAIL("bp_gemm_prepacked_" #SUFFIX " (kernel %d) %tdx%tdx%td differs from bp_gemm_" #SUFFIX, kernel, m, k, n); \
          for (ptrdiff_t i = 0; i < m * n; i++) prepacked[i] = (T)1;                               \
          bp_gemm_prepacked_add_##SUFFIX(kernel, packed, tb, m, n, k, b, ldb, prepacked, n, 0, m);  \
          if (memcmp(prepacked, added, sizeof(T) * m * n) != 0)                                    \
            FAIL("bp_gemm_prepacked_add_" #SUFFIX " (kernel %d) %tdx%tdx%td differs from bp_gemm_add_" #SUFFIX, kernel, \
                 m, k, n);                                                                         \
          free(a), free(b), free(c), free(added), free(packed), free(want), free(prepacked);      \
        }                                                                                          \
  }
CHECK_PRODUCTS(float, f32, 1e-5)
CHECK_PRODUCTS(double, f64, 1e-13)

// An image's columns packed straight from its padded copy must be the panels that packing its
// columns (im2col by the definition) gives: the same bytes. Sizes cover rows narrower than a
// vector (the scalar path), positions that cross output rows mid-vector, more positions than one
// block of the inner dimension, and taps that fill no whole panel.
#define CHECK_PACKED_WINDOWS(T, SUFFIX)                                                            \
  static void check_packed_windows_##SUFFIX(int kernel) {                                         \
    const ptrdiff_t shapes[][5] = {{1, 3, 3, 1, 1}, {2, 10, 30, 3, 3}, {16, 30, 30, 3, 3}, {3, 12, 9, 2, 2}, \
                                   {5, 13, 13, 3, 3}, {1, 28, 28, 3, 3}, {7, 8, 19, 1, 5}, {2, 40, 11, 4, 3}, \
                                   {4, 9, 7, 3, 3}, {3, 11, 10, 2, 5}};                            \
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {                                \
      ptrdiff_t c = shapes[s][0], hp = shapes[s][1], wp = shapes[s][2], kh = shapes[s][3], kw = shapes[s][4]; \
      ptrdiff_t ho = hp - kh + 1, wo = wp - kw + 1, m = c * kh * kw, k = ho * wo;                  \
      T *image = malloc(sizeof(T) * c * hp * wp), *columns = malloc(sizeof(T) * m * k);            \
      T *want = calloc(bp_gemm_packed_a_count(m, k), sizeof(T)), *got = calloc(bp_gemm_packed_a_count(m, k), sizeof(T)); \
      for (ptrdiff_t i = 0; i < c * hp * wp; i++) image[i] = (T)uniform(-1, 1);                    \
      for (ptrdiff_t t = 0; t < m; t++)                                                            \
        for (ptrdiff_t y = 0; y < ho; y++)                                                         \
          for (ptrdiff_t x = 0; x < wo; x++)                                                       \
            columns[t * k + y * wo + x] =                                                          \
                image[t / (kh * kw) * hp * wp + (t / kw % kh + y) * wp + t % kw + x];              \
      bp_gemm_pack_a_##SUFFIX(kernel, 0, m, k, columns, k, want);                                 \
      bp_gemm_pack_windows_##SUFFIX(kernel, image, c, hp, wp, kh, kw, got);                        \
      if (memcmp(want, got, sizeof(T) * (size_t)bp_gemm_packed_a_count(m, k)) != 0)                \
        FAIL("bp_gemm_pack_windows_" #SUFFIX " (kernel %d) %td×%td×%td, %td×%td windows differs from packing " \
             "the columns", kernel, c, hp, wp, kh, kw);                                            \
      free(image), free(columns), free(want), free(got);                                           \
    }                                                                                              \
  }
CHECK_PACKED_WINDOWS(float, f32)
CHECK_PACKED_WINDOWS(double, f64)

// Small products, unpacked, against the same reference.
#define CHECK_SMALL_PRODUCTS(T, SUFFIX, TOLERANCE)                                                 \
  static void check_small_products_##SUFFIX(void) {                                               \
    const ptrdiff_t sizes[][3] = {{8, 8, 8}, {3, 5, 7}, {1, 9, 16}, {13, 17, 3}, {4, 33, 9}, {6, 1, 20}, {5, 0, 4}}; \
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)                                    \
      for (int ta = 0; ta < 2; ta++)                                                               \
        for (int tb = 0; tb < 2; tb++) {                                                           \
          ptrdiff_t m = sizes[s][0], k = sizes[s][1], n = sizes[s][2];                             \
          T a[64 * 64], b[64 * 64], c[64 * 64];                                                    \
          double want[64 * 64];                                                                    \
          for (ptrdiff_t i = 0; i < m * k; i++) a[i] = (T)uniform(-1, 1);                          \
          for (ptrdiff_t i = 0; i < k * n; i++) b[i] = (T)uniform(-1, 1);                          \
          reference_##T(ta, tb, m, n, k, a, ta ? m : k, b, tb ? k : n, want);                      \
          bp_small_gemm_##SUFFIX(ta, tb, m, n, k, a, b, c);                                        \
          for (ptrdiff_t i = 0; i < m * n; i++)                                                    \
            if (fabs(c[i] - want[i]) > TOLERANCE * (double)(k + 1)) {                              \
              FAIL("bp_small_gemm_" #SUFFIX " %tdx%tdx%td, transposes %d %d, element %td: %g, want %g", m, k, n, \
                   ta, tb, i, (double)c[i], want[i]);                                              \
              break;                                                                               \
            }                                                                                      \
          digest(&productDigest, c, sizeof(T) * (size_t)(m * n));                                  \
        }                                                                                          \
  }
CHECK_SMALL_PRODUCTS(float, f32, 1e-5)
CHECK_SMALL_PRODUCTS(double, f64, 1e-13)

static void check_elementwise(void) {
  enum { N = 1003 };  // leaves a vector tail
  float x[N], y[N];
  double xd[N], yd[N];
  for (int i = 0; i < N; i++) x[i] = (float)uniform(-8, 8), xd[i] = uniform(0, 100);
  struct {
    const char *name;
    void (*kernel)(const float *, float *, ptrdiff_t);
    double (*reference)(double);
  } functions[] = {{"bp_exp_f32", bp_exp_f32, exp}, {"bp_erf_f32", bp_erf_f32, erf}};
  for (size_t f = 0; f < 2; f++) {
    functions[f].kernel(x, y, N);
    for (int i = 0; i < N; i++) {
      float want = (float)functions[f].reference(x[i]);
      if (fabsf(y[i] - want) > 2 * (nextafterf(fabsf(want), INFINITY) - fabsf(want))) {
        FAIL("%s(%g) = %g, want %g within 2 ulp", functions[f].name, x[i], y[i], want);
        break;
      }
    }
  }
  bp_gelu_f32(x, y, N);
  for (int i = 0; i < N; i++) {
    double want = 0.5 * x[i] * (1 + erf(x[i] / sqrt(2.0)));
    if (fabs(y[i] - want) > 1e-5 * (1 + fabs(want))) FAIL("bp_gelu_f32(%g) = %g, want %g", x[i], y[i], want);
  }
  bp_gelu_derivative_f32(x, y, N);
  for (int i = 0; i < N; i++) {
    double want = 0.5 * (1 + erf(x[i] / sqrt(2.0))) + x[i] * exp(-0.5 * x[i] * x[i]) / sqrt(2 * M_PI);
    if (fabs(y[i] - want) > 1e-5 * (1 + fabs(want)))
      FAIL("bp_gelu_derivative_f32(%g) = %g, want %g", x[i], y[i], want);
  }
  // Every function over a wide range with the special values, into a digest: the vector paths
  // promise the same bits (the portable path calls the C library).
  float wide[N];
  for (int i = 0; i < N; i++) wide[i] = (float)uniform(-110, 110);
  const float specials[] = {INFINITY, -INFINITY, NAN, 87.5f, -87.5f, 88.9f, 89.1f, -103.9f, -104.1f, 3.9375f, -0.0f, 0};
  memcpy(wide + 100, specials, sizeof specials);
  void (*maps[])(const float *, float *, ptrdiff_t) = {bp_exp_f32, bp_erf_f32, bp_gelu_f32, bp_gelu_derivative_f32};
  for (size_t f = 0; f < 4; f++)
    for (ptrdiff_t count = N; count >= N - 17; count -= 17) {
      maps[f](wide, y, count);
      // A NaN made by an operation is the processor's default NaN, whose sign x86 sets and ARM
      // clears: any NaN counts as one.
      for (ptrdiff_t i = 0; i < count; i++)
        if (y[i] != y[i]) y[i] = NAN;
      digest(&elementwiseDigest, y, sizeof(float) * (size_t)count);
    }
  for (int i = 0; i < N; i++) x[i] = fabsf(x[i]);
  bp_sqrt_f32(x, y, N);
  bp_sqrt_f64(xd, yd, N);
  for (int i = 0; i < N; i++) {
    if (y[i] != sqrtf(x[i])) FAIL("bp_sqrt_f32(%g) = %g", x[i], y[i]);
    if (yd[i] != sqrt(xd[i])) FAIL("bp_sqrt_f64(%g) = %g", xd[i], yd[i]);
  }
}

#define CHECK_RUNS_AND_SUMS(T, SUFFIX)                                                             \
  static void check_runs_and_sums_##SUFFIX(void) {                                                 \
    for (ptrdiff_t length = 1; length <= 37; length += 3) {                                        \
      enum { RUNS = 5, STRIDE = 41 };                                                              \
      T src[RUNS * STRIDE], dst[RUNS * STRIDE], want[RUNS * STRIDE];                               \
      for (int i = 0; i < RUNS * STRIDE; i++) src[i] = (T)uniform(-1, 1), dst[i] = want[i] = (T)uniform(-1, 1); \
      bp_copy_runs_##SUFFIX(dst, STRIDE, src, STRIDE, RUNS, length);                               \
      for (int r = 0; r < RUNS; r++)                                                               \
        for (int t = 0; t < length; t++) want[r * STRIDE + t] = src[r * STRIDE + t];               \
      if (memcmp(dst, want, sizeof dst) != 0) FAIL("bp_copy_runs_" #SUFFIX ", runs of %td", length); \
    }                                                                                              \
    for (ptrdiff_t length = 1; length <= 140; length += 7) {                                       \
      enum { ROWS = 19, LANES = 64 / sizeof(T) * 2 };                                              \
      T x[ROWS * 140], out[ROWS];                                                                  \
      for (int i = 0; i < ROWS * length; i++) x[i] = (T)uniform(-1, 1);                            \
      bp_row_sums_##SUFFIX(x, ROWS, length, out);                                                  \
      for (int r = 0; r < ROWS; r++) {                                                             \
        T s[LANES] = {0};                                                                          \
        for (ptrdiff_t j = 0; j < length; j++) s[j % LANES] += x[r * length + j];                  \
        for (int w = LANES / 2; w >= 4; w /= 2)                                                    \
          for (int i = 0; i < w; i++) s[i] += s[i + w];                                            \
        T want = (s[0] + s[1]) + (s[2] + s[3]);                                                    \
        if (out[r] != want) FAIL("bp_row_sums_" #SUFFIX ", row %d of %td: %g, want %g", r, length, (double)out[r], (double)want); \
      }                                                                                            \
    }                                                                                              \
  }
CHECK_RUNS_AND_SUMS(float, f32)
CHECK_RUNS_AND_SUMS(double, f64)

// col2im of dense windows against adding each tap's column row into a zeroed padded image, tap
// by tap, and cutting the image out: bit for bit (the same sums in the same order). Rows wider
// and narrower than a vector, padding wider than the window, and more blocks of a row than the
// vector path takes.
#define CHECK_FOLD(T, SUFFIX)                                                                      \
  static void check_fold_##SUFFIX(void) {                                                          \
    const ptrdiff_t shapes[][6] = {{28, 28, 3, 3, 1, 1}, {14, 14, 3, 3, 1, 1}, {8, 8, 3, 3, 1, 1},   \
                                   {5, 11, 2, 3, 0, 1},  {7, 9, 5, 5, 2, 2},   {6, 6, 3, 3, 3, 3},   \
                                   {3, 3, 3, 3, 1, 1},   {9, 40, 1, 1, 0, 0},  {4, 70, 3, 7, 1, 3},  \
                                   {3, 230, 3, 3, 1, 1}, {6, 5, 1, 4, 0, 2},   {2, 17, 2, 2, 1, 0},  \
                                   {3, 300, 3, 5, 1, 2}};                                           \
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {                                \
      ptrdiff_t h = shapes[s][0], w = shapes[s][1], kh = shapes[s][2], kw = shapes[s][3];          \
      ptrdiff_t ph = shapes[s][4], pw = shapes[s][5], planes = 3;                                  \
      ptrdiff_t hp = h + 2 * ph, wp = w + 2 * pw, ho = hp - kh + 1, wo = wp - kw + 1;              \
      ptrdiff_t positions = ho * wo, count = planes * kh * kw * positions;                         \
      T *columns = malloc(sizeof(T) * (size_t)count), *out = malloc(sizeof(T) * (size_t)(planes * h * w)); \
      T *padded = calloc((size_t)(planes * hp * wp), sizeof(T)), *want = malloc(sizeof(T) * (size_t)(planes * h * w)); \
      for (ptrdiff_t i = 0; i < count; i++) columns[i] = i % 17 == 3 ? (T)-0.0 : (T)uniform(-1, 1); \
      for (ptrdiff_t q = 0; q < planes; q++)                                                       \
        for (ptrdiff_t i = 0; i < kh; i++)                                                         \
          for (ptrdiff_t j = 0; j < kw; j++)                                                       \
            for (ptrdiff_t y = 0; y < ho; y++)                                                     \
              for (ptrdiff_t x = 0; x < wo; x++)                                                   \
                padded[(q * hp + y + i) * wp + x + j] += columns[((q * kh + i) * kw + j) * positions + y * wo + x]; \
      for (ptrdiff_t q = 0; q < planes; q++)                                                       \
        for (ptrdiff_t y = 0; y < h; y++)                                                          \
          for (ptrdiff_t x = 0; x < w; x++) want[(q * h + y) * w + x] = padded[(q * hp + y + ph) * wp + x + pw]; \
      bp_fold_dense_##SUFFIX(columns, planes, kh, kw, ho, wo, ph, pw, h, w, out);                  \
      if (memcmp(out, want, sizeof(T) * (size_t)(planes * h * w)) != 0)                            \
        FAIL("bp_fold_dense_" #SUFFIX ", %td×%td images, %td×%td windows, padding %td, %td", h, w, kh, kw, ph, pw); \
      free(columns), free(out), free(padded), free(want);                                          \
    }                                                                                              \
  }
CHECK_FOLD(float, f32)
CHECK_FOLD(double, f64)

#define CHECK_POOLING(T, SUFFIX)                                                                   \
  static void check_pooling_##SUFFIX(void) {                                                       \
    const ptrdiff_t windows[][8] = {{2, 2, 2, 2, 0, 0, 1, 1}, {3, 3, 1, 1, 1, 1, 1, 1}, {3, 2, 2, 1, 1, 0, 1, 2}, \
                                    {3, 3, 2, 2, 0, 0, 1, 1}};                                     \
    const ptrdiff_t images[][2] = {{8, 8}, {13, 29}, {4, 40}};                                     \
    for (int s = 0; s < 3; s++)                                                                    \
      for (int v = 0; v < 4; v++) {                                                                \
        const ptrdiff_t *wd = windows[v];                                                          \
        ptrdiff_t h = images[s][0], w = images[s][1], planes = 3;                                  \
        ptrdiff_t ho = (h + 2 * wd[4] - wd[6] * (wd[0] - 1) - 1) / wd[2] + 1;                      \
        ptrdiff_t wo = (w + 2 * wd[5] - wd[7] * (wd[1] - 1) - 1) / wd[3] + 1;                      \
        T *x = malloc(sizeof(T) * planes * h * w);                                                 \
        ptrdiff_t *out = malloc(sizeof(ptrdiff_t) * planes * ho * wo);                             \
        /* Ties, and a few NaNs, which win (the last of a window's in row-major order). */        \
        for (ptrdiff_t i = 0; i < planes * h * w; i++) x[i] = i % 23 == 7 ? (T)NAN : (T)(int)uniform(0, 5); \
        T *values = malloc(sizeof(T) * planes * ho * wo), *read = malloc(sizeof(T) * planes * ho * wo); \
        bp_window_maximum_offsets_##SUFFIX(x, 0, planes, h, w, wd, ho, wo, out, NULL);             \
        /* With values, the same offsets and the elements at them, bit for bit (NaNs included). */ \
        ptrdiff_t *again = malloc(sizeof(ptrdiff_t) * planes * ho * wo);                           \
        bp_window_maximum_offsets_##SUFFIX(x, 0, planes, h, w, wd, ho, wo, again, values);         \
        for (ptrdiff_t k = 0; k < planes * ho * wo; k++) read[k] = x[out[k]];                      \
        if (memcmp(again, out, sizeof(ptrdiff_t) * planes * ho * wo) != 0 ||                       \
            memcmp(values, read, sizeof(T) * planes * ho * wo) != 0)                               \
          FAIL("bp_window_maximum_offsets_" #SUFFIX " %tdx%td, window %d: values or offsets differ with values", h, w, v); \
        free(values), free(read), free(again);                                                     \
        for (ptrdiff_t p = 0; p < planes; p++)                                                     \
          for (ptrdiff_t oy = 0; oy < ho; oy++)                                                    \
            for (ptrdiff_t ox = 0; ox < wo; ox++) {                                                \
              ptrdiff_t best = -1;                                                                 \
              for (ptrdiff_t i = 0; i < wd[0]; i++)                                                \
                for (ptrdiff_t j = 0; j < wd[1]; j++) {                                            \
                  ptrdiff_t y = oy * wd[2] - wd[4] + i * wd[6], xx = ox * wd[3] - wd[5] + j * wd[7]; \
                  if (y < 0 || y >= h || xx < 0 || xx >= w) continue;                              \
                  ptrdiff_t offset = p * h * w + y * w + xx;                                       \
                  if (best < 0 || x[offset] > x[best] || x[offset] != x[offset]) best = offset;    \
                }                                                                                  \
              ptrdiff_t got = out[(p * ho + oy) * wo + ox];                                        \
              if (got != best) {                                                                   \
                FAIL("bp_window_maximum_offsets_" #SUFFIX " %tdx%td, window %d, (%td, %td, %td): %td, want %td", \
                     h, w, v, p, oy, ox, got, best);                                               \
                goto next_##SUFFIX;                                                                \
              }                                                                                    \
            }                                                                                      \
      next_##SUFFIX:                                                                               \
        free(x), free(out);                                                                        \
      }                                                                                            \
  }
CHECK_POOLING(float, f32)
CHECK_POOLING(double, f64)

#define CHECK_ADAM(T, SUFFIX)                                                                      \
  static void check_adam_##SUFFIX(void) {                                                          \
    for (ptrdiff_t n = 1; n <= 37; n += 4) {                                                       \
      T value[37], first[37], second[37], gradient[37], v[37], m[37], s[37];                       \
      for (ptrdiff_t i = 0; i < n; i++) {                                                          \
        value[i] = v[i] = (T)uniform(-1, 1), first[i] = m[i] = (T)uniform(-0.1, 0.1);               \
        second[i] = s[i] = (T)uniform(0, 0.01), gradient[i] = (T)uniform(-1, 1);                   \
      }                                                                                            \
      const T lr = (T)0.003, b1 = (T)0.9, b2 = (T)0.999, c1 = (T)0.271, c2 = (T)0.00399, eps = (T)1e-8, decay = (T)0.01; \
      bp_adam_##SUFFIX(value, first, second, gradient, n, lr, b1, b2, c1, c2, eps, decay);         \
      for (ptrdiff_t i = 0; i < n; i++) {                                                          \
        volatile T g = gradient[i] + v[i] * decay;                                                 \
        volatile T mm = m[i] * b1 + g * (1 - b1);                                                  \
        volatile T ss = s[i] * b2 + g * g * (1 - b2);                                              \
        volatile T root = (T)sqrt((double)(ss / c2));                                              \
        volatile T step = mm / c1 * lr / (root + eps);                                             \
        T want = v[i] - step;                                                                      \
        if (value[i] != want || first[i] != mm || second[i] != ss)                                 \
          FAIL("bp_adam_" #SUFFIX ", %td scalars, element %td: %g, want %g", n, i, (double)value[i], (double)want); \
      }                                                                                            \
    }                                                                                              \
  }
CHECK_ADAM(float, f32)
CHECK_ADAM(double, f64)

int main(void) {
  printf("kernel path: %s\n", bp_gemm_instruction_set());
  for (int kernel = BP_KERNEL_AUTOMATIC; kernel <= BP_KERNEL_PORTABLE; kernel++) {
    check_products_f32(kernel);
    check_products_f64(kernel);
    check_packed_windows_f32(kernel);
    check_packed_windows_f64(kernel);
  }
  check_small_products_f32();
  check_small_products_f64();
  check_elementwise();
  check_runs_and_sums_f32();
  check_runs_and_sums_f64();
  check_fold_f32();
  check_fold_f64();
  check_pooling_f32();
  check_pooling_f64();
  check_adam_f32();
  check_adam_f64();
  if (failures) {
    fprintf(stderr, "%d kernel checks failed\n", failures);
    return 1;
  }
  printf("every kernel agrees with its reference\n");
  printf("product digest: %016llx\n", (unsigned long long)productDigest);
  printf("elementwise digest: %016llx\n", (unsigned long long)elementwiseDigest);
  return 0;
}
