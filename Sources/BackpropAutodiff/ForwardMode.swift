import BackpropTensor

/// The value of `function` at `points` and its directional derivative along `tangents`: the
/// Jacobian-vector product J·v = Σᵢ ∂f/∂xᵢ · vᵢ (JAX's `jvp`, PyTorch's `torch.func.jvp`).
///
/// ```swift
/// let (value, tangent) = jvp(of: { x in (x[0] * x[1]).sum() }, at: [a, b], tangents: [da, db])
/// // tangent = Σ (da·b + a·db)
/// ```
///
/// The function runs once, on dual variables (see ``Variable/init(_:tangent:requiresGrad:name:)``):
/// each operation computes its value and, with its tangent rule, its output's tangent. The
/// tangents are plain tensors, not recorded.
///
/// The variables handed to `function` require gradients, so `function` may itself call
/// ``gradients(of:withRespectTo:seed:createGraph:)`` with `createGraph: true` on them: the `jvp`
/// of a gradient is a Hessian-vector product (forward over reverse). So the function's graph is
/// recorded while it runs, and freed when `jvp` returns. Inside ``withoutGradients(_:)`` the
/// variables require no gradient and nothing is recorded: each operation's value and tangent die
/// as soon as the next operation has read them, so memory does not grow with the depth of the
/// function (as under PyTorch's `no_grad`, tangents still flow):
///
/// ```swift
/// let (y, jv) = withoutGradients { jvp(of: network, at: x, tangent: v) }   // keeps no tape
/// ```
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
  var mode = GradientMode.current
  mode.recordsTangents = false
  return GradientMode.with(mode) {
    let inputs = zip(points, tangents).map { Variable($0, tangent: $1, requiresGrad: mode.isRecording) }
    let output = function(inputs)
    checkDifferentiable("jvp(of:at:tangents:)", output)
    return (output.value, output.tangent?.value ?? Tensor(zeros: output.shape))
  }
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
/// In forward mode each column J·eⱼ is the tangent of one run of the function on a dual variable
/// with the unit tangent eⱼ; in reverse mode each row is one backward pass seeded with a unit
/// vector. Both give the same numbers up to rounding.
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
    var direction = Tensor<Scalar>(zeros: point.shape)
    for j in 0..<columns {
      direction[scalarAt: j] = 1
      let column = function(Variable(point, tangent: direction)).tangent?.value.scalars
      direction[scalarAt: j] = 0
      guard let column else { continue }
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
    output.requiresGrad || output.node.pointee.carriesTangent,
    "\(call): the function returned a constant of shape \(output.shape), computed without its inputs")
}

/// Compares forward mode with central finite differences, like PyTorch's `gradcheck` with
/// `check_forward_ad=True`: for every scalar xⱼ of every input, the Jacobian-vector product along
/// the unit direction eⱼ (a column of J) against (f(x + ε eⱼ) − f(x − ε eⱼ)) / 2ε, element by
/// element of the output. A pair passes when |forward − estimate| ≤ atol + rtol·|estimate|.
///
/// Each column is the tangent of one run on dual variables, so the operations' tangent rules are
/// what is checked. Run it in `Double`: in `Float` the differences are dominated by
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
  let output = function(inputs.map { Variable($0, requiresGrad: true) })
  checkDifferentiable("checkForwardGradients(at:_:)", output)
  var worst: GradientCheckReport<Scalar>.Element? = nil
  var count = 0
  var point = inputs
  for (i, input) in inputs.enumerated() {
    var direction = Tensor<Scalar>(zeros: input.shape)
    for j in 0..<input.scalarCount {
      direction[scalarAt: j] = 1
      let duals = inputs.indices.map {
        $0 == i ? Variable(inputs[$0], tangent: direction) : Variable(inputs[$0])
      }
      direction[scalarAt: j] = 0
      let column = function(duals).tangent?.value ?? Tensor<Scalar>(zeros: output.shape)
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
