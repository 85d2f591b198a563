import Backprop

// micrograd's first test expression
let x = Variable(-4.0, requiresGrad: true)
let z = 2 * x + 2 + x
let q = relu(z) + z * x
let h = relu(z * z)
let y = h + q + q * x
y.backward()
print("y =", y.value, "dy/dx =", x.grad!)

let t = try Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
let m: Tensor<Double> = [[1, 2], [3, 4]]
let w = Variable(m, requiresGrad: true)
let xs = Variable(t)
let target = Tensor<Double>(zeros: [3, 2])
let out = sigmoid(matmul(xs.transposed(), w) + 1.5)
let loss = squaredError(predicted: out, expected: target)
loss.backward()
print(loss.value, w.grad!)
print(checkGradients(at: [m]) { v in squaredError(predicted: sigmoid(matmul(xs.transposed(), v[0]) + 1.5), expected: target) })
