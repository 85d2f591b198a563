import BackpropTensor

/// A gradient you derived by hand, to compare with the tape and with finite differences by
/// ``checkDerivation(_:absoluteTolerance:relativeTolerance:epsilon:loss:)``.
///
/// Claim the gradient at a leaf (a parameter or an input created with `requiresGrad: true`), or
/// at an intermediate result that the loss closure marks with a ``DerivationProbe``:
///
/// ```swift
/// HandGradient("dJ/dW2", of: w2, equals: hidden * delta2)
/// HandGradient("layer1_delta", atProbe: "hidden pre-activation", equals: delta1)
/// ```
public struct HandGradient<Scalar: TensorScalar> {
  enum Target {
    case leaf(Variable<Scalar>)
    case probe(String)
  }

  /// The claim's name in the report, e.g. `"dJ/dW1"`.
  public let name: String
  /// The hand-derived gradient.
  public let value: Tensor<Scalar>
  let target: Target

  /// The gradient of the loss with respect to a leaf variable.
  ///
  /// - Parameters:
  ///   - name: The claim's name in the report.
  ///   - variable: A leaf the loss closure reads; its `value` is perturbed (and restored) for the
  ///     finite differences.
  ///   - value: Your gradient, of the variable's shape.
  public init(_ name: String, of variable: Variable<Scalar>, equals value: Tensor<Scalar>) {
    self.name = name
    self.value = value
    self.target = .leaf(variable)
  }

  /// The gradient of the loss with respect to an intermediate result marked in the loss closure
  /// with `probe(probeName, result)`.
  ///
  /// - Parameters:
  ///   - name: The claim's name in the report.
  ///   - probeName: The name given to the ``DerivationProbe``.
  ///   - value: Your gradient, of the marked result's shape.
  public init(_ name: String, atProbe probeName: String, equals value: Tensor<Scalar>) {
    self.name = name
    self.value = value
    self.target = .probe(probeName)
  }
}

/// Marks intermediate results inside the loss closure of
/// ``checkDerivation(_:absoluteTolerance:relativeTolerance:epsilon:loss:)`` so that claims can
/// name them.
///
/// `probe("hidden", z)` returns z + δ for a zero tensor δ owned by the check: the loss's gradient
/// with respect to δ is its gradient at z, and perturbing δ gives finite differences at z. The
/// value is unchanged.
public struct DerivationProbe<Scalar: TensorScalar> {
  final class Offsets {
    var byName: [String: Variable<Scalar>] = [:]
  }

  let offsets: Offsets

  /// Marks `value` as the intermediate result called `name`, and returns it (plus a zero offset).
  ///
  /// - Precondition: a name always marks a result of the same shape.
  public func callAsFunction(_ name: String, _ value: Variable<Scalar>) -> Variable<Scalar> {
    let offset: Variable<Scalar>
    if let existing = offsets.byName[name] {
      check(
        existing.shape == value.shape,
        "DerivationProbe: \"\(name)\" marked shapes \(existing.shape) and \(value.shape)")
      offset = existing
    } else {
      offset = Variable(Tensor(zeros: value.shape), requiresGrad: true, name: name)
      offsets.byName[name] = offset
    }
    return value + offset
  }
}

/// The outcome of ``checkDerivation(_:absoluteTolerance:relativeTolerance:epsilon:loss:)``: each
/// element of each claim with its hand, tape and finite-difference values.
public struct DerivationReport<Scalar: TensorScalar>: CustomStringConvertible {
  /// One element of one claimed gradient.
  public struct Element: Sendable {
    /// The claim's name.
    public let name: String
    /// The element's multi-dimensional index (`[]` for a scalar).
    public let index: [Int]
    /// Your value.
    public let hand: Scalar
    /// The tape's value.
    public let tape: Scalar
    /// The central-difference estimate.
    public let numeric: Scalar
    /// |hand − tape| within tolerance.
    public let handMatchesTape: Bool
    /// |tape − numeric| within tolerance.
    public let tapeMatchesNumeric: Bool
    /// Both comparisons hold.
    public var passed: Bool { handMatchesTape && tapeMatchesNumeric }
  }

  /// Every compared element, claim by claim, in row-major order.
  public let elements: [Element]

  /// `true` when every element's hand value matches the tape and the tape matches finite
  /// differences.
  public var passed: Bool { elements.allSatisfy(\.passed) }

  /// The elements that failed either comparison.
  public var mismatches: [Element] { elements.filter { !$0.passed } }

  /// The largest |hand − tape| over all elements.
  public var largestHandTapeDifference: Scalar {
    elements.reduce(0) { Swift.max($0, Swift.abs($1.hand - $1.tape)) }
  }

  /// A summary line and, on failure, one line per mismatching element (at most 20):
  /// name, index, hand, tape and finite-difference values.
  public var description: String {
    let claims = Set(elements.map(\.name)).count
    let bad = mismatches
    var lines = [
      "derivation check \(bad.isEmpty ? "passed" : "FAILED"): \(claims) claims, \(elements.count) elements, "
        + "\(bad.count) mismatches; largest |hand − tape| \(largestHandTapeDifference)"
    ]
    for element in bad.prefix(20) {
      let why =
        element.handMatchesTape ? "tape ≠ finite differences" : "hand ≠ tape"
      lines.append(
        "  ✗ \(element.name) \(element.index): hand \(element.hand), tape \(element.tape), "
          + "finite differences \(element.numeric) (\(why))")
    }
    if bad.count > 20 { lines.append("  … and \(bad.count - 20) more") }
    return lines.joined(separator: "\n")
  }
}

/// Checks gradients you derived by hand against the tape, and the tape against central finite
/// differences, element by element.
///
/// Use it in Swift Testing or XCTest to check a derivation:
///
/// ```swift
/// let w = Variable(Tensor<Double>([[0.1, 0.2], [0.3, 0.4]]), requiresGrad: true)
/// let x = Tensor<Double>([[1, 0]])
/// // By hand: J = ½Σ(xW)², so dJ/dW = xᵀ(xW).
/// let hand = matmul(x, matmul(x, w.value), transposeA: true)
/// let report = checkDerivation([HandGradient("dJ/dW", of: w, equals: hand)]) { _ in
///   squaredError(predicted: matmul(Variable(x), w), target: Tensor(zeros: [1, 2]))
/// }
/// #expect(report.passed, "\(report)")
/// ```
///
/// An element passes when |hand − tape| ≤ atol + rtol·|tape| and
/// |tape − numeric| ≤ atol + rtol·|numeric|, where numeric = (J(θ + ε) − J(θ − ε)) / 2ε.
/// Run it in `Double`: in `Float` finite differences are dominated by rounding.
///
/// - Parameters:
///   - claims: Your gradients, each of a leaf or of a probe in `loss`.
///   - absoluteTolerance: atol, 1e-5 by default.
///   - relativeTolerance: rtol, 1e-3 by default.
///   - epsilon: The finite-difference step ε; 1e-6 for `Double` and 1e-3 for `Float` by default.
///   - loss: Builds the one-element loss from the claimed leaves' current values; it is called
///     once on the tape and twice per element without recording. Mark intermediate results
///     with the ``DerivationProbe`` it receives.
/// - Returns: The per-element report.
/// - Precondition: the loss holds one scalar, each hand gradient has its target's shape, and
///   every probe a claim names is marked by `loss`.
public func checkDerivation<Scalar>(
  _ claims: [HandGradient<Scalar>], absoluteTolerance: Scalar = 1e-5, relativeTolerance: Scalar = 1e-3,
  epsilon: Scalar? = nil, loss: (DerivationProbe<Scalar>) -> Variable<Scalar>
) -> DerivationReport<Scalar> {
  let epsilon = epsilon ?? defaultFiniteDifferenceStep()
  let probe = DerivationProbe<Scalar>(offsets: .init())
  let output = loss(probe)
  check(
    output.value.scalarCount == 1, "checkDerivation: the loss must hold one scalar, got shape \(output.shape)"
  )
  let targets = claims.map { claim -> Variable<Scalar> in
    let variable: Variable<Scalar>
    switch claim.target {
    case .leaf(let leaf): variable = leaf
    case .probe(let name):
      guard let offset = probe.offsets.byName[name] else {
        checkFailed(
          "checkDerivation: claim \"\(claim.name)\" names probe \"\(name)\", which loss never marked")
      }
      variable = offset
    }
    check(
      variable.shape == claim.value.shape,
      "checkDerivation: claim \"\(claim.name)\" has shape \(claim.value.shape), its variable \(variable.shape)"
    )
    return variable
  }
  let tape = gradients(of: output, withRespectTo: targets).map(\.value)

  func evaluate() -> Scalar { withoutGradients { loss(probe).value[scalarAt: 0] } }
  func within(_ a: Scalar, _ b: Scalar) -> Bool {
    Swift.abs(a - b) <= absoluteTolerance + relativeTolerance * Swift.abs(b)
  }

  var elements: [DerivationReport<Scalar>.Element] = []
  for (claim, (variable, tapeGradient)) in zip(claims, zip(targets, tape)) {
    for j in 0..<claim.value.scalarCount {
      let numeric = centralDifference(
        at: variable.value[scalarAt: j], epsilon: epsilon, set: { variable.value[scalarAt: j] = $0 },
        evaluate: evaluate)
      let hand = claim.value[scalarAt: j]
      let fromTape = tapeGradient[scalarAt: j]
      elements.append(
        .init(
          name: claim.name, index: multiIndex(j, in: claim.value.shape), hand: hand, tape: fromTape,
          numeric: numeric, handMatchesTape: within(hand, fromTape),
          tapeMatchesNumeric: within(fromTape, numeric)))
    }
  }
  return DerivationReport(elements: elements)
}
