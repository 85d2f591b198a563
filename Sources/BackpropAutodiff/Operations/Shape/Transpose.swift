import BackpropTensor

/// z = x with its axes permuted: z's axis i is x's axis p[i]. The gradient is the upstream
/// gradient permuted back by the inverse permutation.
struct Transpose<Scalar: TensorScalar>: DifferentiableOperation {
  let permutation: [Int]
  var name: String { "transpose" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "1" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    var inverse = permutation
    for (i, axis) in permutation.enumerated() { inverse[axis] = i }
    return Operands(g.transposed(permutation: inverse))
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    t[0]!.transposed(permutation: permutation)
  }
}

extension Variable {
  /// The variable with its axes in reverse order (the matrix transpose for rank 2).
  ///
  /// Gradient: the upstream gradient transposed back.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func transposed() -> Variable {
    transposed(permutation: Array((0..<value.rank).reversed()))
  }

  /// The variable with its axes permuted: axis `i` of the result is axis `permutation[i]`.
  ///
  /// Gradient: the upstream gradient permuted by the inverse permutation.
  /// - Precondition: `permutation` is a permutation of `0..<rank`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func transposed(permutation: [Int]) -> Variable {
    Variable.record(
      Transpose(permutation: permutation), self, value: value.transposed(permutation: permutation))
  }
}
