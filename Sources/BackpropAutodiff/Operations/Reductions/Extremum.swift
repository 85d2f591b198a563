import BackpropTensor

/// z = max x (or min x) over some axes. The gradient flows to the elements equal to the
/// extreme; when several tie, they share it equally (PyTorch's `amax`/`amin`): each gets
/// g / (number of ties). The tie pattern is a constant of the function almost everywhere.
struct Extremum<Scalar: TensorScalar>: DifferentiableOperation {
  /// The reduced axes, non-negative; `nil` for every axis with a rank-0 result.
  let axes: [Int]?
  let isMaximum: Bool
  var name: String { isMaximum ? "max" : "min" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "1 if extreme (shared by ties)" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    let x = inputs[0].tensor
    let ties = x .== output.tensor
    let counts = axes.map { ties.sum(alongAxes: $0) } ?? ties.sum()
    return Operands(g.broadcasted(to: x.shape).multiplied(byConstant: ties / counts))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    let x = inputs[0].tensor
    let ties = x .== output.tensor
    let counts = axes.map { ties.sum(alongAxes: $0) } ?? ties.sum()
    return t[0]!.multiplied(byConstant: ties / counts).unbroadcasted(to: output.shape)
  }
}

extension Variable {
  /// The largest elements along `axes`, keeping each reduced axis with extent 1 (as
  /// ``sum(alongAxes:)`` does; PyTorch's `amax(dim, keepdim=True)`).
  ///
  /// Gradient: 1 at the largest element of each reduced group, 0 elsewhere; ties share the
  /// gradient equally.
  /// - Precondition: every axis is in `-rank..<rank` and the reduced extents are not zero.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func max(alongAxes axes: [Int]) -> Variable {
    extremum(alongAxes: axes, isMaximum: true, value: value.max(alongAxes: axes))
  }

  /// The smallest elements along `axes`, keeping each reduced axis with extent 1.
  ///
  /// Gradient: 1 at the smallest element of each reduced group, 0 elsewhere; ties share it.
  /// - Precondition: every axis is in `-rank..<rank` and the reduced extents are not zero.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func min(alongAxes axes: [Int]) -> Variable {
    extremum(alongAxes: axes, isMaximum: false, value: value.min(alongAxes: axes))
  }

  /// The largest element, as a rank-0 variable.
  ///
  /// Gradient: 1 at the largest element, 0 elsewhere; ties share the gradient equally.
  /// - Precondition: the variable is not empty.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func max() -> Variable {
    Variable.record(Extremum(axes: nil, isMaximum: true), self, value: value.max())
  }

  /// The smallest element, as a rank-0 variable.
  ///
  /// Gradient: 1 at the smallest element, 0 elsewhere; ties share the gradient equally.
  /// - Precondition: the variable is not empty.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func min() -> Variable {
    Variable.record(Extremum(axes: nil, isMaximum: false), self, value: value.min())
  }

  private func extremum(alongAxes axes: [Int], isMaximum: Bool, value: Tensor<Scalar>) -> Variable {
    let rank = self.value.rank
    let normalized = axes.map { $0 < 0 ? $0 + rank : $0 }
    return Variable.record(Extremum(axes: normalized, isMaximum: isMaximum), self, value: value)
  }
}
