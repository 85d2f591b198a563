import BackpropTensor

/// J = c·Σ (p − e)², one node for the steps a difference, its square, a sum and a constant
/// factor: c = ½ for the articles' `squaredError`, 1/n for `meanSquaredError` over n elements
/// (whose sum and factor are what `mean()` records). Graph pictures, chain-rule traces and
/// backward-pass pages still show those steps (``recordSteps(on:)``).
///
/// ∂J/∂p = 2c·(p − e). The pullback computes, for the upstream gradient g (one element),
/// t = (g·c)·(p − e) and t + t for the prediction, −(t + t) for a target that is an input: the
/// steps' own pullbacks in the same order (the factor's, the sum's broadcast, the square's two
/// products added), so the gradients are their bits.
struct SquaredError<Scalar: TensorScalar>: ShownAsSteps {
  /// The target when it is a constant tensor rather than the operation's second input.
  let constantTarget: Tensor<Scalar>?
  /// `true` for the mean, c = 1/n; `false` for c = ½. (c itself is not stored: with it the
  /// operation outgrew an existential's inline buffer, and every node boxed it.)
  let isMean: Bool
  var name: String { isMean ? "meanSquaredError" : "squaredError" }

  /// The value c·Σ (p − e)², computed as the steps compute it.
  static func value(_ difference: Tensor<Scalar>, isMean: Bool) -> Tensor<Scalar> {
    let squares = difference * difference
    return isMean ? squares.sum() * (1 / Scalar(difference.scalarCount)) : squares.sum() * 0.5
  }

  /// p − e, as the algebra's value: recorded from the prediction for higher order.
  private func difference<G: GradientAlgebra<Scalar>>(_ inputs: PullbackInputs<G>) -> G {
    guard let constantTarget else { return inputs[0] - inputs[1] }
    if G._recordsOperations {
      return unsafeBitCast((inputs[0] as! Variable<Scalar>) - constantTarget, to: G.self)
    }
    return unsafeBitCast(inputs[0].tensor - constantTarget, to: G.self)
  }

  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    let factor = isMean ? 1 / Scalar(inputs[0].tensor.scalarCount) : 0.5
    let half = (g * factor) * difference(inputs)
    let gradient = half + half
    guard constantTarget == nil else { return Operands(gradient) }
    return Operands(needed[0] ? gradient : nil, needed[1] ? -gradient : nil)
  }

  /// The steps, recorded on `inputs`: `((p − e)·(p − e)).sum() · ½`, or `.mean()`, the
  /// difference named `"(<p> − <e>)"` when the prediction has a name (`y` for a constant or
  /// unnamed target).
  func recordSteps(on inputs: [Variable<Scalar>]) -> Variable<Scalar> {
    let predicted = inputs[0]
    let difference = constantTarget.map { predicted - $0 } ?? predicted - inputs[1]
    if let name = predicted.name {
      difference.name = "(\(name) − \((constantTarget == nil ? inputs[1].name : nil) ?? "y"))"
    }
    let squares = difference * difference
    return isMean ? squares.mean() : squares.sum() * 0.5
  }

  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    // dJ = 2c·Σ (p − e)·(dp − de).
    let change = constantTarget == nil ? tangentSum(t[0], t[1].map { -$0 }) : t[0]!
    let factor = isMean ? 1 / Scalar(inputs[0].tensor.scalarCount) : 0.5
    return ((difference(inputs) * change) * (2 * factor)).unbroadcasted(to: output.shape)
  }
}

/// The articles' cost J = ½ Σ (p − e)², summed over every element, as a rank-0 variable.
///
/// Gradient: ∂J/∂p = p − e (the ½ cancels the 2 of the square), ∂J/∂e = e − p.
/// - Parameters:
///   - predicted: The network's output.
///   - target: The target, of the same shape as `predicted`.
/// - Precondition: the shapes are equal (as for `meanSquaredError`).
///
/// It is recorded as one operation. Graph pictures, chain-rule traces and backward-pass pages
/// show its four steps, a difference, its square, a sum and a half; when `predicted` has a name,
/// the difference is named `"(<predicted> − <target>)"` (`y` for an unnamed target).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func squaredError<Scalar>(predicted: Variable<Scalar>, target: Variable<Scalar>) -> Variable<Scalar> {
  checkLossShapes("squaredError(predicted:target:)", predicted.value, target.value)
  return Variable.record(
    SquaredError(constantTarget: nil, isMean: false), predicted, target,
    value: SquaredError.value(predicted.value - target.value, isMean: false))
}

/// The articles' cost J = ½ Σ (p − e)² against a constant target.
///
/// Gradient: ∂J/∂p = p − e.
/// - Precondition: the shapes are equal.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func squaredError<Scalar>(predicted: Variable<Scalar>, target: Tensor<Scalar>) -> Variable<Scalar> {
  checkLossShapes("squaredError(predicted:target:)", predicted.value, target)
  // The target stays a tensor: no leaf is recorded for it.
  return Variable.record(
    SquaredError(constantTarget: target, isMean: false), predicted,
    value: SquaredError.value(predicted.value - target, isMean: false))
}
