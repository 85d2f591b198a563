import BackpropTensor

/// z = min(max(x, lower), upper). ∂z/∂x = 1 strictly inside the range and 0 outside; at the
/// bounds themselves 0, PyTorch's current rule for `clamp`.
struct Clamp<Scalar: TensorScalar>: DifferentiableOperation {
  let lower: Scalar
  let upper: Scalar
  var name: String { "clamped" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? {
    "1 (\(lower) < \(t.differentiated) < \(upper))"
  }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    let (lower, upper) = (lower, upper)
    return Operands(g.multiplied(byConstant: inputs[0].tensor.mask { lower < $0 && $0 < upper }))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    let (lower, upper) = (lower, upper)
    return t[0]!.multiplied(byConstant: inputs[0].tensor.mask { lower < $0 && $0 < upper })
  }
}

extension Variable {
  /// Each element clamped to `range`.
  ///
  /// Gradient: 1 where `range.lowerBound < x < range.upperBound`, 0 elsewhere (at the bounds
  /// too, as PyTorch does).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func clamped(to range: ClosedRange<Scalar>) -> Variable {
    Variable.record(
      Clamp(lower: range.lowerBound, upper: range.upperBound), self, value: value.clamped(to: range)
    )
  }
}
