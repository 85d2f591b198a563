import BackpropTensor

/// J = ½ Σ (p − e)², one node for the articles' four steps (a difference, its square, a sum and
/// a half), which graph pictures, chain-rule traces and backward-pass pages still show as those
/// four steps (``recordSteps(on:)``).
///
/// ∂J/∂p = p − e: the half cancels the square's 2. The upstream gradient g (one element) gives
/// g·(p − e) for the prediction and g·(e − p) for a target that is an input. These are the bits
/// of the four steps' pullbacks: those compute (g·½)·d twice and add the two, which is g·d
/// exactly.
struct SquaredError<Scalar: TensorScalar>: ShownAsSteps {
  /// The target when it is a constant tensor rather than the operation's second input.
  let constantTarget: Tensor<Scalar>?
  var name: String { "squaredError" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? {
    t.input == 0 ? "\(t.operand(0)) − \(t.operand(1))" : "\(t.operand(1)) − \(t.operand(0))"
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
    let gradient = g * difference(inputs)
    guard constantTarget == nil else { return Operands(gradient) }
    return Operands(needed[0] ? gradient : nil, needed[1] ? -gradient : nil)
  }
  /// The four steps, recorded on `inputs`: `((p − e)·(p − e)).sum() · 0.5`, the difference named
  /// `"(<p> − <e>)"` when the prediction has a name (`y` for a constant or unnamed target).
  func recordSteps(on inputs: [Variable<Scalar>]) -> Variable<Scalar> {
    let predicted = inputs[0]
    let difference = constantTarget.map { predicted - $0 } ?? predicted - inputs[1]
    if let name = predicted.name {
      difference.name = "(\(name) − \((constantTarget == nil ? inputs[1].name : nil) ?? "y"))"
    }
    return (difference * difference).sum() * 0.5
  }

  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    // dJ = Σ (p − e)·(dp − de).
    let d = difference(inputs)
    let change = constantTarget == nil ? tangentSum(t[0], t[1].map { -$0 }) : t[0]!
    return (d * change).unbroadcasted(to: output.shape)
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
  let difference = predicted.value - target.value
  return Variable.record(
    SquaredError(constantTarget: nil), predicted, target, value: (difference * difference).sum() * 0.5)
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
  let difference = predicted.value - target
  return Variable.record(
    SquaredError(constantTarget: target), predicted, value: (difference * difference).sum() * 0.5)
}
