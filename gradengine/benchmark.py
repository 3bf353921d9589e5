"""``gradengine bench``: gradengine beside PyTorch, NumPy and CuPy, measured in one run.

Every case is one piece of work written once per implementation ("column"):

    gradengine              the engine on the chosen device
    gradengine kernels=0    the same on CUDA with the fused kernels switched off
    gradengine+jit          training steps under ``ge.jit`` (when gradengine.jit exists)
    torch                   PyTorch eager on the same device (the reference of every ratio)
    numpy / cupy            the same maths written by hand (NumPy on the CPU, CuPy on CUDA)
    keras                   TensorFlow-Keras, for the seed ``fit`` only (when installed)

All columns of a case are timed in the same process, interleaved round by round, so that
a slow moment of the machine hits every column alike. A column whose library is missing
is skipped with a note, never an error. Ratios are ``column time / torch time``.

    python -m gradengine.benchmark [--device auto|cpu|cuda] [--quick] [--out DIR]

writes ``<device>-<date>.json`` (``gpu-<gpu>-<date>.json`` on CUDA), ``.md`` and ``.png``
(the ratios) to ``bench/results``.
The pytest-benchmark suites in ``bench/`` build their cases from :func:`make_case`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import gc
import importlib
import importlib.util
import json
import os
import re
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

import gradengine as ge
import gradengine.functional as F

GE, GE_OFF, GE_JIT = "gradengine", "gradengine kernels=0", "gradengine+jit"
TORCH, NUMPY, CUPY, KERAS = "torch", "numpy", "cupy", "keras"
IMPLS = (GE, GE_OFF, GE_JIT, TORCH, NUMPY, CUPY, KERAS)
_GE_FAMILY = (GE, GE_OFF, GE_JIT)

LR = 0.01  # the seed's SGD (Keras's default learning rate)
CHAIN_OPS = 200  # the per-op overhead chain of issue 3
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=np.float32)
SEED_SIZES, MLP_SIZES, MLP_BATCH = (2, 3, 1), (784, 256, 256, 10), 128

# Per run size: how much work each case does and how long it may sample.
SIZES = {
    "full": dict(mul_chain=100_000, sigmoid=(2**20, 2**26), linear=(4096, 1024, 1024),
                 linear_cpu=(4096, 1024, 1024), mem_steps=1000, mlp_batch=MLP_BATCH,
                 budget=12.0, min_rounds=6, passes=3, sample_s=0.025),
    "quick": dict(mul_chain=20_000, sigmoid=(2**20,), linear=(4096, 1024, 1024),
                  linear_cpu=(512, 1024, 1024), mem_steps=300, mlp_batch=MLP_BATCH,
                  budget=3.0, min_rounds=6, passes=2, sample_s=0.02),
    # Tiny sizes for the smoke test: exercises every code path in seconds.
    "smoke": dict(mul_chain=300, sigmoid=(2**10,), linear=(16, 32, 32), linear_cpu=(16, 32, 32),
                  mem_steps=10, mlp_batch=1, budget=0.0, min_rounds=2, passes=1,
                  sample_s=0.0005),
}
MAX_ROUNDS = 200
WARM_S = 0.15  # warm-up time per column (at least 3 calls unless one call is slow)
SETTLE_S = 0.2  # idle time before each block: lets the other library's threads stop spinning


class Skip(Exception):
    """A column (or case) that cannot run here; the message says why."""


# ------------------------------------------------------------------ environment


@dataclass
class Env:
    """The device, run size and optional libraries of one benchmark run."""

    device: str  # "cpu" or "cuda"
    size: str = "quick"  # "full", "quick" or "smoke"
    torch: object = None
    cupy: object = None
    notes: list = field(default_factory=list)
    torch_missing: str = "torch not installed"

    @classmethod
    def detect(cls, device: str = "auto", size: str = "quick") -> "Env":
        """Resolve ``device`` ("auto" picks CUDA when CuPy sees a GPU) and import the refs."""
        cuda_ok = ge.cuda.is_available()
        if device == "auto":
            device = "cuda" if cuda_ok else "cpu"
        if device not in ("cpu", "cuda"):
            raise ValueError(f"bench: unknown device {device!r}; use auto, cpu or cuda")
        if device == "cuda" and not cuda_ok:
            raise ge.DeviceError("bench: --device cuda needs CuPy and a CUDA device; "
                                 f"{ge.backend.INSTALL_HINT}, or use --device cpu")
        env = cls(device=device, size=size)
        try:
            import torch
            if device == "cuda" and not torch.cuda.is_available():
                env.torch_missing = "this torch build has no CUDA support"
                env.notes.append(f"torch: {env.torch_missing}; torch column skipped")
            else:
                env.torch = torch
        except ImportError:
            env.notes.append("torch: not installed (pip install 'gradengine[bench]'); "
                             "torch column and all ratios skipped")
        if device == "cuda":
            env.cupy = ge.backend.cupy()
        return env

    @property
    def sizes(self) -> dict:
        return SIZES[self.size]

    @property
    def columns(self) -> tuple:
        if self.device == "cuda":
            return (GE, GE_OFF, GE_JIT, TORCH, CUPY, KERAS)
        return (GE, GE_JIT, TORCH, NUMPY, KERAS)

    @property
    def torch_device(self) -> str:
        return "cuda" if self.device == "cuda" else "cpu"

    def xp(self):
        return self.cupy if self.device == "cuda" else np

    def sync(self, impl: str) -> Callable[[], None]:
        """What waits for queued GPU work of a column (nothing on the CPU)."""
        if self.device == "cpu":
            return _noop
        if impl == TORCH:
            return self.torch.cuda.synchronize
        return ge.cuda.synchronize

    @contextlib.contextmanager
    def context(self, impl: str):
        """Active while a column builds, warms up and runs: its device and kernel switch."""
        old_device = ge.get_default_device()
        old_kernels = os.environ.get("GRADENGINE_KERNELS")
        if impl in _GE_FAMILY:
            ge.set_default_device(self.device)
            if impl == GE_OFF:
                # read at call time by gradengine.cuda.kernels.enabled()
                os.environ["GRADENGINE_KERNELS"] = "0"
        try:
            yield
        finally:
            ge.set_default_device(old_device)
            if old_kernels is None:
                os.environ.pop("GRADENGINE_KERNELS", None)
            else:
                os.environ["GRADENGINE_KERNELS"] = old_kernels


def _noop():
    return None


def _collect(env: Env) -> None:
    """A full GC pass (0.1-0.3 s with torch loaded), skipped in smoke runs."""
    if env.size != "smoke":
        gc.collect()


# ------------------------------------------------------------------ cases


@dataclass
class Bench:
    """One column of a case, ready to run: ``fn()`` does the work once."""

    fn: Callable[[], object]
    note: str = ""


@dataclass
class Case:
    """One piece of work and its implementations (builders are called lazily)."""

    key: str  # stable id: JSON rows, pytest-benchmark groups, derived ratios
    label: str  # the row label of the table
    measures: str  # one sentence: what exactly is timed
    builders: dict  # column -> () -> Bench (may raise Skip)
    per: int = 1  # report time per `per` units as well (the per-op chain: 200 ops)
    unit: str = ""
    kind: str = "time"  # "time" or "memory"
    params: dict = field(default_factory=dict)


def _rng():
    return np.random.default_rng(0)


def _require_jit():
    """gradengine.jit.jit (taken from the module: ``ge.jit`` may resolve to the module)."""
    jit = getattr(importlib.import_module("gradengine.capture"), "jit", None)
    if not callable(jit):
        raise Skip("gradengine.jit has no jit() function yet")
    return jit


def _by_column(env: Env, ge_fn, torch_fn, xp_fn, jit_fn=None) -> dict:
    """The builders of a case: the gradengine family, torch, and NumPy/CuPy by hand."""
    builders = {GE: ge_fn, GE_OFF: ge_fn}
    if jit_fn is not None:
        builders[GE_JIT] = jit_fn

    def torch_builder():
        if env.torch is None:
            raise Skip(env.torch_missing)
        return torch_fn(env.torch, env.torch_device)

    builders[TORCH] = torch_builder
    builders[NUMPY if env.device == "cpu" else CUPY] = lambda: xp_fn(env.xp())
    return builders


def case_op_chain(env: Env) -> Case:
    """Issue 3: dispatch + node recording + backward cost per op on a tiny tensor."""
    x0 = _rng().standard_normal(100).astype(np.float32)
    rounds = CHAIN_OPS // 5

    def five_ops(y):  # stays in (0, 3) for any start: sigmoid and tanh bound it
        return ((y * 0.9 + 0.1).sigmoid().tanh()).exp()

    def chain(x, g):  # the same Python runs on a gradengine and on a torch tensor
        def step():
            y = x
            for _ in range(rounds):
                y = five_ops(y)
            y.backward(g)
            x.grad = None
        return Bench(step)

    def ge_fn():
        return chain(ge.tensor(x0, requires_grad=True), ge.ones(100))

    def torch_fn(torch, dev):
        return chain(torch.tensor(x0, requires_grad=True, device=dev),
                     torch.ones(100, device=dev))

    def xp_fn(xp):
        x = xp.asarray(x0)

        def step():
            y, saved = x, []
            for _ in range(rounds):
                s = 1 / (1 + xp.exp(-(y * 0.9 + 0.1)))
                t = xp.tanh(s)
                y = xp.exp(t)
                saved.append((s, t, y))
            g = xp.ones_like(x)
            for s, t, e in reversed(saved):
                g = g * e
                g = g * (1 - t * t)
                g = g * s * (1 - s)
                g = g * 0.9
            return g
        return Bench(step)

    return Case("op_chain_200", f"per-op: {CHAIN_OPS}-op chain, (100,) f32",
                f"forward + backward of {CHAIN_OPS} elementwise ops (mul, add, sigmoid, tanh, "
                "exp) on a (100,) float32 tensor; shown per op",
                _by_column(env, ge_fn, torch_fn, xp_fn), per=CHAIN_OPS, unit="op",
                params=dict(ops=CHAIN_OPS, shape=[100], dtype="float32"))


def case_mul_chain(env: Env) -> Case:
    """Issue 3: y = y * 1.0000001 repeated; the engine's per-node cost at depth."""
    n = env.sizes["mul_chain"]

    def chain(x):  # the same Python runs on a gradengine and on a torch tensor
        def step():
            y = x
            for _ in range(n):
                y = y * 1.0000001
            y.backward()
            x.grad = None
        return Bench(step)

    def ge_fn():
        return chain(ge.tensor(1.0, dtype="float64", requires_grad=True))

    def torch_fn(torch, dev):
        return chain(torch.tensor(1.0, dtype=torch.float64, requires_grad=True, device=dev))

    def xp_fn(xp):
        x = xp.asarray(1.0, dtype=np.float64)

        def step():
            y = x
            for _ in range(n):
                y = y * 1.0000001
            g = xp.ones_like(x)
            for _ in range(n):
                g = g * 1.0000001
            return y, g
        return Bench(step)

    note = "" if n == 100_000 else f" (--quick: {n:,} ops, not 100,000)"
    return Case("mul_chain", f"chain y=y*1.0000001, {n:,} ops",
                f"forward + backward of {n:,} multiplications of a 0-d float64 tensor{note}",
                _by_column(env, ge_fn, torch_fn, xp_fn), params=dict(ops=n, dtype="float64"))


def case_copy(env: Env, n: int) -> Case:
    """Reference row: a same-device copy, the bandwidth ceiling of elementwise kernels."""
    def torch_fn(torch, dev):
        src, dst = torch.ones(n, device=dev), torch.empty(n, device=dev)
        return Bench(lambda: dst.copy_(src))

    def xp_fn(xp):
        src, dst = xp.ones(n, dtype=np.float32), xp.empty(n, dtype=np.float32)
        return Bench(lambda: xp.copyto(dst, src))

    builders = _by_column(env, None, torch_fn, xp_fn)
    del builders[GE], builders[GE_OFF]
    return Case(f"copy_2^{n.bit_length() - 1}", f"copy 2^{n.bit_length() - 1} f32 (bandwidth)",
                "a same-device copy of n float32 elements: the memory-bandwidth ceiling",
                builders, params=dict(n=n, bytes=8 * n))


def case_sigmoid(env: Env, n: int, part: str) -> Case:
    """Large elementwise: sigmoid forward, its backward op, or both through autograd."""

    def ge_fn():
        x0, g0, y0 = _sigmoid_data(n)
        x, g, y = ge.tensor(x0, requires_grad=part == "fwd_bwd"), ge.tensor(g0), ge.tensor(y0)
        if part == "fwd":
            return Bench(lambda: _ge_no_grad(F.sigmoid, x))
        if part == "bwd":
            return Bench(lambda: _ge_no_grad(F.sigmoid_backward, y, g))

        def step():
            F.sigmoid(x).backward(g)
            x.grad = None
        return Bench(step)

    def torch_fn(torch, dev):
        x0, g0, y0 = _sigmoid_data(n)
        x = torch.tensor(x0, device=dev, requires_grad=part == "fwd_bwd")
        g, y = torch.tensor(g0, device=dev), torch.tensor(y0, device=dev)
        if part == "fwd":
            return Bench(lambda: _torch_no_grad(torch, torch.sigmoid, x))
        if part == "bwd":
            return Bench(lambda: _torch_no_grad(torch, torch.ops.aten.sigmoid_backward, g, y))

        def step():
            torch.sigmoid(x).backward(g)
            x.grad = None
        return Bench(step)

    def xp_fn(xp):
        x, g, y = (xp.asarray(a) for a in _sigmoid_data(n))
        if part == "fwd":
            return Bench(lambda: 1 / (1 + xp.exp(-x)))
        if part == "bwd":
            return Bench(lambda: g * y * (1 - y))

        def step():
            out = 1 / (1 + xp.exp(-x))
            return g * out * (1 - out)
        return Bench(step)

    p = n.bit_length() - 1
    what = {"fwd": "sigmoid forward (no grad)",
            "bwd": "the sigmoid backward op alone: dx = g*y*(1-y)",
            "fwd_bwd": "sigmoid forward recorded + backward through autograd"}[part]
    traffic = {"fwd": 8, "bwd": 12, "fwd_bwd": 20}[part] * n  # float32 bytes read + written
    return Case(f"sigmoid_{part}_2^{p}", f"sigmoid {part.replace('_', '+')} 2^{p} f32",
                f"{what}, 2^{p} float32 elements", _by_column(env, ge_fn, torch_fn, xp_fn),
                params=dict(n=n, bytes=traffic, dtype="float32"))


@functools.lru_cache(maxsize=1)  # one size at a time: 2^26 float32 is 768 MB for the three
def _sigmoid_data(n: int):
    """x ~ N(0, 1), the upstream gradient g = 1 and y = sigmoid(x), float32 host arrays."""
    x = _rng().standard_normal(n, dtype=np.float32)
    return x, np.ones(n, dtype=np.float32), 1 / (1 + np.exp(-x))


def _ge_no_grad(fn, *args):
    with ge.no_grad():
        return fn(*args)


def _torch_no_grad(torch, fn, *args):
    with torch.no_grad():
        return fn(*args)


def case_linear(env: Env) -> Case:
    """Issues 4/8: Linear + sigmoid forward + backward (x, W and b all get gradients)."""
    m, k, n = env.sizes["linear" if env.device == "cuda" else "linear_cpu"]
    rng = _rng()
    x0 = rng.standard_normal((m, k), dtype=np.float32)
    w0 = (rng.standard_normal((k, n), dtype=np.float32) / np.float32(np.sqrt(k)))
    b0 = np.zeros(n, dtype=np.float32)
    g0 = np.ones((m, n), dtype=np.float32)

    def ge_fn():
        x, w, b = (ge.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        g = ge.tensor(g0)

        def step():
            F.linear(x, w, b, activation="sigmoid").backward(g)
            x.grad = w.grad = b.grad = None
        return Bench(step)

    def torch_fn(torch, dev):
        x, b = (torch.tensor(a, device=dev, requires_grad=True) for a in (x0, b0))
        w = torch.tensor(np.ascontiguousarray(w0.T), device=dev, requires_grad=True)
        g = torch.tensor(g0, device=dev)

        def step():
            torch.sigmoid(torch.nn.functional.linear(x, w, b)).backward(g)
            x.grad = w.grad = b.grad = None
        return Bench(step)

    def xp_fn(xp):
        x, w, b, g = (xp.asarray(a) for a in (x0, w0, b0, g0))

        def step():
            y = 1 / (1 + xp.exp(-(x @ w + b)))
            dz = g * y * (1 - y)
            return x.T @ dz, dz.sum(axis=0), dz @ w.T
        return Bench(step)

    quick = "" if (m, k, n) == (4096, 1024, 1024) else " (--quick size)"
    return Case("linear_sigmoid", f"linear+sigmoid ({m}x{k})@({k}x{n})",
                f"sigmoid(x @ W + b) forward + backward (grads of x, W, b), x {m}x{k}, "
                f"W {k}x{n}, float32{quick}", _by_column(env, ge_fn, torch_fn, xp_fn),
                params=dict(m=m, k=k, n=n, dtype="float32"))


# ---------------------------------------------------------------- training steps


def _ge_train_step(sizes):
    """A gradengine training step ``step(X, Y) -> loss`` and how it was built.

    nn.Sequential of nn.Linear(activation="sigmoid") + optim.SGD when the model modules
    exist, else the same maths at the F level with a manual SGD update.
    """
    ge.manual_seed(0)
    try:
        from gradengine import nn, optim
        model = nn.Sequential(*[nn.Linear(i, o, activation="sigmoid")
                                for i, o in zip(sizes, sizes[1:])])
        opt = optim.SGD(model.parameters(), lr=LR)

        def step(X, Y):
            opt.zero_grad()
            loss = F.mse_loss(model(X), Y)
            loss.backward()
            opt.step()
            return loss
        return step, "nn.Sequential(nn.Linear) + optim.SGD"
    except (ImportError, AttributeError, TypeError) as exc:
        note = f"F.linear + manual SGD (nn/optim not usable: {type(exc).__name__}: {exc})"
    rng = _rng()
    params = []
    for i, o in zip(sizes, sizes[1:]):
        w = rng.uniform(-1, 1, (i, o)).astype(np.float32) / np.float32(np.sqrt(i))
        params += [ge.tensor(w, requires_grad=True), ge.zeros(o, requires_grad=True)]

    def step(X, Y):
        h = X
        for w, b in zip(params[::2], params[1::2]):
            h = F.linear(h, w, b, activation="sigmoid")
        loss = F.mse_loss(h, Y)
        loss.backward()
        for p in params:
            p.data -= LR * p.grad.data
            p.grad = None
        return loss
    return step, note


def _xp_train_step(xp, sizes):
    """The same step written by hand: forward, the chain rule, the SGD update."""
    rng = _rng()
    ws = [xp.asarray(rng.uniform(-1, 1, (i, o)).astype(np.float32) / np.float32(np.sqrt(i)))
          for i, o in zip(sizes, sizes[1:])]
    bs = [xp.zeros(o, dtype=np.float32) for o in sizes[1:]]

    def step(X, Y):
        acts = [X]
        for w, b in zip(ws, bs):
            acts.append(1 / (1 + xp.exp(-(acts[-1] @ w + b))))
        diff = acts[-1] - Y
        loss = (diff * diff).mean()
        g = diff * (2.0 / diff.size)
        for i in reversed(range(len(ws))):
            a = acts[i + 1]
            dz = g * a * (1 - a)
            if i:
                g = dz @ ws[i].T
            ws[i] -= LR * (acts[i].T @ dz)
            bs[i] -= LR * dz.sum(axis=0)
        return loss, acts[-1]
    return step


def _torch_train_step(torch, dev, sizes):
    torch.manual_seed(0)
    layers = []
    for i, o in zip(sizes, sizes[1:]):
        layers += [torch.nn.Linear(i, o), torch.nn.Sigmoid()]
    model = torch.nn.Sequential(*layers).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=LR)

    def step(X, Y):
        opt.zero_grad()
        out = model(X)
        loss = torch.nn.functional.mse_loss(out, Y)
        loss.backward()
        opt.step()
        return loss, out
    return step


def _step_data(sizes, batch):
    if tuple(sizes) == SEED_SIZES:
        return XOR_X, XOR_Y
    rng = _rng()
    x = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
    y = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], batch)]
    return x, y


def _train_builders(env: Env, sizes, batch) -> dict:
    x0, y0 = _step_data(sizes, batch)

    def ge_fn():
        step, note = _ge_train_step(sizes)
        X, Y = ge.tensor(x0), ge.tensor(y0)
        return Bench(lambda: step(X, Y), note)

    def jit_fn():
        jit = _require_jit()
        step, note = _ge_train_step(sizes)
        jstep = jit(step)
        X, Y = ge.tensor(x0), ge.tensor(y0)
        return Bench(lambda: jstep(X, Y), f"ge.jit over {note}")

    def torch_fn(torch, dev):
        step = _torch_train_step(torch, dev, sizes)
        X, Y = torch.tensor(x0, device=dev), torch.tensor(y0, device=dev)
        return Bench(lambda: step(X, Y), "nn.Sequential(Linear, Sigmoid) + optim.SGD")

    def xp_fn(xp):
        step = _xp_train_step(xp, sizes)
        X, Y = xp.asarray(x0), xp.asarray(y0)
        return Bench(lambda: step(X, Y))

    return _by_column(env, ge_fn, torch_fn, xp_fn, jit_fn)


def case_seed_step(env: Env) -> Case:
    return Case("seed_step", "seed step 2-3-1 XOR (4x2)",
                "one training step of the seed model: 4x2 XOR batch, 2-3-1 sigmoid MLP, "
                "MSE, SGD lr 0.01 (zero_grad, forward, backward, update)",
                _train_builders(env, SEED_SIZES, 4), params=dict(sizes=list(SEED_SIZES),
                                                                 batch=4))


def case_mlp_step(env: Env) -> Case:
    batch = env.sizes["mlp_batch"]
    return Case("mlp_step", f"MLP step 784-256-256-10, batch {batch}",
                f"one training step: batch {batch}, 784-256-256-10 MLP with sigmoid on every "
                "layer, MSE against one-hot targets, SGD lr 0.01",
                _train_builders(env, MLP_SIZES, batch),
                params=dict(sizes=list(MLP_SIZES), batch=batch))


def _keras_fit_history(step, n, epochs, batch_size, shuffle_rng, as_float):
    """What Keras's fit does around each step: shuffle, batches, per-epoch mean metrics."""
    history = {"loss": [], "mae": [], "mse": []}
    for _ in range(epochs):
        order = shuffle_rng(n)
        sums = dict.fromkeys(history, 0.0)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            loss, out, target = step(idx)
            k = len(idx)
            sums["loss"] += as_float(loss) * k
            sums["mse"] += as_float(loss) * k
            sums["mae"] += as_float(abs(out - target).mean()) * k
        for key in history:
            history[key].append(sums[key] / n)
    return history


def case_seed_fit(env: Env) -> Case:
    """Issue 5: the seed's ``model.fit(X, y, epochs=50)`` as written (verbose=0)."""
    epochs = 50

    def seed_model(jit_compile=False):
        from gradengine.nn import Dense, Sequential
        ge.manual_seed(0)
        model = Sequential()
        model.add(Dense(3, input_dim=2, activation="sigmoid"))
        model.add(Dense(1, activation="sigmoid"))
        kwargs = dict(jit_compile=True) if jit_compile else {}
        model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"], **kwargs)
        return model

    def ge_fn():
        try:
            model = seed_model()
        except (ImportError, AttributeError) as exc:
            raise Skip(f"the Keras loop is not usable yet ({type(exc).__name__}: {exc})") from None
        return Bench(lambda: model.fit(XOR_X, XOR_Y, epochs=epochs, verbose=0),
                     "Sequential/Dense/compile/fit as in the seed")

    def jit_fn():
        _require_jit()
        try:
            model = seed_model(jit_compile=True)
        except (ImportError, AttributeError, TypeError) as exc:
            raise Skip(f"compile(jit_compile=True) is not usable ({type(exc).__name__}: "
                       f"{exc})") from None
        return Bench(lambda: model.fit(XOR_X, XOR_Y, epochs=epochs, verbose=0),
                     "compile(..., jit_compile=True)")

    def torch_fn(torch, dev):
        step = _torch_train_step(torch, dev, SEED_SIZES)
        X, Y = torch.tensor(XOR_X, device=dev), torch.tensor(XOR_Y, device=dev)

        def batch_step(idx):
            loss, out = step(X[idx], Y[idx])
            return loss, out.detach(), Y[idx]
        return Bench(lambda: _keras_fit_history(
            batch_step, 4, epochs, 32, lambda n: torch.randperm(n, device=dev),
            lambda v: float(v.item())), "a hand-written loop doing what fit does")

    def xp_fn(xp):
        step = _xp_train_step(xp, SEED_SIZES)
        X, Y = xp.asarray(XOR_X), xp.asarray(XOR_Y)
        rng = np.random.default_rng(0)
        perm = (lambda n: xp.asarray(rng.permutation(n))) if xp is not np else rng.permutation

        def batch_step(idx):
            loss, out = step(X[idx], Y[idx])
            return loss, out, Y[idx]
        return Bench(lambda: _keras_fit_history(batch_step, 4, epochs, 32, perm, float),
                     "a hand-written loop doing what fit does")

    def keras_fn():
        if importlib.util.find_spec("tensorflow") is None:
            raise Skip("TensorFlow not installed (issue 5's reference for the seed fit)")
        import tensorflow as tf
        model = tf.keras.Sequential([tf.keras.Input((2,)),
                                     tf.keras.layers.Dense(3, activation="sigmoid"),
                                     tf.keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
        return Bench(lambda: model.fit(XOR_X, XOR_Y, epochs=epochs, verbose=0))

    builders = _by_column(env, ge_fn, torch_fn, xp_fn, jit_fn)
    builders[KERAS] = keras_fn
    return Case("seed_fit", "seed model.fit(epochs=50)",
                "the seed's model.fit(X, y, epochs=50) as written (batch_size 32, shuffle, "
                "metrics mae and mse, verbose=0); torch/numpy: the same loop by hand",
                builders, params=dict(epochs=epochs))


def case_memory(env: Env, step_case: Case) -> Case:
    """Memory per training step: host RSS (CPU) or pool bytes (GPU), flat or not."""
    n = env.sizes["mem_steps"]
    what = "host RSS" if env.device == "cpu" else "CUDA pool bytes in use"
    builders = dict(step_case.builders)
    return Case(f"memory_{step_case.key}", f"memory: {step_case.label}",
                f"{what} before and after {n:,} steps of {step_case.key} (after warm-up)",
                builders, kind="memory", params=dict(steps=n, step=step_case.key))


def make_cases(env: Env, only=None) -> list:
    """Every case of this run, in table order (``only``: substrings of keys to keep)."""
    cases = [case_op_chain(env), case_mul_chain(env)]
    for n in env.sizes["sigmoid"]:
        cases.append(case_copy(env, n))
        cases += [case_sigmoid(env, n, part) for part in ("fwd", "bwd", "fwd_bwd")]
    cases.append(case_linear(env))
    seed, mlp = case_seed_step(env), case_mlp_step(env)
    cases += [seed, mlp, case_seed_fit(env), case_memory(env, seed), case_memory(env, mlp)]
    if only:
        cases = [c for c in cases if any(s in c.key for s in only)]
    return cases


def make_case(key: str, env: Env) -> Case:
    """One case by key (for the pytest-benchmark suites); Skip if it is not in this size."""
    for case in make_cases(env):
        if case.key == key:
            return case
    raise Skip(f"case {key} is not part of the {env.size} sizes on {env.device}")


# ------------------------------------------------------------------ measuring


@dataclass
class Result:
    case: str
    impl: str
    skipped: str = ""
    note: str = ""
    samples: list = field(default_factory=list)  # seconds per call
    inner: int = 1
    memory: dict = field(default_factory=dict)

    def stats(self) -> dict:
        s = sorted(self.samples)
        if not s:
            return {}
        q = statistics.quantiles(s, n=4, method="inclusive") if len(s) > 1 else [s[0]] * 3
        return dict(median_s=statistics.median(s), p25_s=q[0], p75_s=q[2], min_s=s[0],
                    max_s=s[-1], rounds=len(s), inner=self.inner)


def _build(env: Env, case: Case, impl: str):
    """(Bench, None) or (None, reason): build one column inside its context."""
    with env.context(impl):
        try:
            bench = case.builders[impl]()
        except Skip as exc:
            return None, str(exc)
        except Exception as exc:  # noqa: BLE001 - a broken column must not stop the run
            return None, f"error while building: {type(exc).__name__}: {exc}"
    return bench, None


def _warm_up(env: Env, impl: str, bench: Bench, warm_s: float) -> float:
    """Run until warm (>= 3 calls and warm_s, or one call when a call is slow); last time."""
    sync = env.sync(impl)
    with env.context(impl):
        start = time.perf_counter()
        calls = 0
        while True:
            t0 = time.perf_counter()
            bench.fn()
            sync()
            dt = time.perf_counter() - t0
            calls += 1
            if dt > 0.5 or (calls >= 3 and time.perf_counter() - start >= warm_s):
                return dt


def run_time_case(env: Env, case: Case) -> list:
    """Time every column of ``case``; one Result per column.

    The columns run in blocks, ``passes`` times over (ABC ABC ...), so that a slow moment of
    the machine hits every column. Before each block the process sleeps briefly: on a
    2-core machine the thread pools of OpenBLAS (NumPy, gradengine) and of OpenMP (torch)
    keep spinning for ~0.1 s after their last call and would otherwise slow the next
    column down by up to 2x.
    """
    sz = env.sizes
    settle = SETTLE_S if env.size != "smoke" else 0.0
    results, live = [], {}
    for impl, res, bench in _built_columns(env, case, results):
        time.sleep(settle)
        try:
            dt = _warm_up(env, impl, bench, WARM_S if env.size != "smoke" else 0.0)
        except Exception as exc:  # noqa: BLE001
            res.skipped = f"error: {type(exc).__name__}: {exc}"
            continue
        res.inner = max(1, int(sz["sample_s"] / max(dt, 1e-9)))
        live[impl] = (bench, res)
    if not live:
        return results
    _collect(env)
    passes = sz["passes"]
    block_s = sz["budget"] / (passes * len(live))
    per_block = -(-sz["min_rounds"] // passes)
    for _ in range(passes):
        for impl, (bench, res) in list(live.items()):
            try:
                _time_block(env, impl, bench, res, settle, block_s, per_block)
            except Exception as exc:  # noqa: BLE001
                res.skipped = f"error: {type(exc).__name__}: {exc}"
                res.samples.clear()
                del live[impl]
    return results


def _time_block(env, impl, bench, res, settle, block_s, min_samples):
    sync = env.sync(impl)
    with env.context(impl):
        time.sleep(settle)
        if not res.samples or res.samples[-1] < 0.1:
            bench.fn()  # untimed: wakes this column's thread pool and caches
            sync()
        start = time.perf_counter()
        taken = 0
        while taken < min_samples or (time.perf_counter() - start < block_s and
                                      len(res.samples) < MAX_ROUNDS):
            t0 = time.perf_counter()
            for _ in range(res.inner):
                bench.fn()
            sync()
            res.samples.append((time.perf_counter() - t0) / res.inner)
            taken += 1


def rss_bytes() -> int:
    """This process's resident set size now (Linux /proc; else the peak from getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak * (1 if sys.platform == "darwin" else 1024)


def _memory_reader(env: Env, impl: str):
    if env.device == "cpu":
        return rss_bytes
    if impl == TORCH:
        return env.torch.cuda.memory_allocated
    return lambda: int(env.cupy.get_default_memory_pool().used_bytes())


def measure_memory(env: Env, impl: str, bench: Bench, steps: int) -> dict:
    """Memory growth over ``steps`` calls after a warm-up; flat if the 2nd half adds none."""
    read, sync = _memory_reader(env, impl), env.sync(impl)
    # RSS moves in allocator chunks; pool bytes are exact.
    tolerance = (1 << 20) if env.device == "cpu" else 0
    with env.context(impl):
        for _ in range(max(5, steps // 20)):
            bench.fn()
        sync()
        _collect(env)
        base = read()
        every = max(1, steps // 20)
        samples = []
        for i in range(1, steps + 1):
            bench.fn()
            if i % every == 0 or i == steps:
                sync()
                samples.append(read() - base)
    half = len(samples) // 2
    first, second = max(samples[:half] or [0]), max(samples[half:])
    return dict(steps=steps, baseline_bytes=base, growth_bytes=samples[-1],
                peak_growth_bytes=max(max(samples), 0),
                growth_per_step_bytes=samples[-1] / steps,
                flat=bool(second - max(first, 0) <= tolerance),
                measure="host RSS" if env.device == "cpu" else
                ("torch.cuda.memory_allocated" if impl == TORCH else "CuPy pool used_bytes"))


def _built_columns(env: Env, case: Case, results: list, skip=()):
    """(impl, result, bench) for each column of ``case`` that could be built; every column's
    Result (skipped ones with the reason) is appended to ``results``."""
    for impl in env.columns:
        if impl not in case.builders or impl in skip:
            continue
        res = Result(case.key, impl)
        results.append(res)
        bench, why = _build(env, case, impl)
        if bench is None:
            res.skipped = why
            continue
        res.note = bench.note
        yield impl, res, bench


def run_memory_case(env: Env, case: Case) -> list:
    results = []
    for impl, res, bench in _built_columns(env, case, results, skip=(KERAS,)):
        try:
            res.memory = measure_memory(env, impl, bench, case.params["steps"])
        except Exception as exc:  # noqa: BLE001
            res.skipped = f"error: {type(exc).__name__}: {exc}"
        del bench
    return results


# ------------------------------------------------------------------ the report

# (ratio key, bound, "<=" or ">=", issue, devices)
TARGETS = (
    ("op_overhead_vs_torch", 0.75, "<=", 3, ("cpu",)),
    ("mul_chain_vs_torch", 1.0, "<=", 3, ("cpu",)),
    ("seed_step_vs_torch", 0.25, "<=", 5, ("cpu",)),
    ("mlp_step_vs_torch", 1.0, "<=", 5, ("cpu",)),
    ("seed_fit_vs_keras", 0.01, "<=", 5, ("cpu",)),
    ("seed_step_jit_vs_numpy", 1.5, "<=", 9, ("cpu",)),
    ("seed_step_jit_vs_torch", 0.15, "<=", 9, ("cpu",)),
    ("mlp_step_jit_vs_torch", 0.9, "<=", 9, ("cpu",)),
    ("seed_step_jit_vs_torch", 0.33, "<=", 9, ("cuda",)),
    ("mlp_step_jit_vs_torch", 0.33, "<=", 9, ("cuda",)),
    ("linear_sigmoid_vs_torch", 0.9, "<=", 8, ("cuda",)),
    ("linear_sigmoid_vs_unfused", 0.8, "<=", 8, ("cuda",)),
    ("sigmoid_fwd_fraction_of_copy", 0.85, ">=", 8, ("cuda",)),
    ("sigmoid_bwd_fraction_of_copy", 0.85, ">=", 8, ("cuda",)),
)


GPU_TOP_LEVEL = ("copy_gbps", "sigmoid_fwd_fraction_of_copy", "sigmoid_bwd_fraction_of_copy",
                 "linear_sigmoid_vs_torch", "linear_sigmoid_vs_unfused", "mlp_step_vs_torch",
                 "seed_step_vs_torch", "seed_step_jit_vs_torch", "mlp_step_jit_vs_torch")


def _medians(results) -> dict:
    return {(r.case, r.impl): r.stats()["median_s"] for r in results if r.samples}


def derived_ratios(results, cases) -> dict:
    """The named figures the issues ask for (gradengine time / reference time)."""
    med = _medians(results)
    out = {}

    def ratio(name, case, num, den):
        if (case, num) in med and (case, den) in med:
            out[name] = med[(case, num)] / med[(case, den)]

    ratio("op_overhead_vs_torch", "op_chain_200", GE, TORCH)
    ratio("mul_chain_vs_torch", "mul_chain", GE, TORCH)
    ratio("linear_sigmoid_vs_torch", "linear_sigmoid", GE, TORCH)
    ratio("linear_sigmoid_vs_unfused", "linear_sigmoid", GE, GE_OFF)
    for step in ("seed_step", "mlp_step"):
        ratio(f"{step}_vs_torch", step, GE, TORCH)
        ratio(f"{step}_vs_numpy", step, GE, NUMPY)
        ratio(f"{step}_jit_vs_torch", step, GE_JIT, TORCH)
        ratio(f"{step}_jit_vs_numpy", step, GE_JIT, NUMPY)
    ratio("seed_fit_vs_torch", "seed_fit", GE, TORCH)
    ratio("seed_fit_vs_keras", "seed_fit", GE, KERAS)
    ratio("seed_fit_jit_vs_torch", "seed_fit", GE_JIT, TORCH)
    if ("op_chain_200", GE) in med:
        out["op_overhead_us_per_op"] = med[("op_chain_200", GE)] / CHAIN_OPS * 1e6
    # bandwidth figures at the largest size measured (issue 8)
    params = {c.key: c.params for c in cases}
    copies = sorted((k for k in params if k.startswith("copy_")), key=lambda k: params[k]["n"])
    for key in reversed(copies):
        ref = med.get((key, CUPY)) or med.get((key, NUMPY))
        if ref is None:
            continue
        out["copy_gbps"] = params[key]["bytes"] / ref / 1e9
        p = key.split("_")[-1]
        for part in ("fwd", "bwd"):
            t = med.get((f"sigmoid_{part}_{p}", GE))
            if t is not None:
                gbps = params[f"sigmoid_{part}_{p}"]["bytes"] / t / 1e9
                out[f"sigmoid_{part}_gbps"] = gbps
                out[f"sigmoid_{part}_fraction_of_copy"] = gbps / out["copy_gbps"]
        out["bandwidth_size"] = p
        break
    return out


def check_targets(ratios: dict, device: str) -> list:
    rows = []
    for key, bound, op, issue, devices in TARGETS:
        if device not in devices:
            continue
        value = ratios.get(key)
        met = None if value is None else (value <= bound if op == "<=" else value >= bound)
        rows.append(dict(key=key, value=value, target=f"{op} {bound:g}", issue=issue, met=met))
    return rows


def _fmt_time(s: float) -> str:
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    if s >= 1e-6:
        return f"{s * 1e6:.3g} µs"
    return f"{s * 1e9:.3g} ns"


def _fmt_bytes(n: float) -> str:
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{sign}{n:.0f} {unit}" if unit == "B" else f"{sign}{n:.1f} {unit}"
        n /= 1024


def _cell(res: Result, case: Case, torch_median) -> str:
    st = res.stats()
    med = st["median_s"] / case.per
    spread = (st["p75_s"] - st["p25_s"]) / 2 / st["median_s"] * 100
    text = f"{_fmt_time(med)} ±{spread:.0f}%"
    if res.impl != TORCH and torch_median:
        text += f" ({st['median_s'] / torch_median:.2f}×)"
    return text


def _table(headers, rows) -> list:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(r):
        return "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
    return [line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows]


def _md_table(headers, rows) -> list:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return out + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]


def build_tables(report: dict, cases, results) -> dict:
    """The time, memory and target tables as (headers, rows), plus the notes."""
    by = {(r.case, r.impl): r for r in results}
    time_cases = [c for c in cases if c.kind == "time"]
    used = [i for i in IMPLS if any((c.key, i) in by and by[(c.key, i)].samples
                                    for c in cases)]
    rows = []
    for case in time_cases:
        torch_res = by.get((case.key, TORCH))
        torch_med = torch_res.stats()["median_s"] if torch_res and torch_res.samples else None
        row = [case.label + (f" (per {case.unit})" if case.unit else "")]
        for impl in used:
            res = by.get((case.key, impl))
            row.append("—" if res is None else "skip" if not res.samples
                       else _cell(res, case, torch_med))
        rows.append(row)
    mem_rows = []
    for case in (c for c in cases if c.kind == "memory"):
        for impl in used:
            res = by.get((case.key, impl))
            if res is None or not res.memory:
                continue
            m = res.memory
            mem_rows.append([case.params["step"], impl, f"{m['steps']:,}", m["measure"],
                             _fmt_bytes(m["growth_per_step_bytes"]),
                             _fmt_bytes(m["peak_growth_bytes"]),
                             "yes" if m["flat"] else "NO"])
    target_rows = []
    for t in report["targets"]:
        value = "n/a" if t["value"] is None else f"{t['value']:.3g}"
        met = "—" if t["met"] is None else "yes" if t["met"] else "no"
        target_rows.append([t["key"], value, t["target"], f"#{t['issue']}", met])
    notes = list(report["notes"])
    for r in results:
        if r.skipped:
            notes.append(f"{r.case} / {r.impl}: skipped — {r.skipped}")
    seen = set()
    for r in results:
        if r.note and (r.impl, r.note) not in seen:
            seen.add((r.impl, r.note))
            notes.append(f"{r.impl}: {r.note}")
    return dict(
        time=(["case"] + used, rows),
        memory=(["step", "column", "steps", "measure", "growth/step", "peak growth", "flat"],
                mem_rows),
        targets=(["figure", "measured", "target", "issue", "met"], target_rows),
        notes=notes)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu_name(env: Env):
    if env.device != "cuda":
        return None
    try:
        props = env.cupy.cuda.runtime.getDeviceProperties(env.cupy.cuda.Device().id)
        name = props["name"]
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # noqa: BLE001
        return "unknown CUDA device"


def _version(name: str):
    try:
        return importlib.import_module(name).__version__
    except Exception:  # noqa: BLE001 - missing or broken: recorded as absent
        return None


def _git_commit():
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5, cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def build_report(env: Env, cases, results, date: str) -> dict:
    versions = dict(python=platform.python_version(), numpy=np.__version__,
                    torch=_version("torch") if env.torch is not None else None,
                    cupy=_version("cupy") if env.cupy is not None else None,
                    gradengine=ge.__version__, gradengine_commit=_git_commit())
    if env.device == "cuda":
        try:
            versions["cuda_runtime"] = env.cupy.cuda.runtime.runtimeGetVersion()
        except Exception:  # noqa: BLE001
            pass
    rows = []
    for r in results:
        case = next(c for c in cases if c.key == r.case)
        row = dict(case=r.case, label=case.label, kind=case.kind, impl=r.impl,
                   measures=case.measures, params=case.params)
        if r.skipped:
            row["skipped"] = r.skipped
        if r.note:
            row["note"] = r.note
        if r.samples:
            row.update(r.stats())
            row.update(per=case.per, unit=case.unit or None,
                       median_per_unit_s=row["median_s"] / case.per)
            torch_r = next((x for x in results if x.case == r.case and x.impl == TORCH
                            and x.samples), None)
            row["ratio_to_torch"] = (row["median_s"] / torch_r.stats()["median_s"]
                                     if torch_r is not None and r.impl != TORCH else None)
        if r.memory:
            row["memory"] = r.memory
        rows.append(row)
    ratios = derived_ratios(results, cases)
    notes = list(env.notes)
    if env.size != "full":
        sz = env.sizes
        m, k, n = sz["linear" if env.device == "cuda" else "linear_cpu"]
        notes.append(f"{'--quick' if env.size == 'quick' else 'smoke'} sizes: chain of "
                     f"{sz['mul_chain']:,} ops, sigmoid at "
                     f"{', '.join(f'2^{x.bit_length() - 1}' for x in sz['sigmoid'])}, linear "
                     f"{m}x{k}@{k}x{n}, {sz['mem_steps']:,} memory steps; the issues' targets "
                     "are defined on the full sizes (gradengine bench without --quick)")
    threads = env.torch.get_num_threads() if env.torch is not None else None
    # The GPU issues (8, 9) name these figures as top-level keys of the GPU results JSON.
    top = {k: ratios[k] for k in GPU_TOP_LEVEL if k in ratios} if env.device == "cuda" else {}
    return dict(**top, schema=1, device=env.device, size=env.size, quick=env.size != "full",
                date=date, timestamp=datetime.datetime.now().isoformat(timespec="seconds"),
                cpu_model=_cpu_model(), cpu_count=os.cpu_count(), gpu_name=_gpu_name(env),
                platform=platform.platform(), torch_threads=threads, versions=versions,
                ratios=ratios, targets=check_targets(ratios, env.device),
                notes=notes, rows=rows)


def render_text(report: dict, tables: dict) -> str:
    out = [_title(report), ""]
    out += _table(*tables["time"])
    out += ["", "Cells: median ±half the interquartile range (ratio to torch). Memory:", ""]
    out += _table(*tables["memory"]) if tables["memory"][1] else ["(no memory rows)"]
    out += ["", "Targets of the issues:", ""] + _table(*tables["targets"])
    if tables["notes"]:
        out += ["", "Notes:"] + [f"  - {n}" for n in tables["notes"]]
    return "\n".join(out)


def _title(report: dict) -> str:
    hw = report["gpu_name"] or report["cpu_model"]
    mode = {"full": "full", "quick": "--quick", "smoke": "smoke"}[report["size"]]
    return f"gradengine bench — {report['device']} ({hw}), {report['date']}, {mode}"


def render_markdown(report: dict, tables: dict, chart_name) -> str:
    v = report["versions"]
    libs = ", ".join(f"{k} {v[k]}" for k in ("python", "numpy", "torch", "cupy", "gradengine")
                     if v.get(k)) + (f" (commit {v['gradengine_commit']})"
                                     if v.get("gradengine_commit") else "")
    out = [f"# {_title(report)}", "",
           f"- device: **{report['device']}**",
           f"- CPU: {report['cpu_model']} ({report['cpu_count']} cores)"]
    if report["gpu_name"]:
        out.append(f"- GPU: {report['gpu_name']}")
    out += [f"- date: {report['date']}", f"- versions: {libs}",
            f"- torch threads: {report['torch_threads']}", "",
            "Median time per call (per op for the per-op row), ± half the interquartile "
            "range, and the ratio to PyTorch in parentheses (lower is better).", ""]
    out += _md_table(*tables["time"])
    if chart_name:
        out += ["", f"![ratios to PyTorch]({chart_name})"]
    seen = set()
    measures = []
    for r in report["rows"]:
        if r["case"] not in seen:
            seen.add(r["case"])
            measures.append(f"- **{r['label']}**: {r['measures']}")
    out += ["", "## What each row measures", ""] + measures
    if tables["memory"][1]:
        out += ["", "## Memory per training step", ""] + _md_table(*tables["memory"])
    out += ["", "## Targets of the issues", ""] + _md_table(*tables["targets"])
    if tables["notes"]:
        out += ["", "## Notes", ""] + [f"- {n}" for n in tables["notes"]]
    return "\n".join(out) + "\n"


def write_chart(report: dict, path: Path):
    """A bar chart of every column's ratio to torch per case; None (and a note) without
    matplotlib or without ratios."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        report["notes"].append("chart: matplotlib not installed (pip install matplotlib); "
                               "no PNG written")
        return None
    rows = [r for r in report["rows"] if r.get("ratio_to_torch")]
    if not rows:
        report["notes"].append("chart: no ratios to plot (torch column missing)")
        return None
    labels = list(dict.fromkeys(r["label"] for r in rows))
    impls = [i for i in IMPLS if any(r["impl"] == i for r in rows)]
    height = 0.8 / len(impls)
    fig = Figure(figsize=(9, 0.5 + 0.45 * len(labels) * max(1, len(impls) / 2)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colors = dict(zip(IMPLS, ("tab:blue", "tab:cyan", "tab:purple", "tab:red", "tab:green",
                              "tab:olive", "tab:orange")))
    for j, impl in enumerate(impls):
        ys, xs = [], []
        for i, label in enumerate(labels):
            r = next((r for r in rows if r["label"] == label and r["impl"] == impl), None)
            if r is not None:
                ys.append(i + (j - (len(impls) - 1) / 2) * height)
                xs.append(r["ratio_to_torch"])
        bars = ax.barh(ys, xs, height=height, label=impl, color=colors[impl])
        ax.bar_label(bars, labels=[f"{x:.2g}×" for x in xs], fontsize=7, padding=2)
    ax.axvline(1.0, color="black", linewidth=1, label="torch (= 1)")
    ax.set_xscale("log")
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("time / PyTorch time (log scale; < 1 is faster than PyTorch)")
    ax.set_title(_title(report), fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def _loadavg():
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def default_out_dir() -> Path:
    """bench/results of the source checkout, else ./bench/results."""
    repo_bench = Path(__file__).resolve().parent.parent / "bench"
    return (repo_bench if repo_bench.is_dir() else Path.cwd() / "bench") / "results"


# ------------------------------------------------------------------ entry point


@contextlib.contextmanager
def _smoke_threads(env: Env):
    """Smoke runs skip the settle pauses; one torch thread keeps its OpenMP pool from
    fighting OpenBLAS's spinning threads (which slows tiny steps 100x on 2 cores)."""
    if env.size != "smoke" or env.torch is None:
        yield
        return
    threads = env.torch.get_num_threads()
    env.torch.set_num_threads(1)
    try:
        yield
    finally:
        env.torch.set_num_threads(threads)


def run(env: Env, out_dir: Path, only=None, quiet=False) -> dict:
    """Run every case, print the tables, write JSON, markdown and the chart; the report."""
    log = (lambda *a, **k: None) if quiet else print
    date = datetime.date.today().isoformat()
    load_before = _loadavg()
    cases = make_cases(env, only)
    results = []
    t_start = time.perf_counter()
    with _smoke_threads(env):
        for case in cases:
            t0 = time.perf_counter()
            runner = run_memory_case if case.kind == "memory" else run_time_case
            results += runner(env, case)
            log(f"  {case.key:<24} {time.perf_counter() - t0:6.1f} s", file=sys.stderr)
            _collect(env)
    report = build_report(env, cases, results, date)
    report["elapsed_s"] = round(time.perf_counter() - t_start, 1)
    report["loadavg_1min"] = dict(before=load_before, after=_loadavg())
    busy = max((v for v in report["loadavg_1min"].values() if v is not None), default=0.0)
    if busy > (os.cpu_count() or 1):
        report["notes"].append(f"the machine was shared (1-min load average up to {busy:.1f} on "
                               f"{os.cpu_count()} cores): other processes competed for the "
                               "CPU; a wide spread marks a row they disturbed")
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{env.device}-{date}"
    if env.device != "cpu":  # issue 8's name: gpu-<device>-<date>, e.g. gpu-nvidia-h100-...
        gpu = re.sub(r"[^a-z0-9]+", "-", (report.get("gpu_name") or "cuda").lower()).strip("-")
        stem = f"gpu-{gpu}-{date}"
    chart = write_chart(report, out_dir / f"{stem}.png")
    tables = build_tables(report, cases, results)
    (out_dir / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    (out_dir / f"{stem}.md").write_text(
        render_markdown(report, tables, chart.name if chart else None))
    log(render_text(report, tables))
    log(f"\nwrote {out_dir / stem}.json, .md" + (", .png" if chart else "") +
        f" in {report['elapsed_s']} s")
    return report


def main(argv=None) -> int:
    """``gradengine bench [--device auto|cpu|cuda] [--quick] [--out DIR]``."""
    parser = argparse.ArgumentParser(
        prog="gradengine bench",
        description="Time gradengine beside PyTorch, NumPy/CuPy written by hand (and "
                    "gradengine+jit, TF-Keras when present) in one run; print the table and "
                    "write JSON, markdown and a PNG chart of the ratios.")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="auto: CUDA when CuPy sees a GPU, else CPU")
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes and shorter sampling (1-2 minutes on 2 cores)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: bench/results)")
    parser.add_argument("--only", default="",
                        help="comma-separated substrings of case keys to run (e.g. sigmoid,mlp)")
    parser.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)  # tests
    args = parser.parse_args(argv)
    size = "smoke" if args.smoke else "quick" if args.quick else "full"
    try:
        env = Env.detect(args.device, size)
    except ge.DeviceError as exc:
        print(exc, file=sys.stderr)
        return 2
    only = [s for s in args.only.split(",") if s]
    run(env, args.out or default_out_dir(), only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
