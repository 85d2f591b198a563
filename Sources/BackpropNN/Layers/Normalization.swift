import BackpropAutodiff
import BackpropTensor

/// Normalises each sample over its last axis and applies a learned scale and shift:
/// y = (x − mean) / √(var + ε) · γ + β, with the population variance (PyTorch's `LayerNorm`).
///
/// A composite of recorded operations, so its gradient comes from the tape.
public final class LayerNorm<Scalar: TensorScalar>: Layer {
  /// γ, `[featureCount]`, ones at first (PyTorch's `weight`).
  public let weight: Variable<Scalar>
  /// β, `[featureCount]`, zeros at first (PyTorch's `bias`).
  public let bias: Variable<Scalar>
  /// ε, added to the variance.
  public let epsilon: Scalar

  /// - Parameters:
  ///   - featureCount: The extent of the last axis.
  ///   - epsilon: ε; 1e-5 by default, as PyTorch.
  public init(featureCount: Int, epsilon: Scalar = 1e-5) {
    weight = Variable(Tensor(ones: [featureCount]), requiresGrad: true, name: "weight")
    bias = Variable(Tensor(zeros: [featureCount]), requiresGrad: true, name: "bias")
    self.epsilon = epsilon
  }

  /// The normalised input.
  ///
  /// - Precondition: the last axis has `featureCount` elements.
  public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
    let shape = input.shape
    let features = weight.shape[0]
    check(
      shape.last == features,
      "LayerNorm (\(features) features): input of shape \(shape); expected its last axis to be \(features)")
    let centred = input - input.mean(alongAxes: [-1])
    let deviation = sqrt((centred * centred).mean(alongAxes: [-1]) + epsilon)
    return centred / deviation * weight + bias
  }

  /// `[weight, bias]`.
  public var parameters: [Variable<Scalar>] { [weight, bias] }

  /// `nn.LayerNorm`'s: `"weight"` and `"bias"`.
  public var namedTensors: [NamedTensor<Scalar>] {
    [NamedTensor("weight", weight), NamedTensor("bias", bias)]
  }
}

/// Normalises each feature (channel) over the batch, and over the image too for `[N, C, H, W]`,
/// and applies a learned scale and shift (PyTorch's `BatchNorm1d` and `BatchNorm2d`).
///
/// In training (``LearningPhase/training``) it uses the batch's mean and population variance,
/// and updates running estimates: running := (1 − momentum)·running + momentum·batch, with the
/// unbiased variance, as PyTorch does. In inference it uses the running estimates. The running
/// statistics are not parameters: optimisers never see them, and checkpoints store them
/// (``Layer/namedBuffers``).
public final class BatchNorm<Scalar: TensorScalar>: Layer {
  /// γ, `[featureCount]`, ones at first (PyTorch's `weight`).
  public let weight: Variable<Scalar>
  /// β, `[featureCount]`, zeros at first (PyTorch's `bias`).
  public let bias: Variable<Scalar>
  /// The running mean, `[featureCount]`, zeros at first; a constant, not a parameter.
  public let runningMean: Variable<Scalar>
  /// The running variance, `[featureCount]`, ones at first; a constant, not a parameter.
  public let runningVariance: Variable<Scalar>
  /// How many training batches have updated the running statistics, a scalar tensor (PyTorch's
  /// `num_batches_tracked`); a constant, not a parameter.
  public let batchesTracked: Variable<Scalar>
  /// The weight of each new batch in the running statistics.
  public let momentum: Scalar
  /// ε, added to the variance.
  public let epsilon: Scalar

  /// - Parameters:
  ///   - featureCount: The extent of axis 1 (features of `[N, C]`, channels of `[N, C, H, W]`).
  ///   - momentum: The weight of each batch in the running statistics; 0.1 by default, as PyTorch.
  ///   - epsilon: ε; 1e-5 by default, as PyTorch.
  public init(featureCount: Int, momentum: Scalar = 0.1, epsilon: Scalar = 1e-5) {
    weight = Variable(Tensor(ones: [featureCount]), requiresGrad: true, name: "weight")
    bias = Variable(Tensor(zeros: [featureCount]), requiresGrad: true, name: "bias")
    runningMean = Variable(Tensor(zeros: [featureCount]), name: "running_mean")
    runningVariance = Variable(Tensor(ones: [featureCount]), name: "running_var")
    batchesTracked = Variable(Tensor(0), name: "num_batches_tracked")
    self.momentum = momentum
    self.epsilon = epsilon
  }

  /// The normalised input, `[N, C]` or `[N, C, H, W]`.
  ///
  /// - Precondition: the input has rank 2 or 4 with `featureCount` on axis 1, and in training at
  ///   least two values per feature.
  public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
    let shape = input.shape
    let features = weight.shape[0]
    check(
      (shape.count == 2 || shape.count == 4) && shape[1] == features,
      "BatchNorm (\(features) features): input of shape \(shape); expected [batch, \(features)] or "
        + "[batch, \(features), height, width]")
    let axes = shape.count == 2 ? [0] : [0, 2, 3]
    let kept = shape.count == 2 ? [1, features] : [1, features, 1, 1]
    let mean: Variable<Scalar>
    let variance: Variable<Scalar>
    if LearningPhase.current == .training {
      let count = axes.reduce(1) { $0 * shape[$1] }
      check(count > 1, "BatchNorm: training needs more than one value per feature, got shape \(shape)")
      mean = input.mean(alongAxes: axes)
      variance = input.variance(alongAxes: axes)
      // The running statistics follow the batch, unrecorded; the variance unbiased, as PyTorch.
      let batchMean = mean.value.reshaped(to: [features])
      let batchVariance = variance.value.reshaped(to: [features]) * (Scalar(count) / Scalar(count - 1))
      runningMean.value = runningMean.value * (1 - momentum) + batchMean * momentum
      runningVariance.value = runningVariance.value * (1 - momentum) + batchVariance * momentum
      batchesTracked.value = batchesTracked.value + 1
    } else {
      mean = Variable(runningMean.value.reshaped(to: kept))
      variance = Variable(runningVariance.value.reshaped(to: kept))
    }
    let normalised = (input - mean) / sqrt(variance + epsilon)
    return normalised * weight.reshaped(to: kept) + bias.reshaped(to: kept)
  }

  /// `[weight, bias]`.
  public var parameters: [Variable<Scalar>] { [weight, bias] }

  /// `nn.BatchNorm1d`'s and `nn.BatchNorm2d`'s: the parameters `"weight"` and `"bias"`, and the
  /// buffers `"running_mean"`, `"running_var"` and `"num_batches_tracked"` (an integer).
  public var namedTensors: [NamedTensor<Scalar>] {
    [
      NamedTensor("weight", weight), NamedTensor("bias", bias),
      NamedTensor("running_mean", runningMean, role: .buffer),
      NamedTensor("running_var", runningVariance, role: .buffer),
      NamedTensor("num_batches_tracked", batchesTracked, role: .buffer, layout: .integer),
    ]
  }
}
