import BackpropTensor

/// An operation whose pullback is written on tensors: simpler to write, and first-order only
/// (PyTorch's `once_differentiable`).
///
/// Implement ``pullback(_:inputs:output:)`` with plain tensor arithmetic; the tape calls it for
/// first-order gradients. Its gradients are not recorded, so `createGraph: true` through the
/// operation stops with a message naming it. When second derivatives matter, write the pullback
/// over ``GradientAlgebra`` instead (``DifferentiableOperation``).
///
/// ```swift
/// /// z = x³. ∂z/∂x = 3x².
/// struct Cube: FirstOrderOperation {
///   typealias Scalar = Double
///   var name: String { "cube" }
///   func pullback(_ upstream: Tensor<Double>, inputs: [Tensor<Double>], output: Tensor<Double>)
///     -> [Tensor<Double>?]
///   {
///     [upstream * inputs[0] * inputs[0] * 3]
///   }
/// }
/// ```
public protocol FirstOrderOperation<Scalar>: DifferentiableOperation {
  /// The gradients with respect to each input, given the gradient `upstream` with respect to
  /// `output`.
  ///
  /// - Parameters:
  ///   - upstream: ∂L/∂output, of the output's shape.
  ///   - inputs: The inputs' values.
  ///   - output: The result's value.
  /// - Returns: One gradient per input, each of that input's shape, or `nil` for an input that
  ///   gets none.
  func pullback(_ upstream: Tensor<Scalar>, inputs: [Tensor<Scalar>], output: Tensor<Scalar>)
    -> [Tensor<Scalar>?]
}

extension FirstOrderOperation {
  /// `false`: the pullback on tensors cannot be recorded.
  public var supportsHigherOrder: Bool { false }

  /// Calls the tensor pullback. The tape calls this only with `G == Tensor` (a backward pass with
  /// `createGraph: true` stops before an operation that does not support higher orders).
  public func pullback<G: GradientAlgebra<Scalar>>(
    _ upstream: G, inputs: PullbackInputs<G>, output: G, needed: InputMask
  ) -> Operands<G?> {
    let values = (0..<inputs.count).map { inputs[$0].tensor }
    let gradients = pullback(upstream.tensor, inputs: values, output: output.tensor)
    check(
      gradients.count == values.count,
      "\(name): the pullback returned \(gradients.count) gradients for \(values.count) inputs")
    return Operands(gradients.map { gradient in gradient.map { $0 as! G } })
  }

  /// J·v from the pullback, one output element at a time: element i of J·v is
  /// Σⱼ ⟨pullback(eᵢ)ⱼ, vⱼ⟩. Slow (a pullback per element of the output), and only on tensors:
  /// a tangent recorded for reverse mode stops with a message naming the operation.
  public func tangent<G: GradientAlgebra<Scalar>>(
    _ tangents: Operands<G?>, inputs: PullbackInputs<G>, output: G
  )
    -> G
  {
    check(
      G.self == Tensor<Scalar>.self,
      """
      \(name): a first-order operation's tangent cannot be recorded for reverse mode; write the \
      pullback over GradientAlgebra (DifferentiableOperation), or give the operation a tangent rule
      """)
    TranspositionLog.current?.append(name)
    let values = (0..<inputs.count).map { inputs[$0].tensor }
    let result = output.tensor
    var seed = Tensor<Scalar>(zeros: result.shape)
    var scalars = [Scalar](repeating: 0, count: result.scalarCount)
    for element in scalars.indices {
      seed[scalarAt: element] = 1
      let rows = pullback(seed, inputs: values, output: result)
      seed[scalarAt: element] = 0
      for (row, direction) in zip(rows, tangents) {
        guard let row, let direction else { continue }
        scalars[element] += (row * direction.tensor).sum().scalar
      }
    }
    return Tensor(scalars).reshaped(to: result.shape) as! G
  }
}
