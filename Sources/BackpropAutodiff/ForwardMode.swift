import BackpropTensor

// Forward mode by transposing reverse mode. An operation's pullback u ↦ Jᵀu is linear in u, so
// when the backward pass is recorded with a variable u as its seed, J·v is the gradient of
// ⟨Jᵀu, v⟩ with respect to u. This needs nothing from an operation beyond its pullback, so every
// operation whose pullback can be recorded works, a custom one included.

/// The value of `function` at `points` and its directional derivative along `tangents`: the
/// Jacobian-vector product J·v = Σᵢ ∂f/∂xᵢ · vᵢ (JAX's `jvp`, PyTorch's `torch.func.jvp`).
///
/// ```swift
/// let (value, tangent) = jvp(of: { x in (x[0] * x[1]).sum() }, at: [a, b], tangents: [da, db])
/// // tangent = Σ (da·b + a·db)
/// ```
///
/// The variables handed to `function` require gradients, so `function` may itself call
/// ``gradients(of:withRespectTo:seed:createGraph:)`` with `createGraph: true` on them: the `jvp`
/// of a gradient is a Hessian-vector product (forward over reverse).
///
/// J·v comes from transposing reverse mode: the backward pass from the output is recorded with a
/// variable u as its seed, which gives Jᵀu as a function of u, and J·v is the gradient of
/// ⟨Jᵀu, v⟩ with respect to u. It costs about three passes over the function, and the function's
/// graph is kept while it runs. Every operation whose pullback supports higher orders works;
/// one written on tensors (``FirstOrderOperation``) stops with a message naming it.
///
/// - Parameters:
///   - function: A differentiable function of its input variables.
///   - points: Where to evaluate: one tensor per input.
///   - tangents: The direction v: one tensor per input, of its point's shape.
/// - Returns: f(x) and J·v, of the output's shape.
/// - Precondition: as many tangents as points, each of its point's shape, and an output computed
///   from the inputs (not a constant).
public func jvp<Scalar>(
  of function: ([Variable<Scalar>]) -> Variable<Scalar>, at points: [Tensor<Scalar>],
  tangents: [Tensor<Scalar>]
) -> (value: Tensor<Scalar>, tangent: Tensor<Scalar>) {
  checkTangents("jvp(of:at:tangents:)", points: points, tangents: tangents)
  let inputs = points.map { Variable($0, requiresGrad: true) }
  let output = function(inputs)
  checkDifferentiable("jvp(of:at:tangents:)", output)
  let (transposed, u) = recordedTranspose(of: output, withRespectTo: inputs)
  var projection = Variable(Tensor<Scalar>(0))
  for (gradient, tangent) in zip(transposed, tangents) {
    projection = projection + (gradient * tangent).sum()
  }
  guard projection.requiresGrad else { return (output.value, Tensor(zeros: output.shape)) }
  return (output.value, gradients(of: projection, withRespectTo: [u])[0].value)
}

/// ``jvp(of:at:tangents:)`` for a function of one input: f(x) and J·v.
///
/// - Parameters:
///   - function: A differentiable function of one variable.
///   - point: Where to evaluate.
///   - tangent: The direction v, of the point's shape.
/// - Returns: f(x) and J·v, of the output's shape.
/// - Precondition: `tangent.shape == point.shape`, and the output is computed from the input.
public func jvp<Scalar>(
  of function: (Variable<Scalar>) -> Variable<Scalar>, at point: Tensor<Scalar>, tangent: Tensor<Scalar>
) -> (value: Tensor<Scalar>, tangent: Tensor<Scalar>) {
  checkTangents("jvp(of:at:tangent:)", points: [point], tangents: [tangent])
  return jvp(of: { function($0[0]) }, at: [point], tangents: [tangent])
}

/// How ``jacobian(of:at:mode:)`` computes a Jacobian.
public enum JacobianMode: Sendable {
  /// One Jacobian-vector product per element of the input (JAX's `jacfwd`): cheaper when the
  /// input has fewer elements than the output.
  case forward
  /// One backward pass per element of the output (JAX's `jacrev`): cheaper when the output has
  /// fewer elements than the input.
  case reverse
  /// ``forward`` when the input has fewer elements than the output, else ``reverse``.
  case automatic
}

/// The Jacobian of `function` at `point`, in forward or reverse mode: J[i…, j…] = ∂ f(x)[i…] /
/// ∂ x[j…].
///
/// In forward mode the function's backward pass is recorded once with a variable seed u (giving
/// Jᵀu), and each column J·eⱼ is the gradient of (Jᵀu)ⱼ with respect to u; in reverse mode each
/// row is one backward pass seeded with a unit vector. Both give the same numbers up to rounding.
///
/// ```swift
/// let j = jacobian(of: { softmax($0) }, at: Tensor<Double>([1, 2, 3]))   // diag(p) − ppᵀ
/// ```
///
/// - Parameters:
///   - function: A differentiable function of one tensor.
///   - point: Where to evaluate the Jacobian.
///   - mode: ``JacobianMode/automatic`` by default: forward when the input has fewer elements
///     than the output.
/// - Returns: A tensor of shape `output.shape + point.shape`.
/// - Precondition: in forward mode, the output is computed from the input (not a constant).
public func jacobian<Scalar>(
  of function: (Variable<Scalar>) -> Variable<Scalar>, at point: Tensor<Scalar>,
  mode: JacobianMode = .automatic
) -> Tensor<Scalar> {
  let x = Variable(point, requiresGrad: true)
  let y = function(x)
  let forward =
    switch mode {
    case .forward: true
    case .reverse: false
    case .automatic: point.scalarCount < y.value.scalarCount
    }
  let (rows, columns) = (y.value.scalarCount, point.scalarCount)
  var scalars = [Scalar](repeating: 0, count: rows * columns)
  if forward {
    checkDifferentiable("jacobian(of:at:mode: .forward)", y)
    let (transposed, u) = recordedTranspose(of: y, withRespectTo: [x])
    let columnsOfJ = transposed[0].reshaped(to: [columns])
    for j in 0..<columns where columnsOfJ.requiresGrad {
      let column = gradients(of: columnsOfJ[j], withRespectTo: [u])[0].value.scalars
      for i in 0..<rows { scalars[i * columns + j] = column[i] }
    }
  } else {
    var seed = Tensor<Scalar>(zeros: y.shape)
    for i in 0..<rows {
      seed[scalarAt: i] = 1
      let row = gradients(of: y, withRespectTo: [x], seed: seed)[0].value.scalars
      for j in 0..<columns { scalars[i * columns + j] = row[j] }
      seed[scalarAt: i] = 0
    }
  }
  return Tensor(scalars).reshaped(to: y.shape + point.shape)
}

/// The backward pass from `output` to `inputs`, recorded with a seed variable u (zeros of the
/// output's shape, requiring a gradient): each result is Jᵢᵀu as a function of u.
private func recordedTranspose<Scalar>(
  of output: Variable<Scalar>, withRespectTo inputs: [Variable<Scalar>]
) -> (transposed: [Variable<Scalar>], seed: Variable<Scalar>) {
  let u = Variable(Tensor<Scalar>(zeros: output.shape), requiresGrad: true)
  return (Tape.gradients(of: output, withRespectTo: inputs, seed: u), u)
}

/// Stops unless there are as many tangents as points, each of its point's shape.
private func checkTangents<Scalar>(_ call: String, points: [Tensor<Scalar>], tangents: [Tensor<Scalar>]) {
  check(points.count == tangents.count, "\(call): \(tangents.count) tangents for \(points.count) points")
  for (position, (point, tangent)) in zip(points, tangents).enumerated() {
    check(
      point.shape == tangent.shape,
      "\(call): tangent \(position) has shape \(tangent.shape), its point has shape \(point.shape)")
  }
}

/// Stops when `output` does not depend on the function's inputs: it has no derivative to push
/// forward.
private func checkDifferentiable<Scalar>(_ call: String, _ output: Variable<Scalar>) {
  check(
    output.requiresGrad,
    "\(call): the function returned a constant of shape \(output.shape), computed without its inputs")
}

/// Compares forward mode with central finite differences, like PyTorch's `gradcheck` with
/// `check_forward_ad=True`: for every scalar xⱼ of every input, the Jacobian-vector product along
/// the unit direction eⱼ (a column of J) against (f(x + ε eⱼ) − f(x − ε eⱼ)) / 2ε, element by
/// element of the output. A pair passes when |forward − estimate| ≤ atol + rtol·|estimate|.
///
/// The columns come from the function's backward pass recorded once with a seed variable, as in
/// ``jacobian(of:at:mode:)``. Run it in `Double`: in `Float` the differences are dominated by
/// rounding.
///
/// - Parameters:
///   - inputs: The point at which to check.
///   - epsilon: The step ε; defaults to 1e-6 for `Double` and 1e-3 for `Float`.
///   - absoluteTolerance: atol, 1e-5 by default (PyTorch's).
///   - relativeTolerance: rtol, 1e-3 by default (PyTorch's).
///   - function: The expression to check, built from its input variables.
/// - Returns: A report with the worst pair: its input, the index of the input's element whose
///   direction was taken, and the output element's forward value and estimate.
/// - Precondition: the output is computed from the inputs (not a constant).
public func checkForwardGradients<Scalar>(
  at inputs: [Tensor<Scalar>], epsilon: Scalar? = nil, absoluteTolerance: Scalar = 1e-5,
  relativeTolerance: Scalar = 1e-3, _ function: ([Variable<Scalar>]) -> Variable<Scalar>
) -> GradientCheckReport<Scalar> {
  let epsilon = epsilon ?? defaultFiniteDifferenceStep()
  let variables = inputs.map { Variable($0, requiresGrad: true) }
  let output = function(variables)
  checkDifferentiable("checkForwardGradients(at:_:)", output)
  let (transposed, u) = recordedTranspose(of: output, withRespectTo: variables)
  var worst: GradientCheckReport<Scalar>.Element? = nil
  var count = 0
  var point = inputs
  for (i, input) in inputs.enumerated() {
    let flattened = transposed[i].reshaped(to: [input.scalarCount])
    for j in 0..<input.scalarCount {
      let column =
        flattened.requiresGrad
        ? gradients(of: flattened[j], withRespectTo: [u])[0].value : Tensor<Scalar>(zeros: output.shape)
      let original = input[scalarAt: j]
      func evaluate(at x: Scalar) -> Tensor<Scalar> {
        point[i][scalarAt: j] = x
        return withoutGradients { function(point.map { Variable($0) }).value }
      }
      let estimate = (evaluate(at: original + epsilon) - evaluate(at: original - epsilon)) / (2 * epsilon)
      point[i][scalarAt: j] = original
      for k in 0..<column.scalarCount {
        let (forward, numeric) = (column[scalarAt: k], estimate[scalarAt: k])
        var ratio =
          Swift.abs(forward - numeric) / (absoluteTolerance + relativeTolerance * Swift.abs(numeric))
        if ratio.isNaN { ratio = .infinity }
        count += 1
        if worst == nil || ratio > worst!.errorRatio {
          worst = .init(
            input: i, index: multiIndex(j, in: input.shape), analytic: forward, numeric: numeric,
            errorRatio: ratio)
        }
      }
    }
  }
  return GradientCheckReport(passed: (worst?.errorRatio ?? 0) <= 1, worst: worst, elementCount: count)
}
