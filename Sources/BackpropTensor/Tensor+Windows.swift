import BackpropKernels

/// The sliding windows of a 2-D convolution or pooling over images `[N, C, H, W]`: kernel size,
/// stride, zero padding and dilation along the height and the width, as PyTorch's `Conv2d`,
/// `MaxPool2d` and `F.unfold` take them.
public struct SlidingWindows: Sendable, Equatable {
  /// The window's height and width, `[kh, kw]`.
  public var kernelSize: [Int]
  /// The step between windows, `[sh, sw]`.
  public var stride: [Int]
  /// Zeros added on each side, `[ph, pw]`.
  public var padding: [Int]
  /// The spacing between a window's taps, `[dh, dw]` (1 for a dense window).
  public var dilation: [Int]

  /// - Parameters:
  ///   - kernelSize: The window's height and width.
  ///   - stride: The step between windows; 1 by default.
  ///   - padding: Zeros added on each side; 0 by default.
  ///   - dilation: The spacing between a window's taps; 1 by default.
  /// - Precondition: kernel sizes, strides and dilations are positive; padding is not negative.
  public init(kernelSize: [Int], stride: [Int] = [1, 1], padding: [Int] = [0, 0], dilation: [Int] = [1, 1]) {
    check(
      kernelSize.count == 2 && stride.count == 2 && padding.count == 2 && dilation.count == 2,
      "SlidingWindows: kernelSize \(kernelSize), stride \(stride), padding \(padding) and dilation "
        + "\(dilation) need two values each (height, width)")
    check(
      kernelSize.allSatisfy { $0 > 0 } && stride.allSatisfy { $0 > 0 } && dilation.allSatisfy { $0 > 0 }
        && padding.allSatisfy { $0 >= 0 },
      "SlidingWindows: kernelSize \(kernelSize), stride \(stride) and dilation \(dilation) must be "
        + "positive and padding \(padding) not negative")
    self.kernelSize = kernelSize
    self.stride = stride
    self.padding = padding
    self.dilation = dilation
  }

  /// The number of window positions along the height and the width of an image of `size`
  /// (`[H, W]`): ⌊(H + 2p − d(k − 1) − 1) / s⌋ + 1, or 0 when the window does not fit.
  public func outputSize(forImageSize size: [Int]) -> [Int] {
    (0..<2).map { axis in
      let span = dilation[axis] * (kernelSize[axis] - 1) + 1
      let room = size[axis] + 2 * padding[axis] - span
      return room < 0 ? 0 : room / stride[axis] + 1
    }
  }
}

extension Tensor {
  /// Every window of an image batch as a column (im2col, PyTorch's `F.unfold`): `[N, C, H, W]`
  /// becomes `[N, C·kh·kw, Ho·Wo]`, where row `(c·kh + i)·kw + j` holds tap `(i, j)` of channel
  /// `c` for every window position, in row-major order of the positions. Padding reads zeros.
  ///
  /// A convolution is then one matrix product per image: `filter [O, C·kh·kw]` times the columns.
  /// - Precondition: the tensor has rank 4 and at least one window fits.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func unfolded(_ windows: SlidingWindows) -> Tensor {
    let shape = self.shape
    check(shape.count == 4, "unfolded: images must be [N, C, H, W], got shape \(shape)")
    let g = ConvolutionGeometry(
      images: (shape[0], shape[1], shape[2], shape[3]), filters: 0, windows, operation: "unfolded")
    if g.isDense { return denselyUnfolded(g) }
    return withUnsafeBufferPointer { x in
      Tensor(uncheckedShape: [g.n, g.rows, g.positions], count: g.n * g.rows * g.positions) { out in
        Tensor.forEachRun(
          windows, images: g.n, channels: g.c, imageSize: (g.h, g.w), outputSize: (g.ho, g.wo)
        ) {
          image, row, source, target, count, step in
          Tensor.unfoldRun(
            from: x.baseAddress! + image * g.imageCount, source,
            into: out.baseAddress! + ((image * g.rows + row) * g.positions + target), count: count, step: step
          )
        }
      }
    }
  }

  /// One run of ``forEachTap(_:channels:imageSize:outputSize:_:)`` copied from an image into its
  /// columns: zeros for a run on the padding.
  @inline(__always)
  static func unfoldRun(
    from image: UnsafePointer<Scalar>, _ source: Int?, into destination: UnsafeMutablePointer<Scalar>,
    count: Int, step: Int
  ) {
    if let source {
      if step == 1 {  // a stride-1 run is a plain copy
        destination.update(from: image + source, count: count)
      } else {
        for j in 0..<count { destination[j] = image[source + j * step] }
      }
    } else {
      destination.update(repeating: 0, count: count)
    }
  }

  /// One run of ``forEachTap(_:channels:imageSize:outputSize:_:)`` added from the columns back
  /// into an image; a run on the padding is dropped.
  @inline(__always)
  static func foldRun(
    from column: UnsafePointer<Scalar>, into image: UnsafeMutablePointer<Scalar>, _ source: Int?, count: Int,
    step: Int
  ) {
    guard let source else { return }
    let pixels = image + source
    if step == 1 {  // a stride-1 run: a loop the compiler vectorises
      for j in 0..<count { pixels[j] += column[j] }
    } else {
      for j in 0..<count { pixels[j * step] += column[j] }
    }
  }

  /// The adjoint of ``unfolded(_:)`` (col2im, PyTorch's `F.fold`): columns `[N, C·kh·kw, Ho·Wo]`
  /// added back into images `[N, C, H, W]`. Where windows overlap their contributions add up;
  /// taps that fall on the padding are dropped.
  ///
  /// - Parameters:
  ///   - windows: The windows that made the columns.
  ///   - imageSize: `[H, W]` of the images.
  /// - Precondition: the shape is `[N, C·kh·kw, Ho·Wo]` for the windows and the image size.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func folded(_ windows: SlidingWindows, imageSize: [Int]) -> Tensor {
    let shape = self.shape
    check(imageSize.count == 2, "folded: imageSize \(imageSize) needs a height and a width")
    let taps = windows.kernelSize[0] * windows.kernelSize[1]
    check(
      shape.count == 3 && shape[1] % taps == 0,
      "folded: columns of shape \(shape) do not match \(windows.kernelSize) windows over images of \(imageSize)"
    )
    let g = ConvolutionGeometry(
      images: (shape[0], shape[1] / taps, imageSize[0], imageSize[1]), filters: 0, windows,
      operation: "folded")
    check(
      shape[2] == g.positions,
      "folded: columns of shape \(shape) do not match \(windows.kernelSize) windows over images of \(imageSize)"
    )
    if g.isDense { return denselyFolded(g) }
    return withUnsafeBufferPointer { x in
      Tensor(uncheckedShape: [g.n, g.c, g.h, g.w], count: g.n * g.imageCount) { out in
        out.initialize(repeating: 0)
        Tensor.forEachRun(
          windows, images: g.n, channels: g.c, imageSize: (g.h, g.w), outputSize: (g.ho, g.wo)
        ) {
          image, row, source, target, count, step in
          Tensor.foldRun(
            from: x.baseAddress! + ((image * g.rows + row) * g.positions + target),
            into: out.baseAddress! + image * g.imageCount, source, count: count, step: step)
        }
      }
    }
  }

  /// ``unfolded(_:)`` for stride 1 and dilation 1 (most convolutions): the images split across
  /// threads, each share through ``unfold(_:count:channels:imageSize:_:outputSize:into:)``.
  func denselyUnfolded(_ g: ConvolutionGeometry) -> Tensor {
    let isLarge = g.n * g.rows * g.positions * MemoryLayout<Scalar>.size >= 1 << 20
    return withUnsafeBufferPointer { x in
      Tensor(uncheckedShape: [g.n, g.rows, g.positions], count: g.n * g.rows * g.positions) { out in
        let (x, out) = (x.baseAddress!, out.baseAddress!)
        ParallelExecution.forEachShare(of: g.n, isLarge: isLarge) { share in
          Tensor.unfold(
            x + share.lowerBound * g.imageCount, count: share.count, channels: g.c, imageSize: (g.h, g.w),
            g.windows, outputSize: (g.ho, g.wo), into: out + share.lowerBound * g.rows * g.positions)
        }
      }
    }
  }

  /// The columns (im2col) of `count` images `[C, H, W]` at `images`, written to `columns`
  /// (`[count, C·kh·kw, Ho·Wo]`) on the calling thread.
  ///
  /// For stride 1 and dilation 1, in a zero-padded copy of an image the column row of tap (i, j)
  /// of a channel is ho runs of wo scalars one padded row apart, so one kernel call copies it
  /// whole: no run is split at the image's edge, none is all padding, and there is one call per
  /// tap rather than one per run. Other windows go run by run.
  static func unfold(
    _ images: UnsafePointer<Scalar>, count: Int, channels c: Int, imageSize: (h: Int, w: Int),
    _ windows: SlidingWindows, outputSize: (ho: Int, wo: Int), into columns: UnsafeMutablePointer<Scalar>
  ) {
    let (h, w) = imageSize
    let (kh, kw) = (windows.kernelSize[0], windows.kernelSize[1])
    let (ph, pw) = (windows.padding[0], windows.padding[1])
    let (hp, wp) = (h + 2 * ph, w + 2 * pw)
    let (ho, wo) = outputSize
    let (rows, positions) = (c * kh * kw, ho * wo)
    guard windows.stride == [1, 1] && windows.dilation == [1, 1] else {
      for image in 0..<count {
        forEachTap(windows, channels: c, imageSize: imageSize, outputSize: outputSize) {
          row, source, target, runLength, step in
          unfoldRun(
            from: images + image * c * h * w, source,
            into: columns + (image * rows + row) * positions + target,
            count: runLength, step: step)
        }
      }
      return
    }
    withPaddedImages(images, count: count * c, size: (h, w), padding: (ph, pw)) { padded in
      forEachDenseTap(count: count, channels: c, kernelSize: (kh, kw), paddedSize: (hp, wp)) {
        image, row, tap in
        copyRuns(
          columns + (image * rows + row) * positions, stride: wo, from: padded + tap, stride: wp, runs: ho,
          length: wo)
      }
    }
  }

  /// Calls `body` for every tap of every channel of `count` zero-padded images of `paddedSize`,
  /// with the image, the tap's column row, and the offset of the tap's first scalar in the
  /// padded images.
  @inline(__always)
  static func forEachDenseTap(
    count: Int, channels c: Int, kernelSize: (h: Int, w: Int), paddedSize: (h: Int, w: Int),
    _ body: (_ image: Int, _ row: Int, _ tap: Int) -> Void
  ) {
    for image in 0..<count {
      for channel in 0..<c {
        let plane = (image * c + channel) * paddedSize.h * paddedSize.w
        for i in 0..<kernelSize.h {
          for j in 0..<kernelSize.w {
            body(image, (channel * kernelSize.h + i) * kernelSize.w + j, plane + i * paddedSize.w + j)
          }
        }
      }
    }
  }

  /// ``folded(_:imageSize:)`` for stride 1 and dilation 1: the images split across threads,
  /// each share through ``fold(_:count:channels:imageSize:_:outputSize:into:)``.
  func denselyFolded(_ g: ConvolutionGeometry) -> Tensor {
    let isLarge = g.n * g.rows * g.positions * MemoryLayout<Scalar>.size >= 1 << 20
    return withUnsafeBufferPointer { x in
      Tensor(uncheckedShape: [g.n, g.c, g.h, g.w], count: g.n * g.imageCount) { out in
        let (x, out) = (x.baseAddress!, out.baseAddress!)
        ParallelExecution.forEachShare(of: g.n, isLarge: isLarge) { share in
          Tensor.fold(
            x + share.lowerBound * g.rows * g.positions, count: share.count, channels: g.c,
            imageSize: (g.h, g.w),
            g.windows, outputSize: (g.ho, g.wo), into: out + share.lowerBound * g.imageCount)
        }
      }
    }
  }

  /// Columns `[count, C·kh·kw, Ho·Wo]` added back into `count` images `[C, H, W]` (col2im),
  /// which it initialises, on the calling thread: the adjoint of
  /// ``unfold(_:count:channels:imageSize:_:outputSize:into:)``.
  ///
  /// For stride 1 and dilation 1 a C kernel (`bp_fold_dense_*`) gathers each pixel's taps
  /// instead: every vector of an image row sums its taps in a register and is stored once. Each
  /// pixel adds its taps in the same order as the run-by-run path, so the sums are the same bits.
  static func fold(
    _ columns: UnsafePointer<Scalar>, count: Int, channels c: Int, imageSize: (h: Int, w: Int),
    _ windows: SlidingWindows, outputSize: (ho: Int, wo: Int), into images: UnsafeMutablePointer<Scalar>
  ) {
    let (h, w) = imageSize
    let (kh, kw) = (windows.kernelSize[0], windows.kernelSize[1])
    let (ph, pw) = (windows.padding[0], windows.padding[1])
    let (ho, wo) = outputSize
    let (rows, positions, planes) = (c * kh * kw, ho * wo, count * c)
    let isDense = windows.stride == [1, 1] && windows.dilation == [1, 1]
    if isDense && Scalar.self == Float.self {
      bp_fold_dense_f32(
        UnsafeRawPointer(columns).assumingMemoryBound(to: Float.self), planes, kh, kw, ho, wo, ph, pw, h, w,
        UnsafeMutableRawPointer(images).assumingMemoryBound(to: Float.self))
    } else if isDense && Scalar.self == Double.self {
      bp_fold_dense_f64(
        UnsafeRawPointer(columns).assumingMemoryBound(to: Double.self), planes, kh, kw, ho, wo, ph, pw, h, w,
        UnsafeMutableRawPointer(images).assumingMemoryBound(to: Double.self))
    } else {
      images.initialize(repeating: 0, count: count * c * h * w)
      for image in 0..<count {
        forEachTap(windows, channels: c, imageSize: imageSize, outputSize: outputSize) {
          row, source, target, runLength, step in
          foldRun(
            from: columns + (image * rows + row) * positions + target, into: images + image * c * h * w,
            source,
            count: runLength, step: step)
        }
      }
    }
  }

  /// Calls `body` with `count` planes of `size` from `images` surrounded by `padding` zeros, or
  /// with `images` itself when there is no padding.
  static func withPaddedImages(
    _ images: UnsafePointer<Scalar>, count: Int, size: (h: Int, w: Int), padding: (h: Int, w: Int),
    _ body: (UnsafePointer<Scalar>) -> Void
  ) {
    guard padding.h > 0 || padding.w > 0 else { return body(images) }
    let (hp, wp) = (size.h + 2 * padding.h, size.w + 2 * padding.w)
    withUnsafeTemporaryAllocation(of: Scalar.self, capacity: count * hp * wp) { padded in
      pad(images, count: count, size: size, padding: padding, into: padded.baseAddress!)
      body(padded.baseAddress!)
    }
  }

  /// `count` planes of `size` from `images` surrounded by `padding` zeros, written to `padded`
  /// (`count` planes of the padded size, which it initialises).
  static func pad(
    _ images: UnsafePointer<Scalar>, count: Int, size: (h: Int, w: Int), padding: (h: Int, w: Int),
    into padded: UnsafeMutablePointer<Scalar>
  ) {
    let (hp, wp) = (size.h + 2 * padding.h, size.w + 2 * padding.w)
    padded.initialize(repeating: 0, count: count * hp * wp)
    for plane in 0..<count {
      copyRuns(
        padded + plane * hp * wp + padding.h * wp + padding.w, stride: wp,
        from: images + plane * size.h * size.w,
        stride: size.w, runs: size.h, length: size.w)
    }
  }

  /// `runs` runs of `length` scalars from `source` to `destination`, each run `sourceStride` and
  /// `destinationStride` scalars after the previous one (`bp_copy_runs_*` for `Float` and
  /// `Double`).
  @inline(__always)
  static func copyRuns(
    _ destination: UnsafeMutablePointer<Scalar>, stride destinationStride: Int,
    from source: UnsafePointer<Scalar>,
    stride sourceStride: Int, runs: Int, length: Int
  ) {
    if Scalar.self == Float.self {
      bp_copy_runs_f32(
        UnsafeMutableRawPointer(destination).assumingMemoryBound(to: Float.self), destinationStride,
        UnsafeRawPointer(source).assumingMemoryBound(to: Float.self), sourceStride, runs, length)
    } else if Scalar.self == Double.self {
      bp_copy_runs_f64(
        UnsafeMutableRawPointer(destination).assumingMemoryBound(to: Double.self), destinationStride,
        UnsafeRawPointer(source).assumingMemoryBound(to: Double.self), sourceStride, runs, length)
    } else {
      for r in 0..<runs {
        for t in 0..<length { destination[r * destinationStride + t] = source[r * sourceStride + t] }
      }
    }
  }

  /// Where the largest element of every window of every channel is (for max pooling): for
  /// images `[N, C, H, W]`, the offset into the tensor's scalars of each window's maximum, in
  /// the row-major order of an output `[N, C, Ho, Wo]`.
  ///
  /// Taps on the padding are skipped. Of equal elements the first in the window's row-major
  /// order wins, and a NaN wins over numbers (the last NaN of a window), as in PyTorch's
  /// `max_pool2d`.
  /// - Precondition: rank 4, the window fits, and the padding is at most half the kernel size
  ///   (PyTorch's bound, which leaves every window a tap in the image).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func windowMaximumOffsets(_ windows: SlidingWindows) -> [Int] {
    windowSearch(windows, size: searchSize(windows, operation: "windowMaximumOffsets"), values: nil)
  }

  /// The largest element of every window of every channel (max pooling's forward pass), and
  /// where it is: ``windowMaximumOffsets(_:)``, with the scalars at those offsets as a tensor
  /// `[N, C, Ho, Wo]`, read by the search as it goes.
  ///
  /// - Precondition: as for ``windowMaximumOffsets(_:)``.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func windowMaxima(_ windows: SlidingWindows) -> (values: Tensor, offsets: [Int]) {
    let (planes, ho, wo) = searchSize(windows, operation: "windowMaxima")
    var offsets: [Int] = []
    let values = Tensor(uncheckedShape: [shape[0], shape[1], ho, wo], count: planes * ho * wo) { values in
      offsets = windowSearch(windows, size: (planes, ho, wo), values: values.baseAddress)
    }
    return (values, offsets)
  }

  /// The planes (N·C) and the output's height and width of a window search, after checking the
  /// images and the windows, naming `operation`.
  private func searchSize(_ windows: SlidingWindows, operation: String) -> (planes: Int, ho: Int, wo: Int) {
    let shape = self.shape
    check(shape.count == 4, "\(operation): images must be [N, C, H, W], got shape \(shape)")
    let (h, w) = (shape[2], shape[3])
    let output = windows.outputSize(forImageSize: [h, w])
    check(
      output[0] > 0 && output[1] > 0
        && (0..<2).allSatisfy { 2 * windows.padding[$0] <= windows.kernelSize[$0] },
      "\(operation): a \(windows.kernelSize) window (padding \(windows.padding), dilation "
        + "\(windows.dilation)) does not fit an image of \([h, w]), or its padding is more than half of it")
    return (shape[0] * shape[1], output[0], output[1])
  }

  /// The search of ``windowMaximumOffsets(_:)`` (`bp_window_maximum_offsets_*`) for the checked
  /// `size` of ``searchSize(_:operation:)``, writing the elements at the offsets into `values` as
  /// well when it is given (its count initialised).
  private func windowSearch(
    _ windows: SlidingWindows, size: (planes: Int, ho: Int, wo: Int), values: UnsafeMutablePointer<Scalar>?
  ) -> [Int] {
    let (planes, ho, wo) = size
    let (h, w) = (shape[2], shape[3])
    let window = windows.kernelSize + windows.stride + windows.padding + windows.dilation
    // Every window of every plane gets its offset from the kernel, so the array is not zeroed
    // first.
    return withUnsafeBufferPointer { x in
      [Int](unsafeUninitializedCapacity: planes * ho * wo) { out, initialized in
        guard let x = UnsafeRawPointer(x.baseAddress), let start = out.baseAddress else { return }
        initialized = out.count
        let values = values.map { UnsafeMutableRawPointer($0) }
        // Each image's windows are its own, so the images split across threads.
        ParallelExecution.forEachShare(of: planes, isLarge: planes * h * w >= 1 << 18) { share in
          let (first, end) = (share.lowerBound, share.upperBound)
          if Scalar.self == Float.self {
            bp_window_maximum_offsets_f32(
              x.assumingMemoryBound(to: Float.self), first, end, h, w, window, ho, wo, start,
              values?.assumingMemoryBound(to: Float.self))
          } else {
            bp_window_maximum_offsets_f64(
              x.assumingMemoryBound(to: Double.self), first, end, h, w, window, ho, wo, start,
              values?.assumingMemoryBound(to: Double.self))
          }
        }
      }
    }
  }

  /// Calls `body` for every run of ``forEachTap(_:channels:imageSize:outputSize:_:)`` in every
  /// image, with the image's index first.
  ///
  /// Large batches and images go image by image, so that one image's columns are written or
  /// read in order while the image stays in the cache. A batch that fits in the cache goes tap
  /// by tap with the images innermost, which does the bookkeeping of a tap once for all images
  /// rather than once per image.
  @inline(__always)
  static func forEachRun(
    _ windows: SlidingWindows, images: Int, channels: Int, imageSize: (h: Int, w: Int),
    outputSize: (ho: Int, wo: Int),
    _ body: (_ image: Int, _ row: Int, _ source: Int?, _ target: Int, _ count: Int, _ step: Int) -> Void
  ) {
    let columnBytes =
      channels * windows.kernelSize[0] * windows.kernelSize[1] * outputSize.ho * outputSize.wo
      * MemoryLayout<Scalar>.size
    let imageBytes = images * channels * imageSize.h * imageSize.w * MemoryLayout<Scalar>.size
    if imageBytes > 1 << 19 || columnBytes >= 1 << 16 || outputSize.wo >= 16 {
      // Each image's columns and pixels are its own, so the images split across threads.
      ParallelExecution.forEachShare(of: images, isLarge: imageBytes + images * columnBytes >= 1 << 20) {
        share in
        for image in share {
          forEachTap(windows, channels: channels, imageSize: imageSize, outputSize: outputSize) {
            body(image, $0, $1, $2, $3, $4)
          }
        }
      }
    } else {
      forEachTap(windows, channels: channels, imageSize: imageSize, outputSize: outputSize) {
        row, source, target, count, step in
        for image in 0..<images { body(image, row, source, target, count, step) }
      }
    }
  }

  /// Calls `body` for every run of window positions along a row of the output that read one row
  /// of one channel of the image: with the column row, the offset of the first tap in an image
  /// (`nil` for a run on the padding), the offset of the first position in the columns, the
  /// run's length, and the step between taps in the image.
  ///
  /// Runs split where the taps leave the image, so the loops inside have no bounds checks.
  @inline(__always)
  static func forEachTap(
    _ windows: SlidingWindows, channels: Int, imageSize: (h: Int, w: Int), outputSize: (ho: Int, wo: Int),
    _ body: (_ row: Int, _ source: Int?, _ target: Int, _ count: Int, _ step: Int) -> Void
  ) {
    let (kh, kw) = (windows.kernelSize[0], windows.kernelSize[1])
    let (sh, sw) = (windows.stride[0], windows.stride[1])
    let (ph, pw) = (windows.padding[0], windows.padding[1])
    let (dh, dw) = (windows.dilation[0], windows.dilation[1])
    let (h, w) = imageSize
    let (ho, wo) = outputSize
    for channel in 0..<channels {
      for i in 0..<kh {
        for j in 0..<kw {
          let row = (channel * kh + i) * kw + j
          // Output columns oj whose tap column oj·sw − pw + j·dw lies in 0..<w.
          let offset = j * dw - pw
          let first = offset >= 0 ? 0 : (-offset + sw - 1) / sw
          let last = Swift.min(wo, offset >= w ? 0 : (w - 1 - offset) / sw + 1)
          for oi in 0..<ho {
            let ii = oi * sh - ph + i * dh
            let target = oi * wo
            guard ii >= 0 && ii < h && first < last else {
              body(row, nil, target, wo, sw)
              continue
            }
            if first > 0 { body(row, nil, target, first, sw) }
            body(row, (channel * h + ii) * w + first * sw + offset, target + first, last - first, sw)
            if last < wo { body(row, nil, target + last, wo - last, sw) }
          }
        }
      }
    }
  }
}
