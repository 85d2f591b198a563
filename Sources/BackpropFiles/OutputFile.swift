#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes `text` as UTF-8 to `path`, atomically: a reader sees the old file or the new one.
///
/// - Throws: ``FileError`` when the file cannot be written.
package func writeTextFile(_ text: String, to path: String) throws(FileError) {
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
) throws(FileError) {
  let directory = directoryName(of: path)
  let suffix = String(UInt64.random(in: .min ... .max), radix: 16)
  let temporary = "\(directory)/.\(baseName(of: path)).tmp-\(suffix)"

  let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
  guard descriptor >= 0 else { throw fileError(path) }
  var written = 0
  let limit = min(bytes.count, simulatedCrashAfter ?? .max)
  while written < limit {
    let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, limit - written) }
    if result < 0 {
      if errno == EINTR { continue }
      let error = fileError(path)
      close(descriptor)
      unlink(temporary)
      throw error
    }
    written += result
  }
  if simulatedCrashAfter != nil && limit < bytes.count {
    close(descriptor)
    throw FileError(path: path, .io("simulated crash after \(limit) bytes"))
  }
  guard fsync(descriptor) == 0 else {
    let error = fileError(path)
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

func fileError(_ path: String) -> FileError {
  FileError(path: path, .io(String(cString: strerror(errno))))
}

func directoryName(of path: String) -> String {
  guard let slash = path.lastIndex(of: "/") else { return "." }
  return slash == path.startIndex ? "/" : String(path[..<slash])
}

func baseName(of path: String) -> String {
  guard let slash = path.lastIndex(of: "/") else { return path }
  return String(path[path.index(after: slash)...])
}
