#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A file that could not be written.
public enum OutputFileError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The system refused an operation on `path`, for `reason` (its `strerror` text).
  case io(path: String, reason: String)
  /// A program run to produce `path` (Graphviz's `dot`) failed with exit `status`.
  case programFailed(program: String, path: String, status: Int32)

  /// A sentence describing the problem.
  public var description: String {
    switch self {
    case .io(let path, let reason): "cannot write \(path): \(reason)"
    case .programFailed(let program, let path, let status):
      "\(program) failed to produce \(path): exit status \(status)"
    }
  }
}

/// Writes `text` as UTF-8 to `path`, atomically: a reader sees the old file or the new one.
///
/// - Throws: ``OutputFileError`` when the file cannot be written.
package func writeTextFile(_ text: String, to path: String) throws(OutputFileError) {
  try writeFileAtomically(Array(text.utf8), to: path)
}

/// Writes `bytes` to a temporary file next to `path`, flushes it to disk, renames it over
/// `path`, and flushes the directory, so that `path` always holds either the old or the new
/// file, never a part of one.
///
/// - Parameter simulatedCrashAfter: For tests: stop after writing this many bytes and throw,
///   leaving the temporary file behind as a crash would.
package func writeFileAtomically(
  _ bytes: [UInt8], to path: String, simulatedCrashAfter: Int? = nil
) throws(OutputFileError) {
  let directory = directoryName(of: path)
  let suffix = String(UInt64.random(in: .min ... .max), radix: 16)
  let temporary = "\(directory)/.\(baseName(of: path)).tmp-\(suffix)"

  let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
  guard descriptor >= 0 else { throw fileError(temporary) }
  var written = 0
  let limit = min(bytes.count, simulatedCrashAfter ?? .max)
  while written < limit {
    let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, limit - written) }
    if result < 0 {
      if errno == EINTR { continue }
      let error = fileError(temporary)
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
    let error = fileError(temporary)
    close(descriptor)
    unlink(temporary)
    throw error
  }
  close(descriptor)
  guard rename(temporary, path) == 0 else {
    let error = fileError(path)
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

func fileError(_ path: String) -> OutputFileError {
  .io(path: path, reason: String(cString: strerror(errno)))
}

func directoryName(of path: String) -> String {
  guard let slash = path.lastIndex(of: "/") else { return "." }
  return slash == path.startIndex ? "/" : String(path[..<slash])
}

func baseName(of path: String) -> String {
  guard let slash = path.lastIndex(of: "/") else { return path }
  return String(path[path.index(after: slash)...])
}
