import BackpropTensor

/// z = the inputs joined along `axis`. Each input occupies its own run along the axis, so its
/// gradient is the upstream gradient's slice over that run.
struct Concatenate<Scalar: TensorScalar>: DifferentiableOperation {
  /// Non-negative.
  let axis: Int
  /// Each input's extent along `axis`, in order.
  let extents: [Int]
  var name: String { "concatenate" }
  func derivativeFormula(_ t: DerivativeTerm) -> String? { "1" }
  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    let shape = g.shape
    var start = 0
    let gradients = extents.indices.map { index -> G? in
      var (lower, upper) = ([Int](repeating: 0, count: shape.count), shape)
      (lower[axis], upper[axis]) = (start, start + extents[index])
      start += extents[index]
      return needed[index] ? g.slice(lowerBounds: lower, upperBounds: upper) : nil
    }
    return Operands(gradients)
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    var (sum, start): (G?, Int) = (nil, 0)
    for index in extents.indices {
      var lower = [Int](repeating: 0, count: output.shape.count)
      lower[axis] = start
      start += extents[index]
      guard let part = t[index]?.padded(to: output.shape, at: lower) else { continue }
      sum = sum.map { $0 + part } ?? part
    }
    return sum!
  }
}

/// The variables joined along an existing axis (`torch.cat`); the same variable may appear more
/// than once.
///
/// Gradient: each part gets the slice of the upstream gradient where it was placed; a variable
/// that appears twice gets the sum of its two slices.
/// - Parameters:
///   - parts: At least one variable; all have the same shape except along `axis`.
///   - axis: The axis to join along, in `-rank..<rank`.
/// - Precondition: the parts have equal rank ≥ 1 and equal extents on every other axis.
public func concatenate<Scalar>(_ parts: [Variable<Scalar>], alongAxis axis: Int) -> Variable<Scalar> {
  let value = concatenate(parts.map(\.value), alongAxis: axis)
  let axis = axis < 0 ? axis + value.rank : axis
  return Variable.record(
    Concatenate(axis: axis, extents: parts.map { $0.shape[axis] }), Operands(parts), value: value)
}

/// The variables joined along a new axis (`torch.stack`): all parts have the same shape, and the
/// result has one more axis, of extent `parts.count`, at `axis`.
///
/// Gradient: each part gets its slice of the upstream gradient along the new axis.
/// - Parameters:
///   - parts: At least one variable, all of the same shape.
///   - axis: Where the new axis goes, in `-(rank + 1)...rank`.
/// - Precondition: the parts have equal shapes.
public func stack<Scalar>(_ parts: [Variable<Scalar>], alongAxis axis: Int) -> Variable<Scalar> {
  let (expanded, axis) = stackedLayout(of: parts.map(\.shape), alongAxis: axis)
  return concatenate(parts.map { $0.reshaped(to: expanded) }, alongAxis: axis)
}
