#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

extension Checkpoint {
  /// Writes `bytes` to a temporary file next to `path`, flushes it to disk, renames it over
  /// `path`, and flushes the directory, so that `path` always holds either the old or the new
  /// checkpoint, never a part of one.
  ///
  /// - Parameter simulatedCrashAfter: For tests: stop after writing this many bytes and throw,
  ///   leaving the temporary file behind as a crash would.
  static func writeAtomically(
    _ bytes: [UInt8], to path: String, simulatedCrashAfter: Int? = nil
  ) throws(CheckpointError) {
    let directory = directoryName(of: path)
    var suffix = SystemRandomNumberGenerator()
    let temporary = "\(directory)/.\(baseName(of: path)).tmp-\(String(suffix.next(), radix: 16))"

    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw ioError(temporary) }
    var written = 0
    let limit = min(bytes.count, simulatedCrashAfter ?? .max)
    while written < limit {
      let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, limit - written) }
      if result < 0 {
        if errno == EINTR { continue }
        let error = ioError(temporary)
        close(descriptor)
        unlink(temporary)
        throw error
      }
      written += result
    }
    if simulatedCrashAfter != nil && limit < bytes.count {
      close(descriptor)
      throw .io(path: temporary, reason: "simulated crash after \(limit) bytes")
    }
    guard fsync(descriptor) == 0 else {
      let error = ioError(temporary)
      close(descriptor)
      unlink(temporary)
      throw error
    }
    close(descriptor)
    guard rename(temporary, path) == 0 else {
      let error = ioError(path)
      unlink(temporary)
      throw error
    }
    // Make the rename itself durable; a failure here no longer risks the data, so it is ignored.
    let directoryDescriptor = open(directory, O_RDONLY | O_CLOEXEC)
    if directoryDescriptor >= 0 {
      _ = fsync(directoryDescriptor)
      close(directoryDescriptor)
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

  static func directoryName(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
  }

  static func baseName(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
  }
}
