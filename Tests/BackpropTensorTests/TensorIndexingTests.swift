import BackpropTensor
import BackpropTestSupport
import Testing

@Suite("Tensor indexing")
struct TensorIndexingTests {
  let matrix: Tensor<Double> = [[1, 2, 3], [4, 5, 6]]

  @Test("slice takes a half-open box; padded puts it back into zeros")
  func sliceAndPad() {
    let box = matrix.slice(lowerBounds: [0, 1], upperBounds: [2, 3])
    #expect(box == Tensor([[2, 3], [5, 6]]))
    #expect(box.padded(to: [2, 3], at: [0, 1]) == Tensor([[0, 2, 3], [0, 5, 6]]))
    #expect(matrix.slice(lowerBounds: [1, 0], upperBounds: [1, 3]).shape == [0, 3])
    let cube = try! Tensor<Double>(shape: [2, 3, 4], scalars: (0..<24).map(Double.init))
    let inner = cube.slice(lowerBounds: [1, 1, 2], upperBounds: [2, 3, 4])
    #expect(inner == Tensor([[[18, 19], [22, 23]]]))
  }

  @Test("t[i] drops the first axis and t[range] keeps it, as in PyTorch; t[scalarAt:] reads one scalar")
  func subscripts() {
    #expect(matrix[1] == Tensor([4, 5, 6]))
    #expect(matrix[-1] == Tensor([4, 5, 6]))
    #expect(matrix[0..<1] == Tensor([[1, 2, 3]]))
    #expect(matrix[1...] == Tensor([[4, 5, 6]]))
    #expect(matrix[1][2] == Tensor(6.0))
    #expect(matrix[scalarAt: [1, 2]] == 6)
    var copy = matrix
    copy[scalarAt: [0, 0]] = 10
    #expect(copy[scalarAt: 0] == 10 && matrix[scalarAt: 0] == 1)
  }

  @Test("gathering selects slices, repeats included; scatteringAdd is its adjoint and accumulates")
  func gatherAndScatter() {
    #expect(matrix.gathering(atIndices: [2, 0, 2], alongAxis: 1) == Tensor([[3, 1, 3], [6, 4, 6]]))
    #expect(matrix.gathering(atIndices: [-1], alongAxis: 0) == Tensor([[4, 5, 6]]))
    let ones = Tensor<Double>(ones: [2, 3])
    #expect(
      ones.scatteringAdd(atIndices: [2, 0, 2], alongAxis: 1, extent: 4)
        == Tensor([[1, 0, 2, 0], [1, 0, 2, 0]]))
    #expect(
      ones.scatteringAdd(atIndices: [-1, 0, 3], alongAxis: 1, extent: 4)
        == Tensor([[1, 0, 0, 2], [1, 0, 0, 2]]))
    #expect(
      ones.scatteringAdd(atIndices: [1, -2], alongAxis: 0, extent: 3)
        == Tensor([[0, 0, 0], [2, 2, 2], [0, 0, 0]]))
    // A gather's pullback scatters at positions checked when it was recorded: the same sums.
    var rng = SeededRandomNumberGenerator(seed: 1)
    let values = Tensor<Float>(randomUniform: [3, 500, 2], using: &rng)
    let positions = (0..<500).map { ($0 * 7) % 300 }
    #expect(
      values.scatteringAdd(atCheckedPositions: positions, alongAxis: 1, extent: 300)
        == values.scatteringAdd(atIndices: positions, alongAxis: 1, extent: 300))
    let flat = values.reshaped(to: [3000])
    let flatPositions = (0..<3000).map { ($0 * 13) % 1000 }
    #expect(
      flat.scatteringAdd(atCheckedPositions: flatPositions, alongAxis: -1, extent: 1000)
        == flat.scatteringAdd(atIndices: flatPositions, alongAxis: 0, extent: 1000))
  }

  @Test("concatenate joins along an existing axis, stack along a new one")
  func joining() {
    #expect(
      concatenate([matrix, matrix], alongAxis: 1) == Tensor([[1, 2, 3, 1, 2, 3], [4, 5, 6, 4, 5, 6]]))
    #expect(concatenate([matrix, matrix[0..<1]], alongAxis: 0).shape == [3, 3])
    #expect(stack([matrix, matrix], alongAxis: 0).shape == [2, 2, 3])
    #expect(stack([matrix, matrix * 2], alongAxis: -1)[scalarAt: [1, 2, 1]] == 12)
  }

  @Test("argmax and argmin: indices in row-major order of the other axes, ties to the first")
  func extremes() {
    let t: Tensor<Double> = [[1, 7, 7], [9, 0, 9]]
    #expect(t.argmax(alongAxis: 1) == [1, 0])
    #expect(t.argmin(alongAxis: 1) == [0, 1])
    #expect(t.argmax(alongAxis: 0) == [1, 0, 1])
    #expect(t.max(alongAxes: [0, 1]) == Tensor([[9]]))
  }

  @Test("clamped, sin, cos and erf")
  func elementwise() {
    #expect(Tensor<Double>([-2, 0.5, 3]).clamped(to: -1...1) == Tensor([-1, 0.5, 1]))
    #expect(isClose(Tensor<Double>([0, .pi / 2]).sin(), Tensor([0, 1]), absoluteTolerance: 1e-15))
    #expect(isClose(Tensor<Double>([0, .pi]).cos(), Tensor([1, -1]), absoluteTolerance: 1e-15))
    #expect(
      isClose(Tensor<Double>([0, 1]).erf(), Tensor([0, 0.8427007929497149]), absoluteTolerance: 1e-15))
  }

  @Test("Index and bounds mistakes stop, naming the operation and the values")
  func mistakes() async {
    let row = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Double>(zeros: [2, 3])[2]
    }
    let rowMessage = String(decoding: row?.standardErrorContent ?? [], as: UTF8.self)
    #expect(rowMessage.contains("Tensor[2]: index out of range for the first axis of shape [2, 3]"))
    let gather = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Double>(zeros: [2, 3]).gathering(atIndices: [0, 3], alongAxis: 1)
    }
    let gatherMessage = String(decoding: gather?.standardErrorContent ?? [], as: UTF8.self)
    #expect(
      gatherMessage.contains(
        "gathering(atIndices:alongAxis:): index 3 out of range for axis 1 of shape [2, 3]"))
    // Single elements (along the last axis) and rows.
    let element = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Double>(ones: [2, 3]).scatteringAdd(atIndices: [0, -5, 1], alongAxis: 1, extent: 4)
    }
    let elementMessage = String(decoding: element?.standardErrorContent ?? [], as: UTF8.self)
    #expect(
      elementMessage.contains(
        "scatteringAdd(atIndices:alongAxis:extent:): index -5 out of range for extent 4"))
    let slice = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Double>(ones: [2, 3]).scatteringAdd(atIndices: [2, 0], alongAxis: 0, extent: 2)
    }
    let sliceMessage = String(decoding: slice?.standardErrorContent ?? [], as: UTF8.self)
    #expect(
      sliceMessage.contains("scatteringAdd(atIndices:alongAxis:extent:): index 2 out of range for extent 2"))
    let negative = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Double>(zeros: [2, 0]).scatteringAdd(atIndices: [], alongAxis: 1, extent: -1)
    }
    let negativeMessage = String(decoding: negative?.standardErrorContent ?? [], as: UTF8.self)
    #expect(negativeMessage.contains("scatteringAdd(atIndices:alongAxis:extent:): extent -1 is negative"))
    let joined = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = concatenate([Tensor<Double>(zeros: [2, 3]), Tensor<Double>(zeros: [3, 2])], alongAxis: 0)
    }
    let joinedMessage = String(decoding: joined?.standardErrorContent ?? [], as: UTF8.self)
    #expect(joinedMessage.contains("concatenate(_:alongAxis:): shapes [[2, 3], [3, 2]] differ off axis 0"))
  }
}
