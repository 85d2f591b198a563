/// A data file that could not be read: the reason, and where in the file.
///
/// Data readers validate everything they read and throw this instead of crashing or returning
/// part of a data set.
public enum DataFileError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The system refused to open or read `path`, for `reason` (its `strerror` text).
  case io(path: String, reason: String)
  /// The file is larger than `limit` bytes, so it was not read.
  case fileTooLarge(path: String, size: Int, limit: Int)
  /// The file does not have the format: `reason` says what is wrong, at `line` (1-based) of a
  /// text file, or at byte `offset` of a binary one.
  case malformed(path: String, location: String, reason: String)
  /// The file is well-formed but holds something this library does not read (an integer tensor
  /// where floating-point numbers are needed, say): `reason` says what, at `location`.
  case unsupported(path: String, location: String, reason: String)

  /// A sentence describing the problem.
  public var description: String {
    switch self {
    case .io(let path, let reason): "cannot read \(path): \(reason)"
    case .fileTooLarge(let path, let size, let limit):
      "\(path) has \(size) bytes, more than the \(limit) a data file may have"
    case .malformed(let path, let location, let reason), .unsupported(let path, let location, let reason):
      "\(path), \(location): \(reason)"
    }
  }
}
