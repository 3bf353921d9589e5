"""tinygrad's op suite (test/backend/test_ops.py) against gradengine, as a report: each
helper_test_op case's *torch* expression runs on torch and, with its globals' ``torch``
bound to gradengine, on gradengine; values and gradients are compared. tinygrad itself
is never imported (stub modules stand in for the names the file imports).

    python tests/suites/run_tinygrad_ops.py PATH/TO/test_ops.py [test_names...]

It also runs the ``helper_test_exception`` cases (torch_fxn must raise the expected error
on both; a NOTE where gradengine's error is not also of torch's built-in class), the tests
tinygrad's file skips (slow, device-only), and ``TestOpsUint8``. ``Tensor`` is a stand-in
for gradengine's: a tinygrad-only name it lacks ends that test body as an artefact, and a
body's own ``assertRaises`` (tinygrad's rules) notes what happened and goes on. Counts:
ok, fail, artefact (a tinygrad-only API or rule, or a difference DESIGN.md fixes, listed
in ARTEFACTS with the reason).

Not part of the default suite (it needs tinygrad's file); the cases it found wrong are
ported as tests in tests/test_tinygrad_suite_port.py and tests/test_tinygrad_suite_port_2.py."""

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


class TinygradOnly(Exception):
    """A tinygrad-only API was called: the case is a runner artefact, not a gradengine bug."""


class _Missing:
    def __init__(self, name):
        self.name = name

    def __call__(self, *a, **k):
        raise TinygradOnly(self.name)

    def __getattr__(self, k):
        return _Missing(f"{self.name}.{k}")


class _Rend:
    def supported_dtypes(self):
        return ("float16", "float32", "float64", "half")

    def __eq__(self, other):
        return False

    __hash__ = object.__hash__


class _DevOne:
    renderer = _Rend()


class _DevMeta(type):
    def __getitem__(cls, k):
        return _DevOne()


class _Dev(metaclass=_DevMeta):
    DEFAULT = "CPU"
    interface = "CPU"
    device = "CPU"
    renderer = _Rend()


class _DType(str):
    """A tinygrad dtype spelled as the dtype string gradengine takes, with .max / .min."""

    def _info(self):
        d = np.dtype(str(self))
        return np.iinfo(d) if d.kind in "iu" else np.finfo(d)

    @property
    def max(self):
        return True if self == "bool" else self._info().max.item() if hasattr(
            self._info().max, "item") else self._info().max

    @property
    def min(self):
        return False if self == "bool" else self._info().min.item() if hasattr(
            self._info().min, "item") else self._info().min

    @property
    def itemsize(self):
        return np.dtype(str(self)).itemsize


_ALIASES = {"float": "float32", "half": "float16", "double": "float64", "int": "int32",
            "long": "int64", "default_float": "float32", "default_int": "int32",
            "uchar": "uint8", "char": "int8", "short": "int16", "ushort": "uint16",
            "uint": "uint32", "ulong": "uint64"}


class _DT:
    def __getattr__(self, k):
        k = _ALIASES.get(k, k)
        try:
            np.dtype(k)
        except TypeError:
            return _Missing(f"dtypes.{k}")
        return _DType(k)


def _creates(f):
    """tinygrad's tensors take gradients without requires_grad=True (it is None, "may"):
    what the Tensor stand-in creates requires grad when it is a float tensor."""

    def g(*a, **k):
        k.pop("requires_grad", None)
        if isinstance(k.get("dtype"), _DType):
            k["dtype"] = str(k["dtype"])
        r = f(*a, **k)
        if isinstance(r, ge.Tensor) and r.dtype.kind == "f" and not r.requires_grad:
            r.requires_grad_()
        return r

    return g


class _TensorMeta(type):
    def __call__(cls, data, dtype=None, device=None, requires_grad=None, **kw):
        if isinstance(data, ge.Tensor):
            data = data.detach().numpy()
        return _creates(ge.tensor)(data, dtype=None if dtype is None else str(dtype))

    def __getattr__(cls, k):
        for src in (ge.Tensor, ge):
            if hasattr(src, k):
                v = getattr(src, k)
                if k in _CREATION:
                    return _creates(v)
                return v
        return _Missing(f"Tensor.{k}")

    def __instancecheck__(cls, obj):
        return isinstance(obj, ge.Tensor)


_CREATION = {"ones", "zeros", "full", "empty", "rand", "randn", "randint", "arange", "eye",
             "linspace", "ones_like", "zeros_like", "full_like", "rand_like", "randn_like",
             "uniform", "normal"}


class _Tensor(metaclass=_TensorMeta):
    pass


# tinygrad's t.gradient(*targets) and t.realize(), for the bodies that call them
if not hasattr(ge.Tensor, "gradient"):
    ge.Tensor.gradient = lambda self, *ts: list(ge.grad(self, list(ts), allow_unused=True))
if not hasattr(ge.Tensor, "realize"):
    ge.Tensor.realize = lambda self, *a: self

stub("tinygrad", Tensor=_Tensor, Device=_Dev, dtypes=_DT())


class _Ctx:
    def __init__(self, **kw):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


stub("tinygrad.helpers", getenv=lambda k, d=0: d, DEBUG=0, DEV=_Dev, IMAGE=0, Context=_Ctx)
stub("tinygrad.tensor", _to_np_dtype=lambda d: np.dtype(str(d)))
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
        _fail(srcline, f"{type(e).__name__}: {str(e)[:400]}")


def helper_test_exception(self, shps, torch_fxn, tinygrad_fxn=None, expected=None,
                          forward_only=False, exact=False, vals=None, low=-1.5, high=1.5):
    """torch_fxn must raise ``expected`` on torch (else the case is not a torch case), and
    on gradengine too (gradengine's errors subclass the builtin ones torch raises). Where
    gradengine's error is not also of the built-in class torch raised, a NOTE says so."""
    import inspect

    try:
        srcline = "exception: " + inspect.getsource(torch_fxn).strip()[:150]
    except Exception:
        srcline = "exception: ?"
    try:
        ts = prep(real_torch, low, high, shps, vals, forward_only)
        torch_fxn(*ts)
    except expected as e:
        torch_cls = type(e)
        while not torch_cls.__module__ == "builtins":  # torch's own classes: their base
            torch_cls = torch_cls.__mro__[1]
    except Exception:
        stats["torch-error"] += 1
        return
    else:
        stats["torch-error"] += 1  # torch raises nothing: tinygrad's own rule
        return
    want = expected if isinstance(expected, tuple) else (expected,)
    names = "/".join(w.__name__ for w in want)
    try:
        fg = rebind(torch_fxn)
        tg = prep(ge, low, high, shps, vals, forward_only)
        fg(*tg)
    except want as e:
        stats["ok"] += 1
        if not isinstance(e, torch_cls):
            notes.append((CUR[0], srcline, f"{type(e).__name__} is not a {torch_cls.__name__} "
                          f"(torch's)"))
        return
    except Exception as e:
        _fail(srcline, f"raised {type(e).__name__} (expected {names}): {str(e)[:300]}")
        return
    _fail(srcline, f"raised nothing (expected {names})")


# Cases whose failure is the runner's, or a difference DESIGN.md fixes, not a bug:
# (test name, a piece of the case's source or "<body>", why).
ARTEFACTS = [
    ("test_max", ".max(axis=1)[0]", "max(axis) gives the values (NumPy's amax; DESIGN.md)"),
    ("test_max_dont_collapse", ".max(1)[0]", "max(d) gives the values (DESIGN.md)"),
    ("test_stack_max", ".max(axis=0)[0]", "max(axis) gives the values (DESIGN.md)"),
    ("test_inf_where", "<body>", "tinygrad's cond.where(x, y); torch's t.where(cond, y) "
     "takes t as the values"),
    ("test_int_or", "<body>", "tinygrad's dtype 'int' is int32; gradengine's string 'int' "
     "is NumPy's int64 (ge.int is int32, as torch.int)"),
    ("test_isinf", "<body>", "tinygrad-only isinf(detect_positive=, detect_negative=)"),
    ("test_masked_select_size", "<body>", "tinygrad-only masked_select(size=, fill_value=)"),
    ("test_nonzero_size", "<body>", "tinygrad-only nonzero(size=, fill_value=)"),
    ("test_meshgrid", "<body>", "tinygrad-only t.meshgrid(); its cases compare torch with "
     "torch"),
    ("test_sigmoid_alt_extreme", "<body>", "tinygrad folds exp(x)/(1+exp(x)); torch's "
     "gradient at 300 is NaN too"),
]


def _fail(srcline, msg):
    for n, piece, why in ARTEFACTS:
        if n == CUR[0] and (piece in srcline):
            stats["artefact"] += 1
            artefacts.append((CUR[0], srcline, why))
            return
    stats["fail"] += 1
    fails.append((CUR[0], srcline, msg))


class _TinygradRaises:
    """``self.assertRaises(E)`` in a body wraps a *tinygrad* expression and tinygrad's own
    rule (PyTorch's are helper_test_exception's): whatever happens is noted as an artefact
    and the body goes on to its next torch case."""

    def __init__(self, expected, *a):
        self.expected = expected

    def __enter__(self):
        return self

    def __exit__(self, tp, e, tb):
        if tp is not None and issubclass(tp, TinygradOnly):
            return False
        if tp is None or not issubclass(tp, self.expected):
            got = "nothing" if tp is None else tp.__name__
            stats["artefact"] += 1
            artefacts.append((CUR[0], "<assertRaises>", f"tinygrad's rule raises "
                              f"{getattr(self.expected, '__name__', self.expected)}; "
                              f"gradengine raised {got}"))
        return True


def _assert_raises(self, expected, *args, **kw):
    cm = _TinygradRaises(expected)
    if args and not isinstance(args[0], str):  # assertRaises(E, fn, *args)
        with cm:
            args[0](*args[1:], **kw)
        return None
    return cm


artefacts = []
notes = []
mod.helper_test_op = helper_test_op
only = sys.argv[2:]
for T in (mod.TestOps, mod.TestOpsUint8):
    T.helper_test_exception = helper_test_exception
    T.assertRaises = T.assertRaisesRegex = _assert_raises
    for n in [n for n in dir(T) if n.startswith("test_")]:
        if only and n not in only:
            continue
        CUR[0] = n
        tc = T(n)
        f = getattr(T, n)
        # tinygrad's own skips (slow, device-only, "broken"): the torch cases run anyway
        while getattr(f, "__unittest_skip__", False) and hasattr(f, "__wrapped__"):
            f = f.__wrapped__
        try:
            f(tc)
        except unittest.SkipTest as e:
            stats["skipped-test"] += 1
            artefacts.append((n, "<body>", f"skipped by tinygrad's file: {e}"))
        except TinygradOnly as e:  # the body calls a tinygrad-only API
            stats["artefact"] += 1
            artefacts.append((n, "<body>", f"tinygrad-only {e}"))
        except Exception as e:
            _fail("<body>", f"{type(e).__name__}: {str(e)[:300]}")
for n, s, e in fails:
    print(f"FAIL {n}: {s}\n    -> {e}")
for n, s, e in artefacts:
    print(f"ARTEFACT {n}: {s}\n    -> {e}")
for n, s, e in notes:
    print(f"NOTE {n}: {s}\n    -> {e}")
print(dict(stats))
