import BackpropTensor

/// The IDX files of MNIST and its relatives (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
/// …): two zero bytes, a type code, the number of dimensions, each dimension as a big-endian
/// `UInt32`, then the elements, big-endian, row-major.
///
/// The reader validates the whole file before it makes a tensor: the magic bytes, the type, the
/// rank, that the dimensions' product does not overflow, and that the data has exactly that
/// many elements (no truncation, no trailing bytes). Any problem throws a ``FileError``
/// naming the byte offset.
public enum IDX {
  /// The largest file the reader accepts: 2 GiB.
  public static let sizeLimit = 1 << 31
  /// The largest rank the reader accepts.
  public static let maximumRank = 16

  /// The tensor stored in the file at `path`, converted to `Scalar`.
  ///
  /// - Parameters:
  ///   - path: The file.
  ///   - scalarType: The scalar type of the result.
  /// - Throws: ``FileError`` when the file cannot be read or is not a valid IDX file.
  public static func read<Scalar: TensorScalar>(from path: String, as scalarType: Scalar.Type = Scalar.self)
    throws(FileError) -> Tensor<Scalar>
  {
    try decode(readDataFile(path, limit: sizeLimit), as: scalarType, path: path)
  }

  /// The integer labels stored in the rank-1 file at `path` (a `…-labels-idx1-ubyte` file).
  ///
  /// - Throws: ``FileError`` when the file is not a valid IDX file of rank 1 with integer
  ///   elements.
  public static func readLabels(from path: String) throws(FileError) -> [Int] {
    let bytes = try readDataFile(path, limit: sizeLimit)
    let header = try parseHeader(bytes, path: path)
    guard header.shape.count == 1, header.type.isInteger else {
      throw FileError(
        path: path, place: .byte(2),
        .malformed(
          "labels must be a rank-1 file of integers, found rank \(header.shape.count) of \(header.type)"
        ))
    }
    return (0..<header.count).map {
      Int(header.type.value(in: bytes, at: header.dataOffset + $0 * header.type.width))
    }
  }

  /// The tensor stored in IDX `bytes`; `path` only names the data in errors.
  ///
  /// - Throws: ``FileError`` when the bytes are not a valid IDX file.
  public static func decode<Scalar: TensorScalar>(
    _ bytes: [UInt8], as scalarType: Scalar.Type = Scalar.self, path: String = "IDX data"
  ) throws(FileError) -> Tensor<Scalar> {
    let header = try parseHeader(bytes, path: path)
    let scalars = (0..<header.count).map {
      Scalar(header.type.value(in: bytes, at: header.dataOffset + $0 * header.type.width))
    }
    return try! Tensor(shape: header.shape, scalars: scalars)
  }

  /// The element types of IDX files.
  enum ElementType: UInt8, CustomStringConvertible {
    case uint8 = 0x08, int8 = 0x09, int16 = 0x0B, int32 = 0x0C, float32 = 0x0D, float64 = 0x0E

    var width: Int {
      switch self {
      case .uint8, .int8: 1
      case .int16: 2
      case .int32, .float32: 4
      case .float64: 8
      }
    }

    var isInteger: Bool { self != .float32 && self != .float64 }

    var description: String {
      switch self {
      case .uint8: "unsigned bytes"
      case .int8: "signed bytes"
      case .int16: "16-bit integers"
      case .int32: "32-bit integers"
      case .float32: "32-bit floats"
      case .float64: "64-bit floats"
      }
    }

    /// The big-endian element at `offset`, which the header check has shown to be in bounds.
    func value(in bytes: [UInt8], at offset: Int) -> Double {
      var bits: UInt64 = 0
      for i in 0..<width { bits = bits << 8 | UInt64(bytes[offset + i]) }
      switch self {
      case .uint8: return Double(UInt8(truncatingIfNeeded: bits))
      case .int8: return Double(Int8(truncatingIfNeeded: bits))
      case .int16: return Double(Int16(truncatingIfNeeded: bits))
      case .int32: return Double(Int32(truncatingIfNeeded: bits))
      case .float32: return Double(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
      case .float64: return Double(bitPattern: bits)
      }
    }
  }

  struct Header {
    var type: ElementType
    var shape: [Int]
    var count: Int
    var dataOffset: Int
  }

  /// Validates everything but the values of the elements.
  static func parseHeader(_ bytes: [UInt8], path: String) throws(FileError) -> Header {
    func malformed(_ offset: Int, _ reason: String) -> FileError {
      FileError(path: path, place: .byte(offset), .malformed(reason))
    }
    guard bytes.count >= 4 else {
      throw malformed(bytes.count, "the file ends within the 4-byte magic number")
    }
    guard bytes[0] == 0 && bytes[1] == 0 else {
      throw malformed(0, "not an IDX file (it must start with two zero bytes)")
    }
    guard let type = ElementType(rawValue: bytes[2]) else {
      throw malformed(2, "unknown element type 0x\(String(bytes[2], radix: 16))")
    }
    let rank = Int(bytes[3])
    guard rank >= 1 && rank <= maximumRank else {
      throw malformed(3, "rank \(rank) is not in 1...\(maximumRank)")
    }
    let dataOffset = 4 + 4 * rank
    guard bytes.count >= dataOffset else {
      throw malformed(bytes.count, "the file ends within the dimensions")
    }
    var shape: [Int] = []
    var count = 1
    for axis in 0..<rank {
      let at = 4 + 4 * axis
      let extent = bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) }
      let (product, overflow) = count.multipliedReportingOverflow(by: extent)
      let (size, sizeOverflow) = product.multipliedReportingOverflow(by: type.width)
      guard !overflow && !sizeOverflow && size <= sizeLimit else {
        throw malformed(at, "the dimensions \(shape + [extent]) hold more data than a file may have")
      }
      shape.append(extent)
      count = product
    }
    let expected = dataOffset + count * type.width
    guard bytes.count == expected else {
      throw malformed(
        Swift.min(bytes.count, expected),
        bytes.count < expected
          ? "the file ends after \(bytes.count - dataOffset) of \(count * type.width) data bytes"
          : "\(bytes.count - expected) bytes after the data")
    }
    return Header(type: type, shape: shape, count: count, dataOffset: dataOffset)
  }
}
