import BackpropAutodiff
import BackpropKernels
import BackpropTensor

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
  /// - Precondition: every parameter is a leaf created with `requiresGrad: true`, listed once;
  ///   otherwise the program stops with a message naming it.
  public init(
    parameters: [Variable<Scalar>], learningRate: Scalar = 1e-3, beta1: Scalar = 0.9, beta2: Scalar = 0.999,
    epsilon: Scalar = 1e-8, weightDecay: Scalar = 0
  ) {
    checkOptimizable(parameters, for: "Adam")
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
    let correction1 = 1 - Scalar._pow(beta1, Scalar(stepCount))
    let correction2 = 1 - Scalar._pow(beta2, Scalar(stepCount))
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
    scheduledRate(learningRate, schedule, atStep: stepCount)
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

extension Tensor {
  /// Adam's update of `value` in place, in one pass through a C kernel over the value, its
  /// `gradient` and its two moment estimates (tensor arithmetic makes about a dozen passes):
  /// g' = g + value·decay, m = m·β₁ + g'·(1 − β₁), v = v·β₂ + g'²·(1 − β₂),
  /// value −= (m / c₁)·α / (√(v / c₂) + ε), with the same operations in the same order.
  ///
  /// - Returns: `false`, changing nothing, when the four do not hold the same number of scalars
  ///   or the scalar type is neither `Float` nor `Double`; the caller then does the arithmetic.
  static func adamUpdate(
    _ value: inout Tensor, firstMoment: inout Tensor, secondMoment: inout Tensor, gradient: Tensor,
    learningRate: Scalar, beta1: Scalar, beta2: Scalar, correction1: Scalar, correction2: Scalar,
    epsilon: Scalar, decay: Scalar
  ) -> Bool {
    let count = value.scalarCount
    guard firstMoment.scalarCount == count, secondMoment.scalarCount == count, gradient.scalarCount == count,
      Scalar.self == Float.self || Scalar.self == Double.self
    else { return false }
    value.withUnsafeMutableBufferPointer { value in
      firstMoment.withUnsafeMutableBufferPointer { first in
        secondMoment.withUnsafeMutableBufferPointer { second in
          gradient.withUnsafeBufferPointer { gradient in
            guard let v = value.baseAddress, let m = first.baseAddress, let s = second.baseAddress,
              let g = gradient.baseAddress
            else { return }
            if Scalar.self == Float.self {
              func float(_ x: Scalar) -> Float { Float(x) }
              bp_adam_f32(
                UnsafeMutableRawPointer(v).assumingMemoryBound(to: Float.self),
                UnsafeMutableRawPointer(m).assumingMemoryBound(to: Float.self),
                UnsafeMutableRawPointer(s).assumingMemoryBound(to: Float.self),
                UnsafeRawPointer(g).assumingMemoryBound(to: Float.self), count, float(learningRate),
                float(beta1),
                float(beta2), float(correction1), float(correction2), float(epsilon), float(decay))
            } else {
              func double(_ x: Scalar) -> Double { Double(x) }
              bp_adam_f64(
                UnsafeMutableRawPointer(v).assumingMemoryBound(to: Double.self),
                UnsafeMutableRawPointer(m).assumingMemoryBound(to: Double.self),
                UnsafeMutableRawPointer(s).assumingMemoryBound(to: Double.self),
                UnsafeRawPointer(g).assumingMemoryBound(to: Double.self), count, double(learningRate),
                double(beta1), double(beta2), double(correction1), double(correction2), double(epsilon),
                double(decay))
            }
          }
        }
      }
    }
    return true
  }
}
