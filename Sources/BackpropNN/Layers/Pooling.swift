import BackpropAutodiff
import BackpropTensor

/// A pooling layer: one function of each window of each channel of images `[N, C, H, W]`, with
/// no parameters. ``MaxPool2D`` and ``AvgPool2D`` are the two kinds.
public class Pool2D<Scalar: TensorScalar>: Layer {
  /// The window's height and width.
  public let kernelSize: Int
  /// The step between windows.
  public let stride: Int
  /// The pooling function of the kind.
  let pool: (Variable<Scalar>, _ kernelSize: Int, _ stride: Int) -> Variable<Scalar>

  init(
    kernelSize: Int, stride: Int?,
    pool: @escaping (Variable<Scalar>, _ kernelSize: Int, _ stride: Int) -> Variable<Scalar>
  ) {
    self.kernelSize = kernelSize
    self.stride = stride ?? kernelSize
    self.pool = pool
  }

  /// The pooled images, `[N, C, H′, W′]` with H′ = ⌊(H − kernelSize) / stride⌋ + 1, and W′ alike.
  public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
    pool(input, kernelSize, stride)
  }

  /// None.
  public var parameters: [Variable<Scalar>] { [] }
}

/// The largest value in each window of each channel of images `[N, C, H, W]`
/// (`maxPool2d(_:kernelSize:stride:)`; PyTorch's `nn.MaxPool2d`). No parameters.
public final class MaxPool2D<Scalar: TensorScalar>: Pool2D<Scalar> {
  /// - Parameters:
  ///   - kernelSize: The window's height and width.
  ///   - stride: The step between windows; the kernel size by default.
  public init(kernelSize: Int, stride: Int? = nil) {
    super.init(kernelSize: kernelSize, stride: stride) { maxPool2d($0, kernelSize: $1, stride: $2) }
  }
}

/// The mean of each window of each channel of images `[N, C, H, W]`
/// (`avgPool2d(_:kernelSize:stride:)`; PyTorch's `nn.AvgPool2d`). No parameters.
public final class AvgPool2D<Scalar: TensorScalar>: Pool2D<Scalar> {
  /// - Parameters:
  ///   - kernelSize: The window's height and width.
  ///   - stride: The step between windows; the kernel size by default.
  public init(kernelSize: Int, stride: Int? = nil) {
    super.init(kernelSize: kernelSize, stride: stride) { avgPool2d($0, kernelSize: $1, stride: $2) }
  }
}

/// Every axis but the first folded into one: `[N, d₁, d₂, …]` becomes `[N, d₁·d₂·…]`, between
/// the convolutions and the dense layers of a network. No parameters.
public final class Flatten<Scalar: TensorScalar>: Layer {
  /// A flattening layer.
  public init() {}

  /// The input reshaped to `[N, rest]`.
  ///
  /// - Precondition: the input has rank ≥ 1.
  public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
    let shape = input.shape
    check(!shape.isEmpty, "Flatten: a rank-0 input has no batch axis")
    return input.reshaped(to: [shape[0], shape.dropFirst().reduce(1, *)])
  }

  /// None.
  public var parameters: [Variable<Scalar>] { [] }
}
