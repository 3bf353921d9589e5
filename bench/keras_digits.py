"""Keras ``fit`` of a 64-64-10 MLP on the 8x8 digits (batch 32, 10 epochs, Adam) beside the
same loop written by hand in PyTorch, eager and with ``jit_compile=True``; and an epoch of
the small CNN of ``examples/digits_cnn.py`` beside PyTorch's. Prints the table.

    PYTHONPATH=. python bench/keras_digits.py [--repeats 3]

The data is scikit-learn's ``load_digits`` when scikit-learn is installed, else the
digits-like set of ``examples/_digits.py`` (same shape and size).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
from _digits import load  # noqa: E402

import gradengine as ge  # noqa: E402
from gradengine import nn, optim  # noqa: E402
from gradengine.keras.layers import Dense, Input  # noqa: E402
from gradengine.keras.models import Sequential  # noqa: E402

EPOCHS, BATCH = 10, 32


def ge_keras_fit(X, y, jit):
    ge.manual_seed(0)
    model = Sequential([Input(shape=(64,)), Dense(64, activation="relu"),
                        Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=jit)
    start = time.perf_counter()
    model.fit(X, y, batch_size=BATCH, epochs=EPOCHS, verbose=0)
    return time.perf_counter() - start


def torch_loop(X, y):
    import torch
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(),
                                torch.nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.tensor(X), torch.tensor(y)
    g = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(EPOCHS):
        order = torch.randperm(len(Xt), generator=g)
        correct = 0
        for i in range(0, len(Xt), BATCH):
            idx = order[i:i + BATCH]
            xb, yb = Xt[idx], yt[idx]
            opt.zero_grad()
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            correct += int((out.argmax(1) == yb).sum())  # the metric Keras reports
    return time.perf_counter() - start


def ge_cnn_epoch(X, y):
    ge.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(256, 10))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    X4 = X.reshape(-1, 1, 8, 8)
    start = time.perf_counter()
    for i in range(0, len(X4), BATCH):
        opt.zero_grad()
        loss = loss_fn(model(ge.tensor(X4[i:i + BATCH])), ge.tensor(y[i:i + BATCH]))
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def torch_cnn_epoch(X, y):
    import torch
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(),
                                torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = torch.nn.CrossEntropyLoss()
    X4, yt = torch.tensor(X.reshape(-1, 1, 8, 8)), torch.tensor(y)
    start = time.perf_counter()
    for i in range(0, len(X4), BATCH):
        opt.zero_grad()
        loss = loss_fn(model(X4[i:i + BATCH]), yt[i:i + BATCH])
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def main(repeats=3):
    import torch
    torch.set_num_threads(1)  # one thread each: gradengine's NumPy BLAS runs small GEMMs
    X, y, _, _, source = load()
    rows = {
        "keras fit, eager": lambda: ge_keras_fit(X, y, False),
        "keras fit, jit_compile=True": lambda: ge_keras_fit(X, y, True),
        "torch loop by hand": lambda: torch_loop(X, y),
        "cnn epoch, gradengine": lambda: ge_cnn_epoch(X, y),
        "cnn epoch, torch": lambda: torch_cnn_epoch(X, y),
    }
    res = {k: statistics.median(f() for _ in range(repeats)) for k, f in rows.items()}
    print(f"data: {source}, {len(X)} training samples; batch {BATCH}, {EPOCHS} epochs; "
          f"median of {repeats}; torch {torch.__version__} (1 thread)")
    ref = res["torch loop by hand"]
    for k in list(rows)[:3]:
        print(f"  {k:<30} {res[k]:7.3f} s   {res[k] / ref:5.2f}x torch")
    cref = res["cnn epoch, torch"]
    for k in list(rows)[3:]:
        print(f"  {k:<30} {res[k]:7.3f} s   {res[k] / cref:5.2f}x torch")
    return res


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=3)
    main(p.parse_args().repeats)
