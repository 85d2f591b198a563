import BackpropFiles
import BackpropTensor

// A checkpoint is a safetensors file (see SafeTensors.swift) with these conventions:
//
//   tensors     the model's tensors as its state dictionary holds them: PyTorch's names
//               ("0.weight", "1.running_mean", …) and layouts (a Dense weight transposed),
//               F32 or F64 as the model's scalar type, I64 for integer buffers; the
//               optimiser's state under "optimizer/<slot>/<parameter name>"
//               ("optimizer/firstMoment/0.weight"), in its parameter's layout
//   metadata    "format": "backprop.checkpoint", "version": "2",
//               "optimizer": the optimiser's kind ("adam", …), present with optimiser state,
//               "counter.<name>": a counter of the optimiser state in decimal ("counter.step"),
//               "crc32": the CRC-32 (IEEE 802.3, as zlib's crc32) of the data buffer, as
//               8 lowercase hexadecimal digits
//
// Any safetensors reader opens a checkpoint; Python's `safetensors.torch.load_file` gives the
// tensors by these names, and `load_state_dict(…, strict=False)` takes the model's.
//
// Version 1 (the previous release's) is read too: the layers' own names of that release
// (Checkpoint+Version1.swift), every tensor in the variable's layout and the model's dtype.

extension Checkpoint {
  static let formatName = "backprop.checkpoint"
  static let version = "2"
  /// The versions ``Checkpoint`` reads.
  static let readableVersions: Set<String> = ["1", "2"]
  static let optimizerPrefix = "optimizer/"

  /// The file name of an optimiser slot's tensor for the parameter named `parameter`.
  static func slotEntryName(slot: String, parameter: String) -> String {
    optimizerPrefix + slot + "/" + parameter
  }

  /// What a file's tensor name refers to, for messages.
  static func place(ofEntry name: String) -> FileError.Place {
    guard name.hasPrefix(optimizerPrefix) else { return .model(name) }
    let rest = name.dropFirst(optimizerPrefix.count)
    guard let slash = rest.firstIndex(of: "/") else { return .optimizer(slot: String(rest), parameter: "") }
    return .optimizer(slot: String(rest[..<slash]), parameter: String(rest[rest.index(after: slash)...]))
  }

  /// The dtype safetensors uses for `Scalar`.
  static func dtype<Scalar: TensorScalar>(of _: Scalar.Type) -> String {
    StoredFloat.matching(Scalar.self) == .float32 ? "F32" : "F64"
  }

  /// The checkpoint file of `tensors` with the metadata: format, version, optimiser kind and
  /// counters, and the CRC-32 of the data.
  static func encode(
    _ tensors: [SafeTensors.RawTensor], optimizerKind: String?, counters: [(name: String, value: Int)]
  ) -> [UInt8] {
    var metadata = ["format": formatName, "version": version, "crc32": "00000000"]
    if let optimizerKind {
      metadata["optimizer"] = optimizerKind
      for counter in counters { metadata["counter." + counter.name] = String(counter.value) }
    }
    // The checksum covers the data buffer, whose bytes the header does not change: encode
    // once to find them, then again with their checksum.
    let draft = SafeTensors.encode(tensors, metadata: metadata)
    let dataStart = 8 + draft[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
    metadata["crc32"] = hexadecimal(CRC32.checksum(draft[dataStart...]))
    return SafeTensors.encode(tensors, metadata: metadata)
  }

  /// The validated safetensors file, checked to be a checkpoint whose data matches its CRC-32.
  static func parse(_ bytes: [UInt8], path: String) throws(FileError) -> SafeTensors {
    let file = try SafeTensors(bytes: bytes, path: path)
    guard file.metadata["format"] == formatName else {
      throw FileError(path: path, .notACheckpoint("its metadata has no \"format\": \"\(formatName)\""))
    }
    guard let fileVersion = file.metadata["version"], readableVersions.contains(fileVersion) else {
      throw FileError(path: path, .unsupportedVersion(file.metadata["version"] ?? "(none)"))
    }
    guard let text = file.metadata["crc32"], text.utf8.count == 8, let stored = UInt32(text, radix: 16) else {
      throw FileError(path: path, .notACheckpoint("its metadata has no valid \"crc32\""))
    }
    let computed = CRC32.checksum(bytes[file.dataStart...])
    guard stored == computed else {
      throw FileError(path: path, .checksumMismatch(stored: stored, computed: computed))
    }
    return file
  }

  /// The optimiser counters stored in the metadata.
  static func counters(of file: SafeTensors) throws(FileError) -> [String: Int] {
    var counters: [String: Int] = [:]
    for (key, text) in file.metadata where key.hasPrefix("counter.") {
      let name = String(key.dropFirst("counter.".count))
      guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(text) else {
        throw FileError(path: file.path, .counterMismatch(name: name))
      }
      counters[name] = value
    }
    return counters
  }
}
