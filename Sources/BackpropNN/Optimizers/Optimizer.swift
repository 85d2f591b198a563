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

/// Stops with a message naming `optimizer` and the parameter when one of `parameters` is not a
/// leaf created with `requiresGrad: true` (its `grad` is never set, so it would silently never
/// change) or appears twice (it would be updated twice per step).
func checkOptimizable<Scalar>(_ parameters: [Variable<Scalar>], for optimizer: String) {
  var seen = Set<ObjectIdentifier>()
  for (index, parameter) in parameters.enumerated() {
    let what = "parameter \(index)\(parameter.name.map { " (\"\($0)\")" } ?? "") of shape \(parameter.shape)"
    check(
      parameter.isParameter,
      """
      \(optimizer): \(what) does not require a gradient, so backward() never gives it one and \
      step() would never change it; create it with Variable(_:requiresGrad: true)
      """)
    check(
      seen.insert(ObjectIdentifier(parameter)).inserted,
      "\(optimizer): \(what) appears more than once in the parameter list, so step() would update it twice")
  }
}
