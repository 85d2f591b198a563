/// An n-dimensional array of `Float` or `Double` scalars in row-major order.
///
/// `Tensor` is a value type. Its scalars live in a Swift `Array`, which is copy-on-write: copying
/// a tensor is O(1) and shares the buffer; the first mutation of a copy whose buffer is shared
/// (a "hidden copy", for example one captured by a recorded operation) copies the buffer first,
/// so no other tensor ever observes the change. `Tensor` is `Sendable`.
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
  /// The scalars in row-major order; `scalars.count == shape.reduce(1, *)`.
  ///
  /// Scalars may be changed in place; the count must stay equal to the product of the shape.
  public var scalars: [Scalar] {
    didSet {
      precondition(
        scalars.count == shape.reduce(1, *),
        "Tensor.scalars: \(scalars.count) scalars assigned to a tensor of shape \(shape)")
    }
  }

  /// Creates a tensor without validation; callers guarantee the count matches the shape.
  @usableFromInline
  init(uncheckedShape shape: [Int], scalars: [Scalar]) {
    self.shape = shape
    self.scalars = scalars
    if scalars.count >= MemoryPolicy.largeTensorScalarCount { MemoryPolicy.noteLargeTensor() }
  }

  /// A new scalar array of `count` elements, every one of which `initialize` must set.
  ///
  /// `Array(unsafeUninitializedCapacity:)` calls an unspecialised allocator in the standard
  /// library that looks up the array's type metadata in a global table on every call: about
  /// 30 ns, as long as computing a small tensor. An array literal allocates with metadata the
  /// compiler caches, so the one-element arrays of scalar graphs are made from a literal.
  @inlinable
  static func makeScalars(count: Int, _ initialize: (UnsafeMutableBufferPointer<Scalar>) -> Void) -> [Scalar]
  {
    if count == 1 {
      var one: [Scalar] = [0]
      one.withUnsafeMutableBufferPointer { initialize($0) }
      return one
    }
    return [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
      initialize(buffer)
      initialized = count
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
  public init(_ scalar: Scalar) {
    self.init(uncheckedShape: [], scalars: [scalar])
  }

  /// Creates a rank-1 tensor from an array of scalars.
  public init(_ scalars: [Scalar]) {
    self.init(uncheckedShape: [scalars.count], scalars: scalars)
  }

  /// Creates a tensor of the given shape with every scalar equal to `value`.
  ///
  /// - Precondition: every extent of `shape` is non-negative.
  public init(repeating value: Scalar, shape: [Int]) {
    precondition(shape.allSatisfy { $0 >= 0 }, "Tensor(repeating:shape:): negative extent in \(shape)")
    self.init(
      uncheckedShape: shape,
      scalars: Self.makeScalars(count: shape.reduce(1, *)) { $0.initialize(repeating: value) })
  }

  /// Creates a tensor of zeros.
  public init(zeros shape: [Int]) { self.init(repeating: 0, shape: shape) }

  /// Creates a tensor of ones.
  public init(ones shape: [Int]) { self.init(repeating: 1, shape: shape) }

  /// The number of dimensions.
  @inlinable public var rank: Int { shape.count }

  /// The total number of scalars.
  @inlinable public var scalarCount: Int { scalars.count }

  /// The only scalar of a one-element tensor.
  ///
  /// - Precondition: the tensor holds exactly one scalar.
  public var scalar: Scalar {
    precondition(
      scalars.count == 1, "Tensor.scalar: tensor of shape \(shape) holds \(scalars.count) scalars, not 1")
    return scalars[0]
  }

  /// The scalar at a multi-dimensional index.
  ///
  /// - Precondition: `index` has one component per dimension, each within its extent.
  public subscript(index: Int...) -> Scalar {
    get { scalars[offset(of: index)] }
    set { scalars[offset(of: index)] = newValue }
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
    lhs.shape == rhs.shape && lhs.scalars == rhs.scalars
  }
}
