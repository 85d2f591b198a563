import BackpropTensor

/// y = relu(x·W + b): a matrix product, a bias added to every row and the ReLU after them, one
/// node for the three steps that a dense layer with a ReLU activation records. Graph pictures,
/// chain-rule traces and backward-pass pages still show the three (``recordSteps(on:)``).
///
/// With z = x·W + b, ∂L/∂z = G where y > 0 and 0 elsewhere: y > 0 exactly where z > 0, so this is
/// ReLU's pullback (0 at the kink z = 0, PyTorch's convention) read from the output. Then
/// ∂L/∂b = Σᵢ ∂L/∂z[i, ·] (the bias was broadcast over the rows), and ∂L/∂x and ∂L/∂W are
/// ``MatrixProduct``'s, of ∂L/∂z. Values and gradients are the bits of the three operations: the
/// forward pass adds the bias and takes the ReLU in one pass over the product, and the
/// backward pass masks the gradient and sums its columns in one pass.
struct RectifiedAffine<Scalar: TensorScalar>: ShownAsSteps {
  var name: String { "matmul → + → relu" }

  /// The product step.
  private var product: MatrixProduct<Scalar> { MatrixProduct(transposeA: false, transposeB: false) }

  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    let hasBias = inputs.count == 3
    guard !G._recordsOperations && hasBias && needed[2] else {
      // ``Affine``'s pullback (the product's without a bias) of the masked gradient.
      let masked = g.zeroed(whereNotPositive: output)
      return hasBias
        ? Affine().pullback(masked, inputs: inputs, output: output, needed: needed)
        : product.pullback(masked, inputs: inputs, output: output, needed: needed)
    }
    // For tensors, the bias's gradient is summed in the masking pass, with the bits of summing
    // the masked gradient afterwards.
    let (masked, sums) = g.tensor.zeroedWithColumnSums(whereNotPositive: output.tensor)
    let gradients = product.pullback(
      unsafeBitCast(masked, to: G.self), inputs: inputs, output: output, needed: needed)
    return Operands([gradients[0], gradients[1], unsafeBitCast(sums, to: G.self)])
  }

  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    // ``Affine``'s tangent (the product's without a bias), masked as ReLU's is. The mask reads
    // only the output's value, so a recorded tangent holds no reference to its own output.
    let unmasked =
      inputs.count == 3
      ? Affine().tangent(t, inputs: inputs, output: output)
      : product.tangent(t, inputs: inputs, output: output)
    return unmasked.zeroed(whereNotPositive: output)
  }

  /// The steps, recorded on `inputs`: the product and the sum (their values computed again) and
  /// the ReLU.
  func recordSteps(on inputs: [Variable<Scalar>]) -> Variable<Scalar> {
    let z = matmul(inputs[0], inputs[1])
    return relu(inputs.count == 3 ? z + inputs[2] : z)
  }
}

/// relu(matmul(input, weight) + bias), recorded as one node that pictures and traces show as the
/// three steps; what ``Dense`` with a ReLU activation calls. The values and gradients are the
/// bits of the three operations.
///
/// Gradient: those of the product and the bias, of the upstream gradient where the output is
/// positive and 0 elsewhere.
/// - Parameters:
///   - input: `[m, k]`.
///   - weight: `[k, n]`.
///   - bias: `[n]`, added to every row.
/// - Precondition: the shapes are those.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
package func rectifiedAffine<Scalar>(
  _ input: Variable<Scalar>, _ weight: Variable<Scalar>, bias: Variable<Scalar>?
) -> Variable<Scalar> {
  let (shape, weightShape) = (input.shape, weight.shape)
  check(
    shape.count == 2 && weightShape.count == 2 && shape[1] == weightShape[0],
    "rectifiedAffine: input \(shape) must be [m, k] and weight \(weightShape) [k, n] with the same k")
  let value = matmul(input.value, weight.value).rectified(addingRow: bias?.value)
  guard let bias else { return Variable.record(RectifiedAffine(), input, weight, value: value) }
  return Variable.record(RectifiedAffine(), Operands([input, weight, bias]), value: value)
}
