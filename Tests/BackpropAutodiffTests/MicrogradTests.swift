import Backprop
import BackpropTestSupport
import Testing

/// micrograd's two test expressions (test/test_engine.py), with the values PyTorch gives.
@Suite("micrograd parity")
struct MicrogradTests {
  @Test("sanity check: y = −20, dy/dx = 46")
  func sanityCheck() {
    let x = Variable(-4.0, requiresGrad: true)
    let z = 2 * x + 2 + x
    let q = relu(z) + z * x
    let h = relu(z * z)
    let y = h + q + q * x
    y.backward()
    #expect(y.value == Tensor(-20.0))
    #expect(x.grad == Tensor(46.0))
  }

  @Test("more ops: g = 24.7041, dg/da = 138.8338, dg/db = 645.5773")
  func moreOps() throws {
    let a = Variable(-4.0, requiresGrad: true)
    let b = Variable(2.0, requiresGrad: true)
    var c = a + b
    var d = a * b + pow(b, 3)
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + relu(b + a)
    d = d + 3 * d + relu(b - a)
    let e = c - d
    let f = pow(e, 2)
    var g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    let tolerance = 1e-4
    #expect(isClose(g.value.scalar, 24.70408163265306, absoluteTolerance: tolerance))
    #expect(isClose(try #require(a.grad).scalar, 138.83381924198252, absoluteTolerance: tolerance))
    #expect(isClose(try #require(b.grad).scalar, 645.5772594752186, absoluteTolerance: tolerance))
  }
}
