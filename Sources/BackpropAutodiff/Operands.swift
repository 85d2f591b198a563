import BackpropTensor

/// The inputs handed to ``Variable/record(_:_:value:)``, or the gradients a pullback returns for
/// them: a plain value.
///
/// Nearly every operation has one or two operands, so those are stored inline and an
/// `Operands` of one or two elements never touches the heap; only more operands use an array.
/// Pullbacks make their result with `Operands(g * inputs[1], nil)`: an array literal works too,
/// but builds an array first and copies out of it, a heap allocation on every operation.
public struct Operands<Element>: RandomAccessCollection, ExpressibleByArrayLiteral {
  fileprivate enum Storage {
    case none
    case one(Element)
    case two(Element, Element)
    case many([Element])
  }

  fileprivate var storage: Storage

  /// No operands: a leaf's inputs.
  public init() { storage = .none }

  /// The operands in order.
  @inline(__always)
  public init(_ elements: [Element]) {
    switch elements.count {
    case 0: storage = .none
    case 1: storage = .one(elements[0])
    case 2: storage = .two(elements[0], elements[1])
    default: storage = .many(elements)
    }
  }

  /// The operands in order.
  @inline(__always)
  public init(arrayLiteral elements: Element...) { self.init(elements) }

  /// One operand.
  @inline(__always)
  public init(_ first: Element) { storage = .one(first) }

  /// Two operands.
  @inline(__always)
  public init(_ first: Element, _ second: Element) { storage = .two(first, second) }

  /// 0.
  public var startIndex: Int { 0 }

  /// The number of operands.
  public var endIndex: Int {
    switch storage {
    case .none: 0
    case .one: 1
    case .two: 2
    case .many(let elements): elements.count
    }
  }

  /// The operand at `position`.
  @inline(__always)
  public subscript(position: Int) -> Element {
    switch storage {
    case .none: preconditionFailure("Operands: index \(position) out of range for no operands")
    case .one(let first):
      precondition(position == 0, "Operands: index \(position) out of range for 1 operand")
      return first
    case .two(let first, let second):
      precondition(position == 0 || position == 1, "Operands: index \(position) out of range for 2 operands")
      return position == 0 ? first : second
    case .many(let elements): return elements[position]
    }
  }
}

extension Operands {
  /// Calls `body` with each position and element, reading the list's case once and consuming
  /// the list: each element moves to `body`, without the copy (for a tensor, a retain and later a
  /// release of its buffer) that reading it leaves behind.
  ///
  /// - Precondition: the list has `expectedCount` elements.
  @inline(__always)
  consuming func forEachConsumed(expectedCount: Int, _ body: (Int, consuming Element) -> Void) {
    let taken = (consume self).storage
    switch consume taken {
    case .none:
      check(expectedCount == 0, "a pullback returned no gradients for \(expectedCount) inputs")
    case .one(let first):
      check(expectedCount == 1, "a pullback returned 1 gradient for \(expectedCount) inputs")
      body(0, first)
    case .two(let first, let second):
      check(expectedCount == 2, "a pullback returned 2 gradients for \(expectedCount) inputs")
      body(0, first)
      body(1, second)
    case .many(let elements):
      check(
        elements.count == expectedCount,
        "a pullback returned \(elements.count) gradients for \(expectedCount) inputs")
      for (position, element) in elements.enumerated() { body(position, element) }
    }
  }
}
