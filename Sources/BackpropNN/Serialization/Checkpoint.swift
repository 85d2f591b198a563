import BackpropAutodiff
import BackpropFiles
import BackpropTensor

/// Saves and loads a model's parameters, and optionally an optimiser's state, so that training
/// can stop and resume without losing anything.
///
/// ```swift
/// let model = Sequential {
///   Dense<Float>(inputSize: 2, outputSize: 4, activation: .tanh)
///   Dense<Float>(inputSize: 4, outputSize: 1)
/// }
/// let adam = Adam(parameters: model.parameters, learningRate: 0.01)
/// // … train …
/// try Checkpoint.save(model, optimizer: adam, to: "xor.safetensors")
///
/// // Later, in a fresh process: build the same model and optimiser, then
/// try Checkpoint.load(from: "xor.safetensors", into: model, optimizer: adam)
/// ```
///
/// - **A checkpoint is the model's state dictionary plus the optimiser's slots**, in one
///   safetensors file (`SafeTensors`), so Python's `safetensors` and any other reader of the
///   format open it, and PyTorch's `load_state_dict(…, strict=False)` takes the model's tensors.
///   The model's ``Layer/namedTensors`` are stored under their names and in PyTorch's layouts
///   (`"0.weight"` transposed for a ``Dense``, `"1.running_mean"`, …), and the optimiser's state
///   under `optimizer/<slot>/<parameter name>` (`"optimizer/firstMoment/0.weight"`) in its
///   parameter's layout. The metadata holds
///   `"format": "backprop.checkpoint"`, `"version": "2"`, the optimiser's kind under
///   `"optimizer"`, its counters under `"counter.<name>"`, and the CRC-32 of the data under
///   `"crc32"`. On load every name, scalar type and shape must match the model. Checkpoints of
///   the previous format (version 1, the layers' own names and layouts) load too.
/// - **Loading is all-or-nothing.** The whole file is validated — the safetensors structure,
///   the format and version, the CRC-32, names, types and shapes — before anything is
///   assigned. On any error the model and optimiser are exactly as before, and the error says
///   what is wrong and whether it concerns the model or the optimiser (a `FileError` whose place is the tensor).
/// - **Saving is atomic.** The bytes go to a temporary file in the same directory, which is
///   flushed to disk and then renamed over the old checkpoint: a crash mid-save leaves the
///   previous checkpoint intact.
/// - Gradients are neither saved nor changed by a load. Hyperparameters (learning rate, β, …) are
///   not saved: pass them when you create the optimiser.
public enum Checkpoint {
  /// Writes the model's parameters, and the optimiser's state if given, to `path`, atomically.
  ///
  /// - Parameters:
  ///   - model: The layer (usually a ``Sequential``) whose parameters to save.
  ///   - optimizer: An optimiser of the model's parameters whose ``Optimizer/state`` to save too;
  ///     `nil` to save the parameters only.
  ///   - path: The checkpoint file. Its directory must exist; a file already there is replaced
  ///     only once the new one is complete on disk.
  /// - Throws: `FileError` when the file cannot be written.
  /// - Precondition: no two of the model's parameters and states share a name, and the optimiser
  ///   updates only the model's parameters.
  public static func save<Model: Layer>(
    _ model: Model, optimizer: (any Optimizer<Model.Scalar>)? = nil, to path: String
  ) throws(FileError) {
    try writeFileAtomically(encode(model, optimizer: optimizer), to: path)
  }

  /// Reads a checkpoint from `path` into the model, and into the optimiser if given — all or
  /// nothing.
  ///
  /// - Parameters:
  ///   - path: A file written by ``save(_:optimizer:to:)``.
  ///   - model: A model with the same parameter names, scalar type and shapes.
  ///   - optimizer: The same kind of optimiser over the model's parameters, whose state to
  ///     restore; `nil` to load only the parameters (any optimiser state in the file is then
  ///     checked but not used).
  /// - Throws: A `FileError` naming the path, the tensor and what is wrong; the model and
  ///   optimiser are then unchanged.
  public static func load<Model: Layer>(
    from path: String, into model: Model, optimizer: (any Optimizer<Model.Scalar>)? = nil
  ) throws(FileError) {
    let limit = Layout(model, optimizer: optimizer).fileSizeLimit
    try decode(readDataFile(path, limit: limit), into: model, optimizer: optimizer, path: path)
  }

  /// The bytes ``save(_:optimizer:to:)`` writes, without touching the file system.
  ///
  /// - Parameters:
  ///   - model: The layer whose parameters to encode.
  ///   - optimizer: An optimiser whose state to encode too, or `nil`.
  /// - Precondition: as for ``save(_:optimizer:to:)``.
  public static func encode<Model: Layer>(_ model: Model, optimizer: (any Optimizer<Model.Scalar>)? = nil)
    -> [UInt8]
  {
    let layout = Layout(model, optimizer: optimizer)
    return encode(layout.rawTensors, optimizerKind: layout.optimizerKind, counters: layout.counters)
  }

  /// Loads checkpoint bytes (as ``encode(_:optimizer:)`` makes them) into the model and
  /// optimiser, all or nothing, exactly as ``load(from:into:optimizer:)`` does with a file.
  ///
  /// - Parameters:
  ///   - bytes: The checkpoint's bytes.
  ///   - model: A model with the same parameter names, scalar type and shapes.
  ///   - optimizer: The optimiser whose state to restore, or `nil`.
  /// - Throws: A `FileError`; the model and optimiser are then unchanged.
  public static func decode<Model: Layer>(
    _ bytes: [UInt8], into model: Model, optimizer: (any Optimizer<Model.Scalar>)? = nil
  ) throws(FileError) {
    try decode(bytes, into: model, optimizer: optimizer, path: "checkpoint data")
  }

  /// Validates `bytes` as a checkpoint of either version this library reads, then loads them.
  static func decode<Model: Layer>(
    _ bytes: [UInt8], into model: Model, optimizer: (any Optimizer<Model.Scalar>)?, path: String
  ) throws(FileError) {
    let file = try parse(bytes, path: path)
    try Layout(model, optimizer: optimizer, version: file.metadata["version"] ?? version).load(file)
  }
}

extension Checkpoint {
  /// The tensors a model and optimiser store, under their names in the file, and where each
  /// goes back on load.
  struct Layout<Scalar: TensorScalar> {
    enum Target {
      case variable(Variable<Scalar>)
      case slot(String)
    }

    struct Item {
      /// The tensor's name in the file.
      var name: String
      /// Its value, in the variable's layout.
      var value: Tensor<Scalar>
      /// How it is stored: the layout of the tensor, or of the parameter a slot belongs to.
      var layout: NamedTensor<Scalar>.Layout
      var target: Target
    }

    var entries: [Item] = []
    var optimizerKind: String?
    var counters: [(name: String, value: Int)] = []
    var slotNames: [String] = []
    var optimizer: (any Optimizer<Scalar>)?

    /// The layout of a checkpoint of `version`: the current one, or the previous one (names
    /// from before the layers used PyTorch's, every tensor in the variable's own layout and
    /// scalar type).
    init<Model: Layer>(
      _ model: Model, optimizer: (any Optimizer<Scalar>)?, version: String = Checkpoint.version
    )
    where Model.Scalar == Scalar {
      var seen = Set<String>()
      var names: [ObjectIdentifier: (name: String, layout: NamedTensor<Scalar>.Layout)] = [:]
      let previousNames = version == "1" ? Checkpoint.version1Names(of: model) : [:]
      // Buffers (running statistics) are stored and restored like parameters.
      for tensor in model.namedTensors {
        let name = previousNames[ObjectIdentifier(tensor.variable)] ?? tensor.name
        let layout = version == "1" ? .unchanged : tensor.layout
        check(
          seen.insert(name).inserted && !name.hasPrefix(optimizerPrefix),
          "Checkpoint: the name \"\(name)\" appears twice in the model's namedTensors, or starts with the reserved \"\(optimizerPrefix)\""
        )
        names[ObjectIdentifier(tensor.variable)] = (name, layout)
        entries.append(
          Item(name: name, value: tensor.variable.value, layout: layout, target: .variable(tensor.variable)))
      }
      guard let optimizer else { return }
      self.optimizer = optimizer
      let state = optimizer.state
      optimizerKind = state.kind
      for (name, value) in state.counters.sorted(by: { $0.key < $1.key }) {
        check(value >= 0, "Checkpoint: optimiser counter \"\(name)\" is negative (\(value))")
        counters.append((name, value))
      }
      slotNames = state.slots.keys.sorted()
      for slot in slotNames {
        let tensors = state.slots[slot] ?? []
        check(
          tensors.count == optimizer.parameters.count,
          "Checkpoint: optimiser slot \"\(slot)\" has \(tensors.count) tensors for \(optimizer.parameters.count) parameters"
        )
        for (index, parameter) in optimizer.parameters.enumerated() {
          guard let (name, layout) = names[ObjectIdentifier(parameter)] else {
            checkFailed("Checkpoint: the optimiser's parameter \(index) is not one of the model's parameters")
          }
          // A slot has its parameter's shape, so it is stored in its parameter's layout.
          let slotLayout: NamedTensor<Scalar>.Layout = layout == .transposed ? .transposed : .unchanged
          entries.append(
            Item(
              name: slotEntryName(slot: slot, parameter: name), value: tensors[index], layout: slotLayout,
              target: .slot(slot)))
        }
      }
    }

    /// The largest file worth reading: eight times the expected data (room for optimiser
    /// state when none was asked for) plus 1 MiB for the header.
    var fileSizeLimit: Int {
      let width = StoredFloat.matching(Scalar.self).width
      let scalars = entries.reduce(0) { $0 + $1.value.scalarCount }
      return (1 << 20) + 8 * width * scalars
    }

    /// The file's tensors.
    var rawTensors: [SafeTensors.RawTensor] {
      let dtype = Checkpoint.dtype(of: Scalar.self)
      return entries.map { $0.layout.raw($0.value, named: $0.name, dtype: dtype) }
    }

    /// Validates the whole checkpoint against this layout, then assigns every tensor.
    func load(_ file: SafeTensors) throws(FileError) {
      let path = file.path
      let wanted = Set(entries.map(\.name))
      for entry in file.entries where !wanted.contains(entry.name) {
        if optimizer == nil && entry.name.hasPrefix(optimizerPrefix) { continue }
        throw FileError(path: path, place: place(ofEntry: entry.name), .unexpectedTensor)
      }

      let found = file.metadata["optimizer"] ?? ""
      var counterValues: [String: Int] = [:]
      if let optimizerKind {
        guard found == optimizerKind else {
          throw FileError(path: path, .optimizerMismatch(expected: optimizerKind, found: found))
        }
        counterValues = try Checkpoint.counters(of: file)
        for name in counterValues.keys where !counters.contains(where: { $0.name == name }) {
          throw FileError(path: path, .counterMismatch(name: name))
        }
        for counter in counters where counterValues[counter.name] == nil {
          throw FileError(path: path, .counterMismatch(name: counter.name))
        }
      }

      let dtype = Checkpoint.dtype(of: Scalar.self)
      var values: [Tensor<Scalar>] = []
      for item in entries {
        let place = place(ofEntry: item.name)
        guard let entry = file.entry(named: item.name) else {
          throw FileError(path: path, place: place, .missingTensor)
        }
        values.append(
          try item.layout.read(
            entry, of: file, shape: item.value.shape, floatDtypes: [dtype], place: place))
      }

      // Everything is validated: from here on nothing throws.
      var state = OptimizerState<Scalar>(kind: optimizerKind ?? "", counters: counterValues)
      for slot in slotNames { state.slots[slot] = [] }
      for (item, value) in zip(entries, values) {
        switch item.target {
        case .variable(let variable): variable.value = value
        case .slot(let name): state.slots[name, default: []].append(value)
        }
      }
      optimizer?.restore(state)
    }
  }
}
