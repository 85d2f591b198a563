/// A growable list of plain values kept in memory lent by its user — a temporary allocation, on
/// the stack for a small graph — that moves to the heap only when it outgrows that memory.
///
/// The backward pass keeps its walk order and depth-first stack here, and the release of a dying
/// graph its pending nodes. As `Array`s they cost three heap allocations (and frees) per training
/// step of a small network.
///
/// Elements are bitwise-copyable (unmanaged references, flags), so nothing is deinitialised.
struct ScratchList<Element: BitwiseCopyable>: ~Copyable {
  private var base: UnsafeMutablePointer<Element>
  private var capacity: Int
  /// `true` once the elements moved to memory this list allocated (and frees in `deinit`).
  private var ownsMemory = false
  /// The number of elements.
  private(set) var count = 0

  /// An empty list that starts in `memory`, which must outlive it.
  ///
  /// - Precondition: `memory` holds at least one element.
  init(lending memory: UnsafeMutableBufferPointer<Element>) {
    guard let start = memory.baseAddress, !memory.isEmpty else {
      preconditionFailure("ScratchList: the lent memory is empty")
    }
    base = start
    capacity = memory.count
  }

  deinit {
    if ownsMemory { base.deallocate() }
  }

  /// Adds `element` at the end, moving to a twice larger heap allocation when full.
  @inline(__always)
  mutating func append(_ element: Element) {
    if count == capacity { grow() }
    (base + count).initialize(to: element)
    count += 1
  }

  /// Removes and returns the last element, or `nil` when the list is empty.
  @inline(__always)
  mutating func popLast() -> Element? {
    guard count > 0 else { return nil }
    count -= 1
    return base[count]
  }

  /// The element at `index`.
  ///
  /// - Precondition: `0 <= index < count`.
  @inline(__always)
  subscript(index: Int) -> Element {
    precondition(index >= 0 && index < count, "ScratchList: index \(index) out of range 0..<\(count)")
    return base[index]
  }

  private mutating func grow() {
    let larger = UnsafeMutablePointer<Element>.allocate(capacity: 2 * capacity)
    larger.initialize(from: base, count: count)
    if ownsMemory { base.deallocate() }
    base = larger
    capacity *= 2
    ownsMemory = true
  }
}
