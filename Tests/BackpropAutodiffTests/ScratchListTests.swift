import Testing

@testable import BackpropAutodiff

@Suite("ScratchList: the tape's work lists")
struct ScratchListTests {
  @Test("Appends, reads and pops in lent memory, and keeps every element when it outgrows it")
  func growsBeyondLentMemory() {
    withUnsafeTemporaryAllocation(of: Int.self, capacity: 3) { memory in
      var list = ScratchList(lending: memory)
      #expect(list.popLast() == nil)
      for value in 0..<100 { list.append(value) }  // 3 → 6 → 12 → … on the heap
      #expect(list.count == 100)
      #expect((0..<100).allSatisfy { list[$0] == $0 })
      var popped: [Int] = []
      while let value = list.popLast() { popped.append(value) }
      #expect(popped == Array((0..<100).reversed()))
      list.append(7)
      #expect(list.count == 1 && list[0] == 7)
    }
  }
}
