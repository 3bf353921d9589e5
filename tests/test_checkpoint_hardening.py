"""Checkpoint files and model state that refuse bad input, changing nothing: file modes,
compressed members (decompression bombs), FIFOs and devices, a Module given to ge.save,
object/complex arrays in load_state_dict, non-floating module.to, and to()'s forms."""

import io
import json
import os
import stat
import sys
import threading
import zipfile

import numpy as np
import pytest

import gradengine as ge
from gradengine import backend, nn

sys.path.insert(0, os.path.dirname(__file__))
import fake_cupy


def _model():
    ge.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 3, activation="tanh"), nn.Linear(3, 1))


def _snapshot(model):
    return [(n, p.numpy().tobytes(), p.dtype, p.device, p.requires_grad, p._version)
            for n, p in model.named_parameters()]


# ---------------------------------------------------------------- file modes



@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_save_creates_files_with_the_umask_mode(tmp_path, mask):
    old = os.umask(mask)
    try:
        ge.save({"a": np.ones(2)}, tmp_path / "m.ge")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "m.ge").st_mode) == 0o666 & ~mask


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("mode", [0o644, 0o600, 0o640, 0o664])
def test_save_keeps_the_mode_of_the_file_it_replaces(tmp_path, mode):
    path = tmp_path / "m.ge"
    ge.save({"a": np.ones(2)}, path)
    os.chmod(path, mode)
    ge.save({"a": np.zeros(2)}, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert np.array_equal(ge.load(path)["a"], np.zeros(2))


# ---------------------------------------------------------------- hostile files

def _rewrite(src, dst, compress=None):
    """Copy a checkpoint's members into a new zip, deflating the ones in ``compress``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            method = zipfile.ZIP_DEFLATED if compress and info.filename in compress \
                else zipfile.ZIP_STORED
            zout.writestr(info.filename, zin.read(info.filename), compress_type=method)


def test_load_refuses_a_decompression_bomb_at_once(tmp_path):
    big = np.zeros(64 * 2 ** 20 // 8)  # 64 MiB of zeros deflates to about 64 KiB
    ge.save({"w": np.ones(1)}, tmp_path / "small.ge")
    with zipfile.ZipFile(tmp_path / "small.ge") as z:
        manifest = json.loads(z.read("manifest.json"))
    manifest["arrays"]["arr_0"].update(shape=list(big.shape), dtype=big.dtype.str,
                                       crc32=0)
    npy = io.BytesIO()
    np.lib.format.write_array(npy, big)
    bomb = tmp_path / "bomb.ge"
    with zipfile.ZipFile(bomb, "w") as z:
        z.writestr("manifest.json", json.dumps(manifest))
        z.writestr("arr_0.npy", npy.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
    assert os.path.getsize(bomb) < 256 * 1024
    with pytest.raises(ge.CheckpointError, match=r"bomb\.ge.*'arr_0\.npy' is compressed"):
        ge.load(bomb)


def test_load_refuses_any_compressed_member(tmp_path):
    ge.save({"w": np.arange(10.0)}, tmp_path / "ok.ge")
    _rewrite(tmp_path / "ok.ge", tmp_path / "deflated.ge", compress={"manifest.json"})
    with pytest.raises(ge.CheckpointError, match="manifest.json' is compressed"):
        ge.load(tmp_path / "deflated.ge")
    _rewrite(tmp_path / "ok.ge", tmp_path / "stored.ge")
    assert np.array_equal(ge.load(tmp_path / "stored.ge")["w"], np.arange(10.0))


def test_load_refuses_a_member_declaring_more_than_the_file(tmp_path):
    ge.save({"w": np.arange(4.0)}, tmp_path / "ok.ge")
    data = bytearray((tmp_path / "ok.ge").read_bytes())
    # the central directory's uncompressed size of the last member: make it huge
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24:cd + 28] = (2 ** 31).to_bytes(4, "little")
    data[cd + 20:cd + 24] = (2 ** 31).to_bytes(4, "little")
    (tmp_path / "huge.ge").write_bytes(bytes(data))
    with pytest.raises(ge.CheckpointError, match=r"huge\.ge.*declares 2147483648 bytes"):
        ge.load(tmp_path / "huge.ge")


def test_load_refuses_an_npy_header_larger_than_its_member(tmp_path):
    ge.save({"w": np.arange(4.0)}, tmp_path / "ok.ge")
    with zipfile.ZipFile(tmp_path / "ok.ge") as z:
        manifest = json.loads(z.read("manifest.json"))
    manifest["arrays"]["arr_0"]["shape"] = [10 ** 12]
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(npy, {"descr": "<f8", "fortran_order": False,
                                               "shape": (10 ** 12,)})
    with zipfile.ZipFile(tmp_path / "liar.ge", "w") as z:
        z.writestr("manifest.json", json.dumps(manifest))
        z.writestr("arr_0.npy", npy.getvalue() + b"\0" * 32)
    with pytest.raises(ge.CheckpointError, match="declares 8000000000000 bytes"):
        ge.load(tmp_path / "liar.ge")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_load_refuses_a_fifo_at_once(tmp_path):
    fifo = tmp_path / "pipe.ge"
    os.mkfifo(fifo)
    result = {}

    def attempt():
        try:
            ge.load(fifo)
        except ge.CheckpointError as e:
            result["e"] = e

    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(5)
    assert not t.is_alive(), "ge.load blocked on a FIFO"
    assert isinstance(result.get("e"), ge.CheckpointError)
    assert "FIFO" in str(result["e"]) and "pipe.ge" in str(result["e"])


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_load_refuses_dev_zero_at_once():
    with pytest.raises(ge.CheckpointError, match=r"'/dev/zero' is a character device"):
        ge.load("/dev/zero")


def test_load_refuses_a_directory(tmp_path):
    with pytest.raises(ge.CheckpointError, match="is a directory"):
        ge.load(tmp_path)


def test_save_of_a_module_says_to_use_its_state_dict(tmp_path):
    model = _model()
    with pytest.raises(TypeError, match=r"Sequential.*ge\.save\(model\.state_dict\(\), "
                                        r"path\)"):
        ge.save(model, tmp_path / "m.ge")
    with pytest.raises(TypeError, match=r"Linear.*state_dict\(\)"):
        ge.save(nn.Linear(2, 2), tmp_path / "m.ge")
    with pytest.raises(TypeError, match=r"SGD.*state_dict\(\)"):
        ge.save(ge.optim.SGD(model.parameters()), tmp_path / "m.ge")
    assert not os.listdir(tmp_path)


# ---------------------------------------------------------------- load_state_dict

@pytest.mark.parametrize("bad,match", [
    (lambda a: a.astype(object), "dtype object"),
    (lambda a: a.astype(np.complex128) * (1 + 1j), "dtype complex128"),
    (lambda a: a.astype(str), "dtype <U"),
], ids=["object", "complex", "str"])
def test_load_state_dict_refuses_non_real_arrays_naming_the_key(bad, match):
    model = _model()
    sd = model.state_dict()
    sd["1.weight"] = bad(sd["1.weight"].numpy())
    before = _snapshot(model)
    with pytest.raises(ge.DTypeError, match=rf"'1\.weight' has {match}"):
        model.load_state_dict(sd)
    assert _snapshot(model) == before


# ---------------------------------------------------------------- module.to

@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_module_to_an_integer_dtype_is_refused_changing_nothing(dtype):
    model = _model()
    model[0].weight.grad = ge.ones((2, 3))
    before = _snapshot(model)
    grad = model[0].weight.grad.numpy().copy()
    with pytest.raises(ge.DTypeError, match=rf"to: dtype {np.dtype(dtype)} is not a floating"):
        model.to(dtype=dtype)
    with pytest.raises(ge.DTypeError, match="not a floating"):
        model.to(dtype)
    assert _snapshot(model) == before
    assert np.array_equal(model[0].weight.grad.numpy(), grad)


def test_module_to_a_dtype_positionally_or_by_keyword():
    model = _model()
    assert model.to("float64") is model
    assert all(p.dtype == np.float64 for p in model.parameters())
    model.to(dtype=np.float32)
    assert all(p.dtype == np.float32 for p in model.parameters())
    y = model(ge.ones((4, 2)))
    assert y.dtype == np.float32


@pytest.fixture
def fake_gpu(monkeypatch):
    fake = fake_cupy.make_module()
    monkeypatch.setattr(backend, "_cupy", fake)
    monkeypatch.setitem(sys.modules, "cupyx", fake_cupy.make_cupyx())
    monkeypatch.setenv("GRADENGINE_KERNELS", "0")
    monkeypatch.setattr(backend._RNG, "cupy", {})
    monkeypatch.setattr(backend, "_process_default", backend._process_default)
    yield fake


def test_module_to_device_and_dtype_together(fake_gpu):
    model = _model()
    values = [p.numpy().astype(np.float16) for p in model.parameters()]
    model[0].weight.grad = ge.ones((2, 3))
    model.to("cuda", "float16")
    for p, v in zip(model.parameters(), values):
        assert p.device == "cuda:0" and p.dtype == np.float16
        assert np.array_equal(p.numpy(), v)
    g = model[0].weight.grad
    assert g.device == "cuda:0" and g.dtype == np.float16
    model.to("cpu")
    assert all(p.device == "cpu" and p.dtype == np.float16 for p in model.parameters())
