import BackpropTensor

// Higher-order helpers for textbook-sized problems. They are built on `gradients(of:…)` with
// `createGraph: true`: the backward pass is recorded with the same pullbacks (written once over
// `GradientAlgebra`), so a gradient is a `Variable` that can be differentiated again.

/// The Hessian of a scalar `function` at `point`: H[i…, j…] = ∂² f / ∂x[i…] ∂x[j…].
///
/// The gradient is computed once with `createGraph: true`; each row of H is then one backward
/// pass through that recorded gradient. H is symmetric up to rounding.
///
/// - Parameters:
///   - function: A differentiable function of one tensor returning one scalar.
///   - point: Where to evaluate the Hessian.
/// - Returns: A tensor of shape `point.shape + point.shape`.
/// - Precondition: `function` returns one scalar.
public func hessian<Scalar>(of function: (Variable<Scalar>) -> Variable<Scalar>, at point: Tensor<Scalar>)
  -> Tensor<Scalar>
{
  let x = Variable(point, requiresGrad: true)
  let y = function(x)
  check(
    y.value.scalarCount == 1, "hessian(of:at:): the function must return one scalar, got shape \(y.shape)")
  let gradient = gradients(of: y, withRespectTo: [x], createGraph: true)[0]
  var scalars: [Scalar] = []
  scalars.reserveCapacity(point.scalarCount * point.scalarCount)
  var seed = Tensor<Scalar>(zeros: point.shape)
  for i in 0..<point.scalarCount {
    seed[scalarAt: i] = 1
    scalars += gradients(of: gradient, withRespectTo: [x], seed: seed)[0].value.scalars
    seed[scalarAt: i] = 0
  }
  return Tensor(scalars).reshaped(to: point.shape + point.shape)
}

/// The Hessian-vector product H·v of a scalar `function` at `point`, without forming H.
///
/// H·v = ∇ₓ⟨∇ₓ f(x), v⟩: one backward pass recorded with `createGraph: true`, and one backward
/// pass through it — about the cost of two gradients, whatever the size of x.
///
/// - Parameters:
///   - function: A differentiable function of one tensor returning one scalar.
///   - point: Where to evaluate.
///   - vector: v, of the point's shape.
/// - Returns: H·v, of the point's shape.
/// - Precondition: `function` returns one scalar and `vector.shape == point.shape`.
public func hessianVectorProduct<Scalar>(
  of function: (Variable<Scalar>) -> Variable<Scalar>, at point: Tensor<Scalar>, vector: Tensor<Scalar>
) -> Tensor<Scalar> {
  check(
    vector.shape == point.shape,
    "hessianVectorProduct(of:at:vector:): vector shape \(vector.shape) ≠ point shape \(point.shape)")
  let x = Variable(point, requiresGrad: true)
  let y = function(x)
  check(
    y.value.scalarCount == 1,
    "hessianVectorProduct(of:at:vector:): the function must return one scalar, got shape \(y.shape)")
  let gradient = gradients(of: y, withRespectTo: [x], createGraph: true)[0]
  return gradients(of: gradient, withRespectTo: [x], seed: vector)[0].value
}

/// Checks second derivatives, like PyTorch's `gradgradcheck`: the tape's gradient of the
/// recorded first-order vector-Jacobian product against central finite differences of it.
///
/// With seeded random upstream gradients v (for the output) and uᵢ (for each input), the checked
/// function is s(x) = Σᵢ ⟨uᵢ, (∂⟨v, f(x)⟩/∂xᵢ)⟩. Its tape gradient goes through the backward
/// pass recorded with `createGraph: true`; the estimate differentiates the plain first-order
/// backward pass numerically. An element passes when |tape − estimate| ≤ atol + rtol·|estimate|.
///
/// - Parameters:
///   - inputs: The point at which to check.
///   - epsilon: The step ε; 1e-6 for `Double` and 1e-3 for `Float` by default.
///   - absoluteTolerance: atol, 1e-5 by default.
///   - relativeTolerance: rtol, 1e-3 by default.
///   - seed: Seeds v and uᵢ.
///   - function: The expression to check, built from its input variables.
/// - Returns: A report with the worst element.
public func checkSecondOrderGradients<Scalar>(
  at inputs: [Tensor<Scalar>], epsilon: Scalar? = nil, absoluteTolerance: Scalar = 1e-5,
  relativeTolerance: Scalar = 1e-3, seed: UInt64 = 0, _ function: ([Variable<Scalar>]) -> Variable<Scalar>
) -> GradientCheckReport<Scalar> {
  let epsilon = epsilon ?? defaultFiniteDifferenceStep()
  var generator = SeededRandomNumberGenerator(seed: seed)
  let outputShape = withoutGradients { function(inputs.map { Variable($0) }).shape }
  let v = Tensor<Scalar>(randomUniform: outputShape, lowerBound: -1, upperBound: 1, using: &generator)
  let u = inputs.map {
    Tensor<Scalar>(randomUniform: $0.shape, lowerBound: -1, upperBound: 1, using: &generator)
  }

  /// s(x) from a first-order backward pass, recorded or not.
  func projectedGradient(_ variables: [Variable<Scalar>], createGraph: Bool) -> Variable<Scalar> {
    let first = gradients(
      of: function(variables), withRespectTo: variables, seed: v, createGraph: createGraph)
    return zip(first, u).map { ($0 * $1).sum() }.reduce(Variable(Tensor(0))) { $0 + $1 }
  }

  let variables = inputs.map { Variable($0, requiresGrad: true) }
  let analytic = gradients(of: projectedGradient(variables, createGraph: true), withRespectTo: variables)
    .map(\.value)
  return finiteDifferenceReport(
    at: inputs, analytic: analytic, epsilon: epsilon, absoluteTolerance: absoluteTolerance,
    relativeTolerance: relativeTolerance
  ) { point in
    projectedGradient(point.map { Variable($0, requiresGrad: true) }, createGraph: false).value.scalar
  }
}
