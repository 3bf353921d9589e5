"""Checkpoints: bit-exact round trips, every corruption variant of RELIABILITY.md section 3
item 5 raising CheckpointError with the path and leaving the model unchanged, atomic
saves."""

import io
import json
import os
import signal
import time
import zipfile

import numpy as np
import pytest

import gradengine as ge
from gradengine import checkpoint, optim
from gradengine.nn import Dense, Sequential


def model_2_3_1():
    m = Sequential(Dense(3, input_dim=2, activation="sigmoid"),
                   Dense(1, input_dim=3, activation="sigmoid"))
    return m


def state_of(model):
    return [(p.numpy().tobytes(), p.dtype, p.shape, p._version) for p in model.parameters()]


@pytest.fixture
def saved(tmp_path):
    ge.manual_seed(0)
    src = model_2_3_1()
    path = tmp_path / "model.ge"
    ge.save(src.state_dict(), path)
    return path, src


# ---------------------------------------------------------------- round trips

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_roundtrip_is_bit_exact_with_dtype_and_shape(dtype, tmp_path):
    rng = np.random.default_rng(0)
    uint = np.uint32 if dtype == "float32" else np.uint64
    bits = rng.integers(0, np.iinfo(uint).max, 64, dtype=uint).view(dtype)  # NaN payloads too
    info = np.finfo(dtype)
    special = np.array([np.nan, -np.nan, np.inf, -np.inf, -0.0, 0.0, info.smallest_subnormal,
                        info.max], dtype)
    sd = {
        "random_bits": bits.reshape(8, 8),
        "special": special,
        "scalar": np.array(3.25, dtype),
        "empty": np.zeros((0, 3), dtype),
        "noncontiguous": rng.standard_normal((6, 4)).astype(dtype)[::2, ::-1],
        "ints": np.arange(5, dtype=np.int64),
        "tensor": ge.tensor(rng.standard_normal((2, 2)), dtype=dtype),
    }
    ge.save(sd, tmp_path / "a.ge")
    out = ge.load(tmp_path / "a.ge")
    assert set(out) == set(sd)
    for k, v in sd.items():
        want = v.numpy() if isinstance(v, ge.Tensor) else v
        assert isinstance(out[k], ge.Tensor) and out[k].device == "cpu"  # as torch.load
        assert out[k].dtype == want.dtype and out[k].shape == want.shape
        assert out[k].numpy().tobytes() == np.ascontiguousarray(want).tobytes()


def test_model_roundtrip_through_save_load_and_load_state_dict(tmp_path):
    ge.manual_seed(1)
    src, dst = model_2_3_1(), model_2_3_1()
    ge.save(src.state_dict(), tmp_path / "m.ge")
    dst.load_state_dict(ge.load(tmp_path / "m.ge"))
    for p, q in zip(src.parameters(), dst.parameters()):
        assert p.numpy().tobytes() == q.numpy().tobytes() and p.dtype == q.dtype
    dst.double()
    ge.save(dst.state_dict(), tmp_path / "m64.ge")
    assert all(v.dtype == np.float64 for v in ge.load(tmp_path / "m64.ge").values())


def test_the_file_is_a_zip_numpy_opens_without_pickle(saved):
    path, _ = saved
    with np.load(path, allow_pickle=False) as npz:
        arrays = [npz[k] for k in npz.files if k.startswith("arr_")]
    assert len(arrays) == 4
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["magic"] == "gradengine-checkpoint" and manifest["version"] == 1
    meta = manifest["arrays"]["arr_0"]
    assert {"dtype", "shape", "crc32"} <= set(meta)


def test_nested_optimizer_state_roundtrip(tmp_path):
    p = [ge.nn.Parameter(np.ones((2, 2), np.float32))]
    opt = optim.Adam(p, lr=0.1, betas=(0.8, 0.9))
    p[0].grad = ge.ones((2, 2))
    opt.step()
    sd = opt.state_dict()
    ge.save(sd, tmp_path / "opt.ge")
    out = ge.load(tmp_path / "opt.ge")
    assert out["param_groups"][0]["lr"] == 0.1
    assert out["param_groups"][0]["betas"] == [0.8, 0.9]
    assert list(out["state"]) == [0] and out["state"][0]["step"] == 1
    assert np.asarray(out["state"][0]["exp_avg"]).tobytes() == \
        np.asarray(sd["state"][0]["exp_avg"]).tobytes()
    ge.save({"t": (1, "a", None, True, 2.5)}, tmp_path / "misc.ge")
    assert ge.load(tmp_path / "misc.ge") == {"t": (1, "a", None, True, 2.5)}


def test_save_refuses_what_needs_pickle(tmp_path):
    with pytest.raises(TypeError, match="object"):
        ge.save({"a": np.array([object()])}, tmp_path / "x.ge")
    with pytest.raises(TypeError, match="set"):
        ge.save({"a": {1, 2}}, tmp_path / "x.ge")
    with pytest.raises(TypeError, match="state dict"):
        ge.save({1, 2}, tmp_path / "x.ge")
    assert os.listdir(tmp_path) == []


def test_save_takes_what_torch_save_takes_and_load_gives_tensors(tmp_path):
    # torch.save / torch.load: a bare Tensor, a list or a tuple at the top; Tensors back
    for obj in (ge.arange(3.0), [ge.ones(2), np.zeros(1)], (ge.ones(1), 3, "x")):
        path = tmp_path / "o.ge"
        ge.save(obj, path, pickle_protocol=2)
        back = ge.load(path, map_location="cpu")
        assert type(back) is type(obj)
        flat = [back] if isinstance(back, ge.Tensor) else list(back)
        want = [obj] if isinstance(obj, ge.Tensor) else list(obj)
        for b, w in zip(flat, want):
            if isinstance(w, (ge.Tensor, np.ndarray)):
                assert isinstance(b, ge.Tensor) and b.device == "cpu"
                np.testing.assert_array_equal(b.numpy(), np.asarray(w))
            else:
                assert b == w
    rng = ge.get_rng_state()
    ge.save({"rng": rng}, tmp_path / "r.ge")
    ge.set_rng_state(ge.load(tmp_path / "r.ge")["rng"])  # the RNG-state round trip
    np.testing.assert_array_equal(ge.get_rng_state().numpy(), rng.numpy())


# ---------------------------------------------------------------- corruption: 12 variants

def _rewrite_zip(src_bytes, dst, edit_manifest=None, drop=None):
    with zipfile.ZipFile(io.BytesIO(src_bytes)) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename == drop:
                continue
            data = zin.read(info.filename)
            if info.filename == "manifest.json" and edit_manifest is not None:
                m = json.loads(data)
                edit_manifest(m)
                data = json.dumps(m).encode()
            zout.writestr(info.filename, data)


def _flip(data, offset):
    b = bytearray(data)
    b[offset] ^= 0xFF
    return bytes(b)


def _payload_offset(data):
    # The last array's bytes: the final member's data ends right before the central
    # directory; flip a byte a little before that.
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.infolist()[-1]
    return info.header_offset + 30 + len(info.filename) + info.file_size - 2


def _set(key, value):
    def edit(m):
        m[key] = value
    return edit


def _corruptions():
    """(name, reason regex, function(good_bytes, path) -> writes a damaged file at path)."""
    def write(data):
        def make(good, path):
            path.write_bytes(data(good) if callable(data) else data)
        return make

    def shape_mismatch(m):
        m["arrays"]["arr_0"]["shape"] = [3, 2]

    return [
        ("empty", "truncated", write(b"")),
        ("one_byte", "truncated", write(b"P")),
        ("truncated_half", "truncated", write(lambda g: g[: len(g) // 2])),
        ("truncated_n_minus_1", "truncated", write(lambda g: g[:-1])),
        ("bad_magic", "bad magic", write(lambda g: b"XX" + g[2:])),
        ("bad_manifest_magic", "bad magic",
         lambda g, p: _rewrite_zip(g, p, _set("magic", "something-else"))),
        ("wrong_version", "unsupported version",
         lambda g, p: _rewrite_zip(g, p, _set("version", 2))),
        ("flipped_header_byte", "checksum mismatch",
         write(lambda g: _flip(g, g.index(b'"magic"') + 3))),
        ("flipped_payload_byte", "checksum mismatch",
         write(lambda g: _flip(g, _payload_offset(g)))),
        ("plain_np_save", "not a gradengine checkpoint", lambda g, p: np.save(open(p, "wb"),
                                                                              np.ones(3))),
        ("plain_np_savez", "not a gradengine checkpoint",
         lambda g, p: np.savez(open(p, "wb"), a=np.ones(3))),
        ("directory", "directory", lambda g, p: os.mkdir(p)),
        ("missing_entry", "missing entry", lambda g, p: _rewrite_zip(g, p, drop="arr_1.npy")),
        ("manifest_shape_mismatch", "shape mismatch",
         lambda g, p: _rewrite_zip(g, p, shape_mismatch)),
    ]


@pytest.mark.parametrize("name,reason,make", _corruptions(), ids=[c[0] for c in _corruptions()])
def test_corrupted_checkpoint_raises_checkpoint_error_and_leaves_the_model_unchanged(
        name, reason, make, saved, tmp_path):
    good, _ = saved
    bad = tmp_path / f"bad_{name}.ge"
    make(good.read_bytes(), bad)
    ge.manual_seed(5)
    target = model_2_3_1()
    target.compile(optimizer="sgd", loss="mse")
    before = state_of(target)
    with pytest.raises(ge.CheckpointError, match=reason) as info:
        target.load_weights(bad)
    assert str(bad) in str(info.value)
    assert state_of(target) == before
    with pytest.raises(ValueError):  # CheckpointError is a ValueError
        ge.load(bad)


def test_every_single_byte_flip_is_detected_or_harmless(saved):
    path, src = saved
    good = path.read_bytes()
    expected = {k: v.numpy() for k, v in src.state_dict().items()}
    detected = 0
    offsets = range(0, len(good), 3)  # every third byte: all the zip and .npy fields
    for offset in offsets:
        path.write_bytes(_flip(good, offset))
        try:
            out = ge.load(path)
        except ge.CheckpointError:
            detected += 1
            continue
        # A flip in a field nothing reads (a zip timestamp, say) must not change any value.
        assert set(out) == set(expected)
        for k in expected:
            assert np.asarray(out[k]).tobytes() == expected[k].tobytes() and \
                out[k].dtype == expected[k].dtype
    assert detected > 0.8 * len(offsets)


def test_missing_file_raises_file_not_found_with_the_path(tmp_path):
    path = tmp_path / "missing.ge"
    with pytest.raises(FileNotFoundError, match="missing.ge"):
        ge.load(path)


# ---------------------------------------------------------------- atomic writes

def test_save_replaces_atomically_and_an_interrupted_save_keeps_the_old_file(saved,
                                                                            monkeypatch):
    path, _ = saved
    old = path.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "write_array", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ge.save({"w": np.zeros(1000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert sorted(os.listdir(path.parent)) == ["model.ge"]  # no temp file left behind
    ge.save({"w": np.zeros(3)}, path)
    assert list(ge.load(path)) == ["w"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_sigkill_during_save_leaves_the_previous_checkpoint_loadable(tmp_path):
    path = tmp_path / "ckpt.ge"
    big = {f"w{i}": np.full((256, 256), i, np.float32) for i in range(8)}  # 2 MiB
    ge.save(big, path)
    rng = np.random.default_rng(0)
    for _trial in range(20):
        pid = os.fork()
        if pid == 0:  # child: save over and over until killed
            try:
                while True:
                    ge.save(big, path)
            finally:
                os._exit(0)
        time.sleep(float(rng.uniform(0.001, 0.03)))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        out = ge.load(path)
        assert all(np.asarray(out[k]).tobytes() == v.tobytes() for k, v in big.items())
    strays = [p for p in os.listdir(tmp_path) if p != "ckpt.ge"]
    assert all(p.endswith(".tmp") for p in strays)


def test_saved_on_cuda_loads_on_cpu(tmp_path, cuda_device):
    ge.manual_seed(0)
    m = model_2_3_1().to("cuda")
    ge.save(m.state_dict(), tmp_path / "gpu.ge")
    ge.save({n: p for n, p in m.named_parameters()}, tmp_path / "gpu_tensors.ge")
    cpu = model_2_3_1()
    cpu.load_state_dict(ge.load(tmp_path / "gpu_tensors.ge"))
    for p, q in zip(m.parameters(), cpu.parameters()):
        assert p.numpy().tobytes() == q.numpy().tobytes()
    assert checkpoint.load(tmp_path / "gpu.ge").keys() == m.state_dict().keys()


def test_save_and_load_take_file_objects_and_torch_load_keywords(tmp_path):
    m = model_2_3_1()
    m(ge.ones(1, 2))
    buf = io.BytesIO()
    ge.save(m.state_dict(), buf)
    buf.seek(0)
    back = ge.load(buf, map_location="cpu", weights_only=True)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(back[k], v)
    path = tmp_path / "f.ge"
    with open(path, "wb") as f:
        ge.save({"a": np.arange(3.0)}, f)
    with open(path, "rb") as f:
        np.testing.assert_array_equal(ge.load(f, "cpu")["a"], np.arange(3.0))
    with open(path, encoding="latin-1") as f, pytest.raises(TypeError, match="binary mode"):
        ge.load(f)
    with pytest.raises(TypeError, match="binary file object"):
        ge.save({"a": np.ones(1)}, 3)


def test_strict_load_state_dict_errors_are_key_and_runtime_errors_and_change_nothing():
    m = model_2_3_1()
    m(ge.ones(1, 2))
    before = state_of(m)
    sd = m.state_dict()
    sd.pop(next(iter(sd)))
    for exc in (RuntimeError, KeyError, ge.StateDictError):
        with pytest.raises(exc, match="missing keys"):
            m.load_state_dict(sd)
    assert state_of(m) == before


@pytest.mark.parametrize("make_opt", [lambda ps: optim.SGD(ps, lr=0.5),
                                      lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                      lambda ps: optim.Adam(ps, lr=1e-2)])
def test_a_trained_transformer_saved_and_loaded_gives_the_same_bits(tmp_path, make_opt):
    # its torch-layout weights (out, in) get column-major gradients: the optimizer keeps
    # each parameter's layout, so a reloaded copy runs the same BLAS paths bit for bit
    from gradengine import nn
    ge.manual_seed(0)

    def make():
        return nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 2, 32, 0.0), 2)
    model = make()
    opt = make_opt(model.parameters())
    x = ge.randn(6, 3, 16)
    for _ in range(3):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
    assert all(p.data.flags.c_contiguous for p in model.parameters())
    path = os.path.join(tmp_path, "m.ge")
    ge.save(model.state_dict(), path)
    other = make()
    other.load_state_dict(ge.load(path))
    model.eval()
    other.eval()
    with ge.no_grad():
        np.testing.assert_array_equal(model(x).numpy(), other(x).numpy())
