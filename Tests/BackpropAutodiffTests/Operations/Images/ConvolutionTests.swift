import Backprop
import BackpropTestSupport
import Testing

/// conv2d by its definition, a direct loop over every output element.
func directConvolution(
  _ x: Tensor<Double>, _ w: Tensor<Double>, stride: Int, padding: Int, dilation: Int
) -> Tensor<Double> {
  let (n, c, h, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
  let (o, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
  let ho = (h + 2 * padding - dilation * (kh - 1) - 1) / stride + 1
  let wo = (width + 2 * padding - dilation * (kw - 1) - 1) / stride + 1
  var out = [Double](repeating: 0, count: n * o * ho * wo)
  for b in 0..<n {
    for f in 0..<o {
      for i in 0..<ho {
        for j in 0..<wo {
          var sum = 0.0
          for ch in 0..<c {
            for p in 0..<kh {
              for q in 0..<kw {
                let (ii, jj) = (i * stride - padding + p * dilation, j * stride - padding + q * dilation)
                guard ii >= 0 && ii < h && jj >= 0 && jj < width else { continue }
                sum += w[scalarAt: [f, ch, p, q]] * x[scalarAt: [b, ch, ii, jj]]
              }
            }
          }
          out[((b * o + f) * ho + i) * wo + j] = sum
        }
      }
    }
  }
  return try! Tensor(shape: [n, o, ho, wo], scalars: out)
}

@Suite("Convolution")
struct ConvolutionTests {
  @Test(
    "conv2d matches the direct definition: strides, padding, dilation, odd sizes, non-square kernels, a batch of 1",
    arguments: [
      ([1, 1, 5, 5], [1, 1, 3, 3], 1, 0, 1), ([2, 3, 7, 6], [4, 3, 3, 2], 2, 1, 1),
      ([1, 2, 9, 8], [3, 2, 3, 3], 1, 2, 2), ([3, 1, 4, 4], [2, 1, 1, 1], 3, 0, 1),
    ])
  func definition(input: [Int], filter: [Int], stride: Int, padding: Int, dilation: Int) {
    var rng = SeededRandomNumberGenerator(seed: 9)
    let x = Tensor<Double>(randomUniform: input, lowerBound: -1, upperBound: 1, using: &rng)
    let w = Tensor<Double>(randomUniform: filter, lowerBound: -1, upperBound: 1, using: &rng)
    let y = conv2d(Variable(x), Variable(w), stride: stride, padding: padding, dilation: dilation)
    let expected = directConvolution(x, w, stride: stride, padding: padding, dilation: dilation)
    #expect(y.shape == expected.shape)
    #expect(isClose(y.value, expected, absoluteTolerance: 1e-12))
  }

  @Test("conv2d's gradients: ∂/∂filter correlates the input with the upstream gradient")
  func workedGradient() {
    let x = Variable(Tensor<Double>([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]]), requiresGrad: true)
    let w = Variable(Tensor<Double>([[[[1, 0], [0, -1]]]]), requiresGrad: true)
    let y = conv2d(x, w)  // [[1 − 5, 2 − 6], [4 − 8, 5 − 9]]
    #expect(y.value == Tensor([[[[-4, -4], [-4, -4]]]]))
    y.sum().backward()
    #expect(w.grad == Tensor([[[[12, 16], [24, 28]]]]))  // sums of the four 2×2 corners
    #expect(x.grad == Tensor([[[[1, 1, 0], [1, 0, -1], [0, -1, -1]]]]))
  }

  @Test("A batch too large to keep its columns gets the gradients of unfolded and matmul, bit for bit")
  func largeBatch() {
    var rng = SeededRandomNumberGenerator(seed: 4)
    let x = Variable(Tensor<Float>(randomUniform: [2, 16, 64, 64], using: &rng), requiresGrad: true)
    let w = Variable(Tensor<Float>(randomUniform: [8, 16, 3, 3], using: &rng), requiresGrad: true)
    let g = Tensor<Float>(randomUniform: [2, 8, 64, 64], using: &rng)
    (conv2d(x, w, padding: 1) * g).sum().backward()
    let (inputGradient, filterGradient) = (x.grad, w.grad)
    x.zeroGrad()
    w.zeroGrad()
    let windows = SlidingWindows(kernelSize: [3, 3], padding: [1, 1])
    let composite = matmul(w.reshaped(to: [8, 144]), x.unfolded(windows)).reshaped(to: [2, 8, 64, 64])
    (composite * g).sum().backward()
    #expect(inputGradient == x.grad)
    #expect(filterGradient == w.grad)
  }

  @Test("A bias inside conv2d gives the bits of adding it afterwards, value and gradients")
  func bias() {
    var rng = SeededRandomNumberGenerator(seed: 7)
    let x = Variable(Tensor<Float>(randomUniform: [3, 2, 6, 5], using: &rng), requiresGrad: true)
    let w = Variable(Tensor<Float>(randomUniform: [4, 2, 3, 3], using: &rng), requiresGrad: true)
    let b = Variable(Tensor<Float>(randomUniform: [4], using: &rng), requiresGrad: true)
    let g = Tensor<Float>(randomUniform: [3, 4, 6, 5], using: &rng)
    let fused = conv2d(x, w, bias: b, padding: 1)
    (fused * g).sum().backward()
    let gradients = (x.grad, w.grad, b.grad)
    for variable in [x, w, b] { variable.zeroGrad() }
    let separate = conv2d(x, w, padding: 1) + b.reshaped(to: [4, 1, 1])
    (separate * g).sum().backward()
    #expect(fused.value == separate.value)
    #expect(gradients.0 == x.grad && gradients.1 == w.grad && gradients.2 == b.grad)
    // ∂L/∂b[o] = Σ G[·, o, ·, ·].
    #expect(isClose(b.grad!, g.sum(squeezingAxes: [0, 2, 3]), relativeTolerance: 1e-5))
  }

  @Test("An empty batch gives an empty output, and zero gradients for the filter and the bias")
  func emptyBatch() {
    let x = Variable(Tensor<Float>(zeros: [0, 2, 5, 5]), requiresGrad: true)
    let w = Variable(Tensor<Float>(ones: [3, 2, 3, 3]), requiresGrad: true)
    let b = Variable(Tensor<Float>(ones: [3]), requiresGrad: true)
    let y = conv2d(x, w, bias: b, padding: 1)
    #expect(y.shape == [0, 3, 5, 5])
    y.sum().backward()
    #expect(x.grad?.shape == [0, 2, 5, 5])
    #expect(w.grad == Tensor(zeros: [3, 2, 3, 3]) && b.grad == Tensor(zeros: [3]))
  }

  @Test("A bias of the wrong shape stops, naming its shape and the filter count")
  func biasShape() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = conv2d(
        Variable(Tensor<Double>(zeros: [1, 2, 5, 5])), Variable(Tensor<Double>(zeros: [4, 2, 3, 3])),
        bias: Variable(Tensor<Double>(zeros: [3])))
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("conv2d: bias of shape [3] for 4 filters; expected [4]"))
  }

  @Test("Mismatched channels stop, naming both shapes")
  func channelMismatch() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = conv2d(
        Variable(Tensor<Double>(zeros: [1, 2, 5, 5])), Variable(Tensor<Double>(zeros: [4, 3, 3, 3])))
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("conv2d: input [1, 2, 5, 5] must be [N, C, H, W] and filter [4, 3, 3, 3]"))
  }
}
