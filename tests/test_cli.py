"""The ``gradengine`` command: demo and the bench dispatch."""

import os
import subprocess
import sys
import types

import pytest

from gradengine import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_demo_trains_the_seed_example_learns_xor_and_writes_its_pictures(tmp_path, capsys):
    rc = cli.main(["demo", "--device", "cpu", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    assert 'model.add(Dense(3, input_dim=2, activation="sigmoid"))' in out
    assert "Epoch 50/50" in out and "results.history (50 epochs" in out
    assert "accuracy: 100%" in out
    dot = (tmp_path / "training_step.dot").read_text()
    assert dot.startswith("digraph") and "0.weight" in dot and "grad:" in dot
    try:
        import matplotlib  # noqa: F401
        assert (tmp_path / "loss_curves.png").read_bytes()[:4] == b"\x89PNG"
    except ImportError:
        assert "matplotlib is not installed" in out


def test_demo_as_a_subprocess_in_a_fresh_interpreter(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "gradengine.cli", "demo", "--out",
                           str(tmp_path / "out"), "--epochs-long", "500"],
                          capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "accuracy: 100%" in proc.stdout
    assert (tmp_path / "out" / "training_step.dot").exists()


def test_bench_is_handed_to_gradengine_benchmark(monkeypatch):
    seen = []
    fake = types.ModuleType("gradengine.benchmark")
    fake.main = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "gradengine.benchmark", fake)
    import gradengine
    monkeypatch.setattr(gradengine, "benchmark", fake, raising=False)
    assert cli.main(["bench", "--device", "cpu", "--quick"]) == 0
    assert seen == [["--device", "cpu", "--quick"]]


def test_help_and_no_command(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    assert "demo" in capsys.readouterr().out
    assert cli.main([]) == 1
