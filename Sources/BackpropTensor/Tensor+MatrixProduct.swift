import BackpropKernels
import Dispatch

/// Matrix products.
extension Tensor {
  /// The extents of a matrix (rank 2), or `nil` for another rank; allocates no shape array.
  @inlinable var matrixExtents: (rows: Int, columns: Int)? {
    switch contents {
    case .single(let rank, _): rank == 2 ? (1, 1) : nil
    case .many(let buffer): Self.extents(ofMatrix: buffer.shape)
    case .reshaped(let shape, _): Self.extents(ofMatrix: shape)
    }
  }

  /// The extents of `shape` if it is a matrix's; reads the shape once.
  @inlinable static func extents(ofMatrix shape: [Int]) -> (rows: Int, columns: Int)? {
    shape.count == 2 ? (shape[0], shape[1]) : nil
  }

  /// Checks the operand shapes of a product of two matrices and returns (m, k, n), or `nil` when
  /// an operand is not a matrix (a batched product).
  ///
  /// Inlinable, with its failure out of line, so that every product's check is a few compares.
  @inlinable
  static func matmulDimensions(
    _ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool, operation: String
  ) -> (m: Int, k: Int, n: Int)? {
    guard let (aRows, aColumns) = a.matrixExtents, let (bRows, bColumns) = b.matrixExtents else { return nil }
    guard (transposeA ? aRows : aColumns) == (transposeB ? bColumns : bRows) else {
      matmulShapesFailed(a, b, transposeA: transposeA, transposeB: transposeB, operation: operation)
    }
    return (transposeA ? aColumns : aRows, transposeA ? aRows : aColumns, transposeB ? bRows : bColumns)
  }

  /// Stops with the message of ``matmulDimensions(_:_:transposeA:transposeB:operation:)``. Out of
  /// line, so that the check itself stays small enough to inline into every product.
  @inline(never)
  @usableFromInline
  static func matmulShapesFailed(
    _ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool, operation: String
  ) -> Never {
    guard let (aRows, aColumns) = a.matrixExtents, let (bRows, bColumns) = b.matrixExtents else {
      checkFailed(
        "\(operation): operands must have rank ≥ 2, got shapes \(a.shape) and \(b.shape)")
    }
    let k = transposeA ? aRows : aColumns
    let k2 = transposeB ? bColumns : bRows
    checkFailed(
      "\(operation): shapes \(a.shape)\(transposeA ? "ᵀ" : "") and \(b.shape)\(transposeB ? "ᵀ" : "") "
        + "do not multiply (\(k) ≠ \(k2))")
  }
}

/// The matrix product: `[m, k] · [k, n] → [m, n]` for matrices, and for operands of higher rank
/// a product of their last two axes with the leading (batch) axes broadcast, as `torch.matmul`
/// does: `[B, m, k] · [k, n] → [B, m, n]`.
///
/// With `transposeA` / `transposeB` the last two axes of the corresponding operand are used
/// transposed, without materialising the transpose.
/// - Precondition: both operands have rank ≥ 2, their inner dimensions agree, and their batch
///   axes broadcast.
@inlinable
public func matmul<Scalar>(
  _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, transposeA: Bool = false, transposeB: Bool = false
) -> Tensor<Scalar> {
  matmul(a, b, transposeA: transposeA, transposeB: transposeB, shapedLike: nil)
}

/// ``matmul(_:_:transposeA:transposeB:)``, sharing the shape array of `like` when it has the
/// result's shape (a gradient has its input's shape), instead of allocating one.
///
/// Inlinable, so that the pullback of a matrix product, in another module, calls its own
/// specialisation: through the generic entry point each call costs about 200 instructions (a
/// type check and its operands passed indirectly), as much as a small product itself.
@inlinable
package func matmul<Scalar>(
  _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, transposeA: Bool, transposeB: Bool,
  shapedLike like: Tensor<Scalar>?
) -> Tensor<Scalar> {
  guard
    let (m, k, n) = Tensor<Scalar>.matmulDimensions(
      a, b, transposeA: transposeA, transposeB: transposeB, operation: "matmul")
  else {
    return Tensor.batchedProduct(a, b, transposeA: transposeA, transposeB: transposeB, shapedLike: like)
  }
  if m == 1 && n == 1 {
    // One scalar (a network's output for one sample): a dot product of two contiguous vectors,
    // with neither a scalar array nor a shape array to allocate for the result.
    var sum: Scalar = 0
    a.withUnsafeBufferPointer { x in
      b.withUnsafeBufferPointer { y in
        for i in 0..<k { sum += x[i] * y[i] }
      }
    }
    return Tensor(rank: 2, single: sum)
  }
  let result = Tensor<Scalar>.makeBuffer(count: m * n) { c in
    a.withUnsafeBufferPointer { x in
      b.withUnsafeBufferPointer { y in
        if let cBase = c.baseAddress, let xBase = x.baseAddress, let yBase = y.baseAddress {
          Scalar._multiplyMatrices(
            xBase, yBase, cBase, m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB)
        } else {
          c.initialize(repeating: 0)
        }
      }
    }
  }
  if let like, let (rows, columns) = like.matrixExtents, rows == m && columns == n {
    return Tensor(uncheckedShape: like.shape, buffer: result)
  }
  return Tensor(uncheckedShape: [m, n], buffer: result)
}

extension Tensor {
  /// The product of two operands of rank ≥ 2 that are not both matrices: the last two axes
  /// multiply as matrices, and the leading (batch) axes broadcast, as in `torch.matmul`. Every
  /// batch item goes through `TensorScalar._multiplyMatrices`
  /// (the packed kernels for products that are large enough).
  ///
  /// With `like`, a result whose batch axes `like` broadcast is summed back to `like`'s shape (the
  /// gradient of a broadcast operand).
  @usableFromInline
  static func batchedProduct(
    _ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool, shapedLike like: Tensor? = nil
  ) -> Tensor {
    let (shapeA, shapeB) = (a.shape, b.shape)
    guard shapeA.count >= 2 && shapeB.count >= 2 else {
      matmulShapesFailed(a, b, transposeA: transposeA, transposeB: transposeB, operation: "matmul")
    }
    let (rowsA, columnsA) = (shapeA[shapeA.count - 2], shapeA[shapeA.count - 1])
    let (rowsB, columnsB) = (shapeB[shapeB.count - 2], shapeB[shapeB.count - 1])
    let (m, k) = transposeA ? (columnsA, rowsA) : (rowsA, columnsA)
    let (k2, n) = transposeB ? (columnsB, rowsB) : (rowsB, columnsB)
    let (batchA, batchB) = (Array(shapeA.dropLast(2)), Array(shapeB.dropLast(2)))
    guard let batch = broadcastShape(batchA, batchB), k == k2 else {
      checkFailed(
        "matmul: shapes \(shapeA)\(transposeA ? "ᵀ" : "") and \(shapeB)\(transposeB ? "ᵀ" : "") do not "
          + (k == k2 ? "broadcast in their batch axes \(batchA) and \(batchB)" : "multiply (\(k) ≠ \(k2))"))
    }
    // Strides in whole matrices, 0 along broadcast batch axes.
    let stridesA = broadcastStrides(of: batchA, toRank: batch.count)
    let stridesB = broadcastStrides(of: batchB, toRank: batch.count)
    let count = batch.reduce(1, *)
    let (sizeA, sizeB, sizeC) = (m * k, k * n, m * n)
    let result = a.withUnsafeBufferPointer { x in
      b.withUnsafeBufferPointer { y in
        makeBuffer(count: count * sizeC) { c in
          guard let xBase = x.baseAddress, let yBase = y.baseAddress, let cBase = c.baseAddress, k > 0 else {
            c.initialize(repeating: 0)
            return
          }
          // The offsets of an item's operands, in whole matrices.
          func offsets(of item: Int) -> (a: Int, b: Int) {
            var (rest, offsetA, offsetB) = (item, 0, 0)
            for d in batch.indices.reversed() {
              let index = rest % batch[d]
              rest /= batch[d]
              offsetA += index * stridesA[d]
              offsetB += index * stridesB[d]
            }
            return (offsetA, offsetB)
          }
          // A batch of at least as many items as threads splits by items, each product on one
          // thread: no operand is packed twice, and products too small to split still run in
          // parallel. Every element is summed in the same order either way.
          let threads = ParallelExecution.threadCount
          let splitByItems =
            threads > 1 && count >= threads && count * sizeC * k >= MatrixKernels.parallelThreshold
          // An A that every item shares (a filter, a broadcast weight) is packed once.
          let sharesA = count > 1 && stridesA.allSatisfy { $0 == 0 }
          let run = { (packed: UnsafePointer<Scalar>?) in
            ParallelExecution.forEachShare(of: count, isLarge: splitByItems) { items in
              for item in items {
                let (offsetA, offsetB) = offsets(of: item)
                MatrixKernels.product(
                  xBase + offsetA * sizeA, packed: packed, yBase + offsetB * sizeB, cBase + item * sizeC,
                  m: m, k: k,
                  n: n, transposeA: transposeA, transposeB: transposeB, onCallingThread: splitByItems)
              }
            }
          }
          guard sharesA else { return run(nil) }
          MatrixKernels.withPackedOperand(xBase, m: m, k: k, n: n, transposeA: transposeA, run)
        }
      }
    }
    let product = Tensor(uncheckedShape: batch + [m, n], buffer: result)
    guard let like, !product.hasSameShape(as: like) else { return product }
    return product.unbroadcasted(to: like.shape)
  }
}

/// Matrix-multiplication inner loops, specialised for each concrete scalar type by the callers
/// in ``TensorScalar`` conformances.
enum MatrixKernels {
  /// Products with fewer multiply-adds than this run the simple loop below: packing the operands
  /// would cost more than it saves.
  static let packedThreshold = 16 * 16 * 16
  /// Products below ``packedThreshold`` with at least this many multiply-adds, and k > 1, run the
  /// small-product C kernel (`bp_small_gemm_*`: fused multiply-adds in vectors, no packing);
  /// smaller ones (the articles' networks) keep the Swift loop below, inlined into its caller.
  static let smallKernelThreshold = 8 * 8 * 8

  /// Whether an m×k by k×n product below ``packedThreshold`` goes to the small-product kernel.
  @inline(__always)
  static func usesSmallKernel(m: Int, k: Int, n: Int) -> Bool { k > 1 && m * n * k >= smallKernelThreshold }

  /// Products with fewer multiply-adds than this run on one thread. Handing half of a product to
  /// a worker of ``WorkerPool`` costs a few microseconds, so even 128×128×10 gains from it.
  static let parallelThreshold = 32 * 32 * 32

  /// One thread's share of a product: the rows `rows` and the columns `columns` of C.
  struct Block: Sendable {
    var rows: Range<Int>
    var columns: Range<Int>
  }

  /// Runs `body` over blocks of an m×n product that together cover C once, split across up to
  /// ``ParallelExecution/threadCount`` threads when the product is large enough.
  ///
  /// Every block packs its own copy of the operand it shares with the other blocks: a split by
  /// rows packs all of B (k×n) in every thread, a split by columns all of A (m×k). The split
  /// duplicates the smaller of the two, so it goes by columns when n > m — a batch of 128 rows
  /// times a 784×256 weight packs half the weight per thread instead of all of it.
  static func forEachBlock(m: Int, n: Int, multiplyAdds: Int, _ body: @Sendable (Block) -> Void) {
    let whole = Block(rows: 0..<m, columns: 0..<n)
    guard multiplyAdds >= parallelThreshold && ParallelExecution.threadCount > 1 else { return body(whole) }
    // Blocks of whole tiles of the micro-kernel: a prepacked A is read in panels of its height.
    let byColumns = n > m
    let tile = byColumns ? bp_gemm_tile_columns() : bp_gemm_tile_rows()
    let extent = byColumns ? n : m
    let tiles = (extent + tile - 1) / tile
    let threads = Swift.min(ParallelExecution.threadCount, tiles)
    guard threads > 1 else { return body(whole) }
    WorkerPool.shared.run(participants: threads) { index in
      let begin = Swift.min(extent, tiles * index / threads * tile)
      let end = Swift.min(extent, tiles * (index + 1) / threads * tile)
      var block = whole
      if byColumns { block.columns = begin..<end } else { block.rows = begin..<end }
      body(block)
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
    forEachBlock(m: m, n: n, multiplyAdds: m * n * k) { block in
      // Columns j0 ..< j1 of C are the product of op(A) with columns j0 ..< j1 of op(B).
      let j0 = block.columns.lowerBound
      bp_gemm_f32(
        Int32(BP_KERNEL_AUTOMATIC), transposeA ? 1 : 0, transposeB ? 1 : 0, m, block.columns.count, k,
        operands.a, transposeA ? m : k, operands.b + (transposeB ? j0 * k : j0), transposeB ? k : n,
        operands.c + j0, n, block.rows.lowerBound, block.rows.upperBound)
    }
  }

  /// C = op(A)·op(B) with the packed C kernels, in `Double`.
  static func packed(
    _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>,
    m: Int, k: Int, n: Int, transposeA: Bool, transposeB: Bool
  ) {
    let operands = Operands(a: a, b: b, c: c)
    forEachBlock(m: m, n: n, multiplyAdds: m * n * k) { block in
      // Columns j0 ..< j1 of C are the product of op(A) with columns j0 ..< j1 of op(B).
      let j0 = block.columns.lowerBound
      bp_gemm_f64(
        Int32(BP_KERNEL_AUTOMATIC), transposeA ? 1 : 0, transposeB ? 1 : 0, m, block.columns.count, k,
        operands.a, transposeA ? m : k, operands.b + (transposeB ? j0 * k : j0), transposeB ? k : n,
        operands.c + j0, n, block.rows.lowerBound, block.rows.upperBound)
    }
  }

  /// C = op(A)·op(B) on the calling thread alone, for a share of a batch whose items are split
  /// across threads: the packed kernels when the product is large enough, else the loop below.
  /// `T` is resolved to `Float` or `Double` here, so that the loop runs specialised even when
  /// the caller is generic.
  static func multiplyOnCallingThread<T: TensorScalar>(
    _ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ c: UnsafeMutablePointer<T>,
    m: Int, k: Int, n: Int, transposeA: Bool, transposeB: Bool
  ) {
    if T.self == Float.self {
      multiplyOnCallingThread(
        UnsafeRawPointer(a).assumingMemoryBound(to: Float.self),
        UnsafeRawPointer(b).assumingMemoryBound(to: Float.self),
        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), m: m, k: k, n: n,
        transposeA: transposeA,
        transposeB: transposeB, gemm: bp_gemm_f32, small: bp_small_gemm_f32)
    } else if T.self == Double.self {
      multiplyOnCallingThread(
        UnsafeRawPointer(a).assumingMemoryBound(to: Double.self),
        UnsafeRawPointer(b).assumingMemoryBound(to: Double.self),
        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), m: m, k: k, n: n,
        transposeA: transposeA,
        transposeB: transposeB, gemm: bp_gemm_f64, small: bp_small_gemm_f64)
    } else {
      T._multiplyMatrices(a, b, c, m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB)
    }
  }

  /// Calls `body` with op(A) packed into the micro-kernel's panels once (`bp_gemm_pack_a_*`),
  /// for several m×k by k×n products with the same A: a filter applied to every image, or an
  /// operand that a batch broadcasts. `nil` when such products do not use the packed kernels
  /// (too small, or a scalar type other than `Float` and `Double`).
  static func withPackedOperand<T: TensorScalar, R>(
    _ a: UnsafePointer<T>, m: Int, k: Int, n: Int, transposeA: Bool, _ body: (UnsafePointer<T>?) -> R
  ) -> R {
    guard m * n * k >= packedThreshold && (T.self == Float.self || T.self == Double.self) else {
      return body(nil)
    }
    return withUnsafeTemporaryAllocation(of: T.self, capacity: bp_gemm_packed_a_count(m, k)) { buffer in
      let packed = UnsafeMutableRawPointer(buffer.baseAddress!)
      let (kernel, lda) = (Int32(BP_KERNEL_AUTOMATIC), transposeA ? m : k)
      if T.self == Float.self {
        bp_gemm_pack_a_f32(
          kernel, transposeA ? 1 : 0, m, k, UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), lda,
          packed.assumingMemoryBound(to: Float.self))
      } else {
        bp_gemm_pack_a_f64(
          kernel, transposeA ? 1 : 0, m, k, UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), lda,
          packed.assumingMemoryBound(to: Double.self))
      }
      return body(UnsafePointer(buffer.baseAddress!))
    }
  }

  /// C = op(A)·op(B), reading op(A) from `packed` (``withPackedOperand(_:m:k:n:transposeA:_:)``)
  /// when given, which gives the same bits: on the calling thread alone (one share of a batch
  /// split by items), or split into blocks across threads.
  static func product<T: TensorScalar>(
    _ a: UnsafePointer<T>, packed: UnsafePointer<T>?, _ b: UnsafePointer<T>, _ c: UnsafeMutablePointer<T>,
    m: Int, k: Int, n: Int, transposeA: Bool, transposeB: Bool, onCallingThread: Bool
  ) {
    guard let packed else {
      if onCallingThread {
        multiplyOnCallingThread(a, b, c, m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB)
      } else {
        T._multiplyMatrices(a, b, c, m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB)
      }
      return
    }
    prepackedProduct(
      packed, b, c, m: m, k: k, n: n, transposeB: transposeB, adding: false, onCallingThread: onCallingThread)
  }

  /// C = op(A)·op(B), or C += op(A)·op(B) when `adding`, with op(A) read from `packed`
  /// (`bp_gemm_pack_a_*` or `bp_gemm_pack_windows_*`): on the calling thread alone, or split into
  /// blocks across threads. Either gives the bits of the product from A itself.
  static func prepackedProduct<T: TensorScalar>(
    _ packed: UnsafePointer<T>, _ b: UnsafePointer<T>, _ c: UnsafeMutablePointer<T>,
    m: Int, k: Int, n: Int, transposeB: Bool, adding: Bool, onCallingThread: Bool
  ) {
    let operands = Operands(a: packed, b: b, c: c)
    let whole = Block(rows: 0..<m, columns: 0..<n)
    let multiply = { @Sendable (block: Block) in
      // Columns j0 ..< j1 of C are the product of op(A) with columns j0 ..< j1 of op(B).
      let j0 = block.columns.lowerBound
      let (packed, b, c) = (
        UnsafeRawPointer(operands.a), UnsafeRawPointer(operands.b + (transposeB ? j0 * k : j0)),
        UnsafeMutableRawPointer(operands.c + j0)
      )
      let (kernel, ldb, tb) = (Int32(BP_KERNEL_AUTOMATIC), transposeB ? k : n, Int32(transposeB ? 1 : 0))
      if T.self == Float.self {
        (adding ? bp_gemm_prepacked_add_f32 : bp_gemm_prepacked_f32)(
          kernel, packed.assumingMemoryBound(to: Float.self), tb, m, block.columns.count, k,
          b.assumingMemoryBound(to: Float.self), ldb, c.assumingMemoryBound(to: Float.self), n,
          block.rows.lowerBound, block.rows.upperBound)
      } else {
        (adding ? bp_gemm_prepacked_add_f64 : bp_gemm_prepacked_f64)(
          kernel, packed.assumingMemoryBound(to: Double.self), tb, m, block.columns.count, k,
          b.assumingMemoryBound(to: Double.self), ldb, c.assumingMemoryBound(to: Double.self), n,
          block.rows.lowerBound, block.rows.upperBound)
      }
    }
    if onCallingThread {
      multiply(whole)
    } else {
      forEachBlock(m: m, n: n, multiplyAdds: m * n * k, multiply)
    }
  }

  /// Whether ``addProduct(_:_:_:m:k:n:transposeA:transposeB:)`` applies to m×k by k×n products
  /// of `T`: `Float` or `Double`, large enough for the packed kernels (the size at which the
  /// other products use them too), and k within one block of the inner dimension, so that each
  /// element of C gets its product added at once.
  static func addsProducts<T: TensorScalar>(of _: T.Type, m: Int, k: Int, n: Int) -> Bool {
    (T.self == Float.self || T.self == Double.self) && m * n * k >= packedThreshold
      && k <= bp_gemm_depth_block()
  }

  /// C += op(A)·op(B) with the packed kernels (`bp_gemm_add_*`), split into blocks across threads
  /// when large. Adding the products of a batch in turn to zeros gives the bits of computing
  /// them apart and summing them in the same order.
  /// - Precondition: ``addsProducts(of:m:k:n:)``.
  static func addProduct<T: TensorScalar>(
    _ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ c: UnsafeMutablePointer<T>,
    m: Int, k: Int, n: Int, transposeA: Bool, transposeB: Bool
  ) {
    check(addsProducts(of: T.self, m: m, k: k, n: n), "addProduct: \(T.self) \(m)×\(k)×\(n)")
    let operands = Operands(a: a, b: b, c: c)
    forEachBlock(m: m, n: n, multiplyAdds: m * n * k) { block in
      // Columns j0 ..< j1 of C are the product of op(A) with columns j0 ..< j1 of op(B).
      let j0 = block.columns.lowerBound
      let (a, b, c) = (
        UnsafeRawPointer(operands.a), UnsafeRawPointer(operands.b + (transposeB ? j0 * k : j0)),
        UnsafeMutableRawPointer(operands.c + j0)
      )
      let (kernel, lda, ldb) = (Int32(BP_KERNEL_AUTOMATIC), transposeA ? m : k, transposeB ? k : n)
      let (ta, tb, columns, rows) = (
        Int32(transposeA ? 1 : 0), Int32(transposeB ? 1 : 0), block.columns.count, block.rows
      )
      if T.self == Float.self {
        bp_gemm_add_f32(
          kernel, ta, tb, m, columns, k, a.assumingMemoryBound(to: Float.self), lda,
          b.assumingMemoryBound(to: Float.self), ldb, c.assumingMemoryBound(to: Float.self), n,
          rows.lowerBound,
          rows.upperBound)
      } else {
        bp_gemm_add_f64(
          kernel, ta, tb, m, columns, k, a.assumingMemoryBound(to: Double.self), lda,
          b.assumingMemoryBound(to: Double.self), ldb, c.assumingMemoryBound(to: Double.self), n,
          rows.lowerBound, rows.upperBound)
      }
    }
  }

  @inline(__always)
  static func multiplyOnCallingThread<T: BinaryFloatingPoint>(
    _ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ c: UnsafeMutablePointer<T>,
    m: Int, k: Int, n: Int, transposeA: Bool, transposeB: Bool,
    gemm: (
      Int32, Int32, Int32, Int, Int, Int, UnsafePointer<T>?, Int, UnsafePointer<T>?, Int,
      UnsafeMutablePointer<T>?,
      Int, Int, Int
    ) -> Void,
    small: (Int32, Int32, Int, Int, Int, UnsafePointer<T>?, UnsafePointer<T>?, UnsafeMutablePointer<T>?) ->
      Void
  ) {
    if m * n * k < packedThreshold {
      if usesSmallKernel(m: m, k: k, n: n) {
        small(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, a, b, c)
      } else {
        multiply(a, b, c, m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB)
      }
    } else {
      gemm(
        Int32(BP_KERNEL_AUTOMATIC), transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, a, transposeA ? m : k, b,
        transposeB ? k : n, c, n, 0, m)
    }
  }

  @inline(__always)
  static func multiply<T: BinaryFloatingPoint>(
    _ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ c: UnsafeMutablePointer<T>,
    m: Int, k: Int, n: Int, transposeA: Bool, transposeB: Bool
  ) {
    if k == 1 {
      // An outer product (the weight gradient of a batch of one sample): op(A) is a column and
      // op(B) a row, each stored contiguously whether transposed or not.
      for i in 0..<m {
        let ai = a[i]
        let row = c + i * n
        for j in 0..<n { row[j] = ai * b[j] }
      }
      return
    }
    if transposeB {
      // Row j of the stored B is column j of op(B). Transposed into a buffer on the stack (k·n
      // is below the packing threshold), B's rows feed the vectorised loop below: a dot product
      // per element of C instead waited on its own sum at every step. Both add the products in
      // the order of p, so the results are the same.
      withUnsafeTemporaryAllocation(of: T.self, capacity: k * n) { transposed in
        let bt = transposed.baseAddress!
        for j in 0..<n {
          for p in 0..<k { bt[p * n + j] = b[j * k + p] }
        }
        multiply(a, UnsafePointer(bt), c, m: m, k: k, n: n, transposeA: transposeA, transposeB: false)
      }
      return
    }
    c.initialize(repeating: 0, count: m * n)
    for i in 0..<m {
      let row = c + i * n
      for p in 0..<k {
        let aip = transposeA ? a[p * m + i] : a[i * k + p]
        let bRow = b + p * n
        for j in 0..<n { row[j] += aip * bRow[j] }
      }
    }
  }
}
