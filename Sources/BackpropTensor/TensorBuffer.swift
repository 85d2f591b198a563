/// The heap storage of a tensor of any other count than one: a reference-counted buffer that
/// keeps its count and shape in a header and the scalars right after it, in one allocation.
///
/// Not an `Array`: every new array of `Float` or `Double` looks up the generic type of its
/// storage in the runtime's metadata cache (the standard library allocates it from unspecialised
/// code), about 40 ns, as long as a small kernel. This class's metadata is looked up once per
/// scalar type. Tensors share a buffer when copied; ``Tensor`` copies it before the first
/// mutation of a shared one (``Tensor/withUnsafeMutableBufferPointer(_:)``).
///
/// A buffer is never changed while shared, which is what makes a tensor holding one `Sendable`
/// (`ManagedBuffer` itself is marked as not sendable).
@usableFromInline
final class TensorBuffer<Scalar: TensorScalar>: ManagedBuffer<TensorBufferHeader, Scalar> {
  /// A buffer of `count` scalars, every one of which `initialize` must set.
  @inlinable @inline(__always)
  static func make(count: Int, _ initialize: (UnsafeMutableBufferPointer<Scalar>) -> Void) -> TensorBuffer {
    let buffer = unsafeDowncast(
      create(minimumCapacity: count) { _ in TensorBufferHeader(count: count) }, to: TensorBuffer.self)
    buffer.withUnsafeMutablePointerToElements {
      initialize(UnsafeMutableBufferPointer(start: $0, count: count))
    }
    if count >= MallocThresholds.largeTensorScalarCount { MallocThresholds.noteLargeTensor() }
    return buffer
  }

  /// A buffer holding a copy of `scalars`.
  @usableFromInline
  static func make(copying scalars: UnsafeBufferPointer<Scalar>) -> TensorBuffer {
    make(count: scalars.count) { out in
      if let source = scalars.baseAddress { out.baseAddress?.initialize(from: source, count: scalars.count) }
    }
  }

  /// The number of scalars.
  ///
  /// Read through a pointer: `header` is a class's stored property, whose every access from
  /// outside the standard library is checked for exclusivity at run time.
  @inlinable var count: Int { withUnsafeMutablePointerToHeader { $0.pointee.count } }

  /// The shape of the tensor that owns the buffer. Set only while no other tensor shares it.
  @inlinable var shape: [Int] {
    get { withUnsafeMutablePointerToHeader { $0.pointee.shape } }
    set { withUnsafeMutablePointerToHeader { $0.pointee.shape = newValue } }
  }

  /// Calls `body` with a pointer to the scalars.
  @inlinable
  func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
    try withUnsafeMutablePointers { header, elements in
      try body(UnsafeBufferPointer(start: elements, count: header.pointee.count))
    }
  }

  /// Calls `body` with a pointer to change the scalars; only for a buffer nothing else shares.
  @inlinable
  func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Scalar>) throws -> R) rethrows
    -> R
  {
    try withUnsafeMutablePointers { header, elements in
      try body(UnsafeMutableBufferPointer(start: elements, count: header.pointee.count))
    }
  }

  /// The scalars, as a new array.
  @usableFromInline var array: [Scalar] { withUnsafeBufferPointer { Array($0) } }
}

/// The header of a ``TensorBuffer``: the count and the shape of the tensor that owns the buffer,
/// 16 bytes, so that the scalars start 32 bytes into the allocation, 16-byte aligned, as an
/// `Array`'s do.
///
/// With the count alone they would start at byte 24, and every other 32-byte vector load or
/// store of a matrix product would straddle two cache lines.
@usableFromInline
struct TensorBufferHeader {
  @usableFromInline var count: Int
  /// The shape of the tensor that made the buffer (see ``Tensor/Contents``); `[]` until it is
  /// set.
  @usableFromInline var shape: [Int] = []

  @inlinable init(count: Int) { self.count = count }
}
