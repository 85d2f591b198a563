import Backprop
import BackpropTestSupport
import Testing

/// The README's thirty-second example, verbatim, with its printed numbers checked.
@Suite("README")
struct ReadmeTests {
  @Test("The thirty-second example computes what the README prints")
  func thirtySeconds() throws {
    let w = Variable(Tensor<Double>([[1, 2], [3, 4]]), requiresGrad: true)
    let x = Variable(try Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]))
    let y = sigmoid(matmul(x.transposed(), w) + 1.5)
    let loss = squaredError(predicted: y, target: Tensor(zeros: [3, 2]))  // ½ Σ (p − e)²
    loss.backward()
    #expect(isClose(loss.value.scalar, 2.9999994828393675, relativeTolerance: 1e-12))
    #expect(isClose(w.grad!.scalars[0], 5.23e-07, relativeTolerance: 1e-3))

    let a = Variable(-4.0, requiresGrad: true)  // micrograd's first test
    let z = 2 * a + 2 + a
    let q = relu(z) + z * a
    let h = relu(z * z)
    let out = h + q + q * a
    out.backward()
    #expect(out.value == Tensor(-20.0) && a.grad == Tensor(46.0))
  }

  @Test("Tensor(_:) takes flat arrays and nested literals")
  func tensorInitialisers() {
    #expect(Tensor<Double>([1, 2, 3]).shape == [3])
    #expect(Tensor<Double>([[1, 2], [3, 4]]).shape == [2, 2])
  }

  @Test("The higher-order example compiles and computes what it says")
  func higherOrder() {
    let x = Variable(2.0, requiresGrad: true)
    let y = pow(x, 3)
    let dx = gradients(of: y, withRespectTo: [x], createGraph: true)[0]  // 3x² = 12, a Variable
    let d2x = gradients(of: dx, withRespectTo: [x])[0]  // 6x  = 12
    let h = hessian(of: { logSumExp($0, alongAxes: [0]).sum() }, at: Tensor<Double>([0.5, -1, 2]))
    #expect(dx.value == Tensor(12.0) && d2x.value == Tensor(12.0))
    #expect(h.shape == [3, 3])
  }
}
