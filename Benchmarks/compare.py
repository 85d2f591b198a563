#!/usr/bin/env python3
"""Runs Backprop's benchmark beside the same workloads in PyTorch (eager, CPU) and NumPy, with the
same thread count, and prints the ratios.

PyTorch and NumPy are for comparison only; nothing in the build or the tests needs them:

    python3 -m venv .venv
    .venv/bin/pip install numpy torch --index-url https://download.pytorch.org/whl/cpu
    .venv/bin/python Benchmarks/compare.py            # 1 thread; --threads 2, --runs 7, --rounds 3

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
args = parser.parse_args()
args.runs = max(5, args.runs)
args.rounds = max(1, args.rounds)

# Thread counts must be set before NumPy and PyTorch load their BLAS.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BACKPROP_THREADS"):
    os.environ[variable] = str(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(args.threads)


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


def torch_cnn():
    """The Digits example's CNN on a batch of 32 8×8 images, Float, cross-entropy, one Adam step."""
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(16, 32, 3, padding=1),
        torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(512, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 10))
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(32, 1, 8, 8)
    labels = torch.arange(32) % 10

    def step():
        adam.zero_grad()
        torch.nn.functional.cross_entropy(model(x), labels).backward()
        adam.step()

    return median_seconds(step, 50)


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


def measure_round():
    """One round: each workload in Backprop, then at once in the other libraries.

    Returns {row name: (Backprop's value, [(library, value), ...])}.
    """
    rows = {}
    ours = backprop_results("articles_step")
    rows["articles_step (µs/step)"] = (ours["articles_step"], [
        ("PyTorch", torch_articles() * 1e6), ("NumPy, the article's code", numpy_articles() * 1e6)])
    ours = backprop_results("scalar_graph")
    rows["scalar_graph (ns/op)"] = (ours["scalar_graph"], [("PyTorch", torch_scalar_graph() * 1e9)])
    ours = backprop_results("mlp_step")
    rows["mlp_step (ms/step)"] = (ours["mlp_step"], [("PyTorch", torch_mlp() * 1e3)])
    ours = backprop_results("cnn_step")
    rows["cnn_step (ms/step)"] = (ours["cnn_step"], [("PyTorch", torch_cnn() * 1e3)])
    ours = backprop_results("gemm")
    for size in (256, 512, 1024):
        for name, np_type, torch_type in (("f32", np.float32, torch.float32), ("f64", np.float64, torch.float64)):
            rows[f"gemm_{name}_{size} (GFLOPS)"] = (ours[f"gemm_{name}_{size}"], [
                ("NumPy/OpenBLAS", gemm_gflops("numpy", np_type, size)),
                ("PyTorch", gemm_gflops("torch", torch_type, size))])
    return rows


rounds = []
for index in range(args.rounds):
    print(f"round {index + 1} of {args.rounds}…", file=sys.stderr, flush=True)
    rounds.append(measure_round())

print(f"Machine: {cpu_name()}, {os.cpu_count()} processors; {args.threads} thread(s); "
      f"{args.rounds} alternating round(s) of medians of {args.runs} runs")
print(f"Python {platform.python_version()}, NumPy {np.__version__}, PyTorch {torch.__version__}\n")
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
