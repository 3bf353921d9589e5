"""The ``gradengine`` command: demo, the bench dispatch, --version, help and user errors."""

import os
import re
import subprocess
import sys

import pytest

import gradengine
from gradengine import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "gradengine", *args], capture_output=True,
                          text=True, env=env, timeout=180, cwd=cwd, check=False)


def test_demo_trains_the_seed_example_learns_xor_and_writes_its_pictures(tmp_path, capsys):
    rc = cli.main(["demo", "--device", "cpu", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    assert 'model.add(Dense(3, input_dim=2, activation="sigmoid"))' in out
    assert "Epoch 50/50" in out and "results.history (50 epochs" in out
    assert "accuracy: 100%" in out
    dot = (tmp_path / "training_step.dot").read_text()
    assert dot.startswith("digraph") and "grad:" in dot
    for name in ("W1", "b1", "W2", "b2", "X: (4, 2)", "y: (4, 1)", "loss = mse_loss", "matmul",
                 "sigmoid", "legend"):
        assert name in dot
    assert "bias_act" not in dot and "const" not in dot
    assert not re.search(r"#\d", dot)  # no internal sequence numbers
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in out
    else:
        assert (tmp_path / "loss_curves.png").read_bytes()[:4] == b"\x89PNG"


def test_python_dash_m_gradengine_runs_the_demo_into_a_named_default_folder(tmp_path):
    proc = _run("demo", "--quick", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "accuracy: 100%" in proc.stdout and "(100 epochs)" in proc.stdout
    assert "gradengine-demo" in proc.stdout
    assert (tmp_path / "gradengine-demo" / "training_step.dot").exists()


def test_version_is_the_package_version(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"gradengine {gradengine.__version__}"


@pytest.mark.parametrize("command", [[], ["demo"], ["bench"]])
def test_every_help_has_a_description_and_an_example(capsys, command):
    with pytest.raises(SystemExit) as info:
        cli.main([*command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out and "gradengine" in out
    if command:
        for flag in ("--device", "--out", "--quick"):
            assert flag in out


def test_demo_help_says_what_the_seed_example_is(capsys):
    with pytest.raises(SystemExit):
        cli.main(["demo", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "2-3-1" in out and "XOR" in out and "SGD" in out and "mean squared error" in out


@pytest.mark.parametrize("argv, message", [
    ([], "choose a command"),
    (["demo", "--bogus"], "unrecognized arguments: --bogus"),
    (["demo", "--device", "tpu"], "invalid choice"),
    (["demo", "--epochs-long", "0"], "--epochs-long must be at least 1"),
    (["bench", "--smoke", "--only", "no_such_case"], "matches no case"),
])
def test_user_errors_are_one_line_and_exit_status_2(capsys, argv, message):
    try:
        rc = cli.main(argv)
    except SystemExit as exc:
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_cuda_without_cupy_is_one_line_and_exit_status_2(tmp_path):
    if gradengine.cuda.is_available():
        pytest.skip("a CUDA device is present")
    for command in ("demo", "bench"):
        proc = _run(command, "--device", "cuda", "--out", str(tmp_path), cwd=tmp_path)
        assert proc.returncode == 2
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert "--device cpu" in proc.stderr and proc.stdout == ""


def test_an_output_folder_that_cannot_be_made_is_a_user_error(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert cli.main(["demo", "--device", "cpu", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert "cannot use" in err and len(err.strip().splitlines()) == 1


def test_bench_is_handed_to_the_benchmarks_package(monkeypatch, tmp_path):
    from gradengine import benchmarks
    seen = []
    monkeypatch.setattr(benchmarks, "run", lambda env, out, only, targets=False:
                        seen.append((env.device, env.size, out, only, targets)))
    assert cli.main(["bench", "--device", "cpu", "--quick", "--only", "seed",
                     "--out", str(tmp_path), "--targets"]) == 0
    assert seen == [("cpu", "quick", tmp_path, ["seed"], True)]


def test_the_library_does_not_import_the_benchmarks():
    code = ("import sys, gradengine, gradengine.nn, gradengine.optim, gradengine.viz; "
            "print(any(m.startswith('gradengine.benchmarks') for m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60, check=True)
    assert proc.stdout.strip() == "False"


@pytest.mark.parametrize("index", [0, 1])
def test_the_readme_quick_starts_run_as_written(index, tmp_path):
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 2  # the PyTorch-style and the Keras-style quick start
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", blocks[index]], capture_output=True,
                          text=True, env=env, timeout=120, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr
