"""Output folders that cannot be lost: exclusive claim, marker-only overwrite, cleanup, fs errors."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from neurodl.cli.main import main
from neurodl.exceptions import OutputExistsError, OutputWriteError
from neurodl.workflows import outdir as outdir_mod
from neurodl.workflows.outdir import MARKER, claim_output

SMALL = {
    "name": "small",
    "seed": 1,
    "data": {
        "source": "simulate",
        "simulator": "motor_imagery",
        "params": {"n_subjects": 2, "n_sessions": 1, "n_trials": 40, "n_channels": 8},
    },
    "preprocessing": [{"log_bandpower": {"bands": [[8.0, 13.0], [18.0, 26.0]]}}],
    "model": {"name": "lda"},
    "evaluation": {
        "protocol": "within-session",
        "protocol_params": {"n_splits": 4},
        "n_permutations": 5,
        "n_boot": 50,
    },
    "report": {"enabled": False},
}


def _config(tmp_path: Path, seed: int = 1) -> Path:
    path = tmp_path / f"config{seed}.yaml"
    path.write_text(yaml.safe_dump({**SMALL, "seed": seed}))
    return path


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("neurodl: error: "), err
    return err[0]


def _published(tmp_path: Path, name: str = "out", content: str = "1") -> Path:
    with claim_output(tmp_path / name) as claim:
        (claim.tmp_dir / "results.json").write_text(content)
        return claim.publish()


def test_publish_writes_marker_and_leaves_nothing_else(tmp_path):
    out = _published(tmp_path)
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "results.json"]
    assert _hidden(tmp_path) == []  # no lock, no temporary folder left


def test_second_claim_refused_while_first_is_held(tmp_path):
    with claim_output(tmp_path / "out") as first:
        with pytest.raises(OutputWriteError, match=r"being written by another neurodl run"):
            claim_output(tmp_path / "out")
        first.publish()
    assert (tmp_path / "out" / MARKER).is_file()
    with claim_output(tmp_path / "out", overwrite=True) as again:  # free once released
        again.publish()


HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from neurodl.workflows.outdir import claim_output
    claim = claim_output(Path(sys.argv[1]))
    (claim.tmp_dir / "partial.txt").write_text("half")
    print("claimed", flush=True)
    time.sleep(60)
    """
)


def _start_holder(out: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "claimed"
    return proc


def test_cli_refuses_out_held_by_another_process_then_cleans_after_sigkill(tmp_path, capsys):
    out = tmp_path / "out"
    holder = _start_holder(out)
    try:
        assert main(["-q", "run", str(_config(tmp_path)), "--out", str(out)]) == 1
        line = _one_error_line(capsys)
        assert "being written by another neurodl run" in line and f"pid {holder.pid}" in line
        assert not out.exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    leftovers = [n for n in _hidden(tmp_path) if n.startswith(".out.tmp-")]
    assert len(leftovers) == 1  # what the killed run left behind
    assert main(["-q", "run", str(_config(tmp_path)), "--out", str(out)]) == 0
    assert json.loads((out / "results.json").read_text())["seed"] == 1
    assert _hidden(tmp_path) == []  # the dead run's temporary folder and lock are gone


def test_two_concurrent_cli_processes_one_out(tmp_path):
    """Both start at once: exactly one publishes, the other is refused; nothing is replaced."""
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "neurodl",
                "-q",
                "run",
                str(_config(tmp_path, seed)),
                "--out",
                str(out),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for seed in (11, 12)
    ]
    results = []
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        results.append((proc.returncode, err))
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    winner = next(seed for seed, (code, _) in zip((11, 12), results) if code == 0)
    loser_err = next(err for code, err in results if code == 1).strip().splitlines()
    assert len(loser_err) == 1 and loser_err[0].startswith("neurodl: error: ")
    assert (
        "being written by another neurodl run" in loser_err[0] or "already exists" in loser_err[0]
    )
    assert json.loads((out / "results.json").read_text())["seed"] == winner
    assert _hidden(tmp_path) == []


def test_overwrite_replaces_only_neurodl_folders(tmp_path):
    mydocs = tmp_path / "mydocs"
    mydocs.mkdir()
    (mydocs / "thesis.txt").write_text("precious")
    with pytest.raises(OutputExistsError, match=r"not written by neurodl \(no \.neurodl-output"):
        claim_output(mydocs, overwrite=True)
    assert (mydocs / "thesis.txt").read_text() == "precious"
    afile = tmp_path / "notes.txt"
    afile.write_text("keep")
    with pytest.raises(OutputExistsError, match=r"is a file, not an output folder"):
        claim_output(afile, overwrite=True)
    assert afile.read_text() == "keep"
    assert _hidden(tmp_path) == []  # no stray .notes.txt.old-* or lock
    out = _published(tmp_path, content="first")
    with pytest.raises(OutputExistsError, match=r"already exists; pass --overwrite"):
        claim_output(out)
    _published_again = claim_output(out, overwrite=True)
    with _published_again as claim:
        (claim.tmp_dir / "results.json").write_text("second")
        claim.publish()
    assert (out / "results.json").read_text() == "second"


def test_cli_overwrite_of_a_file_is_one_line_and_keeps_it(tmp_path, capsys):
    afile = tmp_path / "FILE"
    afile.write_text("keep")
    assert main(["-q", "run", str(_config(tmp_path)), "--out", str(afile), "--overwrite"]) == 1
    assert "is a file, not an output folder" in _one_error_line(capsys)
    assert afile.read_text() == "keep" and _hidden(tmp_path) == []


def test_failed_run_keeps_the_previous_result(tmp_path):
    out = _published(tmp_path, content="first")
    with pytest.raises(RuntimeError):
        with claim_output(out, overwrite=True) as claim:
            (claim.tmp_dir / "results.json").write_text("half")
            raise RuntimeError("task failed")
    assert (out / "results.json").read_text() == "first" and _hidden(tmp_path) == []


def test_kill_between_the_two_renames_restores_the_previous_result(tmp_path):
    out = _published(tmp_path, content="first")
    out.rename(tmp_path / ".out.old-abcd1234")  # killed after moving the old folder aside
    (tmp_path / ".out.tmp-zz_9yy8x").mkdir()  # ... and before the new one was renamed in
    with pytest.raises(OutputExistsError, match="already exists"):
        claim_output(out)
    assert (out / "results.json").read_text() == "first"
    assert _hidden(tmp_path) == []


def test_unrelated_hidden_siblings_are_left_alone(tmp_path):
    for name in (".out.tmp-notours", ".out.old-x", ".other.tmp-abcd1234"):
        (tmp_path / name).mkdir()
    _published(tmp_path)
    assert _hidden(tmp_path) == [".other.tmp-abcd1234", ".out.old-x", ".out.tmp-notours"]


@pytest.mark.parametrize(
    ("code", "words"),
    [(errno.EROFS, "read-only file system"), (errno.ENOSPC, "no space left on device")],
)
def test_fs_errors_at_claim_are_one_cli_line(tmp_path, capsys, monkeypatch, code, words):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(tmp_path))

    monkeypatch.setattr(outdir_mod.tempfile, "mkdtemp", fail)
    out = tmp_path / "out"
    assert main(["-q", "run", str(_config(tmp_path)), "--out", str(out)]) == 1
    line = _one_error_line(capsys)
    assert words in line and f"errno {code}" in line and str(out) in line
    assert not out.exists() and _hidden(tmp_path) == []


def test_disk_full_while_writing_results_is_one_cli_line(tmp_path, capsys, monkeypatch):
    real_write = Path.write_text

    def write_text(self, data, *args, **kwargs):
        if self.name == "results.json":
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real_write(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    out = tmp_path / "out"
    assert main(["-q", "run", str(_config(tmp_path)), "--out", str(out)]) == 1
    line = _one_error_line(capsys)
    assert "no space left on device" in line and "errno 28" in line
    assert not out.exists() and _hidden(tmp_path) == []


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into read-only folders"
)
def test_real_read_only_parent_is_one_cli_line(tmp_path, capsys):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        assert main(["-q", "run", str(_config(tmp_path)), "--out", str(parent / "out")]) == 1
        line = _one_error_line(capsys)
        assert "Cannot write the output folder" in line and "permission denied" in line
    finally:
        parent.chmod(0o755)


def test_parent_that_is_a_file_is_one_cli_line(tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    assert main(["-q", "run", str(_config(tmp_path)), "--out", str(blocker / "out")]) == 1
    line = _one_error_line(capsys)
    assert "is not a folder" in line and str(blocker) in line
