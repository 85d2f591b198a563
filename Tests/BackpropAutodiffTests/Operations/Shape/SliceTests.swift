import Backprop
import BackpropTestSupport
import Testing

@Suite("Slice")
struct SliceTests {
  @Test("slice, x[i] and x[range]: the gradient lands where the slice came from, zeros elsewhere")
  func workedValues() {
    let x = Variable(Tensor<Double>([[1, 2, 3], [4, 5, 6]]), requiresGrad: true)
    let box = x.slice(lowerBounds: [0, 1], upperBounds: [2, 2])
    #expect(box.value == Tensor([[2], [5]]))
    (box * 3).sum().backward()
    #expect(x.grad == Tensor([[0, 3, 0], [0, 3, 0]]))
    x.zeroGrad()
    (x[1] * Variable(Tensor([1, 2, 3]))).sum().backward()
    #expect(x.grad == Tensor([[0, 0, 0], [1, 2, 3]]))
    x.zeroGrad()
    x[..<1].sum().backward()
    #expect(x.grad == Tensor([[1, 1, 1], [0, 0, 0]]))
  }

  @Test("padded is slice's adjoint: its gradient is the box of the upstream gradient")
  func padded() {
    let x = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
    let y = x.padded(to: [4], at: [1])
    #expect(y.value == Tensor([0, 1, 2, 0]))
    (y * Variable(Tensor([10, 20, 30, 40]))).sum().backward()
    #expect(x.grad == Tensor([20, 30]))
  }

  @Test("A row index out of range stops, naming it and the shape")
  func outOfRange() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Variable(Tensor<Double>(zeros: [2, 3]))[-3]
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("Variable[-3]: index out of range for the first axis of shape [2, 3]"))
  }
}
