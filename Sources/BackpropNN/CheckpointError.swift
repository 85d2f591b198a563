/// Why a checkpoint could not be saved or loaded.
///
/// Every malformed file is reported with one of these cases; a failed load leaves the model and
/// the optimiser exactly as they were.
public enum CheckpointError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file could not be read, written or renamed; `reason` is the system's message.
  case io(path: String, reason: String)
  /// The file is larger than any checkpoint of this model could be, so it was not read.
  case fileTooLarge(path: String, size: Int, limit: Int)
  /// The file ends before `needed` bytes: it was cut short.
  case truncated(size: Int, needed: Int)
  /// The file does not start with the magic tag `BKPROPCK`.
  case notACheckpoint
  /// The format version is not one this library reads.
  case unsupportedVersion(UInt32)
  /// The CRC-32 stored at the end does not match the file's bytes.
  case checksumMismatch(stored: UInt32, computed: UInt32)
  /// The header is inconsistent; `reason` says where and how.
  case malformedHeader(reason: String)
  /// The entries do not cover the data section exactly; `reason` names the gap, overlap or
  /// leftover bytes.
  case malformedData(reason: String)
  /// An entry holds a different scalar type than the model.
  case scalarTypeMismatch(name: String, expected: String, found: String)
  /// An entry's shape differs from the model's tensor of that name.
  case shapeMismatch(name: String, expected: [Int], found: [Int])
  /// The model (or optimiser) has a tensor the file does not.
  case missingEntry(name: String)
  /// The file has a tensor the model (or optimiser) does not.
  case unexpectedEntry(name: String)
  /// The same name appears twice, in the file or in the model's ``Layer/namedParameters``.
  case duplicateName(String)
  /// The file's optimiser state is of another kind (`""` when the file has none).
  case optimizerMismatch(expected: String, found: String)
  /// A counter of the optimiser state is missing, unexpected or negative.
  case counterMismatch(name: String)
  /// The optimiser updates a variable that is not one of the model's parameters.
  case optimizerParameterNotInModel(index: Int)
  /// A name or count is too large for the format.
  case tooLargeToSave(reason: String)

  /// A sentence saying what is wrong.
  public var description: String {
    switch self {
    case .io(let path, let reason): "checkpoint \(path): \(reason)"
    case .fileTooLarge(let path, let size, let limit):
      "checkpoint \(path): \(size) bytes is more than a checkpoint of this model can be (\(limit))"
    case .truncated(let size, let needed): "checkpoint truncated: \(size) bytes, needs at least \(needed)"
    case .notACheckpoint: "not a Backprop checkpoint: the magic tag BKPROPCK is missing"
    case .unsupportedVersion(let version):
      "checkpoint format version \(version) is not supported (this library reads 1)"
    case .checksumMismatch(let stored, let computed):
      "checkpoint corrupted: stored CRC-32 \(hex(stored)), computed \(hex(computed))"
    case .malformedHeader(let reason): "malformed checkpoint header: \(reason)"
    case .malformedData(let reason): "malformed checkpoint data: \(reason)"
    case .scalarTypeMismatch(let name, let expected, let found):
      "checkpoint entry \"\(name)\" holds \(found), the model needs \(expected)"
    case .shapeMismatch(let name, let expected, let found):
      "checkpoint entry \"\(name)\" has shape \(found), the model needs \(expected)"
    case .missingEntry(let name): "checkpoint has no entry \"\(name)\""
    case .unexpectedEntry(let name): "checkpoint entry \"\(name)\" is not in the model"
    case .duplicateName(let name): "the name \"\(name)\" appears twice"
    case .optimizerMismatch(let expected, let found):
      "checkpoint optimiser state is \(found.isEmpty ? "absent" : "\"\(found)\""), expected \"\(expected)\""
    case .counterMismatch(let name):
      "checkpoint optimiser counter \"\(name)\" is missing, unexpected or negative"
    case .optimizerParameterNotInModel(let index):
      "optimiser parameter \(index) is not one of the model's parameters"
    case .tooLargeToSave(let reason): "cannot save checkpoint: \(reason)"
    }
  }
}

private func hex(_ value: UInt32) -> String {
  let digits = String(value, radix: 16)
  return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
