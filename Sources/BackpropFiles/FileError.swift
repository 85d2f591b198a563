/// Why a file could not be read or written: the path, the place in the file, and the problem.
///
/// Every reader and writer of the library throws this one type — tensor files, data sets,
/// pictures, checkpoints and PyTorch state dictionaries. Readers validate the whole file before
/// they decode anything, so a thrown error means nothing was returned or changed.
///
/// ```swift
/// do {
///   try Checkpoint.load(from: "run.safetensors", into: model, optimizer: adam)
/// } catch {
///   print(error)   // run.safetensors, the model's "0.weight": shape [3, 2] in the file, expected [2, 3]
///   if case .shapeMismatch = error.problem { … }
/// }
/// ```
public struct FileError: Error, Equatable, Sendable, CustomStringConvertible {
  /// Where in a file a problem is.
  public enum Place: Equatable, Sendable, CustomStringConvertible {
    /// A line of a text file, counted from 1.
    case line(Int)
    /// A byte of a binary file, counted from 0.
    case byte(Int)
    /// The header of a tensor file; at a byte of the header when one is known.
    case header(byte: Int?)
    /// The metadata of a safetensors file.
    case metadata
    /// The data after a tensor file's header, as a whole.
    case data
    /// A tensor of a safetensors file, by its name in the file.
    case tensor(String)
    /// A parameter or state of a model, by its name (a layer's `namedParameters`, or a PyTorch
    /// key).
    case model(String)
    /// An optimiser's slot (Adam's `"firstMoment"`, …) for the model parameter named `parameter`.
    case optimizer(slot: String, parameter: String)

    /// "line 3", "byte 17", "header byte 5", "the model's \"0.weight\"", ….
    public var description: String {
      switch self {
      case .line(let line): "line \(line)"
      case .byte(let offset): "byte \(offset)"
      case .header(let byte): byte.map { "header byte \($0)" } ?? "header"
      case .metadata: "__metadata__"
      case .data: "data buffer"
      case .tensor(let name): "tensor \(JSON.quoted(name))"
      case .model(let name): "the model's \"\(name)\""
      case .optimizer(let slot, let parameter): "the optimiser's \"\(slot)\" of \"\(parameter)\""
      }
    }
  }

  /// What is wrong.
  public enum Problem: Equatable, Sendable, CustomStringConvertible {
    /// The system refused to open, read, write or rename the file, for this reason (its
    /// `strerror` text).
    case io(String)
    /// The file has `size` bytes, more than the `limit` a file of its kind may have here, so it
    /// was not read.
    case tooLarge(size: Int, limit: Int)
    /// The file does not have its format: the reason says what is wrong.
    case malformed(String)
    /// The file is well-formed but holds something this library does not read (an integer
    /// tensor where floating-point numbers are needed, say).
    case unsupported(String)
    /// A program run to produce the file (Graphviz's `dot`) failed with this exit status.
    case programFailed(program: String, status: Int32)
    /// A valid safetensors file that is not a Backprop checkpoint: the reason says why.
    case notACheckpoint(String)
    /// A checkpoint of a format version this library does not read.
    case unsupportedVersion(String)
    /// The CRC-32 stored in a checkpoint does not match its data: the file is corrupted.
    case checksumMismatch(stored: UInt32, computed: UInt32)
    /// A tensor holds another scalar type than the model needs.
    case scalarTypeMismatch(expected: String, found: String)
    /// A tensor's shape differs from the model's (or optimiser's) tensor of that name.
    case shapeMismatch(expected: [Int], found: [Int])
    /// The model or the optimiser has a tensor that the file lacks.
    case missingTensor
    /// The file has a tensor that neither the model nor the optimiser has.
    case unexpectedTensor
    /// The file's optimiser state is of another kind (`""` when the file has none).
    case optimizerMismatch(expected: String, found: String)
    /// A counter of the optimiser state is missing, unexpected or not a non-negative integer.
    case counterMismatch(name: String)

    /// A sentence describing the problem.
    public var description: String {
      switch self {
      case .io(let reason): reason
      case .tooLarge(let size, let limit):
        "\(size) bytes, more than the \(limit) a file of this kind may have here"
      case .malformed(let reason), .unsupported(let reason): reason
      case .programFailed(let program, let status): "\(program) failed with exit status \(status)"
      case .notACheckpoint(let reason): "not a Backprop checkpoint: \(reason)"
      case .unsupportedVersion(let version):
        "checkpoint format version \(version) is not one this library reads"
      case .checksumMismatch(let stored, let computed):
        "corrupted: stored CRC-32 \(hexadecimal(stored)), computed \(hexadecimal(computed))"
      case .scalarTypeMismatch(let expected, let found): "\(found) in the file, the model needs \(expected)"
      case .shapeMismatch(let expected, let found): "shape \(found) in the file, expected \(expected)"
      case .missingTensor: "missing from the file"
      case .unexpectedTensor: "in the file but not in the model or the optimiser"
      case .optimizerMismatch(let expected, let found):
        "the optimiser state is \(found.isEmpty ? "absent" : "\"\(found)\""), expected \"\(expected)\""
      case .counterMismatch(let name):
        "the optimiser counter \"\(name)\" is missing, unexpected or not a non-negative integer"
      }
    }
  }

  /// The file, as the caller named it (never a temporary file).
  public var path: String
  /// Where in the file, when the problem has a place.
  public var place: Place?
  /// What is wrong.
  public var problem: Problem

  /// - Parameters:
  ///   - path: The file, as the caller named it.
  ///   - place: Where in the file; `nil` for the whole file.
  ///   - problem: What is wrong.
  public init(path: String, place: Place? = nil, _ problem: Problem) {
    (self.path, self.place, self.problem) = (path, place, problem)
  }

  /// "path, place: problem", e.g. `digits.csv, line 2: 2 fields where the first line has 3`.
  public var description: String {
    "\(path)\(place.map { ", \($0)" } ?? ""): \(problem)"
  }
}

/// Eight hexadecimal digits.
package func hexadecimal(_ value: UInt32) -> String {
  let digits = String(value, radix: 16)
  return String(repeating: "0", count: 8 - digits.count) + digits
}
