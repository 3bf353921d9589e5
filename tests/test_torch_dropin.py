"""The PyTorch drop-in: a PyTorch script runs with only its imports changed
(``import torch`` -> ``import gradengine as torch``). Unit tests of each module PyTorch
scripts import (``nn.functional``, ``utils.data``, ``autograd``, ``linalg``, ``device``,
the top-level names, ``nn.Module``'s hooks), each against PyTorch where it has the name,
and the acceptance scenario: one training script run on both, checked to train, and to
give the same losses when both start from the same weights and see the same batches.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import gradengine as ge
import gradengine.nn.functional as NF

torch = pytest.importorskip("torch")


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.numpy()


# ---------------------------------------------------------------- device, imports, names

def test_device_is_a_string_with_torch_type_and_index():
    cpu = ge.device("cpu")
    assert cpu == "cpu" and "cpu" == cpu and cpu.type == "cpu" and cpu.index is None
    assert ge.device("cuda:1").index == 1 and ge.device("cuda:1").type == "cuda"
    assert ge.device("cuda", 0) == "cuda:0" == ge.device("cuda:0")
    assert ge.device(ge.device("cpu")) == cpu
    # as in PyTorch, the device without an index is not the device with index 0
    assert (ge.device("cuda") == ge.device("cuda:0")) == (
        torch.device("cuda") == torch.device("cuda:0"))
    assert {ge.device("cpu"): 1}["cpu"] == 1
    with pytest.raises(ge.DeviceError, match=r"device: unknown device 'tpu'"):
        ge.device("tpu")
    with pytest.raises(ge.DeviceError, match=r"device: bad device index"):
        ge.device("cuda:x")


def test_every_tensor_device_is_a_device_object():
    x = ge.ones(3, requires_grad=True, device=ge.device("cpu"))
    y = (x * 2).sum()
    y.backward()
    for t in (x, y, x.grad, ge.from_numpy(np.ones(2)), ge.tensor([1.0]).to(ge.device("cpu")),
              ge.zeros(2, device="cpu")):
        assert isinstance(t.device, ge.device) and t.device.type == "cpu", t
        assert t.device == ge.device("cpu") and not t.is_cuda


def test_a_tensor_on_the_gpu_reports_a_cuda_device(cuda_device):
    dev = ge.device("cuda" if ge.cuda.is_available() else "cpu")
    t = ge.zeros(3, device=dev)
    assert t.device.type == "cuda" and t.device.index == 0 and t.is_cuda
    model = ge.nn.Linear(2, 3).to(dev)
    assert next(model.parameters()).device == t.device
    assert (t + 1).device.type == "cuda"


def test_nn_functional_is_the_functional_module():
    import gradengine.functional as F
    assert NF.relu is F.relu and NF.cross_entropy is F.cross_entropy
    assert ge.nn.functional.softmax is F.softmax
    assert set(F.__all__) <= set(dir(NF))


def test_top_level_names_match_torch():
    for name in ("pi", "e", "inf", "nan"):
        a, b = getattr(ge, name), getattr(torch, name)
        assert a == b or (np.isnan(a) and np.isnan(b)), name
    assert ge.is_tensor(ge.ones(2)) and not ge.is_tensor(np.ones(2))
    assert ge.numel(ge.ones((2, 3))) == torch.numel(torch.ones(2, 3)) == 6
    assert ge.is_floating_point(ge.ones(2)) and not ge.is_floating_point(ge.tensor([1]))
    assert ge.ones(2).nelement() == 2
    assert ge.get_default_dtype() == ge.float32
    ge.set_default_dtype(ge.float32)
    with pytest.raises(ge.DTypeError, match=r"set_default_dtype: .*float64"):
        ge.set_default_dtype(ge.float64)
    e = ge.empty_like(ge.ones((2, 3), dtype="float64"))
    assert e.shape == (2, 3) and e.dtype == ge.float64
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(ge.t(ge.tensor(a)).numpy(), torch.t(torch.tensor(a)))
    with pytest.raises(ge.ShapeError, match=r"t: .*\(2, 3, 1\)"):
        ge.t(ge.ones((2, 3, 1)))


# ---------------------------------------------------------------- Generator, random ops

def test_a_generator_reproduces_its_draws_and_leaves_the_global_one_alone():
    ge.manual_seed(0)
    want = ge.randn(4).numpy()
    ge.manual_seed(0)
    g = ge.Generator().manual_seed(5)
    a = ge.randn(3, generator=g).numpy()
    np.testing.assert_array_equal(ge.randn(4).numpy(), want)  # the global one did not move
    g.manual_seed(5)
    np.testing.assert_array_equal(ge.randn(3, generator=g).numpy(), a)
    assert g.initial_seed() == 5
    for make in (lambda: ge.rand(5, generator=g), lambda: ge.randint(0, 9, (5,), generator=g),
                 lambda: ge.randperm(7, generator=g)):
        g.manual_seed(1)
        first = make().numpy()
        g.manual_seed(1)
        np.testing.assert_array_equal(make().numpy(), first)


def test_a_cpu_generator_refuses_a_gpu_draw(cuda_device):
    with pytest.raises(ge.DeviceError, match=r"randn: the generator is on 'cpu'.*'cuda:0'"):
        ge.randn(3, device="cuda", generator=ge.Generator())


def test_normal_bernoulli_multinomial_draw_their_distributions():
    ge.manual_seed(0)
    x = ge.normal(2.0, 3.0, size=(20000,))
    assert abs(x.mean().item() - 2.0) < 0.1 and abs(x.std().item() - 3.0) < 0.1
    b = ge.bernoulli(ge.full((20000,), 0.3))
    assert b.dtype == ge.float32 and set(np.unique(b.numpy())) <= {0.0, 1.0}
    assert abs(b.mean().item() - 0.3) < 0.02
    m = ge.multinomial(ge.tensor([1.0, 3.0]), 20000, replacement=True)
    assert m.dtype == ge.int64 and abs(m.float().mean().item() - 0.75) < 0.02
    rows = ge.multinomial(ge.tensor([[0.2, 0.0, 0.5, 0.3], [1.0, 1.0, 1.0, 0.0]]), 3)
    assert rows.shape == (2, 3)
    for row, w in zip(rows.numpy(), ([0.2, 0.0, 0.5, 0.3], [1.0, 1.0, 1.0, 0.0])):
        assert len(set(row)) == 3 and all(w[i] > 0 for i in row)  # distinct, non-zero
    with pytest.raises(ValueError, match=r"multinomial: cannot draw 3 samples"):
        ge.multinomial(ge.tensor([1.0, 0.0, 1.0]), 3)
    with pytest.raises(ValueError, match=r"multinomial: weights must be non-negative"):
        ge.multinomial(ge.tensor([1.0, -1.0]), 1)


def test_normal_is_differentiable_by_reparameterisation():
    mean = ge.zeros(5, requires_grad=True)
    std = ge.full((5,), 2.0, requires_grad=True)
    out = ge.normal(mean, std)
    out.sum().backward()
    np.testing.assert_array_equal(mean.grad.numpy(), np.ones(5))
    np.testing.assert_allclose(std.grad.numpy(), (out.numpy() - 0) / 2.0, rtol=1e-6)


# ---------------------------------------------------------------- utils.data

@pytest.mark.parametrize("n,batch_size,drop_last", [(10, 4, False), (10, 4, True), (8, 4, True),
                                                    (3, 5, False), (3, 5, True), (1, 1, False)])
def test_dataloader_batches_as_torch(n, batch_size, drop_last):
    X = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n)
    out = {}
    for lib in (torch, ge):
        data = lib.utils.data
        loader = data.DataLoader(data.TensorDataset(lib.tensor(X), lib.tensor(y)),
                                 batch_size=batch_size, drop_last=drop_last)
        out[lib] = (len(loader), [[_np(t) for t in batch] for batch in loader])
        assert all(isinstance(t, ge.Tensor if lib is ge else torch.Tensor)
                   for batch in loader for t in batch)
    assert out[ge][0] == out[torch][0] == len(out[ge][1])
    assert len(out[ge][1]) == len(out[torch][1])
    for gb, tb in zip(out[ge][1], out[torch][1]):
        for a, b in zip(gb, tb):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


def test_shuffle_follows_manual_seed_and_each_pass_reorders():
    ds = ge.utils.data.TensorDataset(ge.arange(50))

    def passes(seed, **kw):
        ge.manual_seed(seed)
        loader = ge.utils.data.DataLoader(ds, batch_size=8, shuffle=True, **kw)
        return [np.concatenate([b[0].numpy() for b in loader]) for _ in range(2)]

    a, b = passes(0), passes(0)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], a[1])
    assert sorted(a[0].tolist()) == list(range(50))
    assert not np.array_equal(passes(1)[0], a[0])
    g1 = passes(0, generator=ge.Generator().manual_seed(3))
    g2 = passes(1, generator=ge.Generator().manual_seed(3))
    np.testing.assert_array_equal(g1[0], g2[0])  # the generator's order, not the seed's


def test_default_collate_matches_torch():
    class Samples:
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": np.full(3, float(i)), "k": i, "f": i / 2, "b": i % 2 == 0,
                    "s": f"n{i}"}, (np.float32(i), [i, i + 1])

    out = {}
    for lib in (torch, ge):
        data = lib.utils.data
        out[lib] = next(iter(data.DataLoader(Samples(), batch_size=3)))
    (gd, gt), (td, tt) = out[ge], out[torch]
    assert type(gt) is type(tt) is list and type(gt[1]) is type(tt[1]) is list
    assert gd.keys() == td.keys() and gd["s"] == td["s"]
    pairs = [(gd[k], td[k]) for k in ("x", "k", "f", "b")] + [(gt[0], tt[0]),
                                                              (gt[1][0], tt[1][0])]
    for a, b in pairs:
        assert a.dtype.name == str(b.dtype).removeprefix("torch.") and a.shape == b.shape
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert len(ge.utils.data.DataLoader(Samples(), batch_size=None)) == 5


def test_random_split_subset_concat_and_iterable_datasets():
    D = ge.utils.data
    for lengths in ([3, 7], [0.3, 0.7], [0.5, 0.25, 0.25]):
        for n in (10, 11):
            if not isinstance(lengths[0], float) and sum(lengths) != n:
                continue
            got = [len(s) for s in D.random_split(range(n), lengths)]
            want = [len(s) for s in torch.utils.data.random_split(range(n), lengths)]
            assert got == want
    parts = D.random_split(range(10), [4, 6], generator=ge.Generator().manual_seed(0))
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))
    again = D.random_split(range(10), [4, 6], generator=ge.Generator().manual_seed(0))
    assert again[0].indices == parts[0].indices
    with pytest.raises(ValueError, match=r"random_split: lengths \[4, 5\] .*10 samples"):
        D.random_split(range(10), [4, 5])
    ds = D.TensorDataset(ge.arange(6), ge.arange(6) * 10)
    sub = D.Subset(ds, [4, 1])
    assert len(sub) == 2 and sub[0][1].item() == 40
    both = ds + D.TensorDataset(ge.arange(3), ge.arange(3))
    assert len(both) == 9 and both[7][0].item() == 1
    with pytest.raises(ge.ShapeError, match=r"TensorDataset: .*\(6,\).*\(5,\)"):
        D.TensorDataset(ge.arange(6), ge.arange(5))

    class Stream(D.IterableDataset):
        def __iter__(self):
            return iter(np.arange(7.0))

    batches = [b.numpy() for b in D.DataLoader(Stream(), batch_size=3)]
    assert [len(b) for b in batches] == [3, 3, 1] and batches[0].dtype == np.float64
    assert len(list(D.DataLoader(Stream(), batch_size=3, drop_last=True))) == 2
    with pytest.raises(ValueError, match=r"DataLoader: an IterableDataset takes no shuffle"):
        D.DataLoader(Stream(), shuffle=True)
    with pytest.raises(TypeError):
        len(D.DataLoader(Stream(), batch_size=2))


# ---------------------------------------------------------------- autograd.Function

def _functions(lib):
    class Exp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = x.exp()
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, g):
            (out,) = ctx.saved_tensors
            return g * out

    class ScaledPair(lib.autograd.Function):
        """Two outputs, a non-Tensor argument, needs_input_grad."""

        @staticmethod
        def forward(ctx, a, b, scale):
            ctx.save_for_backward(a, b)
            ctx.scale = scale
            ctx.needs = tuple(ctx.needs_input_grad)
            return a * b * scale, a + b

        @staticmethod
        def backward(ctx, g_prod, g_sum):
            a, b = ctx.saved_tensors
            ga = (g_prod * b * ctx.scale + g_sum) if ctx.needs_input_grad[0] else None
            gb = (g_prod * a * ctx.scale + g_sum) if ctx.needs_input_grad[1] else None
            return ga, gb, None

    class SortValues(lib.autograd.Function):
        """An integer output and one marked non-differentiable."""

        @staticmethod
        def forward(ctx, x):
            values, idx = x.sort(dim=-1)
            twice = values * 2
            ctx.mark_non_differentiable(twice)
            ctx.save_for_backward(idx)
            return values, idx, twice

        @staticmethod
        def backward(ctx, g, g_idx, g_twice):
            (idx,) = ctx.saved_tensors
            out = lib.zeros_like(g)
            return out.scatter_add(-1, idx, g)

    return Exp, ScaledPair, SortValues


def _both(fn, *arrays, grad=True):
    """fn(lib, *tensors) on torch and gradengine: outputs and input gradients."""
    res = {}
    for lib in (torch, ge):
        ts = [lib.tensor(a, requires_grad=grad) for a in arrays]
        outs = fn(lib, *ts)
        res[lib] = ([_np(o) for o in outs],
                    [None if t.grad is None else _np(t.grad) for t in ts])
    for a, b in zip(res[ge][0] + res[ge][1], res[torch][0] + res[torch][1]):
        if a is None or b is None:
            assert a is None and b is None
        else:
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    return res[ge]


def test_function_exp_matches_torch_to_second_order(rng):
    def fn(lib, x):
        Exp = _functions(lib)[0]
        y = Exp.apply(x)
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        (g * g).sum().backward()
        return y, g
    _both(fn, rng.standard_normal((3, 4)))
    Exp = _functions(ge)[0]
    x = ge.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    assert ge.gradcheck(Exp.apply, [x]) and ge.gradgradcheck(Exp.apply, [x])


def test_function_with_two_outputs_and_a_constant_matches_torch(rng):
    def fn(lib, a, b):
        pair = _functions(lib)[1]
        prod, s = pair.apply(a, b * 2, 1.5)
        (prod.sum() + (s * s).sum()).backward()
        return prod, s
    _both(fn, rng.standard_normal((2, 3)), rng.standard_normal((2, 3)))

    def only_prod(lib, a, b):
        pair = _functions(lib)[1]
        prod, s = pair.apply(a, b.detach(), 1.5)
        prod.sum().backward()  # s gets no gradient: backward sees zeros for it
        return (prod,)
    got = _both(only_prod, rng.standard_normal(4), rng.standard_normal(4))
    assert got[1][1] is None
    pair = _functions(ge)[1]
    a, b = ge.ones(2, requires_grad=True), ge.ones(2)
    out = pair.apply(a, b, 2.0)
    assert out[0].requires_grad and out[1].requires_grad


def test_function_needs_input_grad_and_non_differentiable_outputs(rng):
    for lib in (torch, ge):
        pair = _functions(lib)[1]
        a, b = lib.ones(2, requires_grad=True), lib.ones(2)
        prod, _ = pair.apply(a, b, 1.0)
        prod.sum().backward()
        assert a.grad is not None and b.grad is None
    x0 = rng.standard_normal((3, 5))

    def fn(lib, x):
        sort_values = _functions(lib)[2]
        values, idx, twice = sort_values.apply(x)
        assert not idx.requires_grad and not twice.requires_grad and values.requires_grad
        (values * lib.arange(5.0, dtype=values.dtype)).sum().backward()
        return values, idx, twice
    _both(fn, x0)


def test_function_gradient_count_and_type_errors_name_the_function():
    class TooFew(ge.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    class GradForConstant(ge.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g, g

    x = ge.ones(2, requires_grad=True)
    with pytest.raises(ge.GraphError, match=r"TooFew: backward returned 1 gradient.*took 2"):
        TooFew.apply(x, x).sum().backward()
    with pytest.raises(ge.GraphError, match=r"GradForConstant: .*argument 1, which is not a "
                                            r"Tensor"):
        GradForConstant.apply(x, 3.0).sum().backward()


def test_function_saved_tensor_changed_in_place_is_caught():
    class Mul(ge.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(w)
            return x * w

        @staticmethod
        def backward(ctx, g):
            (w,) = ctx.saved_tensors
            return g * w, None

    x, w = ge.ones(3, requires_grad=True), ge.ones(3)
    y = Mul.apply(x, w)
    w += 1
    with pytest.raises(ge.GraphError, match=r"Mul: .*modified in place.*\(3,\).*version 1"):
        y.sum().backward()


def test_function_in_a_training_graph_no_grad_and_an_input_returned():
    class Identity(ge.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 3

    w = ge.nn.Parameter(ge.ones(3))
    out = Identity.apply(w * 2)
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [6.0, 6.0, 6.0])
    x = ge.ones(2, requires_grad=True)
    y = Identity.apply(x)
    y += 1  # the output is a tensor of its own: x is untouched
    np.testing.assert_array_equal(x.numpy(), [1.0, 1.0])
    with ge.no_grad():
        z = Identity.apply(x)
    assert not z.requires_grad and z.grad_fn is None


def test_function_with_setup_context_and_once_differentiable(rng):
    class Square(ge.autograd.Function):
        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        @ge.autograd.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = ge.tensor(rng.standard_normal(4), requires_grad=True)
    (g,) = ge.grad(Square.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), 2 * x.numpy())
    assert not g.requires_grad  # once differentiable: no graph of the backward


def test_function_in_anomaly_mode_names_itself():
    class BadBackward(ge.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x.log()

    x = ge.tensor([-1.0, 2.0], requires_grad=True)
    with ge.detect_anomaly():
        y = BadBackward.apply(x).sum()
        with pytest.raises(ge.GraphError, match=r"BadBackward backward produced NaN in output "
                                                r"0 \(shape \(2,\)\); op created at .*"
                                                r"test_torch_dropin.py"):
            y.backward()


class _Square(ge.autograd.Function):
    """Saves an intermediate of its forward."""

    @staticmethod
    def forward(ctx, x):
        twice = x * 2.0
        ctx.save_for_backward(twice)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (twice,) = ctx.saved_tensors
        return g * twice


class _Dropout(ge.autograd.Function):
    """Draws a mask in its forward."""

    @staticmethod
    def forward(ctx, x):
        mask = (ge.rand(*x.shape) > 0.5).float()
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return g * mask


class _ReadsValue(ge.autograd.Function):
    """Reads a value on the host in its forward: a replay could not follow it."""

    @staticmethod
    def forward(ctx, x):
        ctx.k = float(x.sum().item())
        return x * ctx.k

    @staticmethod
    def backward(ctx, g):
        return g * ctx.k


@pytest.mark.parametrize("fn", [_Square, _Dropout, _ReadsValue])
def test_function_under_jit_equals_eager_for_new_values(fn):
    def step(x):
        y = fn.apply(x)
        return y, ge.grad((y * 1.5).sum(), [x])

    jitted = ge.jit(step)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in range(3):
            x0 = np.arange(6.0, dtype=np.float32).reshape(2, 3) + k
            ge.manual_seed(k)
            want, (want_g,) = step(ge.tensor(x0, requires_grad=True))
            ge.manual_seed(k)
            got, (got_g,) = jitted(ge.tensor(x0, requires_grad=True))
            np.testing.assert_array_equal(got.numpy(), want.numpy())
            np.testing.assert_array_equal(got_g.numpy(), want_g.numpy())
    eager = [w for w in caught if "runs eagerly" in str(w.message)]
    assert jitted.traces == 1
    assert bool(eager) == (fn is _ReadsValue)


def test_function_in_a_jitted_training_step_equals_eager():
    def make():
        ge.manual_seed(0)
        model = ge.nn.Linear(3, 2)
        return model, ge.optim.SGD(model.parameters(), lr=0.1)

    def step(model, opt, x):
        opt.zero_grad()
        loss = _Square.apply(model(x)).mean()
        loss.backward()
        opt.step()
        return loss

    (m1, o1), (m2, o2) = make(), make()
    jitted = ge.jit(step)
    for k in range(4):
        x = ge.tensor(np.full((4, 3), 0.1 * k + 0.2, dtype=np.float32))
        a, b = step(m1, o1, x), jitted(m2, o2, x)
        assert a.item() == b.item()
    np.testing.assert_array_equal(m1.weight.numpy(), m2.weight.numpy())


# ---------------------------------------------------------------- autograd functions

def test_autograd_grad_and_backward_match_torch(rng):
    a0, b0 = rng.standard_normal(3), rng.standard_normal(3)
    res = {}
    for lib in (torch, ge):
        a, b = lib.tensor(a0, requires_grad=True), lib.tensor(b0, requires_grad=True)
        y1, y2 = (a * b).sum(), (a * a).sum()
        lib.autograd.backward([y1, y2], retain_graph=True)
        first = (_np(a.grad), _np(b.grad))
        a.grad = b.grad = None
        lib.autograd.backward([y1 * 1.0, y2 * 1.0], inputs=[b])
        unused = lib.tensor(1.0, requires_grad=True)
        ga, gu = lib.autograd.grad((a * 3).sum(), [a, unused], allow_unused=True,
                                   materialize_grads=True)
        res[lib] = [*first, a.grad is None, _np(b.grad), _np(ga), _np(gu)]
    for x, y in zip(res[ge], res[torch]):
        np.testing.assert_allclose(x, y)


@pytest.mark.parametrize("name", ["jacobian", "hessian", "vjp", "jvp", "vhp", "hvp"])
def test_autograd_functional_matches_torch(name, rng):
    x0, y0 = rng.standard_normal(3), rng.standard_normal(3)
    v0 = rng.standard_normal(3)
    res = {}
    for lib in (torch, ge):
        AF = lib.autograd.functional
        x, y, v = lib.tensor(x0), lib.tensor(y0), lib.tensor(v0)

        def f(a, b):
            return (a * b).exp() * a

        def scalar(a):
            return (a * a * a).sum() + (a[0] * a[1])
        if name == "jacobian":
            out = AF.jacobian(f, (x, y))
        elif name == "hessian":
            out = (AF.hessian(scalar, x),)
        elif name == "vjp":
            out = AF.vjp(lambda a, y=y: f(a, y), x, v)
        elif name == "jvp":
            out = AF.jvp(lambda a, y=y: f(a, y), x, v)
        else:
            out = getattr(AF, name)(scalar, x, v)
        res[lib] = [_np(t) for t in out]
    for a, b in zip(res[ge], res[torch]):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_autograd_functional_jacobian_shapes_and_errors():
    j = ge.autograd.functional.jacobian(lambda a: a.sum(axis=1), ge.ones((2, 3)))
    assert j.shape == tuple(torch.autograd.functional.jacobian(
        lambda a: a.sum(dim=1), torch.ones(2, 3)).shape) == (2, 2, 3)
    with pytest.raises(ge.ShapeError, match=r"vjp: v of shapes \[\(2,\)\].*\[\(3,\)\]"):
        ge.autograd.functional.vjp(lambda a: a * 2, ge.ones(3), ge.ones(2))
    with pytest.raises(ge.ShapeError, match=r"hessian: func must return a one-element"):
        ge.autograd.functional.hessian(lambda a: a * 2, ge.ones(3))


# ---------------------------------------------------------------- linalg

@pytest.mark.parametrize("call", [
    "vector_norm(x)", "vector_norm(x, 1, dim=1)", "vector_norm(x, float('inf'), dim=0)",
    "vector_norm(x, 3, dim=(0, 1), keepdim=True)", "norm(x)", "norm(x, 'fro')",
    "norm(x, 'nuc')", "norm(x, 2)", "norm(x, -1)", "norm(x, float('inf'))", "norm(x, 3, dim=1)",
    "matrix_norm(x3)", "matrix_norm(x3, 'nuc')", "matrix_norm(x3, -2, dim=(0, 2))",
    "matrix_norm(x3, 1, keepdim=True)", "matrix_norm(x3, float('-inf'))"])
def test_linalg_norms_match_torch(call, rng):
    x0, x30 = rng.standard_normal((3, 4)), rng.standard_normal((2, 3, 4))
    res = {}
    for lib in (torch, ge):
        x, x3 = lib.tensor(x0, requires_grad=True), lib.tensor(x30, requires_grad=True)
        out = eval(call, {"float": float}, {**vars(lib.linalg), "x": x, "x3": x3})  # noqa: S307
        (out * out).sum().backward()
        res[lib] = [_np(out), _np(x.grad if x.grad is not None else x3.grad)]
    for a, b in zip(res[ge], res[torch]):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_vector_norm_gradient_at_the_zero_vector_is_torchs():
    x0 = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 2.0]])
    res = {}
    for lib in (torch, ge):
        x = lib.tensor(x0, requires_grad=True)
        norm = lib.linalg.vector_norm(x, dim=1)
        (g,) = lib.autograd.grad((norm * norm * norm).sum(), x, create_graph=True)
        (g * x).sum().backward()
        res[lib] = [_np(norm), _np(g), _np(x.grad)]
    for a, b in zip(res[ge][:2], res[torch][:2]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert (res[ge][1][0] == 0).all()
    # second order: PyTorch's is NaN at the zero vector, gradengine's 0; equal elsewhere
    np.testing.assert_allclose(res[ge][2][1], res[torch][2][1], rtol=1e-12)
    assert np.isnan(res[torch][2][0]).all() and (res[ge][2][0] == 0).all()


def test_linalg_errors_and_the_decompositions_without_full_gradients(rng):
    with pytest.raises(ge.ShapeError, match=r"inv: expects square matrices .*\(2, 3\)"):
        ge.linalg.inv(ge.ones((2, 3)))
    with pytest.raises(ge.ShapeError, match=r"solve: .*\(3, 3\).*\(2,\).*3 rows"):
        ge.linalg.solve(ge.eye(3), ge.ones(2))
    with pytest.raises(ValueError, match=r"matrix_norm: ord must be"):
        ge.linalg.matrix_norm(ge.eye(2), 3)
    a0 = rng.standard_normal((4, 3))
    q, r = ge.linalg.qr(ge.tensor(a0))
    tq, tr = torch.linalg.qr(torch.tensor(a0))
    np.testing.assert_allclose(np.abs(q.numpy()), np.abs(tq.numpy()), atol=1e-12)
    np.testing.assert_allclose((q @ r).numpy(), a0, atol=1e-12)
    u, s, vh = ge.linalg.svd(ge.tensor(a0, requires_grad=True), full_matrices=False)
    np.testing.assert_allclose(((u * s) @ vh).numpy(), a0, atol=1e-12)
    with pytest.raises(ge.GraphError, match=r"svd: the gradient through output 0 is not "
                                            r"implemented"):
        u.sum().backward()
    x = ge.tensor(a0, requires_grad=True)
    with pytest.raises(ge.GraphError, match=r"qr: .*mode='complete' and nrows > ncols"):
        ge.linalg.qr(x, mode="complete").R.sum().backward()
    sign, logabs = ge.linalg.slogdet(ge.tensor([[0.0, 2.0], [1.0, 0.0]]))
    assert sign.item() == -1.0 and np.isclose(logabs.item(), np.log(2.0))


# ---------------------------------------------------------------- nn.Module

def _net(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 4)
            self.act = nn.ReLU()
            self.register_buffer("steps", lib.zeros(1))
            self.head = nn.Sequential(nn.Linear(4, 2))

        def forward(self, x):
            return self.head(self.act(self.fc(x)))
    return Net()


def test_module_traversal_state_dict_and_loading_match_torch():
    res = {}
    for lib in (torch, ge):
        m = _net(lib)
        sd = m.state_dict()
        sd.pop("fc.bias")
        sd["extra"] = lib.zeros(1)
        loaded = m.load_state_dict(sd, strict=False)
        frozen = m.requires_grad_(False)
        m.add_module("tail", lib.nn.Identity())
        res[lib] = (list(m.state_dict()), [n for n, _ in m.named_modules()],
                    [n for n, _ in m.named_children()], len(list(m.children())),
                    len(list(m.modules())), len(list(m.parameters(recurse=False))),
                    loaded.missing_keys, loaded.unexpected_keys, frozen is m,
                    any(p.requires_grad for p in m.parameters()),
                    type(m.get_submodule("head.0")).__name__,
                    lib.nn.Parameter(lib.ones(2), requires_grad=False).requires_grad,
                    repr(m.fc))
    assert res[ge] == res[torch]


def test_forward_hooks_match_torch():
    res = {}
    for lib in (torch, ge):
        m = _net(lib)
        seen = []
        h1 = m.fc.register_forward_hook(lambda mod, args, out, seen=seen: seen.append(
            tuple(out.shape)))
        h2 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
        h3 = m.head.register_forward_hook(lambda mod, args, out: out + 1)
        with lib.no_grad():
            hooked = m(lib.ones(5, 3))
            bias_only = m.head[0](m.act(m.fc.bias.reshape(1, -1) * lib.ones(5, 1)))
            for h in (h1, h2, h3):
                h.remove()
            plain = m(lib.ones(5, 3))
        res[lib] = (seen, _np(hooked - bias_only), _np(plain).shape)
    assert res[ge][0] == res[torch][0] == [(5, 4)]
    np.testing.assert_allclose(res[ge][1], np.ones((5, 2)), rtol=1e-6)
    np.testing.assert_allclose(res[torch][1], np.ones((5, 2)), rtol=1e-6)
    assert res[ge][2] == res[torch][2]


# ---------------------------------------------------------------- the acceptance scenario

SCRIPT = '''
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self, n_in, n_hidden, n_classes):
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(n_hidden, n_hidden)
        self.out = nn.Linear(n_hidden, n_classes)

    def forward(self, x):
        x = self.act(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.out(x)


def run(X, y, path, epochs=6, shuffle=True, init=None):
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dataset = TensorDataset(torch.tensor(X, dtype=torch.float32), torch.tensor(y))
    loader = DataLoader(dataset, batch_size=32, shuffle=shuffle)
    model = Net(X.shape[1], 32, 3).to(device)
    if init is not None:
        model.load_state_dict(init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * xb.shape[0]
        losses.append(total / len(dataset))
    model.eval()
    with torch.no_grad():
        xs, ys = dataset.tensors
        pred = model(xs.to(device)).argmax(dim=1)
        accuracy = (pred == ys.to(device)).float().mean().item()
    torch.save(model.state_dict(), path)
    restored = Net(X.shape[1], 32, 3).to(device)
    restored.load_state_dict(torch.load(path))
    with torch.no_grad():
        same = torch.equal(restored(xs.to(device)), model(xs.to(device)))
    return losses, accuracy, same, model


class ClampST(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lo, hi):
        return x.clamp(lo, hi)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out, None, None


class Exp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * y


def custom(x0):
    x = torch.tensor(x0, requires_grad=True)
    y = Exp.apply(ClampST.apply(x, -1.0, 1.0))
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    g.sum().backward()
    return y.detach().numpy(), g.detach().numpy(), x.grad.numpy()
'''

_GE_IMPORTS = [("import torch.nn.functional as F", "import gradengine.nn.functional as F"),
               ("import torch.nn as nn", "import gradengine.nn as nn"),
               ("from torch.utils.data import", "from gradengine.utils.data import"),
               ("import torch\n", "import gradengine as torch\n")]


def _script(lib):
    """SCRIPT as written (torch), or with only its imports changed (gradengine)."""
    src = SCRIPT
    if lib is ge:
        for old, new in _GE_IMPORTS:
            assert old in src
            src = src.replace(old, new)
    # nothing but the imports changed
    assert src.replace("gradengine as torch", "torch").replace("gradengine", "torch") == SCRIPT
    namespace = {"__name__": f"script_{lib.__name__}"}
    exec(compile(src, f"<script {lib.__name__}>", "exec"), namespace)  # noqa: S102
    return namespace


def _blobs(n=256, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[2.0, 0.0, 0.0, 1.0], [-2.0, 1.0, 0.0, 0.0], [0.0, -2.0, 1.0, -1.0]])
    y = rng.integers(0, 3, n)
    return (centres[y] + rng.standard_normal((n, 4))).astype(np.float64), y.astype(np.int64)


@pytest.mark.parametrize("lib", [torch, ge], ids=["torch", "gradengine"])
def test_the_same_script_trains_with_torch_and_with_gradengine(lib, tmp_path):
    assert re.search(r"^import torch$", SCRIPT, re.M)
    X, y = _blobs()
    lib.manual_seed(0)
    losses, accuracy, same, _ = _script(lib)["run"](X, y, str(tmp_path / "model.pt"))
    assert losses[-1] < 0.5 * losses[0], losses
    assert accuracy > 0.85 and same


def test_the_script_gives_torchs_losses_from_the_same_weights_and_batches(tmp_path):
    X, y = _blobs()
    scripts = {lib: _script(lib) for lib in (torch, ge)}
    torch.manual_seed(0)
    start = scripts[torch]["Net"](X.shape[1], 32, 3).state_dict()
    init = {torch: {k: v.clone() for k, v in start.items()},
            # gradengine's Linear keeps its weight as (in_features, out_features)
            ge: {k: ge.tensor(v.numpy().T if k.endswith("weight") else v.numpy())
                 for k, v in start.items()}}
    runs = {lib: scripts[lib]["run"](X, y, str(tmp_path / f"{lib.__name__}.pt"), epochs=4,
                                     shuffle=False, init=init[lib]) for lib in (torch, ge)}
    np.testing.assert_allclose(runs[ge][0], runs[torch][0], rtol=2e-5)
    assert abs(runs[ge][1] - runs[torch][1]) <= 2 / len(y)  # a near-tie may flip
    ge_model, torch_model = runs[ge][3], runs[torch][3]
    for (name, p), (tname, tp) in zip(ge_model.named_parameters(),
                                      torch_model.named_parameters()):
        assert name == tname
        want = tp.detach().numpy()
        np.testing.assert_allclose(p.numpy(), want.T if name.endswith("weight") else want,
                                   rtol=1e-3, atol=1e-4)


def test_the_scripts_custom_functions_agree_with_torch(rng):
    x0 = rng.standard_normal((3, 4)) * 1.5
    got, want = _script(ge)["custom"](x0), _script(torch)["custom"](x0)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert (np.abs(x0) > 1).any()  # the clamp's straight-through gradient was exercised
