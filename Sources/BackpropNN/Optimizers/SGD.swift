import BackpropAutodiff
import BackpropTensor

/// Plain gradient descent: W := W − α·dJ/dW, with optional weight decay (L2, as PyTorch's
/// `SGD(weight_decay:)`: the gradient gains λ·W) and a learning-rate schedule.
public final class SGD<Scalar: TensorScalar>: Optimizer {
  /// The parameters this optimiser updates.
  public let parameters: [Variable<Scalar>]
  /// The step size α (times the schedule's factor, when there is one).
  public var learningRate: Scalar
  /// λ: each step adds λ·W to the gradient. 0 by default.
  public var weightDecay: Scalar {
    didSet { isPlain = weightDecay == 0 && schedule == nil }
  }
  /// How α changes with the step count; `nil` (the default) keeps it constant.
  public var schedule: LearningRateSchedule? {
    didSet { isPlain = weightDecay == 0 && schedule == nil }
  }
  /// The number of steps taken, which ``schedule`` follows.
  public var stepCount: Int { steps }
  @exclusivity(unchecked) @usableFromInline var steps = 0
  /// `true` without weight decay and schedule: `step()` then reads nothing else (every read of a
  /// class's property from another module is checked for exclusivity at run time).
  @exclusivity(unchecked) @usableFromInline var isPlain: Bool

  /// - Parameters:
  ///   - parameters: Usually `model.parameters`.
  ///   - learningRate: The step size α.
  ///   - weightDecay: λ; 0 by default.
  /// - Precondition: every parameter is a leaf created with `requiresGrad: true`, listed once;
  ///   otherwise the program stops with a message naming it.
  public init(parameters: [Variable<Scalar>], learningRate: Scalar, weightDecay: Scalar = 0) {
    checkOptimizable(parameters, for: "SGD")
    self.parameters = parameters
    self.learningRate = learningRate
    self.weightDecay = weightDecay
    self.isPlain = weightDecay == 0
  }

  /// W := W − α·(dJ/dW + λW) for every parameter with a gradient.
  @inlinable
  public func step() {
    guard isPlain else { return stepWithExtras() }
    // Read once: every read of a class's variable is checked for exclusivity at run time.
    let factor = -learningRate
    steps &+= 1
    Variable.updateEach(parameters) { _, value, gradient in value.addProduct(factor, gradient) }
  }

  /// ``step()`` with weight decay or a schedule.
  @usableFromInline
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func stepWithExtras() {
    let rate = schedule.map { learningRate * Scalar($0.factor(atStep: steps)) } ?? learningRate
    steps += 1
    let factor = -rate
    let shrink = Tensor(1 - rate * weightDecay)
    Variable.updateEach(parameters) { _, value, gradient in
      value *= shrink
      value.addProduct(factor, gradient)
    }
  }

  /// Kind `"SGD"` with the counter `"stepCount"`.
  public var state: OptimizerState<Scalar> { OptimizerState(kind: "SGD", counters: ["stepCount": steps]) }

  /// Restores the step count.
  public func restore(_ state: OptimizerState<Scalar>) { steps = state.counters["stepCount"] ?? steps }
}
