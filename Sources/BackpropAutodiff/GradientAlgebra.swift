import BackpropTensor

/// The arithmetic that pullbacks are written in.
///
/// `Tensor` (first-order gradients; nothing is recorded) and ``Variable`` (gradients that are
/// themselves recorded, for higher order) both provide it, so every vector-Jacobian product —
/// built in or your own (see ``DifferentiableOperation``) — is written exactly once and serves
/// every order of derivative. They are its only conformances: the tape relies on that, so do not
/// add your own.
///
/// A pullback computes with the upstream gradient, the inputs and the output in this algebra.
/// Where it needs a constant that depends on a value (a mask, a sign), it reads ``tensor`` and
/// multiplies by the constant with ``multiplied(byConstant:)``: a constant of the function almost
/// everywhere, which gives the right higher derivatives.
public protocol GradientAlgebra<Scalar> {
  /// The scalar type.
  associatedtype Scalar: TensorScalar
  /// The shape.
  var shape: [Int] { get }
  /// The value as a tensor (for a variable, its ``Variable/value``). Use it to build constants:
  /// nothing computed from it is differentiated.
  var tensor: Tensor<Scalar> { get }

  /// The elementwise sum; the operands broadcast.
  static func + (lhs: Self, rhs: Self) -> Self
  /// The elementwise difference; the operands broadcast.
  static func - (lhs: Self, rhs: Self) -> Self
  /// The elementwise product; the operands broadcast.
  static func * (lhs: Self, rhs: Self) -> Self
  /// The elementwise quotient; the operands broadcast.
  static func / (lhs: Self, rhs: Self) -> Self
  /// The elementwise negation.
  static prefix func - (operand: Self) -> Self
  /// Each element plus a scalar.
  static func + (lhs: Self, rhs: Scalar) -> Self
  /// Each element times a scalar.
  static func * (lhs: Self, rhs: Scalar) -> Self
  /// A scalar minus each element.
  static func - (lhs: Scalar, rhs: Self) -> Self
  /// The elementwise product with a constant (a mask or a sign), through which no gradient
  /// flows.
  func multiplied(byConstant factor: Tensor<Scalar>) -> Self
  /// This gradient where `input` is positive and zero elsewhere: the product with the constant
  /// mask (input > 0), in one pass for tensors.
  func zeroed(whereNotPositive input: Self) -> Self
  /// The matrix product (see `matmul`), whose shape is that of `like`: a gradient has its
  /// input's shape, and a batched product is summed over the batch axes that `like` broadcast.
  static func matrixProduct(_ a: Self, _ b: Self, transposeA: Bool, transposeB: Bool, shapedLike like: Self)
    -> Self
  /// The axes permuted.
  func transposed(permutation: [Int]) -> Self
  /// The same elements under another shape.
  func reshaped(to shape: [Int]) -> Self
  /// Repeated along extents of 1 and missing leading axes to `shape`.
  func broadcasted(to shape: [Int]) -> Self
  /// Summed over the axes that broadcasting to this shape from `shape` added.
  func unbroadcasted(to shape: [Int]) -> Self
  /// Summed back to the shape of `operand` (an input whose broadcast gave this shape); `self`
  /// when the shapes are equal. Compares shapes without making their arrays.
  func unbroadcasted(like operand: Self) -> Self
  /// `true` when `other` has the same shape, compared without making the shapes' arrays.
  func hasSameShape(as other: Self) -> Bool
  /// 1 / (1 + e^−x), elementwise.
  func sigmoid() -> Self
  /// Each element raised to `exponent`.
  func pow(_ exponent: Scalar) -> Self
  /// eˣ, elementwise.
  func exp() -> Self
  /// The derivative of GELU, Φ(x) + x·φ(x), elementwise (one pass for tensors).
  func geluDerivative() -> Self
  /// sin x, elementwise.
  func sin() -> Self
  /// cos x, elementwise.
  func cos() -> Self
  /// |x|, elementwise.
  func abs() -> Self
  /// The sign of x, elementwise: −1, 0 or 1 (a constant almost everywhere, so recorded as one).
  func sign() -> Self
  /// The natural logarithm, elementwise.
  func log() -> Self
  /// √x, elementwise.
  func squareRoot() -> Self
  /// tanh x, elementwise.
  func tanh() -> Self
  /// max(x, 0), elementwise.
  func relu() -> Self
  /// 1 where the element is greater than `rhs`, else 0: a mask (a constant, for variables).
  static func .> (lhs: Self, rhs: Scalar) -> Self
  /// 1 where the element is at least `rhs`, else 0.
  static func .>= (lhs: Self, rhs: Scalar) -> Self
  /// 1 where the element is less than `rhs`, else 0.
  static func .< (lhs: Self, rhs: Scalar) -> Self
  /// 1 where the element is at most `rhs`, else 0.
  static func .<= (lhs: Self, rhs: Scalar) -> Self
  /// The half-open box `lowerBounds ..< upperBounds`.
  func slice(lowerBounds: [Int], upperBounds: [Int]) -> Self
  /// Placed into zeros of `shape` at `lowerBounds`.
  func padded(to shape: [Int], at lowerBounds: [Int]) -> Self
  /// The slices at `indices` along `axis`.
  func gathering(atIndices indices: [Int], alongAxis axis: Int) -> Self
  /// Zeros with `extent` slices along `axis`, slice k added at `indices[k]`.
  func scatteringAdd(atIndices indices: [Int], alongAxis axis: Int, extent: Int) -> Self
  /// The windows of images `[N, C, H, W]` as columns `[N, C·kh·kw, Ho·Wo]` (im2col).
  func unfolded(_ windows: SlidingWindows) -> Self
  /// Columns added back into images of `imageSize` (col2im), the adjoint of `unfolded`.
  func folded(_ windows: SlidingWindows, imageSize: [Int]) -> Self
  /// The gradient of a convolution (`conv2d`) with respect to its images `[N, C, H, W]` of
  /// `imageSize`, for this upstream gradient `[N, O, Ho, Wo]`: filterᵀ times each image's
  /// upstream gradient, folded back into the image.
  func convolutionInputGradient(filter: Self, _ windows: SlidingWindows, imageSize: [Int]) -> Self
  /// The gradient of a convolution with respect to its filters, for this upstream gradient: each
  /// image's upstream gradient times its columns transposed, summed over the batch. A tensor
  /// reads `columns`, the images' columns, when the forward pass kept them; a variable records
  /// the columns' dependence on the images instead.
  func convolutionFilterGradient(images: Self, _ windows: SlidingWindows, columns: Tensor<Scalar>?) -> Self

  /// The value a pullback receives for `variable`: its tensor, or the variable itself. Used by
  /// the tape.
  static func _backwardInput(_ variable: Variable<Scalar>) -> Self
  /// `true` when arithmetic in this algebra is recorded (`Variable`). Used by the tape.
  static var _recordsOperations: Bool { get }
  /// As a variable: a new constant for a tensor, the variable itself for a variable. Used by the
  /// tape.
  var _variable: Variable<Scalar> { get }
}

extension Tensor: GradientAlgebra {
  /// The tensor itself.
  public var tensor: Tensor { self }
  /// `self * factor`.
  public func multiplied(byConstant factor: Tensor) -> Tensor { self * factor }
  /// `matmul(a, b, transposeA:transposeB:)`, summed back to the shape of `like` where a batched
  /// product broadcast it.
  public static func matrixProduct(
    _ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool, shapedLike like: Tensor
  ) -> Tensor {
    matmul(a, b, transposeA: transposeA, transposeB: transposeB, shapedLike: like)
  }
  /// Summed back to `operand`'s shape; `self` when the shapes are equal.
  ///
  /// Inlined, so that a pullback of one-scalar tensors (a scalar graph's every operation) tests
  /// the shapes in place and returns its product without a call.
  @inline(__always)
  public func unbroadcasted(like operand: Tensor) -> Tensor {
    hasSameShape(as: operand) ? self : unbroadcastedOutOfLine(to: operand)
  }
  /// ``unbroadcasted(to:)`` to `operand`'s shape, out of line.
  @inline(never)
  private func unbroadcastedOutOfLine(to operand: Tensor) -> Tensor { unbroadcasted(to: operand.shape) }
  /// The tensor itself.
  public static func _backwardInput(_ variable: Variable<Scalar>) -> Tensor { variable.value }
  /// `false`: tensors record nothing.
  public static var _recordsOperations: Bool { false }
  /// A constant variable holding the tensor.
  public var _variable: Variable<Scalar> { Variable(self) }
}

extension Variable: GradientAlgebra {
  /// ``value``.
  public var tensor: Tensor<Scalar> { value }
  /// The product with a constant: no gradient flows into `factor`.
  public func multiplied(byConstant factor: Tensor<Scalar>) -> Variable { self * Variable(factor) }
  /// The upstream gradient `self` where `input` is positive, and zero elsewhere: the product with
  /// the constant mask (input > 0).
  public func zeroed(whereNotPositive input: Variable) -> Variable {
    multiplied(byConstant: input.value.mask { $0 > 0 })
  }
  /// `matmul(a, b, transposeA:transposeB:)`, summed back to the shape of `like` where a batched
  /// product broadcast it.
  public static func matrixProduct(
    _ a: Variable, _ b: Variable, transposeA: Bool, transposeB: Bool, shapedLike like: Variable
  ) -> Variable {
    matmul(a, b, transposeA: transposeA, transposeB: transposeB).unbroadcasted(like: like)
  }
  /// Summed back to `operand`'s shape; `self` when the shapes are equal.
  public func unbroadcasted(like operand: Variable) -> Variable {
    hasSameShape(as: operand) ? self : unbroadcasted(to: operand.shape)
  }
  /// `true` when `other` has the same shape, compared without making the shapes' arrays.
  public func hasSameShape(as other: Variable) -> Bool { value.hasSameShape(as: other.value) }
  /// `sigmoid(self)`.
  public func sigmoid() -> Variable { BackpropAutodiff.sigmoid(self) }
  /// `pow(self, exponent)`.
  public func pow(_ exponent: Scalar) -> Variable { BackpropAutodiff.pow(self, exponent) }
  /// `exp(self)`.
  public func exp() -> Variable { BackpropAutodiff.exp(self) }
  /// Φ(x) + x·φ(x) = ½(1 + erf(x/√2)) + x·e^(−x²/2)/√(2π), recorded as its parts.
  public func geluDerivative() -> Variable {
    let cumulative = (BackpropAutodiff.erf(self * Scalar(1 / 2.0.squareRoot())) + 1) * 0.5
    return cumulative + self * BackpropAutodiff.exp(self * self * -0.5)
      * Scalar(1 / (2 * Double.pi).squareRoot())
  }
  /// `sin(self)`.
  public func sin() -> Variable { BackpropAutodiff.sin(self) }
  /// `cos(self)`.
  public func cos() -> Variable { BackpropAutodiff.cos(self) }
  /// `abs(self)`.
  public func abs() -> Variable { BackpropAutodiff.abs(self) }
  /// The sign of the value, −1, 0 or 1, as a constant: its derivative is 0 almost everywhere.
  public func sign() -> Variable { Variable(value.sign()) }
  /// `log(self)`.
  public func log() -> Variable { BackpropAutodiff.log(self) }
  /// `sqrt(self)`.
  public func squareRoot() -> Variable { BackpropAutodiff.sqrt(self) }
  /// `tanh(self)`.
  public func tanh() -> Variable { BackpropAutodiff.tanh(self) }
  /// `relu(self)`, spelled as on tensors.
  public func relu() -> Variable { BackpropAutodiff.relu(self) }
  /// `softplus(self)`, spelled as on tensors.
  public func softplus() -> Variable { BackpropAutodiff.softplus(self) }
  /// `erf(self)`, spelled as on tensors.
  public func erf() -> Variable { BackpropAutodiff.erf(self) }
  /// `gelu(self)`, spelled as on tensors.
  public func gelu() -> Variable { BackpropAutodiff.gelu(self) }
  /// A constant mask: 1 where the value is greater than `rhs`, else 0.
  public static func .> (lhs: Variable, rhs: Scalar) -> Variable { Variable(lhs.value .> rhs) }
  /// A constant mask: 1 where the value is at least `rhs`, else 0.
  public static func .>= (lhs: Variable, rhs: Scalar) -> Variable { Variable(lhs.value .>= rhs) }
  /// A constant mask: 1 where the value is less than `rhs`, else 0.
  public static func .< (lhs: Variable, rhs: Scalar) -> Variable { Variable(lhs.value .< rhs) }
  /// A constant mask: 1 where the value is at most `rhs`, else 0.
  public static func .<= (lhs: Variable, rhs: Scalar) -> Variable { Variable(lhs.value .<= rhs) }
  /// `matmul(filterᵀ, self)` per image, `folded` into the images: recorded as those operations.
  public func convolutionInputGradient(filter: Variable, _ windows: SlidingWindows, imageSize: [Int])
    -> Variable
  {
    let (upstream, filterShape) = (shape, filter.shape)
    let weights = filter.reshaped(to: [filterShape[0], filterShape[1] * filterShape[2] * filterShape[3]])
    let columns = matmul(
      weights, reshaped(to: [upstream[0], upstream[1], upstream[2] * upstream[3]]), transposeA: true)
    return columns.folded(windows, imageSize: imageSize)
  }
  /// `matmul(self, unfolded(images)ᵀ)` per image, summed over the batch: recorded as those
  /// operations (`columns`, constants, are not used).
  public func convolutionFilterGradient(images: Variable, _ windows: SlidingWindows, columns: Tensor<Scalar>?)
    -> Variable
  {
    let upstream = shape
    let products = matmul(
      reshaped(to: [upstream[0], upstream[1], upstream[2] * upstream[3]]), images.unfolded(windows),
      transposeB: true)
    return products.sum(alongAxes: [0]).reshaped(to: [upstream[1], images.shape[1]] + windows.kernelSize)
  }
  /// The variable itself: its pullbacks are recorded.
  public static func _backwardInput(_ variable: Variable) -> Variable { variable }
  /// `true`: arithmetic on variables is recorded.
  public static var _recordsOperations: Bool { true }
  /// The variable itself.
  public var _variable: Variable { self }
}
