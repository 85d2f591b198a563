import BackpropTensor
import Foundation
import Testing

@Suite("Tensor conveniences")
struct TensorConvenienceTests {
  @Test("linearSpace includes both ends; range excludes its end, as NumPy's linspace and arange")
  func spaces() {
    #expect(Tensor<Double>(linearSpaceFrom: 0, to: 1, count: 5) == Tensor([0, 0.25, 0.5, 0.75, 1]))
    #expect(Tensor<Float>(linearSpaceFrom: -1, to: 1, count: 3) == Tensor([-1, 0, 1]))
    #expect(Tensor<Double>(linearSpaceFrom: 2, to: 9, count: 1) == Tensor([2]))
    #expect(Tensor<Double>(linearSpaceFrom: 2, to: 9, count: 0).shape == [0])
    // The last scalar is the end exactly, however the steps round.
    #expect(Tensor<Double>(linearSpaceFrom: 0, to: 0.3, count: 7).scalars.last == 0.3)
    #expect(Tensor<Double>(rangeFrom: 0, to: 1, stride: 0.25) == Tensor([0, 0.25, 0.5, 0.75]))
    #expect(Tensor<Double>(rangeFrom: 0, to: 5) == Tensor([0, 1, 2, 3, 4]))
    #expect(Tensor<Double>(rangeFrom: 3, to: 0, stride: -1) == Tensor([3, 2, 1]))
    #expect(Tensor<Double>(rangeFrom: 0, to: 3, stride: -1).shape == [0])
  }

  @Test("flattened merges the axes from one axis on; rank 0 becomes [1]")
  func flattened() {
    let t = Tensor<Double>(zeros: [2, 3, 4, 5])
    #expect(t.flattened().shape == [120])
    #expect(t.flattened(fromAxis: 1).shape == [2, 60])
    #expect(t.flattened(fromAxis: -1).shape == [2, 3, 4, 5])
    #expect(t.flattened(fromAxis: 2).shape == [2, 3, 20])
    #expect(Tensor<Double>(7.0).flattened() == Tensor<Double>([7.0]))
  }

  @Test("Mistakes stop with the values named")
  func mistakes() async {
    let flat = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Double>(zeros: [2, 3]).flattened(fromAxis: 2)
    }
    let flatText = String(decoding: flat?.standardErrorContent ?? [], as: UTF8.self)
    #expect(flatText.contains("flattened(fromAxis:): axis 2 is not an axis of shape [2, 3]"))
    let range = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Double>(rangeFrom: 0, to: 1, stride: 0)
    }
    let rangeText = String(decoding: range?.standardErrorContent ?? [], as: UTF8.self)
    #expect(rangeText.contains("Tensor(rangeFrom:to:stride:)"))
  }
}

@Suite("Reductions: kept, squeezed and one-axis forms")
struct ReductionFormTests {
  @Test("Each reduction keeps the axes along them, removes them squeezing, and takes one axis alike")
  func forms() {
    let t = Tensor<Double>([[1, 2, 3], [4, 5, 9]])
    #expect(t.mean(alongAxes: [1]) == Tensor([[2], [6]]))
    #expect(t.mean(squeezingAxes: [1]) == Tensor([2, 6]))
    #expect(t.mean(alongAxis: -1) == t.mean(alongAxes: [1]) && t.mean(squeezingAxis: 1) == Tensor([2, 6]))
    #expect(t.max(squeezingAxis: 0) == Tensor([4, 5, 9]) && t.min(alongAxis: 0) == Tensor([[1, 2, 3]]))
    #expect(t.sum(squeezingAxis: 0) == Tensor([5, 7, 12]) && t.sum(alongAxis: 1) == Tensor([[6], [18]]))
    #expect(t.variance(squeezingAxis: 1) == Tensor([2.0 / 3, 14.0 / 3]))
    #expect(t.variance(squeezingAxes: [0, 1]).shape == [])
    #expect(logSumExp(Tensor<Double>([0, 0]), squeezingAxes: [0]).scalar == Foundation.log(2.0))
    #expect(logSumExp(Tensor<Double>([1000, 1000]), alongAxes: [0]) == Tensor([1000 + Foundation.log(2.0)]))
  }
}
