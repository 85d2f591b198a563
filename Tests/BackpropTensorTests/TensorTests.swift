import BackpropTensor
import BackpropTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Tensor")
struct TensorTests {
  @Test("Construction from shape and scalars, scalars, literals, zeros and ones")
  func construction() throws {
    let t = try Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    #expect(t.shape == [2, 3] && t.scalars == [1, 2, 3, 4, 5, 6] && t.rank == 2)
    #expect(t[scalarAt: [1, 2]] == 6)
    let s = Tensor<Double>(2.5)
    #expect(s.shape == [] && s.scalar == 2.5)
    let m: Tensor<Double> = [[1, 2], [3, 4]]
    #expect(m.shape == [2, 2] && m.scalars == [1, 2, 3, 4])
    let z = Tensor<Float>(zeros: [3, 4])
    let o = Tensor<Float>(ones: [3])
    #expect(z.scalars == Array(repeating: 0, count: 12) && o.scalars == [1, 1, 1])
    let nested: Tensor<Float> = [[[1], [2]], [[3], [4]]]
    #expect(nested.shape == [2, 2, 1])
    #expect(m.description == "[[1.0, 2.0], [3.0, 4.0]]")
  }

  @Test("Data from outside is rejected with typed errors")
  func typedErrors() {
    #expect(throws: TensorError.scalarCountMismatch(shape: [2, 3], expected: 6, actual: 5)) {
      try Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5])
    }
    #expect(throws: TensorError.negativeDimension(shape: [-1, 2])) {
      try Tensor<Double>(shape: [-1, 2], scalars: [])
    }
    #expect(throws: TensorError.shapeTooLarge(shape: [Int.max, 2])) {
      try Tensor<Double>(shape: [Int.max, 2], scalars: [])
    }
    #expect(throws: TensorError.raggedRows(expected: 2, actual: 1)) {
      try Tensor<Double>(rows: [[1, 2], [3]])
    }
    #expect("\(TensorError.scalarCountMismatch(shape: [2], expected: 2, actual: 3))".contains("[2]"))
  }

  @Test("Copy-on-write: mutating a copy never changes a hidden copy")
  func copyOnWrite() {
    let original: Tensor<Double> = [1, 2, 3]
    var copy = original
    let hidden = copy  // e.g. captured by a recorded operation
    copy[scalarAt: [0]] = 100
    copy.scalars[2] = -1
    #expect(original.scalars == [1, 2, 3])
    #expect(hidden.scalars == [1, 2, 3])
    #expect(copy.scalars == [100, 2, -1])
    var inPlace = original
    inPlace += Tensor([1, 1, 1])
    #expect(original.scalars == [1, 2, 3] && inPlace.scalars == [2, 3, 4])
    var flat = original
    flat[scalarAt: 1] = 20
    #expect(flat[scalarAt: 1] == 20 && flat.scalars == [1, 20, 3] && original.scalars == [1, 2, 3])
    #expect(hidden == original && flat != original)
  }

  @Test("A reshape shares the scalars until either tensor changes, and each keeps its own shape")
  func reshapeSharesScalars() {
    var matrix: Tensor<Double> = [[1, 2, 3], [4, 5, 6]]
    var row = matrix.reshaped(to: [6])
    let column = row.reshaped(to: [6, 1])
    #expect(matrix.shape == [2, 3] && row.shape == [6] && column.shape == [6, 1])
    #expect(row.hasSameShape(as: Tensor(zeros: [6])) && !row.hasSameShape(as: matrix))
    row[scalarAt: 0] = 10  // copies: `matrix` and `column` share the buffer
    #expect(row.shape == [6] && row.scalars == [10, 2, 3, 4, 5, 6])
    #expect(matrix.scalars == [1, 2, 3, 4, 5, 6] && column.scalars == [1, 2, 3, 4, 5, 6])
    matrix[scalarAt: [1, 2]] = 60  // still shared with `column`
    #expect(matrix == [[1, 2, 3], [4, 5, 60]] && column == [[1], [2], [3], [4], [5], [6]])
    var alone = Tensor<Double>([1, 2, 3, 4]).reshaped(to: [2, 2])
    alone[scalarAt: [1, 1]] = 40  // the only owner of its buffer: changed in place, shape kept
    #expect(alone == [[1, 2], [3, 40]] && alone.reshaped(to: [4]) == [1, 2, 3, 40])
  }

  @Test("One-scalar tensors (kept inline) behave like any other: copies, scalars, buffers, Float bits")
  func inlineScalar() {
    var one = Tensor<Double>(repeating: 3, shape: [1, 1])
    let hidden = one
    one.scalars[0] = 4
    one[scalarAt: [0, 0]] += 1
    #expect(one.scalars == [5] && one.scalar == 5 && one.scalarCount == 1)
    #expect(hidden.scalars == [3] && hidden.shape == [1, 1])
    one.scalars = [7]
    one.withUnsafeMutableBufferPointer { $0[0] *= 2 }
    #expect(one.withUnsafeBufferPointer { Array($0) } == [14])
    #expect(one == [[14]] && one != Tensor<Double>(14.0) && one.reshaped(to: []) == Tensor<Double>(14.0))
    // Every Float, including signed zero, subnormals, infinities and NaN, survives the inline slot.
    let floats: [Float] = [
      -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -.infinity, .leastNormalMagnitude / 3, 0.1,
    ]
    for value in floats {
      #expect(Tensor(value).scalar.bitPattern == value.bitPattern)
      #expect(Tensor([value]).scalars[0].bitPattern == value.bitPattern)
    }
    #expect(Tensor(Float.nan).scalar.isNaN)
    // A tensor of another count is stored in an array; an empty one too.
    let empty = Tensor<Double>(zeros: [0, 3])
    #expect(empty.scalarCount == 0 && empty.scalars.isEmpty && (empty + 1).scalars.isEmpty)
    #expect(Tensor<Double>([1, 2] as [Double]).sum() == Tensor<Double>(3.0))
  }

  @Test("A one-scalar tensor keeps only its rank, and still reports, compares and broadcasts its shape")
  func oneScalarShapes() {
    for rank in 0...7 {
      let ones = [Int](repeating: 1, count: rank)
      let one = Tensor<Double>(repeating: 2, shape: ones)
      #expect(one.shape == ones && one.rank == rank && one.scalarCount == 1)
      #expect(one.reshaped(to: []).shape == [] && Tensor<Double>(2.0).reshaped(to: ones) == one)
      #expect(one.unbroadcasted(to: ones) == one && (one + one).shape == ones)
      var sum = one
      sum += one
      #expect(sum.shape == ones && sum.scalar == 4 && one.scalar == 2)
      #expect(one.broadcasted(to: ones + [3]).shape == ones + [3])
    }
    // Equal scalars of different ranks are different tensors; so are a matrix and its one scalar.
    #expect(Tensor<Double>(repeating: 1, shape: [1]) != Tensor<Double>(repeating: 1, shape: [1, 1]))
    #expect(Tensor<Double>(zeros: [1, 2]) != Tensor<Double>(zeros: [2, 1]))
    #expect(matmul(Tensor<Double>([[2]]), [[3, 4]]) == [[6, 8]])
  }

  @Test("In-place updates: +=, -=, *= and addProduct write the same buffer and respect hidden copies")
  func inPlaceUpdates() {
    var weights: Tensor<Double> = [[1, 2], [3, 4]]
    let hidden = weights
    weights.addProduct(-0.5, [[2, 2], [2, 2]])
    #expect(weights == [[0, 1], [2, 3]])
    #expect(hidden == [[1, 2], [3, 4]])
    weights -= [[1, 1], [1, 1]]
    weights *= [[2, 2], [2, 2]]
    weights += [[1, 0], [0, 1]]
    #expect(weights == [[-1, 0], [2, 5]])
    var grown: Tensor<Double> = [1, 2]
    grown += [[10, 10], [20, 20]]  // broadcasting still gives the broadcast shape
    #expect(grown == [[11, 12], [21, 22]])
    var float: Tensor<Float> = [1, 2, 3]
    float.addProduct(2, [1, 1, 1])
    #expect(float == [3, 4, 5])
  }

  @Test("Broadcasting with a row, a column and a scalar agrees with the definition")
  func broadcastingPatterns() {
    var rng = SeededRandomNumberGenerator(seed: 5)
    let matrix = Tensor<Double>(randomUniform: [3, 4, 5], using: &rng)
    let row = Tensor<Double>(randomUniform: [5], using: &rng)
    let column = Tensor<Double>(randomUniform: [4, 1], using: &rng)
    let middle = Tensor<Double>(randomUniform: [3, 1, 5], using: &rng)
    for other in [row, column, middle] {
      let stretched = other.broadcasted(to: [3, 4, 5])
      // Each element is the source's at the index with the broadcast axes at 0.
      let lead = 3 - other.shape.count
      for i in 0..<3 {
        for j in 0..<4 {
          for k in 0..<5 {
            let index = Array([i, j, k][lead...]).enumerated().map { other.shape[$0] == 1 ? 0 : $1 }
            #expect(
              stretched[scalarAt: [i, j, k]] == other[scalarAt: index], "\(other.shape) at \([i, j, k])")
          }
        }
      }
      #expect((matrix - other).scalars == Swift.zip(matrix.scalars, stretched.scalars).map { $0 - $1 })
      #expect((other - matrix).scalars == Swift.zip(stretched.scalars, matrix.scalars).map { $0 - $1 })
    }
    let sums = matrix.sum(alongAxes: [0])
    for j in 0..<4 {
      for k in 0..<5 {
        #expect(
          sums[scalarAt: [0, j, k]] == matrix[scalarAt: [0, j, k]] + matrix[scalarAt: [1, j, k]]
            + matrix[scalarAt: [2, j, k]])
      }
    }
    let rows = matrix.sum(alongAxes: [2])
    #expect(rows[scalarAt: [1, 2, 0]] == (0..<5).reduce(0) { $0 + matrix[scalarAt: [1, 2, $1]] })
  }

  @Test("Sums give the bits of 32 (Float) or 16 (Double) partial sums folded in halves, however many rows")
  func rowSums() {
    /// Row by row in `sum()`'s order: lane l adds the elements j ≡ l (mod L) from +0, lane i
    /// adds lane i + w for w = L/2, …, 4, then (s₀ + s₁) + (s₂ + s₃); rows of the same target
    /// added in turn.
    func expected<Scalar: TensorScalar>(_ x: [Scalar], rows: Int, length: Int, targets: Int) -> [Scalar] {
      let lanes = Scalar.self == Float.self ? 32 : 16
      var out = [Scalar](repeating: 0, count: targets)
      for r in 0..<rows {
        var s = [Scalar](repeating: 0, count: lanes)
        for j in 0..<length { s[j % lanes] = s[j % lanes] + x[r * length + j] }
        var w = lanes / 2
        while w >= 4 {
          for i in 0..<w { s[i] = s[i] + s[i + w] }
          w /= 2
        }
        out[r % targets] = out[r % targets] + ((s[0] + s[1]) + (s[2] + s[3]))
      }
      return out
    }
    func check<Scalar: TensorScalar>(_: Scalar.Type) {
      var rng = SeededRandomNumberGenerator(seed: 12)
      // Lengths shorter and longer than the lanes, with and without tails.
      for (rows, length) in [
        (3, 37), (13, 8), (9, 64), (17, 29), (8, 12), (33, 15), (1, 1), (2, 200), (1, 4_099), (5, 3), (4, 7),
        (2, 2), (20, 5),
      ] {
        let x = Tensor<Scalar>(randomUniform: [rows, length], lowerBound: -1, upperBound: 1, using: &rng)
        #expect(
          x.sum(alongAxes: [1]).scalars == expected(x.scalars, rows: rows, length: length, targets: rows),
          "\(Scalar.self) \(rows)×\(length)")
        // Axes 0 and 2 of [2, rows, length]: each target adds its two rows in turn.
        let y = Tensor<Scalar>(randomUniform: [2, rows, length], using: &rng)
        #expect(
          y.sum(alongAxes: [0, 2]).scalars
            == expected(y.scalars, rows: 2 * rows, length: length, targets: rows),
          "\(Scalar.self) 2×\(rows)×\(length)")
        // The total and the mean: one row.
        #expect(x.sum().scalars == expected(x.scalars, rows: 1, length: rows * length, targets: 1))
        #expect(
          x.mean().scalars == [
            expected(x.scalars, rows: 1, length: rows * length, targets: 1)[0] / Scalar(rows * length)
          ])
      }
    }
    check(Float.self)
    check(Double.self)
  }

  @Test("A per-channel bias on [N, C, H, W], its sum, and a transpose agree with the definition")
  func mergedAxes() {
    // Rows merge across H and W (and across C, H, W for the transpose's inner block).
    var rng = SeededRandomNumberGenerator(seed: 6)
    let images = Tensor<Double>(randomUniform: [2, 3, 4, 5], using: &rng)
    let bias = Tensor<Double>(randomUniform: [1, 3, 1, 1], using: &rng)
    let sum = images + bias
    let channelSums = images.sum(alongAxes: [0, 2, 3])
    let swapped = images.transposed(permutation: [1, 0, 2, 3])
    for n in 0..<2 {
      for c in 0..<3 {
        for i in 0..<4 {
          for j in 0..<5 {
            #expect(
              sum[scalarAt: [n, c, i, j]] == images[scalarAt: [n, c, i, j]] + bias[scalarAt: [0, c, 0, 0]])
            #expect(swapped[scalarAt: [c, n, i, j]] == images[scalarAt: [n, c, i, j]])
          }
        }
      }
    }
    for c in 0..<3 {
      var expected = 0.0
      for n in 0..<2 { for i in 0..<4 { for j in 0..<5 { expected += images[scalarAt: [n, c, i, j]] } } }
      #expect(isClose(channelSums[scalarAt: [0, c, 0, 0]], expected, relativeTolerance: 1e-12))
    }
  }

  @Test(
    "A large tensor raises glibc's malloc thresholds, unless BACKPROP_MALLOC=system",
    .disabled(if: runsUnderSanitizer, "a sanitizer's allocator ignores mallopt"))
  func mallocThresholds() {
    _ = Tensor<Float>(zeros: [MallocThresholds.largeTensorScalarCount])
    #if canImport(Glibc)
      let optedOut = getenv("BACKPROP_MALLOC").map { String(cString: $0) == "system" } ?? false
      #expect(MallocThresholds.areRaised == !optedOut)
    #else
      #expect(!MallocThresholds.areRaised)
    #endif
  }

  @Test("Broadcast shapes follow NumPy")
  func broadcastShapes() {
    #expect(Tensor<Double>.broadcastShape([3, 1], [1, 4]) == [3, 4])
    #expect(Tensor<Double>.broadcastShape([2, 3, 4], [2, 1, 4]) == [2, 3, 4])
    #expect(Tensor<Double>.broadcastShape([2, 3], [3]) == [2, 3])
    #expect(Tensor<Double>.broadcastShape([], [5]) == [5])
    #expect(Tensor<Double>.broadcastShape([2, 3], [2]) == nil)
  }

  @Test("Broadcast arithmetic, broadcasted(to:) and its adjoint unbroadcasted(to:)")
  func broadcasting() {
    let column: Tensor<Double> = [[1], [2], [3]]
    let row: Tensor<Double> = [10, 20]
    #expect((column + row) == [[11, 21], [12, 22], [13, 23]])
    #expect((column * 2) == [[2], [4], [6]])
    #expect(column.broadcasted(to: [3, 2]) == [[1, 1], [2, 2], [3, 3]])
    let big = Tensor<Double>(ones: [2, 3, 2])
    #expect(big.unbroadcasted(to: [3, 1]) == [[4], [4], [4]])
    #expect(big.unbroadcasted(to: []) == Tensor(12.0))
  }

  @Test("Reductions along axes keep or squeeze dimensions")
  func reductions() throws {
    let t = try Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    #expect(t.sum() == Tensor(21.0))
    #expect(t.mean() == Tensor(3.5))
    #expect(t.sum(alongAxes: [0]) == [[5, 7, 9]])
    #expect(t.sum(alongAxes: [-1]) == [[6], [15]])
    #expect(t.sum(squeezingAxes: [1]) == [6, 15])
    #expect(t.max(alongAxes: [1]) == [[3], [6]])
  }

  @Test("Reshape and transposition")
  func shapeOperations() throws {
    let t = try Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    #expect(t.reshaped(to: [3, 2]) == [[1, 2], [3, 4], [5, 6]])
    #expect(t.transposed() == [[1, 4], [2, 5], [3, 6]])
    let cube = try Tensor<Double>(shape: [2, 3, 4], scalars: (0..<24).map(Double.init))
    let permuted = cube.transposed(permutation: [2, 0, 1])
    #expect(permuted.shape == [4, 2, 3])
    #expect(permuted[scalarAt: [3, 1, 2]] == cube[scalarAt: [1, 2, 3]])
    #expect(cube.transposed().transposed() == cube)
  }

  /// The textbook triple loop, as the reference for every transpose variant.
  static func naiveProduct(_ a: Tensor<Double>, _ b: Tensor<Double>) -> Tensor<Double> {
    let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
    var c = Tensor<Double>(zeros: [m, n])
    for i in 0..<m {
      for j in 0..<n {
        var total = 0.0
        for p in 0..<k { total += a[scalarAt: [i, p]] * b[scalarAt: [p, j]] }
        c[scalarAt: [i, j]] = total
      }
    }
    return c
  }

  @Test(
    "matmul equals the naive product, for every transpose variant",
    // The Swift loop, the small-product kernel (8·8·8, 5·12·21) and the packed kernels.
    arguments: [(1, 1, 1), (3, 4, 5), (8, 8, 8), (5, 12, 21), (17, 9, 33)])
  func matrixProduct(m: Int, k: Int, n: Int) {
    var rng = SeededRandomNumberGenerator(seed: UInt64(m * 100 + n))
    let a: Tensor<Double> = randomTensor([m, k], using: &rng)
    let b: Tensor<Double> = randomTensor([k, n], using: &rng)
    let expected = Self.naiveProduct(a, b)
    let tolerance = 1e-12
    #expect(isClose(matmul(a, b), expected, absoluteTolerance: tolerance))
    #expect(isClose(matmul(a.transposed(), b, transposeA: true), expected, absoluteTolerance: tolerance))
    #expect(isClose(matmul(a, b.transposed(), transposeB: true), expected, absoluteTolerance: tolerance))
    #expect(
      isClose(
        matmul(a.transposed(), b.transposed(), transposeA: true, transposeB: true), expected,
        absoluteTolerance: tolerance))
    let floats = matmul(converted(a, to: Float.self), converted(b, to: Float.self))
    #expect(
      isClose(converted(floats, to: Double.self), expected, absoluteTolerance: 1e-4, relativeTolerance: 1e-4))
  }

  @Test("Stable elementwise functions")
  func elementwise() {
    let x: Tensor<Double> = [-1000, 0, 1000]
    #expect(x.sigmoid() == [0, 0.5, 1])
    #expect(x.softplus() == [0, 0.6931471805599453, 1000])
    #expect(x.relu() == [0, 0, 1000])
  }

  @Test("zeroed(whereNotPositive:) keeps the scalars where the mask is positive, in Float and Double")
  func zeroedWhereNotPositive() {
    let mask: Tensor<Double> = [[-2, 0, 3], [-0.0, 1e-300, -1e-300]]
    let gradient: Tensor<Double> = [[1, 2, 3], [4, 5, 6]]
    #expect(gradient.zeroed(whereNotPositive: mask) == [[0, 0, 3], [0, 5, 0]])
    let maskFloat: Tensor<Float> = [[-2, 0, 3], [-0.0, 1e-30, -1e-30]]
    let gradientFloat: Tensor<Float> = [[1, 2, 3], [4, 5, 6]]
    #expect(gradientFloat.zeroed(whereNotPositive: maskFloat) == [[0, 0, 3], [0, 5, 0]])
    // Other shapes broadcast; one scalar takes the one-scalar path.
    #expect(gradient.zeroed(whereNotPositive: [-1, 1, 1]) == [[0, 2, 3], [0, 5, 6]])
    #expect(Tensor<Double>(7.0).zeroed(whereNotPositive: Tensor(-1.0)) == Tensor(0.0))
    // Longer than a vector's width, with a remainder, so both the vector loop and its tail run.
    let long = try! Tensor<Float>(shape: [37], scalars: (0..<37).map { Float($0 % 3) - 1 })
    let ones = Tensor<Float>(ones: [37])
    #expect(ones.zeroed(whereNotPositive: long).scalars == (0..<37).map { $0 % 3 == 2 ? 1 : 0 })
  }

  @Test("Shape mistakes stop with the operation and both shapes in the message")
  func shapePreconditions() async {
    let broadcast = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Double>(zeros: [2, 3]) + Tensor<Double>(zeros: [2])
    }
    let broadcastMessage = String(decoding: broadcast?.standardErrorContent ?? [], as: UTF8.self)
    #expect(broadcastMessage.contains("+: shapes [2, 3] and [2] do not broadcast"))

    let product = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = matmul(Tensor<Double>(zeros: [2, 3]), Tensor<Double>(zeros: [2, 3]))
    }
    let productMessage = String(decoding: product?.standardErrorContent ?? [], as: UTF8.self)
    #expect(productMessage.contains("matmul: shapes [2, 3] and [2, 3] do not multiply"))
  }

  @Test("What the program printed before a mistake reaches a pipe: output is flushed before stopping")
  func outputIsFlushedBeforeStopping() async {
    let result = await #expect(
      processExitsWith: .failure, observing: [\.standardOutputContent, \.standardErrorContent]
    ) {
      print("epoch 1: loss 0.25")
      _ = Tensor<Double>(zeros: [2, 3]) + Tensor<Double>(zeros: [2])
    }
    let text1 = String(decoding: result?.standardOutputContent ?? [], as: UTF8.self)
    #expect(text1.contains("epoch 1: loss 0.25"))
    let text2 = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(text2.contains("do not broadcast"))
  }
}

@Suite("SeededRandomNumberGenerator")
struct SeededRandomTests {
  @Test("The same seed gives the same sequence; different seeds differ")
  func determinism() {
    var a = SeededRandomNumberGenerator(seed: 42)
    var b = SeededRandomNumberGenerator(seed: 42)
    var c = SeededRandomNumberGenerator(seed: 43)
    let first = (0..<5).map { _ in a.next() }
    #expect(first == (0..<5).map { _ in b.next() })
    #expect(first != (0..<5).map { _ in c.next() })
  }

  @Test("Uniform and normal tensors have the requested statistics")
  func statistics() {
    var rng = SeededRandomNumberGenerator(seed: 1)
    let uniform = Tensor<Double>(randomUniform: [100_000], using: &rng)
    #expect(uniform.scalars.allSatisfy { $0 >= 0 && $0 < 1 })
    #expect(Swift.abs(uniform.mean().scalar - 0.5) < 0.01)
    let normal = Tensor<Double>(randomNormal: [100_000], mean: 1, standardDeviation: 2, using: &rng)
    let mean = normal.mean().scalar
    let variance = normal.map { ($0 - mean) * ($0 - mean) }.mean().scalar
    #expect(Swift.abs(mean - 1) < 0.03)
    #expect(Swift.abs(variance - 4) < 0.1)
  }
}
