import Backprop
import BackpropTestSupport
import Testing

@Suite("Composite activations")
struct ActivationsTests {
  @Test("elu and silu against their closed forms (PyTorch's values)")
  func workedValues() {
    let x = Variable(Tensor<Double>([-1, 0, 1]), requiresGrad: true)
    let e = elu(x)
    #expect(isClose(e.value, Tensor([-0.6321205588285577, 0, 1])))
    e.sum().backward()
    #expect(isClose(x.grad!, Tensor([0.36787944117144233, 1, 1])))  // α at the kink
    x.zeroGrad()
    let s = silu(x)
    #expect(isClose(s.value[scalarAt: 2], 0.7310585786300049))
    s.sum().backward()
    #expect(isClose(x.grad![scalarAt: 2], 0.9276705118714869))
  }
}
