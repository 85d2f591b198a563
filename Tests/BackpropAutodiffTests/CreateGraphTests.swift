import Backprop
import BackpropTestSupport
import Foundation
import Testing

/// `createGraph: true` records the backward pass with the same pullbacks, so gradients can be
/// differentiated again. The helpers and the second-order catalogue check are in
/// `HigherOrderTests` and `OperationCatalogueTests`.
@Suite("createGraph")
struct CreateGraphTests {
  @Test("d/dx x³ = 3x² = 12 and d²/dx² x³ = 6x = 12 at x = 2")
  func secondDerivativeOfCube() {
    let x = Variable(2.0, requiresGrad: true)
    let y = pow(x, 3)
    let dx = gradients(of: y, withRespectTo: [x], createGraph: true)[0]
    #expect(dx.value == Tensor(12.0))
    #expect(dx.requiresGrad)
    let d2x = gradients(of: dx, withRespectTo: [x])[0]
    #expect(d2x.value == Tensor(12.0))
  }

  @Test("second derivative of sigmoid equals s(1 − s)(1 − 2s)")
  func sigmoidSecondDerivative() {
    let x = Variable(0.7, requiresGrad: true)
    let first = gradients(of: sigmoid(x), withRespectTo: [x], createGraph: true)[0]
    let second = gradients(of: first, withRespectTo: [x])[0].value.scalar
    let s = 1 / (1 + Foundation.exp(-0.7))
    #expect(isClose(second, s * (1 - s) * (1 - 2 * s), absoluteTolerance: 1e-12))
  }

  @Test("backward(createGraph:) fills .grad with the same first-order values")
  func backwardCreateGraph() {
    let w = Variable(Tensor<Double>([[1, 2], [3, 4]]), requiresGrad: true)
    let x = Variable(Tensor<Double>([[0.5, -1]]))
    let loss = squaredError(predicted: tanh(matmul(x, w)), target: Tensor<Double>([[0, 1]]))
    let plain = gradients(of: loss, withRespectTo: [w])[0].value
    loss.backward(createGraph: true)
    #expect(isClose(w.grad!, plain, absoluteTolerance: 1e-15))
  }
}
