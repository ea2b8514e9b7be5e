"""Recurrent task models (neurodl.models.task_rnn) trained with train_task_model."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from neurodl.data.cognitive import TaskTrials  # noqa: E402
from neurodl.estimators.task_training import (  # noqa: E402
    TASK_LOSSES,
    choice_accuracy,
    predict_task,
    train_task_model,
)
from neurodl.exceptions import ConfigError, DataFormatError  # noqa: E402
from neurodl.models.task_rnn import (  # noqa: E402
    TASK_MODELS,
    GRUTaskModel,
    LeakyRNN,
    LSTMTaskModel,
    build_task_model,
)


# ------------------------------------------------------------------------------ tiny tasks
def integration_task(n_trials=200, *, n_steps=25, n_resp=5, noise=0.3, seed=0, dt=20.0):
    """2-choice integration: noisy evidence (+ fixation cue), report the sign of its mean."""
    rng = np.random.default_rng(seed)
    coh = rng.choice([-0.4, -0.2, -0.1, 0.1, 0.2, 0.4], n_trials)
    stim_end = n_steps - n_resp
    x = np.zeros((n_trials, n_steps, 2), np.float32)
    x[:, :stim_end, 0] = coh[:, None] + rng.normal(0, noise, (n_trials, stim_end))
    x[:, :stim_end, 1] = 1.0
    choice = (coh > 0).astype(int)
    y = np.zeros((n_trials, n_steps, 2), np.float32)
    y[np.arange(n_trials), stim_end:, choice] = 1.0
    m = np.zeros_like(y)
    m[:, stim_end:] = 1.0
    meta = pd.DataFrame(
        {"coherence": coh, "choice": choice.astype(float), "response_start": stim_end}
    )
    return TaskTrials(
        x, y, m, meta, dt, "integration", ["evidence", "fixation"], ["choice_0", "choice_1"]
    )


def flipflop_task(n_trials=200, *, n_steps=30, p_flip=0.1, seed=0):
    """1-bit flip-flop: +1/-1 pulses set the memory, output holds the last pulse's sign."""
    rng = np.random.default_rng(seed)
    pulses = rng.choice([-1.0, 0.0, 1.0], (n_trials, n_steps), p=[p_flip, 1 - 2 * p_flip, p_flip])
    pulses[:, 0] = rng.choice([-1.0, 1.0], n_trials)
    y = np.zeros_like(pulses)
    state = np.zeros(n_trials)
    for t in range(n_steps):
        state = np.where(pulses[:, t] != 0, pulses[:, t], state)
        y[:, t] = state
    meta = pd.DataFrame({"choice": np.nan, "response_start": 0}, index=range(n_trials))
    return TaskTrials(
        pulses[..., None],
        y[..., None],
        np.ones_like(y)[..., None],
        meta,
        10.0,
        "flipflop",
        ["pulse"],
        ["bit"],
    )


def flipflop_accuracy(outputs, trials):
    """Fraction of steps with the right sign."""
    return float(np.mean(np.sign(outputs[..., 0]) == trials.targets[..., 0]))


def _leaky(seed=0, **kw):
    torch.manual_seed(seed)
    kw.setdefault("n_hidden", 32)
    return LeakyRNN(2, 2, tau=100, dt=20, **kw)


# ------------------------------------------------------------------------------ models
@pytest.mark.parametrize(("tau", "dt", "alpha"), [(100, 20, 0.2), (50, 10, 0.2), (20, 20, 1.0)])
def test_alpha_is_dt_over_tau(tau, dt, alpha):
    net = LeakyRNN(1, 1, n_hidden=4, tau=tau, dt=dt)
    assert net.alpha == pytest.approx(alpha)
    # one step from h with zero input and zero weights decays by (1 - alpha)
    with torch.no_grad():
        net.cell.weight_rec.zero_()
        net.cell.input.bias.zero_()
        h = torch.ones(3, 4)
        np.testing.assert_allclose(net.step(h, torch.zeros(3, 1)).numpy(), 1 - alpha, rtol=1e-6)


@pytest.mark.parametrize("name", sorted(TASK_MODELS))
def test_interface_shapes_and_step(name):
    torch.manual_seed(0)
    net = build_task_model(name, n_inputs=3, n_outputs=2, n_hidden=5)
    net.eval()
    x = torch.randn(4, 7, 3)
    out, hid = net(x, return_hidden=True)
    assert out.shape == (4, 7, 2)
    assert hid.shape == (4, 7, net.n_state)
    torch.testing.assert_close(net(x), out)
    # the one-step map reproduces the unrolled trajectory
    h = net.initial_state(4)
    for t in range(7):
        h = net.step(h, x[:, t])
        torch.testing.assert_close(h, hid[:, t], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(net.readout_state(hid), out, rtol=1e-5, atol=1e-6)


def test_lstm_state_concatenates_h_and_c():
    net = LSTMTaskModel(1, 1, n_hidden=6)
    assert net.n_state == 12
    assert GRUTaskModel(1, 1, n_hidden=6).n_state == 6


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tau": -5}, r"'tau'.*-5"),
        ({"tau": 10, "dt": 20}, r"'dt'.*20.*tau=10"),
        ({"dt": 0}, r"'dt'.*0"),
        ({"activation": "sigmoid"}, r"'activation'.*'tanh'.*'sigmoid'"),
        ({"sigma_rec": -0.1}, r"'sigma_rec'.*-0.1"),
        ({"dale": True, "exc_fraction": 1.5}, r"'exc_fraction'.*1.5"),
        ({"connectivity": np.ones((3, 3))}, r"'connectivity'.*\(3, 3\)"),
        ({"connectivity": np.full((8, 8), 0.5)}, r"'connectivity'.*0 and 1"),
        ({"n_hidden": 0}, r"'n_hidden'.*0"),
    ],
)
def test_leaky_rnn_bad_parameters(kwargs, match):
    kwargs = {"n_hidden": 8, **kwargs}
    with pytest.raises(ConfigError, match=match):
        LeakyRNN(2, 2, **kwargs)


def test_build_task_model_unknown_name():
    with pytest.raises(ConfigError, match=r"'leaky_rnn'.*'vanilla'"):
        build_task_model("vanilla", n_inputs=1, n_outputs=1)


def test_models_not_in_signal_registry():
    from neurodl.models import list_models

    assert "leaky_rnn" not in list_models()


# ------------------------------------------------------------------------------ training
def test_leaky_rnn_learns_integration_task():
    trials = integration_task(300, seed=0)
    test = integration_task(300, seed=1)
    net = _leaky()
    t0 = time.perf_counter()
    res = train_task_model(net, trials, max_epochs=60, lr=1e-2, random_state=0)
    elapsed = time.perf_counter() - t0
    out, hid = predict_task(net, test)
    acc = choice_accuracy(out, test)
    print(f"leaky integration: test accuracy {acc:.3f}, {res.n_epochs} epochs, {elapsed:.2f} s")
    assert acc > 0.9
    assert hid.shape == (300, 25, 32)  # no wall-time assertion: the 2 cores are shared
    assert res.n_epochs == 60 and res.stopped_reason == "max_epochs"
    assert "valid_accuracy" in res.history[-1] and "valid_loss" in res.history[-1]


def test_stop_at_accuracy_stops_early():
    trials = integration_task(300, seed=0)
    net = _leaky()
    seen = []
    res = train_task_model(
        net, trials, max_epochs=200, lr=1e-2, stop_at_accuracy=0.85, callbacks=[seen.append]
    )
    assert res.stopped_reason == "accuracy_reached"
    assert res.n_epochs < 200 and len(seen) == res.n_epochs
    assert res.accuracy >= 0.85 and res.history[-1]["valid_accuracy"] == res.accuracy
    assert all(r["valid_accuracy"] < 0.85 for r in res.history[:-1])


def test_time_budget_stops_after_the_epoch_that_passes_it():
    trials = integration_task(60, seed=0)
    res = train_task_model(_leaky(n_hidden=8), trials, max_epochs=500, max_time_s=1e-6)
    assert res.stopped_reason == "time_budget" and res.n_epochs == 1


def test_cosine_schedule_anneals_the_learning_rate():
    trials = integration_task(60, seed=0)
    res = train_task_model(_leaky(n_hidden=8), trials, max_epochs=4, lr=1e-2, schedule="cosine")
    lrs = [r["lr"] for r in res.history]
    assert lrs[0] <= 1e-2 and bool(np.all(np.diff(lrs) < 0))
    assert lrs[-1] < 1e-3  # cosine to 0 over the 4 epochs (lr of the last step recorded)


def test_dale_law_holds_after_training():
    trials = integration_task(120, seed=2)
    net = _leaky(dale=True, exc_fraction=0.75, n_hidden=16, activation="relu")
    train_task_model(net, trials, max_epochs=15, lr=1e-2)
    w = net.effective_weight_rec().detach().numpy()
    n_exc = net.cell.n_exc
    assert n_exc == 12
    assert (w[:, :n_exc] >= 0).all() and (w[:, n_exc:] <= 0).all()
    assert (w[:, :n_exc] > 0).any() and (w[:, n_exc:] < 0).any()


def test_connectivity_mask_zeros_stay_zero():
    rng = np.random.default_rng(0)
    mask = (rng.random((16, 16)) < 0.3).astype(float)
    net = _leaky(n_hidden=16, connectivity=mask, sigma_rec=0.05)
    train_task_model(net, integration_task(120, seed=3), max_epochs=10, lr=1e-2)
    w = net.effective_weight_rec().detach().numpy()
    assert (w[mask == 0] == 0).all()
    assert (w[mask == 1] != 0).mean() > 0.9


def test_seeded_training_is_deterministic():
    trials = integration_task(100, seed=4)
    weights = []
    for _ in range(2):
        net = _leaky(seed=3, n_hidden=12, sigma_rec=0.1, sigma_in=0.1)
        train_task_model(net, trials, max_epochs=4, random_state=7)
        weights.append({k: v.clone() for k, v in net.state_dict().items()})
    for k in weights[0]:
        torch.testing.assert_close(weights[0][k], weights[1][k], rtol=0, atol=0)
    # the caller's RNG state is untouched by training
    net = _leaky(n_hidden=4)
    torch.manual_seed(1)
    before = torch.rand(1)
    torch.manual_seed(1)
    train_task_model(net, trials, max_epochs=1)
    assert torch.rand(1) == before


def test_gru_learns_flipflop():
    trials = flipflop_task(300, seed=0)
    test = flipflop_task(200, seed=1)
    torch.manual_seed(0)
    net = GRUTaskModel(1, 1, n_hidden=16)
    t0 = time.perf_counter()
    res = train_task_model(
        net, trials, max_epochs=80, lr=2e-2, accuracy_fn=flipflop_accuracy, stop_at_accuracy=0.99
    )
    out, _ = predict_task(net, test)
    acc = flipflop_accuracy(out, test)
    print(
        f"gru flip-flop: test accuracy {acc:.3f}, {res.n_epochs} epochs, "
        f"{time.perf_counter() - t0:.2f} s"
    )
    assert acc > 0.95


@pytest.mark.parametrize("loss", sorted(TASK_LOSSES))
def test_masked_loss_ignores_masked_steps(loss):
    from neurodl.estimators.task_training import _make_objective

    trials = integration_task(20, seed=5)
    net = _leaky(n_hidden=8).eval()
    objective = _make_objective(TASK_LOSSES[loss], 2)
    x = torch.as_tensor(trials.inputs)

    def batch_loss(targets):
        y = torch.as_tensor(np.concatenate([targets, trials.mask], axis=2))
        with torch.no_grad():
            losses, w = objective(net, x, y, None)
        return float(losses.sum() / w.sum())

    changed = trials.targets.copy()
    changed[trials.mask == 0] = 5.0
    assert batch_loss(changed) == pytest.approx(batch_loss(trials.targets), rel=1e-6)
    changed[trials.mask > 0] += 1.0
    assert batch_loss(changed) != pytest.approx(batch_loss(trials.targets), rel=1e-3)


def test_cross_entropy_loss_trains():
    trials = integration_task(200, seed=0)
    net = _leaky()
    res = train_task_model(net, trials, loss="cross_entropy", max_epochs=30, lr=1e-2)
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]
    assert res.accuracy > 0.85


def test_choice_accuracy_ignores_nan_choices():
    trials = integration_task(4, seed=0)
    trials.trials.loc[0, "choice"] = np.nan
    out = np.zeros_like(trials.targets)
    start = int(trials.trials["response_start"][0])
    choice = trials.trials["choice"].to_numpy()
    for i in range(1, 4):
        out[i, start:, int(choice[i])] = 1.0
    out[1, :, :] = out[1, :, ::-1]  # trial 1 wrong
    assert choice_accuracy(out, trials) == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda t: train_task_model(LeakyRNN(3, 2, n_hidden=4), t),
            DataFormatError,
            r"n_inputs=3.*n_inputs=2",
        ),
        (
            lambda t: train_task_model(LeakyRNN(2, 3, n_hidden=4), t),
            DataFormatError,
            r"n_outputs=3.*n_outputs=2",
        ),
        (
            lambda t: train_task_model(_leaky(n_hidden=4), t, loss="l1"),
            ConfigError,
            r"'loss'.*'mse'.*'l1'",
        ),
        (
            lambda t: train_task_model(_leaky(n_hidden=4), t, validation_fraction=1.5),
            ConfigError,
            r"'validation_fraction'.*1.5",
        ),
        (
            lambda t: predict_task(LeakyRNN(3, 2, n_hidden=4), t),
            DataFormatError,
            r"n_inputs=3.*n_inputs=2",
        ),
        (
            lambda t: train_task_model(_leaky(n_hidden=4), t, max_time_s=-1),
            ConfigError,
            r"'max_time_s'.*got -1",
        ),
        (
            lambda t: train_task_model(_leaky(n_hidden=4), t, schedule="linear"),
            ConfigError,
            r"'schedule'.*'linear'",
        ),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(integration_task(10))


def test_stop_at_accuracy_needs_an_accuracy():
    trials = flipflop_task(10)
    trials.trials["choice"] = np.nan
    trials.targets *= 0.5  # graded targets: neither choices nor +/-1 states
    with pytest.raises(ConfigError, match=r"stop_at_accuracy=0\.9"):
        train_task_model(GRUTaskModel(1, 1, n_hidden=4), trials, stop_at_accuracy=0.9)


def test_sign_accuracy_is_the_default_for_held_states():
    from neurodl.data.cognitive import make_task_trials
    from neurodl.estimators.task_training import _default_accuracy, sign_accuracy

    trials = make_task_trials("flip_flop", 4, seed=0)
    assert _default_accuracy(trials) is sign_accuracy
    assert sign_accuracy(trials.targets, trials) == 1.0  # the targets themselves
    assert sign_accuracy(-trials.targets, trials) == 0.0
    keep = (trials.mask > 0) & (trials.targets != 0)
    noisy = trials.targets + np.where(
        np.arange(trials.targets.size).reshape(trials.targets.shape) % 4 == 0,
        -2.0 * trials.targets,
        0.0,
    )
    assert sign_accuracy(noisy, trials) == np.mean(np.sign(noisy[keep]) == trials.targets[keep])


def test_seeded_task_models_start_from_the_same_weights_whatever_ran_before():
    import torch

    from neurodl.models.task_rnn import build_task_model

    a = build_task_model("leaky_rnn", n_inputs=3, n_outputs=2, n_hidden=8, seed=5)
    torch.rand(100)  # other work consumes the global generator
    b = build_task_model("leaky_rnn", n_inputs=3, n_outputs=2, n_hidden=8, seed=5)
    state = torch.get_rng_state()
    c = build_task_model("gru", n_inputs=3, n_outputs=2, n_hidden=8, seed=6)
    assert torch.equal(state, torch.get_rng_state())  # the caller's generator is untouched
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name
    assert c is not None
