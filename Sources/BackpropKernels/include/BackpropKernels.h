// The C kernels of BackpropTensor: packed, register-blocked matrix products and small ones; max
// pooling's search; square roots, and e^x, erf x and GELU for Float; copies of runs for im2col,
// and col2im; row sums; and Adam's fused update. Each has AVX2 and (where it pays) AVX-512
// paths on x86-64 and a NEON path on AArch64, chosen at run time, and a portable path; on Apple
// platforms the products go to Accelerate. Only Swift's Tensor calls these; they are not part of
// Backprop's public API.
#ifndef BACKPROP_KERNELS_H
#define BACKPROP_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { BP_KERNEL_AUTOMATIC = 0, BP_KERNEL_PORTABLE = 1 };

/// The kernel paths: the portable C loops, x86-64 AVX2+FMA (with AVX where a kernel needs no more),
/// AArch64 NEON, and x86-64 AVX-512 (F, DQ, BW, VL; the AVX2 kernels where it has none of its own).
enum { BP_PATH_PORTABLE = 0, BP_PATH_AVX2 = 1, BP_PATH_NEON = 2, BP_PATH_AVX512 = 3 };

/// The process's kernel path: the best this processor runs, or the one the environment variable
/// BACKPROP_KERNELS names (portable, avx2, avx512, neon) when the processor runs it. Chosen on the first
/// call; a request it cannot honour is said on standard error once.
int bp_kernel_path(void);

/// "portable", "avx2", "avx512" or "neon".
const char *bp_kernel_path_name(int path);

/// C = op(A)·op(B) for the rows [rowBegin, rowEnd) of C, all row-major; C is overwritten.
///
/// kernel: BP_KERNEL_AUTOMATIC (the process's kernel path) or BP_KERNEL_PORTABLE (for tests).
///
/// op(A) is m×k: element (i, p) is a[i·lda + p], or a[p·lda + i] when transposeA is non-zero.
/// op(B) is k×n: element (p, j) is b[p·ldb + j], or b[j·ldb + p] when transposeB is non-zero.
/// C's row i starts at c + i·ldc. Rows outside the range are neither read nor written, so
/// disjoint ranges may run on different threads.
void bp_gemm_f32(int kernel, int transposeA, int transposeB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                 const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                 ptrdiff_t rowBegin, ptrdiff_t rowEnd);

/// The Double version of bp_gemm_f32.
void bp_gemm_f64(int kernel, int transposeA, int transposeB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                 const double *a, ptrdiff_t lda, const double *b, ptrdiff_t ldb, double *c, ptrdiff_t ldc,
                 ptrdiff_t rowBegin, ptrdiff_t rowEnd);

/// bp_gemm_f32, adding the product to C's rows. An element of C gets its whole product added at
/// once when k is at most bp_gemm_depth_block(), so adding products in turn gives the bits of
/// summing their results in the same order.
void bp_gemm_add_f32(int kernel, int transposeA, int transposeB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                     const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                     ptrdiff_t rowBegin, ptrdiff_t rowEnd);

/// The Double version of bp_gemm_add_f32.
void bp_gemm_add_f64(int kernel, int transposeA, int transposeB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                     const double *a, ptrdiff_t lda, const double *b, ptrdiff_t ldb, double *c, ptrdiff_t ldc,
                     ptrdiff_t rowBegin, ptrdiff_t rowEnd);

/// The deepest block of the inner dimension that the products go through at a time (KC); a deeper
/// product goes through as few blocks of equal depth as it takes.
ptrdiff_t bp_gemm_depth_block(void);

/// The number of scalars of the buffer that bp_gemm_pack_a_* fills for an m×k op(A).
ptrdiff_t bp_gemm_packed_a_count(ptrdiff_t m, ptrdiff_t k);

/// Packs op(A) (m×k, as for bp_gemm_f32) into `packed` (bp_gemm_packed_a_count(m, k) scalars),
/// once for several products with the same A, such as a filter applied to every image.
void bp_gemm_pack_a_f32(int kernel, int transposeA, ptrdiff_t m, ptrdiff_t k, const float *a, ptrdiff_t lda,
                        float *packed);

/// bp_gemm_f32 with op(A) read from the buffer of bp_gemm_pack_a_f32 (packed for this m and k
/// with the same kernel choice). rowBegin must be a multiple of bp_gemm_tile_rows() (the
/// micro-kernel's height).
/// Gives the same bits as bp_gemm_f32.
void bp_gemm_prepacked_f32(int kernel, const float *packedA, int transposeB, ptrdiff_t m, ptrdiff_t n,
                           ptrdiff_t k, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                           ptrdiff_t rowBegin, ptrdiff_t rowEnd);

/// The columns (im2col) of one image under dense windows (stride 1, dilation 1), packed into
/// `packed` as bp_gemm_pack_a_f32 packs them (m = channels·kh·kw taps by k = ho·wo positions,
/// bp_gemm_packed_a_count(m, k) scalars), read straight from the zero-padded image
/// `[channels, hp, wp]`: the columns themselves are never written. ho = hp − kh + 1 and
/// wo = wp − kw + 1 must be positive.
void bp_gemm_pack_windows_f32(int kernel, const float *padded, ptrdiff_t channels, ptrdiff_t hp, ptrdiff_t wp,
                              ptrdiff_t kh, ptrdiff_t kw, float *packed);

/// The Double version of bp_gemm_pack_windows_f32.
void bp_gemm_pack_windows_f64(int kernel, const double *padded, ptrdiff_t channels, ptrdiff_t hp,
                              ptrdiff_t wp, ptrdiff_t kh, ptrdiff_t kw, double *packed);

/// C += op(A)·op(B), as bp_gemm_add_f32, with op(A) read from the buffer of bp_gemm_pack_a_f32
/// or bp_gemm_pack_windows_f32. Gives the same bits as bp_gemm_add_f32.
void bp_gemm_prepacked_add_f32(int kernel, const float *packedA, int transposeB, ptrdiff_t m, ptrdiff_t n,
                               ptrdiff_t k, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                               ptrdiff_t rowBegin, ptrdiff_t rowEnd);

/// The Double version of bp_gemm_prepacked_add_f32.
void bp_gemm_prepacked_add_f64(int kernel, const double *packedA, int transposeB, ptrdiff_t m, ptrdiff_t n,
                               ptrdiff_t k, const double *b, ptrdiff_t ldb, double *c, ptrdiff_t ldc,
                               ptrdiff_t rowBegin, ptrdiff_t rowEnd);

/// The Double version of bp_gemm_pack_a_f32.
void bp_gemm_pack_a_f64(int kernel, int transposeA, ptrdiff_t m, ptrdiff_t k, const double *a, ptrdiff_t lda,
                        double *packed);

/// The Double version of bp_gemm_prepacked_f32.
void bp_gemm_prepacked_f64(int kernel, const double *packedA, int transposeB, ptrdiff_t m, ptrdiff_t n,
                           ptrdiff_t k, const double *b, ptrdiff_t ldb, double *c, ptrdiff_t ldc,
                           ptrdiff_t rowBegin, ptrdiff_t rowEnd);

/// C = op(A)·op(B) for a small product (m·n·k below a few thousand), on the calling thread and
/// without packing; operands as for bp_gemm_f32 with lda = k (m when transposed), ldb = n (k when
/// transposed) and ldc = n. Each element sums its products in order of p, with fused
/// multiply-adds on the AVX2, AVX-512 and NEON paths (the same bits on each) and without on the
/// portable path.
void bp_small_gemm_f32(int transposeA, int transposeB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a,
                       const float *b, float *c);

/// The Double version of bp_small_gemm_f32.
void bp_small_gemm_f64(int transposeA, int transposeB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const double *a,
                       const double *b, double *c);

/// The instruction set the matrix kernels use in this process: "avx512", "avx2+fma", "neon" or
/// "portable".
const char *bp_gemm_instruction_set(void);

/// The rows of C that one call of the micro-kernel computes in this process (6 or 12): blocks of
/// rows that start at a multiple of it split a product into whole tiles.
ptrdiff_t bp_gemm_tile_rows(void);

/// The columns of C (Floats) that one call of the micro-kernel computes in this process (16 or 32).
ptrdiff_t bp_gemm_tile_columns(void);

/// Max pooling: for the images [firstPlane, endPlane) of h×w in x, the offset in x of the
/// largest element of every window, written row by row of the ho×wo windows of each image in
/// turn, image p's at out + p·ho·wo. window holds the kernel height and width, strides,
/// paddings and dilations. Taps on the padding are skipped; of equal elements the first in the
/// window wins, and a NaN wins over numbers (PyTorch's max_pool2d). Every window must have a
/// tap in the image. Unless `values` is NULL, the element at each offset is written there too,
/// at the offset's index (the pool's output).
void bp_window_maximum_offsets_f32(const float *x, ptrdiff_t firstPlane, ptrdiff_t endPlane, ptrdiff_t h,
                                   ptrdiff_t w, const ptrdiff_t window[8], ptrdiff_t ho, ptrdiff_t wo,
                                   ptrdiff_t *out, float *values);

/// The Double version of bp_window_maximum_offsets_f32.
void bp_window_maximum_offsets_f64(const double *x, ptrdiff_t firstPlane, ptrdiff_t endPlane, ptrdiff_t h,
                                   ptrdiff_t w, const ptrdiff_t window[8], ptrdiff_t ho, ptrdiff_t wo,
                                   ptrdiff_t *out, double *values);

/// dst[r·dstStride + t] = src[r·srcStride + t] for r < runs, t < length (im2col's runs).
void bp_copy_runs_f32(float *dst, ptrdiff_t dstStride, const float *src, ptrdiff_t srcStride, ptrdiff_t runs,
                      ptrdiff_t length);
/// The Double version of bp_copy_runs_f32.
void bp_copy_runs_f64(double *dst, ptrdiff_t dstStride, const double *src, ptrdiff_t srcStride, ptrdiff_t runs,
                      ptrdiff_t length);

/// col2im of dense windows (stride 1, dilation 1): `planes` planes of h×w (one channel of one
/// image each, in turn) from their columns, kh·kw rows of ho·wo positions per plane, in turn. Pixel
/// (y, x) is the sum, in tap order from zero, of tap (i, j)'s column row at output position
/// (y + ph − i, x + pw − j) wherever that is inside ho×wo: the bits of adding the column rows into
/// a zeroed padded image tap by tap and cutting the image out.
void bp_fold_dense_f32(const float *columns, ptrdiff_t planes, ptrdiff_t kh, ptrdiff_t kw, ptrdiff_t ho,
                       ptrdiff_t wo, ptrdiff_t ph, ptrdiff_t pw, ptrdiff_t h, ptrdiff_t w, float *out);

/// The Double version of bp_fold_dense_f32.
void bp_fold_dense_f64(const double *columns, ptrdiff_t planes, ptrdiff_t kh, ptrdiff_t kw, ptrdiff_t ho,
                       ptrdiff_t wo, ptrdiff_t ph, ptrdiff_t pw, ptrdiff_t h, ptrdiff_t w, double *out);

/// y[i] = √x[i] for n Floats, correctly rounded (AVX eight at a time, or sqrtf).
void bp_sqrt_f32(const float *x, float *y, ptrdiff_t n);

/// y[i] = √x[i] for n Doubles, correctly rounded (AVX four at a time, or sqrt).
void bp_sqrt_f64(const double *x, double *y, ptrdiff_t n);

/// y[i] = e^x[i] for n Floats, within 2 ulp (AVX2+FMA, eight at a time) or by expf.
void bp_exp_f32(const float *x, float *y, ptrdiff_t n);

/// y[i] = erf x[i] for n Floats, within 2 ulp (AVX2+FMA, eight at a time) or by erff.
void bp_erf_f32(const float *x, float *y, ptrdiff_t n);

/// y[i] = GELU(x[i]) = ½x(1 + erf(x/√2)) for n Floats, from the vectorised erf or erff.
void bp_gelu_f32(const float *x, float *y, ptrdiff_t n);

/// y[i] = GELU′(x[i]) = ½(1 + erf(x/√2)) + x·e^(−x²/2)/√(2π) for n Floats.
void bp_gelu_derivative_f32(const float *x, float *y, ptrdiff_t n);

/// Adam's update of n scalars in place, in one pass: g' = g + value·decay (when decay ≠ 0),
/// first = first·β₁ + g'·(1 − β₁), second = second·β₂ + g'·g'·(1 − β₂), value −= (first / c₁)·α /
/// (√(second / c₂) + ε). The same operations in the same order on every path, without fused
/// multiply-adds.
void bp_adam_f32(float *value, float *first, float *second, const float *gradient, ptrdiff_t n,
                 float learningRate, float beta1, float beta2, float correction1, float correction2,
                 float epsilon, float decay);

/// The Double version of bp_adam_f32.
void bp_adam_f64(double *value, double *first, double *second, const double *gradient, ptrdiff_t n,
                 double learningRate, double beta1, double beta2, double correction1, double correction2,
                 double epsilon, double decay);

/// out[r] = the sum of row r of x (rows × length, rows contiguous), in one order on every path
/// (the same bits): L partial sums (L = 32 for Float, 16 for Double), lane l adding the elements
/// j ≡ l (mod L) from the left starting from +0; then lane i adds lane i + w for w = L/2, …, 4;
/// then (s₀ + s₁) + (s₂ + s₃). This is the order of every sum of Float or Double scalars in
/// BackpropTensor (sum(), mean(), sums along axes that end with the last).
void bp_row_sums_f32(const float *x, ptrdiff_t rows, ptrdiff_t length, float *out);

/// The Double version of bp_row_sums_f32.
void bp_row_sums_f64(const double *x, ptrdiff_t rows, ptrdiff_t length, double *out);

/// With glibc: serves buffers up to 32 MiB from the heap and keeps up to 64 MiB of freed heap
/// for reuse (mallopt M_MMAP_THRESHOLD and M_TRIM_THRESHOLD), unless the environment variable
/// BACKPROP_MALLOC is "system". Returns 1 when the policy was set, 0 otherwise (another C
/// library, the opt-out, or mallopt refused).
int bp_keep_large_buffers(void);

/// Tells the processor that this thread is spinning on a flag (x86 PAUSE, ARM YIELD), which
/// saves power and lets a sibling hardware thread run. Used by BackpropTensor's worker pool.
static inline void bp_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield");
#endif
}

#ifdef __cplusplus
}
#endif

#endif
