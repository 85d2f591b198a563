import Backprop
import BackpropTestSupport
import Foundation
import Testing

@Suite("Minibatches and metrics")
struct MinibatchTests {
  @Test("Every sample exactly once per pass, a last partial batch, seeded orders that differ per pass")
  func coverage() {
    let inputs = try! Tensor<Double>(shape: [10, 2], scalars: (0..<20).map(Double.init))
    let labels = Array(0..<10)
    var rng = SeededRandomNumberGenerator(seed: 4)
    var orders: [[Int]] = []
    for _ in 0..<2 {
      let batches = Array(Minibatches(inputs: inputs, labels: labels, batchSize: 4, shuffledUsing: &rng))
      #expect(batches.map(\.labels.count) == [4, 4, 2])
      let seen = batches.flatMap(\.labels)
      #expect(seen.sorted() == labels)
      for batch in batches {
        for (row, label) in batch.labels.enumerated() {
          #expect(batch.inputs[row] == inputs[label])  // the inputs follow their labels
        }
      }
      orders.append(seen)
    }
    #expect(orders[0] != orders[1])
    var again = SeededRandomNumberGenerator(seed: 4)
    let replay = Minibatches(inputs: inputs, labels: labels, batchSize: 4, shuffledUsing: &again).flatMap(
      \.labels)
    #expect(replay == orders[0])
    #expect(Minibatches(inputs: inputs, batchSize: 3).flatMap(\.indices) == labels)
  }

  @Test("accuracy and the confusion matrix count predictions against labels")
  func metrics() {
    let logits = Tensor<Double>([[2, 1, 0], [0, 3, 1], [1, 0, 0], [0, 0, 5]])
    #expect(accuracy(logits: logits, labels: [0, 1, 1, 2]) == 0.75)
    let matrix = ConfusionMatrix(logits: logits, labels: [0, 1, 1, 2])
    #expect(matrix.counts == [[1, 0, 0], [1, 1, 0], [0, 0, 1]])
    #expect(matrix.accuracy == 0.75)
    #expect(matrix.description.contains("actual ↓ predicted →"))
  }
}
