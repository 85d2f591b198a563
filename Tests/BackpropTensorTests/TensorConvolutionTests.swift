import BackpropTestSupport
import Testing

@testable import BackpropTensor

@Suite("Convolutions as tensor functions")
struct TensorConvolutionTests {
  /// The convolution and its gradients as `unfolded`, `matmul` and `folded` compute them for the
  /// whole batch: the functions must give these bits.
  static func composite<Scalar: TensorScalar>(
    _ x: Tensor<Scalar>, _ filter: Tensor<Scalar>, _ g: Tensor<Scalar>, _ windows: SlidingWindows
  ) -> (output: Tensor<Scalar>, inputGradient: Tensor<Scalar>, filterGradient: Tensor<Scalar>) {
    let (n, o) = (x.shape[0], filter.shape[0])
    let rows = filter.scalarCount / o
    let weights = filter.reshaped(to: [o, rows])
    let columns = x.unfolded(windows)
    let output = matmul(weights, columns)
    let upstream = g.reshaped(to: [n, o, g.shape[2] * g.shape[3]])
    let inputGradient = matmul(weights, upstream, transposeA: true).folded(
      windows, imageSize: [x.shape[2], x.shape[3]])
    let filterGradient = matmul(upstream, columns, transposeB: true).unbroadcasted(to: [o, rows])
    return (output.reshaped(to: g.shape), inputGradient, filterGradient.reshaped(to: filter.shape))
  }

  @Test(
    "convolved and its gradients give the bits of unfolded, matmul and folded, with kept columns and image by image"
  )
  func matchesTheComposite() {
    // On one thread the filter gradient adds each image's product to the result in turn; on
    // more, a batch this large splits by images and sums the products afterwards.
    for threads in [1, 2] {
      let (_, used) = ParallelExecution.measuringThreads {
        ParallelExecution.withThreadCount(threads) { matchesTheComposite(threads: threads) }
      }
      #expect(used == threads, "ran on \(used) thread(s) where \(threads) were asked for")
    }
  }

  func matchesTheComposite(threads: Int) {
    var rng = SeededRandomNumberGenerator(seed: 5)
    let cases: [(images: [Int], filter: [Int], windows: SlidingWindows)] = [
      ([4, 3, 8, 8], [5, 3, 3, 3], SlidingWindows(kernelSize: [3, 3], padding: [1, 1])),
      ([3, 4, 10, 12], [6, 4, 3, 3], SlidingWindows(kernelSize: [3, 3], padding: [1, 1])),
      ([2, 2, 7, 9], [3, 2, 2, 3], SlidingWindows(kernelSize: [2, 3], stride: [2, 1], padding: [1, 0])),
      (
        [1, 2, 9, 8], [4, 2, 3, 2], SlidingWindows(kernelSize: [3, 2], padding: [2, 1], dilation: [2, 1])
      ),
      // Dense windows without padding, output rows of 9: positions cross rows inside a vector.
      ([3, 3, 12, 11], [4, 3, 3, 3], SlidingWindows(kernelSize: [3, 3])),
      // Columns above the kept limit (4.7 MB): made image by image in a scratch buffer.
      ([2, 16, 64, 64], [8, 16, 3, 3], SlidingWindows(kernelSize: [3, 3], padding: [1, 1])),
    ]
    for (imagesShape, filterShape, windows) in cases {
      let x = Tensor<Float>(randomUniform: imagesShape, using: &rng)
      let filter = Tensor<Float>(randomUniform: filterShape, using: &rng)
      let output = windows.outputSize(forImageSize: Array(imagesShape[2...]))
      let g = Tensor<Float>(randomUniform: [imagesShape[0], filterShape[0]] + output, using: &rng)
      let expected = Self.composite(x, filter, g, windows)
      let (convolved, columns) = x.convolvedKeepingColumns(with: filter, windows)
      let rows = filterShape[1...].reduce(1, *)
      let keeps = imagesShape[0] * rows * output[0] * output[1] * 4 <= Tensor<Float>.keptColumnsLimit
      let label = "\(imagesShape), \(threads) thread(s)"
      #expect((columns != nil) == keeps, "\(label)")
      #expect(convolved == expected.output, "\(label)")
      #expect(x.convolved(with: filter, windows) == expected.output, "\(label)")
      let bias = Tensor<Float>(randomUniform: [filterShape[0]], using: &rng)
      #expect(
        x.convolved(with: filter, bias: bias, windows) == expected.output
          + bias.reshaped(to: [filterShape[0], 1, 1]),
        "\(label) with a bias")
      #expect(
        g.convolutionInputGradient(filter: filter, windows, imageSize: Array(imagesShape[2...]))
          == expected.inputGradient, "\(label)")
      #expect(g.convolutionFilterGradient(images: x, windows) == expected.filterGradient, "\(label)")
      #expect(
        g.convolutionFilterGradient(images: x, windows, columns: x.unfolded(windows))
          == expected.filterGradient,
        "\(label)")
    }
  }

  @Test("In Double too, the gradients of dense windows give the bits of unfolded, matmul and folded")
  func matchesTheCompositeInDouble() {
    var rng = SeededRandomNumberGenerator(seed: 7)
    let windows = SlidingWindows(kernelSize: [3, 3], padding: [1, 1])
    // Image by image (more positions than one block of the inner dimension, or the images split
    // across threads), and adding each image's product in turn (fewer, on one thread).
    for threads in [1, 2] {
      ParallelExecution.withThreadCount(threads) { matchesTheCompositeInDouble(using: &rng, windows) }
    }
  }

  func matchesTheCompositeInDouble(using rng: inout SeededRandomNumberGenerator, _ windows: SlidingWindows) {
    // Output rows of 6 Doubles take the vector packing too, with most groups of four positions
    // crossing into the next row.
    for imagesShape in [[2, 4, 20, 18], [3, 4, 9, 10], [2, 4, 9, 6]] {
      let x = Tensor<Double>(randomUniform: imagesShape, using: &rng)
      let filter = Tensor<Double>(randomUniform: [5, 4, 3, 3], using: &rng)
      let g = Tensor<Double>(randomUniform: [imagesShape[0], 5] + Array(imagesShape[2...]), using: &rng)
      let expected = Self.composite(x, filter, g, windows)
      #expect(g.convolutionFilterGradient(images: x, windows) == expected.filterGradient, "\(imagesShape)")
      #expect(
        g.convolutionInputGradient(filter: filter, windows, imageSize: Array(imagesShape[2...]))
          == expected.inputGradient, "\(imagesShape)")
    }
  }

  @Test(
    "A rectified convolution gives the bits of relu() after it, with and without a bias, kept columns and image by image, NaN and −0 included"
  )
  func rectifiedMatchesReLU() {
    var rng = SeededRandomNumberGenerator(seed: 8)
    let windows = SlidingWindows(kernelSize: [3, 3], padding: [1, 1])
    // Columns of 1 × 18 × 36 positions are kept; 40 × 144 × 4,096 are not.
    for (imagesShape, filterShape) in [([1, 2, 6, 6], [3, 2, 3, 3]), ([40, 16, 64, 64], [4, 16, 3, 3])] {
      var x = Tensor<Float>(randomUniform: imagesShape, lowerBound: -1, upperBound: 1, using: &rng)
      x[scalarAt: [0, 0, 1, 1]] = .nan  // its windows' outputs are NaN, and ReLU makes them 0
      let filter = Tensor<Float>(randomUniform: filterShape, lowerBound: -1, upperBound: 1, using: &rng)
      for bias in [
        nil, Tensor<Float>(randomUniform: [filterShape[0]], lowerBound: -1, upperBound: 1, using: &rng),
      ] {
        let (rectified, columns) = x.convolvedKeepingColumns(
          with: filter, bias: bias, windows, rectified: true)
        let expected = x.convolved(with: filter, bias: bias, windows).relu()
        #expect(rectified == expected, "\(imagesShape), bias: \(bias != nil)")
        #expect(rectified.scalars.allSatisfy { $0 >= 0 && $0.sign == .plus })
        #expect((columns != nil) == (imagesShape[0] == 1))
      }
    }
    // A filter of zeros with a bias of −0 gives −0 + −0 = −0 before ReLU, and +0 after.
    let x = Tensor<Double>(ones: [1, 1, 2, 2])
    let negativeZero = Tensor<Double>([-0.0])
    let output = x.convolvedKeepingColumns(
      with: Tensor(ones: [1, 1, 1, 1]) * -0.0, bias: negativeZero, SlidingWindows(kernelSize: [1, 1]),
      rectified: true
    ).output
    #expect(output.scalars.allSatisfy { $0 == 0 && $0.sign == .plus })
  }

  @Test(
    "ReLU's mask and the bias gradient in one pass give the bits of zeroed(whereNotPositive:) and unbroadcasted(to:)"
  )
  func maskWithChannelSums() {
    var rng = SeededRandomNumberGenerator(seed: 10)
    // Rows of 676 (the row-sum kernel), of 4 (the scalar sums), and an empty batch.
    for shape in [[5, 3, 26, 26], [3, 4, 2, 2], [0, 2, 3, 3]] {
      let g = Tensor<Float>(randomUniform: shape, lowerBound: -1, upperBound: 1, using: &rng)
      let output = Tensor<Float>(randomUniform: shape, lowerBound: -1, upperBound: 1, using: &rng).relu()
      let (masked, sums) = g.zeroedWithChannelSums(whereNotPositive: output)
      let expected = g.zeroed(whereNotPositive: output)
      #expect(masked == expected, "\(shape)")
      #expect(sums == expected.unbroadcasted(to: [shape[1], 1, 1]).reshaped(to: [shape[1]]), "\(shape)")
    }
  }

  @Test(
    "Gradients made image by image, masked or not, with the images' or without, give the separate functions' bits"
  )
  func gradientsByImage() {
    func check<Scalar: TensorScalar>(
      _: Scalar.Type, images: [Int], filters: Int, _ windows: SlidingWindows, keepsColumns: Bool
    ) {
      var rng = SeededRandomNumberGenerator(seed: 14)
      let x = Tensor<Scalar>(randomUniform: images, lowerBound: -1, upperBound: 1, using: &rng)
      let filter = Tensor<Scalar>(
        randomUniform: [filters, images[1]] + windows.kernelSize, lowerBound: -1, upperBound: 1, using: &rng)
      let (output, columns) = x.convolvedKeepingColumns(with: filter, windows, rectified: true)
      #expect((columns != nil) == keepsColumns, "\(images)")
      let g = Tensor<Scalar>(randomUniform: output.shape, lowerBound: -1, upperBound: 1, using: &rng)
      for rectified in [true, false] {
        for withInput in [false, true] {
          let upstream = rectified ? g.zeroed(whereNotPositive: output) : g
          let fused = ParallelExecution.withThreadCount(1) {
            g.convolutionGradientsByImage(
              images: x, filter: withInput ? filter : nil, windows, columns: columns,
              rectifiedOutput: rectified ? output : nil)
          }
          let label = "\(images) rectified \(rectified) input \(withInput)"
          #expect(
            fused?.filter == upstream.convolutionFilterGradient(images: x, windows, columns: columns),
            "\(label)")
          #expect(
            fused?.input
              == (withInput
                ? upstream.convolutionInputGradient(filter: filter, windows, imageSize: Array(images[2...]))
                : nil),
            "\(label)")
          #expect(
            fused?.bias
              == (rectified ? upstream.unbroadcasted(to: [filters, 1, 1]).reshaped(to: [filters]) : nil),
            "\(label)")
        }
      }
    }
    let dense = SlidingWindows(kernelSize: [3, 3], padding: [1, 1])
    // Kept columns, with more filters than taps (the product not transposed).
    check(Float.self, images: [3, 1, 12, 12], filters: 16, dense, keepsColumns: true)
    check(Double.self, images: [3, 1, 12, 12], filters: 16, dense, keepsColumns: true)
    check(Float.self, images: [3, 1, 26, 26], filters: 32, dense, keepsColumns: true)
    // Image by image: columns packed from the image, and products too deep to add in place.
    check(Float.self, images: [10, 16, 30, 30], filters: 8, dense, keepsColumns: false)
    // Products added in place (no more positions than a block of the inner dimension).
    check(Float.self, images: [14, 64, 12, 12], filters: 8, dense, keepsColumns: false)
    check(Double.self, images: [7, 64, 12, 12], filters: 8, dense, keepsColumns: false)
    // Strided windows: the columns made by im2col.
    check(
      Float.self, images: [10, 16, 60, 60], filters: 8, SlidingWindows(kernelSize: [3, 3], stride: [2, 2]),
      keepsColumns: false)
    // Split across threads, the images go through the separate functions instead.
    let x = Tensor<Float>(ones: [4, 16, 30, 30])
    let output = Tensor<Float>(ones: [4, 8, 30, 30])
    let split = ParallelExecution.withThreadCount(2) {
      output.convolutionGradientsByImage(
        images: x, filter: Tensor(ones: [8, 16, 3, 3]), dense, columns: nil, rectifiedOutput: output)
    }
    #expect(split == nil)
  }

  @Test("Convolutions split by images give the same bits on 1, 2 and 3 threads")
  func threadsAgreeBitForBit() {
    var rng = SeededRandomNumberGenerator(seed: 6)
    let windows = SlidingWindows(kernelSize: [3, 3], padding: [1, 1])
    // Above the kept limit, so that the images go one by one through the scratch buffers.
    let x = Tensor<Float>(randomUniform: [5, 16, 48, 48], using: &rng)
    let filter = Tensor<Float>(randomUniform: [8, 16, 3, 3], using: &rng)
    let g = Tensor<Float>(randomUniform: [5, 8, 48, 48], using: &rng)
    var results: [[Tensor<Float>]] = []
    for threads in [1, 2, 3] {
      let (run, used) = ParallelExecution.measuringThreads {
        ParallelExecution.withThreadCount(threads) {
          [
            x.convolved(with: filter, windows),
            g.convolutionInputGradient(filter: filter, windows, imageSize: [48, 48]),
            g.convolutionFilterGradient(images: x, windows),
          ]
        }
      }
      #expect(used == threads, "ran on \(used) thread(s) where \(threads) were asked for")
      results.append(run)
    }
    #expect(results[1] == results[0])
    #expect(results[2] == results[0])
  }
}
