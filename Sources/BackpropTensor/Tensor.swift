/// An n-dimensional array of `Float` or `Double` scalars in row-major order.
///
/// `Tensor` is a value type with copy-on-write storage. A tensor of one scalar (rank 0, or a
/// shape such as `[1, 1]`) keeps that scalar inline, so scalar graphs never touch the heap for
/// their values. Any other tensor keeps its scalars in a Swift `Array`: copying such a tensor is
/// O(1) and shares the buffer; the first mutation of a copy whose buffer is shared (a "hidden
/// copy", for example one captured by a recorded operation) copies the buffer first, so no other
/// tensor ever observes the change. `Tensor` is `Sendable`.
///
/// ```swift
/// let t = try Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
/// let s = Tensor<Double>(2.5)                    // rank 0
/// let m: Tensor<Double> = [[1, 2], [3, 4]]       // array literal
/// ```
///
/// Shape mistakes inside an expression (operands that do not broadcast, a matrix product of
/// incompatible shapes) are programmer errors and stop with a precondition naming the operation
/// and both shapes. Data from outside (scalar arrays, nested literals) is validated by throwing
/// initialisers that report a ``TensorError``.
public struct Tensor<Scalar: TensorScalar>: Sendable {
  /// The extent of each dimension; `[]` for a scalar.
  public let shape: [Int]

  /// The scalars of a tensor that does not hold exactly one; `nil` when it does, and the one
  /// scalar is ``single``. Invariant: `storage == nil` exactly when `shape.reduce(1, *) == 1`.
  @usableFromInline var storage: [Scalar]?

  /// The only scalar when ``storage`` is `nil`, widened to `Double` (exactly, for `Float`);
  /// unused (zero) otherwise.
  ///
  /// A `Double` rather than a `Scalar`, so that the layout of `Tensor` does not depend on
  /// `Scalar`. Generic code that cannot be specialised (the deinitialiser of the generic class
  /// `Variable`) then destroys a tensor without looking up `Tensor<Scalar>`'s metadata; with a
  /// `Scalar` field that look-up cost a tenth of a scalar graph.
  @usableFromInline var inlineScalar: Double

  /// The only scalar when ``storage`` is `nil`.
  @inlinable var single: Scalar {
    get { Scalar(inlineScalar) }
    set { inlineScalar = Double(newValue) }
  }

  /// Creates a tensor without validation; callers guarantee the count matches the shape.
  @usableFromInline
  init(uncheckedShape shape: [Int], scalars: [Scalar]) {
    self.shape = shape
    if scalars.count == 1 {
      storage = nil
      inlineScalar = Double(scalars[0])
    } else {
      storage = scalars
      inlineScalar = 0
      if scalars.count >= MemoryPolicy.largeTensorScalarCount { MemoryPolicy.noteLargeTensor() }
    }
  }

  /// Creates a one-scalar tensor of the given shape (whose extents multiply to 1).
  @inlinable
  init(uncheckedShape shape: [Int], single: Scalar) {
    self.shape = shape
    self.storage = nil
    self.inlineScalar = Double(single)
  }

  /// Creates a tensor of `count` scalars (the product of `shape`), every one of which
  /// `initialize` must set.
  ///
  /// One scalar is written straight into the tensor. `Array(unsafeUninitializedCapacity:)` calls
  /// an unspecialised allocator in the standard library that looks up the array's type metadata
  /// in a global table on every call, about 30 ns: as long as computing a small tensor. Keeping
  /// one-scalar tensors inline takes that, the allocation and the reference counting off every
  /// operation of a scalar graph.
  @inlinable
  init(
    uncheckedShape shape: [Int], count: Int,
    initializingWith initialize: (UnsafeMutableBufferPointer<Scalar>) -> Void
  ) {
    if count == 1 {
      var one: Scalar = 0
      withUnsafeMutablePointer(to: &one) { initialize(UnsafeMutableBufferPointer(start: $0, count: 1)) }
      self.init(uncheckedShape: shape, single: one)
    } else {
      let scalars = [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
        initialize(buffer)
        initialized = count
      }
      self.init(uncheckedShape: shape, scalars: scalars)
    }
  }

  /// A new array of `count` scalars, every one of which `initialize` must set.
  ///
  /// Kernels make their results with this and ``init(uncheckedShape:scalars:)`` once they have
  /// handled a one-scalar tensor themselves: `initialize` is called from one place only, so the
  /// optimiser inlines the kernel's loop (and the scalar operation in it) into the caller. With
  /// the two call sites of ``init(uncheckedShape:count:initializingWith:)`` it kept the loop
  /// out of line and called the operation through a closure for every element.
  @inlinable
  static func makeScalars(count: Int, _ initialize: (UnsafeMutableBufferPointer<Scalar>) -> Void) -> [Scalar]
  {
    [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
      initialize(buffer)
      initialized = count
    }
  }

  /// The same scalars under another shape of the same count (no copy).
  @inlinable
  init(uncheckedShape shape: [Int], sharingScalarsOf other: Tensor) {
    self.shape = shape
    self.storage = other.storage
    self.inlineScalar = other.inlineScalar
  }

  /// Creates a tensor of the given shape from row-major scalars.
  ///
  /// - Parameters:
  ///   - shape: The extent of each dimension. Every extent must be non-negative.
  ///   - scalars: `shape.reduce(1, *)` scalars in row-major order.
  /// - Throws: ``TensorError/negativeDimension(shape:)`` or
  ///   ``TensorError/scalarCountMismatch(shape:expected:actual:)``.
  public init(shape: [Int], scalars: [Scalar]) throws(TensorError) {
    guard shape.allSatisfy({ $0 >= 0 }) else { throw .negativeDimension(shape: shape) }
    let expected = try Self.checkedCount(of: shape)
    guard expected == scalars.count else {
      throw .scalarCountMismatch(shape: shape, expected: expected, actual: scalars.count)
    }
    self.init(uncheckedShape: shape, scalars: scalars)
  }

  /// Creates a rank-0 tensor holding one scalar.
  @inlinable
  public init(_ scalar: Scalar) {
    self.init(uncheckedShape: [], single: scalar)
  }

  /// Creates a rank-1 tensor from an array of scalars.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public init(_ scalars: [Scalar]) {
    self.init(uncheckedShape: [scalars.count], scalars: scalars)
  }

  /// Creates a tensor of the given shape with every scalar equal to `value`.
  ///
  /// - Precondition: every extent of `shape` is non-negative.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public init(repeating value: Scalar, shape: [Int]) {
    precondition(shape.allSatisfy { $0 >= 0 }, "Tensor(repeating:shape:): negative extent in \(shape)")
    self.init(uncheckedShape: shape, count: shape.reduce(1, *)) { $0.initialize(repeating: value) }
  }

  /// Creates a tensor of zeros.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public init(zeros shape: [Int]) { self.init(repeating: 0, shape: shape) }

  /// Creates a tensor of ones.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public init(ones shape: [Int]) { self.init(repeating: 1, shape: shape) }

  /// The number of dimensions.
  @inlinable public var rank: Int { shape.count }

  /// The total number of scalars.
  @inlinable public var scalarCount: Int { storage?.count ?? 1 }

  /// The scalars in row-major order; `scalars.count == shape.reduce(1, *)`.
  ///
  /// Reading is O(1) for a tensor of any other count than one; a one-scalar tensor returns a new
  /// one-element array. Scalars may be changed in place (`t.scalars[i] = x` does not copy the
  /// buffer unless it is shared); the count must stay equal to the product of the shape.
  /// ``withUnsafeBufferPointer(_:)`` and ``withUnsafeMutableBufferPointer(_:)`` reach the
  /// scalars of any tensor without allocating.
  public var scalars: [Scalar] {
    get { storage ?? [single] }
    set { replaceScalars(with: newValue) }
    _modify {
      var scalars = storage ?? [single]
      storage = nil  // so that `scalars` holds the only reference and is mutated in place
      defer { replaceScalars(with: scalars) }
      yield &scalars
    }
  }

  /// Stores `scalars`, inline when there is one.
  ///
  /// - Precondition: `scalars.count == shape.reduce(1, *)`.
  mutating func replaceScalars(with scalars: [Scalar]) {
    precondition(
      scalars.count == shape.reduce(1, *),
      "Tensor.scalars: \(scalars.count) scalars assigned to a tensor of shape \(shape)")
    if scalars.count == 1 {
      storage = nil
      single = scalars[0]
    } else {
      storage = scalars
    }
  }

  /// Calls `body` with a pointer to the scalars in row-major order; never allocates.
  ///
  /// - Parameter body: Reads the scalars. The pointer is valid only during the call.
  /// - Returns: What `body` returns.
  @inlinable
  public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
    if let storage { return try storage.withUnsafeBufferPointer(body) }
    return try withUnsafePointer(to: single) { try body(UnsafeBufferPointer(start: $0, count: 1)) }
  }

  /// Calls `body` with a pointer to the scalars, to change them in place; copies the buffer
  /// first if another tensor shares it.
  ///
  /// - Parameter body: Reads and writes the scalars. The pointer is valid only during the call.
  /// - Returns: What `body` returns.
  @inlinable
  public mutating func withUnsafeMutableBufferPointer<R>(
    _ body: (UnsafeMutableBufferPointer<Scalar>) throws -> R
  ) rethrows -> R {
    if storage != nil { return try storage!.withUnsafeMutableBufferPointer { try body($0) } }
    return try withUnsafeMutablePointer(to: &single) {
      try body(UnsafeMutableBufferPointer(start: $0, count: 1))
    }
  }

  /// The only scalar of a one-element tensor.
  ///
  /// - Precondition: the tensor holds exactly one scalar.
  public var scalar: Scalar {
    precondition(
      storage == nil, "Tensor.scalar: tensor of shape \(shape) holds \(scalarCount) scalars, not 1")
    return single
  }

  /// The scalar at a multi-dimensional index.
  ///
  /// - Precondition: `index` has one component per dimension, each within its extent.
  public subscript(index: Int...) -> Scalar {
    get {
      let offset = offset(of: index)
      return withUnsafeBufferPointer { $0[offset] }
    }
    set {
      let offset = offset(of: index)
      withUnsafeMutableBufferPointer { $0[offset] = newValue }
    }
  }

  func offset(of index: [Int]) -> Int {
    precondition(index.count == shape.count, "Tensor subscript: index \(index) for shape \(shape)")
    var offset = 0
    for (i, extent) in Swift.zip(index, shape) {
      precondition(i >= 0 && i < extent, "Tensor subscript: index \(index) out of range for shape \(shape)")
      offset = offset * extent + i
    }
    return offset
  }

  /// The product of the extents, or a thrown error when it overflows `Int`.
  static func checkedCount(of shape: [Int]) throws(TensorError) -> Int {
    var count = 1
    for extent in shape {
      let (product, overflow) = count.multipliedReportingOverflow(by: extent)
      guard !overflow else { throw .shapeTooLarge(shape: shape) }
      count = product
    }
    return count
  }
}

/// Errors for data that enters from outside: scalar arrays, nested literals, files.
public enum TensorError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The number of scalars does not match the product of the shape.
  case scalarCountMismatch(shape: [Int], expected: Int, actual: Int)
  /// A dimension is negative.
  case negativeDimension(shape: [Int])
  /// The product of the shape does not fit in `Int`.
  case shapeTooLarge(shape: [Int])
  /// Nested arrays whose rows have different lengths.
  case raggedRows(expected: Int, actual: Int)

  /// A sentence describing the problem.
  public var description: String {
    switch self {
    case .scalarCountMismatch(let shape, let expected, let actual):
      "shape \(shape) needs \(expected) scalars, got \(actual)"
    case .negativeDimension(let shape): "shape \(shape) has a negative extent"
    case .shapeTooLarge(let shape): "shape \(shape) has more elements than Int can count"
    case .raggedRows(let expected, let actual):
      "ragged nested array: a row of \(actual) where \(expected) expected"
    }
  }
}

extension Tensor: Equatable {
  /// Two tensors are equal when their shapes and scalars are equal.
  public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
    guard lhs.shape == rhs.shape else { return false }
    if let left = lhs.storage, let right = rhs.storage { return left == right }
    return lhs.storage == nil && rhs.storage == nil && lhs.single == rhs.single
  }
}
