import BackpropKernels

/// 2-D convolutions and their two gradients as tensor functions: one matrix product per image
/// with the image's windows as columns (im2col).
///
/// In a large batch each image's columns are made in a scratch buffer of one image's size, used
/// at once and overwritten by the next image's, so they stay in the cache; the batch's columns
/// (nine times the images for a 3×3 filter) are not stored. A small batch's columns are made
/// once, image by image in the same way, and kept (see
/// `convolvedKeepingColumns(with:bias:_:)`). Every product and every sum is the one that
/// `unfolded(_:)`, `matmul` and `folded(_:imageSize:)` would compute, in the same order, so the
/// results are the same bits.
extension Tensor {
  /// The 2-D cross-correlation of images `[N, C, H, W]` with filters `[O, C, kh, kw]` (PyTorch's
  /// `F.conv2d`): `[N, O, Ho, Wo]`, out[n, o] = filter[o] · columns(image n) + bias[o].
  ///
  /// - Parameters:
  ///   - filter: The filters `[O, C, kh, kw]`, with the images' channel count.
  ///   - bias: One value per filter, `[O]`, added to every position of its output channel while
  ///     the image's output is in the cache; `nil` (the default) for none.
  ///   - windows: The windows' kernel size (the filter's), stride, padding and dilation.
  /// - Precondition: both have rank 4, the channel counts and the kernel size agree, a window
  ///   fits, and the bias has shape `[O]`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func convolved(with filter: Tensor, bias: Tensor? = nil, _ windows: SlidingWindows) -> Tensor {
    convolvedKeepingColumns(with: filter, bias: bias, windows).output
  }

  /// ``convolved(with:bias:_:)``, and the batch's columns `[N, C·kh·kw, Ho·Wo]` when they are
  /// small enough to keep for the filter's gradient (at most ``keptColumnsLimit`` bytes).
  ///
  /// Image by image, the columns are made and multiplied at once, while they are in the cache:
  /// into the kept columns, or into a scratch buffer that the next image overwrites. Both give
  /// the same bits.
  ///
  /// With `rectified`, each image's output also goes through ReLU, max(z, 0), while it is in the
  /// cache: the values of `convolved(with:bias:_:).relu()` without a second pass over the batch's
  /// output, for a convolution layer whose ReLU is recorded with it.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  package func convolvedKeepingColumns(
    with filter: Tensor, bias: Tensor? = nil, _ windows: SlidingWindows, rectified: Bool = false
  )
    -> (output: Tensor, columns: Tensor?)
  {
    let geometry = ConvolutionGeometry(images: shape, filter: filter.shape, windows, operation: "convolved")
    let (n, o, rows, positions) = (geometry.n, geometry.o, geometry.rows, geometry.positions)
    if let bias {
      check(bias.shape == [o], "convolved: bias of shape \(bias.shape) for \(o) filters; expected [\(o)]")
    }
    let keeps = n * rows * positions * MemoryLayout<Scalar>.size <= Tensor.keptColumnsLimit
    var kept: Tensor?
    let output = withUnsafeBufferPointer { x in
      filter.withUnsafeBufferPointer { f in
        Tensor(uncheckedShape: [n, o, geometry.ho, geometry.wo], count: n * o * positions) { out in
          let (x, f, out) = (x.baseAddress!, f.baseAddress!, out.baseAddress!)
          // Into `columns` when it is given (image i's at i·rows·positions), else into scratch.
          let convolve = { (columns: UnsafeMutablePointer<Scalar>?, bias: UnsafePointer<Scalar>?) in
            MatrixKernels.withPackedOperand(f, m: o, k: rows, n: positions, transposeA: false) { packed in
              geometry.forEachImage(scratch: columns == nil ? rows * positions : 0) {
                image, scratch, onCallingThread in
                let columns = columns.map { $0 + image * rows * positions } ?? scratch
                geometry.unfold(x + image * geometry.imageCount, into: columns)
                let output = out + image * o * positions
                MatrixKernels.product(
                  f, packed: packed, columns, output, m: o, k: rows, n: positions,
                  transposeA: false, transposeB: false, onCallingThread: onCallingThread)
                if rectified {
                  Tensor.rectifyRows(of: output, adding: bias, rows: o, length: positions)
                } else if let bias {
                  Tensor.addRows(bias, to: output, rows: o, length: positions)
                }
              }
            }
          }
          Tensor.withScalars(of: bias) { bias in
            if keeps {
              kept = Tensor(uncheckedShape: [n, rows, positions], count: n * rows * positions) {
                convolve($0.baseAddress!, bias)
              }
            } else {
              convolve(nil, bias)
            }
          }
        }
      }
    }
    return (output, kept)
  }

  /// The largest batch of columns, in bytes, that ``convolvedKeepingColumns(with:bias:_:)``
  /// keeps: 4 MiB. Columns this small are still in the cache when the backward pass reads them,
  /// which is cheaper than making them again; larger ones are made image by image, twice, in a
  /// buffer that stays in the cache, instead of going out to memory and back.
  package static var keptColumnsLimit: Int { 4 << 20 }

  /// The gradient of ``convolved(with:bias:_:)`` with respect to its images, for this upstream
  /// gradient `[N, O, Ho, Wo]`: filterᵀ times each image's upstream gradient, added back into
  /// the image (col2im). `[N, C, H, W]`.
  ///
  /// - Parameters:
  ///   - filter: The filters `[O, C, kh, kw]` of the convolution.
  ///   - windows: The convolution's windows.
  ///   - imageSize: `[H, W]` of the images.
  /// - Precondition: the shapes are those of a convolution of such images.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func convolutionInputGradient(filter: Tensor, _ windows: SlidingWindows, imageSize: [Int]) -> Tensor
  {
    let filterShape = filter.shape
    check(
      shape.count == 4 && filterShape.count == 4 && imageSize.count == 2,
      "convolutionInputGradient: upstream \(shape) must be [N, O, Ho, Wo], filter \(filterShape) "
        + "[O, C, kh, kw] and imageSize \(imageSize) [H, W]")
    let geometry = ConvolutionGeometry(
      images: [shape[0], filterShape[1]] + imageSize, filter: filterShape, windows,
      operation: "convolutionInputGradient")
    let (n, o, rows, positions) = (geometry.n, geometry.o, geometry.rows, geometry.positions)
    check(
      shape == [n, o, geometry.ho, geometry.wo],
      "convolutionInputGradient: upstream \(shape) ≠ the convolution's output \([n, o, geometry.ho, geometry.wo])"
    )
    return withUnsafeBufferPointer { g in
      filter.withUnsafeBufferPointer { f in
        Tensor(uncheckedShape: [n, geometry.c] + imageSize, count: n * geometry.imageCount) { out in
          let (g, f, out) = (g.baseAddress!, f.baseAddress!, out.baseAddress!)
          MatrixKernels.withPackedOperand(f, m: rows, k: o, n: positions, transposeA: true) { packed in
            geometry.forEachImage(scratch: rows * positions) { image, columns, onCallingThread in
              MatrixKernels.product(
                f, packed: packed, g + image * o * positions, columns, m: rows, k: o, n: positions,
                transposeA: true, transposeB: false, onCallingThread: onCallingThread)
              geometry.fold(columns, into: out + image * geometry.imageCount)
            }
          }
        }
      }
    }
  }

  /// The gradient of ``convolved(with:bias:_:)`` with respect to its filters, for this upstream
  /// gradient `[N, O, Ho, Wo]`: each image's upstream gradient times its columns transposed,
  /// summed over the batch. `[O, C, kh, kw]`.
  ///
  /// Without `columns`, each image's columns are made again in a scratch buffer; with dense
  /// windows (stride 1, dilation 1) they are packed for the matrix kernels straight from a
  /// zero-padded copy of the image, which gives the same bits.
  ///
  /// - Parameters:
  ///   - images: The convolution's images `[N, C, H, W]`.
  ///   - windows: The convolution's windows.
  ///   - columns: `images.unfolded(windows)` when it has been made already (the forward pass of
  ///     `conv2d` keeps the columns of a small batch), else `nil`.
  /// - Precondition: the shapes are those of a convolution of `images`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func convolutionFilterGradient(images: Tensor, _ windows: SlidingWindows, columns: Tensor? = nil)
    -> Tensor
  {
    let (geometry, filterShape) = filterGradientGeometry(
      images: images.shape, windows, columns: columns, operation: "convolutionFilterGradient")
    let (n, o, rows, positions) = (geometry.n, geometry.o, geometry.rows, geometry.positions)
    // The gradient is gᵢ·colsᵢᵀ summed over the images, [O, rows]; when the filters are no more
    // than the rows, it is computed as its transpose colsᵢ·gᵢᵀ, [rows, O], and transposed at the
    // end: the longer side then runs along the micro-kernel's rows, and the image's columns are
    // packed as the left operand, which costs less than packing them transposed on the right
    // (32×144×784: 84 → 93 GFLOPS on the AVX-512 path). Each element is the same sum of the same
    // products in the same order either way, so the bits do not change.
    let transposes = o <= rows
    let (m, width) = transposes ? (rows, o) : (o, rows)
    let finished = { (gradient: Tensor) -> Tensor in
      (transposes ? gradient.transposed() : gradient).reshaped(to: filterShape)
    }
    // The images in order on this thread, each product added to the result at once: the bits of
    // summing the products afterwards, without the batch of products.
    if MatrixKernels.addsProducts(of: Scalar.self, m: m, k: positions, n: width),
      let gradients = convolutionGradientsByImage(
        images: images, filter: nil, windows, columns: columns, rectifiedOutput: nil)
    {
      return gradients.filter
    }
    if let columns {
      let upstream = reshaped(to: [n, o, positions])
      return finished(
        Tensor.batchedProduct(
          transposes ? columns : upstream, transposes ? upstream : columns, transposeA: false,
          transposeB: true
        )
        .unbroadcasted(to: [m, width]))
    }
    // One product per image, summed over the batch afterwards in a fixed order, so that the bits
    // do not depend on how the images split across threads. When the columns are the left
    // operand and the windows are dense, they are packed straight from the padded image, never
    // written as a matrix; the packed panels hold the same values, so the bits are the same.
    let packsWindows = transposes && geometry.packsWindows(of: Scalar.self, filters: o)
    let products = withUnsafeBufferPointer { g in
      images.withUnsafeBufferPointer { x in
        Tensor(uncheckedShape: [n, m, width], count: n * m * width) { out in
          let (g, x, out) = (g.baseAddress!, x.baseAddress!, out.baseAddress!)
          let scratchCount = packsWindows ? geometry.packedWindowsScratch : rows * positions
          geometry.forEachImage(scratch: scratchCount) { image, scratch, onCallingThread in
            let upstream = g + image * o * positions
            let result = out + image * m * width
            if packsWindows {
              let packed = geometry.packWindows(of: x + image * geometry.imageCount, scratch: scratch)
              MatrixKernels.prepackedProduct(
                packed, upstream, result, m: m, k: positions, n: width, transposeB: true, adding: false,
                onCallingThread: onCallingThread)
              return
            }
            let columns = UnsafePointer(scratch)
            geometry.unfold(x + image * geometry.imageCount, into: scratch)
            MatrixKernels.product(
              transposes ? columns : upstream, packed: nil, transposes ? upstream : columns, result, m: m,
              k: positions,
              n: width,
              transposeA: false, transposeB: true, onCallingThread: onCallingThread)
          }
        }
      }
    }
    return finished(products.unbroadcasted(to: [m, width]))
  }
}

extension Tensor {
  /// This upstream gradient `[N, O, H, W]` where `output` is positive and 0 elsewhere (ReLU's
  /// pullback, read from its output), and that masked gradient's sums over N, H and W, `[O]` (a
  /// per-channel bias's gradient): the bits of ``zeroed(whereNotPositive:)`` and of
  /// `unbroadcasted(to: [O, 1, 1])` on its result, in one pass over the batch. Each image's rows
  /// are summed while they are in the cache, in the order of the whole tensor's reduction (each
  /// row's sum, then the images' sums added in turn), instead of read back from memory.
  ///
  /// - Precondition: both are `[N, O, H, W]` of the same shape.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  package func zeroedWithChannelSums(whereNotPositive output: Tensor) -> (masked: Tensor, sums: Tensor) {
    let shape = self.shape
    check(
      shape.count == 4 && output.hasSameShape(as: self),
      "zeroedWithChannelSums(whereNotPositive:): gradient \(shape) and output \(output.shape) must be one [N, O, H, W]"
    )
    let (n, o, length) = (shape[0], shape[1], shape[2] * shape[3])
    var sums = [Scalar](repeating: 0, count: o)
    let masked = withUnsafeBufferPointer { g in
      output.withUnsafeBufferPointer { y in
        Tensor.makeBuffer(count: g.count) { out in
          guard g.count > 0 else { return }
          let (g, y, out) = (g.baseAddress!, y.baseAddress!, out.baseAddress!)
          withUnsafeTemporaryAllocation(of: Scalar.self, capacity: o) { imageSums in
            for image in 0..<n {
              let start = image * o * length
              Tensor.mask(g + start, where: y + start, into: out + start, count: o * length)
              Tensor.sumRows(out + start, rows: o, length: length, into: imageSums.baseAddress!)
              for channel in 0..<o { sums[channel] += imageSums[channel] }
            }
          }
        }
      }
    }
    return (Tensor(uncheckedShape: shape, buffer: masked), Tensor(uncheckedShape: [o], scalars: sums))
  }

  /// A convolution's gradients for this upstream gradient `[N, O, Ho, Wo]` in one pass over the
  /// batch, image by image: the filter's (``convolutionFilterGradient(images:_:columns:)``); the
  /// images' too when `filter` is given (``convolutionInputGradient(filter:_:imageSize:)``); and
  /// with `rectifiedOutput` y, those of relu(conv2d(images, filter) + bias) instead, with the
  /// bias's: the gradient masked where y > 0, and its sums over N, Ho and Wo, as
  /// ``zeroedWithChannelSums(whereNotPositive:)`` makes them, without the masked gradient as a
  /// tensor.
  ///
  /// Each image's upstream gradient (or its mask, in a scratch buffer of one image) is read from
  /// memory once and is still in the cache for the image's second product, and for its rows'
  /// sums; the separate functions read the batch's gradient once each. Every product is the one
  /// those functions make for the image, and the filter's products are added in turn to zeros, as
  /// that function or its sum over the batch adds them: the results are the same bits.
  ///
  /// - Returns: `nil` when the images would split across threads, which the separate functions
  ///   do with all of the (masked) gradient in hand.
  /// - Precondition: the shapes are those of a convolution of `images` with `filter` and its
  ///   output.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  package func convolutionGradientsByImage(
    images: Tensor, filter: Tensor?, _ windows: SlidingWindows, columns: Tensor?, rectifiedOutput: Tensor?
  ) -> (input: Tensor?, filter: Tensor, bias: Tensor?)? {
    let operation = "convolutionGradientsByImage"
    if let rectifiedOutput {
      check(
        rectifiedOutput.hasSameShape(as: self),
        "\(operation): output \(rectifiedOutput.shape) ≠ upstream \(shape)")
    }
    let (geometry, filterShape) = filterGradientGeometry(
      images: images.shape, windows, columns: columns, operation: operation)
    if let filter {
      check(filter.shape == filterShape, "\(operation): filter \(filter.shape) ≠ \(filterShape)")
    }
    let (n, o, rows, positions) = (geometry.n, geometry.o, geometry.rows, geometry.positions)
    guard n > 0 && !geometry.splitsByImages else { return nil }
    // The choices of convolutionFilterGradient(images:_:columns:), which see its comments.
    let transposes = o <= rows
    let (m, width) = transposes ? (rows, o) : (o, rows)
    let addsInPlace = MatrixKernels.addsProducts(of: Scalar.self, m: m, k: positions, n: width)
    let packsWindows =
      columns == nil && transposes && geometry.packsWindows(of: Scalar.self, filters: o)
    let masks = rectifiedOutput != nil
    var sums = [Scalar](repeating: 0, count: masks ? o : 0)
    var inputGradient: Tensor?
    let gradient = withUnsafeBufferPointer { g in
      Tensor.withScalars(of: rectifiedOutput) { y in
        Tensor.withScalars(of: filter) { f in
          images.withUnsafeBufferPointer { x in
            Tensor.withScalars(of: columns) { kept in
              Tensor(uncheckedShape: [m, width], count: m * width) { out in
                let (g, x, out) = (g.baseAddress!, x.baseAddress!, out.baseAddress!)
                out.initialize(repeating: 0, count: m * width)
                // One scratch buffer for the image's columns: the gradient's, folded into the image
                // before the filter's are made.
                let filterScratch =
                  kept != nil ? 1 : packsWindows ? geometry.packedWindowsScratch : rows * positions
                let scratchCount = Swift.max(filterScratch, f != nil ? rows * positions : 1)
                let (maskedCount, productCount) = (masks ? o * positions + o : 0, addsInPlace ? 0 : m * width)
                let byImage = {
                  (input: UnsafeMutablePointer<Scalar>?, packedFilter: UnsafePointer<Scalar>?) in
                  withUnsafeTemporaryAllocation(of: Scalar.self, capacity: maskedCount + productCount + 1) {
                    buffer in
                    let (masked, product) = (buffer.baseAddress!, buffer.baseAddress! + maskedCount)
                    let imageSums = masked + o * positions
                    withUnsafeTemporaryAllocation(of: Scalar.self, capacity: scratchCount) { scratch in
                      let scratch = scratch.baseAddress!
                      for image in 0..<n {
                        var upstream = g + image * o * positions
                        if let y {
                          // ReLU's pullback and the bias's sums, as zeroedWithChannelSums makes them.
                          let start = image * o * positions
                          Tensor.mask(g + start, where: y + start, into: masked, count: o * positions)
                          Tensor.sumRows(masked, rows: o, length: positions, into: imageSums)
                          for channel in 0..<o { sums[channel] += imageSums[channel] }
                          upstream = UnsafePointer(masked)
                        }
                        if let input, let f {
                          // The image's gradient, as convolutionInputGradient makes it.
                          MatrixKernels.product(
                            f, packed: packedFilter, upstream, scratch, m: rows, k: o, n: positions,
                            transposeA: true, transposeB: false, onCallingThread: false)
                          geometry.fold(scratch, into: input + image * geometry.imageCount)
                        }
                        // The image's filter product, added to the others.
                        if packsWindows {
                          let packed = geometry.packWindows(
                            of: x + image * geometry.imageCount, scratch: scratch)
                          MatrixKernels.prepackedProduct(
                            packed, upstream, addsInPlace ? out : product, m: m, k: positions, n: width,
                            transposeB: true, adding: addsInPlace, onCallingThread: false)
                        } else {
                          var imageColumns = UnsafePointer(scratch)
                          if let kept {
                            imageColumns = kept + image * rows * positions
                          } else {
                            geometry.unfold(x + image * geometry.imageCount, into: scratch)
                          }
                          let (a, b) = transposes ? (imageColumns, upstream) : (upstream, imageColumns)
                          if addsInPlace {
                            MatrixKernels.addProduct(
                              a, b, out, m: m, k: positions, n: width, transposeA: false, transposeB: true)
                          } else {
                            MatrixKernels.product(
                              a, packed: nil, b, product, m: m, k: positions, n: width, transposeA: false,
                              transposeB: true, onCallingThread: false)
                          }
                        }
                        // The batch's sum of products, in order (sum(alongAxes: [0])).
                        if !addsInPlace { for j in 0..<(m * width) { out[j] += product[j] } }
                      }
                    }
                  }
                }
                guard let f else { return byImage(nil, nil) }
                inputGradient = Tensor(
                  uncheckedShape: [n, geometry.c, geometry.h, geometry.w], count: n * geometry.imageCount
                ) { input in
                  MatrixKernels.withPackedOperand(f, m: rows, k: o, n: positions, transposeA: true) {
                    packed in
                    byImage(input.baseAddress!, packed)
                  }
                }
              }
            }
          }
        }
      }
    }
    return (
      inputGradient,
      (transposes ? gradient.transposed() : gradient).reshaped(to: filterShape),
      masks ? Tensor(uncheckedShape: [o], scalars: sums) : nil
    )
  }

  /// The geometry of a filter gradient for this upstream gradient and images of `imagesShape`,
  /// and the filters' shape `[O, C, kh, kw]`, after checking the shapes (and the kept columns'),
  /// naming `operation`.
  private func filterGradientGeometry(
    images imagesShape: [Int], _ windows: SlidingWindows, columns: Tensor?, operation: String
  ) -> (ConvolutionGeometry, filterShape: [Int]) {
    check(
      shape.count == 4 && imagesShape.count == 4,
      "\(operation): upstream \(shape) must be [N, O, Ho, Wo] and images \(imagesShape) [N, C, H, W]")
    let filterShape = [shape[1], imagesShape[1]] + windows.kernelSize
    let geometry = ConvolutionGeometry(
      images: imagesShape, filter: filterShape, windows, operation: operation)
    let (n, o, rows, positions) = (geometry.n, geometry.o, geometry.rows, geometry.positions)
    check(
      shape == [n, o, geometry.ho, geometry.wo],
      "\(operation): upstream \(shape) ≠ the convolution's output \([n, o, geometry.ho, geometry.wo])")
    if let columns {
      check(
        columns.shape == [n, rows, positions],
        "\(operation): columns \(columns.shape) ≠ the images' columns \([n, rows, positions])")
    }
    return (geometry, filterShape)
  }

  /// `count` scalars of `gradient` where `output` is positive and 0 elsewhere, into `masked`
  /// (ReLU's pullback read from its output).
  ///
  /// A function of its own, specialised: inlined into the loops over images that call it, the
  /// select compiled to a branch per scalar, which mispredicts on a layer's mixed signs; here it
  /// is vector compares and masks.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private static func mask(
    _ gradient: UnsafePointer<Scalar>, where output: UnsafePointer<Scalar>,
    into masked: UnsafeMutablePointer<Scalar>, count: Int
  ) {
    for i in 0..<count {
      let (g, y) = (gradient[i], output[i])
      masked[i] = y > 0 ? g : 0
    }
  }

  /// The sum of each of `rows` rows of `length` scalars, as ``sum(alongAxes:)`` makes them
  /// (``rowSums`` for `Float` and `Double`).
  private static func sumRows(
    _ matrix: UnsafePointer<Scalar>, rows: Int, length: Int, into sums: UnsafeMutablePointer<Scalar>
  ) {
    if let rowSums {
      rowSums(matrix, rows, length, sums)
      return
    }
    for r in 0..<rows { sums[r] = Tensor.combined(matrix + r * length, count: length, initial: 0, +) }
  }

  /// Adds `values[r]` to each of the `length` scalars of row `r` of `matrix`, as broadcasting a
  /// `[rows, 1]` tensor would.
  ///
  /// Specialised, as ``rectifyRows(of:adding:rows:length:)`` is: the closure of
  /// ``convolvedKeepingColumns(with:bias:_:rectified:)`` that calls them per image is not always
  /// inlined into that function's specialisations.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  fileprivate static func addRows(
    _ values: UnsafePointer<Scalar>, to matrix: UnsafeMutablePointer<Scalar>, rows: Int, length: Int
  ) {
    for r in 0..<rows {
      let (row, value) = (matrix + r * length, values[r])
      for j in 0..<length { row[j] += value }
    }
  }

  /// Replaces each scalar z of row `r` of `matrix` by relu(z + values[r]), or relu(z + 0) without
  /// `values`: the bits of adding the bias and then ``relu()``, which gives 0 for NaN and +0
  /// for −0 (z + 0 differs from z only at −0, which ReLU makes +0 either way).
  ///
  /// Written as max(0, s) + 0, which compiles to vector compares, masks and adds: `s > 0 ? s : 0`
  /// stored in place compiled to a branch per element that stored only the zeros, mispredicting
  /// on a layer's mixed signs. max(0, s) is 0 for NaN, and the + 0 turns its −0 into +0.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  fileprivate static func rectifyRows(
    of matrix: UnsafeMutablePointer<Scalar>, adding values: UnsafePointer<Scalar>?, rows: Int, length: Int
  ) {
    for r in 0..<rows {
      let (row, value) = (matrix + r * length, values?[r] ?? 0)
      for j in 0..<length {
        let sum = row[j] + value
        row[j] = Swift.max(0, sum) + 0
      }
    }
  }

  /// Calls `body` with the scalars of `tensor`, or with `nil` when there is no tensor.
  fileprivate static func withScalars<R>(of tensor: Tensor?, _ body: (UnsafePointer<Scalar>?) -> R) -> R {
    guard let tensor else { return body(nil) }
    return tensor.withUnsafeBufferPointer { body($0.baseAddress) }
  }
}

/// The sizes of a convolution of images `[N, C, H, W]` with filters `[O, C, kh, kw]`, checked.
struct ConvolutionGeometry {
  let windows: SlidingWindows
  let (n, c, h, w): (Int, Int, Int, Int)
  let o: Int
  let (ho, wo): (Int, Int)
  /// C·kh·kw, the rows of an image's columns.
  var rows: Int { c * windows.kernelSize[0] * windows.kernelSize[1] }
  /// Ho·Wo, the columns' length.
  var positions: Int { ho * wo }
  /// C·H·W, the scalars of one image.
  var imageCount: Int { c * h * w }

  init(images: [Int], filter: [Int], _ windows: SlidingWindows, operation: String) {
    check(
      images.count == 4 && filter.count == 4 && images[1] == filter[1]
        && Array(filter[2...]) == windows.kernelSize,
      "\(operation): images \(images) must be [N, C, H, W] and filter \(filter) [O, C, kh, kw] with the "
        + "same C and the windows' kernel size \(windows.kernelSize)")
    self.init(
      images: (images[0], images[1], images[2], images[3]), filters: filter[0], windows, operation: operation)
  }

  /// The geometry of `images` (N, C, H, W) under `windows`, for `filters` output channels (0 for
  /// im2col and col2im alone).
  ///
  /// - Precondition: a window fits the padded image: the output is at least 1×1.
  init(images: (n: Int, c: Int, h: Int, w: Int), filters: Int, _ windows: SlidingWindows, operation: String) {
    let output = windows.outputSize(forImageSize: [images.h, images.w])
    check(
      output[0] > 0 && output[1] > 0,
      "\(operation): a \(windows.kernelSize) window (padding \(windows.padding), dilation "
        + "\(windows.dilation)) does not fit an image of \([images.h, images.w])")
    self.windows = windows
    (n, c, h, w) = images
    o = filters
    (ho, wo) = (output[0], output[1])
  }

  /// Whether the windows are dense (stride 1, dilation 1), which im2col and col2im copy tap by
  /// tap through a zero-padded image.
  var isDense: Bool { windows.stride == [1, 1] && windows.dilation == [1, 1] }

  /// Calls `body` for every image with a scratch buffer of `scratch` scalars, and whether its
  /// products run on the calling thread alone.
  ///
  /// A batch of at least as many images as threads splits by images, each product on one
  /// thread, as a batched `matmul` does; otherwise the images go in order and each product may
  /// split. Either way every product is computed the same way.
  func forEachImage<Scalar: TensorScalar>(
    scratch: Int,
    _ body: (_ image: Int, _ scratch: UnsafeMutablePointer<Scalar>, _ onCallingThread: Bool) -> Void
  ) {
    let splitByImages = splitsByImages
    ParallelExecution.forEachShare(of: n, isLarge: splitByImages) { images in
      withUnsafeTemporaryAllocation(of: Scalar.self, capacity: Swift.max(scratch, 1)) { buffer in
        for image in images { body(image, buffer.baseAddress!, splitByImages) }
      }
    }
  }

  /// Whether ``forEachImage(scratch:_:)`` splits the images across threads: when there are at
  /// least as many as threads and their products are large enough to share out.
  var splitsByImages: Bool {
    let threads = ParallelExecution.threadCount
    return threads > 1 && n >= threads && n * o * rows * positions >= MatrixKernels.parallelThreshold
  }

  /// The columns of one image `[C, H, W]` into `columns` `[C·kh·kw, Ho·Wo]`.
  func unfold<Scalar: TensorScalar>(
    _ image: UnsafePointer<Scalar>, into columns: UnsafeMutablePointer<Scalar>
  ) {
    Tensor.unfold(
      image, count: 1, channels: c, imageSize: (h, w), windows, outputSize: (ho, wo), into: columns)
  }

  /// Whether an image's columns can be packed straight from its padded copy as the left operand
  /// of a product with `filters` columns (``packWindows(of:scratch:)``): dense windows, `Float`
  /// or `Double`, a product large enough for the packed kernels, and output rows at least a
  /// vector wide (8 `Float`s or 4 `Double`s), which the vector path needs.
  func packsWindows<Scalar: TensorScalar>(of _: Scalar.Type, filters: Int) -> Bool {
    isDense && (Scalar.self == Float.self || Scalar.self == Double.self)
      && wo >= 32 / MemoryLayout<Scalar>.size
      && rows * positions * filters >= MatrixKernels.packedThreshold
  }

  /// The scalars of scratch that ``packWindows(of:scratch:)`` needs: the padded image and the
  /// packed columns.
  var packedWindowsScratch: Int {
    c * (h + 2 * windows.padding[0]) * (w + 2 * windows.padding[1]) + bp_gemm_packed_a_count(rows, positions)
  }

  /// One image's columns packed as the left operand of the matrix kernels
  /// (`bp_gemm_pack_windows_*`), made in `scratch` (``packedWindowsScratch`` scalars) from a
  /// zero-padded copy of the image: the same panels that packing its columns would give.
  /// - Precondition: ``packsWindows(of:filters:)``.
  func packWindows<Scalar: TensorScalar>(
    of image: UnsafePointer<Scalar>, scratch: UnsafeMutablePointer<Scalar>
  ) -> UnsafePointer<Scalar> {
    let (ph, pw) = (windows.padding[0], windows.padding[1])
    let (hp, wp) = (h + 2 * ph, w + 2 * pw)
    let packed = scratch + c * hp * wp
    var padded = image
    if ph > 0 || pw > 0 {
      Tensor.pad(image, count: c, size: (h, w), padding: (ph, pw), into: scratch)
      padded = UnsafePointer(scratch)
    }
    let (kh, kw, kernel) = (windows.kernelSize[0], windows.kernelSize[1], Int32(BP_KERNEL_AUTOMATIC))
    if Scalar.self == Float.self {
      bp_gemm_pack_windows_f32(
        kernel, UnsafeRawPointer(padded).assumingMemoryBound(to: Float.self), c, hp, wp, kh, kw,
        UnsafeMutableRawPointer(packed).assumingMemoryBound(to: Float.self))
    } else {
      bp_gemm_pack_windows_f64(
        kernel, UnsafeRawPointer(padded).assumingMemoryBound(to: Double.self), c, hp, wp, kh, kw,
        UnsafeMutableRawPointer(packed).assumingMemoryBound(to: Double.self))
    }
    return UnsafePointer(packed)
  }

  /// One image's columns added back into the image (which it initialises).
  func fold<Scalar: TensorScalar>(_ columns: UnsafePointer<Scalar>, into image: UnsafeMutablePointer<Scalar>)
  {
    Tensor.fold(columns, count: 1, channels: c, imageSize: (h, w), windows, outputSize: (ho, wo), into: image)
  }
}
