"""tinygrad's op suite (test/backend/test_ops.py) against gradengine, as a report: each
helper_test_op case's *torch* expression runs on torch and, with its globals' ``torch``
bound to gradengine, on gradengine; values and gradients are compared. tinygrad itself
is never imported (stub modules stand in for the names the file imports).

    python tests/suites/run_tinygrad_ops.py PATH/TO/test_ops.py [test_names...]

Not part of the default suite (it needs tinygrad's file); the cases it found wrong are
ported as tests in tests/test_tinygrad_suite_port.py."""

import collections
import sys
import types
import unittest
import warnings

import numpy as np
import torch as real_torch

import gradengine as ge

warnings.filterwarnings("ignore")


def stub(name, **kw):
    m = types.ModuleType(name)
    m.__dict__.update(kw)
    sys.modules[name] = m
    return m


class _Rend:
    def supported_dtypes(self):
        return ("float16", "float32", "float64", "half")


class _DevOne:
    renderer = _Rend()


class _DevMeta(type):
    def __getitem__(cls, k):
        return _DevOne()


class _Dev(metaclass=_DevMeta):
    DEFAULT = "CPU"
    interface = "CPU"
    renderer = _Rend()


class _DT:
    default_float = "float32"

    def __getattr__(self, k):
        return k


stub("tinygrad", Tensor=ge.Tensor, Device=_Dev, dtypes=_DT())


class _Ctx:
    def __init__(self, **kw):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


stub("tinygrad.helpers", getenv=lambda k, d=0: d, DEBUG=0, DEV=_Dev, IMAGE=0, Context=_Ctx)
stub("tinygrad.tensor", _to_np_dtype=lambda d: np.float32)
stub("tinygrad.renderer")
stub("tinygrad.renderer.nir", NIRRenderer=type("NIR", (), {}))

SRC_PATH = sys.argv[1]
src = open(SRC_PATH).read()
mod = types.ModuleType("tg_test_ops")
mod.__file__ = SRC_PATH
exec(compile(src, SRC_PATH, "exec"), mod.__dict__)


class Skip(Exception):
    pass


stats = collections.Counter()
fails = []


def _has_torch_tensor(f):
    for c in getattr(f, "__closure__", None) or ():
        try:
            v = c.cell_contents
        except ValueError:
            continue
        if isinstance(v, real_torch.Tensor) or (
            isinstance(v, (list, tuple)) and any(isinstance(x, real_torch.Tensor) for x in v)
        ):
            return True
    return False


def rebind(f):
    import functools

    if isinstance(f, functools.partial):
        return functools.partial(rebind(f.func), *f.args, **f.keywords)
    if isinstance(f, real_torch.nn.Module):
        import gradengine.nn as gnn

        kw = {k: getattr(f, k) for k in ("dim",) if hasattr(f, k)}
        return getattr(gnn, type(f).__name__)(**kw)
    mod_ = getattr(f, "__module__", "") or ""
    if not hasattr(f, "__code__") or mod_.startswith("torch"):
        import importlib

        m = mod_.replace("torch", "gradengine", 1) if mod_.startswith("torch") else "gradengine"
        if m.startswith("gradengine._"):
            m = "gradengine"
        for cand in (m, "gradengine.nn.functional", "gradengine"):
            try:
                obj = getattr(importlib.import_module(cand), f.__name__)
                return obj
            except (ImportError, AttributeError):
                pass
        raise AttributeError(f"no gradengine twin of {mod_}.{f.__name__}")
    g = dict(f.__globals__)
    g["torch"] = ge

    def conv(v):
        if isinstance(v, real_torch.Tensor):
            return ge.tensor(v.detach().cpu().numpy(), requires_grad=v.requires_grad)
        if isinstance(v, (list, tuple)) and any(isinstance(x, real_torch.Tensor) for x in v):
            return type(v)(conv(x) for x in v)
        if (
            callable(v)
            and not isinstance(v, type)
            and (getattr(v, "__module__", "") or "").startswith("torch")
        ):
            try:
                return rebind(v)
            except Exception:
                return v
        return v

    cl = None
    if f.__closure__:
        cells = []
        for c in f.__closure__:
            try:
                cells.append(types.CellType(conv(c.cell_contents)))
            except ValueError:
                cells.append(c)
        cl = tuple(cells)
    return types.FunctionType(f.__code__, g, f.__name__, f.__defaults__, cl)


def to_np(t):
    if isinstance(t, real_torch.Tensor):
        return t.detach().cpu().numpy()
    if isinstance(t, ge.Tensor):
        return np.asarray(t.detach().numpy())
    return np.asarray(t)


def compare(s, a, b, atol, rtol):
    assert a.shape == b.shape, f"{s}: shape ge={a.shape} torch={b.shape}"
    assert a.dtype == b.dtype, f"{s}: dtype ge={a.dtype} torch={b.dtype}"
    if np.issubdtype(a.dtype, np.floating):
        np.testing.assert_allclose(a, b, atol=atol, rtol=rtol, err_msg=s)
    else:
        np.testing.assert_equal(a, b, err_msg=s)


def prep(T, low, high, shps, vals, forward_only):
    if shps is None:
        ts = [T.tensor(x, requires_grad=(not forward_only)) for x in vals]
    else:
        np.random.seed(0)
        data = [np.random.uniform(low=low, high=high, size=s).astype(np.float32) for s in shps]
        ts = [T.tensor(d, requires_grad=(not forward_only)) for d in data]
    for i in range(len(ts)):
        if ts[i].dtype == T.int64:
            ts[i] = ts[i].type(T.int32)
    return ts


CUR = [None]


def helper_test_op(
    shps,
    torch_fxn,
    tinygrad_fxn=None,
    atol=1e-6,
    rtol=1e-3,
    grad_atol=1e-4,
    grad_rtol=1e-3,
    forward_only=False,
    vals=None,
    low=-2,
    high=2,
):
    import inspect

    fg = rebind(torch_fxn)
    try:
        srcline = inspect.getsource(torch_fxn).strip()[:160]
    except Exception:
        srcline = "?"
    try:
        ts = prep(real_torch, low, high, shps, vals, forward_only)
        out = torch_fxn(*ts)
    except Exception:
        stats["torch-error"] += 1
        return
    try:
        tg = prep(ge, low, high, shps, vals, forward_only)
        ret = fg(*tg)
        compare("forward", to_np(ret), to_np(out), atol, rtol)
        if not forward_only and ts:
            tgr = real_torch.autograd.grad(torch_fxn(*ts).sum(), ts, allow_unused=True)
            ggr = ge.grad(fg(*tg).sum(), tg, allow_unused=True)
            for i, (a, b) in enumerate(zip(ggr, tgr)):
                if b is None:
                    continue
                compare(f"grad {i}", to_np(a), to_np(b), grad_atol, grad_rtol)
        stats["ok"] += 1
    except Exception as e:
        stats["fail"] += 1
        fails.append((CUR[0], srcline, f"{type(e).__name__}: {str(e)[:400]}"))


mod.helper_test_op = helper_test_op
T = mod.TestOps
T.helper_test_exception = lambda self, *a, **k: None
names = [n for n in dir(T) if n.startswith("test_")]
only = sys.argv[2:]
other = collections.Counter()
for n in names:
    if only and n not in only:
        continue
    CUR[0] = n
    tc = T(n)
    try:
        getattr(tc, n)()
    except unittest.SkipTest:
        other["skipped-test"] += 1
    except Exception as e:
        other["test-body-error"] += 1
        fails.append((n, "<body>", f"{type(e).__name__}: {str(e)[:300]}"))
for n, s, e in fails:
    print(f"FAIL {n}: {s}\n    -> {e}")
print(dict(stats), dict(other))
