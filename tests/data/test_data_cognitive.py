"""Cognitive task generators: timing in ms, shapes and mask, planted correctness, bad inputs."""

from __future__ import annotations

import importlib.util
import sys
import warnings

import numpy as np
import pytest

from neurodl.data.cognitive import (
    COGNITIVE_TASKS,
    TaskTrials,
    flip_flop,
    from_neurogym,
    ideal_observer_accuracy,
    ideal_observer_choices,
    make_task_trials,
    multitask_trials,
)
from neurodl.data.cognitive.perceptual import CONTEXT_NOISE, PERCEPTUAL_NOISE
from neurodl.exceptions import ConfigError

# Timings that are whole multiples of 20 ms so both dts place every epoch exactly.
EXACT = {
    "parametric_working_memory": {"delay_ms": [1000, 1500]},
    "delayed_match_to_sample": {"delay_ms": [500, 1000]},
    "interval_production": {"intervals_ms": [480, 600, 800]},
    "flip_flop": {"unset": "zero"},  # mask 1 on the whole trial (default: 0 before 1st pulse)
}
CHOICE_TASKS = [
    "perceptual_decision_making",
    "context_dependent_integration",
    "parametric_working_memory",
    "delayed_match_to_sample",
    "go_nogo",
    "anti_saccade",
]


@pytest.mark.parametrize("name", sorted(COGNITIVE_TASKS))
def test_shapes_mask_and_dt_invariance(name):
    params = EXACT.get(name, {})
    a = make_task_trials(name, 12, dt=20, seed=3, **params)
    b = make_task_trials(name, 12, dt=10, seed=3, **params)
    assert isinstance(a, TaskTrials)
    assert a.inputs.shape == (12, a.n_steps, len(a.input_names))
    assert a.targets.shape == a.mask.shape == (12, a.n_steps, len(a.output_names))
    assert b.n_steps == 2 * a.n_steps
    assert set(np.unique(a.mask)) <= {0.0, 1.0}
    starts = [c for c in a.trials.columns if c.endswith("_start") or c.endswith("_end")]
    assert "trial_end" in starts and len(starts) >= 2
    for col in starts:  # the same epochs, in ms, at both dts
        np.testing.assert_array_equal(a.trials[col] * 20.0, b.trials[col] * 10.0, err_msg=col)
    for i in range(12):  # mask 1 on the trial, 0 in the padding
        end = int(a.trials.trial_end[i])
        assert a.mask[i, :end].min() == 1.0
        assert not a.mask[i, end:].any() and not a.inputs[i, end:].any()
    assert "choice" in a.trials


@pytest.mark.parametrize("name", CHOICE_TASKS)
def test_choice_targets_match_table(name):
    tt = make_task_trials(name, 40, seed=1)
    for i, row in tt.trials.iterrows():
        r0, r1 = int(row.response_start), int(row.response_end)
        assert tt.targets[i, :r0, 0].min() == 1.0 and not tt.targets[i, :r0, 1:].any()
        want = 0 if np.isnan(row.choice) else 1 + int(row.choice)
        assert tt.targets[i, r0:r1, want].min() == 1.0
        assert tt.targets[i, r0:r1].sum() == r1 - r0
        assert tt.inputs[i, :r0, 0].min() == 1.0 and not tt.inputs[i, r0:, 0].any()


def test_seeded_determinism():
    for name in COGNITIVE_TASKS:
        a, b = (make_task_trials(name, 5, seed=7) for _ in range(2))
        c = make_task_trials(name, 5, seed=8)
        np.testing.assert_array_equal(a.inputs, b.inputs)
        np.testing.assert_array_equal(a.targets, b.targets)
        assert a.trials.equals(b.trials)
        assert not (a.inputs.shape == c.inputs.shape and np.array_equal(a.inputs, c.inputs))
    rng_a = make_task_trials("go_nogo", 5, seed=None, rng=np.random.default_rng(2))
    rng_b = make_task_trials("go_nogo", 5, seed=None, rng=np.random.default_rng(2))
    np.testing.assert_array_equal(rng_a.inputs, rng_b.inputs)


def _accuracy(guess, tt, keep):
    return float(np.mean(guess[keep] == tt.trials.choice.to_numpy()[keep]))


def test_ideal_observer_perceptual_decision():
    tt = make_task_trials("perceptual_decision_making", 400, seed=0)
    stim = tt.inputs[..., 1] - tt.inputs[..., 2]  # zero outside the stimulus epoch
    guess = np.where(stim.sum(axis=1) > 0, 0, 1)
    keep = np.abs(tt.trials.coherence.to_numpy()) >= 0.5
    assert keep.sum() > 50 and _accuracy(guess, tt, keep) > 0.95
    assert _accuracy(guess, tt, ~keep) < 0.99  # low coherence is genuinely noisy


def test_ideal_observer_context_integration_uses_the_cued_dimension():
    tt = make_task_trials("context_dependent_integration", 400, seed=0)
    evidence = tt.inputs[..., 1:3].sum(axis=1)  # (n, [motion, colour])
    cue = tt.inputs[:, 0, 3:5].argmax(axis=1)  # the context input at step 0
    np.testing.assert_array_equal(np.array(["motion", "colour"])[cue], tt.trials.context)
    cued = evidence[np.arange(tt.n_trials), cue]
    guess = np.where(cued > 0, 0, 1)
    keep = np.abs(tt.trials.cued_coherence.to_numpy()) >= 0.5
    assert keep.sum() > 50 and _accuracy(guess, tt, keep) > 0.95
    other = evidence[np.arange(tt.n_trials), 1 - cue]
    assert _accuracy(np.where(other > 0, 0, 1), tt, keep) < 0.8  # the other dimension is not it


def test_ideal_observer_working_memory_and_match():
    tt = make_task_trials("parametric_working_memory", 200, seed=0)
    f = tt.inputs[..., 1]
    t = np.arange(tt.n_steps)[None, :]
    tr = tt.trials
    in_f1 = (t >= tr.f1_start.to_numpy()[:, None]) & (t < tr.delay_start.to_numpy()[:, None])
    in_f2 = (t >= tr.f2_start.to_numpy()[:, None]) & (t < tr.response_start.to_numpy()[:, None])
    m1 = (f * in_f1).sum(1) / in_f1.sum(1)
    m2 = (f * in_f2).sum(1) / in_f2.sum(1)
    assert _accuracy(np.where(m1 > m2, 0, 1), tt, np.ones(200, bool)) > 0.95
    np.testing.assert_array_equal(tr.choice, np.where(tr.f1 > tr.f2, 0.0, 1.0))

    dms = make_task_trials("delayed_match_to_sample", 200, seed=0)
    tr = dms.trials
    sample = np.array([dms.inputs[i, r.sample_start, 1:].argmax() for i, r in tr.iterrows()])
    test = np.array([dms.inputs[i, r.test_start, 1:].argmax() for i, r in tr.iterrows()])
    assert _accuracy(np.where(sample == test, 0, 1), dms, np.ones(200, bool)) > 0.95
    assert 0.3 < tr.match.mean() < 0.7


def test_rules_pro_anti_nogo():
    tt = make_task_trials("anti_saccade", 100, seed=0, n_locations=4)
    tr = tt.trials
    loc = np.array([tt.inputs[i, r.stimulus_start, 1:5].argmax() for i, r in tr.iterrows()])
    np.testing.assert_array_equal(loc, tr.location)
    anti = tr.rule.to_numpy() == "anti"
    np.testing.assert_array_equal(tr.choice[anti], (loc[anti] + 2) % 4)
    np.testing.assert_array_equal(tr.choice[~anti], loc[~anti])
    g = make_task_trials("go_nogo", 100, seed=0)
    nogo = g.trials.rule.to_numpy() == "nogo"
    assert 0 < nogo.sum() < 100 and g.trials.choice[nogo].isna().all()
    assert (g.trials.go == ~nogo).all()


def test_interval_production_timing():
    tt = make_task_trials("interval_production", 30, dt=10, seed=0, intervals_ms=[480, 800])
    tr = tt.trials
    ready = np.array([np.flatnonzero(tt.inputs[i, :, 1])[0] for i in range(30)])
    set_ = np.array([np.flatnonzero(tt.inputs[i, :, 2])[0] for i in range(30)])
    go = np.array([np.flatnonzero(tt.targets[i, :, 1])[0] for i in range(30)])
    np.testing.assert_array_equal((set_ - ready) * 10.0, tr.interval)
    np.testing.assert_array_equal((go - set_) * 10.0, tr.interval)
    assert set(tr.interval) == {480.0, 800.0}


@pytest.mark.parametrize("dt", [10.0, 20.0])
def test_flip_flop_targets_are_sign_of_last_pulse(dt):
    tt = flip_flop(20, dt=dt, seed=4, pulse_rate=3.0)
    assert tt.trials.n_pulses.min() > 0
    for i in range(tt.n_trials):
        for b in range(3):
            x = tt.inputs[i, :, b]
            last, expect = 0.0, np.zeros(tt.n_steps)
            for t in range(tt.n_steps):  # independent scan of the input
                if x[t] != 0:
                    last = np.sign(x[t])
                expect[t] = last
            np.testing.assert_array_equal(tt.targets[i, :, b], expect)
            # default unset="free": no loss before the bit's first pulse (no memory to hold)
            np.testing.assert_array_equal(tt.mask[i, :, b], (np.cumsum(x != 0) > 0).astype(float))
    zero = flip_flop(20, dt=dt, seed=4, pulse_rate=3.0, unset="zero")
    np.testing.assert_array_equal(zero.targets, tt.targets)
    np.testing.assert_array_equal(zero.inputs, tt.inputs)
    assert zero.mask.min() == 1.0


def _normal_cdf(z):
    from scipy.stats import norm

    return norm.cdf(z)


@pytest.mark.parametrize(
    ("name", "step_sd"),
    [
        # evidence stim_1 - stim_2: two channels of PERCEPTUAL_NOISE each
        ("perceptual_decision_making", np.sqrt(2) * PERCEPTUAL_NOISE),
        ("context_dependent_integration", CONTEXT_NOISE),
    ],
)
def test_ideal_observer_matches_signal_detection_theory(name, step_sd):
    # summing n steps of evidence c with white noise of SD step_sd per step (dt=20) chooses right
    # with probability Phi(|c| sqrt(n) / step_sd) (the analytic oracle), averaged over the trials
    tt = make_task_trials(name, 3000, seed=3)
    coh = np.abs(tt.trials["coherence" if "coherence" in tt.trials else "cued_coherence"])
    n = (tt.trials.delay_start - tt.trials.stimulus_start).to_numpy()
    expected = np.mean(_normal_cdf(coh.to_numpy() * np.sqrt(n) / step_sd))
    got = ideal_observer_accuracy(tt)
    assert got == pytest.approx(expected, abs=0.015)
    assert got > 0.9  # the published defaults leave room above the 90% goal


def test_ideal_observer_agrees_with_independent_scans():
    tt = make_task_trials("context_dependent_integration", 300, seed=0)
    evidence = tt.inputs[..., 1:3].sum(axis=1)
    cued = evidence[np.arange(tt.n_trials), tt.inputs[:, 0, 3:5].argmax(axis=1)]
    np.testing.assert_array_equal(ideal_observer_choices(tt), np.where(cued > 0, 0, 1))
    pdm = make_task_trials("perceptual_decision_making", 300, seed=0)
    diff = (pdm.inputs[..., 1] - pdm.inputs[..., 2]).sum(axis=1)
    np.testing.assert_array_equal(ideal_observer_choices(pdm), np.where(diff > 0, 0, 1))
    for name in ("parametric_working_memory", "delayed_match_to_sample", "anti_saccade"):
        sub = make_task_trials(name, 200, seed=0)
        assert ideal_observer_accuracy(sub) == 1.0  # low noise: the ceiling is perfect
    g = make_task_trials("go_nogo", 100, seed=0)
    nogo = g.trials.rule.to_numpy() == "nogo"
    assert np.isnan(ideal_observer_choices(g)[nogo]).all()
    # a multitask batch: per-trial dispatch on the task column, same answers as task by task
    names = ["go_nogo", "context_dependent_integration"]
    mt = multitask_trials(names, 40, seed=2)
    choices = ideal_observer_choices(mt)
    truth = mt.trials.choice.to_numpy()
    ok = ~np.isnan(truth)
    assert np.mean(choices[ok] == truth[ok]) > 0.8


def test_ideal_observer_rejects_a_task_without_choices():
    with pytest.raises(ConfigError, match="no ideal observer for task 'flip_flop'"):
        ideal_observer_choices(make_task_trials("flip_flop", 2, seed=0))


BAD = [
    ({"name": "nope"}, "Unknown task 'nope'. Known tasks: 'perceptual_decision_making'"),
    ({"n_trials": 0}, r"'n_trials'.*got 0"),
    ({"coherences": [0.5, 1.5]}, r"'coherences': 1.5 is outside \[-1, 1\]"),
    ({"dt": 400.0}, r"'dt': 400.0 ms is longer than the task's fixation epoch of 300 ms"),
    ({"dt": -1.0}, r"'dt'.*got -1.0"),
    ({"noise": -0.1}, r"'noise'.*got -0.1"),
    ({"rng": 3}, r"'rng'.*got int"),
    ({"bogus": 1}, r"Task 'perceptual_decision_making'.*bogus"),
    ({"name": "parametric_working_memory", "f1_values": [50]}, r"'f1_values': 50 is outside"),
    ({"name": "delayed_match_to_sample", "n_stimuli": 1}, r"'n_stimuli'.*got 1"),
    ({"name": "delayed_match_to_sample", "p_match": 2}, r"'p_match': 2 is outside"),
    (
        {"name": "go_nogo", "rules": ["pro", "left"]},
        r"'rules'. Allowed: 'pro', 'anti', 'nogo'; got 'left'",
    ),
    ({"name": "anti_saccade", "n_locations": 1}, r"'n_locations'.*got 1"),
    ({"name": "interval_production", "intervals_ms": [20]}, r"'intervals_ms': 20 ms"),
    ({"name": "flip_flop", "n_bits": 0}, r"'n_bits'.*got 0"),
    ({"name": "flip_flop", "unset": "keep"}, r"'unset'. Allowed: 'free', 'zero'; got 'keep'"),
    ({"name": "flip_flop", "dt": 30.0}, r"'dt': 30.0 ms is longer than the task's pulse of 20 ms"),
]


@pytest.mark.parametrize(("kwargs", "match"), BAD)
def test_bad_inputs(kwargs, match):
    kwargs = dict(kwargs)
    name = kwargs.pop("name", "perceptual_decision_making")
    n_trials = kwargs.pop("n_trials", 4)
    with pytest.raises(ConfigError, match=match):
        make_task_trials(name, n_trials, **kwargs)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((["go_nogo", "nope"], 4), "Unknown task 'nope'"),
        (([], 4), "at least one task"),
        ((["go_nogo", "go_nogo"], 4), "listed twice"),
        ((["go_nogo", "anti_saccade", "flip_flop"], 2), "'n_trials': 2 is fewer than the 3 tasks"),
    ],
)
def test_multitask_bad_inputs(args, match):
    with pytest.raises(ConfigError, match=match):
        multitask_trials(*args)


def test_multitask_layout():
    names = [*CHOICE_TASKS, "interval_production", "flip_flop"]
    tt = multitask_trials(names, 64, dt=20, seed=0)
    assert tt.n_trials == 64 and tt.task == "+".join(names)
    rules = [f"rule:{n}" for n in names]
    assert tt.input_names[-len(names) :] == rules
    assert tt.input_names[0] == "fixation" and tt.input_names.count("fixation") == 1
    assert tt.output_names.count("choice_1") == 1
    counts = tt.trials.task.value_counts()
    assert set(counts.index) == set(names) and counts.min() == 8
    rule_in = tt.inputs[..., -len(names) :]
    for i, row in tt.trials.iterrows():
        end = int(row.trial_end)
        k = names.index(row.task)
        assert rule_in[i, :end, k].min() == 1.0 and rule_in[i, :end].sum() == end  # one-hot
        assert not tt.mask[i, end:].any() and not tt.inputs[i, end:].any()
        single = make_task_trials(row.task, 1, seed=0)
        unused = [j for j, o in enumerate(tt.output_names) if o not in single.output_names]
        assert not tt.mask[i, :, unused].any()  # outputs a task lacks are never constrained
    assert tt.n_steps == tt.trials.trial_end.max()  # padded to the longest trial
    again = multitask_trials(names, 64, dt=20, seed=0)
    np.testing.assert_array_equal(tt.inputs, again.inputs)


def test_from_neurogym_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "neurogym", None)
    with pytest.raises(ImportError, match=r"neurodl\[tasks\]"):
        from_neurogym("PerceptualDecisionMaking-v0", 2)


@pytest.mark.skipif(importlib.util.find_spec("neurogym") is None, reason="neurogym not installed")
def test_from_neurogym_perceptual_decision_making():
    tt = from_neurogym("PerceptualDecisionMaking-v0", 8, seed=0, dt=20)
    assert tt.dt == 20.0 and tt.n_trials == 8 and tt.n_outputs == 3
    assert tt.input_names == ["fixation", "stimulus_1", "stimulus_2"]
    assert tt.output_names == ["fixation", "choice_1", "choice_2"]
    np.testing.assert_array_equal(tt.targets.sum(axis=2), tt.mask[..., 0])  # one-hot on the trial
    for i, row in tt.trials.iterrows():
        d0 = int(row.decision_start)
        assert tt.targets[i, d0, 1 + int(row.choice)] == 1.0
        assert tt.targets[i, :d0, 0].min() == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = from_neurogym("PerceptualDecisionMaking-v0", 8, seed=0, dt=20)
    np.testing.assert_array_equal(tt.inputs, again.inputs)
