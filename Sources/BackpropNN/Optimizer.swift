import BackpropAutodiff
import BackpropTensor

/// Updates parameters from their accumulated gradients.
///
/// A training step is `optimizer.zeroGrad(); loss.backward(); optimizer.step()`. Parameters
/// whose `grad` is `nil` (not reached by the last backward pass) are left unchanged.
public protocol Optimizer<Scalar>: AnyObject {
  /// The scalar type of the parameters.
  associatedtype Scalar: TensorScalar
  /// The parameters this optimiser updates.
  var parameters: [Variable<Scalar>] { get }
  /// Applies one update to every parameter with a gradient.
  func step()
  /// Everything the optimiser has learned besides the parameters themselves — velocities,
  /// moment estimates, step counts — so that a checkpoint can resume training exactly.
  ///
  /// Hyperparameters (learning rate, momentum, β) are not state: you pass them when you create
  /// the optimiser. The default is an empty state named after the type, which is right for an
  /// optimiser that keeps nothing between steps.
  var state: OptimizerState<Scalar> { get }
  /// Replaces the state with one read from a checkpoint.
  ///
  /// - Precondition: `state` has the layout of ``state``: the same kind, counter names, slot names
  ///   and tensor shapes. ``Checkpoint`` validates this before calling, so an implementation may
  ///   assign without checking.
  func restore(_ state: OptimizerState<Scalar>)
}

extension Optimizer {
  /// Clears every parameter's gradient.
  ///
  /// Inlinable, like `SGD.step()`: a call from another module otherwise runs the unspecialised
  /// generic code, which looks up metadata and goes through value witnesses for every parameter.
  @inlinable
  public func zeroGrad() {
    for parameter in parameters { parameter.zeroGrad() }
  }

  /// An empty state named after the optimiser's type.
  public var state: OptimizerState<Scalar> { OptimizerState(kind: String(describing: Self.self)) }

  /// Does nothing: the default state is empty.
  public func restore(_ state: OptimizerState<Scalar>) {}
}

/// The state an optimiser carries from step to step, in a form a ``Checkpoint`` can store.
///
/// `slots` hold one tensor per parameter, in the order of ``Optimizer/parameters`` — for example
/// `["velocity": velocities]` for ``Momentum``. `counters` hold whole numbers such as Adam's step
/// count.
public struct OptimizerState<Scalar: TensorScalar>: Sendable, Equatable {
  /// The optimiser's kind, e.g. `"Adam"`; a checkpoint only loads into the same kind.
  public var kind: String
  /// Named whole numbers, e.g. `["stepCount": 10]`. Stored values must be non-negative.
  public var counters: [String: Int]
  /// Named per-parameter tensors, each array in parameter order.
  public var slots: [String: [Tensor<Scalar>]]

  /// - Parameters:
  ///   - kind: The optimiser's kind.
  ///   - counters: Named whole numbers; empty by default.
  ///   - slots: Named per-parameter tensors; empty by default.
  public init(kind: String, counters: [String: Int] = [:], slots: [String: [Tensor<Scalar>]] = [:]) {
    self.kind = kind
    self.counters = counters
    self.slots = slots
  }
}

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
  public init(parameters: [Variable<Scalar>], learningRate: Scalar, weightDecay: Scalar = 0) {
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
  public init(parameters: [Variable<Scalar>], learningRate: Scalar, momentum: Scalar, weightDecay: Scalar = 0)
  {
    self.parameters = parameters
    self.learningRate = learningRate
    self.momentum = momentum
    self.weightDecay = weightDecay
    self.velocities = parameters.map { Tensor(zeros: $0.shape) }
  }

  /// V := μV − α·(dJ/dW + λW), then W := W + V, for every parameter with a gradient.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func step() {
    let rate = schedule.map { learningRate * Scalar($0.factor(atStep: stepCount)) } ?? learningRate
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

/// Adam (Kingma & Ba, 2015) with bias correction:
/// m := β₁m + (1 − β₁)g, v := β₂v + (1 − β₂)g², m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ),
/// W := W − α·m̂/(√v̂ + ε); with optional L2 weight decay (g gains λ·W, PyTorch's
/// `Adam(weight_decay:)`; see ``AdamW`` for the decoupled kind) and a learning-rate schedule.
public final class Adam<Scalar: TensorScalar>: Optimizer {
  /// The parameters this optimiser updates.
  public let parameters: [Variable<Scalar>]
  /// The step size α (times the schedule's factor, when there is one).
  public var learningRate: Scalar
  /// λ: each step adds λ·W to the gradient. 0 by default.
  public var weightDecay: Scalar
  /// How α changes with the step count; `nil` (the default) keeps it constant.
  public var schedule: LearningRateSchedule?
  /// The decay of the first-moment estimate.
  public let beta1: Scalar
  /// The decay of the second-moment estimate.
  public let beta2: Scalar
  /// Added to √v̂ to avoid division by zero.
  public let epsilon: Scalar
  /// The number of steps taken, t.
  public internal(set) var stepCount = 0
  /// First-moment estimates m, in parameter order.
  public internal(set) var firstMoments: [Tensor<Scalar>]
  /// Second-moment estimates v, in parameter order.
  public internal(set) var secondMoments: [Tensor<Scalar>]

  /// - Parameters:
  ///   - parameters: Usually `model.parameters`.
  ///   - learningRate: α, 1e-3 by default.
  ///   - beta1: β₁, 0.9 by default.
  ///   - beta2: β₂, 0.999 by default.
  ///   - epsilon: ε, 1e-8 by default.
  ///   - weightDecay: λ; 0 by default.
  public init(
    parameters: [Variable<Scalar>], learningRate: Scalar = 1e-3, beta1: Scalar = 0.9, beta2: Scalar = 0.999,
    epsilon: Scalar = 1e-8, weightDecay: Scalar = 0
  ) {
    self.parameters = parameters
    self.learningRate = learningRate
    self.weightDecay = weightDecay
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.firstMoments = parameters.map { Tensor(zeros: $0.shape) }
    self.secondMoments = parameters.map { Tensor(zeros: $0.shape) }
  }

  /// One bias-corrected Adam update of every parameter with a gradient.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func step() {
    let learningRate = currentLearningRate
    stepCount += 1
    let correction1 = 1 - Scalar.pow(beta1, Scalar(stepCount))
    let correction2 = 1 - Scalar.pow(beta2, Scalar(stepCount))
    let (beta1, beta2, epsilon, decay) = (beta1, beta2, epsilon, weightDecay)
    Variable.updateEach(parameters) { i, value, gradient in
      // One pass in a C kernel; the arithmetic below is what it does, for any other case.
      if Tensor.adamUpdate(
        &value, firstMoment: &firstMoments[i], secondMoment: &secondMoments[i], gradient: gradient,
        learningRate: learningRate, beta1: beta1, beta2: beta2, correction1: correction1,
        correction2: correction2, epsilon: epsilon, decay: decay)
      {
        return
      }
      let gradient = decay == 0 ? gradient : gradient + value * decay
      firstMoments[i] = firstMoments[i] * beta1 + gradient * (1 - beta1)
      secondMoments[i] = secondMoments[i] * beta2 + gradient * gradient * (1 - beta2)
      let mHat = firstMoments[i] / correction1
      let vHat = secondMoments[i] / correction2
      value -= mHat * learningRate / (vHat.squareRoot() + epsilon)
    }
  }

  /// α for the next step: ``learningRate`` times the schedule's factor at ``stepCount``.
  public var currentLearningRate: Scalar {
    schedule.map { learningRate * Scalar($0.factor(atStep: stepCount)) } ?? learningRate
  }

  /// Kind `"Adam"` with the counter `"stepCount"` and the slots `"firstMoment"` and
  /// `"secondMoment"`.
  public var state: OptimizerState<Scalar> {
    OptimizerState(
      kind: "Adam", counters: ["stepCount": stepCount],
      slots: ["firstMoment": firstMoments, "secondMoment": secondMoments])
  }

  /// Restores the step count and both moment estimates.
  public func restore(_ state: OptimizerState<Scalar>) {
    stepCount = state.counters["stepCount"] ?? stepCount
    firstMoments = state.slots["firstMoment"] ?? firstMoments
    secondMoments = state.slots["secondMoment"] ?? secondMoments
  }
}

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
  public init(
    parameters: [Variable<Scalar>], learningRate: Scalar = 1e-3, beta1: Scalar = 0.9, beta2: Scalar = 0.999,
    epsilon: Scalar = 1e-8, weightDecay: Scalar = 0.01
  ) {
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
