import BackpropAutodiff
import BackpropTensor

/// Stochastic gradient descent as PyTorch's `torch.optim.SGD` writes it: W := W − α·g, where g is
/// the gradient plus λ·W (weight decay), with optional momentum (Nesterov's too) and a
/// learning-rate schedule.
///
/// With momentum μ > 0 each parameter keeps a buffer b: b := g on the first step, then
/// b := μ·b + g; the step uses g + μ·b with `nesterov`, else b. (``Momentum`` is the different
/// rule of the Rohan & Lenny article, V := μV − α·g, W := W + V, kept as the article writes it.)
/// ```swift
/// let sgd = SGD(parameters: model.parameters, learningRate: 0.1, momentum: 0.9, nesterov: true)
/// ```
public final class SGD<Scalar: TensorScalar>: Optimizer {
  /// The parameters this optimiser updates.
  public let parameters: [Variable<Scalar>]
  /// The step size α (times the schedule's factor, when there is one).
  ///
  /// Not checked for exclusive access at run time (a scalar read once per step; the check cost
  /// about 75 instructions, half a per cent of an articles step).
  @exclusivity(unchecked) public var learningRate: Scalar
  /// μ: how much of the previous steps' buffer each step keeps; 0 (no momentum) by default.
  public let momentum: Scalar
  /// `true` for Nesterov momentum: the step looks ahead along the buffer, g + μ·b.
  public let nesterov: Bool
  /// λ: each step adds λ·W to the gradient. 0 by default.
  public var weightDecay: Scalar {
    didSet { isPlain = plainness }
  }
  /// How α changes with the step count; `nil` (the default) keeps it constant.
  public var schedule: LearningRateSchedule? {
    didSet { isPlain = plainness }
  }
  /// The number of steps taken, which ``schedule`` follows.
  public var stepCount: Int { steps }
  @exclusivity(unchecked) @usableFromInline var steps = 0
  /// `true` without weight decay, schedule and momentum: `step()` then reads nothing else (every
  /// read of a class's property from another module is checked for exclusivity at run time).
  @exclusivity(unchecked) @usableFromInline var isPlain = true
  /// What ``isPlain`` caches.
  private var plainness: Bool { weightDecay == 0 && schedule == nil && momentum == 0 }
  /// The momentum buffers, one per parameter, in parameter order; `nil` until a parameter's
  /// first step with momentum (PyTorch starts each buffer at that step's gradient).
  var buffers: [Tensor<Scalar>?]

  /// - Parameters:
  ///   - parameters: Usually `model.parameters`.
  ///   - learningRate: The step size α.
  ///   - momentum: μ; 0 (plain gradient descent) by default.
  ///   - nesterov: `true` for Nesterov momentum; `false` by default.
  ///   - weightDecay: λ; 0 by default.
  /// - Precondition: every parameter is a leaf created with `requiresGrad: true`, listed once;
  ///   otherwise the program stops with a message naming it. `momentum ≥ 0`, and Nesterov
  ///   momentum needs `momentum > 0` (as PyTorch requires).
  public init(
    parameters: [Variable<Scalar>], learningRate: Scalar, momentum: Scalar = 0, nesterov: Bool = false,
    weightDecay: Scalar = 0
  ) {
    checkOptimizable(parameters, for: "SGD")
    check(momentum >= 0, "SGD: momentum must be at least 0, got \(momentum)")
    check(!nesterov || momentum > 0, "SGD: Nesterov momentum needs momentum > 0, got \(momentum)")
    self.parameters = parameters
    self.learningRate = learningRate
    self.momentum = momentum
    self.nesterov = nesterov
    self.weightDecay = weightDecay
    self.buffers = Array(repeating: nil, count: parameters.count)
    self.isPlain = plainness
  }

  /// α for the next step: ``learningRate`` times the schedule's factor at ``stepCount``.
  public var currentLearningRate: Scalar { scheduledRate(learningRate, schedule, atStep: steps) }

  /// W := W − α·(dJ/dW + λW), with momentum when μ > 0, for every parameter with a gradient.
  @inlinable
  public func step() {
    guard isPlain else { return stepWithExtras() }
    // Read once: every read of a class's variable is checked for exclusivity at run time.
    let factor = -learningRate
    steps &+= 1
    Variable.updateEach(parameters) { _, value, gradient in value.addProduct(factor, gradient) }
  }

  /// ``step()`` with weight decay, a schedule or momentum.
  @usableFromInline
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func stepWithExtras() {
    let rate = currentLearningRate
    steps += 1
    let factor = -rate
    guard momentum != 0 else {
      let shrink = Tensor(1 - rate * weightDecay)
      Variable.updateEach(parameters) { _, value, gradient in
        value *= shrink
        value.addProduct(factor, gradient)
      }
      return
    }
    let (momentum, nesterov, decay) = (momentum, nesterov, weightDecay)
    Variable.updateEach(parameters) { i, value, gradient in
      var gradient = gradient
      if decay != 0 { gradient.addProduct(decay, value) }
      var buffer: Tensor<Scalar>
      if let previous = buffers[i].take() {
        buffer = previous * momentum
        buffer += gradient
      } else {
        buffer = gradient
      }
      if nesterov {
        gradient.addProduct(momentum, buffer)
        value.addProduct(factor, gradient)
      } else {
        value.addProduct(factor, buffer)
      }
      buffers[i] = buffer
    }
  }

  /// Kind `"SGD"` with the counter `"stepCount"`, and with momentum the slots
  /// `"momentumBuffer"` and `"momentumStarted"` (1 once a parameter has stepped; its buffer then
  /// holds b, else zeros and the next step starts it afresh, as PyTorch's does).
  public var state: OptimizerState<Scalar> {
    var state = OptimizerState<Scalar>(kind: "SGD", counters: ["stepCount": steps])
    if momentum != 0 {
      state.slots["momentumBuffer"] = zip(buffers, parameters).map { $0 ?? Tensor(zeros: $1.shape) }
      state.slots["momentumStarted"] = buffers.map { Tensor($0 == nil ? 0 : 1) }
    }
    return state
  }

  /// Restores the step count and the momentum buffers.
  public func restore(_ state: OptimizerState<Scalar>) {
    steps = state.counters["stepCount"] ?? steps
    if momentum != 0, let saved = state.slots["momentumBuffer"], let started = state.slots["momentumStarted"]
    {
      buffers = zip(saved, started).map { $1.scalar == 1 ? $0 : nil }
    }
  }
}
