import BackpropTensor

/// y = x·W + b: a matrix product and a bias added to every row, one node for the two steps that a
/// dense layer records. Graph pictures, chain-rule traces and backward-pass pages still show the
/// two (``recordSteps(on:)``).
///
/// ∂L/∂b = Σᵢ G[i, ·] (the bias was broadcast over the rows, as for `+`), and ∂L/∂x and ∂L/∂W
/// are ``MatrixProduct``'s, of G. Values and gradients are the bits of the two operations: the
/// forward pass adds the bias in the product's own buffer, so that x·W is never a tensor of its
/// own on the tape.
struct Affine<Scalar: TensorScalar>: ShownAsSteps {
  var name: String { "matmul → +" }

  /// The product step.
  private var product: MatrixProduct<Scalar> { MatrixProduct(transposeA: false, transposeB: false) }

  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    let gradients = product.pullback(g, inputs: inputs, output: output, needed: needed)
    return Operands([gradients[0], gradients[1], needed[2] ? g.unbroadcasted(like: inputs[2]) : nil])
  }

  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    // The product's and the bias's tangents added, as the sum's rule adds them.
    let fromProduct = t[0] == nil && t[1] == nil ? nil : product.tangent(t, inputs: inputs, output: output)
    return tangentSum(fromProduct?.broadcasted(like: output), t[2]?.broadcasted(like: output))
  }

  /// The steps, recorded on `inputs`: the product (its value computed again) and the sum.
  func recordSteps(on inputs: [Variable<Scalar>]) -> Variable<Scalar> {
    matmul(inputs[0], inputs[1]) + inputs[2]
  }
}

/// matmul(input, weight) + bias, recorded as one node that pictures and traces show as the two
/// steps; what ``Dense`` calls before an activation other than ReLU. The values and gradients are
/// the bits of the two operations.
///
/// Gradient: ∂L/∂b is the upstream gradient summed over the rows; ∂L/∂x and ∂L/∂W are the
/// product's.
/// - Parameters:
///   - input: `[m, k]`.
///   - weight: `[k, n]`.
///   - bias: `[n]`, added to every row.
/// - Precondition: the shapes are those.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
package func affine<Scalar>(_ input: Variable<Scalar>, _ weight: Variable<Scalar>, bias: Variable<Scalar>)
  -> Variable<Scalar>
{
  let (shape, weightShape) = (input.shape, weight.shape)
  check(
    shape.count == 2 && weightShape.count == 2 && shape[1] == weightShape[0],
    "affine: input \(shape) must be [m, k] and weight \(weightShape) [k, n] with the same k")
  let value = matmul(input.value, weight.value).addingRow(bias.value)
  return Variable.record(Affine(), Operands([input, weight, bias]), value: value)
}
