import BackpropTensor

/// NumPy's `.npy` files: one array, as `numpy.save` writes and `numpy.load` reads it.
///
/// ```swift
/// try NumPy.write(logits, to: "logits.npy")      // numpy.load("logits.npy")
/// let x = try NumPy.read(from: "x.npy", as: Float.self)
/// ```
///
/// The layout: the magic bytes `\x93NUMPY`, a major and a minor version byte, the header
/// length (2 bytes little-endian in version 1.0, 4 bytes in 2.0 and 3.0), then the header — a
/// Python dictionary literal such as `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`
/// padded with spaces and a newline so that the data starts at a multiple of 64 bytes — then
/// the elements.
///
/// The reader takes versions 1.0, 2.0 and 3.0 and the dtypes `f2`, `f4` and `f8` in either byte
/// order (`<` little-endian, `>` big-endian), converting to `Scalar` exactly (except `f8` read as
/// `Float`, which rounds to nearest). Arrays in Fortran (column-major) order are transposed into
/// row-major tensors. It validates the whole file first — magic, version, header syntax, that the
/// header has exactly the keys `descr`, `fortran_order` and `shape`, that the element count does
/// not overflow, and that the data holds exactly that many elements — and throws a
/// ``FileError`` saying what is wrong; other dtypes throw
/// ``FileError/Problem/unsupported(_:)``.
///
/// `.npz` archives (zip files of `.npy` members) are not read: Foundation on Linux offers no
/// inflate, and the library takes no package dependency. Unpack the archive first, or save the
/// arrays one by one with `numpy.save`.
public enum NumPy {
  /// The largest file the reader loads.
  public static let sizeLimit = 1 << 40
  /// The largest rank the reader accepts (NumPy's own limit is 64).
  public static let maximumRank = 64

  /// The array in the `.npy` file at `path`, converted to `Scalar`.
  ///
  /// - Throws: ``FileError`` when the file cannot be read, is not a valid `.npy` file, or
  ///   holds an array whose dtype is not `f2`, `f4` or `f8`.
  public static func read<Scalar: TensorScalar>(from path: String, as scalarType: Scalar.Type = Scalar.self)
    throws(FileError) -> Tensor<Scalar>
  {
    try decode(readDataFile(path, limit: sizeLimit), as: scalarType, path: path)
  }

  /// The array in `.npy` `bytes`; `path` only names the data in errors.
  ///
  /// - Throws: ``FileError`` as ``read(from:as:)``.
  public static func decode<Scalar: TensorScalar>(
    _ bytes: [UInt8], as _: Scalar.Type = Scalar.self, path: String = "npy data"
  ) throws(FileError) -> Tensor<Scalar> {
    func malformed(_ place: FileError.Place, _ reason: String) -> FileError {
      FileError(path: path, place: place, .malformed(reason))
    }
    guard bytes.count >= 6, bytes[0..<6].elementsEqual(magic) else {
      throw malformed(.byte(0), "not a .npy file: the magic bytes \\x93NUMPY are missing")
    }
    guard bytes.count >= 8 else { throw malformed(.byte(6), "the file ends inside the version") }
    let (major, minor) = (bytes[6], bytes[7])
    guard (1...3).contains(major), minor == 0 else {
      throw FileError(
        path: path, place: .byte(6),
        .unsupported("format version \(major).\(minor) (this library reads 1.0, 2.0 and 3.0)"))
    }
    let lengthSize = major == 1 ? 2 : 4
    guard bytes.count >= 8 + lengthSize else {
      throw malformed(.byte(8), "the file ends inside the header length")
    }
    let length = bytes[8..<8 + lengthSize].reversed().reduce(0) { $0 << 8 | Int($1) }
    let dataStart = 8 + lengthSize + length
    guard dataStart <= bytes.count else {
      throw malformed(
        .byte(8), "header length \(length) runs past the end of the file (\(bytes.count) bytes)")
    }
    let header = try parseHeader(bytes[(8 + lengthSize)..<dataStart], path: path, utf8: major == 3)

    var count = 1
    for dimension in header.shape {
      let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
      guard !overflow else {
        throw malformed(.header(byte: nil), "shape \(header.shape) has more elements than an Int counts")
      }
      count = product
    }
    let dataSize = bytes.count - dataStart
    let (needed, overflow) = count.multipliedReportingOverflow(by: header.format.width)
    guard !overflow, needed == dataSize else {
      throw malformed(
        .byte(dataStart),
        "shape \(header.shape) of \(header.descr) needs \(overflow ? "more than Int.max" : String(needed)) bytes of data, the file has \(dataSize)"
      )
    }
    let scalars = header.format.decode(
      bytes, from: dataStart, count: count, bigEndian: header.bigEndian, as: Scalar.self)
    guard header.fortranOrder, header.shape.count > 1 else {
      return try! Tensor(shape: header.shape, scalars: scalars)
    }
    // Column-major data is the row-major array of the reversed shape, transposed.
    let reversed = try! Tensor(shape: header.shape.reversed(), scalars: scalars)
    return reversed.transposed(permutation: Array((0..<header.shape.count).reversed()))
  }

  /// Writes `tensor` to a `.npy` file at `path` (format 1.0, or 2.0 for headers over 64 KiB),
  /// atomically: `<f4` for `Float`, `<f8` for `Double`, row-major.
  ///
  /// - Throws: ``FileError`` when the file cannot be written.
  public static func write<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>, to path: String)
    throws(FileError)
  {
    try writeFileAtomically(encode(tensor), to: path)
  }

  /// The bytes ``write(_:to:)`` writes: byte for byte what `numpy.save` writes for the same
  /// array.
  public static func encode<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>) -> [UInt8] {
    let descr = StoredFloat.matching(Scalar.self) == .float32 ? "<f4" : "<f8"
    let shape =
      tensor.rank == 1
      ? "(\(tensor.shape[0]),)" : "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
    var header = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }".utf8)
    // Like numpy.save, leave room for the first extent to grow to 21 digits (for appending).
    if let first = tensor.shape.first {
      header += [UInt8](repeating: 0x20, count: max(0, 21 - String(first).count))
    }
    var lengthSize = 2
    if header.count + 1 + 10 > Int(UInt16.max) { lengthSize = 4 }
    header += [UInt8](repeating: 0x20, count: (64 - (8 + lengthSize + header.count + 1) % 64) % 64) + [0x0A]
    var bytes = magic + [lengthSize == 2 ? 1 : 2, 0]
    if lengthSize == 2 {
      appendInteger(UInt16(header.count), to: &bytes)
    } else {
      appendInteger(UInt32(header.count), to: &bytes)
    }
    bytes += header
    StoredFloat.appendLittleEndian(tensor, to: &bytes)
    return bytes
  }

  static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

  struct Header {
    var descr: String
    var format: StoredFloat
    var bigEndian: Bool
    var fortranOrder: Bool
    var shape: [Int]
  }

  /// Parses the header's dictionary literal: string keys, and values that are strings,
  /// `True`/`False` or tuples of integers.
  static func parseHeader(_ text: ArraySlice<UInt8>, path: String, utf8: Bool) throws(FileError) -> Header {
    func malformed(_ reason: String) -> FileError {
      FileError(path: path, place: .header(byte: nil), .malformed(reason))
    }
    if !utf8, let byte = text.first(where: { $0 >= 0x80 }) {
      throw malformed("byte 0x\(String(byte, radix: 16)) is not ASCII (only version 3.0 headers are UTF-8)")
    }
    guard let string = String(validating: text, as: UTF8.self) else {
      throw malformed("the header is not valid UTF-8")
    }
    var scanner = PythonLiteralScanner(characters: Array(string.unicodeScalars))

    var descr: String?
    var fortranOrder: Bool?
    var shape: [Int]?
    guard scanner.take("{") else { throw malformed("the header is not a dictionary literal") }
    while !scanner.take("}") {
      guard let key = scanner.string() else {
        throw malformed("expected a quoted key at character \(scanner.position)")
      }
      guard scanner.take(":") else { throw malformed("expected \":\" after '\(key)'") }
      switch key {
      case "descr" where descr == nil:
        guard let value = scanner.string() else { throw malformed("'descr' is not a string") }
        descr = value
      case "fortran_order" where fortranOrder == nil:
        if scanner.take("True") {
          fortranOrder = true
        } else if scanner.take("False") {
          fortranOrder = false
        } else {
          throw malformed("'fortran_order' is neither True nor False")
        }
      case "shape" where shape == nil:
        guard let value = scanner.integerTuple(maximumCount: maximumRank) else {
          throw malformed("'shape' is not a tuple of at most \(maximumRank) non-negative integers")
        }
        shape = value
      case "descr", "fortran_order", "shape": throw malformed("the key '\(key)' appears twice")
      default: throw malformed("unexpected key '\(key)'")
      }
      if !scanner.take(",") {
        guard scanner.take("}") else {
          throw malformed("expected \",\" or \"}\" at character \(scanner.position)")
        }
        break
      }
    }
    guard scanner.atEnd else { throw malformed("unexpected text after the dictionary") }
    guard let descr, let fortranOrder, let shape else {
      throw malformed("the header needs the keys 'descr', 'fortran_order' and 'shape'")
    }
    let format: StoredFloat? =
      switch descr.dropFirst() {
      case "f2": .float16
      case "f4": .float32
      case "f8": .float64
      default: nil
      }
    guard let format, let order = descr.first, order == "<" || order == ">" else {
      throw FileError(
        path: path, place: .header(byte: nil),
        .unsupported(
          "dtype '\(descr)' is not a floating-point type this library reads ('<f2', '<f4', '<f8' or '>' big-endian)"
        ))
    }
    return Header(
      descr: descr, format: format, bigEndian: order == ">", fortranOrder: fortranOrder, shape: shape)
  }
}

/// Reads the few Python literals a `.npy` header holds, skipping whitespace between them.
struct PythonLiteralScanner {
  let characters: [Unicode.Scalar]
  var position = 0

  init(characters: [Unicode.Scalar]) { self.characters = characters }

  var atEnd: Bool {
    var copy = self
    copy.skipWhitespace()
    return copy.position == characters.count
  }

  mutating func skipWhitespace() {
    while position < characters.count, characters[position].properties.isWhitespace { position += 1 }
  }

  /// Consumes `token` if it comes next.
  mutating func take(_ token: String) -> Bool {
    skipWhitespace()
    let scalars = Array(token.unicodeScalars)
    guard characters.count - position >= scalars.count,
      characters[position..<position + scalars.count].elementsEqual(scalars)
    else { return false }
    position += scalars.count
    return true
  }

  /// A string in single or double quotes, without escapes.
  mutating func string() -> String? {
    skipWhitespace()
    guard position < characters.count, characters[position] == "'" || characters[position] == "\"" else {
      return nil
    }
    let quote = characters[position]
    var result = String.UnicodeScalarView()
    var index = position + 1
    while index < characters.count, characters[index] != quote {
      guard characters[index] != "\\" else { return nil }
      result.append(characters[index])
      index += 1
    }
    guard index < characters.count else { return nil }
    position = index + 1
    return String(result)
  }

  /// A tuple of non-negative integers: `()`, `(3,)`, `(2, 3)`.
  mutating func integerTuple(maximumCount: Int) -> [Int]? {
    guard take("(") else { return nil }
    var values: [Int] = []
    var endedWithComma = false
    while !take(")") {
      skipWhitespace()
      var digits = ""
      while position < characters.count, ("0"..."9").contains(characters[position]) {
        digits.unicodeScalars.append(characters[position])
        position += 1
      }
      guard let value = Int(digits), values.count < maximumCount else { return nil }
      values.append(value)
      endedWithComma = take(",")
      if !endedWithComma {
        guard take(")") else { return nil }
        break
      }
    }
    // "(3)" is the integer 3 in Python, not a tuple.
    guard values.count != 1 || endedWithComma else { return nil }
    return values
  }
}
