import BackpropTensor

/// A safetensors file: named tensors and string metadata, the format Hugging Face's
/// `safetensors` library and PyTorch users exchange weights in.
///
/// ```swift
/// try SafeTensors.write(["weight": w, "bias": b], to: "layer.safetensors")
/// let tensors = try SafeTensors.read(from: "layer.safetensors", as: Float.self)
/// ```
///
/// The layout, as the specification gives it: an 8-byte little-endian header length N, N bytes
/// of UTF-8 JSON (`{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, …,
/// "__metadata__": {"key": "value"}}`), then the data buffer, each tensor's elements row-major
/// and little-endian at its offsets.
///
/// Opening a file validates all of it before any tensor is made: the header length (at most
/// ``headerSizeLimit``) and that it lies within the file, that the header is UTF-8 JSON
/// starting with `{` and holding an object with no repeated key, that every entry has a known
/// dtype, a shape whose element count does not overflow and matches its byte range, and
/// offsets that are ordered and tile the data buffer exactly — no hole, no overlap, no byte
/// left over — and that metadata values are strings. Any problem throws a ``FileError``
/// that says what is wrong and where; nothing is returned in part.
///
/// Tensors of dtype F16, BF16, F32 and F64 read as `Float` or `Double` (exactly, except F64
/// read as `Float`, which rounds to nearest); other dtypes are listed in ``entries`` but
/// reading one throws ``FileError/Problem/unsupported(_:)`` naming it.
public struct SafeTensors: Sendable {
  /// One tensor as the header describes it.
  public struct Entry: Equatable, Sendable {
    /// The tensor's name (its key in the header).
    public let name: String
    /// The safetensors dtype: `"F32"`, `"BF16"`, `"I64"`, …
    public let dtype: String
    /// The extents, outermost first; `[]` for a scalar.
    public let shape: [Int]
    /// Where its bytes are, counted from the start of the data buffer.
    public let byteRange: Range<Int>
  }

  /// The largest header the reader accepts, 100 MB, as the reference implementation.
  public static let headerSizeLimit = 100_000_000
  /// The largest file the reader loads.
  public static let sizeLimit = 1 << 40

  /// Every tensor in the file, in the order of their data.
  public let entries: [Entry]
  /// The header's `__metadata__`: free-form strings (empty when the file has none).
  public let metadata: [String: String]
  /// The path given, to name the data in errors.
  public let path: String
  let bytes: [UInt8]
  /// Where the data buffer starts in `bytes`.
  package let dataStart: Int

  /// Reads and validates the safetensors file at `path`.
  ///
  /// - Throws: ``FileError`` when the file cannot be read or breaks the format.
  public init(contentsOf path: String) throws(FileError) {
    try self.init(bytes: readDataFile(path, limit: Self.sizeLimit), path: path)
  }

  /// Validates safetensors `bytes`; `path` only names the data in errors.
  ///
  /// - Throws: ``FileError`` when the bytes break the format.
  public init(bytes: [UInt8], path: String = "safetensors data") throws(FileError) {
    func malformed(_ place: FileError.Place, _ reason: String) -> FileError {
      FileError(path: path, place: place, .malformed(reason))
    }
    guard bytes.count >= 8 else {
      throw malformed(
        .byte(0), "\(bytes.count) bytes; a safetensors file starts with an 8-byte header length")
    }
    let length = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    guard length <= UInt64(Self.headerSizeLimit) else {
      throw malformed(.byte(0), "header length \(length) is more than the limit of \(Self.headerSizeLimit)")
    }
    let dataStart = 8 + Int(length)
    guard dataStart <= bytes.count else {
      throw malformed(
        .byte(0), "header length \(length) runs past the end of the file (\(bytes.count) bytes)")
    }
    guard length > 0, bytes[8] == UInt8(ascii: "{") else {
      throw malformed(.byte(8), "the header must start with \"{\"")
    }
    let json: JSON
    do {
      json = try JSON.parse(bytes[8..<dataStart])
    } catch {
      throw malformed(.header(byte: error.offset), error.reason)
    }
    guard case .object(let members) = json else {
      throw malformed(.header(byte: nil), "the header is not a JSON object")
    }

    let dataSize = bytes.count - dataStart
    var entries: [Entry] = []
    var metadata: [String: String] = [:]
    for (name, value) in members {
      let location = FileError.Place.tensor(name)
      if name == "__metadata__" {
        guard case .object(let pairs) = value else {
          throw malformed(.metadata, "metadata must be an object of strings, found \(value.kind)")
        }
        for (key, text) in pairs {
          guard case .string(let string) = text else {
            throw malformed(.metadata, "the value of \(JSON.quoted(key)) is \(text.kind), not a string")
          }
          metadata[key] = string
        }
        continue
      }
      guard case .object(let fields) = value else {
        throw malformed(location, "an entry must be an object, found \(value.kind)")
      }
      var dtype: String?
      var shape: [Int]?
      var offsets: [Int]?
      for (key, field) in fields {
        switch key {
        case "dtype":
          guard case .string(let text) = field else { throw malformed(location, "dtype is \(field.kind)") }
          dtype = text
        case "shape", "data_offsets":
          guard case .array(let items) = field else { throw malformed(location, "\(key) is \(field.kind)") }
          var numbers: [Int] = []
          for item in items {
            guard let number = item.count(atMost: Int.max) else {
              throw malformed(location, "\(key) holds \(item.kind), not a non-negative integer")
            }
            numbers.append(number)
          }
          if key == "shape" { shape = numbers } else { offsets = numbers }
        default: throw malformed(location, "unknown field \(JSON.quoted(key))")
        }
      }
      guard let dtype, let shape, let offsets else {
        throw malformed(location, "an entry needs dtype, shape and data_offsets")
      }
      guard let bits = Self.dtypeBits[dtype] else {
        throw malformed(location, "unknown dtype \(JSON.quoted(dtype))")
      }
      guard offsets.count == 2, offsets[0] <= offsets[1] else {
        throw malformed(location, "data_offsets must be [begin, end] with begin ≤ end, found \(offsets)")
      }
      var count = 1
      for dimension in shape {
        let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
        guard !overflow else {
          throw malformed(location, "shape \(shape) has more elements than an Int counts")
        }
        count = product
      }
      let (totalBits, overflow) = count.multipliedReportingOverflow(by: bits)
      guard !overflow, totalBits % 8 == 0 else {
        throw malformed(location, "shape \(shape) of \(dtype) does not fill a whole number of bytes")
      }
      guard offsets[1] - offsets[0] == totalBits / 8 else {
        throw malformed(
          location,
          "shape \(shape) of \(dtype) needs \(totalBits / 8) bytes, data_offsets \(offsets) hold \(offsets[1] - offsets[0])"
        )
      }
      entries.append(Entry(name: name, dtype: dtype, shape: shape, byteRange: offsets[0]..<offsets[1]))
    }

    entries.sort {
      ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound)
    }
    var next = 0
    for entry in entries {
      let location = FileError.Place.tensor(entry.name)
      guard entry.byteRange.lowerBound <= next else {
        throw malformed(
          location, "data buffer bytes \(next)..<\(entry.byteRange.lowerBound) belong to no tensor")
      }
      guard entry.byteRange.lowerBound == next else {
        throw malformed(location, "its bytes \(entry.byteRange) overlap the previous tensor's")
      }
      next = entry.byteRange.upperBound
    }
    guard next == dataSize else {
      throw malformed(
        .data,
        next < dataSize
          ? "\(dataSize - next) bytes after the last tensor belong to no tensor"
          : "the tensors need \(next) bytes, the file holds \(dataSize)")
    }
    self.entries = entries
    self.metadata = metadata
    self.path = path
    self.bytes = bytes
    self.dataStart = dataStart
  }

  /// The entry named `name`, if the file has one.
  public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }

  /// The tensor named `name` as `Scalar`, or `nil` when the file has no such tensor.
  ///
  /// - Throws: ``FileError/Problem/unsupported(_:)`` when its dtype is not
  ///   F16, BF16, F32 or F64.
  public func tensor<Scalar: TensorScalar>(named name: String, as _: Scalar.Type = Scalar.self)
    throws(FileError) -> Tensor<Scalar>?
  {
    guard let entry = entry(named: name) else { return nil }
    return try tensor(entry, as: Scalar.self)
  }

  /// Every tensor of the file as `Scalar`, by name.
  ///
  /// - Throws: ``FileError/Problem/unsupported(_:)`` naming the first tensor
  ///   whose dtype is not F16, BF16, F32 or F64; nothing is returned then.
  public func tensors<Scalar: TensorScalar>(as _: Scalar.Type = Scalar.self) throws(FileError)
    -> [String: Tensor<Scalar>]
  {
    for entry in entries where Self.floatFormats[entry.dtype] == nil {
      _ = try tensor(entry, as: Scalar.self)
    }
    var result: [String: Tensor<Scalar>] = [:]
    for entry in entries { result[entry.name] = try tensor(entry, as: Scalar.self) }
    return result
  }

  package func tensor<Scalar: TensorScalar>(_ entry: Entry, as _: Scalar.Type) throws(FileError)
    -> Tensor<Scalar>
  {
    guard let format = Self.floatFormats[entry.dtype] else {
      throw FileError(
        path: path, place: .tensor(entry.name),
        .unsupported(
          "dtype \(entry.dtype) is not floating point (F16, BF16, F32 or F64 read as \(Scalar.self))"))
    }
    let count = entry.byteRange.count / format.width
    let scalars = format.decode(
      bytes, from: dataStart + entry.byteRange.lowerBound, count: count, bigEndian: false, as: Scalar.self)
    return try! Tensor(shape: entry.shape, scalars: scalars)
  }

  /// Every tensor of the safetensors file at `path`, converted to `Scalar`.
  ///
  /// - Parameters:
  ///   - path: The file.
  ///   - scalarType: The scalar type of the tensors returned.
  /// - Throws: ``FileError`` when the file cannot be read, breaks the format, or holds a
  ///   tensor whose dtype is not F16, BF16, F32 or F64.
  public static func read<Scalar: TensorScalar>(from path: String, as scalarType: Scalar.Type = Scalar.self)
    throws(FileError) -> [String: Tensor<Scalar>]
  {
    try SafeTensors(contentsOf: path).tensors(as: scalarType)
  }

  /// Writes `tensors` and `metadata` to a safetensors file at `path`, atomically (a reader
  /// sees the old file or the new one). `Float` tensors are stored as F32, `Double` as F64.
  ///
  /// Python's `safetensors.numpy.load_file` and `safetensors.torch.load_file` read the file.
  ///
  /// - Parameters:
  ///   - tensors: The tensors by name.
  ///   - path: The file; its directory must exist.
  ///   - metadata: Strings stored under `__metadata__`.
  /// - Throws: ``FileError`` when the file cannot be written.
  /// - Precondition: No tensor is named `__metadata__`.
  public static func write<Scalar: TensorScalar>(
    _ tensors: [String: Tensor<Scalar>], to path: String, metadata: [String: String] = [:]
  ) throws(FileError) {
    try writeFileAtomically(encode(tensors, metadata: metadata), to: path)
  }

  /// The bytes ``write(_:to:metadata:)`` writes.
  ///
  /// The header lists `__metadata__` first, then the tensors in the order of their data:
  /// wider dtypes first (so that every tensor's data stays aligned), then by name. It is
  /// padded with spaces so that the data starts at a multiple of 8 bytes.
  ///
  /// - Precondition: No tensor is named `__metadata__`.
  public static func encode<Scalar: TensorScalar>(
    _ tensors: [String: Tensor<Scalar>], metadata: [String: String] = [:]
  ) -> [UInt8] {
    let format = StoredFloat.matching(Scalar.self)
    let dtype = format == .float32 ? "F32" : "F64"
    return encode(
      tensors.map { name, tensor in
        RawTensor(name: name, dtype: dtype, shape: tensor.shape) {
          StoredFloat.appendLittleEndian(tensor, to: &$0)
        }
      }, metadata: metadata)
  }

  /// A tensor to write: its header fields and a function appending its data.
  package struct RawTensor {
    package var name: String
    package var dtype: String
    package var shape: [Int]
    package var appendData: (inout [UInt8]) -> Void

    package init(name: String, dtype: String, shape: [Int], appendData: @escaping (inout [UInt8]) -> Void) {
      (self.name, self.dtype, self.shape, self.appendData) = (name, dtype, shape, appendData)
    }
  }

  package static func encode(_ tensors: [RawTensor], metadata: [String: String]) -> [UInt8] {
    let ordered = tensors.sorted { left, right in
      let (a, b) = (dtypeBits[left.dtype] ?? 0, dtypeBits[right.dtype] ?? 0)
      return a != b ? a > b : Array(left.name.utf8).lexicographicallyPrecedes(right.name.utf8)
    }
    var members: [String] = []
    if !metadata.isEmpty {
      let pairs = metadata.sorted { Array($0.key.utf8).lexicographicallyPrecedes($1.key.utf8) }
      members.append(
        "\"__metadata__\":{"
          + pairs.map { JSON.quoted($0.key) + ":" + JSON.quoted($0.value) }.joined(separator: ",")
          + "}")
    }
    var data: [UInt8] = []
    for tensor in ordered {
      check(tensor.name != "__metadata__", "SafeTensors.write: a tensor may not be named __metadata__")
      let begin = data.count
      tensor.appendData(&data)
      members.append(
        JSON.quoted(tensor.name) + ":{\"dtype\":\"\(tensor.dtype)\",\"shape\":["
          + tensor.shape.map(String.init).joined(separator: ",")
          + "],\"data_offsets\":[\(begin),\(data.count)]}")
    }
    var header = Array(("{" + members.joined(separator: ",") + "}").utf8)
    header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(8 + header.count + data.count)
    appendInteger(UInt64(header.count), to: &bytes)
    return bytes + header + data
  }

  /// Bits per element of every dtype the format defines.
  static let dtypeBits: [String: Int] = [
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "I16": 16, "U16": 16,
    "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "F64": 64, "I64": 64, "U64": 64,
    "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
  ]

  /// The dtypes read as `Float` or `Double`.
  package static let floatFormats: [String: StoredFloat] = [
    "F16": .float16, "BF16": .bfloat16, "F32": .float32, "F64": .float64,
  ]
}

extension SafeTensors {
  /// The integers of an entry of an integer dtype (I8 … I64, U8 … U64), or `nil` for other
  /// dtypes and for U64 values beyond `Int64.max`.
  package func integers(_ entry: Entry) -> [Int64]? {
    let formats: [String: (width: Int, signed: Bool)] = [
      "I8": (1, true), "I16": (2, true), "I32": (4, true), "I64": (8, true),
      "U8": (1, false), "U16": (2, false), "U32": (4, false), "U64": (8, false),
    ]
    guard let (width, signed) = formats[entry.dtype] else { return nil }
    var values: [Int64] = []
    for start in stride(
      from: dataStart + entry.byteRange.lowerBound, to: dataStart + entry.byteRange.upperBound, by: width)
    {
      let bits = bytes[start..<start + width].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
      if signed {
        let shift = UInt64(64 - 8 * width)
        values.append(Int64(bitPattern: bits << shift) >> shift)
      } else {
        guard bits <= UInt64(Int64.max) else { return nil }
        values.append(Int64(bits))
      }
    }
    return values
  }
}
