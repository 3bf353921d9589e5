"""PyTorch utilities as torch behaves: creation keywords (size=), as_tensor sharing,
numpy(force=), the random functions' argument checks and seeds, GradScaler without CUDA,
and utils.data's collation and samplers -- by hand, and against torch when installed."""

import numpy as np
import pytest

import gradengine as ge
from gradengine.utils.data import DataLoader, RandomSampler, default_collate


def test_creation_takes_size_as_a_keyword():
    for make in (ge.zeros, ge.ones, ge.empty, ge.rand, ge.randn):
        assert make(size=(2, 3)).shape == (2, 3)
    assert ge.full(size=(2,), fill_value=3.0).tolist() == [3.0, 3.0]
    assert ge.randint(high=5, size=(4,)).shape == (4,)
    with pytest.raises(ge.ArgumentError, match="not both"):
        ge.zeros(2, size=(2,))


def test_as_tensor_shares_a_cpu_array_of_its_dtype():
    a = np.zeros(3)
    t = ge.as_tensor(a)
    a[0] = 5
    assert t.tolist() == [5.0, 0.0, 0.0] and t.dtype == np.float64
    c = ge.as_tensor(a, dtype=ge.float32)  # another dtype: a copy
    a[1] = 7
    assert c.tolist() == [5.0, 0.0, 0.0]
    assert ge.ones(2).numpy(force=True).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("call, error", [
    (lambda: ge.rand(2, dtype="int64"), ge.DTypeError),
    (lambda: ge.randn(2, dtype=ge.int64), ge.DTypeError),
    (lambda: ge.rand_like(ge.ones(2, dtype="int64")), ge.DTypeError),
    (lambda: ge.randint(0, 300, (8,), dtype="uint8"), ge.ArgumentError),
    (lambda: ge.bernoulli(ge.full((4,), 1.5)), ge.ArgumentError),
    (lambda: ge.normal(ge.zeros(3), -1.0), ge.ArgumentError),
    (lambda: ge.manual_seed(2 ** 64), ValueError),
])
def test_random_functions_refuse_what_torch_refuses(call, error):
    with pytest.raises(error):
        call()


def test_negative_seeds_are_taken_modulo_2_64():
    ge.manual_seed(-1)
    a = ge.rand(3)
    ge.manual_seed(2 ** 64 - 1)
    np.testing.assert_array_equal(ge.rand(3).numpy(), a.numpy())


def test_default_collate_infers_dtypes_as_torch():
    assert default_collate([1, 2.5]).dtype == np.float32
    assert default_collate([2.5, 1]).dtype == np.float64
    assert default_collate([1, 2]).dtype == np.int64
    assert default_collate([True, 1]).tolist() == [1, 1]
    assert default_collate([True, False]).dtype == np.bool_


def test_dataloader_without_batching_converts_arrays_and_sampler_draws_num_samples():
    out = list(DataLoader([np.ones(2), np.zeros(2)], batch_size=None))
    assert all(isinstance(x, ge.Tensor) for x in out)
    assert list(DataLoader([(1, 2.0)], batch_size=None)) == [[1, 2.0]]
    draws = list(RandomSampler(range(5), num_samples=8))
    assert len(draws) == 8 and sorted(draws[:5]) == [0, 1, 2, 3, 4]


def test_as_torch():
    torch = pytest.importorskip("torch")
    from torch.utils import data as tdata
    for batch in ([1, 2.5], [2.5, 1], [1, 2], [True, 1], [True, False]):
        assert str(default_collate(batch).dtype) == \
            str(tdata.default_collate(batch).dtype).replace("torch.", "")
    assert len(list(tdata.RandomSampler(range(5), num_samples=8))) == 8
    for call in (lambda M: M.rand(2, dtype=M.int64), lambda M: M.bernoulli(M.full((4,), 1.5)),
                 lambda M: M.normal(M.zeros(3), -1.0), lambda M: M.manual_seed(2 ** 64)):
        with pytest.raises((RuntimeError, NotImplementedError, ValueError)):
            call(torch)
        with pytest.raises((RuntimeError, NotImplementedError, ValueError, TypeError)):
            call(ge)


def test_tensor_infers_float64_from_numpy_values_inside_lists_as_torch():
    assert ge.tensor([np.float64(1)]).dtype == np.float64
    assert ge.tensor([np.ones(2), np.zeros(2)]).dtype == np.float64
    assert ge.tensor([1.0, np.float64(2)]).dtype == np.float64
    assert ge.tensor([np.float32(1), 2.0]).dtype == np.float32
    assert ge.tensor([1.0, 2.0]).dtype == np.float32  # Python floats: the default
    with pytest.raises(ValueError, match="int64"):
        ge.tensor(2 ** 63)  # torch: ValueError (Overflow when unpacking long long)
    assert ge.tensor(np.uint64(5)).dtype == np.uint64
