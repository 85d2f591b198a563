import BackpropTensor

/// The IEEE 754 (and bfloat16) formats that tensor files store, and their conversions to and
/// from `Float` and `Double`: exact whenever the target is at least as wide, bit for bit
/// (NaN payloads included) when the widths match, and rounded to nearest from `Double` to
/// `Float`.
package enum StoredFloat: Equatable, Sendable {
  case float16, bfloat16, float32, float64

  /// Bytes per element.
  package var width: Int {
    switch self {
    case .float16, .bfloat16: 2
    case .float32: 4
    case .float64: 8
    }
  }

  /// The format with `Scalar`'s width: `.float32` for `Float`, `.float64` for `Double`.
  package static func matching<Scalar: TensorScalar>(_: Scalar.Type) -> StoredFloat {
    if Scalar.self == Float.self { return .float32 }
    if Scalar.self == Double.self { return .float64 }
    checkFailed("tensor files: scalar type \(Scalar.self) is neither Float nor Double")
  }

  /// The `count` elements stored from `offset` in `bytes`, converted to `Scalar`.
  ///
  /// - Precondition: `bytes` holds `count · width` bytes from `offset`.
  package func decode<Scalar: TensorScalar>(
    _ bytes: [UInt8], from offset: Int, count: Int, bigEndian: Bool, as _: Scalar.Type
  ) -> [Scalar] {
    precondition(offset >= 0 && count >= 0 && bytes.count - offset >= count * width)
    return bytes.withUnsafeBytes { raw in
      let base = raw.baseAddress! + offset
      func bits<T: FixedWidthInteger>(_: T.Type, _ index: Int) -> T {
        let value = (base + index * MemoryLayout<T>.size).loadUnaligned(as: T.self)
        return bigEndian ? T(bigEndian: value) : T(littleEndian: value)
      }
      switch self {
      case .float16: return (0..<count).map { Self.scalar(Self.float(float16Bits: bits(UInt16.self, $0))) }
      case .bfloat16:
        return (0..<count).map { Self.scalar(Float(bitPattern: UInt32(bits(UInt16.self, $0)) << 16)) }
      case .float32: return (0..<count).map { Self.scalar(Float(bitPattern: bits(UInt32.self, $0))) }
      case .float64: return (0..<count).map { Self.scalar(Double(bitPattern: bits(UInt64.self, $0))) }
      }
    }
  }

  /// Appends the little-endian bit patterns of `tensor`'s scalars, in `Scalar`'s own format.
  package static func appendLittleEndian<Scalar: TensorScalar>(
    _ tensor: Tensor<Scalar>, to bytes: inout [UInt8]
  ) {
    tensor.withUnsafeBufferPointer { scalars in
      if Scalar.self == Float.self {
        for scalar in scalars { appendInteger(unsafeBitCast(scalar, to: Float.self).bitPattern, to: &bytes) }
      } else {
        for scalar in scalars { appendInteger(unsafeBitCast(scalar, to: Double.self).bitPattern, to: &bytes) }
      }
    }
  }

  /// `value` as `Scalar`: the same bits when the widths match, else converted.
  package static func scalar<Source: BinaryFloatingPoint, Scalar: TensorScalar>(_ value: Source) -> Scalar {
    if Source.self == Scalar.self { return unsafeBitCast(value, to: Scalar.self) }
    if value.isNaN { return value.sign == .minus ? -Scalar.nan : .nan }
    return Scalar(value)
  }

  /// The `Float` with an IEEE 754 binary16 value's bits: exact for every value, including
  /// subnormals, infinities and NaN payloads.
  package static func float(float16Bits bits: UInt16) -> Float {
    let sign = UInt32(bits >> 15) << 31
    let exponent = UInt32(bits >> 10) & 0x1F
    let fraction = UInt32(bits) & 0x3FF
    switch exponent {
    case 0:
      let magnitude = Float(fraction) * 0x1p-24
      return sign == 0 ? magnitude : -magnitude
    case 0x1F: return Float(bitPattern: sign | 0x7F80_0000 | fraction << 13)
    default: return Float(bitPattern: sign | (exponent + 112) << 23 | fraction << 13)
    }
  }
}

/// Appends `value`'s bytes, least significant first.
package func appendInteger<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
  var little = value.littleEndian
  withUnsafeBytes(of: &little) { bytes.append(contentsOf: $0) }
}
