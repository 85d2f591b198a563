import BackpropTensor

// The byte layout of a checkpoint, version 1. All integers are little-endian.
//
//   offset 0       magic "BKPROPCK" (8 bytes)
//          8       format version, UInt32 = 1
//          12      header size H, UInt32: the bytes from offset 16 to the data section
//          16      header:
//                    optimiser kind: string ("" when the file holds no optimiser state)
//                    counter count: UInt32, then per counter: name string, value UInt64
//                    entry count: UInt32, then per entry:
//                      name string, scalar type UInt8 (1 = Float32, 2 = Float64), rank UInt8,
//                      rank × dimension UInt64, data offset UInt64, byte count UInt64
//          16 + H  data section: every entry's scalars, IEEE 754 bit patterns
//          end − 4 CRC-32 (IEEE 802.3, as zlib's crc32) of every byte before it, UInt32
//
// A string is a UInt16 byte count followed by that many bytes of UTF-8. Data offsets count from
// the start of the data section; sorted by offset, the entries must tile it exactly.

extension Checkpoint {
  static let magic: [UInt8] = Array("BKPROPCK".utf8)
  static let version: UInt32 = 1
  /// Bytes before the header: magic, version, header size.
  static let preambleSize = 16
  static let checksumSize = 4
  static let maximumRank = 32

  /// One tensor in a checkpoint file, as the header describes it.
  struct Entry {
    var name: String
    var scalarType: UInt8
    var shape: [Int]
    var offset: Int
    var byteCount: Int
  }

  /// A checkpoint file whose structure has been validated, not yet matched to a model.
  struct Parsed {
    var optimizerKind: String
    var counters: [(name: String, value: Int)]
    var entries: [Entry]
    /// The bytes of the whole file.
    var bytes: [UInt8]
    var dataStart: Int
  }

  /// What one tensor is called and holds, for writing.
  struct NamedTensor<Scalar: TensorScalar> {
    var name: String
    var tensor: Tensor<Scalar>
  }

  /// The file's code for a scalar type, and its width in bytes.
  static func scalarType<Scalar: TensorScalar>(of _: Scalar.Type) -> (code: UInt8, width: Int) {
    switch 1 + Scalar.exponentBitCount + Scalar.significandBitCount {
    case 32: return (1, 4)
    case 64: return (2, 8)
    default: checkFailed("Checkpoint: scalar type \(Scalar.self) is neither 32- nor 64-bit IEEE 754")
    }
  }

  static func scalarTypeName(_ code: UInt8) -> String {
    switch code {
    case 1: "Float32"
    case 2: "Float64"
    default: "unknown scalar type \(code)"
    }
  }

  // MARK: Writing

  static func encode<Scalar: TensorScalar>(
    tensors: [NamedTensor<Scalar>], optimizerKind: String, counters: [(name: String, value: Int)]
  ) throws(CheckpointError) -> [UInt8] {
    let (code, width) = scalarType(of: Scalar.self)
    var header: [UInt8] = []
    try appendString(optimizerKind, to: &header)
    try appendCount(counters.count, to: &header, what: "counters")
    for counter in counters {
      try appendString(counter.name, to: &header)
      appendInteger(UInt64(counter.value), to: &header)
    }
    try appendCount(tensors.count, to: &header, what: "tensors")
    var offset = 0
    for entry in tensors {
      guard entry.tensor.rank <= maximumRank else {
        throw .tooLargeToSave(
          reason: "\"\(entry.name)\" has rank \(entry.tensor.rank) (at most \(maximumRank))")
      }
      try appendString(entry.name, to: &header)
      header.append(code)
      header.append(UInt8(entry.tensor.rank))
      for dimension in entry.tensor.shape { appendInteger(UInt64(dimension), to: &header) }
      let byteCount = entry.tensor.scalarCount * width
      appendInteger(UInt64(offset), to: &header)
      appendInteger(UInt64(byteCount), to: &header)
      offset += byteCount
    }
    guard header.count <= Int(UInt32.max) else { throw .tooLargeToSave(reason: "the header exceeds 4 GiB") }

    var bytes = magic
    bytes.reserveCapacity(preambleSize + header.count + offset + checksumSize)
    appendInteger(version, to: &bytes)
    appendInteger(UInt32(header.count), to: &bytes)
    bytes += header
    for entry in tensors {
      for scalar in entry.tensor.scalars {
        if width == 4 {
          appendInteger(UInt32(truncatingIfNeeded: bitPattern(of: scalar)), to: &bytes)
        } else {
          appendInteger(bitPattern(of: scalar), to: &bytes)
        }
      }
    }
    appendInteger(CRC32.checksum(bytes[...]), to: &bytes)
    return bytes
  }

  static func appendInteger<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    var little = value.littleEndian
    withUnsafeBytes(of: &little) { bytes.append(contentsOf: $0) }
  }

  static func appendString(_ string: String, to bytes: inout [UInt8]) throws(CheckpointError) {
    let utf8 = Array(string.utf8)
    guard utf8.count <= Int(UInt16.max) else {
      throw .tooLargeToSave(reason: "a name is \(utf8.count) bytes long (at most \(UInt16.max))")
    }
    appendInteger(UInt16(utf8.count), to: &bytes)
    bytes += utf8
  }

  static func appendCount(_ count: Int, to bytes: inout [UInt8], what: String) throws(CheckpointError) {
    guard count <= Int(UInt32.max) else { throw .tooLargeToSave(reason: "too many \(what)") }
    appendInteger(UInt32(count), to: &bytes)
  }

  /// The IEEE 754 bit pattern of a `Float` or `Double`, widened to 64 bits.
  static func bitPattern<Scalar: TensorScalar>(of scalar: Scalar) -> UInt64 {
    let significandBits = UInt64(Scalar.significandBitCount)
    let sign: UInt64 = scalar.sign == .minus ? 1 : 0
    return sign << (significandBits + UInt64(Scalar.exponentBitCount))
      | UInt64(scalar.exponentBitPattern) << significandBits
      | UInt64(scalar.significandBitPattern)
  }

  /// The `Float` or `Double` with the given IEEE 754 bit pattern (NaN payloads included).
  static func scalar<Scalar: TensorScalar>(bitPattern bits: UInt64, as _: Scalar.Type) -> Scalar {
    let significandBits = UInt64(Scalar.significandBitCount)
    let exponentMask = (UInt64(1) << UInt64(Scalar.exponentBitCount)) - 1
    let significandMask = (UInt64(1) << significandBits) - 1
    return Scalar(
      sign: (bits >> (significandBits + UInt64(Scalar.exponentBitCount))) & 1 == 1 ? .minus : .plus,
      exponentBitPattern: Scalar.RawExponent((bits >> significandBits) & exponentMask),
      significandBitPattern: Scalar.RawSignificand(truncatingIfNeeded: bits & significandMask))
  }

  // MARK: Reading

  /// Checks the preamble, the checksum and the header, and that the entries tile the data
  /// section exactly. Allocates nothing whose size comes from the file.
  static func parse(_ bytes: [UInt8]) throws(CheckpointError) -> Parsed {
    let minimum = preambleSize + checksumSize
    guard bytes.count >= magic.count else { throw .truncated(size: bytes.count, needed: minimum) }
    guard bytes[0..<magic.count].elementsEqual(magic) else { throw .notACheckpoint }
    guard bytes.count >= minimum else { throw .truncated(size: bytes.count, needed: minimum) }
    var preamble = Reader(bytes: bytes, position: magic.count, end: preambleSize)
    let version = try preamble.integer(UInt32.self, "version")
    guard version == Self.version else { throw .unsupportedVersion(version) }
    let headerSize = Int(try preamble.integer(UInt32.self, "header size"))
    let dataStart = preambleSize + headerSize
    guard dataStart <= bytes.count - checksumSize else {
      throw .truncated(size: bytes.count, needed: dataStart + checksumSize)
    }

    let checksumStart = bytes.count - checksumSize
    var trailer = Reader(bytes: bytes, position: checksumStart, end: bytes.count)
    let stored = try trailer.integer(UInt32.self, "checksum")
    let computed = CRC32.checksum(bytes[0..<checksumStart])
    guard stored == computed else { throw .checksumMismatch(stored: stored, computed: computed) }

    var header = Reader(bytes: bytes, position: preambleSize, end: dataStart)
    let optimizerKind = try header.string("optimiser kind")
    var counters: [(name: String, value: Int)] = []
    let counterCount = try header.integer(UInt32.self, "counter count")
    for index in 0..<Int(counterCount) {
      let name = try header.string("name of counter \(index)")
      let value = try header.integer(UInt64.self, "value of counter \"\(name)\"")
      guard value <= UInt64(Int.max) else { throw .counterMismatch(name: name) }
      counters.append((name, Int(value)))
    }

    let dataSize = checksumStart - dataStart
    var entries: [Entry] = []
    let entryCount = try header.integer(UInt32.self, "entry count")
    for index in 0..<Int(entryCount) {
      let name = try header.string("name of entry \(index)")
      let code = try header.integer(UInt8.self, "scalar type of \"\(name)\"")
      let width: Int
      switch code {
      case 1: width = 4
      case 2: width = 8
      default: throw .malformedHeader(reason: "entry \"\(name)\" has unknown scalar type \(code)")
      }
      let rank = Int(try header.integer(UInt8.self, "rank of \"\(name)\""))
      guard rank <= maximumRank else {
        throw .malformedHeader(reason: "entry \"\(name)\" has rank \(rank) (at most \(maximumRank))")
      }
      var shape: [Int] = []
      var count = 1
      for axis in 0..<rank {
        let dimension = try header.integer(UInt64.self, "dimension \(axis) of \"\(name)\"")
        let (product, overflow) = count.multipliedReportingOverflow(by: Int(clamping: dimension))
        guard dimension <= UInt64(dataSize), !overflow, product <= dataSize else {
          throw .malformedHeader(reason: "entry \"\(name)\" has dimension \(dimension), larger than the data")
        }
        shape.append(Int(dimension))
        count = product
      }
      let offset = try header.integer(UInt64.self, "offset of \"\(name)\"")
      let byteCount = try header.integer(UInt64.self, "byte count of \"\(name)\"")
      guard byteCount == UInt64(count) * UInt64(width) else {
        throw .malformedData(
          reason:
            "entry \"\(name)\" of shape \(shape) needs \(count * width) bytes, the header says \(byteCount)")
      }
      guard offset <= UInt64(dataSize), byteCount <= UInt64(dataSize) - offset else {
        throw .malformedData(
          reason:
            "entry \"\(name)\" at offset \(offset) with \(byteCount) bytes runs past the data (\(dataSize) bytes)"
        )
      }
      entries.append(
        Entry(name: name, scalarType: code, shape: shape, offset: Int(offset), byteCount: Int(byteCount)))
    }
    guard header.position == header.end else {
      throw .malformedHeader(reason: "\(header.end - header.position) unused bytes at the end of the header")
    }

    var next = 0
    for entry in entries.sorted(by: { ($0.offset, $0.byteCount) < ($1.offset, $1.byteCount) }) {
      if entry.offset > next {
        throw .malformedData(reason: "bytes \(next)..<\(entry.offset) belong to no entry")
      }
      if entry.offset < next {
        throw .malformedData(
          reason: "entry \"\(entry.name)\" at offset \(entry.offset) overlaps the previous entry")
      }
      next = entry.offset + entry.byteCount
    }
    guard next == dataSize else {
      throw .malformedData(reason: "\(dataSize - next) bytes after the last entry belong to no entry")
    }
    return Parsed(
      optimizerKind: optimizerKind, counters: counters, entries: entries, bytes: bytes, dataStart: dataStart)
  }

  /// The tensor an entry holds. The entry was validated by ``parse(_:)`` and its scalar type
  /// matches `Scalar`.
  static func tensor<Scalar: TensorScalar>(
    _ entry: Entry, in parsed: Parsed, as _: Scalar.Type
  ) throws(CheckpointError) -> Tensor<Scalar> {
    let width = scalarType(of: Scalar.self).width
    var reader = Reader(
      bytes: parsed.bytes, position: parsed.dataStart + entry.offset,
      end: parsed.dataStart + entry.offset + entry.byteCount)
    var scalars: [Scalar] = []
    scalars.reserveCapacity(entry.byteCount / width)
    while reader.position < reader.end {
      let bits =
        width == 4
        ? UInt64(try reader.integer(UInt32.self, "data of \"\(entry.name)\""))
        : try reader.integer(UInt64.self, "data of \"\(entry.name)\"")
      scalars.append(scalar(bitPattern: bits, as: Scalar.self))
    }
    do {
      return try Tensor(shape: entry.shape, scalars: scalars)
    } catch {
      throw .malformedData(reason: "entry \"\(entry.name)\": \(error)")
    }
  }

  /// Reads little-endian integers and strings from `bytes[position..<end]`, throwing instead of
  /// reading past `end`.
  struct Reader {
    let bytes: [UInt8]
    var position: Int
    let end: Int

    mutating func integer<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String)
      throws(CheckpointError) -> T
    {
      let size = MemoryLayout<T>.size
      guard end - position >= size else {
        throw .malformedHeader(reason: "it ends inside the \(what())")
      }
      var value: T = 0
      for index in 0..<size { value |= T(bytes[position + index]) << (8 * index) }
      position += size
      return value
    }

    mutating func string(_ what: @autoclosure () -> String) throws(CheckpointError) -> String {
      let length = Int(try integer(UInt16.self, what()))
      guard end - position >= length else {
        throw .malformedHeader(reason: "it ends inside the \(what())")
      }
      let utf8 = bytes[position..<position + length]
      position += length
      guard let string = String(validating: utf8, as: UTF8.self) else {
        throw .malformedHeader(reason: "the \(what()) is not valid UTF-8")
      }
      return string
    }
  }
}

/// CRC-32 as in IEEE 802.3, zlib and PNG (reflected polynomial 0xEDB88320).
enum CRC32 {
  static let table: [UInt32] = (0..<256).map { index in
    var crc = UInt32(index)
    for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
    return crc
  }

  static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    table.withUnsafeBufferPointer { table in
      for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    }
    return crc ^ 0xFFFF_FFFF
  }
}
