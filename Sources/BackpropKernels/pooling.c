// Max pooling's search for each window's largest element.
//
// Every path avoids branches on the comparisons: as branches they mispredict about half the
// time on real data. With AVX2, eight neighbouring windows of a row are compared at once, tap by
// tap, each lane keeping its running maximum and winning tap with blends (a row's last eight
// overlap the ones before); images whose rows hold fewer than eight windows, without padding,
// go eight windows of the whole image at a time through gathers. The common 2×2 windows at
// stride 2 take a path of their own, with plain loads split into even and odd columns. Windows
// at a padded edge and other CPUs take the scalar path, which picks an offset with a select
// marked unpredictable (a conditional move) and reads the running maximum back through it (a
// floating-point select would compile to a branch). On AArch64 the 2×2 windows at stride 2 take
// a NEON path of the same design; other windows the scalar path.

#include "BackpropKernels.h"

#include <stdlib.h>
#include <string.h>

#include "cpu.h"

// The taps t in [*first, *end) of a window starting at `start` (dilation d, k taps) that read a
// row or column in 0..<extent.
static inline void taps(ptrdiff_t start, ptrdiff_t d, ptrdiff_t k, ptrdiff_t extent, ptrdiff_t *first,
                        ptrdiff_t *end) {
  if (start >= 0 && start + (k - 1) * d < extent) {  // inside: no divisions
    *first = 0;
    *end = k;
    return;
  }
  ptrdiff_t f = start >= 0 ? 0 : (-start + d - 1) / d;
  ptrdiff_t e = start > extent - 1 ? 0 : (extent - 1 - start) / d + 1;
  if (e > k) e = k;
  *first = f;
  *end = e > f ? e : f;
}

// Windows `oj` of one row of windows, one at a time.
#define SCALAR_WINDOWS(T)                                                                          \
  static void scalarWindows_##T(const T *x, ptrdiff_t image, ptrdiff_t w, ptrdiff_t top,           \
                                ptrdiff_t i0, ptrdiff_t i1, const ptrdiff_t window[8], ptrdiff_t oj,    \
                                ptrdiff_t ojEnd, ptrdiff_t *out) {                                 \
    ptrdiff_t kw = window[1], sw = window[3], pw = window[5], dh = window[6], dw = window[7];       \
    for (; oj < ojEnd; oj++) {                                                                     \
      ptrdiff_t left = oj * sw - pw, j0, j1;                                                       \
      taps(left, dw, kw, w, &j0, &j1);                                                             \
      ptrdiff_t best = image + (top + i0 * dh) * w + left + j0 * dw;                               \
      for (ptrdiff_t i = i0; i < i1; i++) {                                                        \
        ptrdiff_t row = image + (top + i * dh) * w + left;                                         \
        for (ptrdiff_t j = j0; j < j1; j++) {                                                      \
          ptrdiff_t offset = row + j * dw;                                                         \
          T value = x[offset], maximum = x[best];                                                  \
          int wins = (value > maximum) | (value != value);                                         \
          best = __builtin_unpredictable(wins) ? offset : best;                                    \
        }                                                                                          \
      }                                                                                            \
      out[oj] = best;                                                                              \
    }                                                                                              \
  }
SCALAR_WINDOWS(float)
SCALAR_WINDOWS(double)

#if BP_X86
// Windows oj ..< oj + 8 of a row, all inside the image along the width (rows i0 ..< i1 are
// inside along the height). Lane l holds window oj + l; `tap` is the winning tap's offset from
// the window's first element.
__attribute__((target("avx2"))) static void eightWindows_float(const float *x, ptrdiff_t image, ptrdiff_t w,
                                                                ptrdiff_t top, ptrdiff_t i0, ptrdiff_t i1,
                                                                const ptrdiff_t window[8], ptrdiff_t oj,
                                                                ptrdiff_t *out) {
  ptrdiff_t kw = window[1], sw = window[3], pw = window[5], dh = window[6], dw = window[7];
  ptrdiff_t origin = image + top * w + oj * sw - pw;  // window oj's tap (0, 0)
  __m256i lanes = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)sw));
  __m256 maximum = _mm256_set1_ps(-__builtin_inff());
  __m256i tap = _mm256_set1_epi32((int)(i0 * dh * w));
  for (ptrdiff_t i = i0; i < i1; i++) {
    for (ptrdiff_t j = 0; j < kw; j++) {
      int relative = (int)(i * dh * w + j * dw);
      const float *first = x + origin + relative;
      __m256 value;
      if (sw == 1) {
        value = _mm256_loadu_ps(first);
      } else if (sw == 2) {
        // Elements 0, 2, …, 14, from loads of 0–7 and 7–14 (not 8–15, which would read past
        // the last window): each 128-bit half takes two from each load, then the halves are
        // put back in order.
        __m256 low = _mm256_loadu_ps(first), high = _mm256_loadu_ps(first + 7);
        __m256 evens = _mm256_shuffle_ps(low, high, 0xD8);
        value = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(evens), 0xD8));
      } else {
        value = _mm256_i32gather_ps(first, lanes, 4);
      }
      __m256 wins = _mm256_or_ps(_mm256_cmp_ps(value, maximum, _CMP_GT_OQ), _mm256_cmp_ps(value, value, _CMP_UNORD_Q));
      maximum = _mm256_blendv_ps(maximum, value, wins);
      tap = _mm256_castps_si256(
          _mm256_blendv_ps(_mm256_castsi256_ps(tap), _mm256_castsi256_ps(_mm256_set1_epi32(relative)), wins));
    }
  }
  int taps[8] __attribute__((aligned(32)));
  _mm256_store_si256((__m256i *)taps, tap);
  for (int l = 0; l < 8; l++) out[oj + l] = origin + l * sw + taps[l];
}

__attribute__((target("avx2"))) static void fourWindows_double(const double *x, ptrdiff_t image, ptrdiff_t w,
                                                                ptrdiff_t top, ptrdiff_t i0, ptrdiff_t i1,
                                                                const ptrdiff_t window[8], ptrdiff_t oj,
                                                                ptrdiff_t *out) {
  ptrdiff_t kw = window[1], sw = window[3], pw = window[5], dh = window[6], dw = window[7];
  ptrdiff_t origin = image + top * w + oj * sw - pw;
  __m256i lanes = _mm256_setr_epi64x(0, sw, 2 * sw, 3 * sw);
  __m256d maximum = _mm256_set1_pd(-__builtin_inf());
  __m256i tap = _mm256_set1_epi64x(i0 * dh * w);
  for (ptrdiff_t i = i0; i < i1; i++) {
    for (ptrdiff_t j = 0; j < kw; j++) {
      ptrdiff_t relative = i * dh * w + j * dw;
      const double *first = x + origin + relative;
      __m256d value = sw == 1 ? _mm256_loadu_pd(first) : _mm256_i64gather_pd(first, lanes, 8);
      __m256d wins = _mm256_or_pd(_mm256_cmp_pd(value, maximum, _CMP_GT_OQ), _mm256_cmp_pd(value, value, _CMP_UNORD_Q));
      maximum = _mm256_blendv_pd(maximum, value, wins);
      tap = _mm256_castpd_si256(
          _mm256_blendv_pd(_mm256_castsi256_pd(tap), _mm256_castsi256_pd(_mm256_set1_epi64x(relative)), wins));
    }
  }
  long long taps[4] __attribute__((aligned(32)));
  _mm256_store_si256((__m256i *)taps, tap);
  for (int l = 0; l < 4; l++) out[oj + l] = origin + l * sw + (ptrdiff_t)taps[l];
}

// Every window of an image without padding, LANES at a time in row-major order (the last
// LANES overlapping the ones before), each lane gathering from its window's first tap at
// `origins` (offsets in the image): for images whose rows hold fewer than LANES windows. The
// winning tap's offset travels in a lane of T, exact below 2^24.
#define IMAGE_WINDOWS(T, NAME, LANES, VEC, SET1, CMP, OR, BLEND, CASTI, CASTV, GATHER, LOADI)       \
  __attribute__((target("avx2"))) static void NAME(const T *x, ptrdiff_t image, ptrdiff_t w,       \
                                                   const ptrdiff_t window[8], ptrdiff_t count,     \
                                                   const int *origins, ptrdiff_t *out) {           \
    ptrdiff_t kh = window[0], kw = window[1], dh = window[6], dw = window[7];                      \
    for (ptrdiff_t start = 0;; start += LANES) {                                                   \
      if (start + LANES > count) start = count - LANES;                                            \
      LOADI index = *(const LOADI *)(const void *)(origins + start);                               \
      VEC maximum = SET1(-__builtin_inf()), tap = SET1(0);                                         \
      for (ptrdiff_t i = 0; i < kh; i++) {                                                         \
        for (ptrdiff_t j = 0; j < kw; j++) {                                                       \
          ptrdiff_t relative = i * dh * w + j * dw;                                                \
          VEC value = GATHER(x + image + relative, index, (int)sizeof(T));                         \
          VEC wins = OR(CMP(value, maximum, _CMP_GT_OQ), CMP(value, value, _CMP_UNORD_Q));         \
          maximum = BLEND(maximum, value, wins);                                                   \
          tap = BLEND(tap, SET1((T)relative), wins);                                               \
        }                                                                                          \
      }                                                                                            \
      T taps[LANES];                                                                               \
      memcpy(taps, &tap, sizeof taps);                                                             \
      for (int l = 0; l < LANES; l++) out[start + l] = image + origins[start + l] + (ptrdiff_t)taps[l]; \
      if (start + LANES >= count) break;                                                           \
    }                                                                                              \
  }
IMAGE_WINDOWS(float, imageWindows_float, 8, __m256, _mm256_set1_ps, _mm256_cmp_ps, _mm256_or_ps,
              _mm256_blendv_ps, , , _mm256_i32gather_ps, __m256i_u)
IMAGE_WINDOWS(double, imageWindows_double, 4, __m256d, _mm256_set1_pd, _mm256_cmp_pd, _mm256_or_pd,
              _mm256_blendv_pd, , , _mm256_i32gather_pd, __m128i_u)
#endif

#if BP_X86
// The winning tap (0, 1, w or w + 1, in the scalar type) of each lane's 2×2 window from the even
// and odd columns of its two rows, and its value into `maximum` (the element's bits, chosen by
// the same blends). Each row's pair is compared first, then the two rows, which
// picks the same tap as the row-major search: the left and the upper win ties, a NaN wins, and
// the lower row's NaN wins over the upper's.
#define PAIR_TAP(VEC, CMP, OR, BLEND, ZERO, ADD, left0, right0, left1, right1, one, w, maximum)    \
  ({                                                                                               \
    VEC wins0 = OR(CMP(right0, left0, _CMP_GT_OQ), CMP(right0, right0, _CMP_UNORD_Q));             \
    VEC wins1 = OR(CMP(right1, left1, _CMP_GT_OQ), CMP(right1, right1, _CMP_UNORD_Q));             \
    VEC top = BLEND(left0, right0, wins0), bottom = BLEND(left1, right1, wins1);                   \
    VEC down = OR(CMP(bottom, top, _CMP_GT_OQ), CMP(bottom, bottom, _CMP_UNORD_Q));                \
    maximum = BLEND(top, bottom, down);                                                            \
    BLEND(BLEND(ZERO(), one, wins0), BLEND(w, ADD(w, one), wins1), down);                          \
  })

// 2×2 windows at stride 2 without padding or dilation (most max pooling), a row of windows at a
// time, 8 or 4 windows from two plain loads per image row split into even and odd columns (the
// last ones of a row overlapping the ones before): no gathers, even for rows of 4 windows.
__attribute__((target("avx2"))) static void pairedWindows_float(const float *x, ptrdiff_t image, ptrdiff_t w,
                                                                 ptrdiff_t ho, ptrdiff_t wo, ptrdiff_t *out,
                                                                 float *values) {
  // Taps travel as floats (0, 1, w, w + 1), exact below 2^24.
  for (ptrdiff_t oi = 0; oi < ho; oi++, out += wo, values = values ? values + wo : NULL) {
    const float *r0 = x + image + 2 * oi * w, *r1 = r0 + w;
    ptrdiff_t origin = image + 2 * oi * w;
    ptrdiff_t oj = 0;
    if (wo >= 8) {
      __m256 one = _mm256_set1_ps(1), below = _mm256_set1_ps((float)w);
      for (;; oj += 8) {
        if (oj + 8 > wo) oj = wo - 8;  // the last eight overlap the ones before
        __m256 a0 = _mm256_loadu_ps(r0 + 2 * oj), b0 = _mm256_loadu_ps(r0 + 2 * oj + 8);
        __m256 a1 = _mm256_loadu_ps(r1 + 2 * oj), b1 = _mm256_loadu_ps(r1 + 2 * oj + 8);
        // shuffle takes columns 0 2 8 10 | 4 6 12 14; the permutation puts the halves in order.
#define EVEN(a, b) _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8))
#define ODD(a, b) _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8))
        __m256 left0 = EVEN(a0, b0), right0 = ODD(a0, b0), left1 = EVEN(a1, b1), right1 = ODD(a1, b1);
        __m256 maximum;
        __m256 tap = PAIR_TAP(__m256, _mm256_cmp_ps, _mm256_or_ps, _mm256_blendv_ps, _mm256_setzero_ps,
                              _mm256_add_ps, left0, right0, left1, right1, one, below, maximum);
        if (values) _mm256_storeu_ps(values + oj, maximum);
        __m256i taps = _mm256_cvtps_epi32(tap);
        __m256i columns = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
        taps = _mm256_add_epi32(taps, _mm256_add_epi32(columns, _mm256_set1_epi32((int)(2 * oj))));
        __m256i base = _mm256_set1_epi64x(origin);
        _mm256_storeu_si256((__m256i *)(out + oj), _mm256_add_epi64(base, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(taps))));
        _mm256_storeu_si256((__m256i *)(out + oj + 4),
                            _mm256_add_epi64(base, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(taps, 1))));
        if (oj + 8 >= wo) break;
      }
#undef EVEN
#undef ODD
    } else {
      __m128 one = _mm_set1_ps(1), below = _mm_set1_ps((float)w);
      for (;; oj += 4) {
        if (oj + 4 > wo) oj = wo - 4;
        __m128 a0 = _mm_loadu_ps(r0 + 2 * oj), b0 = _mm_loadu_ps(r0 + 2 * oj + 4);
        __m128 a1 = _mm_loadu_ps(r1 + 2 * oj), b1 = _mm_loadu_ps(r1 + 2 * oj + 4);
        __m128 left0 = _mm_shuffle_ps(a0, b0, 0x88), right0 = _mm_shuffle_ps(a0, b0, 0xDD);
        __m128 left1 = _mm_shuffle_ps(a1, b1, 0x88), right1 = _mm_shuffle_ps(a1, b1, 0xDD);
        __m128 maximum;
        __m128 tap = PAIR_TAP(__m128, _mm_cmp_ps, _mm_or_ps, _mm_blendv_ps, _mm_setzero_ps, _mm_add_ps, left0,
                              right0, left1, right1, one, below, maximum);
        if (values) _mm_storeu_ps(values + oj, maximum);
        __m128i taps = _mm_add_epi32(_mm_cvtps_epi32(tap), _mm_setr_epi32(0, 2, 4, 6));
        taps = _mm_add_epi32(taps, _mm_set1_epi32((int)(2 * oj)));
        __m256i offsets = _mm256_add_epi64(_mm256_set1_epi64x(origin), _mm256_cvtepi32_epi64(taps));
        _mm256_storeu_si256((__m256i *)(out + oj), offsets);
        if (oj + 4 >= wo) break;
      }
    }
  }
}

__attribute__((target("avx2"))) static void pairedWindows_double(const double *x, ptrdiff_t image, ptrdiff_t w,
                                                                  ptrdiff_t ho, ptrdiff_t wo, ptrdiff_t *out,
                                                                  double *values) {
  for (ptrdiff_t oi = 0; oi < ho; oi++, out += wo, values = values ? values + wo : NULL) {
    const double *r0 = x + image + 2 * oi * w, *r1 = r0 + w;
    ptrdiff_t origin = image + 2 * oi * w;
    __m256d one = _mm256_set1_pd(1), below = _mm256_set1_pd((double)w);
    for (ptrdiff_t oj = 0;; oj += 4) {
      if (oj + 4 > wo) oj = wo - 4;
      __m256d a0 = _mm256_loadu_pd(r0 + 2 * oj), b0 = _mm256_loadu_pd(r0 + 2 * oj + 4);
      __m256d a1 = _mm256_loadu_pd(r1 + 2 * oj), b1 = _mm256_loadu_pd(r1 + 2 * oj + 4);
      // unpack takes columns 0 4 2 6; the permutation puts them in order.
#define EVEN(a, b) _mm256_permute4x64_pd(_mm256_unpacklo_pd(a, b), 0xD8)
#define ODD(a, b) _mm256_permute4x64_pd(_mm256_unpackhi_pd(a, b), 0xD8)
      __m256d left0 = EVEN(a0, b0), right0 = ODD(a0, b0), left1 = EVEN(a1, b1), right1 = ODD(a1, b1);
      __m256d maximum;
      __m256d tap = PAIR_TAP(__m256d, _mm256_cmp_pd, _mm256_or_pd, _mm256_blendv_pd, _mm256_setzero_pd,
                             _mm256_add_pd, left0, right0, left1, right1, one, below, maximum);
      if (values) _mm256_storeu_pd(values + oj, maximum);
      __m256i taps = _mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(tap));
      taps = _mm256_add_epi64(taps, _mm256_setr_epi64x(0, 2, 4, 6));
      _mm256_storeu_si256((__m256i *)(out + oj), _mm256_add_epi64(taps, _mm256_set1_epi64x(origin + 2 * oj)));
      if (oj + 4 >= wo) break;
    }
#undef EVEN
#undef ODD
  }
}
#endif

#if BP_NEON
// The same 2×2 windows at stride 2 with NEON: a de-interleaving load (LD2) splits each image row
// into even and odd columns, four windows of Float or two of Double at a time (the last ones of
// a row overlapping the ones before), and the winning tap is chosen as PAIR_TAP does.
#define NEON_PAIR_TAP(T, Q, MASK, left0, right0, left1, right1, one, w, maximum)                      \
  ({                                                                                               \
    MASK wins0 = vorrq_u##Q(vcgtq_##T(right0, left0), vmvnq_u##Q##_compat(vceqq_##T(right0, right0))); \
    MASK wins1 = vorrq_u##Q(vcgtq_##T(right1, left1), vmvnq_u##Q##_compat(vceqq_##T(right1, right1))); \
    __typeof__(left0) top = vbslq_##T(wins0, right0, left0), bottom = vbslq_##T(wins1, right1, left1); \
    MASK down = vorrq_u##Q(vcgtq_##T(bottom, top), vmvnq_u##Q##_compat(vceqq_##T(bottom, bottom)));  \
    maximum = vbslq_##T(down, bottom, top);                                                        \
    vbslq_##T(down, vbslq_##T(wins1, vaddq_##T(w, one), w), vbslq_##T(wins0, one, vdupq_n_##T(0)));   \
  })
#define vmvnq_u32_compat vmvnq_u32
static inline uint64x2_t vmvnq_u64_compat(uint64x2_t x) { return vreinterpretq_u64_u32(vmvnq_u32(vreinterpretq_u32_u64(x))); }

static void pairedWindowsNEON_float(const float *x, ptrdiff_t image, ptrdiff_t w, ptrdiff_t ho, ptrdiff_t wo,
                                    ptrdiff_t *out, float *values) {
  const float32x4_t one = vdupq_n_f32(1), below = vdupq_n_f32((float)w);
  const int32x4_t columns = {0, 2, 4, 6};
  for (ptrdiff_t oi = 0; oi < ho; oi++, out += wo) {
    const float *r0 = x + image + 2 * oi * w, *r1 = r0 + w;
    int64x2_t origin = vdupq_n_s64(image + 2 * oi * w);
    for (ptrdiff_t oj = 0;; oj += 4) {
      if (oj + 4 > wo) oj = wo - 4;
      float32x4x2_t row0 = vld2q_f32(r0 + 2 * oj), row1 = vld2q_f32(r1 + 2 * oj);
      float32x4_t maximum;
      float32x4_t tap = NEON_PAIR_TAP(f32, 32, uint32x4_t, row0.val[0], row0.val[1], row1.val[0], row1.val[1], one,
                                      below, maximum);
      if (values) vst1q_f32(values + oi * wo + oj, maximum);
      int32x4_t taps = vaddq_s32(vaddq_s32(vcvtnq_s32_f32(tap), columns), vdupq_n_s32((int32_t)(2 * oj)));
      vst1q_s64((int64_t *)(out + oj), vaddq_s64(origin, vmovl_s32(vget_low_s32(taps))));
      vst1q_s64((int64_t *)(out + oj + 2), vaddq_s64(origin, vmovl_s32(vget_high_s32(taps))));
      if (oj + 4 >= wo) break;
    }
  }
}

static void pairedWindowsNEON_double(const double *x, ptrdiff_t image, ptrdiff_t w, ptrdiff_t ho, ptrdiff_t wo,
                                     ptrdiff_t *out, double *values) {
  const float64x2_t one = vdupq_n_f64(1), below = vdupq_n_f64((double)w);
  const int64x2_t columns = {0, 2};
  for (ptrdiff_t oi = 0; oi < ho; oi++, out += wo) {
    const double *r0 = x + image + 2 * oi * w, *r1 = r0 + w;
    int64x2_t origin = vdupq_n_s64(image + 2 * oi * w);
    for (ptrdiff_t oj = 0;; oj += 2) {
      if (oj + 2 > wo) oj = wo - 2;
      float64x2x2_t row0 = vld2q_f64(r0 + 2 * oj), row1 = vld2q_f64(r1 + 2 * oj);
      float64x2_t maximum;
      float64x2_t tap = NEON_PAIR_TAP(f64, 64, uint64x2_t, row0.val[0], row0.val[1], row1.val[0], row1.val[1], one,
                                      below, maximum);
      if (values) vst1q_f64(values + oi * wo + oj, maximum);
      int64x2_t taps = vaddq_s64(vaddq_s64(vcvtnq_s64_f64(tap), columns), vdupq_n_s64(2 * oj));
      vst1q_s64((int64_t *)(out + oj), vaddq_s64(origin, taps));
      if (oj + 2 >= wo) break;
    }
  }
}
#endif

// values[k] = x[offsets[k]] for k < count.
#define READ_VALUES(T)                                                                             \
  static void readValues_##T(const T *x, const ptrdiff_t *offsets, ptrdiff_t count, T *values) {   \
    for (ptrdiff_t k = 0; k < count; k++) values[k] = x[offsets[k]];                               \
  }
READ_VALUES(float)
READ_VALUES(double)

// Rows of windows; inside the image along the width, LANES windows at a time through `vector`;
// 2×2 windows at stride 2 through `paired`, which make the values with the offsets.
#define WINDOW_MAXIMUM_OFFSETS(T, SUFFIX, LANES, VECTOR, IMAGE, PAIRED)                            \
  void bp_window_maximum_offsets_##SUFFIX(const T *x, ptrdiff_t firstPlane, ptrdiff_t endPlane,     \
                                          ptrdiff_t h, ptrdiff_t w,                                \
                                          const ptrdiff_t window[8], ptrdiff_t ho, ptrdiff_t wo,   \
                                          ptrdiff_t *out, T *values) {                             \
    ptrdiff_t kh = window[0], kw = window[1], sh = window[2], sw = window[3];                      \
    ptrdiff_t ph = window[4], pw = window[5], dh = window[6], dw = window[7];                      \
    /* Windows [inside, insideEnd) lie in the image along the width. */                            \
    ptrdiff_t inside = (pw + sw - 1) / sw, insideEnd = (w - 1 - (kw - 1) * dw + pw) / sw + 1;      \
    if (insideEnd > wo) insideEnd = wo;                                                            \
    if (insideEnd < inside) insideEnd = inside;                                                    \
    int vector = bp_has_avx2() && (int64_t)h * w < (int64_t)1 << 30;                                   \
    int paired = (vector || bp_has_neon()) && (int64_t)h * w < (int64_t)1 << 30;                   \
    out += firstPlane * ho * wo;                                                                   \
    if (values) values += firstPlane * ho * wo;                                                    \
    if (paired && kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0 && dh == 1 &&     \
        dw == 1 && wo >= 4 && w < 1 << 23) {                                                       \
      for (ptrdiff_t plane = firstPlane; plane < endPlane; plane++, out += ho * wo) {              \
        PAIRED(x, plane * h * w, w, ho, wo, out, values);                                          \
        if (values) values += ho * wo;                                                             \
      }                                                                                            \
      return;                                                                                      \
    }                                                                                              \
    /* The other paths read each plane's values at its offsets while the plane is in the cache. */ \
    if (vector && ph == 0 && pw == 0 && wo < LANES && ho * wo >= LANES && h * w < 1 << 24) {       \
      int *origins = malloc(sizeof(int) * (size_t)(ho * wo));                                      \
      if (origins) {                                                                               \
        for (ptrdiff_t oi = 0; oi < ho; oi++)                                                      \
          for (ptrdiff_t oj = 0; oj < wo; oj++) origins[oi * wo + oj] = (int)(oi * sh * w + oj * sw); \
        for (ptrdiff_t plane = firstPlane; plane < endPlane; plane++, out += ho * wo) {            \
          IMAGE(x, plane * h * w, w, window, ho * wo, origins, out);                               \
          if (values) readValues_##T(x, out, ho * wo, values), values += ho * wo;                  \
        }                                                                                          \
        free(origins);                                                                             \
        return;                                                                                    \
      }                                                                                            \
    }                                                                                              \
    for (ptrdiff_t plane = firstPlane; plane < endPlane; plane++, out += ho * wo) {                \
      ptrdiff_t image = plane * h * w;                                                             \
      for (ptrdiff_t oi = 0; oi < ho; oi++) {                                                      \
        ptrdiff_t top = oi * sh - ph, i0, i1;                                                      \
        taps(top, dh, kh, h, &i0, &i1);                                                            \
        ptrdiff_t *row = out + oi * wo, oj = 0;                                                    \
        if (vector) {                                                                              \
          scalarWindows_##T(x, image, w, top, i0, i1, window, 0, inside, row);                     \
          for (oj = inside; oj + LANES <= insideEnd; oj += LANES)                                  \
            VECTOR(x, image, w, top, i0, i1, window, oj, row);                                     \
          if (oj < insideEnd && insideEnd - inside >= LANES) { /* the last LANES, overlapping */  \
            VECTOR(x, image, w, top, i0, i1, window, insideEnd - LANES, row);                      \
            oj = insideEnd;                                                                        \
          }                                                                                        \
        }                                                                                          \
        scalarWindows_##T(x, image, w, top, i0, i1, window, oj, wo, row);                          \
      }                                                                                            \
      if (values) readValues_##T(x, out, ho * wo, values), values += ho * wo;                      \
    }                                                                                              \
  }

#if BP_X86
WINDOW_MAXIMUM_OFFSETS(float, f32, 8, eightWindows_float, imageWindows_float, pairedWindows_float)
WINDOW_MAXIMUM_OFFSETS(double, f64, 4, fourWindows_double, imageWindows_double, pairedWindows_double)
#elif BP_NEON
#define NO_VECTOR(...) ((void)0)
WINDOW_MAXIMUM_OFFSETS(float, f32, 8, NO_VECTOR, NO_VECTOR, pairedWindowsNEON_float)
WINDOW_MAXIMUM_OFFSETS(double, f64, 4, NO_VECTOR, NO_VECTOR, pairedWindowsNEON_double)
#else
#define NO_VECTOR(...) ((void)0)
WINDOW_MAXIMUM_OFFSETS(float, f32, 8, NO_VECTOR, NO_VECTOR, NO_VECTOR)
WINDOW_MAXIMUM_OFFSETS(double, f64, 4, NO_VECTOR, NO_VECTOR, NO_VECTOR)
#endif
