"""The cases of ``gradengine bench``: one piece of work, written once per column.

A case's builders return a :class:`Bench` whose ``fn()`` does the work once; a builder
that cannot run here raises :class:`Skip` with the reason. ``absent`` says why a column
has no builder at all, so that every empty cell of the table can say why.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import gradengine as ge
import gradengine.functional as F

from .env import CUPY, GE, GE_JIT, GE_OFF, KERAS, NUMPY, TORCH, Env, Skip

LR = 0.01  # the seed's SGD (Keras's default learning rate)
CHAIN_OPS = 200  # ops in the per-op overhead chain
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=np.float32)
SEED_SIZES, MLP_SIZES = (2, 3, 1), (784, 256, 256, 10)

NO_JIT = "ge.jit captures whole training steps; this row times single ops"
NO_KERAS = "TF-Keras is timed on the seed fit only"


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
    absent: dict = field(default_factory=dict)  # column -> why it has no builder


def _rng():
    return np.random.default_rng(0)


def _require_jit():
    """``ge.jit``, or Skip when this build of gradengine has none."""
    jit = getattr(ge, "jit", None)
    if not callable(jit):
        raise Skip("ge.jit is not available in this build of gradengine")
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


def _absent(builders: dict, extra: dict | None = None) -> dict:
    """Why each column without a builder is empty (the defaults, then ``extra``)."""
    why = {GE_JIT: NO_JIT, KERAS: NO_KERAS, **(extra or {})}
    return {impl: reason for impl, reason in why.items() if impl not in builders}


def case_op_chain(env: Env) -> Case:
    """Dispatch + node recording + backward cost per op on a tiny tensor."""
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

    builders = _by_column(env, ge_fn, torch_fn, xp_fn)
    return Case("op_chain_200", f"per-op: {CHAIN_OPS}-op chain, (100,) f32",
                f"forward + backward of {CHAIN_OPS} elementwise ops (mul, add, sigmoid, tanh, "
                "exp) on a (100,) float32 tensor; shown per op",
                builders, per=CHAIN_OPS, unit="op",
                params=dict(ops=CHAIN_OPS, shape=[100], dtype="float32"),
                absent=_absent(builders))


def case_mul_chain(env: Env) -> Case:
    """y = y * 1.0000001 repeated: the engine's per-node cost at depth."""
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
    builders = _by_column(env, ge_fn, torch_fn, xp_fn)
    return Case("mul_chain", f"chain y=y*1.0000001, {n:,} ops",
                f"forward + backward of {n:,} multiplications of a 0-d float64 tensor{note}",
                builders, params=dict(ops=n, dtype="float64"), absent=_absent(builders))


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
    ref = "the bandwidth reference row: a plain copy has no gradengine op to time"
    return Case(f"copy_2^{n.bit_length() - 1}", f"copy 2^{n.bit_length() - 1} f32 (bandwidth)",
                "a same-device copy of n float32 elements: the memory-bandwidth ceiling",
                builders, params=dict(n=n, bytes=8 * n),
                absent=_absent(builders, {GE: ref, GE_OFF: ref, GE_JIT: ref}))


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
    builders = _by_column(env, ge_fn, torch_fn, xp_fn)
    return Case(f"sigmoid_{part}_2^{p}", f"sigmoid {part.replace('_', '+')} 2^{p} f32",
                f"{what}, 2^{p} float32 elements", builders,
                params=dict(n=n, bytes=traffic, dtype="float32"), absent=_absent(builders))


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
    """Linear + sigmoid forward + backward (x, W and b all get gradients)."""
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
    builders = _by_column(env, ge_fn, torch_fn, xp_fn)
    return Case("linear_sigmoid", f"linear+sigmoid ({m}x{k})@({k}x{n})",
                f"sigmoid(x @ W + b) forward + backward (grads of x, W, b), x {m}x{k}, "
                f"W {k}x{n}, float32{quick}", builders,
                params=dict(m=m, k=k, n=n, dtype="float32"), absent=_absent(builders))


# ---------------------------------------------------------------- training steps


def _ge_train_step(sizes):
    """A gradengine training step ``step(X, Y) -> loss`` and how it was built."""
    from gradengine import nn, optim
    ge.manual_seed(0)
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
    builders = _train_builders(env, SEED_SIZES, 4)
    return Case("seed_step", "seed step 2-3-1 XOR (4x2)",
                "one training step of the seed model: 4x2 XOR batch, 2-3-1 sigmoid MLP, "
                "MSE, SGD lr 0.01 (zero_grad, forward, backward, update)",
                builders, params=dict(sizes=list(SEED_SIZES), batch=4),
                absent=_absent(builders))


def case_mlp_step(env: Env) -> Case:
    batch = env.sizes["mlp_batch"]
    builders = _train_builders(env, MLP_SIZES, batch)
    return Case("mlp_step", f"MLP step 784-256-256-10, batch {batch}",
                f"one training step: batch {batch}, 784-256-256-10 MLP with sigmoid on every "
                "layer, MSE against one-hot targets, SGD lr 0.01",
                builders, params=dict(sizes=list(MLP_SIZES), batch=batch),
                absent=_absent(builders))


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
    """The seed's ``model.fit(X, y, epochs=50)`` as written (verbose=0)."""
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
        model = seed_model()
        return Bench(lambda: model.fit(XOR_X, XOR_Y, epochs=epochs, verbose=0),
                     "Sequential/Dense/compile/fit as in the seed")

    def jit_fn():
        _require_jit()
        model = seed_model(jit_compile=True)
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
            raise Skip("TensorFlow not installed (pip install tensorflow to time TF-Keras)")
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
                builders, params=dict(epochs=epochs), absent=_absent(builders))


def case_memory(env: Env, step_case: Case) -> Case:
    """Memory per training step: host RSS (CPU) or pool bytes (GPU), flat or not."""
    n = env.sizes["mem_steps"]
    what = "host RSS" if env.device == "cpu" else "CUDA pool bytes in use"
    builders = dict(step_case.builders)
    return Case(f"memory_{step_case.key}", f"memory: {step_case.label}",
                f"{what} before and after {n:,} steps of {step_case.key} (after warm-up)",
                builders, kind="memory", params=dict(steps=n, step=step_case.key),
                absent=dict(step_case.absent))


# ---------------------------------------------------------------- op families (issue 14)

NO_TWIN = "no hand-written NumPy twin for this op row (torch is the reference)"


def _fwd_bwd_case(env: Env, key, label, measures, shapes, ge_fwd, torch_fwd, params,
                  grad_of=None) -> Case:
    """A forward + backward of one op family's function on float32 inputs of ``shapes``
    (all of them get gradients unless ``grad_of`` names which), the upstream gradient ones."""
    rng = _rng()
    arrays = [rng.standard_normal(s, dtype=np.float32) for s in shapes]
    grad_of = range(len(shapes)) if grad_of is None else grad_of

    def ge_fn():
        ts = [ge.tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
        g = ge.ones(ge_fwd(*ts).shape)

        def step():
            ge_fwd(*ts).backward(g)
            for t in ts:
                t.grad = None
        return Bench(step)

    def torch_builder():
        if env.torch is None:
            raise Skip(env.torch_missing)
        torch, dev = env.torch, env.torch_device
        ts = [torch.tensor(a, device=dev, requires_grad=i in grad_of)
              for i, a in enumerate(arrays)]
        g = torch.ones(torch_fwd(torch, *ts).shape, device=dev)

        def step():
            torch_fwd(torch, *ts).backward(g)
            for t in ts:
                t.grad = None
        return Bench(step)

    builders = {GE: ge_fn, GE_OFF: ge_fn, TORCH: torch_builder}
    return Case(key, label, measures, builders, params=dict(params, dtype="float32"),
                absent=_absent(builders, {NUMPY: NO_TWIN, CUPY: NO_TWIN}))


def case_conv2d(env: Env) -> Case:
    return _fwd_bwd_case(
        env, "conv2d_fwd_bwd", "conv2d 32x3x32x32, 16 3x3, pad 1",
        "conv2d forward + backward (grads of input, weight, bias): batch 32x3x32x32, 16 "
        "filters 3x3, padding 1, float32", [(32, 3, 32, 32), (16, 3, 3, 3), (16,)],
        lambda x, w, b: F.conv2d(x, w, b, padding=1),
        lambda torch, x, w, b: torch.nn.functional.conv2d(x, w, b, padding=1),
        dict(input=[32, 3, 32, 32], weight=[16, 3, 3, 3], padding=1))


def case_max_pool2d(env: Env) -> Case:
    return _fwd_bwd_case(
        env, "max_pool2d_fwd_bwd", "max_pool2d 2x2 on 32x16x32x32",
        "max_pool2d 2x2 (stride 2) forward + backward on the conv2d row's output shape "
        "32x16x32x32, float32", [(32, 16, 32, 32)],
        lambda x: F.max_pool2d(x, 2), lambda torch, x: torch.nn.functional.max_pool2d(x, 2),
        dict(input=[32, 16, 32, 32], kernel=2))


def case_attention(env: Env) -> Case:
    return _fwd_bwd_case(
        env, "attention_fwd_bwd", "scaled_dot_product_attention (8, 128, 64)",
        "scaled_dot_product_attention forward + backward (grads of q, k, v), each "
        "(8, 128, 64) float32", [(8, 128, 64)] * 3,
        F.scaled_dot_product_attention,
        lambda torch, q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v),
        dict(shape=[8, 128, 64]))


def case_layer_norm(env: Env) -> Case:
    return _fwd_bwd_case(
        env, "layer_norm_fwd_bwd", "layer_norm (128, 1024)",
        "layer_norm over the last axis forward + backward (grads of input, weight, bias), "
        "(128, 1024) float32", [(128, 1024), (1024,), (1024,)],
        lambda x, w, b: F.layer_norm(x, (1024,), w, b),
        lambda torch, x, w, b: torch.nn.functional.layer_norm(x, (1024,), w, b),
        dict(shape=[128, 1024]))


def case_cnn_epoch(env: Env) -> Case:
    """One training epoch of the digits CNN of examples/digits_cnn.py (Conv2d-ReLU-MaxPool-
    Flatten-Linear, Adam, batch 32) on 1,437 images of 8x8, beside the same loop in torch."""
    rng = _rng()
    n, batch = 1437, 32
    X = rng.standard_normal((n, 1, 8, 8), dtype=np.float32)
    y = rng.integers(0, 10, n)

    def ge_fn():
        from gradengine import nn, optim
        ge.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
        model.to(env.device)
        opt = optim.Adam(model.parameters(), lr=1e-2)
        batches = [(ge.tensor(X[i:i + batch], device=env.device),
                    ge.tensor(y[i:i + batch], device=env.device)) for i in range(0, n, batch)]

        def epoch():
            for xb, yb in batches:
                opt.zero_grad()
                F.cross_entropy(model(xb), yb).backward()
                opt.step()
        return Bench(epoch)

    def torch_builder():
        if env.torch is None:
            raise Skip(env.torch_missing)
        torch, dev = env.torch, env.torch_device
        torch.manual_seed(0)
        tnn = torch.nn
        model = tnn.Sequential(tnn.Conv2d(1, 16, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                               tnn.Flatten(), tnn.Linear(16 * 4 * 4, 10)).to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        batches = [(torch.tensor(X[i:i + batch], device=dev),
                    torch.tensor(y[i:i + batch], device=dev)) for i in range(0, n, batch)]

        def epoch():
            for xb, yb in batches:
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(xb), yb).backward()
                opt.step()
        return Bench(epoch)

    builders = {GE: ge_fn, GE_OFF: ge_fn, TORCH: torch_builder}
    return Case("cnn_epoch", "digits CNN, one epoch (1437 x 1x8x8, batch 32)",
                "one training epoch of Conv2d(1,16,3,pad 1)-ReLU-MaxPool2d(2)-Flatten-"
                "Linear(256,10) with Adam and cross-entropy, 45 batches of 32", builders,
                params=dict(samples=n, batch=batch),
                absent=_absent(builders, {NUMPY: NO_TWIN, CUPY: NO_TWIN}))


def make_cases(env: Env, only=None) -> list:
    """Every case of this run, in table order (``only``: substrings of keys to keep)."""
    cases = [case_op_chain(env), case_mul_chain(env)]
    for n in env.sizes["sigmoid_cuda" if env.device == "cuda" else "sigmoid"]:
        cases.append(case_copy(env, n))
        cases += [case_sigmoid(env, n, part) for part in ("fwd", "bwd", "fwd_bwd")]
    cases.append(case_linear(env))
    seed, mlp = case_seed_step(env), case_mlp_step(env)
    cases += [seed, mlp, case_seed_fit(env), case_memory(env, seed), case_memory(env, mlp)]
    cases += [case_conv2d(env), case_max_pool2d(env), case_attention(env), case_layer_norm(env),
              case_cnn_epoch(env)]
    if only:
        cases = [c for c in cases if any(s in c.key for s in only)]
    return cases


def case_keys(env: Env) -> list:
    """The keys of every case of this run size, in table order."""
    return [c.key for c in make_cases(env)]


def make_case(key: str, env: Env) -> Case:
    """One case by key (for the pytest-benchmark suites); Skip if it is not in this size."""
    for case in make_cases(env):
        if case.key == key:
            return case
    raise Skip(f"case {key} is not part of the {env.size} sizes on {env.device}")


