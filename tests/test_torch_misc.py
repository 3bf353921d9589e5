"""PyTorch's remaining top-level utilities, random functions and Tensor attributes
(gradengine/misc.py, gradengine/ops/random_extras.py, gradengine/random.py), each checked
against torch computed here: random draws by their distributions (two-sample
Kolmogorov-Smirnov distance to torch's draws, fixed seeds), determinism under
ge.manual_seed and generators, get/set_rng_state round trips, ge.jit replays drawing
anew, constructors and window values, dtype facts, runtime switches, the Tensor attributes
and the order of post-accumulate-grad hooks.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradengine as ge
from gradengine import backend

torch = pytest.importorskip("torch")

N = 20000


def _ks(a, b):
    """The two-sample Kolmogorov-Smirnov distance of two samples."""
    a, b = np.sort(np.ravel(a)), np.sort(np.ravel(b))
    grid = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, grid, side="right") / a.size
                                - np.searchsorted(b, grid, side="right") / b.size)))


def _tt(dtype):
    return getattr(torch, np.dtype(dtype).name if dtype != "bool" else "bool")


# ---------------------------------------------------------------- in-place random fills

FILLS = [
    ("uniform_", (), {}),
    ("uniform_", (-2.0, 3.0), {}),
    ("normal_", (), {}),
    ("normal_", (1.5, 0.5), {}),
    ("exponential_", (), {}),
    ("exponential_", (2.5,), {}),
    ("cauchy_", (1.0, 2.0), {}),
    ("geometric_", (0.3,), {}),
    ("log_normal_", (), {}),
    ("log_normal_", (0.0, 0.5), {}),
    ("bernoulli_", (0.3,), {}),
    ("random_", (3, 9), {}),
    ("random_", (5,), {}),
]


@pytest.mark.parametrize("name,args,kw", FILLS, ids=[f"{f[0]}{f[1]}" for f in FILLS])
def test_fills_draw_torchs_distribution(name, args, kw, device):
    ge.manual_seed(0)
    torch.manual_seed(0)
    x = ge.zeros(N, dtype="float64", device=device)
    out = getattr(x, name)(*args, **kw)
    assert out is x and x.device.startswith(device) and x.dtype == np.float64
    ref = getattr(torch.zeros(N, dtype=torch.float64), name)(*args, **kw).numpy()
    got = x.numpy()
    assert _ks(got, ref) < 0.03, (name, args)
    if name in ("random_", "bernoulli_", "geometric_"):  # the same support
        lo = set(np.unique(ref)) if name != "geometric_" else {1.0}
        assert lo <= set(np.unique(got)) or name == "geometric_"
        assert got.min() >= ref.min() and (name == "geometric_" or got.max() <= ref.max())


def test_fills_keep_dtype_and_shape_and_bump_the_version():
    x = ge.zeros((3, 4), dtype="float16")
    v = x._version
    x.normal_(0, 1)
    assert x.dtype == np.float16 and x.shape == (3, 4) and x._version == v + 1
    y = x.view(12)
    y.uniform_(5, 6)  # through a view: the base sees it
    assert float(x.min().item()) >= 5


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "int16", "int32",
                                   "int64", "uint8", "bool"])
def test_random_without_bounds_follows_torchs_range_per_dtype(dtype):
    ge.manual_seed(1)
    torch.manual_seed(1)
    got = ge.zeros(4000, dtype=dtype).random_().numpy().astype(np.float64)
    ref = torch.zeros(4000, dtype=_tt(dtype)).random_().double().numpy()
    assert got.min() >= 0 and ref.min() >= 0
    hi = ref.max()
    if dtype in ("float16", "uint8", "int8", "bool"):  # a range 4000 draws fill
        assert got.max() <= hi and got.max() > 0.9 * hi
    else:  # [0, 2**mantissa] or [0, max]: the same order of magnitude as torch's
        top = {"float32": 2 ** 24, "float64": 2 ** 53}
        assert got.max() <= (top[dtype] if dtype in top else float(np.iinfo(dtype).max))
        assert got.max() > hi / 4


def test_integer_fills_on_integer_tensors_as_torch():
    ge.manual_seed(2)
    x = ge.zeros(500, dtype="int64")
    assert set(np.unique(x.random_(2, 5).numpy())) == {2, 3, 4}
    assert x.dtype == np.int64
    assert set(np.unique(x.bernoulli_(0.5).numpy())) == {0, 1}
    assert x.geometric_(0.5).numpy().min() >= 1
    r = torch.zeros(500, dtype=torch.int64).random_(2, 5)
    assert set(np.unique(r.numpy())) == {2, 3, 4}


def test_bernoulli_with_a_tensor_of_probabilities():
    p = ge.tensor([0.0, 1.0, 0.25])
    x = ge.zeros((N, 3), dtype="float64")
    x.bernoulli_(p)
    ref = torch.zeros((N, 3), dtype=torch.float64).bernoulli_(torch.tensor([0.0, 1.0, 0.25]))
    np.testing.assert_allclose(x.numpy().mean(0), ref.numpy().mean(0), atol=0.02)
    assert x.numpy()[:, 0].max() == 0 and x.numpy()[:, 1].min() == 1


BAD_FILLS = [
    ("random_", (5, 2), {}), ("uniform_", (2.0, 1.0), {}), ("normal_", (0.0, -1.0), {}),
    ("exponential_", (-1.0,), {}), ("cauchy_", (0.0, -1.0), {}), ("geometric_", (0.0,), {}),
    ("geometric_", (1.0,), {}), ("log_normal_", (1.0, -2.0), {}), ("bernoulli_", (1.5,), {}),
]


@pytest.mark.parametrize("name,args,kw", BAD_FILLS, ids=[f"{b[0]}{b[1]}" for b in BAD_FILLS])
def test_bad_fill_arguments_raise_as_torch(name, args, kw):
    with pytest.raises(Exception) as t_err:
        getattr(torch.ones(3), name)(*args, **kw)
    x = ge.ones(3)
    with pytest.raises(t_err.type) as g_err:
        getattr(x, name)(*args, **kw)
    assert isinstance(g_err.value, ge.errors.ArgumentError) and name in str(g_err.value)
    np.testing.assert_array_equal(x.numpy(), np.ones(3))  # unchanged


@pytest.mark.parametrize("name", ["uniform_", "normal_", "exponential_", "cauchy_",
                                  "log_normal_"])
def test_continuous_fills_refuse_integer_tensors(name):
    with pytest.raises(RuntimeError):  # NotImplementedError or RuntimeError in torch
        getattr(torch.ones(3, dtype=torch.int64), name)()
    with pytest.raises(RuntimeError, match=name):
        getattr(ge.ones(3, dtype="int64"), name)()


def test_fills_on_a_leaf_that_requires_grad_raise_and_work_under_no_grad():
    w = ge.ones(3, requires_grad=True)
    tw = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError):
        tw.normal_()
    with pytest.raises(RuntimeError):
        w.normal_()
    with ge.no_grad():
        w.normal_()
        w.exponential_()
    assert w.requires_grad and w.is_leaf


# ---------------------------------------------------------------- samplers


def test_poisson_and_binomial_draw_torchs_distributions():
    ge.manual_seed(0)
    torch.manual_seed(0)
    rates = np.array([0.0, 0.5, 3.0, 40.0])
    got = ge.poisson(ge.tensor(np.tile(rates, (N // 4, 1)))).numpy()
    ref = torch.poisson(torch.tensor(np.tile(rates, (N // 4, 1)))).numpy()
    assert got.dtype == np.float64
    for j in range(4):
        assert _ks(got[:, j], ref[:, j]) < 0.04
    count = np.tile([0.0, 5.0, 30.0], (N // 4, 1))
    prob = np.array([0.5, 0.2, 0.9])
    got = ge.binomial(ge.tensor(count, dtype="float32"), ge.tensor(prob, dtype="float32"))
    ref = torch.binomial(torch.tensor(count, dtype=torch.float32),
                         torch.tensor(prob, dtype=torch.float32).expand(N // 4, 3))
    assert got.dtype == np.float32 and got.shape == tuple(ref.shape)
    for j in range(3):
        assert _ks(got.numpy()[:, j], ref.numpy()[:, j]) < 0.04
    # 0-d inputs give 0-d draws, as torch's (NumPy returns a plain scalar for them)
    for draw, want in ((ge.poisson(ge.tensor(3.0)), torch.poisson(torch.tensor(3.0))),
                       (ge.binomial(ge.tensor(10.0), ge.tensor(0.5)),
                        torch.binomial(torch.tensor(10.0), torch.tensor(0.5)))):
        assert draw.shape == tuple(want.shape) == () and draw.dtype == np.float32


def test_sampler_errors_are_catchable_as_torchs():
    for ge_call, t_call in [
        (lambda: ge.poisson(-ge.ones(3)), lambda: torch.poisson(-torch.ones(3))),
        (lambda: ge.poisson(ge.ones(3, dtype="int64")),
         lambda: torch.poisson(torch.ones(3, dtype=torch.int64))),
        (lambda: ge.binomial(ge.ones(3, dtype="int64"), ge.ones(3) * 0.5),
         lambda: torch.binomial(torch.ones(3, dtype=torch.int64), torch.ones(3) * 0.5)),
        (lambda: ge.randint_like(ge.ones(3), 5, 2), lambda: torch.randint_like(torch.ones(3),
                                                                                 5, 2)),
    ]:
        with pytest.raises(Exception) as t_err:
            t_call()
        expected = RuntimeError if t_err.type is NotImplementedError else t_err.type
        with pytest.raises(expected):
            ge_call()


def test_randint_like_rand_like_randn_like_as_torch():
    x = ge.ones((4, 5), dtype="int32")
    r = ge.randint_like(x, 2, 5)
    t = torch.randint_like(torch.ones((4, 5), dtype=torch.int32), 2, 5)
    assert r.dtype == np.int32 and r.shape == tuple(t.shape)
    assert set(np.unique(r.numpy())) <= {2, 3, 4}
    f = ge.randint_like(ge.ones(N), 3)
    assert f.dtype == np.float32 and set(np.unique(f.numpy())) == {0.0, 1.0, 2.0}
    g = ge.Generator().manual_seed(7)
    a = ge.rand_like(ge.ones(6), generator=g)
    g.manual_seed(7)
    b = ge.rand_like(ge.ones(6), generator=g)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    z = ge.randn_like(ge.ones(N, dtype="float64"), dtype="float32")
    assert z.dtype == np.float32 and _ks(z.numpy(), torch.randn(N).numpy()) < 0.03
    assert ge.randint_like(ge.ones(3), 5, generator=g, dtype="int64").dtype == np.int64


def test_normal_tensor_variants_as_torch():
    ge.manual_seed(0)
    mean = np.linspace(-2, 2, 4)
    std = np.array([0.5, 1.0, 2.0, 0.1])
    cases = [
        (lambda: ge.normal(ge.tensor(np.tile(mean, (N // 4, 1))), 1.0),
         lambda: torch.normal(torch.tensor(np.tile(mean, (N // 4, 1))), 1.0)),
        (lambda: ge.normal(0.0, ge.tensor(np.tile(std, (N // 4, 1)))),
         lambda: torch.normal(0.0, torch.tensor(np.tile(std, (N // 4, 1))))),
        (lambda: ge.normal(ge.tensor(np.tile(mean, (N // 4, 1))),
                           ge.tensor(np.tile(std, (N // 4, 1)))),
         lambda: torch.normal(torch.tensor(np.tile(mean, (N // 4, 1))),
                              torch.tensor(np.tile(std, (N // 4, 1))))),
        (lambda: ge.normal(1.0, 2.0, size=(N // 4, 4)),
         lambda: torch.normal(1.0, 2.0, size=(N // 4, 4))),
    ]
    for g, t in cases:
        a, b = g(), t()
        assert a.shape == tuple(b.shape) and a.dtype.name == str(b.dtype)[6:]
        for j in range(4):
            assert _ks(a.numpy()[:, j], b.numpy()[:, j]) < 0.05


# ---------------------------------------------------------------- seeds and states


def test_manual_seed_makes_every_new_draw_repeat(device):
    def draws():
        x = ge.zeros(50, device=device)
        return [x.clone().exponential_().numpy(), x.clone().cauchy_().numpy(),
                x.clone().random_(0, 100).numpy(), x.clone().geometric_(0.4).numpy(),
                x.clone().log_normal_().numpy(), x.clone().bernoulli_(0.5).numpy(),
                x.clone().uniform_(1, 2).numpy(), x.clone().normal_(3, 4).numpy(),
                ge.randint_like(x, 10).numpy()]
    ge.manual_seed(11)
    a = draws()
    ge.manual_seed(11)
    b = draws()
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not all(np.array_equal(u, v) for u, v in zip(a, draws()))


def test_generator_keyword_does_not_move_the_global_generator():
    ge.manual_seed(5)
    base = ge.rand(4).numpy()
    ge.manual_seed(5)
    g = ge.Generator().manual_seed(1)
    x = ge.zeros(8)
    for name, args in [("uniform_", ()), ("normal_", ()), ("exponential_", ()),
                       ("cauchy_", ()), ("geometric_", (0.5,)), ("log_normal_", ()),
                       ("bernoulli_", (0.5,)), ("random_", (0, 10))]:
        getattr(x, name)(*args, generator=g)
    ge.poisson(ge.ones(3), generator=g)
    ge.binomial(ge.ones(3), ge.ones(3) * 0.5, generator=g)
    ge.multinomial(ge.ones(4), 2, generator=g)
    ge.randn(3, generator=g), ge.randint(0, 4, (3,), generator=g), ge.randperm(4, generator=g)
    np.testing.assert_array_equal(ge.rand(4).numpy(), base)
    g2 = ge.Generator().manual_seed(1)
    np.testing.assert_array_equal(ge.zeros(8).uniform_(generator=g2).numpy(),
                                  ge.zeros(8).uniform_(generator=ge.Generator().manual_seed(1))
                                  .numpy())


def test_get_and_set_rng_state_round_trip_as_torch():
    def script(lib, randn):
        lib.manual_seed(3)
        s = lib.get_rng_state()
        a = randn()
        lib.set_rng_state(s)
        b = randn()
        c = randn()
        return s, a, b, c
    s, a, b, c = script(ge, lambda: ge.randn(5).numpy())
    ts, ta, tb, tc = script(torch, lambda: torch.randn(5).numpy())
    assert isinstance(s, ge.Tensor) and s.dtype == np.uint8 and s.ndim == 1
    assert s.dtype.name == str(ts.dtype)[6:] and ts.ndim == 1
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ta, tb)
    assert not np.array_equal(a, c) and not np.array_equal(ta, tc)
    # every draw of the global generator repeats: dropout's mask, randint, randperm, fills
    s = ge.get_rng_state()
    first = [ge.nn.functional.dropout(ge.ones(20), 0.5).numpy(), ge.randint(0, 9, (6,)).numpy(),
             ge.randperm(7).numpy(), ge.zeros(5).exponential_().numpy(),
             ge.poisson(ge.ones(5)).numpy(), ge.multinomial(ge.ones(5), 3).numpy()]
    ge.set_rng_state(s)
    again = [ge.nn.functional.dropout(ge.ones(20), 0.5).numpy(), ge.randint(0, 9, (6,)).numpy(),
             ge.randperm(7).numpy(), ge.zeros(5).exponential_().numpy(),
             ge.poisson(ge.ones(5)).numpy(), ge.multinomial(ge.ones(5), 3).numpy()]
    for u, v in zip(first, again):
        np.testing.assert_array_equal(u, v)


def test_the_state_is_a_copy_and_keeps_the_seed():
    ge.manual_seed(42)
    s = ge.get_rng_state()
    kept = s.numpy().copy()
    ge.randn(10)
    np.testing.assert_array_equal(s.numpy(), kept)
    assert not np.array_equal(ge.random.get_rng_state().numpy(), kept)
    ge.manual_seed(7)
    ge.set_rng_state(s)
    assert ge.initial_seed() == 42 == ge.random.initial_seed()
    s2 = ge.get_rng_state()
    np.testing.assert_array_equal(s.numpy(), s2.numpy())


def test_bad_states_raise_as_torch():
    for bad in (ge.ones(3), ge.ones(3, dtype="uint8"), ge.ones(5056, dtype="uint8")):
        tbad = torch.tensor(bad.numpy())
        with pytest.raises(Exception) as t_err:
            torch.set_rng_state(tbad)
        with pytest.raises(t_err.type):
            ge.set_rng_state(bad)
    with pytest.raises(TypeError):
        ge.set_rng_state(np.zeros(61, dtype=np.uint8))
    ge.manual_seed(0)


def test_seed_initial_seed_and_manual_seed_as_torch():
    assert isinstance(torch.seed(), int) and isinstance(ge.seed(), int)
    s = ge.seed()
    assert ge.initial_seed() == s and 0 <= s < 2 ** 64
    a = ge.randn(4).numpy()
    ge.manual_seed(ge.initial_seed())
    np.testing.assert_array_equal(a, ge.randn(4).numpy())
    g = ge.manual_seed(9)
    assert g is ge.random.default_generator and g.initial_seed() == 9 == ge.initial_seed()
    assert type(torch.manual_seed(9)).__name__ == "Generator"
    ge.random.manual_seed(9)
    a = ge.rand(3, generator=ge.default_generator).numpy()
    ge.manual_seed(9)
    np.testing.assert_array_equal(a, ge.rand(3).numpy())


def test_generator_state_round_trip_as_torch():
    for lib in (ge, torch):
        g = lib.Generator().manual_seed(4)
        assert g.initial_seed() == 4
        st = g.get_state()
        a = lib.rand(5, generator=g).numpy()
        assert g.set_state(st) is g
        np.testing.assert_array_equal(a, lib.rand(5, generator=g).numpy())
        assert isinstance(g.seed(), int)
    g, h = ge.Generator().manual_seed(1), ge.Generator().manual_seed(2)
    h.set_state(g.get_state())
    assert h.initial_seed() == 1
    np.testing.assert_array_equal(ge.randn(3, generator=g).numpy(),
                                  ge.randn(3, generator=h).numpy())


def test_fork_rng_restores_the_state_and_continues_the_stream_as_torch():
    def script(lib, draw):
        lib.manual_seed(0)
        s = lib.get_rng_state()
        with lib.random.fork_rng():
            inner = draw()
            lib.manual_seed(123)
            draw()
        after = draw()
        lib.set_rng_state(s)
        plain = draw()
        return inner, after, plain
    for lib, draw in ((ge, lambda: ge.randn(4).numpy()), (torch, lambda: torch.randn(4).numpy())):
        inner, after, plain = script(lib, draw)
        np.testing.assert_array_equal(inner, plain)
        np.testing.assert_array_equal(after, plain)
    with ge.random.fork_rng(enabled=False):
        a = ge.randn(2).numpy()
    assert not np.array_equal(a, ge.randn(2).numpy())


def test_fork_rng_puts_the_gpu_generators_back(fake_gpu):
    ge.manual_seed(0)
    ge.randn(3, device="cuda")
    gen = backend._RNG.cupy["cuda:0"]
    with ge.random.fork_rng():
        ge.randn(3, device="cuda")
        assert backend._RNG.cupy["cuda:0"] is not gen
    assert backend._RNG.cupy["cuda:0"] is gen


def test_jit_replays_draw_anew_and_follow_the_seed():
    def step(x):
        return ge.poisson(x) + x.clone().exponential_() + ge.randint_like(x, 5) \
            + x.clone().geometric_(0.5) + x.clone().bernoulli_(ge.full((4,), 0.5))

    def run(fn):
        ge.manual_seed(0)
        x = ge.ones(4)
        return [fn(x).numpy().copy() for _ in range(3)]
    eager, jitted = run(step), run(ge.jit(step))
    for e, j in zip(eager, jitted):
        np.testing.assert_array_equal(e, j)
    assert not np.array_equal(eager[1], eager[2])


# ---------------------------------------------------------------- constructors


def _same(g, t, rtol=1e-6, atol=1e-7):
    g, t = g.detach(), t.detach()
    assert g.shape == tuple(t.shape), (g.shape, t.shape)
    assert g.dtype.name == str(t.dtype)[6:], (g.dtype, t.dtype)
    np.testing.assert_allclose(g.numpy().astype(np.float64), t.double().numpy(), rtol=rtol,
                               atol=atol)


def test_logspace_as_torch():
    for args, kw in [((0, 2, 3), {}), ((0, 2, 3), {"base": 2}), ((-1, 1, 5), {}),
                     ((0, 2, 3), {"dtype": "int64"}), ((0, 3, 0), {}), ((1, 1, 1), {}),
                     ((0, 1, 4), {"dtype": "float64", "base": 3.0})]:
        tkw = {k: (_tt(v) if k == "dtype" else v) for k, v in kw.items()}
        _same(ge.logspace(*args, **kw), torch.logspace(*args, **tkw))


def test_range_is_inclusive_deprecated_and_float_as_torch():
    for args, kw in [((0, 3), {}), ((0, 1, 0.3), {}), ((5, 1, -2), {}), ((3,), {}),
                     ((0, 4), {"dtype": "int64"}), ((1.5, 2.5, 0.25), {"dtype": "float64"})]:
        tkw = {k: _tt(v) for k, v in kw.items()}
        with pytest.warns(UserWarning, match="deprecated"):
            g = ge.range(*args, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = torch.range(*args, **tkw) if len(args) > 1 else torch.range(0, args[0])
        _same(g, t)
    with pytest.warns(UserWarning), pytest.raises(RuntimeError):
        ge.range(0, 3, 0)
    with pytest.warns(UserWarning), pytest.raises(RuntimeError):
        ge.range(0, 3, -1)


def test_scalar_tensor_as_torch():
    for v, kw in [(3, {}), (2.5, {}), (True, {}), (7, {"dtype": "int64"}),
                  (1.25, {"dtype": "float64"})]:
        tkw = {k: _tt(x) for k, x in kw.items()}
        _same(ge.scalar_tensor(v, **kw), torch.scalar_tensor(v, **tkw))
    s = ge.scalar_tensor(2.0, requires_grad=True)
    assert s.requires_grad and s.ndim == 0


def test_asarray_shares_and_copies_as_torch():
    a = np.ones(3)
    for lib in (ge, torch):
        t = lib.asarray(a)
        t[0] = 5
    assert a[0] == 5
    assert ge.asarray(a).dtype.name == str(torch.asarray(a).dtype)[6:] == "float64"
    b = np.ones(3)
    c = ge.asarray(b, copy=True)
    c[0] = 9
    assert b[0] == 1
    x = ge.ones(2)
    assert ge.asarray(x) is x and torch.asarray(torch.ones(2)) is not None
    _same(ge.asarray(x, dtype="float64"), torch.asarray(torch.ones(2), dtype=torch.float64))
    _same(ge.asarray([1, 2.5]), torch.asarray([1, 2.5]))
    _same(ge.asarray([1, 2]), torch.asarray([1, 2]))
    with pytest.raises(ValueError):
        torch.asarray(a, dtype=torch.float32, copy=False)
    with pytest.raises(ValueError):
        ge.asarray(a, dtype="float32", copy=False)
    tt = torch.arange(4.0)
    shared = ge.asarray(tt)
    tt[0] = 7
    assert shared.numpy()[0] == 7
    assert ge.asarray(a, requires_grad=True).requires_grad
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch 2.13: requires_grad now follows obj's
        for kw in ({"copy": True}, {"dtype": "float64"}):
            g, t = ge.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
            tkw = {k: (_tt(v) if k == "dtype" else v) for k, v in kw.items()}
            go, to = ge.asarray(g, **kw), torch.asarray(t, **tkw)
            assert go.requires_grad == to.requires_grad and go.is_leaf == to.is_leaf
            (go * 3).sum().backward()
            (to * 3).sum().backward()
            np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy())
    with pytest.raises(ValueError):
        torch.asarray([1, 2], copy=False)
    with pytest.raises(ValueError):
        ge.asarray([1, 2], copy=False)


def test_empty_strided_and_empty_permuted_as_torch():
    for size, stride in [((2, 3), (1, 2)), ((2, 3), (3, 1)), ((4,), (2,)), ((2, 0), (1, 1)),
                         ((3, 2, 2), (1, 3, 6))]:
        g, t = ge.empty_strided(size, stride), torch.empty_strided(size, stride)
        assert g.shape == tuple(t.shape) and g.stride() == t.stride() and g.dtype == np.float32
    assert ge.empty_strided((2, 2), (2, 1), dtype="int64").dtype == np.int64
    for size, perm in [((2, 3, 4), (0, 2, 1)), ((2, 3, 4), (2, 0, 1)), ((5,), (0,))]:
        g, t = ge.empty_permuted(size, perm), torch.empty_permuted(size, perm)
        assert g.shape == tuple(t.shape) and g.stride() == t.stride()
    with pytest.raises(ValueError):
        ge.empty_permuted((2, 3), (0, 0))


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_frombuffer_shares_a_buffer_as_torch():
    raw = bytearray(np.arange(6, dtype=np.int32).tobytes())
    for kw in ({}, {"offset": 4, "count": 2}, {"count": 3}):
        g = ge.frombuffer(raw, dtype="int32", **kw)
        t = torch.frombuffer(bytearray(raw), dtype=torch.int32, **kw)
        _same(g, t)
    g = ge.frombuffer(raw, dtype="int32")
    raw[0] = 9
    assert g.numpy()[0] == 9
    with pytest.raises(ValueError):
        torch.frombuffer(b"", dtype=torch.int32)
    with pytest.raises(ValueError):
        ge.frombuffer(b"", dtype="int32")
    with pytest.warns(UserWarning):
        ge.frombuffer(b"\x01\x00", dtype="int16")


@pytest.mark.parametrize("name,kw", [("hann_window", {}), ("hamming_window", {}),
                                     ("hamming_window", {"alpha": 0.5, "beta": 0.3}),
                                     ("blackman_window", {}), ("bartlett_window", {}),
                                     ("kaiser_window", {}), ("kaiser_window", {"beta": 3.0})])
def test_window_functions_as_torch(name, kw, device):
    for n in (0, 1, 2, 5, 8):
        for periodic in (True, False):
            g = getattr(ge, name)(n, periodic, dtype="float64", device=device, **kw)
            t = getattr(torch, name)(n, periodic, dtype=torch.float64, **kw)
            assert g.device.startswith(device)
            _same(g, t, atol=1e-12)
    _same(getattr(ge, name)(7), getattr(torch, name)(7), atol=1e-6)
    with pytest.raises(RuntimeError):
        getattr(torch, name)(-1)
    with pytest.raises(RuntimeError):
        getattr(ge, name)(-1)
    with pytest.raises(RuntimeError):
        getattr(ge, name)(5, dtype="int64")


# ---------------------------------------------------------------- dtypes

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


def test_finfo_and_iinfo_as_torch():
    for d in ("float16", "float32", "float64"):
        g, t = ge.finfo(getattr(ge, d)), torch.finfo(_tt(d))
        for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution",
                     "dtype"):
            assert getattr(g, attr) == getattr(t, attr), (d, attr)
        assert type(g.eps) is type(t.eps)
    assert ge.finfo().dtype == torch.finfo().dtype == "float32"
    assert ge.finfo("float64").eps == torch.finfo(torch.float64).eps
    for d in ("int8", "int16", "int32", "int64", "uint8"):
        g, t = ge.iinfo(getattr(ge, d)), torch.iinfo(_tt(d))
        assert (g.bits, g.max, g.min, g.dtype) == (t.bits, t.max, t.min, t.dtype)
    for bad_g, bad_t in [(lambda: ge.finfo(ge.int32), lambda: torch.finfo(torch.int32)),
                         (lambda: ge.iinfo(ge.float32), lambda: torch.iinfo(torch.float32)),
                         (lambda: ge.iinfo(ge.bool), lambda: torch.iinfo(torch.bool))]:
        with pytest.raises(TypeError):
            bad_t()
        with pytest.raises(TypeError):
            bad_g()


def test_promote_types_and_can_cast_as_torch_for_every_pair():
    for a in DTYPES:
        for b in DTYPES:
            assert ge.promote_types(getattr(ge, a if a != "bool" else "bool_"),
                                    b).name == str(torch.promote_types(_tt(a), _tt(b)))[6:], \
                (a, b)
            assert ge.can_cast(a, b) == torch.can_cast(_tt(a), _tt(b)), (a, b)
    assert ge.promote_types(torch.int64, torch.float16) == ge.float16


def test_result_type_as_torch():
    operands = [("t", "int32"), ("t", "float16"), ("t", "uint8"), ("t", "bool"),
                ("t", "float64"), ("z", "float64"), ("z", "int64"), ("z", "int8"),
                ("z", "bool"), ("s", 2), ("s", 2.5), ("s", True)]

    def make(lib, kind, v):
        if kind == "s":
            return v
        shape = (2,) if kind == "t" else ()
        return lib.ones(shape, dtype=v if lib is ge else _tt(v))
    for ka, va in operands:
        for kb, vb in operands:
            if ka == kb == "s":
                continue
            g = ge.result_type(make(ge, ka, va), make(ge, kb, vb))
            t = torch.result_type(make(torch, ka, va), make(torch, kb, vb))
            assert g.name == str(t)[6:], ((ka, va), (kb, vb))
    assert ge.result_type(2, 3.0) == np.float32 == ge.float32


def test_tensor_dtype_attributes_as_torch():
    for d in DTYPES:
        g, t = ge.ones(3, dtype=d), torch.ones(3, dtype=_tt(d))
        assert g.is_signed() == t.is_signed(), d
        assert g.is_complex() == t.is_complex() == ge.is_complex(g) == torch.is_complex(t)
        for m in ("byte", "char", "short"):
            assert getattr(g, m)().dtype.name == str(getattr(t, m)().dtype)[6:]
    g = ge.tensor([1.5, -2.0])
    np.testing.assert_array_equal(g.char().numpy(), torch.tensor([1.5, -2.0]).char().numpy())


def test_is_nonzero_as_torch():
    for v in ([0.0], [2.0], [True], 0):
        assert ge.is_nonzero(ge.tensor(v)) == torch.is_nonzero(torch.tensor(v))
    for bad in ([1.0, 2.0], []):
        with pytest.raises(RuntimeError):
            torch.is_nonzero(torch.tensor(bad))
        with pytest.raises(RuntimeError):
            ge.is_nonzero(ge.tensor(bad))


# ---------------------------------------------------------------- runtime switches


def test_thread_counts_round_trip(monkeypatch):
    monkeypatch.setattr(ge.misc, "_threads", {"intra": None, "interop": None,
                                              "limiter": None})
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert ge.get_num_threads() == 3 and ge.get_num_interop_threads() == 3
    ge.set_num_threads(2)
    ge.set_num_interop_threads(1)
    assert ge.get_num_threads() == 2 and ge.get_num_interop_threads() == 1
    for bad in (0, -1, 1.5, True):
        with pytest.raises(RuntimeError):
            ge.set_num_threads(bad)
    with pytest.raises(RuntimeError):
        torch.set_num_threads(0)


def test_deterministic_and_warn_always_switches_as_torch(monkeypatch):
    monkeypatch.setattr(ge.misc, "_flags", dict(ge.misc._flags))
    # the defaults are torch's (torch.use_deterministic_algorithms itself is not called
    # here: its first call imports for seconds); then torch's documented sequence
    assert ge.are_deterministic_algorithms_enabled() == \
        torch.are_deterministic_algorithms_enabled()
    assert ge.is_deterministic_algorithms_warn_only_enabled() == \
        torch.is_deterministic_algorithms_warn_only_enabled()
    ge.use_deterministic_algorithms(True, warn_only=True)
    assert ge.are_deterministic_algorithms_enabled()
    assert ge.is_deterministic_algorithms_warn_only_enabled()
    ge.use_deterministic_algorithms(True)
    assert not ge.is_deterministic_algorithms_warn_only_enabled()
    ge.use_deterministic_algorithms(False)
    assert not ge.are_deterministic_algorithms_enabled()
    before = torch.is_warn_always_enabled()
    try:
        for b in (True, False):
            ge.set_warn_always(b)
            torch.set_warn_always(b)
            assert ge.is_warn_always_enabled() == torch.is_warn_always_enabled()
    finally:
        torch.set_warn_always(before)


def test_anomaly_switches_follow_torch_and_drive_gradengines_anomaly_mode():
    for mode, check in [(True, True), (True, False), (False, True), (True, True), (False, False),
                        (False, True)]:
        ge.set_anomaly_enabled(mode, check)
        torch.set_anomaly_enabled(mode, check)
        assert ge.is_anomaly_enabled() == torch.is_anomaly_enabled(), (mode, check)
        assert ge.is_anomaly_check_nan_enabled() == torch.is_anomaly_check_nan_enabled()
    ge.set_anomaly_enabled(True)
    try:
        with pytest.raises(ge.GraphError):
            ge.log(ge.tensor([-1.0]))
    finally:
        ge.set_anomaly_enabled(False)
    ge.log(ge.tensor([-1.0]))  # off again: no error
    assert not ge.is_anomaly_enabled()
    with ge.detect_anomaly():
        assert ge.is_anomaly_enabled()
    torch.set_anomaly_enabled(False)


def test_inference_mode_is_reported_as_torch():
    for lib in (ge, torch):
        assert not lib.is_inference_mode_enabled()
        with lib.inference_mode():
            assert lib.is_inference_mode_enabled() and not lib.is_grad_enabled()
            with lib.inference_mode(False):
                assert not lib.is_inference_mode_enabled()
            assert lib.is_inference_mode_enabled()
        assert not lib.is_inference_mode_enabled()

        @lib.inference_mode()
        def f(lib=lib):
            return lib.is_inference_mode_enabled()
        assert f()
    assert not ge.ones(1).is_inference()


@pytest.mark.filterwarnings("ignore:torch.set_default_tensor_type")
def test_set_default_tensor_type_warns_and_keeps_float32(monkeypatch):
    monkeypatch.setattr(backend, "_process_default", backend._process_default)
    with pytest.warns(UserWarning, match="deprecated"):
        ge.set_default_tensor_type("torch.FloatTensor")
    with pytest.warns(UserWarning):
        ge.set_default_tensor_type(torch.FloatTensor)
    assert ge.get_default_dtype() == np.float32 and ge.get_default_device() == "cpu"
    with pytest.raises(TypeError):
        torch.set_default_tensor_type(torch.float32)
    with pytest.raises(TypeError):
        ge.set_default_tensor_type(torch.float32)
    with pytest.warns(UserWarning), pytest.raises(TypeError):
        ge.set_default_tensor_type("torch.LongTensor")


# ---------------------------------------------------------------- top-level spellings


def test_clone_detach_zero_fill_rsub_as_torch():
    a = np.array([1.0, -2.0, 3.0])
    for fn in (lambda lib, x: lib.clone(x) * 2, lambda lib, x: lib.rsub(x, 5, alpha=2),
               lambda lib, x: lib.rsub(x, x * x), lambda lib, x: lib.detach(x) + x):
        g = ge.tensor(a, requires_grad=True)
        t = torch.tensor(a, requires_grad=True)
        go, to = fn(ge, g), fn(torch, t)
        _same(go, to)
        go.sum().backward()
        to.sum().backward()
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy())
    g, t = ge.tensor(a), torch.tensor(a)
    assert ge.zero_(g) is g and torch.zero_(t) is t
    _same(g, t)
    ge.fill_(g, 4.0)
    torch.fill_(t, 4.0)
    _same(g, t)
    assert ge.numel(g) == torch.numel(t)
    assert ge.gradcheck(lambda x: ge.rsub(x, x.sin(), alpha=0.5), [ge.tensor(a,
                                                                           requires_grad=True)])


# ---------------------------------------------------------------- Tensor attributes


def test_device_attributes_as_torch():
    g, t = ge.ones(2), torch.ones(2)
    assert g.is_cpu == t.is_cpu and g.get_device() == t.get_device() == -1


def test_device_attributes_on_the_gpu(cuda_device):
    g = ge.ones(2, device=cuda_device)
    assert not g.is_cpu and g.get_device() == 0


def test_storage_offset_as_torch():
    g, t = ge.ones((4, 5)), torch.ones((4, 5))
    for idx in ((slice(1, None),), (slice(None), 2), (2, slice(1, 4)), (Ellipsis,),
                (slice(None, None, 2), 3)):
        assert g[idx].storage_offset() == t[idx].storage_offset(), idx
    assert g.T[1].storage_offset() == t.t()[1].storage_offset()
    assert g.reshape(20)[7:].storage_offset() == t.reshape(20)[7:].storage_offset()
    assert (g + 1).storage_offset() == 0


def test_new_as_torch():
    g, t = ge.ones((2, 3), dtype="float64"), torch.ones((2, 3), dtype=torch.float64)
    for args in ((), (2,), (2, 3), ((2, 3),)):  # torch's memory is uninitialized: no values
        a, b = g.new(*args), t.new(*args)
        assert a.shape == tuple(b.shape) and a.dtype.name == str(b.dtype)[6:]
    _same(g.new([1, 2]), t.new([1, 2]))
    assert g.new(ge.Size([2, 3])).shape == tuple(t.new(torch.Size([2, 3])).shape)


def test_apply_and_map_as_torch():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    g, t = ge.tensor(a), torch.tensor(a)
    assert g.apply_(lambda v: v * v + 1) is g
    t.apply_(lambda v: v * v + 1)
    _same(g, t)
    g.map_(ge.tensor([10.0, 20.0], dtype="float64"), lambda x, y: x - y)
    t.map_(torch.tensor([10.0, 20.0], dtype=torch.float64), lambda x, y: x - y)
    _same(g, t)
    with pytest.raises(RuntimeError):
        torch.ones(2, requires_grad=True).apply_(lambda v: v)
    with pytest.raises(RuntimeError):
        ge.ones(2, requires_grad=True).apply_(lambda v: v)
    i = ge.tensor([1, 2, 3])
    i.apply_(lambda v: v * 3)
    assert i.dtype == np.int64 and i.tolist() == [3, 6, 9]


def test_apply_is_cpu_only(cuda_device):
    with pytest.raises(RuntimeError, match="CPU"):
        ge.ones(2, device=cuda_device).apply_(lambda v: v)


def test_retains_grad_output_nr_and_is_inference_as_torch():
    for lib in (ge, torch):
        a = lib.ones(3, requires_grad=True)
        b = a * 2
        assert not a.retains_grad and not b.retains_grad
        b.retain_grad()
        assert b.retains_grad and not a.retains_grad
        assert a.output_nr == 0 and b.output_nr == 0
        assert not a.is_inference()


def _events(lib):
    """The order of the pre (register_hook) and post-accumulate hooks in two backwards."""
    ev = []
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([3.0, -1.0], requires_grad=True)
    c = lib.tensor([0.5, 0.25], requires_grad=True)
    for name, t in (("a", a), ("b", b), ("c", c)):
        t.register_hook(lambda g, n=name: ev.append(("pre", n)))
        t.register_post_accumulate_grad_hook(
            lambda p, n=name: ev.append(("post", n, p.grad.numpy().copy().tolist())))
    for _ in range(2):
        ((a * b).sum() + (c * 2).sum() + (a * c).sum()).backward()
    return ev


def test_post_accumulate_grad_hooks_see_the_accumulated_grad_in_torchs_order():
    g, t = _events(ge), _events(torch)
    posts_g = [e for e in g if e[0] == "post"]
    posts_t = [e for e in t if e[0] == "post"]
    assert posts_g == posts_t  # the same order and the same accumulated gradients
    for ev in (g, t):  # each leaf's pre-hook runs before its post hook
        for n in "abc":
            assert ev.index(("pre", n)) < ev.index(next(e for e in ev if e[:2] == ("post", n)))


def test_post_accumulate_grad_hook_rules_as_torch():
    for lib in (ge, torch):
        a = lib.ones(2, requires_grad=True)
        seen = []
        h = a.register_post_accumulate_grad_hook(lambda p, s=seen, a=a: s.append(p is a))
        lib.autograd.grad((a * 3).sum(), [a])  # nothing accumulates: no call
        assert seen == []
        (a * 3).sum().backward()
        assert seen == [True]
        h.remove()
        (a * 3).sum().backward()
        assert seen == [True]
        with pytest.raises(RuntimeError):
            (a * 2).register_post_accumulate_grad_hook(lambda p: None)
        with pytest.raises(RuntimeError):
            lib.ones(2).register_post_accumulate_grad_hook(lambda p: None)


def test_post_accumulate_hook_lets_an_optimizer_step_in_the_backward():
    # PyTorch's documented use: step each parameter as soon as its gradient is ready
    def run(lib, sgd):
        w = lib.tensor([1.0, -1.0], requires_grad=True)
        opt = sgd([w], lr=0.1)

        def hook(p):
            opt.step()
            opt.zero_grad()
        w.register_post_accumulate_grad_hook(hook)
        for _ in range(3):
            (w * w).sum().backward()
        return w.detach().numpy()
    np.testing.assert_allclose(run(ge, ge.optim.SGD), run(torch, torch.optim.SGD), rtol=1e-6)


def test_post_accumulate_hooks_run_in_a_jit_replay_as_eagerly():
    def run(jit):
        w = ge.tensor([1.0, -1.0], requires_grad=True)
        opt = ge.optim.SGD([w], lr=0.1)
        seen = []

        def hook(p):
            seen.append(p.grad)
            opt.step()
            opt.zero_grad()
        w.register_post_accumulate_grad_hook(hook)

        def step(x):
            loss = (w * w * x).sum()
            loss.backward()
            return loss
        fn = ge.jit(step) if jit else step
        for i in range(4):
            fn(ge.full((2,), float(i + 1)))
        return w.detach().numpy(), [g.numpy() for g in seen]
    (we, ge_), (wj, gj) = run(False), run(True)
    np.testing.assert_array_equal(we, wj)
    assert len(ge_) == len(gj) == 4
    for a, b in zip(ge_, gj):
        np.testing.assert_array_equal(a, b)


def test_post_accumulate_hooks_leave_the_engine_when_gone():
    import gc
    import importlib

    bw = importlib.import_module("gradengine.core.backward")
    gc.collect()  # the earlier tests' hooked leaves, held in cycles by their hooks
    n_ready, n_commit = len(bw._ready_hooks), len(bw._commit_hooks)
    a = ge.ones(2, requires_grad=True)
    h = a.register_post_accumulate_grad_hook(lambda p: None)
    assert len(bw._ready_hooks) == n_ready + 1 and len(bw._commit_hooks) == n_commit + 1
    h.remove()
    assert len(bw._ready_hooks) == n_ready and len(bw._commit_hooks) == n_commit
    b = ge.ones(2, requires_grad=True)
    b.register_post_accumulate_grad_hook(lambda p: None)
    c = ge.ones(2, requires_grad=True)
    c.register_post_accumulate_grad_hook(lambda p, c=c: None)  # a cycle through the hook
    del b, c  # a dead tensor's hooks go with it
    gc.collect()
    assert len(bw._ready_hooks) == n_ready and len(bw._commit_hooks) == n_commit


def test_multinomial_and_bernoulli_draw_torchs_distributions():
    ge.manual_seed(0)
    torch.manual_seed(0)
    w = np.array([0.1, 0.0, 2.0, 1.0, 0.5])
    g = ge.multinomial(ge.tensor(w), N, replacement=True).numpy()
    t = torch.multinomial(torch.tensor(w), N, replacement=True).numpy()
    np.testing.assert_allclose(np.bincount(g, minlength=5) / N, np.bincount(t, minlength=5) / N,
                               atol=0.02)
    rows = ge.multinomial(ge.tensor(np.tile(w, (3, 1))), 4)
    assert rows.shape == (3, 4) and rows.dtype == np.int64
    assert all(len(set(r)) == 4 and 1 not in r for r in rows.tolist())  # no repeats, no 0 weight
    p = np.array([0.2, 0.7, 1.0, 0.0])
    g = ge.bernoulli(ge.tensor(np.tile(p, (N // 4, 1)))).numpy()
    t = torch.bernoulli(torch.tensor(np.tile(p, (N // 4, 1)))).numpy()
    np.testing.assert_allclose(g.mean(0), t.mean(0), atol=0.03)
    assert ge.bernoulli(ge.zeros(N), 0.25).numpy().mean() == pytest.approx(
        torch.bernoulli(torch.zeros(N), 0.25).numpy().mean(), abs=0.02)

