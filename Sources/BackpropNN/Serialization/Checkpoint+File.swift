import BackpropFiles

extension Checkpoint {
  /// Writes `bytes` so that `path` always holds either the old or the new checkpoint (see
  /// `writeFileAtomically(_:to:simulatedCrashAfter:)`). Errors name `path`, never the
  /// temporary file.
  static func writeAtomically(
    _ bytes: [UInt8], to path: String, simulatedCrashAfter: Int? = nil
  ) throws(CheckpointError) {
    do {
      try writeFileAtomically(bytes, to: path, simulatedCrashAfter: simulatedCrashAfter)
    } catch {
      switch error {
      case .io(_, let reason): throw .io(path: path, reason: reason)
      case .programFailed: throw .io(path: path, reason: error.description)
      }
    }
  }

  /// The whole file, if it is no larger than `limit` bytes (`readDataFile(_:limit:)`, with its
  /// errors as checkpoint errors).
  static func readFile(_ path: String, limit: Int) throws(CheckpointError) -> [UInt8] {
    do {
      return try readDataFile(path, limit: limit)
    } catch {
      switch error {
      case .io(_, let reason): throw .io(path: path, reason: reason)
      case .fileTooLarge(_, let size, let limit): throw .fileTooLarge(path: path, size: size, limit: limit)
      case .malformed, .unsupported: throw .malformed(error)
      }
    }
  }
}
