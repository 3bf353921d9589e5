"""Layout keywords, real-tensor identities, typename, vander, renorm, bit shifts and the
torch.*_copy functions, each against PyTorch on the same inputs."""

import numpy as np
import pytest

import gradengine as ge
from gradengine.errors import ArgumentError, DTypeError, ShapeError

torch = pytest.importorskip("torch")


def test_constructors_take_torchs_layout_and_memory_format_keywords():
    assert ge.zeros(2, 3, layout=ge.strided, pin_memory=False).shape == (2, 3)
    x = ge.ones(2, 3)
    for fn in (ge.zeros_like, ge.ones_like, ge.empty_like, ge.rand_like, ge.randn_like):
        assert fn(x, memory_format=ge.preserve_format, layout=ge.strided).shape == (2, 3)
    assert ge.full_like(x, 7, memory_format=ge.contiguous_format).numpy().max() == 7
    assert ge.arange(3, layout=ge.strided).tolist() == [0, 1, 2]
    with pytest.raises(ArgumentError, match="zeros: only the dense layout"):
        ge.zeros(2, layout=ge.sparse_coo)
    with pytest.raises(ArgumentError, match="ones_like: unknown memory_format"):
        ge.ones_like(x, memory_format="weird")
    assert repr(ge.strided) == repr(torch.strided) and repr(ge.channels_last) == \
        repr(torch.channels_last)


def test_clone_with_memory_format_keeps_values_and_gradient():
    x = ge.tensor([1.0, 2.0], requires_grad=True)
    y = x.clone(memory_format=ge.contiguous_format)
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_real_tensor_identities_and_facts_as_torch():
    a = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    g, t = ge.tensor(a), torch.tensor(a)
    for name in ("conj", "resolve_conj", "resolve_neg", "conj_physical"):
        assert (getattr(g, name)() is g) == (getattr(t, name)() is t)
    assert (g.real is g) and (t.real is t)
    assert g.is_conj() == t.is_conj() and g.is_neg() == t.is_neg()
    for name in ("is_sparse", "is_quantized", "is_meta", "is_mkldnn", "is_nested"):
        assert getattr(g, name) == getattr(t, name)
    assert g.is_pinned() == t.is_pinned() and g.is_shared() == t.is_shared()
    assert str(g.layout) == str(t.layout)
    with pytest.raises(RuntimeError):
        _ = t.imag
    with pytest.raises(DTypeError, match="imag"):
        _ = g.imag
    np.testing.assert_array_equal(g.adjoint().numpy(), t.adjoint().numpy())
    np.testing.assert_array_equal(ge.adjoint(g).numpy(), torch.adjoint(t).numpy())
    with pytest.raises(ShapeError):
        ge.adjoint(ge.ones(3))
    assert g.pin_memory() is g and g.share_memory_() is g


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32", "uint8", "bool",
                                   "int8", "int16", "float16"])
def test_typename_is_signed_get_device(dtype):
    g = ge.zeros(2, dtype=dtype)
    t = torch.zeros(2, dtype=getattr(torch, dtype))
    assert ge.typename(g) == torch.typename(t)
    assert ge.is_signed(g) == torch.is_signed(t)
    assert ge.get_device(g) == t.get_device() == -1
    assert ge.is_inference(g) == torch.is_inference(t)
    assert ge.typename(3) == torch.typename(3)


@pytest.mark.parametrize("kw", [{}, {"N": 2}, {"N": 5, "increasing": True}, {"N": 0}])
@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_vander_matches_torch_values_and_gradient(kw, dtype):
    a = np.array([1.5, -2.0, 3.0]) if dtype == "float64" else np.array([1, -2, 3])
    got = ge.vander(ge.tensor(a), **kw)
    want = torch.vander(torch.tensor(a), **kw)
    assert got.dtype.name == str(want.dtype)[6:] and got.shape == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.numpy())
    if dtype == "float64" and kw.get("N", 3):
        # torch's own vander backward fails (an in-place write inside it), so the gradient
        # is checked against finite differences
        assert ge.gradcheck(lambda t: ge.vander(t, **kw), [ge.tensor(a, requires_grad=True)])

@pytest.mark.parametrize("p, dim, maxnorm", [(2, 0, 1.0), (1, 1, 2.0), (3, -1, 0.5),
                                             (2, 1, 100.0)])
def test_renorm_matches_torch_values_and_gradient(p, dim, maxnorm, rng):
    a = rng.standard_normal((3, 4))
    x, tx = ge.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    got, want = ge.renorm(x, p, dim, maxnorm), torch.renorm(tx, p, dim, maxnorm)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-10)
    w = rng.standard_normal((3, 4))
    (got * ge.tensor(w)).sum().backward()
    (want * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-12)
    assert ge.gradcheck(lambda t: ge.renorm(t, p, dim, maxnorm), [ge.tensor(a, requires_grad=True)])
    m = ge.tensor(a.copy())
    m.renorm_(p, dim, maxnorm)
    np.testing.assert_allclose(m.numpy(), want.detach().numpy(), rtol=1e-10)


def test_bit_shifts_match_torch():
    a, b = np.array([1, -8, 5, 64], dtype=np.int64), np.array([1, 2, 0, 3], dtype=np.int64)
    for name in ("bitwise_left_shift", "bitwise_right_shift"):
        got = getattr(ge, name)(ge.tensor(a), ge.tensor(b))
        want = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        np.testing.assert_array_equal(getattr(ge.tensor(a), name)(ge.tensor(b)).numpy(),
                                      want.numpy())
        g = ge.tensor(a.copy())
        getattr(g, name + "_")(ge.tensor(b))
        np.testing.assert_array_equal(g.numpy(), want.numpy())


@pytest.mark.parametrize("name, args", [
    ("view_copy", ((6,),)), ("expand_copy", ((2, 2, 3),)), ("permute_copy", ((1, 0),)),
    ("transpose_copy", (0, 1)), ("t_copy", ()), ("squeeze_copy", ()),
    ("unsqueeze_copy", (1,)), ("select_copy", (1, 2)), ("diagonal_copy", ()),
    ("detach_copy", ()), ("alias_copy", ()), ("slice_copy", (1, 0, 3, 2)),
    ("narrow_copy", (1, 1, 2)), ("unfold_copy", (1, 2, 1)),
])
def test_copy_functions_match_torch_and_share_no_memory(name, args, rng):
    a = rng.standard_normal((2, 3))
    got = getattr(ge, name)(ge.tensor(a), *args)
    want = getattr(torch, name)(torch.tensor(a), *args)
    np.testing.assert_allclose(got.numpy(), want.numpy())
    assert not np.shares_memory(got.numpy(), a)


def test_split_and_unbind_copy_give_tuples_of_copies(rng):
    a = rng.standard_normal((4, 3))
    for name, args in (("split_copy", (2,)), ("unbind_copy", ())):
        got = getattr(ge, name)(ge.tensor(a), *args)
        want = getattr(torch, name)(torch.tensor(a), *args)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.numpy(), w.numpy())


def test_set_flush_denormal_reports_unsupported_and_changes_nothing():
    assert ge.set_flush_denormal(True) is False
    assert ge.tensor([1e-40], dtype="float32").numpy()[0] != 0
