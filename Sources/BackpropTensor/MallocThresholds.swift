import BackpropKernels
import Synchronization

/// glibc's mmap and trim thresholds, which Backprop raises so that large tensor buffers are
/// reused from the heap instead of mapped and unmapped at every training step.
///
/// A training loop frees and allocates the same large tensors at every step. glibc's default
/// policy serves each buffer above 128 KiB with a fresh `mmap` and returns it with `munmap`, so
/// that every step pays for system calls and a page fault per 4 KiB of every large tensor. glibc
/// raises that threshold by itself after some frees, but not reliably: how fast a step runs
/// then depends on what the process allocated before (PERFORMANCE.md has the numbers).
///
/// So the first time a tensor of at least ``largeTensorScalarCount`` scalars is created,
/// Backprop sets glibc's mmap threshold to 32 MiB and its trim threshold to 64 MiB
/// (`mallopt(M_MMAP_THRESHOLD)` and `mallopt(M_TRIM_THRESHOLD)`): the largest values glibc's
/// own adaptive policy reaches on 64-bit systems. Buffers up to 32 MiB are then reused from the
/// heap, and the process keeps up to 64 MiB of freed memory instead of returning it to the
/// system at once. The setting is process-wide.
///
/// To leave the allocator alone, set the environment variable `BACKPROP_MALLOC=system` before
/// the first large tensor is created. Other C libraries (musl, Darwin) are never changed.
public enum MallocThresholds {
  /// The first tensor with at least this many scalars (128 KiB of `Float`) raises the thresholds.
  public static let largeTensorScalarCount = 32_768

  private static let state = Atomic<Int>(0)  // 0 not yet asked, 1 raised, 2 left alone

  /// `true` once Backprop has raised the thresholds; `false` before the first large tensor, with
  /// `BACKPROP_MALLOC=system`, with a C library other than glibc, or when the allocator refuses
  /// (a sanitizer's allocator does).
  public static var areRaised: Bool { state.load(ordering: .relaxed) == 1 }

  /// Raises the thresholds once, on the first large tensor.
  @usableFromInline
  static func noteLargeTensor() {
    if state.load(ordering: .relaxed) == 0 { apply() }
  }

  private static func apply() {
    // Two threads may both get here; mallopt with the same values twice is harmless.
    state.store(bp_keep_large_buffers() == 1 ? 1 : 2, ordering: .relaxed)
  }
}
