import BackpropTensor

/// The arithmetic that pullbacks are written in. Both ``Tensor`` (first-order gradients, nothing
/// recorded) and ``Variable`` (gradients that are themselves recorded, for higher order) provide
/// it, so every vector-Jacobian product in the catalogue is written exactly once.
protocol GradientAlgebra<Scalar> {
  associatedtype Scalar: TensorScalar
  var shape: [Int] { get }
  static func + (lhs: Self, rhs: Self) -> Self
  static func - (lhs: Self, rhs: Self) -> Self
  static func * (lhs: Self, rhs: Self) -> Self
  static func / (lhs: Self, rhs: Self) -> Self
  static prefix func - (operand: Self) -> Self
  static func * (lhs: Self, rhs: Scalar) -> Self
  static func - (lhs: Scalar, rhs: Self) -> Self
  /// Elementwise product with a constant (a mask or a sign), through which no gradient flows.
  func multiplied(byConstant factor: Tensor<Scalar>) -> Self
  /// This gradient where `input` is positive and zero elsewhere: the product with the constant
  /// mask (input > 0), in one pass for tensors (no mask tensor in between).
  func zeroed(whereNotPositive input: Self) -> Self
  /// The matrix product, whose shape is that of `like` (a gradient has its input's shape): a
  /// batched product is summed over the batch axes that `like` broadcast.
  static func matrixProduct(_ a: Self, _ b: Self, transposeA: Bool, transposeB: Bool, shapedLike like: Self)
    -> Self
  func transposed(permutation: [Int]) -> Self
  func reshaped(to shape: [Int]) -> Self
  func broadcasted(to shape: [Int]) -> Self
  func unbroadcasted(to shape: [Int]) -> Self
  /// Summed back to the shape of `operand` (an input whose broadcast gave this shape); `self`
  /// when the shapes are equal. Compares shapes without making their arrays.
  func unbroadcasted(like operand: Self) -> Self
  /// `true` when `other` has the same shape, compared without making the shapes' arrays.
  func hasSameShape(as other: Self) -> Bool
  func sigmoidOf() -> Self
  func raised(to exponent: Scalar) -> Self
  func exponential() -> Self
  func sine() -> Self
  func cosine() -> Self
  func sliced(lowerBounds: [Int], upperBounds: [Int]) -> Self
  func padded(to shape: [Int], at lowerBounds: [Int]) -> Self
  func gathering(atIndices indices: [Int], alongAxis axis: Int) -> Self
  func scatteringAdd(atIndices indices: [Int], alongAxis axis: Int, extent: Int) -> Self

  /// The value the backward pass uses for `variable`: its tensor, or the variable itself.
  static func backwardInput(_ variable: Variable<Scalar>) -> Self
  /// `true` when arithmetic in this algebra is recorded on the tape (`Variable`), so a backward
  /// pass run in it can be differentiated again.
  static var recordsOperations: Bool { get }
  /// The tensor value.
  var tensor: Tensor<Scalar> { get }
  /// As a variable: a new constant for a tensor, the variable itself for a variable.
  var variable: Variable<Scalar> { get }
}

extension Tensor: GradientAlgebra {
  func multiplied(byConstant factor: Tensor) -> Tensor { self * factor }
  // zeroed(whereNotPositive:) is Tensor's own, inlinable, in BackpropTensor.
  static func matrixProduct(
    _ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool, shapedLike like: Tensor
  )
    -> Tensor
  {
    matmul(a, b, transposeA: transposeA, transposeB: transposeB, shapedLike: like)
  }
  func unbroadcasted(like operand: Tensor) -> Tensor {
    hasSameShape(as: operand) ? self : unbroadcasted(to: operand.shape)
  }
  func sigmoidOf() -> Tensor { sigmoid() }
  func raised(to exponent: Scalar) -> Tensor { pow(exponent) }
  func exponential() -> Tensor { exp() }
  func sine() -> Tensor { sin() }
  func cosine() -> Tensor { cos() }
  func sliced(lowerBounds: [Int], upperBounds: [Int]) -> Tensor {
    slice(lowerBounds: lowerBounds, upperBounds: upperBounds)
  }
  static func backwardInput(_ variable: Variable<Scalar>) -> Tensor { variable.value }
  static var recordsOperations: Bool { false }
  var tensor: Tensor { self }
  var variable: Variable<Scalar> { Variable(self) }
}

extension Variable: GradientAlgebra {
  func multiplied(byConstant factor: Tensor<Scalar>) -> Variable { self * Variable(factor) }
  func zeroed(whereNotPositive input: Variable) -> Variable {
    multiplied(byConstant: input.value.mask { $0 > 0 })
  }
  static func matrixProduct(
    _ a: Variable, _ b: Variable, transposeA: Bool, transposeB: Bool, shapedLike like: Variable
  ) -> Variable {
    matmul(a, b, transposeA: transposeA, transposeB: transposeB).unbroadcasted(like: like)
  }
  func unbroadcasted(like operand: Variable) -> Variable {
    hasSameShape(as: operand) ? self : unbroadcasted(to: operand.shape)
  }
  func hasSameShape(as other: Variable) -> Bool { value.hasSameShape(as: other.value) }
  func sigmoidOf() -> Variable { sigmoid(self) }
  func raised(to exponent: Scalar) -> Variable { pow(self, exponent) }
  func exponential() -> Variable { exp(self) }
  func sine() -> Variable { sin(self) }
  func cosine() -> Variable { cos(self) }
  func sliced(lowerBounds: [Int], upperBounds: [Int]) -> Variable {
    slice(lowerBounds: lowerBounds, upperBounds: upperBounds)
  }
  static func backwardInput(_ variable: Variable) -> Variable { variable }
  static var recordsOperations: Bool { true }
  var tensor: Tensor<Scalar> { value }
  var variable: Variable { self }
}
