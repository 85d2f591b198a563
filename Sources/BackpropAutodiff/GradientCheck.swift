import BackpropTensor

/// The outcome of ``checkGradients(at:epsilon:absoluteTolerance:relativeTolerance:seed:_:)``.
public struct GradientCheckReport<Scalar: TensorScalar>: CustomStringConvertible {
  /// One compared element of one input.
  public struct Element: Sendable {
    /// Which input (position in the `inputs` array).
    public let input: Int
    /// The element's multi-dimensional index in that input.
    public let index: [Int]
    /// The tape's gradient.
    public let analytic: Scalar
    /// The central-difference estimate.
    public let numeric: Scalar
    /// |analytic − numeric| / (atol + rtol·|numeric|): at most 1 passes.
    public let errorRatio: Scalar
  }

  /// `true` when every element is within tolerance.
  public let passed: Bool
  /// The element with the largest error ratio (`nil` when the inputs are empty).
  public let worst: Element?
  /// How many elements were compared.
  public let elementCount: Int

  /// One line saying whether the check passed and naming the worst element.
  public var description: String {
    guard let worst else { return "gradient check: no elements" }
    return
      "gradient check \(passed ? "passed" : "FAILED") over \(elementCount) elements; worst: input \(worst.input) "
      + "index \(worst.index): tape \(worst.analytic), finite differences \(worst.numeric) "
      + "(error \(worst.errorRatio) × tolerance)"
  }
}

/// Compares the tape's gradient of `function` with central finite differences, like PyTorch's
/// `gradcheck`.
///
/// For each scalar xᵢ of each input, the estimate is (f(x + ε eᵢ) − f(x − ε eᵢ)) / 2ε; an element
/// passes when |tape − estimate| ≤ atol + rtol·|estimate|. A function whose result is not a
/// single scalar is checked through ⟨v, f(x)⟩ for a seeded random upstream gradient v, which
/// tests the vector-Jacobian product the tape computes.
///
/// Run it in `Double`: in `Float` the differences are dominated by rounding.
///
/// - Parameters:
///   - inputs: The point at which to check; each becomes a `Variable` with `requiresGrad`.
///   - epsilon: The step ε; defaults to 1e-6 for `Double` and 1e-3 for `Float`.
///   - absoluteTolerance: atol, 1e-5 by default (PyTorch's).
///   - relativeTolerance: rtol, 1e-3 by default (PyTorch's).
///   - seed: Seeds the random upstream gradient for non-scalar results.
///   - function: The expression to check, built from its input variables.
/// - Returns: A report with the worst element; `passed` tells whether all are within tolerance.
public func checkGradients<Scalar>(
  at inputs: [Tensor<Scalar>], epsilon: Scalar? = nil, absoluteTolerance: Scalar = 1e-5,
  relativeTolerance: Scalar = 1e-3, seed: UInt64 = 0, _ function: ([Variable<Scalar>]) -> Variable<Scalar>
) -> GradientCheckReport<Scalar> {
  let epsilon = epsilon ?? defaultFiniteDifferenceStep()
  let variables = inputs.map { Variable($0, requiresGrad: true) }
  let output = function(variables)
  var generator = SeededRandomNumberGenerator(seed: seed)
  let upstream =
    output.value.scalarCount == 1
    ? Tensor<Scalar>(repeating: 1, shape: output.shape)
    : Tensor<Scalar>(randomUniform: output.shape, lowerBound: -1, upperBound: 1, using: &generator)
  let analytic = gradients(of: output, withRespectTo: variables, seed: upstream).map(\.value)

  return finiteDifferenceReport(
    at: inputs, analytic: analytic, epsilon: epsilon, absoluteTolerance: absoluteTolerance,
    relativeTolerance: relativeTolerance
  ) { point in
    withoutGradients {
      let value = function(point.map { Variable($0) }).value
      return zip(value.scalars, upstream.scalars).reduce(0) { $0 + $1.0 * $1.1 }
    }
  }
}

/// Compares `analytic` gradients of a scalar function with central differences of `evaluate`,
/// element by element, and reports the worst.
func finiteDifferenceReport<Scalar>(
  at inputs: [Tensor<Scalar>], analytic: [Tensor<Scalar>], epsilon: Scalar, absoluteTolerance: Scalar,
  relativeTolerance: Scalar, evaluate: ([Tensor<Scalar>]) -> Scalar
) -> GradientCheckReport<Scalar> {
  var worst: GradientCheckReport<Scalar>.Element? = nil
  var count = 0
  var point = inputs
  for (i, input) in inputs.enumerated() {
    for j in 0..<input.scalarCount {
      let numeric = centralDifference(at: input[scalarAt: j], epsilon: epsilon) {
        point[i][scalarAt: j] = $0
      } evaluate: {
        evaluate(point)
      }
      let tape = analytic[i][scalarAt: j]
      var ratio = Swift.abs(tape - numeric) / (absoluteTolerance + relativeTolerance * Swift.abs(numeric))
      if ratio.isNaN { ratio = .infinity }
      count += 1
      if worst == nil || ratio > worst!.errorRatio {
        worst = .init(
          input: i, index: multiIndex(j, in: input.shape), analytic: tape, numeric: numeric, errorRatio: ratio
        )
      }
    }
  }
  return GradientCheckReport(passed: (worst?.errorRatio ?? 0) <= 1, worst: worst, elementCount: count)
}

/// The finite-difference step the checkers use by default: 1e-6 for `Double`, 1e-3 for `Float`
/// (about the cube root of each type's precision, where a central difference's truncation and
/// rounding errors balance).
func defaultFiniteDifferenceStep<Scalar: TensorScalar>() -> Scalar {
  Scalar.ulpOfOne < 1e-10 ? 1e-6 : 1e-3
}

/// The central difference (f(x + ε) − f(x − ε)) / 2ε at one scalar x = `original`: `set` writes
/// x where `evaluate` reads it, and x is restored afterwards.
func centralDifference<Scalar: TensorScalar>(
  at original: Scalar, epsilon: Scalar, set: (Scalar) -> Void, evaluate: () -> Scalar
) -> Scalar {
  set(original + epsilon)
  let plus = evaluate()
  set(original - epsilon)
  let minus = evaluate()
  set(original)
  return (plus - minus) / (2 * epsilon)
}

/// The multi-dimensional index of row-major offset `offset` in `shape`.
func multiIndex(_ offset: Int, in shape: [Int]) -> [Int] {
  var index = [Int](repeating: 0, count: shape.count)
  var rest = offset
  for d in stride(from: shape.count - 1, through: 0, by: -1) where shape[d] > 0 {
    index[d] = rest % shape[d]
    rest /= shape[d]
  }
  return index
}
