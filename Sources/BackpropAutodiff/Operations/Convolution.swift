import BackpropTensor

// Composites: a convolution is a matrix product of the filter with the input's windows as
// columns (im2col), so it needs no backward code. Its gradients are the same products
// transposed: ∂L/∂filter = G·colsᵀ summed over the batch, ∂L/∂cols = filterᵀ·G, folded back into
// the input (col2im). All three products run through the packed matrix kernels.

/// The 2-D cross-correlation of a batch of images with a bank of filters (PyTorch's
/// `F.conv2d`, same layouts, so PyTorch weights load unchanged):
/// out[n, o, i, j] = Σ_c Σ_p Σ_q filter[o, c, p, q] · input[n, c, i·s − pad + p·d, j·s − pad + q·d],
/// with zeros outside the input.
///
/// Gradient: ∂L/∂filter is the correlation of the input with the upstream gradient, and
/// ∂L/∂input the transposed convolution of the upstream gradient with the filter; both come from
/// the tape, through the matrix product and the unfolding.
/// - Parameters:
///   - input: Images `[N, C, H, W]`.
///   - filter: Filters `[O, C, kh, kw]` (the kernel need not be square).
///   - stride: The step between windows; 1 by default.
///   - padding: Zeros added on each side; 0 by default.
///   - dilation: The spacing between a filter's taps; 1 by default.
/// - Returns: `[N, O, Ho, Wo]` with Ho = ⌊(H + 2·padding − dilation·(kh − 1) − 1) / stride⌋ + 1.
/// - Precondition: both have rank 4, the channel counts agree, and the filter fits the padded
///   input.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func conv2d<Scalar>(
  _ input: Variable<Scalar>, _ filter: Variable<Scalar>, stride: Int = 1, padding: Int = 0, dilation: Int = 1
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
  let weights = filter.reshaped(to: [filterShape[0], filterShape[1] * filterShape[2] * filterShape[3]])
  return matmul(weights, input.unfolded(windows)).reshaped(to: [
    shape[0], filterShape[0], output[0], output[1],
  ])
}

/// The largest value in each window of each channel (PyTorch's `F.max_pool2d`).
///
/// Composite: the input's scalars gathered at each window's maximum
/// (`Tensor.windowMaximumOffsets(_:)`), so the gradient is the gather's
/// scatter-add and second derivatives come from the tape.
///
/// Gradient: to the largest element of each window; of elements that tie, the first in the
/// window's row-major order gets it, as in PyTorch. Overlapping windows add their gradients.
/// - Parameters:
///   - input: Images `[N, C, H, W]`.
///   - kernelSize: The window's height and width.
///   - stride: The step between windows; the kernel size by default.
/// - Precondition: rank 4, and the window fits.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func maxPool2d<Scalar>(_ input: Variable<Scalar>, kernelSize: Int, stride: Int? = nil) -> Variable<
  Scalar
> {
  let (windows, output) = poolingWindows(
    input, kernelSize: kernelSize, stride: stride, operation: "maxPool2d")
  let shape = input.shape
  let offsets = input.value.windowMaximumOffsets(windows)
  return input.reshaped(to: [input.value.scalarCount]).gathering(atIndices: offsets, alongAxis: 0).reshaped(
    to: [
      shape[0], shape[1], output[0], output[1],
    ])
}

/// The mean of each window of each channel (PyTorch's `F.avg_pool2d`).
///
/// Gradient: 1/(kernelSize²) to every element of each window; overlapping windows add up.
/// - Parameters:
///   - input: Images `[N, C, H, W]`.
///   - kernelSize: The window's height and width.
///   - stride: The step between windows; the kernel size by default.
/// - Precondition: rank 4, and the window fits.
public func avgPool2d<Scalar>(_ input: Variable<Scalar>, kernelSize: Int, stride: Int? = nil) -> Variable<
  Scalar
> {
  pooled(input, kernelSize: kernelSize, stride: stride, operation: "avgPool2d") { $0.mean(alongAxes: [1]) }
}

/// Every channel's windows reduced by `reduce` along their taps.
private func pooled<Scalar>(
  _ input: Variable<Scalar>, kernelSize: Int, stride: Int?, operation: String,
  _ reduce: (Variable<Scalar>) -> Variable<Scalar>
) -> Variable<Scalar> {
  let (windows, output) = poolingWindows(input, kernelSize: kernelSize, stride: stride, operation: operation)
  let shape = input.shape
  let channels = input.reshaped(to: [shape[0] * shape[1], 1, shape[2], shape[3]])
  return reduce(channels.unfolded(windows)).reshaped(to: [shape[0], shape[1], output[0], output[1]])
}

/// A pool's square windows and its output's height and width, after checking the input.
private func poolingWindows<Scalar>(
  _ input: Variable<Scalar>, kernelSize: Int, stride: Int?, operation: String
) -> (SlidingWindows, [Int]) {
  let shape = input.shape
  check(shape.count == 4, "\(operation): input must be [N, C, H, W], got shape \(shape)")
  let stride = stride ?? kernelSize
  let windows = SlidingWindows(kernelSize: [kernelSize, kernelSize], stride: [stride, stride])
  let output = windows.outputSize(forImageSize: [shape[2], shape[3]])
  check(
    output[0] > 0 && output[1] > 0,
    "\(operation): a \(kernelSize)×\(kernelSize) window does not fit an input of \(shape[2])×\(shape[3])")
  return (windows, output)
}
