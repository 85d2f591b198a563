import Backprop
import BackpropTestSupport
import Testing

@Suite("backward() semantics")
struct BackwardTests {
  @Test("The documented API compiles and computes")
  func contract() throws {
    let t = try Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    let m: Tensor<Double> = [[1, 2], [3, 4]]
    let w = Variable(m, requiresGrad: true)
    let x = Variable(t)
    let a = Variable(-4.0, requiresGrad: true)
    let target = Tensor<Double>(zeros: [3, 2])
    let y = sigmoid(matmul(x.transposed(), w) + 1.5)
    let loss = squaredError(predicted: y, target: target)
    loss.backward()
    #expect(w.grad?.shape == w.value.shape)
    #expect(x.grad == nil)
    #expect(a.grad == nil)
    let grads = gradients(of: loss, withRespectTo: [w])
    #expect(grads[0].value == w.grad)
    w.zeroGrad()
    #expect(w.grad == nil)
    #expect(loss.value.shape == [])
  }

  @Test("A variable used twice receives both contributions (fan-out)")
  func fanOut() {
    let x = Variable(3.0, requiresGrad: true)
    let y = x * x + x  // dy/dx = 2x + 1 = 7
    y.backward()
    #expect(x.grad == Tensor(7.0))
  }

  @Test("Gradients accumulate across backward() calls until zeroGrad()")
  func accumulation() {
    let x = Variable(2.0, requiresGrad: true)
    (x * x).backward()
    (x * 3).backward()
    #expect(x.grad == Tensor(7.0))  // 2x + 3
    x.zeroGrad()
    (x * 3).backward()
    #expect(x.grad == Tensor(3.0))
  }

  @Test("backward() twice on the same graph adds the gradient twice (the graph is kept)")
  func backwardTwice() {
    let x = Variable(2.0, requiresGrad: true)
    let y = x * x * x  // 3x² = 12
    y.backward()
    y.backward()
    #expect(x.grad == Tensor(24.0))
  }

  @Test("backward(seed:) propagates an upstream gradient of any shape")
  func seeded() {
    let x = Variable(Tensor<Double>([1, 2, 3]), requiresGrad: true)
    (x * x).backward(seed: Tensor([1, 10, 100]))
    #expect(x.grad == Tensor([2, 40, 600]))
  }

  @Test("gradients(of:withRespectTo:) leaves .grad untouched and reaches intermediates")
  func gradientsFunction() {
    let x = Variable(3.0, requiresGrad: true)
    let h = x * x
    let y = h * 2 + 1
    let unused = Variable(5.0, requiresGrad: true)
    let g = gradients(of: y, withRespectTo: [x, h, unused])
    #expect(g[0].value == Tensor(12.0))
    #expect(g[1].value == Tensor(2.0))
    #expect(g[2].value == Tensor(0.0))
    #expect(x.grad == nil)
  }

  @Test("Broadcast operands get gradients summed back to their shapes")
  func unbroadcasting() {
    let a = Variable(Tensor<Double>(ones: [3, 1]), requiresGrad: true)
    let b = Variable(Tensor<Double>(ones: [1, 4]), requiresGrad: true)
    let c = Variable(2.0, requiresGrad: true)
    ((a + b) * c).sum().backward()
    #expect(a.grad == Tensor(repeating: 8, shape: [3, 1]))
    #expect(b.grad == Tensor(repeating: 6, shape: [1, 4]))
    #expect(c.grad == Tensor(24.0))
  }

  @Test("withoutGradients records nothing; detached() cuts the graph")
  func noGradAndDetach() {
    let x = Variable(2.0, requiresGrad: true)
    let y = withoutGradients { x * x }
    #expect(!y.requiresGrad && y.isLeaf)
    let z = x.detached() * x  // only the second factor is differentiated
    z.backward()
    #expect(x.grad == Tensor(2.0))
    #expect(x.detached().isLeaf && !x.detached().requiresGrad)
  }

  @Test("Operations on constants record nothing")
  func constantsAreNotRecorded() {
    let a = Variable(Tensor<Double>([1, 2]))
    let b = exp(a) * a
    #expect(b.isLeaf && !b.requiresGrad)
  }

  @Test("Intermediate results expose their operation and inputs")
  func introspection() {
    let x = Variable(1.0, requiresGrad: true, name: "x")
    let y = sigmoid(x)
    #expect(y.operationName == "sigmoid")
    #expect(y.inputs.count == 1 && y.inputs[0] === x)
    #expect(x.operationName == nil && x.isLeaf)
  }

  @Test("backward() on a non-scalar stops with a message naming the shape and the remedy")
  func nonScalarBackward() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let x = Variable(Tensor<Double>([1, 2, 3]), requiresGrad: true)
      (x * 2).backward()
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("shape [3]"))
    #expect(message.contains("sum()") && message.contains("mean()") && message.contains("backward(seed:)"))
  }

  @Test("Shape mistakes between variables stop with the operation and both shapes")
  func variableShapeMistake() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let a = Variable(Tensor<Double>(zeros: [2, 3]), requiresGrad: true)
      let b = Variable(Tensor<Double>(zeros: [4, 2]))
      _ = matmul(a, b)
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("matmul: shapes [2, 3] and [4, 2] do not multiply"))
  }

  @Test("A value reassigned between recording and backward() stops, naming the operation")
  func reassignedValue() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let w = Variable(Tensor<Double>([[1, 2], [3, 4]]), requiresGrad: true, name: "W")
      let x = Variable(Tensor<Double>([[1, 1]]), name: "x")
      let loss = matmul(x, w).sum()
      w.value = Tensor(zeros: [2, 2])  // the pullback of matmul would read the new W
      loss.backward()
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("one of its inputs (x, W) was changed after matmul was recorded"))
  }

  @Test("An in-place change of a recorded result is detected too")
  func changedInPlace() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let x = Variable(Tensor<Double>([1, 2]), requiresGrad: true)
      let y = sigmoid(x).named("y")
      y.value += Tensor([1, 1])  // sigmoid's pullback reads y
      y.sum().backward()
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("its result y was changed after sigmoid was recorded"))
  }

  @Test("Changing values after backward() and recording again is the normal training loop")
  func changeAfterBackward() {
    let w = Variable(Tensor<Double>([2]), requiresGrad: true)
    for _ in 0..<3 {
      let loss = (w * w).sum()
      loss.backward()
      w.value -= 0.1 * w.grad!
      w.zeroGrad()
    }
    #expect(abs(w.value.scalars[0] - 2 * 0.8 * 0.8 * 0.8) < 1e-12)
  }
}

@Suite("backward() on nothing to differentiate")
struct BackwardWithoutParametersTests {
  @Test("A result computed from constants alone stops with a message instead of doing nothing")
  func constantResultStops() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let x = Variable(Tensor<Double>([1, 2]))
      (x * x).sum().backward()
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("backward(): the variable does not require a gradient"))

    let inside = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let w = Variable(2.0, requiresGrad: true)
      withoutGradients { w * w }.backward()
    }
    let text1 = String(decoding: inside?.standardErrorContent ?? [], as: UTF8.self)
    #expect(text1.contains("inside withoutGradients"))
  }
}
