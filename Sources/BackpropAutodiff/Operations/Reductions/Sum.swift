import BackpropTensor

/// z = Σ x over some axes. Each input element contributes once to its sum, so the gradient is
/// the upstream gradient (reshaped to keep the reduced axes with extent 1) broadcast back to
/// x's shape.
struct Sum<Scalar: TensorScalar>: DifferentiableOperation {
  /// The result's shape with reduced axes kept as extent 1; `nil` for the sum of every element,
  /// whose rank-0 result broadcasts back as it is.
  let keptShape: [Int]?
  var name: String { "sum" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "1" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    guard let keptShape else { return Operands(g.broadcasted(to: inputs[0].shape)) }
    return Operands(g.reshaped(to: keptShape).broadcasted(to: inputs[0].shape))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    guard let keptShape else { return t[0]!.unbroadcasted(to: output.shape) }
    return t[0]!.unbroadcasted(to: keptShape).reshaped(to: output.shape)
  }

  /// The sum of every element has nothing to capture: its closure needs no heap context.
  var _tensorPullback: TensorPullback<Scalar> {
    guard let keptShape else {
      return { Self(keptShape: nil).pullback($0, inputs: $1, output: $2, needed: $3) }
    }
    return { Self(keptShape: keptShape).pullback($0, inputs: $1, output: $2, needed: $3) }
  }
}

extension Variable {
  /// The sum of all elements, as a rank-0 variable.
  ///
  /// Gradient: ∂(Σ x)/∂xᵢ = 1 — the upstream scalar broadcast to every element.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func sum() -> Variable {
    Variable.record(Sum(keptShape: nil), self, value: value.sum())
  }

  /// The sums along `axes`, keeping each reduced axis with extent 1.
  ///
  /// Gradient: the upstream gradient broadcast back along the reduced axes.
  /// - Precondition: every axis is in `-rank..<rank` (negative axes count from the end).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func sum(alongAxes axes: [Int]) -> Variable {
    let result = value.sum(alongAxes: axes)
    return Variable.record(Sum(keptShape: result.shape), self, value: result)
  }

  /// The sums along `axes`, removing the reduced axes.
  ///
  /// Gradient: the upstream gradient broadcast back along the reduced axes.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func sum(squeezingAxes axes: [Int]) -> Variable {
    let kept = value.sum(alongAxes: axes)
    return Variable.record(Sum(keptShape: kept.shape), self, value: value.sum(squeezingAxes: axes))
  }
}
