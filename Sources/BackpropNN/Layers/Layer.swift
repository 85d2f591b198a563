import BackpropAutodiff
import BackpropTensor

/// A differentiable function with parameters: the building block of networks.
///
/// Adopt it for your own layers: implement `callAsFunction(_:)` with operations on variables,
/// and list the trainable variables in `parameters`. Layers are reference types, so an
/// optimiser and a model share the same parameter variables.
///
/// ```swift
/// final class Scale: Layer {
///   let factor = Variable(Tensor<Double>(2.0), requiresGrad: true)
///   func callAsFunction(_ input: Variable<Double>) -> Variable<Double> { input * factor }
///   var parameters: [Variable<Double>] { [factor] }
/// }
/// ```
public protocol Layer<Scalar>: AnyObject {
  /// The scalar type of the layer's tensors.
  associatedtype Scalar: TensorScalar
  /// Applies the layer to a batch, `[batch, features]` for the built-in layers.
  func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar>
  /// The trainable variables, in a stable order.
  var parameters: [Variable<Scalar>] { get }
  /// The trainable variables with names that are unique within the layer, in the order of
  /// ``parameters``. Checkpoints store parameters under these names.
  ///
  /// The default names each parameter by its `Variable.name`, or `"parameter<i>"` when it has
  /// none. Override it when two of your parameters would get the same name.
  var namedParameters: [(name: String, variable: Variable<Scalar>)] { get }
  /// State that is not trained but belongs to the model, with names unique within the layer:
  /// ``BatchNorm``'s running statistics. Checkpoints store it beside the parameters; optimisers
  /// never see it. Empty by default.
  var namedStates: [(name: String, variable: Variable<Scalar>)] { get }
  /// The layer's tensors as PyTorch's `state_dict()` of the equivalent module names and lays
  /// them out (``StateDictionary``): `"weight"` and `"bias"` for ``Dense``, whose weight PyTorch
  /// stores transposed, `"running_mean"` for ``BatchNorm``, and so on.
  ///
  /// The default lists ``namedParameters`` and then ``namedStates`` as they are. Override it
  /// when the PyTorch module your layer mirrors names or lays out its tensors differently.
  var stateDictionaryEntries: [StateDictionaryEntry<Scalar>] { get }
}

extension Layer {
  /// The number of trainable scalars: the sum of the parameters' element counts (what PyTorch
  /// users compute as `sum(p.numel() for p in model.parameters())`).
  public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.scalarCount } }

  /// ``namedParameters`` and then ``namedStates``, under their names and in their layouts.
  public var stateDictionaryEntries: [StateDictionaryEntry<Scalar>] {
    (namedParameters + namedStates).map { StateDictionaryEntry(key: $0.name, variable: $0.variable) }
  }

  /// None.
  public var namedStates: [(name: String, variable: Variable<Scalar>)] { [] }

  /// Each parameter named by its `Variable.name`, or `"parameter<i>"` when it has none.
  public var namedParameters: [(name: String, variable: Variable<Scalar>)] {
    parameters.enumerated().map { index, variable in (variable.name ?? "parameter\(index)", variable) }
  }
}

/// An elementwise function applied after a layer's affine map.
public struct Activation<Scalar: TensorScalar> {
  /// A short name, e.g. `"relu"`.
  public let name: String
  /// The weight initialiser that suits this activation: what ``Dense`` uses when it is given
  /// none. He normal for ReLU (it keeps the variance of activations through layers that zero
  /// half their inputs), Glorot uniform for the others.
  public let weightInitializer: Initializer
  let function: (Variable<Scalar>) -> Variable<Scalar>

  /// A custom activation built from differentiable operations; its gradient comes from the tape.
  ///
  /// - Parameters:
  ///   - name: A short name for messages; `"custom"` by default.
  ///   - weightInitializer: The initialiser a layer uses for weights followed by this
  ///     activation when it is given none; Glorot uniform by default.
  ///   - function: The activation, built from operations on variables.
  public init(
    name: String = "custom", weightInitializer: Initializer = .glorotUniform,
    _ function: @escaping (Variable<Scalar>) -> Variable<Scalar>
  ) {
    self.name = name
    self.weightInitializer = weightInitializer
    self.function = function
  }

  /// Applies the activation.
  public func callAsFunction(_ x: Variable<Scalar>) -> Variable<Scalar> { function(x) }

  /// max(x, 0).
  public static var relu: Activation {
    Activation(name: "relu", weightInitializer: .heNormal) { BackpropAutodiff.relu($0) }
  }
  /// 1 / (1 + e^−x).
  public static var sigmoid: Activation { Activation(name: "sigmoid") { BackpropAutodiff.sigmoid($0) } }
  /// tanh x.
  public static var tanh: Activation { Activation(name: "tanh") { BackpropAutodiff.tanh($0) } }
  /// x for x > 0 and αx otherwise; He-normal weights, as for ReLU.
  public static func leakyRelu(alpha: Scalar = 0.01) -> Activation {
    Activation(name: "leakyRelu", weightInitializer: .heNormal) {
      BackpropAutodiff.leakyRelu($0, alpha: alpha)
    }
  }
  /// x for x > 0 and α(eˣ − 1) otherwise.
  public static func elu(alpha: Scalar = 1) -> Activation {
    Activation(name: "elu") { BackpropAutodiff.elu($0, alpha: alpha) }
  }
  /// The exact Gaussian error linear unit, ½x(1 + erf(x/√2)).
  public static var gelu: Activation { Activation(name: "gelu") { BackpropAutodiff.gelu($0) } }
  /// The sigmoid linear unit, x·σ(x).
  public static var silu: Activation { Activation(name: "silu") { BackpropAutodiff.silu($0) } }
  /// sin x (periodic activations, as in SIREN).
  public static var sin: Activation { Activation(name: "sin") { BackpropAutodiff.sin($0) } }
  /// cos x.
  public static var cos: Activation { Activation(name: "cos") { BackpropAutodiff.cos($0) } }
  /// x, unchanged (no operation is recorded).
  public static var identity: Activation { Activation(name: "identity") { $0 } }
}
