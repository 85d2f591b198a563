import Backprop
import BackpropTestSupport
import Testing

@Suite("Pooling")
struct PoolingTests {
  @Test(
    "maxPool2d and avgPool2d match their definitions; overlapping windows add gradients; ties go to the first"
  )
  func pooling() {
    let x = Variable(Tensor<Double>([[[[1, 2, 0], [3, 4, 1], [0, 5, 2]]]]), requiresGrad: true)
    let maxima = maxPool2d(x, kernelSize: 2, stride: 1)
    #expect(maxima.value == Tensor([[[[4, 4], [5, 5]]]]))
    maxima.sum().backward()
    #expect(x.grad == Tensor([[[[0, 0, 0], [0, 2, 0], [0, 2, 0]]]]))
    let level = Variable(Tensor<Double>([[[[7, 7], [7, 7]]]]), requiresGrad: true)
    maxPool2d(level, kernelSize: 2).sum().backward()
    #expect(level.grad == Tensor([[[[1, 0], [0, 0]]]]))  // ties: the first element, as in PyTorch
    x.zeroGrad()
    let means = avgPool2d(x, kernelSize: 2)
    #expect(means.value == Tensor([[[[2.5]]]]))
    means.sum().backward()
    #expect(x.grad == Tensor([[[[0.25, 0.25, 0], [0.25, 0.25, 0], [0, 0, 0]]]]))
  }
}
