import BackpropTensor

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// One recorded value of the tape: what a ``Variable`` shows, and how it was made.
///
/// Nodes live in a ``Graph``, never on their own: recording one appends it to a graph's chunk,
/// and its address stays the same until it is freed. A node refers to its inputs by address and
/// holds no reference counts; ``Graph`` decides when it dies.
@usableFromInline
struct Node<Scalar: TensorScalar> {
  // The fields are ordered so that small ones fill the tails of the tensors (176 bytes, not 200).

  /// See ``Variable/value``.
  @usableFromInline var value: Tensor<Scalar>
  /// `true` for a leaf created with `requiresGrad: true`.
  let isParameter: Bool
  /// `true` when an operation produced the node.
  let hasOperation: Bool
  /// `true` once the node's variable was given a tangent (see ``Variable/tangent``): operations
  /// reading the node then push tangents forward.
  var carriesTangent = false
  /// How many times ``value`` changed (see ``Variable/value``).
  @usableFromInline var version: UInt32 = 0
  /// See ``Variable/grad``.
  @usableFromInline var grad: Tensor<Scalar>?
  /// `true` for a parameter given a hook (see ``Variable/onGradientAccumulated``): a backward pass
  /// finishes its gradient as soon as it is final.
  var hasGradientHook = false
  /// How many nodes of other graphs read this one and are alive.
  var foreignUses: Int32 = 0
  /// The operation that produced the node; ``NoOperation`` for a leaf.
  let operation: any DifferentiableOperation<Scalar>
  /// The operation's first-order pullback, specialised for its type; `nil` for a leaf.
  let tensorPullback: TensorPullback<Scalar>?
  /// The operation's inputs, in order.
  let inputs: NodeInputs<Scalar>
  /// The graph that holds the node (not retained: the graph lives while it has nodes).
  let graph: Unmanaged<Graph<Scalar>>
  /// The ``Variable`` that shows this node, while one exists. Not retained: the variable clears
  /// it when it dies.
  var handle: Unmanaged<Variable<Scalar>>? = nil
  /// The name, origin and live-variable counter, when any is set.
  var annotations: Annotations?
  /// The node's position in ``graph`` (see ``position``).
  let storedPosition: Int32
  /// See ``tapeIndex``.
  var storedTapeIndex: Int32 = -1
  /// The sum of the inputs' versions when the operation was recorded (wrapping).
  let recordedInputVersions: UInt32

  /// The node's position in ``graph``.
  var position: Int {
    @inline(__always) get { Int(storedPosition) }
  }

  /// Scratch slot of a running backward pass: -1 when not on a tape being walked.
  var tapeIndex: Int {
    @inline(__always) get { Int(storedTapeIndex) }
    @inline(__always) set { storedTapeIndex = Int32(truncatingIfNeeded: newValue) }
  }

  /// `true` when gradients flow into the node.
  var requiresGrad: Bool {
    @inline(__always) get { isParameter || hasOperation }
  }
}

/// The inputs of a node: one or two inline, more in an allocation the node owns (freed when
/// it dies). A plain value: copying it touches no reference count.
struct NodeInputs<Scalar: TensorScalar>: BitwiseCopyable {
  /// The number of inputs.
  let count: Int
  /// Input 0 when there are one or two.
  private let first: NodePointer<Scalar>?
  /// Input 1 when there are two.
  private let second: NodePointer<Scalar>?
  /// All inputs when there are more than two.
  let more: UnsafeMutablePointer<NodePointer<Scalar>>?

  /// No inputs: a leaf's.
  init() {
    count = 0
    first = nil
    second = nil
    more = nil
  }

  /// The nodes of `variables`, which the caller keeps alive.
  @inline(__always)
  init(_ variables: borrowing Operands<Variable<Scalar>>) {
    count = variables.count
    switch count {
    case 0, 1, 2:
      first = count > 0 ? variables[0].node : nil
      second = count > 1 ? variables[1].node : nil
      more = nil
    default:
      first = nil
      second = nil
      let all = UnsafeMutablePointer<NodePointer<Scalar>>.allocate(capacity: count)
      for position in 0..<count { (all + position).initialize(to: variables[position].node) }
      more = all
    }
  }

  /// One input.
  @inline(__always)
  init(_ x: NodePointer<Scalar>) {
    count = 1
    first = x
    second = nil
    more = nil
  }

  /// Two inputs.
  @inline(__always)
  init(_ x: NodePointer<Scalar>, _ y: NodePointer<Scalar>) {
    count = 2
    first = x
    second = y
    more = nil
  }

  /// The positions 0..<count.
  var indices: Range<Int> { 0..<count }

  /// Input `position`. The tape reads only positions below ``count``; a pullback's reads are
  /// checked, with a message, by `PullbackInputs`.
  @inline(__always)
  subscript(position: Int) -> NodePointer<Scalar> {
    assert(
      position >= 0 && position < count, "NodeInputs: input \(position) out of range for \(count) inputs")
    if let more { return more[position] }
    return position == 0 ? first.unsafelyUnwrapped : second.unsafelyUnwrapped
  }
}

/// The address of a node; valid while the node is alive.
@usableFromInline typealias NodePointer<Scalar: TensorScalar> = UnsafeMutablePointer<Node<Scalar>>

// Questions about a node asked through its address. Free functions that read single fields: a
// method of `Node` called through `pointee` copied the whole node first.

/// `true` when `node` is the newest node of its graph.
@inline(__always)
func isNewest<Scalar>(_ node: NodePointer<Scalar>) -> Bool {
  let position = node.pointee.position
  return node.pointee.graph._withUnsafeGuaranteedRef { $0.count } == position + 1
}

/// `true` when `node` belongs to `graph`.
@inline(__always)
func belongs<Scalar>(_ node: NodePointer<Scalar>, to graph: Unmanaged<Graph<Scalar>>) -> Bool {
  node.pointee.graph.toOpaque() == graph.toOpaque()
}

/// A chain of recorded nodes in recording order: the arena that a graph's ``Variable``s point
/// into, and the one place where the tape manages memory by hand.
///
/// **The chain rule of membership.** A recorded node joins the graph of an input that is the
/// newest node of its graph; when no input is, it starts a graph of its own. So every node but a
/// graph's first reads the node before it, and a node's position orders it after all its inputs
/// of the same graph (positions are a recording order). Leaves are graphs of one node.
///
/// **Life.** A node is alive while a ``Variable`` shows it, a node of another graph reads it
/// (``Node/foreignUses``), or a newer node of its own graph is alive: the newer node reads the one
/// before it, and so, through the chain, every older one. So nodes die from the newest down, as
/// on a stack. When the newest node has no variable and no foreign reader, it is freed, the
/// foreign counts of its inputs drop, and the next one is looked at; a graph whose last node died
/// frees itself. Nothing is reference-counted per node and no destructor recurses: a graph is
/// released by popping, and a chain of 100,000 operations by one loop.
///
/// **Memory.** The first chunk of nodes is allocated with the graph (one node for a leaf, five
/// for a recorded graph, which keeps the allocation under 1 KiB); later ones hold 64 nodes each
/// and are kept for reuse when their graph dies (``ChunkCache``). A node's address never changes
/// while it lives, so a pullback can record new nodes into the graph it reads.
///
/// **Threads.** Counts are plain integers: a graph belongs to one thread at a time, as its
/// variables do.
@usableFromInline
final class Graph<Scalar: TensorScalar>: ManagedBuffer<GraphState<Scalar>, Node<Scalar>> {
  /// A recorded graph's first chunk, allocated with the graph itself: five nodes, so that the
  /// allocation (968 bytes) stays in glibc's small bins. Scalar code starts many small graphs
  /// and frees them together (each `x[i] * x[i]` that reads only leaves starts one); with eight
  /// nodes (1.4 KiB) they went through the sorted large bins, 280 instructions of `malloc` per
  /// recorded operation of rosenbrock_scalar.
  private static var firstOperationCapacity: Int { 5 }
  /// log₂ of a later chunk's capacity.
  private static var chunkShift: Int { 6 }

  /// The number of live positions: nodes 0..<count.
  var count: Int {
    get { state.pointee.count }
    set { state.pointee.count = newValue }
  }
  /// How many inputs of this graph's nodes were nodes of other graphs (an upper bound on the
  /// distinct leaves a backward pass meets).
  var foreignInputCount: Int {
    get { state.pointee.foreignInputCount }
    set { state.pointee.foreignInputCount = newValue }
  }
  /// `true` once a node read an operation's result from another graph: the backward pass then
  /// orders the nodes it reaches, since positions alone no longer give a recording order.
  var readsForeignResults: Bool {
    get { state.pointee.readsForeignResults }
    set { state.pointee.readsForeignResults = newValue }
  }
  /// `true` once a node read a parameter with a gradient hook: the backward pass then takes the
  /// ordered walk, which finishes each parameter as soon as its gradient is final, not after the
  /// walk as the chain's walk does.
  var readsHookedParameters: Bool {
    get { state.pointee.readsHookedParameters }
    set { state.pointee.readsHookedParameters = newValue }
  }

  /// The bookkeeping, read through its address: `header`, a class's stored property, would be
  /// checked for exclusive access at run time on every use.
  @inline(__always)
  private var state: UnsafeMutablePointer<GraphState<Scalar>> { withUnsafeMutablePointerToHeader { $0 } }

  /// The address of the bookkeeping's ``GraphState/inlineTable``.
  private var inlineTable: UnsafeMutablePointer<NodePointer<Scalar>?> {
    withUnsafeMutablePointerToHeader {
      (UnsafeMutableRawPointer($0) + MemoryLayout<GraphState<Scalar>>.offset(of: \.inlineTable)!)
        .assumingMemoryBound(to: NodePointer<Scalar>?.self)
    }
  }

  /// The first chunk, allocated with the graph: one node for a leaf, ``firstOperationCapacity``
  /// for a recorded graph.
  @inline(__always)
  private var firstChunk: NodePointer<Scalar> { withUnsafeMutablePointerToElements { $0 } }

  /// Frees the later chunks of an empty graph, before its last release.
  ///
  /// Not in `deinit`, which runs unspecialised: there, freeing a `Node<Scalar>` pointer looked up
  /// the node type's metadata for every graph that died.
  fileprivate func freeChunks() {
    guard let laterChunks = state.pointee.laterChunks else { return }
    for chunk in 0..<state.pointee.laterChunkCount {
      ChunkCache.give(UnsafeMutableRawPointer(laterChunks[chunk].unsafelyUnwrapped), bytes: Self.chunkBytes)
    }
    if laterChunks != inlineTable { laterChunks.deallocate() }
    state.pointee.laterChunks = nil
  }

  /// The bytes of a later chunk.
  private static var chunkBytes: Int { MemoryLayout<Node<Scalar>>.stride << chunkShift }

  /// The address of position `position`.
  @inline(__always)
  func address(of position: Int) -> NodePointer<Scalar> {
    let firstCapacity = state.pointee.firstCapacity
    if position < firstCapacity { return firstChunk + position }
    let later = position - firstCapacity
    return state.pointee.laterChunks.unsafelyUnwrapped[later >> Self.chunkShift].unsafelyUnwrapped
      + (later & (1 << Self.chunkShift - 1))
  }

  /// The newest node, if the graph has any.
  @inline(__always)
  var newest: NodePointer<Scalar>? { count > 0 ? address(of: count - 1) : nil }

  /// A new, empty graph, retained by itself until its last node dies (see `release(from:)`).
  ///
  /// - Parameter expectingMore: `false` for a leaf, which stays one node.
  @inline(__always)
  static func make(expectingMore: Bool) -> Unmanaged<Graph> {
    let firstCapacity = expectingMore ? firstOperationCapacity : 1
    let graph = unsafeDowncast(
      create(minimumCapacity: firstCapacity) { _ in GraphState(firstCapacity: firstCapacity) }, to: Graph.self
    )
    return Unmanaged.passRetained(graph)
  }

  /// Makes room for one more node at position ``count`` and counts it; the caller initialises
  /// the returned address at once, with a node built for this graph and that position.
  ///
  /// The node is then built straight into its place: a node passed in by value was copied there
  /// (a call through its value witness) and the original destroyed.
  @inline(__always)
  func claimNextPosition() -> (address: NodePointer<Scalar>, position: Int) {
    let position = count
    if position >= state.pointee.firstCapacity + state.pointee.laterChunkCount << Self.chunkShift {
      addChunk()
    }
    count = position + 1
    return (address(of: position), position)
  }

  /// Adds a later chunk, taken from ``ChunkCache`` when it holds one.
  @inline(never)
  private func addChunk() {
    check(
      state.pointee.laterChunkCount < Int(Int32.max) >> Self.chunkShift,
      "Graph: more nodes than a graph can hold")
    if state.pointee.laterChunkCount == state.pointee.tableCapacity {
      if state.pointee.tableCapacity == 0 {
        state.pointee.laterChunks = inlineTable
        state.pointee.tableCapacity = GraphState<Scalar>.inlineTableCapacity
      } else {
        let capacity = 2 * state.pointee.tableCapacity
        let larger = UnsafeMutablePointer<NodePointer<Scalar>?>.allocate(capacity: capacity)
        let laterChunks = state.pointee.laterChunks.unsafelyUnwrapped
        larger.moveInitialize(from: laterChunks, count: state.pointee.laterChunkCount)
        if laterChunks != inlineTable { laterChunks.deallocate() }
        state.pointee.laterChunks = larger
        state.pointee.tableCapacity = capacity
      }
    }
    let chunk = ChunkCache.take(bytes: Self.chunkBytes, alignment: MemoryLayout<Node<Scalar>>.alignment)
    state.pointee.laterChunks.unsafelyUnwrapped[state.pointee.laterChunkCount] = chunk.bindMemory(
      to: Node<Scalar>.self, capacity: 1 << Self.chunkShift)
    state.pointee.laterChunkCount += 1
  }
}

/// The bookkeeping of a ``Graph``, stored before its first chunk.
@usableFromInline
struct GraphState<Scalar: TensorScalar> {
  /// The first chunk's capacity.
  let firstCapacity: Int
  /// See ``Graph/count``.
  var count = 0
  /// The later chunks, each 64 nodes, in a table that doubles when full: ``inlineTable`` for the
  /// first ``inlineTableCapacity``, then an allocation.
  var laterChunks: UnsafeMutablePointer<NodePointer<Scalar>?>? = nil
  /// How many later chunks exist.
  var laterChunkCount = 0
  /// How many later chunks the table holds.
  var tableCapacity = 0
  /// See ``Graph/foreignInputCount``.
  var foreignInputCount = 0
  /// See ``Graph/readsForeignResults``.
  var readsForeignResults = false
  /// See ``Graph/readsHookedParameters``.
  var readsHookedParameters = false
  /// The first entries of the chunk table, so that a graph a little larger than its first chunk
  /// allocates no table.
  var inlineTable: (NodePointer<Scalar>?, NodePointer<Scalar>?) = (nil, nil)
  /// How many chunks ``inlineTable`` holds.
  static var inlineTableCapacity: Int { 2 }

  init(firstCapacity: Int) { self.firstCapacity = firstCapacity }
}

/// Chunks of freed graphs kept for the next ones, shared by all threads.
///
/// A freed graph of a thousand nodes returns about 200 KB at once; glibc gives that back to the
/// system (its trim threshold is 128 KB), and the next graph takes a page fault for every 4 KB it
/// touches again, which made a scalar graph a third slower.
enum ChunkCache {
  /// At most this many chunks are kept (about 700 KB).
  private static var limit: Int { 64 }
  /// A kept chunk: memory no graph uses, so any thread may take it.
  private struct Kept {
    let memory: UnsafeMutableRawPointer
    let bytes: Int
  }
  /// The kept chunks, read and written only while `lock` is held; so not checked for exclusive
  /// access at run time, which cost about 350 instructions per chunk taken and given back.
  @exclusivity(unchecked) nonisolated(unsafe) private static var kept: [Kept] = []
  /// A pthread mutex, which ThreadSanitizer understands (`Synchronization.Mutex` waits on futexes
  /// it does not see, and its accesses were reported as races).
  nonisolated(unsafe) private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
    let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    pthread_mutex_init(lock, nil)
    return lock
  }()

  /// A chunk of `bytes` bytes: a kept one, or a new one.
  static func take(bytes: Int, alignment: Int) -> UnsafeMutableRawPointer {
    pthread_mutex_lock(lock)
    var chunk: UnsafeMutableRawPointer? = nil
    if let last = kept.last, last.bytes == bytes {
      kept.removeLast()
      chunk = last.memory
    }
    pthread_mutex_unlock(lock)
    return chunk ?? UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: alignment)
  }

  /// Keeps `chunk`, of `bytes` bytes, for a later graph, or frees it when enough are kept.
  static func give(_ chunk: UnsafeMutableRawPointer, bytes: Int) {
    pthread_mutex_lock(lock)
    let keeps = kept.count < limit
    if keeps { kept.append(Kept(memory: chunk, bytes: bytes)) }
    pthread_mutex_unlock(lock)
    if !keeps { chunk.deallocate() }
  }
}

extension Graph {
  /// Whether `node` can be freed now: it is its graph's newest, and neither a variable nor a node
  /// of another graph refers to it.
  @inline(__always)
  static func isDead(_ node: NodePointer<Scalar>) -> Bool {
    node.pointee.handle == nil && node.pointee.foreignUses == 0 && isNewest(node)
  }

  /// Pops the dead nodes of `start`, then of every graph whose newest node died with them,
  /// iteratively. A graph left empty frees itself, once no popping is pending.
  static func release(from start: Unmanaged<Graph>) {
    withUnsafeTemporaryAllocation(of: Unmanaged<Graph>.self, capacity: 16) { pendingMemory in
      withUnsafeTemporaryAllocation(of: Unmanaged<Graph>.self, capacity: 8) { emptiedMemory in
        var pending = ScratchList(lending: pendingMemory)
        var emptied = ScratchList(lending: emptiedMemory)
        pending.append(start)
        while let entry = pending.popLast() {
          entry._withUnsafeGuaranteedRef { graph in
            while let node = graph.newest, isDead(node) {
              // A tangent's release frees graphs of its own; while the node is still the newest,
              // none of the nodes its graph reads can die with it (it reads none newer, and not
              // this one), so that release leaves this loop's graphs alone.
              if node.pointee.carriesTangent { node.pointee.annotations = nil }
              graph.count -= 1
              let inputs = node.pointee.inputs
              node.deinitialize(count: 1)
              defer { inputs.more?.deallocate() }
              for position in inputs.indices {
                let input = inputs[position]
                guard !belongs(input, to: entry) else { continue }
                input.pointee.foreignUses -= 1
                if isDead(input) { pending.append(input.pointee.graph) }
              }
              if graph.count == 0 { emptied.append(entry) }
            }
          }
        }
        for index in 0..<emptied.count {
          emptied[index]._withUnsafeGuaranteedRef { $0.freeChunks() }
          emptied[index].release()
        }
      }
    }
  }
}

/// Called when the variable that showed `node` dies: frees `node` and whatever dies with it.
///
/// A free function, not a static method of `Graph`: the variable's deinitialiser runs
/// unspecialised, and a call to a method of `Graph<Scalar>` instantiated that type's metadata
/// for every variable that died, a tenth of a scalar graph.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func variableDied<Scalar>(_ node: NodePointer<Scalar>) {
  node.pointee.handle = nil
  if node.pointee.carriesTangent {
    variableWithTangentDied(node)
  } else if Graph.isDead(node) {
    Graph.release(from: node.pointee.graph)
  }
}
