// swift-tools-version: 6.1
import PackageDescription

// Layers, lowest first. Each target only sees the ones below it:
//   BackpropKernels  — C micro-kernels: matrix products, pooling, elementwise functions, im2col runs
//                      (for BackpropTensor), Adam's update (for BackpropNN's optimiser); not a product
//   BackpropTensor   — n-dimensional Tensor, storage, broadcasting, kernels (no autodiff)
//   BackpropAutodiff — Variable, the tape, backward(), the operation catalogue (Operations/, by
//                      family), gradient checking
//   BackpropFiles    — files and formats: safetensors, .npy, IDX, CSV, atomic output, pictures (SVG,
//                      Graphviz); tensors only, no autodiff
//   BackpropNN       — Layers/, Optimizers/ (with schedules and clipping), Training/ (minibatches,
//                      metrics, progress, learning phase), Serialization/ (checkpoints, state
//                      dictionaries)
//   Backprop         — umbrella: `import Backprop` re-exports everything
//   CMPI             — MPI through pkg-config (`ompi-c`), only with the `MPI` trait: BackpropNN's
//                      MPICommunicator
let package = Package(
  name: "Backprop",
  // Synchronization's Atomic and Mutex (the thread pool) need these; Linux has no minimum.
  platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11), .visionOS(.v2)],
  products: [
    .library(name: "Backprop", targets: ["Backprop"])
  ],
  // Off by default, so that the default build needs nothing but the toolchain.
  traits: [
    .trait(
      name: "MPI",
      description: "Data-parallel training across processes and machines over MPI (MPICommunicator)")
  ],
  targets: [
    // Packed AVX2+FMA matrix-product micro-kernels, chosen at run time (portable C elsewhere).
    // On Apple platforms the products go to Accelerate's BLAS, part of the OS (gemm.c).
    .target(
      name: "BackpropKernels",
      linkerSettings: [
        .linkedFramework("Accelerate", .when(platforms: [.macOS, .iOS, .tvOS, .watchOS, .visionOS]))
      ]),
    .target(name: "BackpropTensor", dependencies: ["BackpropKernels"]),
    .target(name: "BackpropAutodiff", dependencies: ["BackpropTensor"]),
    .target(name: "BackpropFiles", dependencies: ["BackpropTensor"]),
    .target(
      name: "BackpropNN",
      dependencies: [
        "BackpropKernels", "BackpropTensor", "BackpropAutodiff", "BackpropFiles",
        .target(name: "CMPI", condition: .when(traits: ["MPI"])),
      ]),
    // MPI's C library, with a header of inline functions for the constants mpi.h defines as macros.
    .systemLibrary(
      name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"]), .brew(["open-mpi"])]),
    .target(
      name: "Backprop", dependencies: ["BackpropTensor", "BackpropAutodiff", "BackpropFiles", "BackpropNN"]),

    // The three tutorial articles: a library shared by their executables, the main demo and the tests.
    .target(name: "ArticleExamples", dependencies: ["Backprop"], path: "Examples/ArticleExamples"),
    .executableTarget(name: "Demo", dependencies: ["Backprop", "ArticleExamples"], path: "Examples/Demo"),
    .executableTarget(
      name: "BrainsToBytes", dependencies: ["ArticleExamples"], path: "Examples/BrainsToBytes"),
    .executableTarget(name: "RohanLenny", dependencies: ["ArticleExamples"], path: "Examples/RohanLenny"),
    .executableTarget(name: "ORGate", dependencies: ["ArticleExamples"], path: "Examples/ORGate"),
    // Handwritten digits (Examples/Data, CC BY 4.0) learned by an MLP and a CNN.
    .executableTarget(name: "Digits", dependencies: ["Backprop"], path: "Examples/Digits"),
    .executableTarget(name: "Addition", dependencies: ["Backprop"], path: "Examples/Addition"),
    // A physics-informed network: forward mode over reverse mode, inside a reverse-mode loss.
    .executableTarget(name: "Poisson", dependencies: ["Backprop"], path: "Examples/Poisson"),
    .executableTarget(name: "Parentheses", dependencies: ["Backprop"], path: "Examples/Parentheses"),
    .executableTarget(
      name: "PyTorchExchange", dependencies: ["Backprop"], path: "Examples/PyTorchExchange",
      exclude: ["digits_mlp.py"]),
    // `swift run -c release Benchmark`: a program, never a timed test.
    .executableTarget(name: "Benchmark", dependencies: ["Backprop"], path: "Benchmarks/Benchmark"),

    // Data-parallel training across processes, run by Scripts/test-mpi under mpirun (MPI trait).
    .executableTarget(name: "MPIRanks", dependencies: ["Backprop"], path: "Tests/MPIRanks"),
    .target(name: "BackpropTestSupport", dependencies: ["Backprop"], path: "Tests/BackpropTestSupport"),
    .testTarget(
      name: "BackpropTensorTests", dependencies: ["BackpropTensor", "BackpropKernels", "BackpropTestSupport"]),
    .testTarget(
      name: "BackpropAutodiffTests", dependencies: ["Backprop", "BackpropAutodiff", "BackpropTestSupport"]),
    .testTarget(name: "ArticleTests", dependencies: ["ArticleExamples", "Backprop", "BackpropTestSupport"]),
    // The readers of files and formats, fuzzed with damaged files; only tensors and files.
    .testTarget(
      name: "BackpropFilesTests", dependencies: ["BackpropFiles", "BackpropTensor", "BackpropTestSupport"]),
    .testTarget(
      name: "BackpropNNTests", dependencies: ["Backprop", "BackpropNN", "BackpropTestSupport"],
      exclude: ["Fixtures"]),
    // Code written as a user of the library would write it (the DocC articles' examples): only
    // `import Backprop`.
    .testTarget(name: "ExternalOperationTests", dependencies: ["Backprop"]),
  ],
  swiftLanguageModes: [.v6]
)
