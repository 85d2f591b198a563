import BackpropTensor
import BackpropTestSupport
import Testing

@Suite("Sliding windows")
struct TensorWindowsTests {
  static let cases: [(shape: [Int], windows: SlidingWindows)] = [
    ([1, 1, 4, 4], SlidingWindows(kernelSize: [2, 2])),
    ([2, 3, 5, 7], SlidingWindows(kernelSize: [3, 2], stride: [2, 1], padding: [1, 0])),
    (
      [1, 2, 6, 5], SlidingWindows(kernelSize: [2, 3], stride: [1, 2], padding: [2, 1], dilation: [2, 1])
    ),
    ([3, 1, 3, 3], SlidingWindows(kernelSize: [1, 1])),
    // Stride 1 and dilation 1: the padded copy, one kernel call per column row.
    ([2, 3, 6, 5], SlidingWindows(kernelSize: [3, 2], padding: [1, 2])),
    ([1, 2, 4, 13], SlidingWindows(kernelSize: [3, 3], padding: [1, 1])),
  ]

  @Test("unfolded matches the definition: row (c·kh + i)·kw + j, column oi·Wo + oj, zeros outside")
  func unfoldDefinition() {
    for (shape, windows) in Self.cases {
      var rng = SeededRandomNumberGenerator(seed: 3)
      let x = Tensor<Double>(randomUniform: shape, using: &rng)
      let columns = x.unfolded(windows)
      let output = windows.outputSize(forImageSize: [shape[2], shape[3]])
      let (kh, kw) = (windows.kernelSize[0], windows.kernelSize[1])
      #expect(columns.shape == [shape[0], shape[1] * kh * kw, output[0] * output[1]])
      for n in 0..<shape[0] {
        for c in 0..<shape[1] {
          for i in 0..<kh {
            for j in 0..<kw {
              for oi in 0..<output[0] {
                for oj in 0..<output[1] {
                  let ii = oi * windows.stride[0] - windows.padding[0] + i * windows.dilation[0]
                  let jj = oj * windows.stride[1] - windows.padding[1] + j * windows.dilation[1]
                  let inside = ii >= 0 && ii < shape[2] && jj >= 0 && jj < shape[3]
                  let expected = inside ? x[scalarAt: [n, c, ii, jj]] : 0
                  let row = (c * kh + i) * kw + j
                  #expect(columns[scalarAt: [n, row, oi * output[1] + oj]] == expected)
                }
              }
            }
          }
        }
      }
    }
  }

  @Test("folded is unfolded's adjoint: ⟨unfold x, y⟩ = ⟨x, fold y⟩")
  func adjoint() {
    for (shape, windows) in Self.cases {
      var rng = SeededRandomNumberGenerator(seed: 5)
      let x = Tensor<Double>(randomUniform: shape, using: &rng)
      let columns = x.unfolded(windows)
      let y = Tensor<Double>(randomUniform: columns.shape, using: &rng)
      let left = (columns * y).sum().scalar
      let right = (x * y.folded(windows, imageSize: [shape[2], shape[3]])).sum().scalar
      #expect(isClose(left, right, relativeTolerance: 1e-12), "\(shape) \(windows)")
    }
  }

  /// Windows for max pooling: rows wide enough for the kernels' eight- and four-window paths at
  /// strides 1, 2 and 3, padding and dilation at the edges, and rows too narrow for them (whole
  /// images at a time without padding, scalar with it); 2×2 windows at stride 2 with 17, 13, 5, 4
  /// and 3 windows a row.
  static let poolingCases: [(shape: [Int], windows: SlidingWindows)] = [
    ([2, 3, 26, 26], SlidingWindows(kernelSize: [2, 2], stride: [2, 2])),
    ([1, 2, 11, 11], SlidingWindows(kernelSize: [2, 2], stride: [2, 2])),
    ([1, 2, 9, 40], SlidingWindows(kernelSize: [3, 3], stride: [1, 1], padding: [1, 1])),
    (
      [2, 1, 12, 53],
      SlidingWindows(kernelSize: [3, 2], stride: [2, 3], padding: [1, 1], dilation: [1, 2])
    ),
    (
      [1, 1, 7, 30], SlidingWindows(kernelSize: [3, 3], stride: [1, 2], padding: [1, 0], dilation: [2, 1])
    ),
    ([2, 3, 8, 8], SlidingWindows(kernelSize: [2, 2], stride: [2, 2])),
    ([1, 2, 5, 34], SlidingWindows(kernelSize: [2, 2], stride: [2, 2])),
    ([2, 2, 6, 7], SlidingWindows(kernelSize: [2, 2], stride: [2, 2])),
    ([1, 2, 7, 9], SlidingWindows(kernelSize: [3, 2], stride: [1, 3], dilation: [2, 1])),
  ]

  @Test(
    "windowMaximumOffsets and windowMaxima match a direct search: first of ties, NaN wins, padding skipped")
  func windowMaximumOffsets() {
    func expected<Scalar: TensorScalar>(_ x: Tensor<Scalar>, _ windows: SlidingWindows) -> [Int] {
      let shape = x.shape
      let output = windows.outputSize(forImageSize: [shape[2], shape[3]])
      let scalars = x.scalars
      var offsets: [Int] = []
      for plane in 0..<shape[0] * shape[1] {
        for oi in 0..<output[0] {
          for oj in 0..<output[1] {
            var (best, maximum) = (-1, -Scalar.infinity)
            for i in 0..<windows.kernelSize[0] {
              for j in 0..<windows.kernelSize[1] {
                let ii = oi * windows.stride[0] - windows.padding[0] + i * windows.dilation[0]
                let jj = oj * windows.stride[1] - windows.padding[1] + j * windows.dilation[1]
                guard ii >= 0 && ii < shape[2] && jj >= 0 && jj < shape[3] else { continue }
                let offset = (plane * shape[2] + ii) * shape[3] + jj
                if best < 0 { best = offset }
                if scalars[offset] > maximum || scalars[offset].isNaN {
                  (best, maximum) = (offset, scalars[offset])
                }
              }
            }
            offsets.append(best)
          }
        }
      }
      return offsets
    }
    for (shape, windows) in Self.poolingCases {
      var rng = SeededRandomNumberGenerator(seed: 9)
      // Few distinct values, so that windows tie; a NaN now and then.
      var scalars = (0..<shape.reduce(1, *)).map { _ in Double(Int.random(in: 0..<4, using: &rng)) }
      for index in stride(from: 17, to: scalars.count, by: 97) { scalars[index] = .nan }
      let x = try! Tensor<Double>(shape: shape, scalars: scalars)
      let y = try! Tensor<Float>(shape: shape, scalars: scalars.map(Float.init))
      #expect(x.windowMaximumOffsets(windows) == expected(x, windows), "\(shape) \(windows)")
      #expect(y.windowMaximumOffsets(windows) == expected(y, windows), "\(shape) \(windows)")
      let (values, offsets) = y.windowMaxima(windows)
      let output = windows.outputSize(forImageSize: [shape[2], shape[3]])
      #expect(values.shape == [shape[0], shape[1], output[0], output[1]] && offsets == expected(y, windows))
      #expect(
        values.scalars.map(\.bitPattern) == offsets.map { y.scalars[$0].bitPattern }, "\(shape) \(windows)")
    }
  }

  @Test("A window that does not fit stops, naming the sizes")
  func doesNotFit() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Double>(zeros: [1, 1, 2, 2]).unfolded(SlidingWindows(kernelSize: [3, 3]))
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(
      message.contains(
        "unfolded: a [3, 3] window (padding [0, 0], dilation [1, 1]) does not fit an image of [2, 2]"))
  }
}
