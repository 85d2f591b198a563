import BackpropFiles

/// Why a checkpoint could not be saved or loaded.
///
/// Every malformed file is reported with one of these cases, naming the path the caller gave; a
/// failed load leaves the model and the optimiser exactly as they were.
public enum CheckpointError: Error, Equatable, Sendable, CustomStringConvertible {
  /// Where a tensor of a checkpoint belongs.
  public enum Place: Equatable, Sendable, CustomStringConvertible {
    /// A parameter or state of the model, by its name in ``Layer/namedParameters`` or
    /// ``Layer/namedStates``.
    case model(String)
    /// An optimiser slot (Adam's `"m"`, …) for the model parameter named `parameter`.
    case optimizer(slot: String, parameter: String)

    /// "the model's \"0.weight\"" or "the optimiser's \"m\" of \"0.weight\"".
    public var description: String {
      switch self {
      case .model(let name): "the model's \"\(name)\""
      case .optimizer(let slot, let parameter): "the optimiser's \"\(slot)\" of \"\(parameter)\""
      }
    }
  }

  /// The file could not be read, written or renamed; `reason` is the system's message.
  case io(path: String, reason: String)
  /// The file is larger than any checkpoint of this model could be, so it was not read.
  case fileTooLarge(path: String, size: Int, limit: Int)
  /// The file is not a valid safetensors file; the reader's error says what is wrong and where.
  case malformed(DataFileError)
  /// The file is a valid safetensors file but not a Backprop checkpoint: `reason` says why.
  case notACheckpoint(path: String, reason: String)
  /// The checkpoint's format version is not one this library reads.
  case unsupportedVersion(path: String, version: String)
  /// The CRC-32 in the metadata does not match the data: the file is corrupted.
  case checksumMismatch(path: String, stored: UInt32, computed: UInt32)
  /// A tensor holds a different scalar type than the model.
  case scalarTypeMismatch(path: String, place: Place, expected: String, found: String)
  /// A tensor's shape differs from the model's (or optimiser's) tensor of that name.
  case shapeMismatch(path: String, place: Place, expected: [Int], found: [Int])
  /// The model or the optimiser has a tensor the file does not.
  case missingEntry(path: String, place: Place)
  /// The file has a tensor that neither the model nor the optimiser has.
  case unexpectedEntry(path: String, place: Place)
  /// The file's optimiser state is of another kind (`""` when the file has none).
  case optimizerMismatch(path: String, expected: String, found: String)
  /// A counter of the optimiser state is missing, unexpected or not a non-negative integer.
  case counterMismatch(path: String, name: String)
  /// The same name appears twice in the model's ``Layer/namedParameters`` and
  /// ``Layer/namedStates``, or a model name starts with the optimiser's prefix `optimizer/`.
  case duplicateName(String)
  /// The optimiser updates a variable that is not one of the model's parameters.
  case optimizerParameterNotInModel(index: Int)

  /// A sentence saying what is wrong.
  public var description: String {
    switch self {
    case .io(let path, let reason): "checkpoint \(path): \(reason)"
    case .fileTooLarge(let path, let size, let limit):
      "checkpoint \(path): \(size) bytes is more than a checkpoint of this model can be (\(limit))"
    case .malformed(let error): "not a valid checkpoint: \(error)"
    case .notACheckpoint(let path, let reason): "\(path) is not a Backprop checkpoint: \(reason)"
    case .unsupportedVersion(let path, let version):
      "checkpoint \(path): format version \(version) is not supported (this library reads \(Checkpoint.version))"
    case .checksumMismatch(let path, let stored, let computed):
      "checkpoint \(path) is corrupted: stored CRC-32 \(Checkpoint.hexadecimal(stored)), computed \(Checkpoint.hexadecimal(computed))"
    case .scalarTypeMismatch(let path, let place, let expected, let found):
      "checkpoint \(path): \(place) is \(found) in the file, the model needs \(expected)"
    case .shapeMismatch(let path, let place, let expected, let found):
      "checkpoint \(path): \(place) has shape \(found) in the file, expected \(expected)"
    case .missingEntry(let path, let place): "checkpoint \(path) has no tensor for \(place)"
    case .unexpectedEntry(let path, let place):
      "checkpoint \(path) has a tensor for \(place), which does not exist"
    case .optimizerMismatch(let path, let expected, let found):
      "checkpoint \(path): the optimiser state is \(found.isEmpty ? "absent" : "\"\(found)\""), expected \"\(expected)\""
    case .counterMismatch(let path, let name):
      "checkpoint \(path): the optimiser counter \"\(name)\" is missing, unexpected or not a non-negative integer"
    case .duplicateName(let name): "the name \"\(name)\" appears twice or is reserved"
    case .optimizerParameterNotInModel(let index):
      "optimiser parameter \(index) is not one of the model's parameters"
    }
  }
}
