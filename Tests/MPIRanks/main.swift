// The data-parallel check across processes: `Scripts/test-mpi` builds this with the MPI trait and
// runs it under `mpirun -np 2`. Each rank trains a 4-8-3 tanh network on its shard of every batch
// for SGD with momentum, Adam and AdamW, in one bucket and in buckets of one parameter each (whose
// all-reduces start during the backward pass); rank 0 also trains one process on the whole batch,
// and every rank's parameters must equal that process's (atol 1e-12, rtol 1e-10) and rank 0's bits.
// Prints a ✓ or ✗ line per optimiser from rank 0 and exits 1 on any rank when one fails.
import Backprop

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

#if MPI
  let world = try MPICommunicator(timeout: 60)

  func makeModel(seed: UInt64) -> Sequential<Double> {
    var rng = SeededRandomNumberGenerator(seed: seed)
    return Sequential {
      Dense<Double>(inputSize: 4, outputSize: 8, activation: .tanh, using: &rng)
      Dense<Double>(inputSize: 8, outputSize: 3, using: &rng)
    }
  }

  var rng = SeededRandomNumberGenerator(seed: 5)
  let inputs = Tensor<Double>(randomUniform: [24, 4], lowerBound: -1, upperBound: 1, using: &rng)
  let targets = Tensor<Double>(randomUniform: [24, 3], lowerBound: -1, upperBound: 1, using: &rng)

  func optimizer(_ name: String, _ parameters: [Variable<Double>]) -> any Optimizer<Double> {
    switch name {
    case "SGD": SGD(parameters: parameters, learningRate: 0.1, momentum: 0.9)
    case "Adam": Adam(parameters: parameters, learningRate: 1e-2)
    default: AdamW(parameters: parameters, learningRate: 1e-2, weightDecay: 0.1)
    }
  }

  func train(
    _ name: String, rank: Int, of size: Int, communicator: MPICommunicator?, bucketCapacity: Int = 25_000_000
  ) throws -> [Double] {
    // Ranks other than 0 start from other weights: DataParallel makes them rank 0's.
    let model = makeModel(seed: rank == 0 ? 1 : 100 + UInt64(rank))
    let optimizer = optimizer(name, model.parameters)
    let parallel = try communicator.map {
      try DataParallel(model: model, optimizer: optimizer, communicator: $0, bucketCapacity: bucketCapacity)
    }
    var shuffle = SeededRandomNumberGenerator(seed: 9)
    let batches = Minibatches(tensors: [inputs, targets], batchSize: 12, shuffledUsing: &shuffle)
      .sharded(rank: rank, of: size)
    for _ in 0..<3 {
      for batch in batches {
        optimizer.zeroGrad()
        meanSquaredError(predicted: model(Variable(batch.tensors[0])), target: batch.tensors[1]).backward()
        if let parallel { try parallel.step() } else { optimizer.step() }
      }
    }
    return model.parameters.flatMap(\.value.scalars)
  }

  var failures = 0
  for name in ["SGD", "Adam", "AdamW"] {
    for (bucketCapacity, buckets) in [(25_000_000, "one bucket"), (8, "4 buckets")] {
      let mine = try train(
        name, rank: world.rank, of: world.size, communicator: world, bucketCapacity: bucketCapacity)
      let alone = try train(name, rank: 0, of: 1, communicator: nil)
      var rankZero = Tensor(mine)
      try world.broadcast(&rankZero, from: 0)
      let close = zip(mine, alone).allSatisfy { abs($0 - $1) <= 1e-12 + 1e-10 * abs($1) }
      let same = rankZero.scalars == mine
      var failed = Tensor<Double>([close && same ? 0 : 1])
      try world.allReduce(&failed)
      failures += Int(failed.scalars[0])
      if world.rank == 0 {
        let worst = zip(mine, alone).map { abs($0 - $1) }.max() ?? 0
        print(
          "\(failed.scalars[0] == 0 ? "✓" : "✗") \(name), \(buckets): \(world.size) ranks against one process on the whole batch, "
            + "largest difference \(worst), replicas \(failed.scalars[0] == 0 ? "bit-equal" : "differ")")
      }
    }
  }
  if failures > 0 { exit(1) }
#else
  print("MPIRanks needs the MPI trait: swift build --traits MPI --product MPIRanks")
  exit(1)
#endif
