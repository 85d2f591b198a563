#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The whole file, if it is no larger than `limit` bytes.
package func readDataFile(_ path: String, limit: Int) throws(FileError) -> [UInt8] {
  let descriptor = open(path, O_RDONLY | O_CLOEXEC)
  guard descriptor >= 0 else { throw FileError(path: path, .io(String(cString: strerror(errno)))) }
  defer { close(descriptor) }
  var status = stat()
  guard fstat(descriptor, &status) == 0 else {
    throw FileError(path: path, .io(String(cString: strerror(errno))))
  }
  let size = Int(status.st_size)
  guard size <= limit else { throw FileError(path: path, .tooLarge(size: size, limit: limit)) }
  var bytes = [UInt8](repeating: 0, count: size)
  var total = 0
  while total < size {
    let result = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + total, size - total) }
    if result < 0 {
      if errno == EINTR { continue }
      throw FileError(path: path, .io(String(cString: strerror(errno))))
    }
    if result == 0 { break }
    total += result
  }
  return Array(bytes[0..<total])
}
