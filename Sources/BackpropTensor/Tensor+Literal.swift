/// One element of a nested array literal: a scalar or a nested array of them.
///
/// Lets `let m: Tensor<Double> = [[1, 2], [3, 4]]` compile. A ragged literal is a programmer
/// error in source code and stops with a precondition; use ``Tensor/init(rows:)`` for nested
/// arrays that come from outside.
public struct TensorLiteral<Scalar: TensorScalar>: ExpressibleByArrayLiteral, ExpressibleByFloatLiteral,
  ExpressibleByIntegerLiteral
{
  let shape: [Int]
  let scalars: [Scalar]

  /// A scalar element.
  public init(floatLiteral value: Double) {
    shape = []
    scalars = [Scalar(value)]
  }

  /// A scalar element.
  public init(integerLiteral value: Int) {
    shape = []
    scalars = [Scalar(value)]
  }

  /// A nested array element; every child must have the same shape.
  public init(arrayLiteral elements: TensorLiteral...) {
    self.init(elements: elements)
  }
}

extension Tensor: ExpressibleByArrayLiteral {
  /// Creates a tensor from a (possibly nested) array literal, e.g. `[[1, 2], [3, 4]]`.
  public init(arrayLiteral elements: TensorLiteral<Scalar>...) {
    let literal = TensorLiteral(elements: elements)
    self.init(uncheckedShape: literal.shape, scalars: literal.scalars)
  }

  /// Creates a tensor from a nested array literal: `Tensor<Double>([[1, 2], [3, 4]])`.
  public init(_ literal: TensorLiteral<Scalar>) {
    self.init(uncheckedShape: literal.shape, scalars: literal.scalars)
  }

  /// Creates a rank-2 tensor from rows that come from outside, validating that they are not ragged.
  ///
  /// - Throws: ``TensorError/raggedRows(expected:actual:)`` when rows differ in length.
  public init(rows: [[Scalar]]) throws(TensorError) {
    let columns = rows.first?.count ?? 0
    for row in rows where row.count != columns {
      throw .raggedRows(expected: columns, actual: row.count)
    }
    self.init(uncheckedShape: [rows.count, columns], scalars: rows.flatMap { $0 })
  }
}

extension TensorLiteral {
  fileprivate init(elements: [TensorLiteral]) {
    let inner = elements.first?.shape ?? []
    for element in elements {
      check(
        element.shape == inner, "Tensor literal: ragged nesting, rows of shape \(inner) and \(element.shape)")
    }
    shape = [elements.count] + inner
    scalars = elements.flatMap(\.scalars)
  }
}

extension Tensor: CustomStringConvertible {
  /// The scalars nested by dimension, e.g. `[[1.0, 2.0], [3.0, 4.0]]`; a scalar prints bare.
  public var description: String {
    let scalars = self.scalars  // one copy, not one per element
    if shape.isEmpty { return scalars.first.map { "\($0)" } ?? "[]" }
    func render(_ dim: Int, _ offset: Int) -> String {
      let extent = shape[dim]
      if dim == shape.count - 1 {
        return "[" + (0..<extent).map { "\(scalars[offset + $0])" }.joined(separator: ", ") + "]"
      }
      let stride = shape[(dim + 1)...].reduce(1, *)
      return "[" + (0..<extent).map { render(dim + 1, offset + $0 * stride) }.joined(separator: ", ") + "]"
    }
    return render(0, 0)
  }
}
