// The main demonstration: `swift run -c release Demo`.
//
// 1. micrograd's expression, differentiated by the tape.
// 2. A 2-4-1 sigmoid network learning XOR with plain variables and a hand-written SGD step.
// 3. The tape's gradient checked against central finite differences.
import Backprop

func microgradExpression() {
  print("== micrograd's expression ==")
  let a = Variable(-4.0, requiresGrad: true)
  let b = Variable(2.0, requiresGrad: true)
  var c = a + b
  var d = a * b + pow(b, 3)
  c = c + c + 1
  c = c + 1 + c + (-a)
  d = d + d * 2 + relu(b + a)
  d = d + 3 * d + relu(b - a)
  let e = c - d
  let f = pow(e, 2)
  let g = f / 2.0 + 10.0 / f
  g.backward()
  print("g = \(g.value)   dg/da = \(a.grad!)   dg/db = \(b.grad!)")
}

func xor() {
  print("\n== XOR with a 2-4-1 sigmoid network, squared error, SGD ==")
  var rng = SeededRandomNumberGenerator(seed: 7)
  let inputs: Tensor<Double> = [[0, 0], [0, 1], [1, 0], [1, 1]]
  let targets: Tensor<Double> = [[0], [1], [1], [0]]
  let w1 = Variable(Tensor<Double>(randomNormal: [2, 4], using: &rng), requiresGrad: true, name: "w1")
  let b1 = Variable(Tensor<Double>(zeros: [4]), requiresGrad: true, name: "b1")
  let w2 = Variable(Tensor<Double>(randomNormal: [4, 1], using: &rng), requiresGrad: true, name: "w2")
  let b2 = Variable(Tensor<Double>(zeros: [1]), requiresGrad: true, name: "b2")

  func predict(_ w1: Variable<Double>, _ w2: Variable<Double>) -> Variable<Double> {
    sigmoid(matmul(sigmoid(matmul(Variable(inputs), w1) + b1), w2) + b2)
  }

  for epoch in 0...3000 {
    let loss = squaredError(predicted: predict(w1, w2), expected: targets)
    loss.backward()
    for p in [w1, b1, w2, b2] {
      p.value -= p.grad! * 1.0
      p.zeroGrad()
    }
    if epoch % 500 == 0 { print("epoch \(epoch)  loss \(loss.value)") }
  }
  let predictions = withoutGradients { predict(w1, w2) }.value
  print("predictions for 00, 01, 10, 11:", predictions.scalars.map { ($0 * 1000).rounded() / 1000 })

  print("\n== gradient check of the loss with respect to w1 and w2 ==")
  let report = checkGradients(at: [w1.value, w2.value]) { v in
    squaredError(predicted: predict(v[0], v[1]), expected: targets)
  }
  print(report)
}

microgradExpression()
xor()
