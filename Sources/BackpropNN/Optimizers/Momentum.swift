import BackpropAutodiff
import BackpropTensor

/// Gradient descent with momentum, exactly as Rohan & Lenny write it:
/// V := μV − α·dJ/dW, then W := W + V, with V starting at zero; with optional weight decay (the
/// gradient gains λ·W) and a learning-rate schedule.
public final class Momentum<Scalar: TensorScalar>: Optimizer {
  /// The parameters this optimiser updates.
  public let parameters: [Variable<Scalar>]
  /// The step size α (times the schedule's factor, when there is one).
  public var learningRate: Scalar
  /// The momentum μ.
  public var momentum: Scalar
  /// λ: each step adds λ·W to the gradient. 0 by default.
  public var weightDecay: Scalar
  /// How α changes with the step count; `nil` (the default) keeps it constant.
  public var schedule: LearningRateSchedule?
  /// The number of steps taken, which ``schedule`` follows.
  public internal(set) var stepCount = 0
  /// The velocity V of each parameter, in parameter order.
  public internal(set) var velocities: [Tensor<Scalar>]

  /// - Parameters:
  ///   - parameters: Usually `model.parameters`.
  ///   - learningRate: The step size α.
  ///   - momentum: The momentum μ, e.g. 0.9.
  ///   - weightDecay: λ; 0 by default.
  /// - Precondition: every parameter is a leaf created with `requiresGrad: true`, listed once;
  ///   otherwise the program stops with a message naming it.
  public init(parameters: [Variable<Scalar>], learningRate: Scalar, momentum: Scalar, weightDecay: Scalar = 0)
  {
    checkOptimizable(parameters, for: "Momentum")
    self.parameters = parameters
    self.learningRate = learningRate
    self.momentum = momentum
    self.weightDecay = weightDecay
    self.velocities = parameters.map { Tensor(zeros: $0.shape) }
  }

  /// α for the next step: ``learningRate`` times the schedule's factor at ``stepCount``.
  public var currentLearningRate: Scalar { scheduledRate(learningRate, schedule, atStep: stepCount) }

  /// V := μV − α·(dJ/dW + λW), then W := W + V, for every parameter with a gradient.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func step() {
    let rate = currentLearningRate
    stepCount += 1
    let (momentum, decay) = (momentum, weightDecay)
    Variable.updateEach(parameters) { i, value, gradient in
      let gradient = decay == 0 ? gradient : gradient + value * decay
      velocities[i] = velocities[i] * momentum - gradient * rate
      value += velocities[i]
    }
  }

  /// Kind `"Momentum"` with the counter `"stepCount"` and the slot `"velocity"`.
  public var state: OptimizerState<Scalar> {
    OptimizerState(kind: "Momentum", counters: ["stepCount": stepCount], slots: ["velocity": velocities])
  }

  /// Restores the step count and the velocities.
  public func restore(_ state: OptimizerState<Scalar>) {
    stepCount = state.counters["stepCount"] ?? stepCount
    velocities = state.slots["velocity"] ?? velocities
  }
}
