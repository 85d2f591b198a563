import BackpropAutodiff
import BackpropFiles
import BackpropTensor

// How a layer's tensor is written to and read from a safetensors file, in PyTorch's layout:
// the one encoding that state dictionaries and checkpoints share.

extension NamedTensor {
  /// The tensor as PyTorch stores it: transposed for ``Layout/transposed``.
  var storedValue: Tensor<Scalar> { layout == .transposed ? variable.value.transposed() : variable.value }
}

extension NamedTensor.Layout {
  /// The shape stored for a value of `shape`.
  func storedShape(of shape: [Int]) -> [Int] { self == .transposed ? Array(shape.reversed()) : shape }

  /// `value` to write under `key`: `dtype` (F32 or F64) in this layout, or I64 for an integer
  /// tensor.
  func raw(_ value: Tensor<Scalar>, named key: String, dtype: String) -> SafeTensors.RawTensor {
    switch self {
    case .unchanged, .transposed:
      let stored = self == .transposed ? value.transposed() : value
      return .init(name: key, dtype: dtype, shape: stored.shape) {
        StoredFloat.appendLittleEndian(stored, to: &$0)
      }
    case .integer:
      return .init(name: key, dtype: "I64", shape: value.shape) { bytes in
        for scalar in value.scalars {
          appendInteger(Int64(clamping: Int(exactly: scalar.rounded()) ?? 0), to: &bytes)
        }
      }
    }
  }

  /// A value of `shape` read from `entry` of `file`, back in the variable's layout, after
  /// checking the entry's shape and dtype.
  ///
  /// - Parameters:
  ///   - floatDtypes: The dtypes accepted for a floating-point tensor: the model's own for a
  ///     checkpoint (a resumed run is bit for bit), any of F16…F64 for a state dictionary.
  ///   - place: Where the tensor is, for errors.
  func read(
    _ entry: SafeTensors.Entry, of file: SafeTensors, shape: [Int], floatDtypes: [String],
    place: FileError.Place
  ) throws(FileError) -> Tensor<Scalar> {
    let expected = storedShape(of: shape)
    guard entry.shape == expected else {
      throw FileError(path: file.path, place: place, .shapeMismatch(expected: expected, found: entry.shape))
    }
    if self == .integer {
      guard let integers = file.integers(entry) else {
        throw FileError(
          path: file.path, place: place, .scalarTypeMismatch(expected: "an integer dtype", found: entry.dtype)
        )
      }
      return try! Tensor(shape: shape, scalars: integers.map { Scalar($0) })
    }
    guard floatDtypes.contains(entry.dtype) else {
      let expected =
        floatDtypes.count == 1
        ? floatDtypes[0] : floatDtypes.dropLast().joined(separator: ", ") + " or " + floatDtypes.last!
      throw FileError(
        path: file.path, place: place, .scalarTypeMismatch(expected: expected, found: entry.dtype))
    }
    let tensor = try file.tensor(entry, as: Scalar.self)
    return self == .transposed ? tensor.transposed() : tensor
  }
}
