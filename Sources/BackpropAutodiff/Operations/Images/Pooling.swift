import BackpropTensor

// Composites: pooling is built on the window search and the gather (max) or on the unfolding
// and a mean (average), so it needs no backward code.

/// The largest value in each window of each channel (PyTorch's `F.max_pool2d`).
///
/// Composite: the input's scalars gathered at each window's maximum
/// (`Tensor.windowMaxima(_:)`, which finds the offsets and reads the values in one pass), so the
/// gradient is the gather's scatter-add and second derivatives come from the tape.
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
  let (windows, _) = poolingWindows(input, kernelSize: kernelSize, stride: stride, operation: "maxPool2d")
  let (values, offsets) = input.value.windowMaxima(windows)
  // The gather is recorded with the values the search read, rather than gathering them again.
  let flat = input.reshaped(to: [input.value.scalarCount])
  return Variable.record(
    Gather(indices: offsets, axis: 0), flat, value: values.reshaped(to: [offsets.count])
  ).reshaped(to: values.shape)
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
