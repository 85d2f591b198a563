"""The PyTorch side of the PyTorchExchange example (needs torch, numpy and safetensors).

    python3 Examples/PyTorchExchange/digits_mlp.py train DIR
        trains the digits MLP (64-128-10, Adam lr 1e-3, batch 32, 30 epochs, seeded) and writes
        DIR/digits-mlp-pytorch.safetensors (its state_dict) and
        DIR/digits-mlp-pytorch-logits.npy (its logits on the 359 test images)

    python3 Examples/PyTorchExchange/digits_mlp.py check DIR
        loads DIR/digits-mlp-backprop.safetensors, which `swift run PyTorchExchange` writes,
        with model.load_state_dict, and compares its logits with DIR/digits-mlp-backprop-logits.npy

Row i of Examples/Data/digits.csv is a test sample when i % 5 == 4; pixels are divided by 16.
"""
import os
import sys

import numpy as np
import torch
from torch import nn
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "Data", "digits.csv")


def digits():
    rows = np.loadtxt(DATA, delimiter=",", dtype=np.float32)
    x, y = rows[:, :64] / 16, rows[:, 64].astype(np.int64)
    test = np.arange(len(rows)) % 5 == 4
    return (torch.from_numpy(x[~test]), torch.from_numpy(y[~test]),
            torch.from_numpy(x[test]), torch.from_numpy(y[test]))


def mlp():
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def accuracy(logits, labels):
    correct = int((logits.argmax(dim=1) == labels).sum())
    return f"{100 * correct / len(labels):.1f}% ({correct}/{len(labels)})"


def train(directory):
    torch.manual_seed(0)
    train_x, train_y, test_x, test_y = digits()
    model = mlp()
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(30):
        order = torch.randperm(len(train_y))
        for start in range(0, len(order), 32):
            batch = order[start:start + 32]
            adam.zero_grad()
            nn.functional.cross_entropy(model(train_x[batch]), train_y[batch]).backward()
            adam.step()
    with torch.no_grad():
        logits = model(test_x)
    save_file(model.state_dict(), os.path.join(directory, "digits-mlp-pytorch.safetensors"))
    np.save(os.path.join(directory, "digits-mlp-pytorch-logits.npy"), logits.numpy())
    print(f"PyTorch MLP: test accuracy {accuracy(logits, test_y)}; wrote {directory}/digits-mlp-pytorch.*")


def check(directory):
    _, _, test_x, test_y = digits()
    model = mlp()
    model.load_state_dict(load_file(os.path.join(directory, "digits-mlp-backprop.safetensors")))
    with torch.no_grad():
        logits = model(test_x)
    expected = torch.from_numpy(np.load(os.path.join(directory, "digits-mlp-backprop-logits.npy")))
    difference = float((logits - expected).abs().max())
    print(f"Backprop's MLP in PyTorch: test accuracy {accuracy(logits, test_y)}, "
          f"Backprop's accuracy {accuracy(expected, test_y)}; largest logit difference {difference:.2e}")
    sys.exit(0 if difference <= 1e-5 and bool((logits.argmax(1) == expected.argmax(1)).all()) else 1)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("train", "check"):
        sys.exit(__doc__)
    (train if sys.argv[1] == "train" else check)(sys.argv[2])
