import BackpropTensor

/// y = relu(conv2d(x, w) + b): a convolution and the ReLU after it, one node for the two steps
/// that a convolution layer with a ReLU activation records. Graph pictures, chain-rule traces and
/// backward-pass pages still show the two (``recordSteps(on:)``).
///
/// With z = conv2d(x, w) + b, ∂L/∂z = G where y > 0 and 0 elsewhere: y > 0 exactly where z > 0,
/// so this is ReLU's pullback (0 at the kink z = 0, PyTorch's convention) read from the output.
/// The gradients for x, w and b are then ``Convolution``'s, of ∂L/∂z. Both steps give the bits
/// of the two separate operations: the forward pass applies ReLU to each image's output while
/// it is in the cache, instead of writing a second tensor of the batch's outputs.
struct RectifiedConvolution<Scalar: TensorScalar>: ShownAsSteps {
  let windows: SlidingWindows
  /// See ``Convolution/columns``.
  let columns: Tensor<Scalar>?
  var name: String { "conv2d → relu" }

  /// The convolution step.
  private var convolution: Convolution<Scalar> { Convolution(windows: windows, columns: columns) }

  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    guard !G._recordsOperations && inputs.count == 3 && needed[2] else {
      return convolution.pullback(
        g.zeroed(whereNotPositive: output), inputs: inputs, output: output, needed: needed)
    }
    // For tensors, the bias's gradient (the masked gradient summed over N, H and W) is made in the
    // masking pass, image by image, with the bits of summing the masked tensor afterwards; each
    // image's masked gradient goes straight into its products while it is in the cache.
    if needed[1],
      let (input, filter, bias) = g.tensor.convolutionGradientsByImage(
        images: inputs[0].tensor, filter: needed[0] ? inputs[1].tensor : nil, windows, columns: columns,
        rectifiedOutput: output.tensor)
    {
      return Operands([
        input.map { unsafeBitCast($0, to: G.self) }, unsafeBitCast(filter, to: G.self),
        bias.map { unsafeBitCast($0, to: G.self) },
      ])
    }
    let (masked, sums) = g.tensor.zeroedWithChannelSums(whereNotPositive: output.tensor)
    var withoutBias = needed
    withoutBias.bits &= ~4
    let gradients = convolution.pullback(
      unsafeBitCast(masked, to: G.self), inputs: inputs, output: output, needed: withoutBias)
    return Operands([gradients[0], gradients[1], unsafeBitCast(sums, to: G.self)])
  }

  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    // The convolution's tangent, masked as ReLU's is. The mask reads only the output's value, so a
    // recorded tangent holds no reference to its own output.
    convolution.tangent(t, inputs: inputs, output: output).zeroed(whereNotPositive: output)
  }

  /// The steps, recorded on `inputs`: the convolution (its value computed again) and its ReLU.
  func recordSteps(on inputs: [Variable<Scalar>]) -> Variable<Scalar> {
    let bias = inputs.count == 3 ? inputs[2] : nil
    let (value, columns) = inputs[0].value.convolvedKeepingColumns(
      with: inputs[1].value, bias: bias?.value, windows)
    let convolution = Variable.record(
      Convolution(windows: windows, columns: columns), Operands(inputs), value: value)
    return relu(convolution)
  }
}

/// relu(conv2d(input, filter, bias: bias, …)), recorded as one node that pictures and traces show
/// as the two steps; what ``Conv2D`` with a ReLU activation calls. The values and gradients are
/// the bits of the two operations.
///
/// Gradient: the convolution's, of the upstream gradient where the output is positive and 0
/// elsewhere.
/// - Precondition: as for ``conv2d(_:_:bias:stride:padding:dilation:)``.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
package func rectifiedConv2d<Scalar>(
  _ input: Variable<Scalar>, _ filter: Variable<Scalar>, bias: Variable<Scalar>? = nil, stride: Int = 1,
  padding: Int = 0, dilation: Int = 1
) -> Variable<Scalar> {
  recordConvolution(
    input, filter, bias: bias, stride: stride, padding: padding, dilation: dilation, rectified: true)
}
