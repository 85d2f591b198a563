// The declarations gemm.c uses, as Apple's vecLib cblas_new.h (macOS 13.3, iOS 16.4 and later)
// states them, so that Scripts/test-kernels can check the Accelerate path's calls off Apple platforms.
#ifndef ACCELERATE_NEW_LAPACK
#error "the new LAPACK interface is expected"
#endif
#ifdef ACCELERATE_LAPACK_ILP64
typedef long __LAPACK_int;
#else
typedef int __LAPACK_int;
#endif
enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112, CblasConjTrans = 113 };
void cblas_sgemm(const enum CBLAS_ORDER ORDER, const enum CBLAS_TRANSPOSE TRANSA, const enum CBLAS_TRANSPOSE TRANSB,
                 const __LAPACK_int M, const __LAPACK_int N, const __LAPACK_int K, const float ALPHA,
                 const float *_Nullable A, const __LAPACK_int LDA, const float *_Nullable B, const __LAPACK_int LDB,
                 const float BETA, float *_Nullable C, const __LAPACK_int LDC);
void cblas_dgemm(const enum CBLAS_ORDER ORDER, const enum CBLAS_TRANSPOSE TRANSA, const enum CBLAS_TRANSPOSE TRANSB,
                 const __LAPACK_int M, const __LAPACK_int N, const __LAPACK_int K, const double ALPHA,
                 const double *_Nullable A, const __LAPACK_int LDA, const double *_Nullable B, const __LAPACK_int LDB,
                 const double BETA, double *_Nullable C, const __LAPACK_int LDC);
