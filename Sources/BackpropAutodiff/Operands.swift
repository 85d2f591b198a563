import BackpropTensor

/// The inputs of one recorded operation, or the gradients its pullback returns for them.
///
/// Nearly every operation has one or two operands, so those are stored inline and an
/// `Operands` of one or two elements never touches the heap; only more operands (none in the
/// built-in catalogue) use an array. Pullbacks still read like array code, `inputs[1]`, and
/// make their result with `Operands(g * inputs[1], nil)`: an array literal works too, but builds
/// an array first and copies out of it. Arrays for a node's inputs and for the gradients its
/// pullback returns would cost heap allocations on every operation.
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

  /// The operands transformed one by one, without a heap allocation for one or two.
  @inline(__always)
  func map<T>(_ transform: (Element) -> T) -> Operands<T> {
    switch storage {
    case .none: Operands<T>()
    case .one(let first): Operands<T>(transform(first))
    case .two(let first, let second): Operands<T>(transform(first), transform(second))
    case .many(let elements): Operands<T>(elements.map(transform))
    }
  }
}

extension Operands {
  /// Calls `body` with each position, element and the element of `other` at that position,
  /// reading each list's case once and consuming this list: each element moves to `body`,
  /// without the copy (for a tensor, a retain and later a release of its buffer) that reading it
  /// leaves behind.
  ///
  /// Indexing both lists in a loop would switch over each list's case for every element and copy
  /// the elements it returned.
  /// - Precondition: `other` has as many elements.
  @inline(__always)
  consuming func forEachConsumed<Other>(
    pairedWith other: Operands<Other>, _ body: (Int, consuming Element, Other) -> Void
  ) {
    let taken = (consume self).storage
    switch consume taken {
    case .none: break
    case .one(let first):
      guard case .one(let otherFirst) = other.storage else {
        checkFailed("a pullback returned a different number of gradients than its operation has inputs")
      }
      body(0, first, otherFirst)
    case .two(let first, let second):
      guard case .two(let otherFirst, let otherSecond) = other.storage else {
        checkFailed("a pullback returned a different number of gradients than its operation has inputs")
      }
      body(0, first, otherFirst)
      body(1, second, otherSecond)
    case .many(let elements):
      check(
        elements.count == other.count,
        "a pullback returned \(elements.count) gradients for \(other.count) inputs")
      for (position, element) in elements.enumerated() { body(position, element, other[position]) }
    }
  }
}

extension Operands where Element: AnyObject {
  /// Moves the operands to the end of `list` as unmanaged references, each of which owns the
  /// retain this held (balance it with `takeRetainedValue()`), and leaves none here.
  ///
  /// Ownership moves without touching reference counts. Copying each operand out of its case
  /// and then destroying the case, as a plain move does, costs a retain and a release per operand
  /// of every node a dying graph frees.
  @inline(__always)
  mutating func moveAll(retainedInto list: inout ScratchList<Unmanaged<Element>>) {
    // Read as unmanaged references first: a reference bound by a `case` pattern here would be
    // copied (retained) to outlive the overwrite below.
    let (first, second) = unmanagedPair()
    guard let first else {
      guard case .many(let elements) = storage else { return }
      for element in elements { list.append(.passRetained(element)) }
      storage = .none  // releases the array and, through it, its own references
      return
    }
    list.append(first)
    if let second { list.append(second) }
    // The retains now belong to `list`: overwrite the case without releasing its payload.
    withUnsafeMutablePointer(to: &storage) { $0.initialize(to: .none) }
  }

  /// Calls `body` with each operand as an unmanaged reference. The caller keeps the operands
  /// alive.
  ///
  /// The references are read out before the first call of `body`, so that the optimiser can
  /// drop the retain and release of each one: around a call it has to assume that the operands
  /// may change, and keeps them.
  @inline(__always)
  func forEachUnmanaged(reversed: Bool, _ body: (Unmanaged<Element>) -> Void) {
    let (first, second) = unmanagedPair()
    if let first {
      if let second {
        body(reversed ? second : first)
        body(reversed ? first : second)
      } else {
        body(first)
      }
      return
    }
    guard case .many(let elements) = storage else { return }
    for position in elements.indices {
      body(.passUnretained(elements[reversed ? elements.count - 1 - position : position]))
    }
  }

  /// The operands transformed one by one, each handed to `transform` as an unmanaged reference.
  /// The caller keeps the operands alive.
  @inline(__always)
  func mapUnmanaged<T>(_ transform: (Unmanaged<Element>) -> T) -> Operands<T> {
    let (first, second) = unmanagedPair()
    if let first {
      guard let second else { return Operands<T>(transform(first)) }
      return Operands<T>(transform(first), transform(second))
    }
    guard case .many(let elements) = storage else { return Operands<T>() }
    return Operands<T>(elements.map { transform(.passUnretained($0)) })
  }

  /// The first and second operands when there are one or two, else `(nil, nil)`.
  ///
  /// Callers that go on to call other code read these first: a method that calls a closure with
  /// each operand (``forEachUnmanaged(reversed:_:)``) makes its caller copy the operands of a
  /// class's variable property, retaining them, for as long as the closure might change them.
  @inline(__always)
  func unmanagedPair() -> (Unmanaged<Element>?, Unmanaged<Element>?) {
    switch storage {
    case .one(let first): (.passUnretained(first), nil)
    case .two(let first, let second): (.passUnretained(first), .passUnretained(second))
    case .none, .many: (nil, nil)
    }
  }
}
