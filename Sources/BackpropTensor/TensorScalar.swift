import BackpropKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The scalar types a ``Tensor`` can hold: `Float` and `Double`.
///
/// The protocol gathers the elementary functions the operation catalogue needs, so that generic
/// code can call `Scalar._exp(x)` without a dependency on a numerics package, and the inner
/// loops (`_multiplyMatrices`) that are
/// implemented once per concrete type so that they run fully specialised.
public protocol TensorScalar: BinaryFloatingPoint, Sendable, CustomStringConvertible
where RawSignificand: FixedWidthInteger {
  /// e raised to `x`.
  static func _exp(_ x: Self) -> Self
  /// Natural logarithm of `x`.
  static func _log(_ x: Self) -> Self
  /// log(1 + x), accurate for small `x`.
  static func _log1p(_ x: Self) -> Self
  /// Hyperbolic tangent of `x`.
  static func _tanh(_ x: Self) -> Self
  /// `x` raised to the power `y`.
  static func _pow(_ x: Self, _ y: Self) -> Self
  /// Cosine of `x` (radians).
  static func _cos(_ x: Self) -> Self
  /// Sine of `x` (radians).
  static func _sin(_ x: Self) -> Self
  /// The error function, 2/√π ∫₀ˣ e^(−t²) dt.
  static func _erf(_ x: Self) -> Self

  /// Row-major matrix product `C = op(A) · op(B)`, where `op` transposes when asked.
  ///
  /// - Parameters:
  ///   - a: `m×k` (or `k×m` when `transposeA`), row-major.
  ///   - b: `k×n` (or `n×k` when `transposeB`), row-major.
  ///   - c: `m×n` output, overwritten.
  ///   - m: The rows of the result.
  ///   - k: The inner dimension.
  ///   - n: The columns of the result.
  ///   - transposeA: Read `a` as `k×m` and use its transpose.
  ///   - transposeB: Read `b` as `n×k` and use its transpose.
  static func _multiplyMatrices(
    _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, _ c: UnsafeMutablePointer<Self>,
    m: Int, k: Int, n: Int, transposeA: Bool, transposeB: Bool)
}

extension Float: TensorScalar {
  /// e raised to `x`.
  @inlinable public static func _exp(_ x: Float) -> Float { expf(x) }
  /// Natural logarithm of `x`.
  @inlinable public static func _log(_ x: Float) -> Float { logf(x) }
  /// log(1 + x).
  @inlinable public static func _log1p(_ x: Float) -> Float { log1pf(x) }
  /// Hyperbolic tangent of `x`.
  @inlinable public static func _tanh(_ x: Float) -> Float { tanhf(x) }
  /// `x` raised to `y`.
  @inlinable public static func _pow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
  /// Cosine of `x`.
  @inlinable public static func _cos(_ x: Float) -> Float { cosf(x) }
  /// Sine of `x`.
  @inlinable public static func _sin(_ x: Float) -> Float { sinf(x) }
  /// The error function of `x`.
  @inlinable public static func _erf(_ x: Float) -> Float { erff(x) }
  /// Row-major matrix product `C = op(A) · op(B)` for `Float`.
  ///
  /// - Parameters:
  ///   - a: `m×k` (or `k×m` when `transposeA`), row-major.
  ///   - b: `k×n` (or `n×k` when `transposeB`), row-major.
  ///   - c: `m×n` output, overwritten.
  ///   - m: The rows of the result.
  ///   - k: The inner dimension.
  ///   - n: The columns of the result.
  ///   - transposeA: Read `a` as `k×m` and use its transpose.
  ///   - transposeB: Read `b` as `n×k` and use its transpose.
  public static func _multiplyMatrices(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
    m: Int, k: Int, n: Int, transposeA: Bool, transposeB: Bool
  ) {
    if m * n * k < MatrixKernels.packedThreshold {
      if MatrixKernels.usesSmallKernel(m: m, k: k, n: n) {
        bp_small_gemm_f32(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, a, b, c)
      } else {
        MatrixKernels.multiply(a, b, c, m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB)
      }
    } else {
      MatrixKernels.packed(a, b, c, m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB)
    }
  }
}

extension Double: TensorScalar {
  /// e raised to `x`.
  @inlinable public static func _exp(_ x: Double) -> Double { libmExp(x) }
  /// Natural logarithm of `x`.
  @inlinable public static func _log(_ x: Double) -> Double { libmLog(x) }
  /// log(1 + x).
  @inlinable public static func _log1p(_ x: Double) -> Double { libmLog1p(x) }
  /// Hyperbolic tangent of `x`.
  @inlinable public static func _tanh(_ x: Double) -> Double { libmTanh(x) }
  /// `x` raised to `y`.
  @inlinable public static func _pow(_ x: Double, _ y: Double) -> Double { libmPow(x, y) }
  /// Cosine of `x`.
  @inlinable public static func _cos(_ x: Double) -> Double { libmCos(x) }
  /// Sine of `x`.
  @inlinable public static func _sin(_ x: Double) -> Double { libmSin(x) }
  /// The error function of `x`.
  @inlinable public static func _erf(_ x: Double) -> Double { libmErf(x) }
  /// Row-major matrix product `C = op(A) · op(B)` for `Double`.
  ///
  /// - Parameters:
  ///   - a: `m×k` (or `k×m` when `transposeA`), row-major.
  ///   - b: `k×n` (or `n×k` when `transposeB`), row-major.
  ///   - c: `m×n` output, overwritten.
  ///   - m: The rows of the result.
  ///   - k: The inner dimension.
  ///   - n: The columns of the result.
  ///   - transposeA: Read `a` as `k×m` and use its transpose.
  ///   - transposeB: Read `b` as `n×k` and use its transpose.
  public static func _multiplyMatrices(
    _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>,
    m: Int, k: Int, n: Int, transposeA: Bool, transposeB: Bool
  ) {
    if m * n * k < MatrixKernels.packedThreshold {
      if MatrixKernels.usesSmallKernel(m: m, k: k, n: n) {
        bp_small_gemm_f64(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, a, b, c)
      } else {
        MatrixKernels.multiply(a, b, c, m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB)
      }
    } else {
      MatrixKernels.packed(a, b, c, m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB)
    }
  }
}

// The C library's Double functions under names that the `Double` members above do not shadow.
@usableFromInline func libmExp(_ x: Double) -> Double { exp(x) }
@usableFromInline func libmLog(_ x: Double) -> Double { log(x) }
@usableFromInline func libmLog1p(_ x: Double) -> Double { log1p(x) }
@usableFromInline func libmTanh(_ x: Double) -> Double { tanh(x) }
@usableFromInline func libmPow(_ x: Double, _ y: Double) -> Double { pow(x, y) }
@usableFromInline func libmCos(_ x: Double) -> Double { cos(x) }
@usableFromInline func libmSin(_ x: Double) -> Double { sin(x) }
@usableFromInline func libmErf(_ x: Double) -> Double { erf(x) }
