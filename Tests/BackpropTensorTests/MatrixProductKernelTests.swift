import BackpropKernels
import BackpropTestSupport
import Synchronization
import Testing

@testable import BackpropTensor

/// op(A)·op(B) by the definition, summed in Double, for reference.
func referenceProduct<Scalar: TensorScalar>(
  _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, transposeA: Bool, transposeB: Bool
) -> Tensor<Double> {
  let (m, k) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
  let n = transposeB ? b.shape[0] : b.shape[1]
  let x = a.scalars
  let y = b.scalars
  var c = [Double](repeating: 0, count: m * n)
  for i in 0..<m {
    for j in 0..<n {
      var sum = 0.0
      for p in 0..<k {
        let aip = transposeA ? x[p * m + i] : x[i * k + p]
        let bpj = transposeB ? y[j * k + p] : y[p * n + j]
        sum += Double(aip) * Double(bpj)
      }
      c[i * n + j] = sum
    }
  }
  return try! Tensor(shape: [m, n], scalars: c)
}

/// Operands of the right stored shapes for op(A) m×k and op(B) k×n.
func operands<Scalar: TensorScalar>(
  m: Int, k: Int, n: Int, transposeA: Bool, transposeB: Bool, seed: UInt64
) -> (Tensor<Scalar>, Tensor<Scalar>) {
  var rng = SeededRandomNumberGenerator(seed: seed)
  let a: Tensor<Scalar> = randomTensor(transposeA ? [k, m] : [m, k], in: -1...1, using: &rng)
  let b: Tensor<Scalar> = randomTensor(transposeB ? [n, k] : [k, n], in: -1...1, using: &rng)
  return (a, b)
}

/// The shapes (m, k, n) checked: tile edges (6 rows, 16 or 8 columns; last panels of 1 to 5 rows
/// for the short kernels), the 256-deep blocks of
/// the inner dimension, the 2,048-wide blocks of columns, and empty inner dimensions. The vector
/// packing paths (8 or 4 values of k at a time, for full panels) meet inner dimensions that are
/// and are not multiples of their step, such as 15 = 8 + 7.
let kernelShapes: [(Int, Int, Int)] = [
  (1, 1, 1), (16, 16, 16), (6, 20, 16), (7, 33, 17), (13, 5, 9), (37, 300, 23), (96, 64, 97),
  (100, 520, 41), (2, 3, 2050), (5, 0, 4), (128, 784, 10), (12, 15, 32), (1, 7, 1), (1, 0, 1), (1, 300, 1),
  // Last panels of 2 and 3 rows (the short kernels), with full and partial columns; two rows
  // over pairs of full panels, a full panel left alone and a partial one, in two blocks of k.
  (32, 144, 64), (33, 40, 35), (8, 300, 56),
  // B narrow enough to be read in place, not packed, over two blocks of k.
  (7, 300, 32),
  // Outer products (k = 1), the weight gradients of a batch of one: small and packed.
  (3, 1, 4), (4, 1, 1), (1, 1, 5), (100, 1, 100),
]

@Suite("Matrix-product kernels: packed, register-blocked, AVX2+FMA or portable")
struct MatrixProductKernelTests {
  @Test("Every shape and transpose matches the definition, Float and Double", arguments: [false, true])
  func matchesDefinition(transposeA: Bool) {
    for transposeB in [false, true] {
      for (m, k, n) in kernelShapes {
        let (a, b): (Tensor<Double>, Tensor<Double>) = operands(
          m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB, seed: UInt64(m * 7 + k + n))
        let expected = referenceProduct(a, b, transposeA: transposeA, transposeB: transposeB)
        let product = matmul(a, b, transposeA: transposeA, transposeB: transposeB)
        #expect(
          isClose(product, expected, absoluteTolerance: 1e-12, relativeTolerance: 1e-12),
          "Double \(m)×\(k)×\(n), transposes \(transposeA) \(transposeB)")
        let (af, bf) = (converted(a, to: Float.self), converted(b, to: Float.self))
        let productFloat = converted(
          matmul(af, bf, transposeA: transposeA, transposeB: transposeB), to: Double.self)
        let expectedFloat = referenceProduct(af, bf, transposeA: transposeA, transposeB: transposeB)
        #expect(
          isClose(
            productFloat, expectedFloat, absoluteTolerance: 1e-4 * Double(Swift.max(k, 1)).squareRoot()),
          "Float \(m)×\(k)×\(n), transposes \(transposeA) \(transposeB)")
      }
    }
  }

  @Test("The portable kernels match the definition too (the path CPUs without AVX2 take)")
  func portable() {
    for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
      for (m, k, n) in kernelShapes {
        let (a, b): (Tensor<Double>, Tensor<Double>) = operands(
          m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB, seed: 3)
        var c = [Double](repeating: .nan, count: m * n)
        a.scalars.withUnsafeBufferPointer { x in
          b.scalars.withUnsafeBufferPointer { y in
            c.withUnsafeMutableBufferPointer { z in
              bp_gemm_f64(
                Int32(BP_KERNEL_PORTABLE), transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, x.baseAddress,
                transposeA ? m : k, y.baseAddress, transposeB ? k : n, z.baseAddress, n, 0, m)
            }
          }
        }
        let expected = referenceProduct(a, b, transposeA: transposeA, transposeB: transposeB)
        #expect(
          isClose(try! Tensor(shape: [m, n], scalars: c), expected, absoluteTolerance: 1e-12),
          "\(m)×\(k)×\(n), transposes \(transposeA) \(transposeB)")
      }
    }
  }

  @Test("Rows computed on different threads give the same bits as one thread")
  func threadsAgreeBitForBit() {
    let (a, b): (Tensor<Float>, Tensor<Float>) = operands(
      m: 200, k: 300, n: 70, transposeA: false, transposeB: true, seed: 9)
    var c1 = [Float](repeating: 0, count: 200 * 70)
    var c3 = [Float](repeating: 0, count: 200 * 70)
    a.scalars.withUnsafeBufferPointer { x in
      b.scalars.withUnsafeBufferPointer { y in
        c1.withUnsafeMutableBufferPointer { z in
          bp_gemm_f32(
            Int32(BP_KERNEL_AUTOMATIC), 0, 1, 200, 70, 300, x.baseAddress, 300, y.baseAddress, 300,
            z.baseAddress, 70, 0, 200)
        }
        c3.withUnsafeMutableBufferPointer { z in
          // Three uneven row blocks, as three threads would compute them.
          for (begin, end) in [(0, 66), (66, 138), (138, 200)] {
            bp_gemm_f32(
              Int32(BP_KERNEL_AUTOMATIC), 0, 1, 200, 70, 300, x.baseAddress, 300, y.baseAddress, 300,
              z.baseAddress,
              70, begin, end)
          }
        }
      }
    }
    #expect(c1 == c3)
    #expect(matmul(a, b, transposeB: true).scalars == c1)
  }

  @Test(
    "A row's bits do not depend on the kernel that computes it (12, 8, 6, 4 or 2 rows), nor on whether B is packed"
  )
  func kernelsAgreeBitForBit() {
    func rows<Scalar: TensorScalar>(_: Scalar.Type, n: Int) {
      // 26 rows: two full panels of the tallest tile (12 rows on AVX-512, 6 elsewhere) and a
      // short one. Rows first..<26 alone end in a panel of every height the kernels have. 56,
      // 48, 96 and 136 columns: pairs of full panels, one alone, a partial one, B read in place.
      let (a, b): (Tensor<Scalar>, Tensor<Scalar>) = operands(
        m: 26, k: 300, n: n, transposeA: false, transposeB: false, seed: 4)
      let whole = matmul(a, b).scalars
      for first in [1, 6, 10, 12, 13, 16, 18, 20, 22, 24, 25] {
        let part = matmul(a[first..<26], b).scalars
        #expect(part == Array(whole[(first * n)...]), "\(Scalar.self) rows \(first)..<26 of \(n) columns")
      }
      // B stored transposed is always packed.
      #expect(matmul(a, b.transposed(), transposeB: true).scalars == whole, "\(Scalar.self) \(n) columns")
    }
    for n in [56, 48, 96, 136] {
      rows(Float.self, n: n)
      rows(Double.self, n: n)
    }
  }

  @Test("A thread count scope belongs to its task: nested scopes restore, concurrent tasks keep their own")
  func threadCountScopes() async {
    let outside = ParallelExecution.threadCount
    #expect(outside == ParallelExecution.defaultThreadCount)
    ParallelExecution.withThreadCount(3) {
      #expect(ParallelExecution.threadCount == 3)
      ParallelExecution.withThreadCount(1) { #expect(ParallelExecution.threadCount == 1) }
      #expect(ParallelExecution.threadCount == 3)
    }
    #expect(ParallelExecution.threadCount == outside)
    // Two tasks at once, each in its own scope, each reading its count many times while the other
    // is inside a different scope.
    let seen = await withTaskGroup(of: Set<Int>.self) { group in
      for count in [1, 5] {
        group.addTask {
          ParallelExecution.withThreadCount(count) {
            var seen: Set<Int> = []
            for _ in 0..<10_000 { seen.insert(ParallelExecution.threadCount) }
            return seen
          }
        }
      }
      return await group.reduce(into: []) { $0.append($1) }
    }
    #expect(Set(seen) == [[1], [5]])
  }

  @Test("A large product takes as many threads as the scope allows, and one without a scope")
  func productsUseTheScopedCount() {
    var rng = SeededRandomNumberGenerator(seed: 9)
    let a = Tensor<Float>(randomUniform: [128, 128], using: &rng)
    let b = Tensor<Float>(randomUniform: [128, 128], using: &rng)
    for threads in [1, 2, 3] {
      let (_, used) = ParallelExecution.measuringThreads {
        ParallelExecution.withThreadCount(threads) { matmul(a, b) }
      }
      #expect(used == threads)
    }
    let (_, small) = ParallelExecution.measuringThreads {
      ParallelExecution.withThreadCount(2) {
        matmul(Tensor<Float>(ones: [8, 8]), Tensor<Float>(ones: [8, 8]))
      }
    }
    #expect(small == 1, "a product below the threshold stays on the calling thread")
    #expect(
      ["avx512", "avx2+fma", "neon", "portable", "accelerate"].contains(
        ParallelExecution.matrixKernelInstructionSet))
  }
}

@Suite("Parallel products and the worker pool")
struct ParallelProductTests {
  @Test("Products split by rows or by columns give the same bits on 1, 2 and 3 threads")
  func splitsAgreeBitForBit() {
    // Taller than wide (split by rows), wider than tall (split by columns), both transposes.
    for (m, k, n) in [(200, 64, 40), (40, 64, 200), (128, 300, 256)] {
      for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
        let (a, b): (Tensor<Float>, Tensor<Float>) = operands(
          m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB, seed: UInt64(m + n))
        var products: [Tensor<Float>] = []
        for threads in [1, 2, 3] {
          let (product, used) = ParallelExecution.measuringThreads {
            ParallelExecution.withThreadCount(threads) {
              matmul(a, b, transposeA: transposeA, transposeB: transposeB)
            }
          }
          #expect(used == threads, "\(m)×\(k)×\(n) ran on \(used) thread(s) where \(threads) were asked for")
          products.append(product)
        }
        #expect(products[1] == products[0], "\(m)×\(k)×\(n) on 2 threads, \(transposeA) \(transposeB)")
        #expect(products[2] == products[0], "\(m)×\(k)×\(n) on 3 threads, \(transposeA) \(transposeB)")
        let expected = referenceProduct(a, b, transposeA: transposeA, transposeB: transposeB)
        #expect(isClose(converted(products[2], to: Double.self), expected, absoluteTolerance: 1e-3))
      }
    }
  }

  @Test(
    "Batches split by items, im2col, col2im, max pooling, ReLU and gathers give the same bits on 1, 2 and 3 threads"
  )
  func batchesAndWindowsAgreeBitForBit() {
    var rng = SeededRandomNumberGenerator(seed: 21)
    // Small items (the loop), packed items, a broadcast operand, and a batch of one.
    let batches: [(Tensor<Float>, Tensor<Float>)] = [
      (Tensor(randomUniform: [6, 8, 16], using: &rng), Tensor(randomUniform: [6, 16, 8], using: &rng)),
      (Tensor(randomUniform: [5, 40, 70], using: &rng), Tensor(randomUniform: [70, 30], using: &rng)),
      (Tensor(randomUniform: [1, 40, 70], using: &rng), Tensor(randomUniform: [1, 70, 30], using: &rng)),
    ]
    let images = Tensor<Double>(randomUniform: [32, 8, 32, 32], using: &rng)
    let windows = SlidingWindows(kernelSize: [3, 3], padding: [1, 1])
    let pool = SlidingWindows(kernelSize: [2, 2], stride: [2, 2])
    var results: [[[Double]]] = []
    for threads in [1, 2, 3] {
      let (run, used) = ParallelExecution.measuringThreads {
        ParallelExecution.withThreadCount(threads) {
          var run = batches.map { matmul($0.0, $0.1).scalars.map(Double.init) }
          let columns = images.unfolded(windows)
          run.append(columns.scalars)
          run.append(columns.folded(windows, imageSize: [32, 32]).scalars)
          let offsets = images.windowMaximumOffsets(pool)
          run.append(offsets.map(Double.init))
          // Elementwise loops and gathers of 2^18 scalars and more split too.
          let centred = images - 0.5
          run.append(centred.relu().scalars)
          run.append(images.zeroed(whereNotPositive: centred).scalars)
          run.append(
            images.reshaped(to: [images.scalarCount]).gathering(atIndices: offsets, alongAxis: 0).scalars)
          return run
        }
      }
      #expect(used == threads, "ran on \(used) thread(s) where \(threads) were asked for")
      results.append(run)
    }
    #expect(results[1] == results[0])
    #expect(results[2] == results[0])
  }

  @Test("An operand packed once gives the bits of packing it for every product, on 1, 2 and 3 threads")
  func packedOperandAgreesBitForBit() {
    // More than one block of rows (96) and of the inner dimension (256), and short last panels.
    for (m, k, n) in [(32, 144, 64), (100, 300, 50), (7, 20, 40), (144, 32, 64), (200, 64, 40)] {
      for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
        let label = "\(m)×\(k)×\(n), \(transposeA) \(transposeB)"
        let (a, b): (Tensor<Float>, Tensor<Float>) = operands(
          m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB, seed: UInt64(m * k))
        let expected = matmul(a, b, transposeA: transposeA, transposeB: transposeB).scalars
        for threads in [1, 2, 3] {
          var c = [Float](repeating: 0, count: m * n)
          ParallelExecution.withThreadCount(threads) {
            a.withUnsafeBufferPointer { x in
              b.withUnsafeBufferPointer { y in
                MatrixKernels.withPackedOperand(x.baseAddress!, m: m, k: k, n: n, transposeA: transposeA) {
                  packed in
                  #expect(packed != nil, "\(label)")
                  c.withUnsafeMutableBufferPointer { z in
                    MatrixKernels.product(
                      x.baseAddress!, packed: packed, y.baseAddress!, z.baseAddress!, m: m, k: k, n: n,
                      transposeA: transposeA, transposeB: transposeB, onCallingThread: threads == 3)
                  }
                }
              }
            }
          }
          #expect(c == expected, "\(label) on \(threads) threads")
        }
      }
    }
    // A batch that broadcasts A packs it once: each item as its own product.
    var rng = SeededRandomNumberGenerator(seed: 8)
    let a = Tensor<Double>(randomUniform: [30, 50], using: &rng)
    let batch = Tensor<Double>(randomUniform: [4, 50, 20], using: &rng)
    let items = (0..<4).map {
      matmul(a, batch.slice(lowerBounds: [$0, 0, 0], upperBounds: [$0 + 1, 50, 20]))
    }
    #expect(matmul(a, batch) == concatenate(items, alongAxis: 0))
  }

  @Test("The pool runs every participant exactly once, also from several threads at once")
  func poolRunsEachParticipantOnce() async {
    // The counts are atomics: ThreadSanitizer reports Swift access races on values a Mutex
    // guards when pool jobs update them (it does not see the lock's own synchronisation).
    final class Counter: Sendable {
      let value = Atomic(0)
    }
    for participants in [1, 2, 3, 5] {
      let counts = (0..<participants).map { _ in Counter() }
      WorkerPool.shared.run(participants: participants) { index in
        counts[index].value.wrappingAdd(1, ordering: .relaxed)
      }
      #expect(counts.map { $0.value.load(ordering: .relaxed) } == [Int](repeating: 1, count: participants))
    }
    // Concurrent callers: one gets the pool, the others fall back to concurrentPerform; a job
    // that calls the pool again from inside also falls back instead of waiting for itself.
    await withTaskGroup(of: Int.self) { group in
      for _ in 0..<4 {
        group.addTask {
          let total = Atomic(0)
          for _ in 0..<50 {
            WorkerPool.shared.run(participants: 2) { _ in
              WorkerPool.shared.run(participants: 2) { _ in total.wrappingAdd(1, ordering: .relaxed) }
            }
          }
          return total.load(ordering: .relaxed)
        }
      }
      for await total in group { #expect(total == 200) }
    }
  }
}
