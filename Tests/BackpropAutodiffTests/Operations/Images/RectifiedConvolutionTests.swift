import Backprop
import BackpropTestSupport
import Testing

@testable import BackpropAutodiff

@Suite("Rectified convolution")
struct RectifiedConvolutionTests {
  @Test("relu(conv2d(…)) as one node: the bits of the two operations, value and gradients, Float and Double")
  func matchesTheTwoSteps() {
    func check<Scalar: TensorScalar>(_: Scalar.Type, batch: Int, imagesNeedGradient: Bool = true) {
      var rng = SeededRandomNumberGenerator(seed: 12)
      let x = Variable(
        Tensor<Scalar>(randomUniform: [batch, 3, 9, 8], lowerBound: -1, upperBound: 1, using: &rng),
        requiresGrad: imagesNeedGradient)
      let w = Variable(
        Tensor<Scalar>(randomUniform: [4, 3, 3, 3], lowerBound: -1, upperBound: 1, using: &rng),
        requiresGrad: true)
      let b = Variable(
        Tensor<Scalar>(randomUniform: [4], lowerBound: -0.5, upperBound: 0.5, using: &rng), requiresGrad: true
      )
      let g = Tensor<Scalar>(randomUniform: [batch, 4, 9, 8], lowerBound: -1, upperBound: 1, using: &rng)
      for bias in [nil, b] {
        let fused = rectifiedConv2d(x, w, bias: bias, stride: 1, padding: 1, dilation: 1)
        (fused * g).sum().backward()
        let gradients = [x, w, b].map(\.grad)
        for variable in [x, w, b] { variable.zeroGrad() }
        let separate = relu(conv2d(x, w, bias: bias, padding: 1))
        (separate * g).sum().backward()
        #expect(fused.value == separate.value, "\(Scalar.self), batch \(batch), bias: \(bias != nil)")
        #expect(gradients == [x, w, b].map(\.grad), "\(Scalar.self), batch \(batch), bias: \(bias != nil)")
        #expect(fused.value.scalars.contains(0) && fused.value.scalars.contains { $0 > 0 })
        for variable in [x, w, b] { variable.zeroGrad() }
      }
    }
    // 2 images keep their columns; 400 do not, and go image by image. Images that need no
    // gradient (a first layer) take the mask image by image into the filter's gradient.
    for batch in [2, 400] {
      check(Float.self, batch: batch)
      check(Double.self, batch: batch)
      check(Float.self, batch: batch, imagesNeedGradient: false)
      check(Double.self, batch: batch, imagesNeedGradient: false)
    }
  }

  @Test("Pictures and traces show the convolution and its ReLU; the recorded node is one")
  func shownAsTwoSteps() {
    var rng = SeededRandomNumberGenerator(seed: 3)
    let x = Variable(Tensor<Double>(randomUniform: [1, 1, 4, 4], lowerBound: -1, upperBound: 1, using: &rng))
    let w = Variable(
      Tensor<Double>(randomUniform: [2, 1, 3, 3], lowerBound: -1, upperBound: 1, using: &rng),
      requiresGrad: true)
    let y = rectifiedConv2d(x, w, bias: nil, stride: 1, padding: 0, dilation: 1).sum()
    #expect(y.graphNodes().compactMap { $0.operation?.name } == ["conv2d → relu", "sum"])
    let (shown, nodes) = y.shownGraph()
    #expect(nodes.compactMap { $0.operation?.name } == ["conv2d", "relu", "sum"])
    #expect(shown.value == y.value)
    #expect(y.graphviz().contains("conv2d") && y.graphviz().contains("relu"))
    #expect(!y.graphviz().contains("conv2d → relu"))
  }

  @Test("Second derivatives through the one node equal those through the two steps")
  func higherOrder() {
    var rng = SeededRandomNumberGenerator(seed: 5)
    let x = Variable(
      Tensor<Double>(randomUniform: [2, 2, 5, 5], lowerBound: -1, upperBound: 1, using: &rng),
      requiresGrad: true)
    let w = Variable(
      Tensor<Double>(randomUniform: [3, 2, 3, 3], lowerBound: -1, upperBound: 1, using: &rng),
      requiresGrad: true)
    func secondOrder(_ f: (Variable<Double>, Variable<Double>) -> Variable<Double>) -> [Tensor<Double>] {
      let y = f(x, w)
      let loss = (y * y).sum()
      let first = gradients(of: loss, withRespectTo: [x, w], createGraph: true)
      return gradients(of: (first[0] * first[0]).sum() + first[1].sum(), withRespectTo: [x, w]).map(\.value)
    }
    let fused = secondOrder { rectifiedConv2d($0, $1, bias: nil, stride: 1, padding: 1, dilation: 1) }
    let separate = secondOrder { relu(conv2d($0, $1, padding: 1)) }
    #expect(fused == separate)
  }
}
