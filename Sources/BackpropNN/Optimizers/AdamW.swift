import BackpropAutodiff
import BackpropTensor

/// Adam with decoupled weight decay (Loshchilov & Hutter; PyTorch's `AdamW`): before each Adam
/// step, every parameter with a gradient shrinks by the factor 1 − α·λ, instead of λ·W joining
/// the gradient.
public final class AdamW<Scalar: TensorScalar>: Optimizer {
  /// The Adam update this optimiser adds the decay to.
  public let adam: Adam<Scalar>
  /// λ, the decoupled weight decay; 0.01 by default, as PyTorch.
  public var weightDecay: Scalar

  /// - Parameters:
  ///   - parameters: Usually `model.parameters`.
  ///   - learningRate: α, 1e-3 by default.
  ///   - beta1: β₁, 0.9 by default.
  ///   - beta2: β₂, 0.999 by default.
  ///   - epsilon: ε, 1e-8 by default.
  ///   - weightDecay: λ, 0.01 by default.
  /// - Precondition: every parameter is a leaf created with `requiresGrad: true`, listed once;
  ///   otherwise the program stops with a message naming it.
  public init(
    parameters: [Variable<Scalar>], learningRate: Scalar = 1e-3, beta1: Scalar = 0.9, beta2: Scalar = 0.999,
    epsilon: Scalar = 1e-8, weightDecay: Scalar = 0.01
  ) {
    checkOptimizable(parameters, for: "AdamW")
    adam = Adam(
      parameters: parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon)
    self.weightDecay = weightDecay
  }

  /// The parameters this optimiser updates.
  public var parameters: [Variable<Scalar>] { adam.parameters }
  /// The step size α (times the schedule's factor, when there is one).
  public var learningRate: Scalar {
    get { adam.learningRate }
    set { adam.learningRate = newValue }
  }
  /// How α changes with the step count.
  public var schedule: LearningRateSchedule? {
    get { adam.schedule }
    set { adam.schedule = newValue }
  }
  /// The number of steps taken.
  public var stepCount: Int { adam.stepCount }

  /// W := W·(1 − α·λ), then the Adam step, for every parameter with a gradient.
  public func step() {
    let shrink = Tensor(1 - adam.currentLearningRate * weightDecay)
    Variable.updateEach(parameters) { _, value, _ in value *= shrink }
    adam.step()
  }

  /// Kind `"AdamW"`, with Adam's counter and slots.
  public var state: OptimizerState<Scalar> {
    var state = adam.state
    state.kind = "AdamW"
    return state
  }

  /// Restores the step count and both moment estimates.
  public func restore(_ state: OptimizerState<Scalar>) { adam.restore(state) }
}
