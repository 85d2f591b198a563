#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

extension Checkpoint {
  /// Writes `bytes` so that `path` always holds either the old or the new checkpoint (see
  /// ``writeFileAtomically(_:to:simulatedCrashAfter:)``).
  static func writeAtomically(
    _ bytes: [UInt8], to path: String, simulatedCrashAfter: Int? = nil
  ) throws(CheckpointError) {
    do {
      try writeFileAtomically(bytes, to: path, simulatedCrashAfter: simulatedCrashAfter)
    } catch {
      if case .io(let failedPath, let reason) = error { throw .io(path: failedPath, reason: reason) }
      throw .io(path: path, reason: error.description)
    }
  }

  /// The whole file, if it is no larger than `limit` bytes (``readDataFile(_:limit:)``, with its
  /// errors as checkpoint errors).
  static func readFile(_ path: String, limit: Int) throws(CheckpointError) -> [UInt8] {
    do {
      return try readDataFile(path, limit: limit)
    } catch {
      switch error {
      case .io(let path, let reason): throw .io(path: path, reason: reason)
      case .fileTooLarge(let path, let size, let limit):
        throw .fileTooLarge(path: path, size: size, limit: limit)
      case .malformed(let path, _, let reason): throw .io(path: path, reason: reason)
      }
    }
  }
}
