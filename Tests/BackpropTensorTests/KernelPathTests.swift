import BackpropTestSupport
import Foundation
import Testing

@testable import BackpropTensor

/// Every kernel path this processor runs, each in a process of its own (the path is chosen once
/// per process): `BACKPROP_KERNELS` forces it, and each kernel's results are checked against
/// plain Swift there.
@Suite("Kernel paths")
struct KernelPathTests {
  /// Runs every kernel on awkward sizes and stops with a message when one disagrees with plain
  /// Swift: bit for bit where the order of operations is the same, to rounding otherwise.
  static func checkEveryKernel() {
    var rng = SeededRandomNumberGenerator(seed: 12)
    // Matrix products: odd sizes, every transpose, both scalar types, through the packed kernels.
    for (m, k, n) in [(37, 53, 29), (64, 300, 70)] {
      for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
        let (a, b): (Tensor<Float>, Tensor<Float>) = operands(
          m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB, seed: UInt64(m + k))
        let expected = referenceProduct(a, b, transposeA: transposeA, transposeB: transposeB)
        let product = matmul(a, b, transposeA: transposeA, transposeB: transposeB)
        precondition(
          isClose(converted(product, to: Double.self), expected, absoluteTolerance: 1e-3),
          "Float product \(m)×\(k)×\(n) \(transposeA) \(transposeB)")
        let (c, d): (Tensor<Double>, Tensor<Double>) = operands(
          m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB, seed: UInt64(m * n))
        precondition(
          isClose(
            matmul(c, d, transposeA: transposeA, transposeB: transposeB),
            referenceProduct(c, d, transposeA: transposeA, transposeB: transposeB), absoluteTolerance: 1e-10),
          "Double product \(m)×\(k)×\(n) \(transposeA) \(transposeB)")
      }
    }
    // Elementwise: e^x and erf within 2 ulp of the C library, square roots exact, 1,003 elements
    // so that a vector tail is left.
    let x = Tensor<Float>(randomUniform: [1003], lowerBound: -8, upperBound: 8, using: &rng)
    for (name, kernel, reference) in [
      ("exp", x.exp(), x.map { Foundation.exp($0) }), ("erf", x.erf(), x.map { Foundation.erf($0) }),
    ] {
      for (got, want) in zip(kernel.scalars, reference.scalars) {
        precondition(abs(got - want) <= 2 * want.ulp, "\(name): \(got) where the C library gives \(want)")
      }
    }
    let positive = x.abs()
    precondition(positive.squareRoot().scalars == positive.scalars.map { $0.squareRoot() }, "sqrt")
    // Row sums, im2col and col2im, and max pooling against their definitions.
    let rows = Tensor<Float>(randomUniform: [13, 67], using: &rng)
    let sums = rows.sum(alongAxes: [1]).scalars
    for row in 0..<13 {
      let want = (0..<67).reduce(Float(0)) { $0 + rows[scalarAt: [row, $1]] }
      precondition(abs(sums[row] - want) <= 1e-4, "row sum \(row): \(sums[row]) ≠ \(want)")
    }
    let images = Tensor<Double>(randomUniform: [2, 3, 9, 11], using: &rng)
    let windows = SlidingWindows(kernelSize: [3, 3], padding: [1, 1])
    let columns = images.unfolded(windows)
    for (channel, i, j, y, x) in [(0, 0, 0, 0, 0), (2, 1, 2, 4, 10), (1, 2, 1, 8, 5)] {
      let position = y * 11 + x
      let (sy, sx) = (y + i - 1, x + j - 1)
      let want = (0..<9).contains(sy) && (0..<11).contains(sx) ? images[scalarAt: [1, channel, sy, sx]] : 0
      precondition(columns[scalarAt: [1, (channel * 3 + i) * 3 + j, position]] == want, "im2col")
    }
    let folded = Tensor<Double>(ones: columns.shape).folded(windows, imageSize: [9, 11])
    precondition(folded[scalarAt: [0, 0, 4, 5]] == 9 && folded[scalarAt: [0, 0, 0, 0]] == 4, "col2im")
    let pooled = images.windowMaxima(SlidingWindows(kernelSize: [2, 2], stride: [2, 2])).values
    for (c, y, x) in [(0, 0, 0), (2, 3, 4)] {
      let want = [(0, 0), (0, 1), (1, 0), (1, 1)].map { images[scalarAt: [0, c, 2 * y + $0, 2 * x + $1]] }
        .max()!
      precondition(pooled[scalarAt: [0, c, y, x]] == want, "max pooling")
    }
  }

  @Test("BACKPROP_KERNELS=portable runs every kernel's portable path, and each agrees with plain Swift")
  func portable() async {
    let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      setenv("BACKPROP_KERNELS", "portable", 1)
      precondition(ParallelExecution.matrixKernelInstructionSet == "portable", "the path is not portable")
      KernelPathTests.checkEveryKernel()
    }
    let messages = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(messages.isEmpty, "\(messages)")
  }

  @Test("The best path this processor runs agrees with plain Swift too")
  func best() async {
    await #expect(processExitsWith: .success) {
      unsetenv("BACKPROP_KERNELS")
      KernelPathTests.checkEveryKernel()
    }
  }

  /// FNV-1a over the bits of products of every shape ``checkEveryKernel()`` tries, Float and
  /// Double, written to standard output.
  static func printProductDigest() {
    var digest: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ bits: UInt64) { digest = (digest ^ bits) &* 0x100_0000_01b3 }
    for (m, k, n) in [(37, 53, 29), (64, 300, 70), (26, 600, 136), (100, 17, 130)] {
      for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
        let (a, b): (Tensor<Float>, Tensor<Float>) = operands(
          m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB, seed: UInt64(m + k))
        matmul(a, b, transposeA: transposeA, transposeB: transposeB).scalars.forEach {
          mix(UInt64($0.bitPattern))
        }
        let (c, d): (Tensor<Double>, Tensor<Double>) = operands(
          m: m, k: k, n: n, transposeA: transposeA, transposeB: transposeB, seed: UInt64(m * n))
        matmul(c, d, transposeA: transposeA, transposeB: transposeB).scalars.forEach { mix($0.bitPattern) }
      }
    }
    print("products \(String(digest, radix: 16))")
  }

  @Test("BACKPROP_KERNELS=avx512 and avx2 (where the processor has them) agree with Swift and each other")
  func avx512() async throws {
    let wide = await #expect(
      processExitsWith: .success, observing: [\.standardOutputContent, \.standardErrorContent]
    ) {
      setenv("BACKPROP_KERNELS", "avx512", 1)
      if ParallelExecution.matrixKernelInstructionSet == "avx512" {
        KernelPathTests.checkEveryKernel()
        KernelPathTests.printProductDigest()
      }
    }
    let narrow = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
      setenv("BACKPROP_KERNELS", "avx2", 1)
      // On an AVX-512 processor the best path is AVX-512, so the AVX2 kernels are checked here.
      if ParallelExecution.matrixKernelInstructionSet == "avx2+fma" {
        KernelPathTests.checkEveryKernel()
        KernelPathTests.printProductDigest()
      }
    }
    let messages = String(decoding: wide?.standardErrorContent ?? [], as: UTF8.self)
    let wideDigest = String(decoding: wide?.standardOutputContent ?? [], as: UTF8.self)
    let narrowDigest = String(decoding: narrow?.standardOutputContent ?? [], as: UTF8.self)
    guard messages.isEmpty else {
      // The processor lacks AVX-512: the request is said, and there is nothing to compare.
      #expect(messages.contains("BACKPROP_KERNELS=avx512, but this processor lacks AVX-512"), "\(messages)")
      return
    }
    #expect(wideDigest.contains("products "), "\(wideDigest)")
    #expect(wideDigest == narrowDigest)
  }

  @Test("A path this build does not have is said on standard error, and the best one is used")
  func unknownPath() async {
    let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      setenv("BACKPROP_KERNELS", "sse9", 1)
      _ = matmul(Tensor<Float>(ones: [64, 64]), Tensor<Float>(ones: [64, 64]))
      precondition(ParallelExecution.matrixKernelInstructionSet != "", "no path")
    }
    let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(
      text.contains("BACKPROP_KERNELS=sse9 is not a kernel path (portable, avx2, avx512, neon, accelerate)"))
  }
}
