"""A small CNN on the 8x8 digits, written as in PyTorch (Conv2d-ReLU-MaxPool-Flatten-Linear,
NCHW, a hand-written loop). Prints the test accuracy and the time per epoch.

    python examples/digits_cnn.py [--epochs 15]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _digits import load

import gradengine as ge
from gradengine import nn, optim


def main(epochs=15, batch_size=32, seed=0):
    ge.manual_seed(seed)
    Xtr, ytr, Xte, yte, source = load()
    Xtr, Xte = Xtr.reshape(-1, 1, 8, 8), Xte.reshape(-1, 1, 8, 8)
    model = nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 16x4x4
        nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    times = []
    for epoch in range(epochs):
        model.train()
        start = time.perf_counter()
        order = rng.permutation(len(Xtr))
        total = 0.0
        for i in range(0, len(Xtr), batch_size):
            idx = order[i:i + batch_size]
            xb, yb = ge.tensor(Xtr[idx]), ge.tensor(ytr[idx])
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        times.append(time.perf_counter() - start)
        model.eval()
        with ge.no_grad():
            acc = float((model(ge.tensor(Xte)).numpy().argmax(1) == yte).mean())
        print(f"epoch {epoch + 1:2d}: loss {total / len(Xtr):.4f}  test accuracy {acc:.4f}  "
              f"({times[-1]:.2f}s)")
    print(f"data: {source}; test accuracy {acc:.4f}; mean epoch time "
          f"{np.mean(times[1:] if len(times) > 1 else times):.3f}s")
    return acc, times


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=15)
    main(p.parse_args().epochs)
