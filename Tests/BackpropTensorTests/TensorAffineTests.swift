import BackpropTestSupport
import Testing

@testable import BackpropTensor

@Suite("A dense layer's bias and ReLU as tensor functions")
struct TensorAffineTests {
  /// Scalars from −1 to 1 with zeros, negative zeros and a NaN among them, so that the kink and
  /// the signs of zero are exercised.
  static func values<Scalar: TensorScalar>(_ shape: [Int], using rng: inout SeededRandomNumberGenerator)
    -> Tensor<Scalar>
  {
    var scalars = Tensor<Scalar>(randomUniform: shape, lowerBound: -1, upperBound: 1, using: &rng).scalars
    for i in stride(from: 0, to: scalars.count, by: 7) { scalars[i] = i % 2 == 0 ? 0 : -0.0 }
    if scalars.count > 3 { scalars[3] = .nan }
    return try! Tensor(shape: shape, scalars: scalars)
  }

  static func sameBits<Scalar: TensorScalar>(_ a: Tensor<Scalar>, _ b: Tensor<Scalar>) -> Bool {
    a.shape == b.shape
      && zip(a.scalars, b.scalars).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
      && zip(a.scalars, b.scalars).allSatisfy { $0.sign == $1.sign || $0.isNaN }
  }

  @Test("addingRow(_:) has the bits of x + b, in the matrix's own buffer only when nothing shares it")
  func addingRow() {
    func check<Scalar: TensorScalar>(_: Scalar.Type, rows: Int, columns: Int) {
      var rng = SeededRandomNumberGenerator(seed: 30)
      let x: Tensor<Scalar> = Self.values([rows, columns], using: &rng)
      let b: Tensor<Scalar> = Self.values([columns], using: &rng)
      let before = try! Tensor<Scalar>(shape: [rows, columns], scalars: x.scalars)
      let copy = x
      #expect(Self.sameBits(copy.addingRow(b), x + b), "\(Scalar.self) \(rows)×\(columns)")
      // `copy` shared its buffer with `x`, which must not change.
      #expect(Self.sameBits(x, before))
      #expect(Self.sameBits(Tensor(x.scalars).reshaped(to: [rows, columns]).addingRow(b), x + b))
    }
    for (rows, columns) in [(1, 1), (5, 9), (1, 40), (130, 33)] {
      check(Float.self, rows: rows, columns: columns)
      check(Double.self, rows: rows, columns: columns)
    }
  }

  @Test("rectified(addingRow:) has the bits of (x + b).relu(), and of relu() without a bias")
  func rectifiedAddingRow() {
    func check<Scalar: TensorScalar>(_: Scalar.Type, rows: Int, columns: Int) {
      var rng = SeededRandomNumberGenerator(seed: 31)
      let x: Tensor<Scalar> = Self.values([rows, columns], using: &rng)
      let b: Tensor<Scalar> = Self.values([columns], using: &rng)
      let context = "\(Scalar.self) \(rows)×\(columns)"
      #expect(Self.sameBits(x.rectified(addingRow: b), (x + b).relu()), "\(context)")
      #expect(Self.sameBits(x.rectified(addingRow: nil), x.relu()), "\(context)")
    }
    // Below and above the size at which the rows split across threads.
    for (rows, columns) in [(1, 1), (5, 9), (1, 40), (520, 512)] {
      check(Float.self, rows: rows, columns: columns)
      check(Double.self, rows: rows, columns: columns)
    }
  }

  @Test("zeroedWithColumnSums(whereNotPositive:) has the bits of masking and then summing the rows")
  func zeroedWithColumnSums() {
    func check<Scalar: TensorScalar>(_: Scalar.Type, rows: Int, columns: Int) {
      var rng = SeededRandomNumberGenerator(seed: 32)
      let g = Tensor<Scalar>(randomUniform: [rows, columns], lowerBound: -1, upperBound: 1, using: &rng)
      let y: Tensor<Scalar> = Self.values([rows, columns], using: &rng).relu()
      let (masked, sums) = g.zeroedWithColumnSums(whereNotPositive: y)
      let expected = g.zeroed(whereNotPositive: y)
      let context = "\(Scalar.self) \(rows)×\(columns)"
      #expect(Self.sameBits(masked, expected), "\(context)")
      #expect(Self.sameBits(sums, expected.unbroadcasted(to: [columns])), "\(context)")
    }
    for (rows, columns) in [(1, 1), (1, 6), (5, 9), (130, 33), (520, 512)] {
      check(Float.self, rows: rows, columns: columns)
      check(Double.self, rows: rows, columns: columns)
    }
  }

  @Test("Empty matrices give empty results and zero sums")
  func emptyMatrices() {
    let empty = Tensor<Float>(zeros: [0, 3])
    #expect(empty.rectified(addingRow: Tensor<Float>(ones: [3])).shape == [0, 3])
    let (masked, sums) = empty.zeroedWithColumnSums(whereNotPositive: empty)
    #expect(masked.shape == [0, 3] && sums == Tensor<Float>(zeros: [3]))
  }
}
