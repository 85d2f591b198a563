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

  /// The whole file, if it is no larger than `limit` bytes.
  static func readFile(_ path: String, limit: Int) throws(CheckpointError) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw ioError(path) }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else { throw ioError(path) }
    let size = Int(status.st_size)
    guard size <= limit else { throw .fileTooLarge(path: path, size: size, limit: limit) }
    var bytes = [UInt8](repeating: 0, count: size)
    var total = 0
    while total < size {
      let result = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + total, size - total) }
      if result < 0 {
        if errno == EINTR { continue }
        throw ioError(path)
      }
      if result == 0 { break }  // the file shrank while being read
      total += result
    }
    return Array(bytes[0..<total])
  }

  static func ioError(_ path: String) -> CheckpointError {
    .io(path: path, reason: String(cString: strerror(errno)))
  }
}
