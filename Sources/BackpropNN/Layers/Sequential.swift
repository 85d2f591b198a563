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
public final class Sequential<Scalar: TensorScalar>: Layer, CustomStringConvertible {
  /// The layers, in application order.
  public let layers: [any Layer<Scalar>]

  /// The layer at `index`, as `model[0]` (PyTorch's `model[0]`).
  ///
  /// - Precondition: `index` is in `0..<count`.
  public subscript(index: Int) -> any Layer<Scalar> {
    check(layers.indices.contains(index), "Sequential: layer \(index) of \(layers.count) does not exist")
    return layers[index]
  }

  /// The number of layers.
  public var count: Int { layers.count }

  /// The layers one per line with their tensors and parameter counts, as PyTorch's
  /// `print(model)` and Keras' `summary()` show them:
  ///
  /// ```
  /// Sequential<Float>: 2 layers, 13 parameters
  ///   (0) Dense(2 → 3, tanh): weight [2, 3], bias [3]: 9 parameters
  ///   (1) Dense(3 → 1, sigmoid): weight [3, 1], bias [1]: 4 parameters
  /// ```
  public var description: String {
    var lines = [
      "Sequential<\(Scalar.self)>: \(layers.count) layer\(layers.count == 1 ? "" : "s"), "
        + "\(parameterCount) parameter\(parameterCount == 1 ? "" : "s")"
    ]
    for (index, layer) in layers.enumerated() {
      if let nested = layer as? Sequential {
        let inner = nested.description.split(separator: "\n", omittingEmptySubsequences: false)
        lines.append("  (\(index)) " + inner[0])
        lines += inner.dropFirst().map { "    " + $0 }
        continue
      }
      let tensors = layer.namedParameters.map { "\($0.name) \($0.variable.shape)" }.joined(separator: ", ")
      let count = layer.parameterCount
      lines.append(
        "  (\(index)) \(Self.summary(of: layer))"
          + (tensors.isEmpty ? "" : ": \(tensors): \(count) parameter\(count == 1 ? "" : "s")"))
    }
    return lines.joined(separator: "\n")
  }

  /// A layer's own description, or its type's name without the scalar type.
  static func summary(of layer: any Layer<Scalar>) -> String {
    if let described = layer as? any CustomStringConvertible { return described.description }
    return String(String(describing: type(of: layer)).prefix { $0 != "<" })
  }

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

  /// Every layer's tensors, named with the layer's index in front, as PyTorch's `nn.Sequential`
  /// names them: `"0.weight"`, `"0.bias"`, `"1.weight"`, …; a nested `Sequential` adds its own
  /// index (`"2.0.weight"`). ``StateDictionaryKeys/renumbered(_:)`` maps the indices when
  /// PyTorch's activations are modules of their own.
  public var namedTensors: [NamedTensor<Scalar>] {
    layers.enumerated().flatMap { index, layer in layer.namedTensors.map { $0.prefixed(by: "\(index)") } }
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
