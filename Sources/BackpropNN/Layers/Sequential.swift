import BackpropAutodiff
import BackpropTensor

/// Layers applied one after another.
///
/// ```swift
/// let model = Sequential {
///   Dense<Float>(inputSize: 784, outputSize: 256, activation: .relu)
///   Dense<Float>(inputSize: 256, outputSize: 10)
/// }
/// ```
/// The builder accepts any ``Layer`` (custom ones and nested `Sequential`s), `if`/`else` and
/// `for` loops.
public final class Sequential<Scalar: TensorScalar>: Layer {
  /// The layers, in application order.
  public let layers: [any Layer<Scalar>]

  /// Composes the layers the builder lists.
  public init(@LayerBuilder<Scalar> _ build: () -> [any Layer<Scalar>]) {
    layers = build()
  }

  /// Composes the given layers.
  public init(layers: [any Layer<Scalar>]) {
    self.layers = layers
  }

  /// The input passed through every layer in order.
  public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
    layers.reduce(input) { x, layer in layer(x) }
  }

  /// Every layer's parameters, in layer order.
  public var parameters: [Variable<Scalar>] { layers.flatMap { $0.parameters } }

  /// Every layer's named parameters, prefixed by the layer's index: `"0.weight"`, `"0.bias"`,
  /// `"1.weight"`, …; a nested `Sequential` adds its own prefix (`"2.0.weight"`).
  public var namedParameters: [(name: String, variable: Variable<Scalar>)] {
    layers.enumerated().flatMap { index, layer in
      layer.namedParameters.map { ("\(index).\($0.name)", $0.variable) }
    }
  }

  /// Every layer's named states, prefixed by the layer's index as ``namedParameters`` are.
  public var namedStates: [(name: String, variable: Variable<Scalar>)] {
    layers.enumerated().flatMap { index, layer in
      layer.namedStates.map { ("\(index).\($0.name)", $0.variable) }
    }
  }

  /// Every layer's state-dictionary entries, keys prefixed by the layer's index as in
  /// PyTorch's `nn.Sequential` (``StateDictionaryKeys/renumbered(_:)`` maps the indices when
  /// PyTorch's activations are modules of their own).
  public var stateDictionaryEntries: [StateDictionaryEntry<Scalar>] {
    layers.enumerated().flatMap { index, layer in
      layer.stateDictionaryEntries.map { entry in
        var entry = entry
        entry.key = "\(index).\(entry.key)"
        return entry
      }
    }
  }
}

/// Collects layers for ``Sequential``, including `if`, `if`/`else` and `for`.
@resultBuilder
public enum LayerBuilder<Scalar: TensorScalar> {
  /// One layer.
  public static func buildExpression(_ layer: any Layer<Scalar>) -> [any Layer<Scalar>] { [layer] }
  /// Consecutive groups of layers.
  public static func buildBlock(_ components: [any Layer<Scalar>]...) -> [any Layer<Scalar>] {
    components.flatMap { $0 }
  }
  /// An `if` without `else`.
  public static func buildOptional(_ component: [any Layer<Scalar>]?) -> [any Layer<Scalar>] {
    component ?? []
  }
  /// The `if` branch.
  public static func buildEither(first component: [any Layer<Scalar>]) -> [any Layer<Scalar>] { component }
  /// The `else` branch.
  public static func buildEither(second component: [any Layer<Scalar>]) -> [any Layer<Scalar>] { component }
  /// A `for` loop.
  public static func buildArray(_ components: [[any Layer<Scalar>]]) -> [any Layer<Scalar>] {
    components.flatMap { $0 }
  }
}
