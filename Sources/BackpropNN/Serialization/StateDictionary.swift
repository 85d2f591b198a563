import BackpropAutodiff
import BackpropFiles
import BackpropTensor

/// How a model's state-dictionary keys become the keys of the PyTorch model's `state_dict()`.
///
/// Layer numbering differs where PyTorch puts an activation in a module of its own:
/// `nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))` names its tensors
/// `0.weight` and `2.weight`, while the equivalent
/// `Sequential { Dense(inputSize: 64, outputSize: 128, activation: .relu); Dense(…) }` has
/// `0.weight` and `1.weight`. `.renumbered([0, 2])` maps one to the other.
public struct StateDictionaryKeys: Sendable {
  /// The PyTorch key for a Backprop key.
  public let pyTorchKey: @Sendable (String) -> String

  /// Keys mapped by a function of your own.
  public init(_ pyTorchKey: @escaping @Sendable (String) -> String) {
    self.pyTorchKey = pyTorchKey
  }

  /// The keys as they are.
  public static var unchanged: StateDictionaryKeys { StateDictionaryKeys { $0 } }

  /// The leading layer index `i` of each key replaced by `moduleIndices[i]`: the position of
  /// the i-th layer with tensors in PyTorch's `nn.Sequential`.
  ///
  /// - Precondition: Every key starts with an index below `moduleIndices.count`.
  public static func renumbered(_ moduleIndices: [Int]) -> StateDictionaryKeys {
    StateDictionaryKeys { key in
      let index = key.prefix { $0 != "." }
      guard let layer = Int(index), moduleIndices.indices.contains(layer) else {
        checkFailed(
          "StateDictionaryKeys.renumbered(\(moduleIndices)): key \"\(key)\" has no layer index in range")
      }
      return "\(moduleIndices[layer])" + key.dropFirst(index.count)
    }
  }
}

/// Exchanges a model's parameters and running statistics with PyTorch through safetensors files,
/// in PyTorch's names and layouts.
///
/// ```swift
/// // Python: save_file(model.state_dict(), "mlp.safetensors")
/// let model = Sequential {
///   Dense<Float>(inputSize: 64, outputSize: 128, activation: .relu)
///   Dense<Float>(inputSize: 128, outputSize: 10)
/// }
/// try StateDictionary.load(from: "mlp.safetensors", into: model, keys: .renumbered([0, 2]))
///
/// // … and back: model.load_state_dict(load_file("mlp-trained.safetensors")) in Python.
/// try StateDictionary.save(model, to: "mlp-trained.safetensors", keys: .renumbered([0, 2]))
/// ```
///
/// Each layer names its tensors as PyTorch does (``Layer/namedTensors``): ``Dense`` ↔
/// `nn.Linear` (weight transposed), ``Conv2D`` ↔ `nn.Conv2d`, ``LayerNorm`` ↔ `nn.LayerNorm`,
/// ``BatchNorm`` ↔ `nn.BatchNorm1d`/`nn.BatchNorm2d` with their running statistics.
///
/// Loading is strict, as `load_state_dict(strict=True)`, and all-or-nothing: every key of the
/// model must be in the file with the right shape, no key may be left over, and nothing is
/// assigned until all of it has been checked. Floating-point tensors may be F16, BF16, F32 or
/// F64 and are converted to the model's scalar type.
public enum StateDictionary {
  /// The model's tensors under their PyTorch keys, in PyTorch's layouts (integer tensors as
  /// their values in `Scalar`).
  ///
  /// - Precondition: No two tensors map to the same key.
  public static func tensors<Model: Layer>(of model: Model, keys: StateDictionaryKeys = .unchanged)
    -> [String: Tensor<Model.Scalar>]
  {
    var result: [String: Tensor<Model.Scalar>] = [:]
    for tensor in model.namedTensors {
      let key = keys.pyTorchKey(tensor.name)
      check(
        result.updateValue(tensor.storedValue, forKey: key) == nil,
        "StateDictionary: two tensors map to the key \"\(key)\"")
    }
    return result
  }

  /// Writes the model's tensors to a safetensors file that PyTorch's
  /// `model.load_state_dict(safetensors.torch.load_file(path))` accepts, atomically.
  ///
  /// - Parameters:
  ///   - model: The model.
  ///   - path: The file.
  ///   - keys: How the model's keys become PyTorch's; unchanged by default.
  /// - Throws: `FileError` when the file cannot be written.
  /// - Precondition: no two tensors map to the same key.
  public static func save<Model: Layer>(
    _ model: Model, to path: String, keys: StateDictionaryKeys = .unchanged
  ) throws(FileError) {
    let dtype = Checkpoint.dtype(of: Model.Scalar.self)
    var seen = Set<String>()
    var raw: [SafeTensors.RawTensor] = []
    for tensor in model.namedTensors {
      let key = keys.pyTorchKey(tensor.name)
      check(
        seen.insert(key).inserted && key != "__metadata__",
        "StateDictionary: two tensors map to the key \"\(key)\", or a key is the reserved \"__metadata__\"")
      raw.append(tensor.layout.raw(tensor.variable.value, named: key, dtype: dtype))
    }
    try writeFileAtomically(SafeTensors.encode(raw, metadata: ["format": "pt"]), to: path)
  }

  /// Loads a PyTorch `state_dict` saved with `safetensors.torch.save_file` into the model, all
  /// or nothing.
  ///
  /// - Parameters:
  ///   - path: The safetensors file.
  ///   - model: The equivalent Backprop model.
  ///   - keys: How the model's keys become PyTorch's; unchanged by default.
  /// - Throws: A `FileError` naming the key that is missing, left over, of the wrong
  ///   shape or of a dtype that cannot be read; the model is then unchanged.
  public static func load<Model: Layer>(
    from path: String, into model: Model, keys: StateDictionaryKeys = .unchanged
  ) throws(FileError) {
    let tensors = model.namedTensors
    let scalars = tensors.reduce(0) { $0 + $1.variable.value.scalarCount }
    let bytes = try readDataFile(path, limit: (1 << 20) + 8 * scalars)
    let file = try SafeTensors(bytes: bytes, path: path)

    var wanted = Set<String>()
    var values: [Tensor<Model.Scalar>] = []
    for tensor in tensors {
      let key = keys.pyTorchKey(tensor.name)
      check(wanted.insert(key).inserted, "StateDictionary: two tensors map to the key \"\(key)\"")
      guard let stored = file.entry(named: key) else {
        throw FileError(path: path, place: .model(key), .missingTensor)
      }
      values.append(
        try tensor.layout.read(
          stored, of: file, shape: tensor.variable.value.shape, floatDtypes: ["F16", "BF16", "F32", "F64"],
          place: .model(key)))
    }
    for stored in file.entries where !wanted.contains(stored.name) {
      throw FileError(path: path, place: .model(stored.name), .unexpectedTensor)
    }
    // Everything is validated: from here on nothing throws.
    for (tensor, value) in zip(tensors, values) { tensor.variable.value = value }
  }
}
