"""Checkpoints that prove themselves: content hash, epoch and fingerprint checked on resume."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from torch import nn

from neurodl.estimators.torch_engine import TrainConfig, train
from neurodl.estimators.torch_engine.checkpoint import (
    CHECKPOINT_KEYS,
    CHECKPOINT_VERSION,
    CheckpointWarning,
    load_checkpoint,
)
from neurodl.exceptions import DataFormatError

MAX_EPOCHS = 6


@pytest.fixture(autouse=True)
def _one_torch_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2, 6)).astype(np.float32)
    y = (X[:, 0].sum(1) > 0).astype(np.int64)
    return X, y


def _net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(12, 8), nn.Tanh(), nn.Dropout(0.3), nn.Linear(8, 2)
    )


CFG = TrainConfig(task="classification", max_epochs=MAX_EPOCHS, batch_size=8, lr=1e-2, patience=50)


class _Stop(Exception):
    pass


def _stop_after(k):
    def cb(record):
        if record["epoch"] == k:
            raise _Stop

    return cb


def _train(path, *, seed=0, fingerprint="f", callbacks=()):
    X, y = _data()
    net = _net(seed)
    torch.manual_seed(7)
    result = train(
        net, X[:32], y[:32], X[32:], y[32:], CFG,
        checkpoint_path=path, fingerprint=fingerprint, callbacks=callbacks,
    )  # fmt: skip
    return net, result


def _weights(net):
    return torch.cat([p.detach().flatten() for p in net.state_dict().values()])


@pytest.fixture(scope="module")
def reference():
    net, _ = _train(None)
    return _weights(net)


def _interrupted(tmp_path, at=3):
    path = tmp_path / "run.pt"
    with pytest.raises(_Stop):
        _train(path, callbacks=[_stop_after(at)])
    return path


def _rehash(path, epoch=None):
    """Rewrite the sidecar as a careful editor would (valid hash of the edited file)."""
    stamp = json.loads((path.parent / (path.name + ".sha256")).read_text())
    stamp["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    if epoch is not None:
        stamp["epoch"] = epoch
    (path.parent / (path.name + ".sha256")).write_text(json.dumps(stamp))


def test_files_beside_a_checkpoint(tmp_path):
    path = _interrupted(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["run.pt", "run.pt.prev", "run.pt.prev.sha256", "run.pt.sha256"]
    stamp = json.loads((tmp_path / "run.pt.sha256").read_text())
    assert stamp["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert stamp["epoch"] == 3 and stamp["fingerprint"] == "f"
    assert stamp["version"] == CHECKPOINT_VERSION
    assert json.loads((tmp_path / "run.pt.prev.sha256").read_text())["epoch"] == 2
    assert load_checkpoint(path, "f")["epoch"] == 3


def test_flipped_bytes_are_refused_and_training_resumes_from_the_last_good_one(tmp_path, reference):
    path = _interrupted(tmp_path)
    data = bytearray(path.read_bytes())
    for offset in (len(data) // 3, len(data) // 2, 2 * len(data) // 3, len(data) - 200):
        data[offset] ^= 0xFF  # four flipped bytes
    path.write_bytes(bytes(data))
    with pytest.warns(CheckpointWarning) as caught:
        net, result = _train(path)
    messages = [str(w.message) for w in caught]
    assert any("content hash mismatch" in m and "run.pt" in m for m in messages), messages
    assert any("previous checkpoint" in m and "epoch 2" in m for m in messages), messages
    assert result.resumed_from_epoch == 2
    torch.testing.assert_close(_weights(net), reference, rtol=0, atol=0)  # same as never stopped
    assert (tmp_path / "run.pt.rejected").is_file()  # kept for inspection


def test_epoch_edited_to_999_is_refused(tmp_path, reference):
    path = _interrupted(tmp_path)
    ckpt = torch.load(path, weights_only=True)
    ckpt["epoch"] = 999
    torch.save(ckpt, path)
    with pytest.warns(CheckpointWarning) as caught:
        assert load_checkpoint(path, "f")["epoch"] == 2  # the previous one
    assert "content hash mismatch" in str(caught[0].message)
    # an editor who also rewrites the hash is caught by the history and the recorded epoch
    path = _interrupted(tmp_path / "b")
    ckpt = torch.load(path, weights_only=True)
    ckpt["epoch"] = 999
    torch.save(ckpt, path)
    _rehash(path, epoch=999)
    with pytest.warns(CheckpointWarning) as caught:
        net, result = _train(path)
    assert "epoch 999 does not match its training history" in str(caught[0].message)
    assert result.resumed_from_epoch == 2 and len(result.history) == MAX_EPOCHS
    torch.testing.assert_close(_weights(net), reference, rtol=0, atol=0)


def test_checkpoint_of_another_configuration_is_not_resumed(tmp_path):
    path = _interrupted(tmp_path)
    with pytest.warns(CheckpointWarning, match=r"another run or configuration.*starting afresh"):
        _, result = _train(path, fingerprint="other-config")
    assert result.resumed_from_epoch is None and len(result.history) == MAX_EPOCHS


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ([1, 2, 3], r"holds a list, not a checkpoint dict"),
        ({"version": CHECKPOINT_VERSION, "epoch": 1}, r"keys missing: fingerprint, model"),
        ("text", r"holds a str"),
    ],
)
def test_wrong_structure_is_a_clear_refusal(tmp_path, content, match):
    path = _interrupted(tmp_path)
    (tmp_path / "run.pt.prev").unlink()
    torch.save(content, path)
    _rehash(path)
    with pytest.warns(CheckpointWarning, match=match):
        assert load_checkpoint(path, "f") is None
    assert not path.exists() and (tmp_path / "run.pt.rejected").is_file()


def test_checkpoint_without_hash_or_unreadable_is_refused(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({k: None for k in CHECKPOINT_KEYS}, path)  # written without a sidecar
    with pytest.warns(CheckpointWarning, match=r"no content hash beside it \(old\.pt\.sha256"):
        assert load_checkpoint(path, None) is None
    path = _interrupted(tmp_path / "c")
    path.write_bytes(b"not a checkpoint")
    _rehash(path)
    with pytest.warns(CheckpointWarning) as caught:
        assert load_checkpoint(path, "f")["epoch"] == 2
    assert "unreadable (" in str(caught[0].message)


def test_checkpoint_path_that_is_a_folder_is_an_error(tmp_path):
    with pytest.raises(DataFormatError, match=r"'checkpoint_path'.*is a folder"):
        _train(tmp_path)


def test_failed_save_keeps_the_last_checkpoint_verifiable(tmp_path, monkeypatch):
    path = _interrupted(tmp_path, at=1)

    def fail(obj, fh):
        fh.write(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", fail)
    with pytest.raises(OSError, match="No space"):
        _train(path)
    monkeypatch.undo()
    assert load_checkpoint(path, "f")["epoch"] == 1
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
