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
  /// Every tensor of the layer — its parameters and its buffers (untrained state such as
  /// ``BatchNorm``'s running statistics) — under the name PyTorch's equivalent module gives it
  /// (`"weight"`, `"bias"`, `"running_mean"`, …) and with the layout PyTorch stores it in.
  ///
  /// This one list is the layer's naming scheme: ``namedParameters`` and ``namedBuffers`` are
  /// read from it, ``StateDictionary`` exchanges it with PyTorch, and a ``Checkpoint`` is it plus
  /// the optimiser's slots. The default names each parameter by its `Variable.name`, or
  /// `"parameter<i>"` when it has none; override it when two would get the same name, when the
  /// layer has buffers, or when PyTorch lays a tensor out differently.
  var namedTensors: [NamedTensor<Scalar>] { get }
}

/// One tensor of a layer: its name (PyTorch's key within the module), the variable that holds
/// it, whether it is trained, and how PyTorch lays it out.
public struct NamedTensor<Scalar: TensorScalar> {
  /// Whether an optimiser trains the tensor.
  public enum Role: Sendable, Equatable {
    /// A trainable parameter, listed in ``Layer/parameters``.
    case parameter
    /// Untrained state (PyTorch's buffers): saved and loaded, never seen by an optimiser.
    case buffer
  }

  /// How PyTorch stores the tensor relative to the variable's value.
  public enum Layout: Sendable, Equatable {
    /// The same shape and order.
    case unchanged
    /// The transpose of a matrix: `nn.Linear` stores `[out, in]` where ``Dense`` holds `[in, out]`.
    case transposed
    /// An integer tensor (I64), such as `num_batches_tracked`; the variable holds its value.
    case integer
  }

  /// The name within the layer: `"weight"`, `"running_mean"`, …
  public var name: String
  /// The variable holding the tensor.
  public var variable: Variable<Scalar>
  /// A parameter or a buffer.
  public var role: Role
  /// How PyTorch lays the tensor out.
  public var layout: Layout

  /// - Parameters:
  ///   - name: The name within the layer, as the PyTorch module names it.
  ///   - variable: The variable holding the tensor.
  ///   - role: ``Role/parameter`` (the default) or ``Role/buffer``.
  ///   - layout: How PyTorch lays it out; ``Layout/unchanged`` by default.
  public init(
    _ name: String, _ variable: Variable<Scalar>, role: Role = .parameter, layout: Layout = .unchanged
  ) {
    self.name = name
    self.variable = variable
    self.role = role
    self.layout = layout
  }

  /// The same tensor under `prefix` + "." + its name, as a containing layer lists it.
  public func prefixed(by prefix: String) -> NamedTensor {
    var copy = self
    copy.name = prefix + "." + name
    return copy
  }
}

extension Layer {
  /// The number of trainable scalars: the sum of the parameters' element counts (what PyTorch
  /// users compute as `sum(p.numel() for p in model.parameters())`).
  public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.scalarCount } }

  /// Each parameter named by its `Variable.name`, or `"parameter<i>"` when it has none.
  public var namedTensors: [NamedTensor<Scalar>] {
    parameters.enumerated().map { index, variable in
      NamedTensor(variable.name ?? "parameter\(index)", variable)
    }
  }

  /// The parameters of ``namedTensors`` with their names, in the order of ``parameters``
  /// (PyTorch's `named_parameters()`).
  public var namedParameters: [(name: String, variable: Variable<Scalar>)] {
    namedTensors.filter { $0.role == .parameter }.map { ($0.name, $0.variable) }
  }

  /// The buffers of ``namedTensors`` with their names (PyTorch's `named_buffers()`): untrained
  /// state such as running statistics.
  public var namedBuffers: [(name: String, variable: Variable<Scalar>)] {
    namedTensors.filter { $0.role == .buffer }.map { ($0.name, $0.variable) }
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
  /// `true` for ``relu``, which a convolution layer records with its convolution, and an unnamed
  /// dense layer with its product and bias, as one node (shown as the steps) computed in the
  /// same pass.
  let isReLU: Bool

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
    self.init(name: name, weightInitializer: weightInitializer, isReLU: false, function)
  }

  private init(
    name: String, weightInitializer: Initializer, isReLU: Bool,
    _ function: @escaping (Variable<Scalar>) -> Variable<Scalar>
  ) {
    self.name = name
    self.weightInitializer = weightInitializer
    self.isReLU = isReLU
    self.function = function
  }

  /// Applies the activation.
  public func callAsFunction(_ x: Variable<Scalar>) -> Variable<Scalar> { function(x) }

  /// max(x, 0).
  public static var relu: Activation {
    Activation(name: "relu", weightInitializer: .heNormal, isReLU: true) { BackpropAutodiff.relu($0) }
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
