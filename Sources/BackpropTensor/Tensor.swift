/// An n-dimensional array of `Float` or `Double` scalars in row-major order.
///
/// `Tensor` is a value type with copy-on-write storage. A tensor of one scalar (rank 0, or a
/// shape such as `[1, 1]`) keeps that scalar inline, so scalar graphs never touch the heap for
/// their values. Any other tensor keeps its scalars in a reference-counted heap buffer of its
/// own: copying such a tensor is O(1) and shares the buffer; the first mutation of a copy whose
/// buffer is shared (a "hidden copy", for example one captured by a recorded operation) copies
/// the buffer first, so no other tensor ever observes the change. `Tensor` is `Sendable`.
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
  /// The representations: one scalar inline, or a buffer of scalars that keeps the shape in its
  /// header, or another tensor's buffer under a shape of its own (a reshape).
  ///
  /// An enum, so that copying or destroying a one-scalar tensor reference-counts nothing: the
  /// copy tests the case and retains only the references of the others (a struct of a shape
  /// array and an optional scalar array would make two calls into the runtime for every copy of
  /// a scalar). With the shape in the buffer, copying or destroying any other tensor is one
  /// call, not two.
  ///
  /// `@unchecked Sendable` because of the buffer: ``TensorBuffer`` is a `ManagedBuffer`, which is
  /// marked as not sendable, but a buffer is only ever changed while no other tensor shares it.
  @usableFromInline enum Contents: @unchecked Sendable {
    /// Exactly one scalar, widened to `Double` (exactly, for `Float`); the shape is `rank` ones.
    ///
    /// A `Double` rather than a `Scalar`, so that the layout of `Tensor` does not depend on
    /// `Scalar`. Generic code that cannot be specialised (the deinitialiser of the generic class
    /// `Variable`) then destroys a tensor without looking up `Tensor<Scalar>`'s metadata, a look-up
    /// that a `Scalar` field would need on every node that dies.
    case single(rank: Int, scalar: Double)
    /// Any other number of scalars (zero, or two and more), in row-major order; the shape is the
    /// buffer's (``TensorBuffer/shape``).
    case many(TensorBuffer<Scalar>)
    /// The scalars of another tensor's buffer, which this shares, under another shape of the same
    /// count: what ``Tensor/reshaped(to:)`` returns, in O(1).
    case reshaped(shape: [Int], buffer: TensorBuffer<Scalar>)
  }

  /// The scalars and the shape. Invariants: ``Contents/single(rank:scalar:)`` exactly when
  /// `shape.reduce(1, *) == 1`; a buffer's header shape changes only while no other tensor
  /// shares the buffer.
  @usableFromInline var contents: Contents

  /// The extent of each dimension; `[]` for a scalar.
  @inlinable public var shape: [Int] {
    switch contents {
    case .single(let rank, _):
      // A rank-0 scalar first: `[]` is the immortal empty array, with no global to look up.
      rank == 0 ? [] : rank < unitShapes.count ? unitShapes[rank] : Array(repeating: 1, count: rank)
    case .many(let buffer): buffer.shape
    case .reshaped(let shape, _): shape
    }
  }

  /// The buffer of a tensor that does not hold exactly one scalar; `nil` when it does (see
  /// ``single``).
  @inlinable var buffer: TensorBuffer<Scalar>? {
    switch contents {
    case .single: nil
    case .many(let buffer), .reshaped(_, let buffer): buffer
    }
  }

  /// `true` when the tensor holds exactly one scalar, inline (``single``).
  @inlinable var isSingle: Bool {
    if case .single = contents { return true }
    return false
  }

  /// `true` when the shape is `shape`; compares without making this tensor's shape array.
  @inlinable package func hasShape(_ shape: [Int]) -> Bool {
    switch contents {
    case .single(let rank, _): shape.count == rank && shape.allSatisfy { $0 == 1 }
    case .many(let buffer): buffer.shape == shape
    case .reshaped(let own, _): own == shape
    }
  }

  /// `true` when `other` has the same shape; compares without making the shapes' arrays.
  ///
  /// ``shape`` is computed (a one-scalar tensor stores only its rank), so reading it copies an
  /// array reference; hot paths compare shapes with this instead.
  ///
  /// The one-scalar case is inline, the rest out of line, so that the whole stays small enough for
  /// the optimiser to inline into every operation of a scalar graph.
  @inlinable public func hasSameShape(as other: Tensor) -> Bool {
    if case .single(let rank, _) = contents {
      if case .single(let otherRank, _) = other.contents { return rank == otherRank }
      return false
    }
    return !other.isSingle && hasSameShapeInBuffer(as: other)
  }

  /// ``hasSameShape(as:)`` for two tensors that both keep their scalars in a buffer.
  @usableFromInline
  func hasSameShapeInBuffer(as other: Tensor) -> Bool {
    if case .many(let buffer) = contents, case .many(let otherBuffer) = other.contents {
      return buffer === otherBuffer || buffer.shape == otherBuffer.shape
    }
    return shape == other.shape
  }

  /// The only scalar of a one-scalar tensor; zero for any other.
  @inlinable var single: Scalar {
    get {
      if case .single(_, let scalar) = contents { return Scalar(scalar) }
      return 0
    }
    set {
      if case .single(let rank, _) = contents { contents = .single(rank: rank, scalar: Double(newValue)) }
    }
  }

  /// Creates a tensor without validation; callers guarantee the count matches the shape.
  @usableFromInline
  init(uncheckedShape shape: [Int], scalars: [Scalar]) {
    if scalars.count == 1 {
      self.init(rank: shape.count, single: scalars[0])
    } else {
      self.init(uncheckedShape: shape, buffer: scalars.withUnsafeBufferPointer(TensorBuffer.make(copying:)))
    }
  }

  /// Creates a tensor of `buffer`'s scalars without validation; callers guarantee the count
  /// matches the shape, and that no other tensor holds `buffer` (it takes `shape` as its own).
  @inlinable
  init(uncheckedShape shape: [Int], buffer: TensorBuffer<Scalar>) {
    if buffer.count == 1 {
      contents = .single(rank: shape.count, scalar: Double(buffer.withUnsafeBufferPointer { $0[0] }))
    } else {
      buffer.shape = shape
      contents = .many(buffer)
    }
  }

  /// Creates a one-scalar tensor of the given shape (whose extents multiply to 1).
  @inlinable
  init(uncheckedShape shape: [Int], single: Scalar) {
    self.init(rank: shape.count, single: single)
  }

  /// Creates a one-scalar tensor of the given rank (its shape is `rank` ones).
  @inlinable
  init(rank: Int, single: Scalar) {
    contents = .single(rank: rank, scalar: Double(single))
  }

  /// Creates a tensor of `count` scalars (the product of `shape`), every one of which
  /// `initialize` must set.
  ///
  /// One scalar is written straight into the tensor: keeping one-scalar tensors inline takes the
  /// allocation and the reference counting off every operation of a scalar graph.
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
      self.init(uncheckedShape: shape, buffer: TensorBuffer.make(count: count, initialize))
    }
  }

  /// A new buffer of `count` scalars, every one of which `initialize` must set.
  ///
  /// Kernels make their results with this and ``init(uncheckedShape:buffer:)`` once they have
  /// handled a one-scalar tensor themselves: `initialize` is called from one place only, so the
  /// optimiser inlines the kernel's loop (and the scalar operation in it) into the caller. With
  /// the two call sites of ``init(uncheckedShape:count:initializingWith:)`` it kept the loop
  /// out of line and called the operation through a closure for every element. The heuristic
  /// is fragile (a new caller elsewhere in the module once moved the product's loop out of line),
  /// so this and `TensorBuffer.make(count:_:)` are always inlined.
  @inlinable @inline(__always)
  static func makeBuffer(
    count: Int, _ initialize: (UnsafeMutableBufferPointer<Scalar>) -> Void
  ) -> TensorBuffer<Scalar> {
    TensorBuffer.make(count: count, initialize)
  }

  /// The same scalars under another shape of the same count (no copy).
  @inlinable
  init(uncheckedShape shape: [Int], sharingScalarsOf other: Tensor) {
    switch other.contents {
    case .single(_, let scalar): contents = .single(rank: shape.count, scalar: scalar)
    case .many(let buffer), .reshaped(_, let buffer):
      contents = buffer.shape == shape ? .many(buffer) : .reshaped(shape: shape, buffer: buffer)
    }
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
    check(shape.allSatisfy { $0 >= 0 }, "Tensor(repeating:shape:): negative extent in \(shape)")
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

  /// `count` evenly spaced scalars from `start` to `end`, both included (NumPy's and PyTorch's
  /// `linspace`): `Tensor(linearSpaceFrom: 0, to: 1, count: 5)` is `[0, 0.25, 0.5, 0.75, 1]`.
  ///
  /// - Precondition: `count ≥ 0`. One scalar is `start`.
  public init(linearSpaceFrom start: Scalar, to end: Scalar, count: Int) {
    check(count >= 0, "Tensor(linearSpaceFrom:to:count:): count must be at least 0, got \(count)")
    let step = count > 1 ? (end - start) / Scalar(count - 1) : 0
    // The last scalar is `end` exactly, as NumPy's is.
    self.init((0..<count).map { $0 == count - 1 && count > 1 ? end : start + Scalar($0) * step })
  }

  /// The scalars from `start` up to, but not including, `end`, `stride` apart (NumPy's `arange`,
  /// PyTorch's `arange`): `Tensor(rangeFrom: 0, to: 1, stride: 0.25)` is `[0, 0.25, 0.5, 0.75]`.
  ///
  /// Counts ⌈(end − start) / stride⌉ scalars, each start + i·stride.
  /// - Precondition: `stride` is finite and not 0.
  public init(rangeFrom start: Scalar, to end: Scalar, stride: Scalar = 1) {
    check(
      stride != 0 && stride.isFinite && start.isFinite && end.isFinite,
      "Tensor(rangeFrom:to:stride:): start \(start), end \(end) and stride \(stride) must be finite, the stride not 0"
    )
    let count = Swift.max(0, Int(((end - start) / stride).rounded(.up)))
    self.init((0..<count).map { start + Scalar($0) * stride })
  }

  /// The number of dimensions.
  @inlinable public var rank: Int {
    switch contents {
    case .single(let rank, _): rank
    case .many(let buffer): buffer.shape.count
    case .reshaped(let shape, _): shape.count
    }
  }

  /// The total number of scalars.
  @inlinable public var scalarCount: Int {
    switch contents {
    case .single: 1
    case .many(let buffer), .reshaped(_, let buffer): buffer.count
    }
  }

  /// The scalars in row-major order, as a new array; `scalars.count == shape.reduce(1, *)`.
  ///
  /// Reading copies the scalars out (O(n)); assigning, or changing them through this property
  /// (`t.scalars[i] = x`), copies them back in. The count must stay equal to the product of the
  /// shape. To read or change scalars in place, without a copy, use
  /// ``withUnsafeBufferPointer(_:)``, ``withUnsafeMutableBufferPointer(_:)`` or
  /// `t[scalarAt: i]`.
  public var scalars: [Scalar] {
    get { buffer?.array ?? [single] }
    set { replaceScalars(with: newValue) }
  }

  /// Stores `scalars` under this tensor's shape, inline when there is one.
  ///
  /// - Precondition: `scalars.count == shape.reduce(1, *)`.
  mutating func replaceScalars(with scalars: [Scalar]) {
    let shape = self.shape
    check(
      scalars.count == shape.reduce(1, *),
      "Tensor.scalars: \(scalars.count) scalars assigned to a tensor of shape \(shape)")
    self = Tensor(uncheckedShape: shape, scalars: scalars)
  }

  /// The scalar at `index` in row-major order (`0..<scalarCount`), read or changed in place.
  ///
  /// Changing a scalar copies the buffer first only if another tensor shares it.
  /// - Precondition: `0 <= index < scalarCount`.
  public subscript(scalarAt index: Int) -> Scalar {
    get {
      check(
        index >= 0 && index < scalarCount,
        "Tensor[scalarAt:]: index \(index) out of range for \(scalarCount) scalars")
      return withUnsafeBufferPointer { $0[index] }
    }
    set {
      check(
        index >= 0 && index < scalarCount,
        "Tensor[scalarAt:]: index \(index) out of range for \(scalarCount) scalars")
      withUnsafeMutableBufferPointer { $0[index] = newValue }
    }
  }

  /// Calls `body` with a pointer to the scalars in row-major order; never allocates.
  ///
  /// - Parameter body: Reads the scalars. The pointer is valid only during the call.
  /// - Returns: What `body` returns.
  @inlinable
  public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
    if let buffer { return try buffer.withUnsafeBufferPointer(body) }
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
    switch contents {
    case .many(var buffer):
      contents = .single(rank: 0, scalar: 0)  // so that `buffer` holds the only reference
      defer { contents = .many(buffer) }
      if !isKnownUniquelyReferenced(&buffer) {
        let shape = buffer.shape
        buffer = buffer.withUnsafeBufferPointer(TensorBuffer.make(copying:))
        buffer.shape = shape
      }
      return try buffer.withUnsafeMutableBufferPointer(body)
    case .reshaped(let shape, var buffer):
      contents = .single(rank: 0, scalar: 0)  // so that `buffer` holds the only reference
      if !isKnownUniquelyReferenced(&buffer) {
        buffer = buffer.withUnsafeBufferPointer(TensorBuffer.make(copying:))
      }
      // The buffer is this tensor's alone now, so it can take the shape.
      buffer.shape = shape
      defer { contents = .many(buffer) }
      return try buffer.withUnsafeMutableBufferPointer(body)
    case .single(let rank, let scalar):
      var one = Scalar(scalar)
      defer { contents = .single(rank: rank, scalar: Double(one)) }
      return try withUnsafeMutablePointer(to: &one) {
        try body(UnsafeMutableBufferPointer(start: $0, count: 1))
      }
    }
  }

  /// The only scalar of a one-element tensor.
  ///
  /// - Precondition: the tensor holds exactly one scalar.
  public var scalar: Scalar {
    check(
      isSingle, "Tensor.scalar: tensor of shape \(shape) holds \(scalarCount) scalars, not 1")
    return single
  }

  func offset(of index: [Int]) -> Int {
    check(index.count == shape.count, "Tensor[scalarAt:]: index \(index) for shape \(shape)")
    var offset = 0
    for (i, extent) in Swift.zip(index, shape) {
      check(i >= 0 && i < extent, "Tensor[scalarAt:]: index \(index) out of range for shape \(shape)")
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

/// The shapes of one-scalar tensors of rank 0 to 4, so that reading their ``Tensor/shape``
/// does not allocate.
@usableFromInline let unitShapes: [[Int]] = [[], [1], [1, 1], [1, 1, 1], [1, 1, 1, 1]]

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
    if case .single(let leftRank, let left) = lhs.contents {
      guard case .single(let rightRank, let right) = rhs.contents else { return false }
      return leftRank == rightRank && Scalar(left) == Scalar(right)
    }
    guard !rhs.isSingle, lhs.shape == rhs.shape else { return false }
    return lhs.withUnsafeBufferPointer { l in rhs.withUnsafeBufferPointer { r in l.elementsEqual(r) } }
  }
}
