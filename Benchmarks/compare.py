#!/usr/bin/env python3
"""Runs Backprop's benchmark beside the same workloads in PyTorch (eager, CPU), JAX (jit-compiled,
CPU) and NumPy, with the same thread count, and prints the ratios.

PyTorch, JAX and NumPy are for comparison only; nothing in the build or the tests needs them:

    python3 -m venv .venv
    .venv/bin/pip install numpy torch --index-url https://download.pytorch.org/whl/cpu
    .venv/bin/pip install "jax[cpu]"                  # optional: without it the JAX column is left out
    .venv/bin/python Benchmarks/compare.py            # 1 thread; --threads 2, --runs 7, --rounds 3
    .venv/bin/python Benchmarks/compare.py --write PERFORMANCE.md   # and record this machine's table

Every measurement is a median of --runs runs (at least 5) after a warm-up, as in the Swift
benchmark. The libraries are measured in turn, workload by workload, for --rounds rounds: a shared
or throttled machine changes speed over seconds, and measuring one library's whole suite before the
other's let such a change land on one side of a ratio only. Each ratio is the median over the rounds
of the ratio of two adjacent measurements; each value shown is the median over the rounds.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--threads", type=int, default=1, help="threads for every library (default 1)")
parser.add_argument("--runs", type=int, default=7, help="runs per workload, median reported (at least 5)")
parser.add_argument("--rounds", type=int, default=3, help="rounds of alternating measurements (default 3)")
parser.add_argument("--swift-benchmark", default=None, help="a built Benchmark binary (default: swift run)")
parser.add_argument("--only", default=None, help="comma-separated workloads (default: all)")
parser.add_argument("--write", default=None, metavar="PERFORMANCE.md",
                    help="also write the results as this machine's table in the file, between its "
                         "'<!-- compare.py: MACHINE, KERNELS -->' and '<!-- end compare.py -->' lines "
                         "(replacing an earlier table of the same machine and kernel path, else adding "
                         "one at the end of its 'Numbers' section); BACKPROP_KERNELS=avx2 and the like "
                         "give a path its own table")
args = parser.parse_args()
args.runs = max(5, args.runs)
args.rounds = max(1, args.rounds)

# Thread counts must be set before NumPy and PyTorch load their BLAS.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BACKPROP_THREADS"):
    os.environ[variable] = str(args.threads)
if args.threads == 1:
    os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(args.threads)
try:
    import jax  # noqa: E402
    import jax.numpy as jnp  # noqa: E402

    jax.config.update("jax_enable_x64", True)
except ImportError:
    jax = None

DIGITS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Examples", "Data", "digits.csv")


def median_seconds(body, repeats):
    """Median over runs of the time per call of `body`, after one warm-up run."""
    for _ in range(max(1, repeats // 10)):
        body()
    samples = []
    for _ in range(args.runs):
        start = time.perf_counter()
        for _ in range(repeats):
            body()
        samples.append((time.perf_counter() - start) / repeats)
    return statistics.median(samples)


# articles_step: BrainsToBytes' 3-4-1 ReLU network, one per-sample SGD step in Double.
inputs = np.array([[1, 1, 1], [1, 1, 0], [0, 1, 0], [0, 1, 1]], dtype=np.float64)
expected = np.array([1, 0, 1, 0], dtype=np.float64)


def numpy_articles():
    """The article's own NumPy code (without the rounding, as in Backprop's example)."""
    rng = np.random.default_rng(2)
    state = {"w1": rng.random((3, 4)), "w2": rng.random(4), "i": 0}

    def relu(x):
        return (x > 0) * x

    def relu_deriv(output):
        return output > 0

    def step():
        i = state["i"]
        input_set, expected_value = inputs[i], expected[i]
        w1, w2 = state["w1"], state["w2"]
        hidden_outputs = relu(np.dot(input_set, w1))
        predicted_value = np.dot(hidden_outputs, w2)
        layer2_delta = predicted_value - expected_value
        layer1_delta = (w2 * layer2_delta) * relu_deriv(hidden_outputs)
        w2 -= 0.1 * hidden_outputs.dot(layer2_delta)
        w1 -= 0.1 * np.outer(input_set, layer1_delta)
        state["i"] = (i + 1) & 3

    return median_seconds(step, 20_000)


def torch_articles():
    torch.manual_seed(2)
    w1 = torch.rand(3, 4, dtype=torch.float64, requires_grad=True)
    w2 = torch.rand(4, 1, dtype=torch.float64, requires_grad=True)
    sgd = torch.optim.SGD([w1, w2], lr=0.1)
    xs = [torch.from_numpy(row.reshape(1, 3).copy()) for row in inputs]
    ys = [torch.tensor([[value]], dtype=torch.float64) for value in expected]
    state = {"i": 0}

    def step():
        i = state["i"]
        sgd.zero_grad()
        loss = 0.5 * ((torch.relu(xs[i] @ w1) @ w2 - ys[i]) ** 2).sum()
        loss.backward()
        sgd.step()
        state["i"] = (i + 1) & 3

    return median_seconds(step, 2_000)


def torch_scalar_graph(operations=1000):
    def build():
        a = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
        b = torch.tensor(-0.3, dtype=torch.float64, requires_grad=True)
        x = a
        for i in range(operations // 4):
            x = x * b
            x = x + a
            x = torch.tanh(x) if i % 2 == 0 else torch.relu(x)
            x = x + 0.1
        x.backward()

    return median_seconds(build, 5) / operations


# rosenbrock_scalar: the gradient of the 1,000-dimensional Rosenbrock function, one scalar per
# coordinate (PyTorch: scalar tensors; JAX: the same function on a vector, jit-compiled, which is
# how JAX is meant to be used).
rosenbrock_start = np.random.default_rng(5).uniform(-2, 2, 1000)


def torch_rosenbrock():
    def gradient():
        x = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in rosenbrock_start]
        f = torch.tensor(0.0, dtype=torch.float64)
        for i in range(len(x) - 1):
            a = x[i + 1] - x[i] * x[i]
            b = 1 - x[i]
            f = f + 100 * (a * a) + b * b
        f.backward()

    return median_seconds(gradient, 1)


# hvp: the Hessian-vector product of a 32-64-10 tanh network's mean squared error (batch 64,
# Double) with respect to its 2,688 parameters in one vector. PyTorch: reverse over reverse
# (autograd with create_graph), as Backprop's hessianVectorProduct; JAX: forward over reverse,
# jax.jvp of jax.grad, jit-compiled, as its documentation recommends.
hvp_rng = np.random.default_rng(1)
hvp_x = hvp_rng.uniform(-1, 1, (64, 32))
hvp_y = hvp_rng.uniform(-1, 1, (64, 10))
hvp_theta = hvp_rng.uniform(-0.2, 0.2, 32 * 64 + 64 * 10)
hvp_v = hvp_rng.uniform(-1, 1, 32 * 64 + 64 * 10)


def torch_hvp():
    x, y = torch.tensor(hvp_x), torch.tensor(hvp_y)
    theta, v = torch.tensor(hvp_theta), torch.tensor(hvp_v)

    def loss(p):
        w1, w2 = p[:32 * 64].reshape(32, 64), p[32 * 64:].reshape(64, 10)
        return torch.mean((torch.tanh(x @ w1) @ w2 - y) ** 2)

    def product():
        p = theta.clone().requires_grad_(True)
        (gradient,) = torch.autograd.grad(loss(p), p, create_graph=True)
        (hv,) = torch.autograd.grad(gradient, p, grad_outputs=v)
        return hv

    return median_seconds(product, 50)


# jvp_mlp: the directional derivative of the 784-256-128-10 ReLU network's output (batch 128,
# Float) with respect to its input, forward mode: torch.func.jvp, and jax.jvp jit-compiled.
def torch_jvp_mlp():
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))
    x, v = torch.rand(128, 784), torch.rand(128, 784) * 2 - 1

    def product():
        return torch.func.jvp(model, (x,), (v,))[1]

    return median_seconds(product, 10)


def torch_mlp():
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))
    sgd = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.rand(128, 784)
    y = torch.rand(128, 10)

    def step():
        sgd.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        sgd.step()

    return median_seconds(step, 20)


def torch_digits_cnn():
    """The Digits example's CNN."""
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(16, 32, 3, padding=1),
        torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(512, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 10))


def classifier_step_seconds(model, optimizer, x, labels, repeats):
    """Seconds per training step of `model` on one batch, with cross-entropy."""
    def step():
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), labels).backward()
        optimizer.step()

    return median_seconds(step, repeats)


def torch_cnn():
    """The Digits example's CNN on a batch of 32 8×8 images, Float, cross-entropy, one Adam step."""
    torch.manual_seed(1)
    model = torch_digits_cnn()
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    return classifier_step_seconds(model, adam, torch.rand(32, 1, 8, 8), torch.arange(32) % 10, 50)


def torch_cnn_mnist():
    """PyTorch's MNIST example network (conv 32, pool, conv 64, pool, dense 128, dense 10, no padding),
    batch 64, one SGD step."""
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Conv2d(32, 64, 3),
        torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(1600, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))
    sgd = torch.optim.SGD(model.parameters(), lr=0.01)
    return classifier_step_seconds(model, sgd, torch.rand(64, 1, 28, 28), torch.arange(64) % 10, 5)


def torch_conv2d():
    """One convolution, forward and both gradients, in GFLOPS of its three products."""
    x = torch.rand(32, 16, 28, 28, requires_grad=True)
    w = torch.rand(32, 16, 3, 3, requires_grad=True)

    def step():
        x.grad = None
        w.grad = None
        torch.nn.functional.conv2d(x, w, padding=1).sum().backward()

    return 3 * 2 * 32 * 32 * 16 * 9 * 28 * 28 / median_seconds(step, 3) / 1e9


def torch_transformer():
    """The Addition example's GPT, batch 64, with PyTorch's own pre-LayerNorm encoder layers."""
    torch.manual_seed(7)
    vocabulary, length, size = 12, 8, 64

    class GPT(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens = torch.nn.Embedding(vocabulary, size)
            self.positions = torch.nn.Parameter(torch.randn(length, size) * 0.02)
            self.blocks = torch.nn.ModuleList(
                torch.nn.TransformerEncoderLayer(size, 4, 4 * size, dropout=0.0, activation="gelu", batch_first=True,
                                                 norm_first=True) for _ in range(2))
            self.norm = torch.nn.LayerNorm(size)
            self.head = torch.nn.Linear(size, vocabulary)
            self.register_buffer("mask", torch.nn.Transformer.generate_square_subsequent_mask(length))

        def forward(self, tokens):
            x = self.tokens(tokens) + self.positions
            for block in self.blocks:
                x = block(x, src_mask=self.mask, is_causal=True)
            return self.head(self.norm(x))

    model = GPT()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    sequences = torch.randint(0, vocabulary, (64, length))
    targets = torch.roll(sequences, -1, dims=1)
    targets[:, :5] = -100

    def step():
        optimizer.zero_grad()
        logits = model(sequences)
        torch.nn.functional.cross_entropy(logits.reshape(-1, vocabulary), targets.reshape(-1),
                                          ignore_index=-100).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    return median_seconds(step, 20)


def torch_digits_train():
    """The Digits example's 30-epoch trainings (Adam 1e-3, batch 32), MLP and CNN, in seconds."""
    rows = np.loadtxt(DIGITS, delimiter=",", dtype=np.float32)
    keep = np.arange(len(rows)) % 5 != 4
    images = torch.from_numpy(rows[keep, :64] / 16)
    labels = torch.from_numpy(rows[keep, 64].astype(np.int64))

    def train(model, inputs):
        adam = torch.optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(30):
            order = torch.randperm(len(labels))
            for start in range(0, len(order), 32):
                batch = order[start:start + 32]
                adam.zero_grad()
                torch.nn.functional.cross_entropy(model(inputs[batch]), labels[batch]).backward()
                adam.step()

    def mlp():
        torch.manual_seed(1)
        train(torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)), images)

    def cnn():
        torch.manual_seed(1)
        train(torch_digits_cnn(), images.reshape(-1, 1, 8, 8))

    samples = {"mlp": [], "cnn": []}
    for _ in range(3):
        for name, body in (("mlp", mlp), ("cnn", cnn)):
            start = time.perf_counter()
            body()
            samples[name].append(time.perf_counter() - start)
    return statistics.median(samples["mlp"]), statistics.median(samples["cnn"])


# JAX: the same steps as pure functions, jit-compiled; SGD and Adam written out.
def jax_median_seconds(step, state, repeats):
    """Like median_seconds for a jitted step that maps a state to the next one."""
    holder = {"state": step(*state)}
    jax.block_until_ready(holder["state"])

    def body():
        holder["state"] = step(*holder["state"])

    def timed():
        body()
        jax.block_until_ready(holder["state"])

    for _ in range(max(1, repeats // 10)):
        timed()
    samples = []
    for _ in range(args.runs):
        start = time.perf_counter()
        for _ in range(repeats):
            body()
        jax.block_until_ready(holder["state"])
        samples.append((time.perf_counter() - start) / repeats)
    return statistics.median(samples)


def jax_articles():
    key = jax.random.PRNGKey(2)
    w1 = jax.random.uniform(key, (3, 4), dtype=jnp.float64)
    w2 = jax.random.uniform(jax.random.PRNGKey(3), (4, 1), dtype=jnp.float64)
    xs = jnp.asarray(inputs).reshape(4, 1, 3)
    ys = jnp.asarray(expected).reshape(4, 1, 1)

    def loss(w1, w2, x, y):
        return 0.5 * jnp.sum((jax.nn.relu(x @ w1) @ w2 - y) ** 2)

    @jax.jit
    def step(w1, w2, i):
        g1, g2 = jax.grad(loss, argnums=(0, 1))(w1, w2, xs[i], ys[i])
        return w1 - 0.1 * g1, w2 - 0.1 * g2, (i + 1) % 4

    return jax_median_seconds(step, (w1, w2, 0), 2_000)


def jax_rosenbrock():
    def f(x):
        return jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    # A gradient-descent step, so that each call's input is the last call's output.
    step = jax.jit(lambda x: (x - 1e-4 * jax.grad(f)(x),))
    return jax_median_seconds(step, (jnp.asarray(rosenbrock_start),), 200)


def jax_hvp():
    x, y, v = jnp.asarray(hvp_x), jnp.asarray(hvp_y), jnp.asarray(hvp_v)

    def loss(p):
        w1, w2 = p[:32 * 64].reshape(32, 64), p[32 * 64:].reshape(64, 10)
        return jnp.mean((jnp.tanh(x @ w1) @ w2 - y) ** 2)

    # Each call's input is the last call's output, so that no call is skipped.
    step = jax.jit(lambda p: (p - 1e-6 * jax.jvp(jax.grad(loss), (p,), (v,))[1],))
    return jax_median_seconds(step, (jnp.asarray(hvp_theta),), 200)


def jax_jvp_mlp():
    keys = jax.random.split(jax.random.PRNGKey(1), 5)
    sizes = [(784, 256), (256, 128), (128, 10)]
    params = [(jax.random.normal(k, shape, dtype=jnp.float32) * 0.05, jnp.zeros(shape[1], jnp.float32))
              for k, shape in zip(keys, sizes)]
    v = jax.random.uniform(keys[3], (128, 784), jnp.float32, -1, 1)

    def model(x):
        for index, (w, b) in enumerate(params):
            x = x @ w + b
            if index < len(params) - 1:
                x = jax.nn.relu(x)
        return x

    # Each call's input is the last call's input nudged by the tangent, so that no call is skipped.
    step = jax.jit(lambda x: (x + 1e-6 * jax.jvp(model, (x,), (v,))[1].sum(),))
    return jax_median_seconds(step, (jax.random.uniform(keys[4], (128, 784), jnp.float32),), 200)


def jax_mlp():
    keys = jax.random.split(jax.random.PRNGKey(1), 5)
    sizes = [(784, 256), (256, 128), (128, 10)]
    params = [(jax.random.normal(k, shape, dtype=jnp.float32) * 0.05, jnp.zeros(shape[1], jnp.float32))
              for k, shape in zip(keys, sizes)]
    x = jax.random.uniform(keys[3], (128, 784), dtype=jnp.float32)
    y = jax.random.uniform(keys[4], (128, 10), dtype=jnp.float32)

    def loss(params):
        h = x
        for index, (w, b) in enumerate(params):
            h = h @ w + b
            if index < len(params) - 1:
                h = jax.nn.relu(h)
        return jnp.mean((h - y) ** 2)

    @jax.jit
    def step(params):
        grads = jax.grad(loss)(params)
        return (jax.tree_util.tree_map(lambda p, g: p - 0.01 * g, params, grads),)

    return jax_median_seconds(step, (params,), 20)


def jax_cnn_digits():
    keys = jax.random.split(jax.random.PRNGKey(1), 6)
    params = {
        "c1": jax.random.normal(keys[0], (16, 1, 3, 3), jnp.float32) * 0.3, "b1": jnp.zeros(16, jnp.float32),
        "c2": jax.random.normal(keys[1], (32, 16, 3, 3), jnp.float32) * 0.1, "b2": jnp.zeros(32, jnp.float32),
        "w3": jax.random.normal(keys[2], (512, 64), jnp.float32) * 0.05, "b3": jnp.zeros(64, jnp.float32),
        "w4": jax.random.normal(keys[3], (64, 10), jnp.float32) * 0.1, "b4": jnp.zeros(10, jnp.float32),
    }
    x = jax.random.uniform(keys[4], (32, 1, 8, 8), dtype=jnp.float32)
    labels = jnp.arange(32) % 10

    def conv(x, w, b):
        y = jax.lax.conv_general_dilated(x, w, (1, 1), ((1, 1), (1, 1)), dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return jax.nn.relu(y + b[None, :, None, None])

    def loss(p):
        h = conv(conv(x, p["c1"], p["b1"]), p["c2"], p["b2"])
        h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
        h = jax.nn.relu(h.reshape(32, -1) @ p["w3"] + p["b3"]) @ p["w4"] + p["b4"]
        return -jnp.mean(jax.nn.log_softmax(h)[jnp.arange(32), labels])

    @jax.jit
    def step(p, m, v, t):
        g = jax.grad(loss)(p)
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, v, g)
        c1, c2 = 1 - 0.9 ** t, 1 - 0.999 ** t
        p = jax.tree_util.tree_map(lambda p, m, v: p - 1e-3 * (m / c1) / (jnp.sqrt(v / c2) + 1e-8), p, m, v)
        return p, m, v, t

    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    return jax_median_seconds(step, (params, zeros, zeros, 0), 50)


def gemm_gflops(library, dtype, size):
    repeats = max(1, 256 ** 3 * 8 // size ** 3)
    if library == "numpy":
        a = np.random.default_rng(3).random((size, size)).astype(dtype)
        b = np.random.default_rng(4).random((size, size)).astype(dtype)
        seconds = median_seconds(lambda: a @ b, repeats)
    else:
        a = torch.rand(size, size, dtype=dtype)
        b = torch.rand(size, size, dtype=dtype)
        seconds = median_seconds(lambda: a @ b, repeats)
    return 2 * size ** 3 / seconds / 1e9


def backprop_results(workload):
    """Backprop's results for one workload of its benchmark (a group of results for gemm)."""
    command = [args.swift_benchmark] if args.swift_benchmark else ["swift", "run", "-c", "release", "Benchmark"]
    command += ["--json", "--runs", str(args.runs), "--threads", str(args.threads), "--only", workload]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    text = output[output.index("{"):]
    return {entry["name"]: entry["value"] for entry in json.loads(text)["results"]}


def cpu_name():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def wanted(workload):
    return args.only is None or workload in args.only.split(",")


def with_jax(entries, measure):
    """`entries` plus JAX's measurement when JAX is installed."""
    return entries + ([("JAX jit", measure())] if jax is not None else [])


def measure_round():
    """One round: each workload in Backprop, then at once in the other libraries.

    Returns {row name: (Backprop's value, [(library, value), ...])}.
    """
    rows = {}
    if wanted("articles_step"):
        ours = backprop_results("articles_step")
        rows["articles_step (µs/step)"] = (ours["articles_step"], with_jax([
            ("PyTorch", torch_articles() * 1e6), ("NumPy, the article's code", numpy_articles() * 1e6)],
            lambda: jax_articles() * 1e6))
    if wanted("scalar_graph"):
        ours = backprop_results("scalar_graph")
        rows["scalar_graph (ns/op)"] = (ours["scalar_graph"], [("PyTorch", torch_scalar_graph() * 1e9)])
    if wanted("rosenbrock_scalar"):
        ours = backprop_results("rosenbrock_scalar")
        rows["rosenbrock_scalar (µs/gradient)"] = (ours["rosenbrock_scalar"], with_jax(
            [("PyTorch", torch_rosenbrock() * 1e6)], lambda: jax_rosenbrock() * 1e6))
        rows["rosenbrock_scalar ÷ the gradient by hand in Swift"] = (ours["rosenbrock_ratio"], [])
    if wanted("jvp"):
        ours = backprop_results("jvp")
        rows["jvp_mlp (ms)"] = (
            ours["jvp_mlp"], with_jax([("PyTorch", torch_jvp_mlp() * 1e3)], lambda: jax_jvp_mlp() * 1e3))
        rows["jvp_mlp ÷ its forward pass"] = (ours["jvp_mlp_ratio"], [])
        rows["jvp_cnn_digits ÷ its forward pass"] = (ours["jvp_cnn_digits_ratio"], [])
    if wanted("hvp"):
        ours = backprop_results("hvp")
        rows["hvp (µs)"] = (ours["hvp"], with_jax([("PyTorch", torch_hvp() * 1e6)], lambda: jax_hvp() * 1e6))
        rows["hvp forward over reverse ÷ reverse over reverse"] = (ours["hvp_ratio"], [])
    if wanted("mlp_step"):
        ours = backprop_results("mlp_step")
        rows["mlp_step (ms/step)"] = (ours["mlp_step"], with_jax([("PyTorch", torch_mlp() * 1e3)],
                                                                 lambda: jax_mlp() * 1e3))
    if wanted("cnn_digits_step"):
        ours = backprop_results("cnn_digits_step")
        rows["cnn_digits_step (ms/step)"] = (ours["cnn_digits_step"], with_jax(
            [("PyTorch", torch_cnn() * 1e3)], lambda: jax_cnn_digits() * 1e3))
    if wanted("cnn_mnist_step"):
        ours = backprop_results("cnn_mnist_step")
        rows["cnn_mnist_step (ms/step)"] = (ours["cnn_mnist_step"], [("PyTorch", torch_cnn_mnist() * 1e3)])
    if wanted("conv2d"):
        ours = backprop_results("conv2d")
        rows["conv2d (GFLOPS)"] = (ours["conv2d"], [("PyTorch", torch_conv2d())])
    if wanted("transformer_step"):
        ours = backprop_results("transformer_step")
        rows["transformer_step (ms/step)"] = (ours["transformer_step"], [("PyTorch", torch_transformer() * 1e3)])
    if wanted("digits_train"):
        ours = backprop_results("digits_train")
        mlp, cnn = torch_digits_train()
        rows["digits_train mlp (s)"] = (ours["digits_train_mlp"], [("PyTorch", mlp)])
        rows["digits_train cnn (s)"] = (ours["digits_train_cnn"], [("PyTorch", cnn)])
    if wanted("gemm"):
        ours = backprop_results("gemm")
        for size in (256, 512, 1024):
            for name, np_type, torch_type in (("f32", np.float32, torch.float32), ("f64", np.float64, torch.float64)):
                rows[f"gemm_{name}_{size} (GFLOPS)"] = (ours[f"gemm_{name}_{size}"], [
                    ("NumPy/OpenBLAS", gemm_gflops("numpy", np_type, size)),
                    ("PyTorch", gemm_gflops("torch", torch_type, size))])
    return rows


# mlp_step's multiply-adds (64.5 million): forward 128·(784·256 + 256·128 + 128·10), backward the
# same for the weights' gradients plus the inputs' of the second and third layer.
MLP_MULTIPLY_ADDS = 3 * 128 * (784 * 256 + 256 * 128 + 128 * 10) - 128 * 784 * 256

rounds = []
for index in range(args.rounds):
    print(f"round {index + 1} of {args.rounds}…", file=sys.stderr, flush=True)
    measured = measure_round()
    if "mlp_step (ms/step)" in measured and "gemm_f32_512 (GFLOPS)" in measured:
        # How close the step is to its products alone, at this round's product rate.
        products = 2 * MLP_MULTIPLY_ADDS / (measured["gemm_f32_512 (GFLOPS)"][0] * 1e9) * 1e3
        measured["mlp_step ÷ its products at gemm_f32_512's rate"] = (measured["mlp_step (ms/step)"][0] / products, [])
    rounds.append(measured)

print(f"Machine: {cpu_name()}, {os.cpu_count()} processors; {args.threads} thread(s); "
      f"{args.rounds} alternating round(s) of medians of {args.runs} runs")
print(f"Python {platform.python_version()}, NumPy {np.__version__}, PyTorch {torch.__version__}"
      + (f", JAX {jax.__version__}" if jax is not None else ", no JAX") + "\n")
print(f"{'workload':28} {'Backprop':>10}   comparison")
for name in rounds[0]:
    value = statistics.median(measured[name][0] for measured in rounds)
    parts = []
    for position, (label, _) in enumerate(rounds[0][name][1]):
        other = statistics.median(measured[name][1][position][1] for measured in rounds)
        ratio = statistics.median(measured[name][0] / measured[name][1][position][1] for measured in rounds)
        parts.append(f"{label} {other:.4g} → ratio {ratio:.3g}")
    print(f"{name:28} {value:10.4g}   " + "; ".join(parts))
print("\nRatio = Backprop ÷ the other library, the median over the rounds of adjacent measurements:")
print("below 1 is faster for times, above 1 is faster for GFLOPS. Values are medians over the rounds.")


def instruction_set():
    """The matrix kernels' instruction set, as Backprop's benchmark reports it."""
    command = [args.swift_benchmark] if args.swift_benchmark else ["swift", "run", "-c", "release", "Benchmark"]
    output = subprocess.run(command + ["--only", "articles_step", "--runs", "5", "--scale", "0.01"],
                            check=True, capture_output=True, text=True).stdout
    marker = "matrix kernels "
    return output[output.index(marker) + len(marker):].split(",")[0].strip() if marker in output else "unknown"


def markdown_table():
    """This run as a Markdown table under a heading naming the machine, the date and the versions."""
    kernels = instruction_set()
    machine = f"{cpu_name()}, {os.cpu_count()} processors, {kernels}"
    lines = [f"<!-- compare.py: {machine} -->",
             f"**{cpu_name()}, {os.cpu_count()} processors** ({platform.system()}, matrix kernels {kernels}), "
             f"{time.strftime('%Y-%m-%d')}, {args.threads} thread(s); Python {platform.python_version()}, "
             f"NumPy {np.__version__}, PyTorch {torch.__version__}"
             + (f", JAX {jax.__version__}" if jax is not None else "")
             + f"; medians over {args.rounds} alternating rounds of medians of {args.runs} runs.",
             "",
             "| workload | Backprop | " + " | ".join(labels) + " |",
             "|---|---|" + "---|" * len(labels)]
    for name in rounds[0]:
        value = statistics.median(measured[name][0] for measured in rounds)
        cells = []
        for label in labels:
            position = next((i for i, (other, _) in enumerate(rounds[0][name][1]) if other == label), None)
            if position is None:
                cells.append("—")
                continue
            other = statistics.median(measured[name][1][position][1] for measured in rounds)
            ratio = statistics.median(measured[name][0] / measured[name][1][position][1] for measured in rounds)
            cells.append(f"{other:.4g} ({ratio:.3g}×)")
        lines.append(f"| {name} | {value:.4g} | " + " | ".join(cells) + " |")
    lines.append("<!-- end compare.py -->")
    return "\n".join(lines)


if args.write:
    labels = []
    for name in rounds[0]:
        for label, _ in rounds[0][name][1]:
            if label not in labels:
                labels.append(label)
    table = markdown_table()
    with open(args.write) as file:
        document = file.read()
    heading = table.split("\n", 1)[0]
    if heading in document:
        start = document.index(heading)
        end = document.index("<!-- end compare.py -->", start) + len("<!-- end compare.py -->")
        document = document[:start] + table + document[end:]
    else:
        anchor = "<!-- compare.py tables end -->"
        if anchor not in document:
            sys.exit(f"{args.write} has no '{anchor}' line to add this machine's table before")
        document = document.replace(anchor, table + "\n\n" + anchor)
    with open(args.write, "w") as file:
        file.write(document)
    print(f"\nWrote this machine's table to {args.write}.")
