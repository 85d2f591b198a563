// Adam's update of one parameter in a single pass over its value, gradient and two moment
// estimates, where tensor arithmetic makes about a dozen passes and as many temporaries.
//
// Every path performs the same IEEE operations in the same order as the formula in Swift,
// without fused multiply-adds, so the results are the same bits on every CPU and as before.

#include "BackpropKernels.h"

#include <math.h>

#pragma STDC FP_CONTRACT OFF

#include "cpu.h"

// One element: g' = g + value·decay (when decay ≠ 0); m = m·β₁ + g'·(1 − β₁);
// v = v·β₂ + g'·g'·(1 − β₂); value −= (m / c₁)·α / (√(v / c₂) + ε).
#define ADAM_SCALAR(T, SQRT)                                                                       \
  {                                                                                                \
    T g = gradient[i];                                                                             \
    if (decay != 0) g = g + value[i] * decay;                                                      \
    T m = first[i] * beta1 + g * oneMinusBeta1;                                                    \
    T v = second[i] * beta2 + g * g * oneMinusBeta2;                                               \
    first[i] = m;                                                                                  \
    second[i] = v;                                                                                 \
    value[i] = value[i] - m / correction1 * learningRate / (SQRT(v / correction2) + epsilon);      \
  }

#define ADAM(T, SUFFIX, SQRT)                                                                      \
  static void adamScalar_##SUFFIX(T *value, T *first, T *second, const T *gradient, ptrdiff_t i,   \
                                  ptrdiff_t n, T learningRate, T beta1, T beta2, T oneMinusBeta1,  \
                                  T oneMinusBeta2, T correction1, T correction2, T epsilon,        \
                                  T decay) {                                                       \
    for (; i < n; i++) ADAM_SCALAR(T, SQRT)                                                        \
  }

ADAM(float, f32, sqrtf)
ADAM(double, f64, sqrt)

// The vector loop, LANES at a time: the same operations as ADAM_SCALAR on each lane.
#define ADAM_VECTOR_LOOP(T, SUFFIX, VEC, LANES, SET1, LOAD, STORE, ADD, SUB, MUL, DIV, SQRT, ATTRIBUTES, NAME) \
  ATTRIBUTES static ptrdiff_t NAME##_##SUFFIX(                                                     \
      T *value, T *first, T *second, const T *gradient, ptrdiff_t n, T learningRate, T beta1,      \
      T beta2, T oneMinusBeta1, T oneMinusBeta2, T correction1, T correction2, T epsilon, T decay) { \
    VEC a = SET1(learningRate), b1 = SET1(beta1), b2 = SET1(beta2), c1 = SET1(oneMinusBeta1);      \
    VEC c2 = SET1(oneMinusBeta2), k1 = SET1(correction1), k2 = SET1(correction2);                  \
    VEC e = SET1(epsilon), d = SET1(decay);                                                        \
    ptrdiff_t i = 0;                                                                               \
    for (; i + LANES <= n; i += LANES) {                                                           \
      VEC g = LOAD(gradient + i), x = LOAD(value + i);                                             \
      if (decay != 0) g = ADD(g, MUL(x, d));                                                       \
      VEC m = ADD(MUL(LOAD(first + i), b1), MUL(g, c1));                                           \
      VEC v = ADD(MUL(LOAD(second + i), b2), MUL(MUL(g, g), c2));                                  \
      STORE(first + i, m);                                                                         \
      STORE(second + i, v);                                                                        \
      STORE(value + i, SUB(x, DIV(MUL(DIV(m, k1), a), ADD(SQRT(DIV(v, k2)), e))));                 \
    }                                                                                              \
    return i;                                                                                      \
  }
#if BP_X86
#define AVX __attribute__((target("avx")))
#define AVX512 __attribute__((target("avx512f")))
ADAM_VECTOR_LOOP(float, f32, __m256, 8, _mm256_set1_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_add_ps,
                 _mm256_sub_ps, _mm256_mul_ps, _mm256_div_ps, _mm256_sqrt_ps, AVX, adamAVX)
ADAM_VECTOR_LOOP(double, f64, __m256d, 4, _mm256_set1_pd, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_add_pd,
                 _mm256_sub_pd, _mm256_mul_pd, _mm256_div_pd, _mm256_sqrt_pd, AVX, adamAVX)
ADAM_VECTOR_LOOP(float, f32, __m512, 16, _mm512_set1_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_add_ps,
                 _mm512_sub_ps, _mm512_mul_ps, _mm512_div_ps, _mm512_sqrt_ps, AVX512, adamAVX512)
ADAM_VECTOR_LOOP(double, f64, __m512d, 8, _mm512_set1_pd, _mm512_loadu_pd, _mm512_storeu_pd, _mm512_add_pd,
                 _mm512_sub_pd, _mm512_mul_pd, _mm512_div_pd, _mm512_sqrt_pd, AVX512, adamAVX512)
#endif

#if BP_NEON
ADAM_VECTOR_LOOP(float, f32, float32x4_t, 4, vdupq_n_f32, vld1q_f32, vst1q_f32, vaddq_f32, vsubq_f32, vmulq_f32,
                 vdivq_f32, vsqrtq_f32, , adamNEON)
ADAM_VECTOR_LOOP(double, f64, float64x2_t, 2, vdupq_n_f64, vld1q_f64, vst1q_f64, vaddq_f64, vsubq_f64, vmulq_f64,
                 vdivq_f64, vsqrtq_f64, , adamNEON)
#endif

#define ADAM_ENTRY(T, SUFFIX)                                                                      \
  void bp_adam_##SUFFIX(T *value, T *first, T *second, const T *gradient, ptrdiff_t n,             \
                        T learningRate, T beta1, T beta2, T correction1, T correction2, T epsilon, \
                        T decay) {                                                                 \
    T oneMinusBeta1 = 1 - beta1, oneMinusBeta2 = 1 - beta2;                                        \
    ptrdiff_t i = 0;                                                                               \
    if (BP_X86 && bp_has_avx512())                                                                 \
      i = ADAM_VECTOR(adamAVX512, SUFFIX, value, first, second, gradient, n, learningRate, beta1,  \
                      beta2, oneMinusBeta1, oneMinusBeta2, correction1, correction2, epsilon, decay); \
    else if (BP_X86 && bp_has_avx())                                                               \
      i = ADAM_VECTOR(adamAVX, SUFFIX, value, first, second, gradient, n, learningRate, beta1,     \
                      beta2, oneMinusBeta1, oneMinusBeta2, correction1, correction2, epsilon, decay); \
    else if (BP_NEON && bp_has_neon())                                                             \
      i = ADAM_NEON(SUFFIX, value, first, second, gradient, n, learningRate, beta1, beta2,         \
                    oneMinusBeta1, oneMinusBeta2, correction1, correction2, epsilon, decay);       \
    adamScalar_##SUFFIX(value, first, second, gradient, i, n, learningRate, beta1, beta2,          \
                        oneMinusBeta1, oneMinusBeta2, correction1, correction2, epsilon, decay);   \
  }
#if BP_X86
#define ADAM_VECTOR(NAME, SUFFIX, ...) NAME##_##SUFFIX(__VA_ARGS__)
#else
#define ADAM_VECTOR(NAME, SUFFIX, ...) ((ptrdiff_t)0)
#endif
#if BP_NEON
#define ADAM_NEON(SUFFIX, ...) adamNEON_##SUFFIX(__VA_ARGS__)
#else
#define ADAM_NEON(SUFFIX, ...) ((ptrdiff_t)0)
#endif
ADAM_ENTRY(float, f32)
ADAM_ENTRY(double, f64)
