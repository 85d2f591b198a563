import BackpropAutodiff
import BackpropTensor

/// The largest value in each window of each channel of images `[N, C, H, W]`
/// (`maxPool2d(_:kernelSize:stride:)`). No parameters.
public final class MaxPool2D<Scalar: TensorScalar>: Layer {
  /// The window's height and width.
  public let kernelSize: Int
  /// The step between windows.
  public let stride: Int

  /// - Parameters:
  ///   - kernelSize: The window's height and width.
  ///   - stride: The step between windows; the kernel size by default.
  public init(kernelSize: Int, stride: Int? = nil) {
    self.kernelSize = kernelSize
    self.stride = stride ?? kernelSize
  }

  /// The pooled images.
  public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
    maxPool2d(input, kernelSize: kernelSize, stride: stride)
  }

  /// None.
  public var parameters: [Variable<Scalar>] { [] }
}

/// The mean of each window of each channel of images `[N, C, H, W]`
/// (`avgPool2d(_:kernelSize:stride:)`). No parameters.
public final class AvgPool2D<Scalar: TensorScalar>: Layer {
  /// The window's height and width.
  public let kernelSize: Int
  /// The step between windows.
  public let stride: Int

  /// - Parameters:
  ///   - kernelSize: The window's height and width.
  ///   - stride: The step between windows; the kernel size by default.
  public init(kernelSize: Int, stride: Int? = nil) {
    self.kernelSize = kernelSize
    self.stride = stride ?? kernelSize
  }

  /// The pooled images.
  public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
    avgPool2d(input, kernelSize: kernelSize, stride: stride)
  }

  /// None.
  public var parameters: [Variable<Scalar>] { [] }
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
