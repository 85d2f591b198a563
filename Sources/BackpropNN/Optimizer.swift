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

/// Plain gradient descent: W := W − α·dJ/dW.
public final class SGD<Scalar: TensorScalar>: Optimizer {
  /// The parameters this optimiser updates.
  public let parameters: [Variable<Scalar>]
  /// The step size α.
  public var learningRate: Scalar

  /// - Parameters:
  ///   - parameters: Usually `model.parameters`.
  ///   - learningRate: The step size α.
  public init(parameters: [Variable<Scalar>], learningRate: Scalar) {
    self.parameters = parameters
    self.learningRate = learningRate
  }

  /// W := W − α·dJ/dW for every parameter with a gradient.
  @inlinable
  public func step() {
    // Read once: every read of a class's variable is checked for exclusivity at run time.
    let factor = -learningRate
    Variable.updateEach(parameters) { _, value, gradient in value.addProduct(factor, gradient) }
  }

  /// SGD keeps nothing between steps: an empty state of kind `"SGD"`.
  public var state: OptimizerState<Scalar> { OptimizerState(kind: "SGD") }
}

/// Gradient descent with momentum, exactly as Rohan & Lenny write it:
/// V := μV − α·dJ/dW, then W := W + V, with V starting at zero.
public final class Momentum<Scalar: TensorScalar>: Optimizer {
  /// The parameters this optimiser updates.
  public let parameters: [Variable<Scalar>]
  /// The step size α.
  public var learningRate: Scalar
  /// The momentum μ.
  public var momentum: Scalar
  /// The velocity V of each parameter, in parameter order.
  public internal(set) var velocities: [Tensor<Scalar>]

  /// - Parameters:
  ///   - parameters: Usually `model.parameters`.
  ///   - learningRate: The step size α.
  ///   - momentum: The momentum μ, e.g. 0.9.
  public init(parameters: [Variable<Scalar>], learningRate: Scalar, momentum: Scalar) {
    self.parameters = parameters
    self.learningRate = learningRate
    self.momentum = momentum
    self.velocities = parameters.map { Tensor(zeros: $0.shape) }
  }

  /// V := μV − α·dJ/dW, then W := W + V, for every parameter with a gradient.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func step() {
    let (learningRate, momentum) = (learningRate, momentum)
    Variable.updateEach(parameters) { i, value, gradient in
      velocities[i] = velocities[i] * momentum - gradient * learningRate
      value += velocities[i]
    }
  }

  /// Kind `"Momentum"` with the slot `"velocity"`.
  public var state: OptimizerState<Scalar> {
    OptimizerState(kind: "Momentum", slots: ["velocity": velocities])
  }

  /// Restores the velocities.
  public func restore(_ state: OptimizerState<Scalar>) {
    velocities = state.slots["velocity"] ?? velocities
  }
}

/// Adam (Kingma & Ba, 2015) with bias correction:
/// m := β₁m + (1 − β₁)g, v := β₂v + (1 − β₂)g², m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ),
/// W := W − α·m̂/(√v̂ + ε).
public final class Adam<Scalar: TensorScalar>: Optimizer {
  /// The parameters this optimiser updates.
  public let parameters: [Variable<Scalar>]
  /// The step size α.
  public var learningRate: Scalar
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
  public init(
    parameters: [Variable<Scalar>], learningRate: Scalar = 1e-3, beta1: Scalar = 0.9, beta2: Scalar = 0.999,
    epsilon: Scalar = 1e-8
  ) {
    self.parameters = parameters
    self.learningRate = learningRate
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
    stepCount += 1
    let correction1 = 1 - Scalar.pow(beta1, Scalar(stepCount))
    let correction2 = 1 - Scalar.pow(beta2, Scalar(stepCount))
    let (learningRate, beta1, beta2, epsilon) = (learningRate, beta1, beta2, epsilon)
    Variable.updateEach(parameters) { i, value, gradient in
      firstMoments[i] = firstMoments[i] * beta1 + gradient * (1 - beta1)
      secondMoments[i] = secondMoments[i] * beta2 + gradient * gradient * (1 - beta2)
      let mHat = firstMoments[i] / correction1
      let vHat = secondMoments[i] / correction2
      value -= mHat * learningRate / (vHat.squareRoot() + epsilon)
    }
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
