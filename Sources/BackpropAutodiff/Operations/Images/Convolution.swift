import BackpropTensor

/// z = the 2-D cross-correlation of images x `[N, C, H, W]` with filters w `[O, C, kh, kw]`,
/// plus a bias b `[O]` when there is one (a third input):
/// z[n, o] = w[o] · columns(x[n]) + b[o], where the columns (im2col) hold every window of the
/// image.
///
/// The convolution is linear in each input, so each gradient is the adjoint map applied to the
/// upstream gradient G:
/// - ∂L/∂w = Σₙ G[n]·columns(x[n])ᵀ (the correlation of the input with G);
/// - ∂L/∂x[n] = fold(wᵀ·G[n]), the columns' gradient added back into the image (col2im): the
///   transposed convolution of G with the filters;
/// - ∂L/∂b[o] = Σₙ Σᵢ Σⱼ G[n, o, i, j], as for a bias added by broadcasting.
///
/// For tensors the three products run image by image with the columns in a scratch buffer
/// (`Tensor.convolved(with:bias:_:)`); for variables (higher order) the gradients are recorded
/// as the same products of `unfolded` columns.
struct Convolution<Scalar: TensorScalar>: DifferentiableOperation {
  let windows: SlidingWindows
  /// The input's columns, when the forward pass kept them (see
  /// `Tensor.convolvedKeepingColumns(with:bias:_:)`): the first-order filter gradient reads them.
  let columns: Tensor<Scalar>?
  var name: String { "conv2d" }

  func pullback<G: GradientAlgebra<Scalar>>(_ g: G, inputs: PullbackInputs<G>, output: G, needed: InputMask)
    -> Operands<G?>
  {
    let (x, w) = (inputs[0], inputs[1])
    var (input, filter): (G?, G?) = (nil, nil)
    // For tensors, both gradients in one pass over the batch, each image's upstream gradient read
    // once for its two products (the same bits as the two functions).
    if !G._recordsOperations && needed[0] && needed[1],
      let gradients = g.tensor.convolutionGradientsByImage(
        images: x.tensor, filter: w.tensor, windows, columns: columns, rectifiedOutput: nil)
    {
      (input, filter) = (
        unsafeBitCast(gradients.input!, to: G.self), unsafeBitCast(gradients.filter, to: G.self)
      )
    } else {
      input =
        needed[0] ? g.convolutionInputGradient(filter: w, windows, imageSize: Array(x.shape[2...])) : nil
      filter = needed[1] ? g.convolutionFilterGradient(images: x, windows, columns: columns) : nil
    }
    guard inputs.count == 3 else { return Operands(input, filter) }
    let o = w.shape[0]
    let bias = needed[2] ? g.unbroadcasted(to: [o, 1, 1]).reshaped(to: [o]) : nil
    return Operands([input, filter, bias])
  }
  func tangent<G: GradientAlgebra<Scalar>>(_ t: Operands<G?>, inputs: PullbackInputs<G>, output: G) -> G {
    // conv2d is bilinear in (x, w), plus the bias: its tangent is conv2d(dx, w) + conv2d(x, dw) + db.
    let bias = inputs.count == 3 ? t[2] : nil
    let shape = output.shape
    if t[0] == nil && t[1] == nil { return bias!.reshaped(to: [shape[1], 1, 1]).broadcasted(to: shape) }
    if !G._recordsOperations {
      // On tensors, the convolution itself, with db added by the first term.
      let (x, w) = (inputs[0].tensor, inputs[1].tensor)
      let fromImages = t[0].map { $0.tensor.convolved(with: w, bias: bias?.tensor, windows) }
      let fromFilters = t[1].map {
        x.convolved(with: $0.tensor, bias: fromImages == nil ? bias?.tensor : nil, windows)
      }
      return unsafeBitCast(tangentSum(fromImages, fromFilters), to: G.self)
    }
    // Recorded: the filter as rows times each image's columns (`unfolded`), as the forward pass
    // computes it, without reading the output (a tangent that read its own output would keep it
    // alive).
    let (x, w) = (inputs[0] as! Variable<Scalar>, inputs[1] as! Variable<Scalar>)
    let filterShape = w.shape
    let rows = [filterShape[0], filterShape[1] * filterShape[2] * filterShape[3]]
    func convolved(_ images: Variable<Scalar>, _ filter: Variable<Scalar>) -> Variable<Scalar> {
      matmul(filter.reshaped(to: rows), images.unfolded(windows))
    }
    let sum = tangentSum(
      t[0].map { convolved($0 as! Variable<Scalar>, w) }, t[1].map { convolved(x, $0 as! Variable<Scalar>) }
    ).reshaped(to: shape)
    guard let bias = bias.map({ $0 as! Variable<Scalar> }) else { return sum as! G }
    return (sum + bias.reshaped(to: [shape[1], 1, 1])) as! G
  }
}

/// The 2-D cross-correlation of a batch of images with a bank of filters (PyTorch's
/// `F.conv2d`, same layouts, so PyTorch weights load unchanged):
/// out[n, o, i, j] = Σ_c Σ_p Σ_q filter[o, c, p, q] · input[n, c, i·s − pad + p·d, j·s − pad + q·d],
/// with zeros outside the input.
///
/// Each image is one matrix product of the filters with the image's windows as columns
/// (im2col), made in a scratch buffer that stays in the cache.
///
/// With a bias, out[n, o, i, j] gains bias[o], added while each image's output is in the cache
/// rather than by a broadcasting `+` afterwards.
///
/// Gradient: ∂L/∂filter = Σₙ G[n]·columns(input[n])ᵀ, the correlation of the input with the
/// upstream gradient G; ∂L/∂input = the columns filterᵀ·G[n] added back into each image, the
/// transposed convolution of G with the filter; ∂L/∂bias[o] = Σ G[·, o, ·, ·].
/// - Parameters:
///   - input: Images `[N, C, H, W]`.
///   - filter: Filters `[O, C, kh, kw]` (the kernel need not be square).
///   - bias: One value per filter, `[O]`, or `nil` (the default) for none.
///   - stride: The step between windows; 1 by default.
///   - padding: Zeros added on each side; 0 by default.
///   - dilation: The spacing between a filter's taps; 1 by default.
/// - Returns: `[N, O, Ho, Wo]` with Ho = ⌊(H + 2·padding − dilation·(kh − 1) − 1) / stride⌋ + 1.
/// - Precondition: both have rank 4, the channel counts agree, the filter fits the padded
///   input, and the bias has shape `[O]`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func conv2d<Scalar>(
  _ input: Variable<Scalar>, _ filter: Variable<Scalar>, bias: Variable<Scalar>? = nil, stride: Int = 1,
  padding: Int = 0, dilation: Int = 1
) -> Variable<Scalar> {
  recordConvolution(
    input, filter, bias: bias, stride: stride, padding: padding, dilation: dilation, rectified: false)
}

/// Checks the shapes of a convolution, computes it (and its ReLU when `rectified`) and records
/// ``Convolution`` or ``RectifiedConvolution``.
func recordConvolution<Scalar>(
  _ input: Variable<Scalar>, _ filter: Variable<Scalar>, bias: Variable<Scalar>?, stride: Int, padding: Int,
  dilation: Int, rectified: Bool
) -> Variable<Scalar> {
  let (shape, filterShape) = (input.shape, filter.shape)
  check(
    shape.count == 4 && filterShape.count == 4 && shape[1] == filterShape[1],
    "conv2d: input \(shape) must be [N, C, H, W] and filter \(filterShape) [O, C, kh, kw] with the same C")
  let windows = SlidingWindows(
    kernelSize: [filterShape[2], filterShape[3]], stride: [stride, stride], padding: [padding, padding],
    dilation: [dilation, dilation])
  let output = windows.outputSize(forImageSize: [shape[2], shape[3]])
  check(
    output[0] > 0 && output[1] > 0,
    "conv2d: a \(filterShape[2])×\(filterShape[3]) filter (padding \(padding), dilation \(dilation)) does "
      + "not fit an input of \(shape[2])×\(shape[3])")
  if let bias {
    check(
      bias.shape == [filterShape[0]],
      "conv2d: bias of shape \(bias.shape) for \(filterShape[0]) filters; expected [\(filterShape[0])]")
  }
  let (value, columns) = input.value.convolvedKeepingColumns(
    with: filter.value, bias: bias?.value, windows, rectified: rectified)
  func record(_ operation: some DifferentiableOperation<Scalar>) -> Variable<Scalar> {
    guard let bias else { return Variable.record(operation, input, filter, value: value) }
    return Variable.record(operation, Operands([input, filter, bias]), value: value)
  }
  return rectified
    ? record(RectifiedConvolution(windows: windows, columns: columns))
    : record(Convolution(windows: windows, columns: columns))
}
