import BackpropKernels
import Dispatch

/// Matrix products.
extension Tensor {
  /// Checks the operand shapes of a matrix product and returns (m, k, n).
  static func matmulDimensions(
    _ a: [Int], _ b: [Int], transposeA: Bool, transposeB: Bool, operation: String
  ) -> (m: Int, k: Int, n: Int) {
    precondition(
      a.count == 2 && b.count == 2,
      "\(operation): operands must be matrices (rank 2), got shapes \(a) and \(b)")
    let (m, k) = transposeA ? (a[1], a[0]) : (a[0], a[1])
    let (k2, n) = transposeB ? (b[1], b[0]) : (b[0], b[1])
    precondition(
      k == k2,
      "\(operation): shapes \(a)\(transposeA ? "ᵀ" : "") and \(b)\(transposeB ? "ᵀ" : "") do not multiply (\(k) ≠ \(k2))"
    )
    return (m, k, n)
  }
}

/// The matrix product of two rank-2 tensors: `[m, k] · [k, n] → [m, n]`.
///
/// With `transposeA` / `transposeB` the corresponding operand is used transposed without
/// materialising the transpose.
/// - Precondition: both operands are matrices and their inner dimensions agree.
public func matmul<Scalar>(
  _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, transposeA: Bool = false, transposeB: Bool = false
) -> Tensor<Scalar> {
  let (m, k, n) = Tensor<Scalar>.matmulDimensions(
    a.shape, b.shape, transposeA: transposeA, transposeB: transposeB, operation: "matmul")
  let result = [Scalar](unsafeUninitializedCapacity: m * n) { c, initialized in
    a.scalars.withUnsafeBufferPointer { x in
      b.scalars.withUnsafeBufferPointer { y in
        if let cBase = c.baseAddress, let xBase = x.baseAddress, let yBase = y.baseAddress {
          Scalar.multiplyMatrices(
            xBase, yBase, cBase, m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB)
        } else {
          c.initialize(repeating: 0)
        }
      }
    }
    initialized = m * n
  }
  return Tensor(uncheckedShape: [m, n], scalars: result)
}

/// Matrix-multiplication inner loops, specialised for each concrete scalar type by the callers
/// in ``TensorScalar`` conformances.
enum MatrixKernels {
  /// Products with fewer multiply-adds than this run the simple loop below: packing the operands
  /// would cost more than it saves.
  static let packedThreshold = 16 * 16 * 16
  /// Products with fewer multiply-adds than this run on one thread.
  static let parallelThreshold = 64 * 64 * 64

  /// Runs `rows(begin, end)` over the rows of an `m`-row product, split across up to
  /// ``ParallelExecution/threadCount`` threads when the product is large enough.
  static func forEachRowBlock(m: Int, multiplyAdds: Int, _ rows: @Sendable (Int, Int) -> Void) {
    // Blocks of whole 6-row tiles (the micro-kernel's height), as even as possible.
    let tiles = (m + 5) / 6
    let threads = Swift.min(ParallelExecution.threadCount, tiles)
    guard threads > 1 && multiplyAdds >= parallelThreshold else { return rows(0, m) }
    DispatchQueue.concurrentPerform(iterations: threads) { block in
      let begin = Swift.min(m, tiles * block / threads * 6)
      let end = Swift.min(m, tiles * (block + 1) / threads * 6)
      rows(begin, end)
    }
  }

  /// The operands of one product, shared by the threads that compute it: each thread reads A and
  /// B and writes its own disjoint rows of C, so sharing the pointers is safe.
  struct Operands<T>: @unchecked Sendable {
    let a: UnsafePointer<T>
    let b: UnsafePointer<T>
    let c: UnsafeMutablePointer<T>
  }

  /// C = op(A)·op(B) with the packed C kernels, in `Float`.
  static func packed(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
    m: Int, k: Int, n: Int, transposeA: Bool, transposeB: Bool
  ) {
    let operands = Operands(a: a, b: b, c: c)
    forEachRowBlock(m: m, multiplyAdds: m * n * k) { begin, end in
      bp_gemm_f32(
        Int32(BP_KERNEL_AUTOMATIC), transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, operands.a,
        transposeA ? m : k, operands.b,
        transposeB ? k : n, operands.c, n, begin, end)
    }
  }

  /// C = op(A)·op(B) with the packed C kernels, in `Double`.
  static func packed(
    _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>,
    m: Int, k: Int, n: Int, transposeA: Bool, transposeB: Bool
  ) {
    let operands = Operands(a: a, b: b, c: c)
    forEachRowBlock(m: m, multiplyAdds: m * n * k) { begin, end in
      bp_gemm_f64(
        Int32(BP_KERNEL_AUTOMATIC), transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, operands.a,
        transposeA ? m : k, operands.b,
        transposeB ? k : n, operands.c, n, begin, end)
    }
  }

  @inline(__always)
  static func multiply<T: BinaryFloatingPoint>(
    _ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ c: UnsafeMutablePointer<T>,
    m: Int, k: Int, n: Int, transposeA: Bool, transposeB: Bool
  ) {
    c.initialize(repeating: 0, count: m * n)
    // B as a row-major k×n matrix; a transposed B is copied once so the inner loop is contiguous.
    var bRows = b
    var scratch: UnsafeMutablePointer<T>? = nil
    if transposeB {
      let copy = UnsafeMutablePointer<T>.allocate(capacity: k * n)
      for j in 0..<n {
        for p in 0..<k { copy[p * n + j] = b[j * k + p] }
      }
      scratch = copy
      bRows = UnsafePointer(copy)
    }
    defer { scratch?.deallocate() }
    for i in 0..<m {
      let row = c + i * n
      for p in 0..<k {
        let aip = transposeA ? a[p * m + i] : a[i * k + p]
        let bRow = bRows + p * n
        for j in 0..<n { row[j] += aip * bRow[j] }
      }
    }
  }
}
