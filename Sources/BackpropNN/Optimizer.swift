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
}

extension Optimizer {
  /// Clears every parameter's gradient.
  public func zeroGrad() {
    for parameter in parameters { parameter.zeroGrad() }
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
  public func step() {
    for parameter in parameters {
      guard let grad = parameter.grad else { continue }
      parameter.value -= grad * learningRate
    }
  }
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
  public func step() {
    for (i, parameter) in parameters.enumerated() {
      guard let grad = parameter.grad else { continue }
      velocities[i] = velocities[i] * momentum - grad * learningRate
      parameter.value += velocities[i]
    }
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
  public func step() {
    stepCount += 1
    let correction1 = 1 - Scalar.pow(beta1, Scalar(stepCount))
    let correction2 = 1 - Scalar.pow(beta2, Scalar(stepCount))
    for (i, parameter) in parameters.enumerated() {
      guard let grad = parameter.grad else { continue }
      firstMoments[i] = firstMoments[i] * beta1 + grad * (1 - beta1)
      secondMoments[i] = secondMoments[i] * beta2 + grad * grad * (1 - beta2)
      let mHat = firstMoments[i] / correction1
      let vHat = secondMoments[i] / correction2
      parameter.value -= mHat * learningRate / (vHat.squareRoot() + epsilon)
    }
  }
}
