import BackpropTensor

/// z = a where the condition is not zero, b elsewhere. Each element of z is one element of a or
/// of b, so a's gradient is the upstream gradient where the condition holds (summed back to a's
/// shape), and b's where it does not. The condition is the operation's first input, a constant.
struct Select<Scalar: TensorScalar>: DifferentiableOperation {
  var name: String { "select" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    let chosen = inputs[0].tensor.broadcasted(to: g.shape).mask { $0 != 0 }
    return Operands([
      nil,
      needed[1] ? g.multiplied(byConstant: chosen).unbroadcasted(like: inputs[1]) : nil,
      needed[2] ? g.multiplied(byConstant: 1 - chosen).unbroadcasted(like: inputs[2]) : nil,
    ])
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    let chosen = inputs[0].tensor.broadcasted(to: output.shape).mask { $0 != 0 }
    return tangentSum(
      t[1].map { $0.broadcasted(like: output).multiplied(byConstant: chosen) },
      t[2].map { $0.broadcasted(like: output).multiplied(byConstant: 1 - chosen) })
  }
}

/// `a` where `condition` is not zero and `b` elsewhere (`torch.where(condition != 0, a, b)`);
/// the three broadcast together. Masks come from comparisons such as `x.value .> 0`.
///
/// Gradient: the upstream gradient flows to `a` where the condition holds and to `b` elsewhere;
/// none flows to the condition.
/// - Precondition: the three shapes broadcast.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func select<Scalar>(_ condition: Tensor<Scalar>, _ a: Variable<Scalar>, _ b: Variable<Scalar>)
  -> Variable<Scalar>
{
  Variable.record(
    Select(), Operands([Variable(condition), a, b]), value: select(condition, a.value, b.value))
}
