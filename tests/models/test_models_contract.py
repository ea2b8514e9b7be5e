"""Every registered model honours the registry contract (one test table over the registry)."""

from __future__ import annotations

import pytest
import torch

from neurodl.models import build_model, get_model_class, list_models

torch.set_num_threads(2)

#: Tiny settings per model so the whole table runs in seconds; unknown (future) models get {}.
SMALL: dict[str, dict] = {
    "eegnet": {"F1": 4, "D": 2, "F2": 8, "kernel_length": 8, "separable_kernel_length": 4},
    "shallow": {
        "n_filters_time": 8,
        "n_filters_spat": 8,
        "filter_time_length": 5,
        "pool_time_length": 8,
        "pool_time_stride": 4,
    },
    "deep4": {
        "n_filters": (4, 6, 8, 10),
        "filter_time_length": 3,
        "filter_length": 3,
        "pool_time_length": 2,
        "pool_time_stride": 2,
    },
    "tcn": {"n_filters": 8, "n_blocks": 2, "kernel_size": 3},
    "lstm": {"hidden_size": 8},
    "gru": {"hidden_size": 8},
    "tangent_mlp": {"drop_prob": 0.1},  # 6 tangent features for 3 channels: less dropout
    "tsmnet": {"n_filters": 2, "kernel_len": 5, "n_virtual": 6, "n_spatial": 4},
}
N_TIMES = 64
# Only the shipped models: tests elsewhere may register throw-away models in the same process.
MODELS = [n for n in list_models() if get_model_class(n).__module__.startswith("neurodl.")]
#: Models whose input is a square matrix (connectomes): their contract is checked on
#: (batch, n, n) inputs in test_square_input_models_honour_the_contract.
SQUARE = [n for n in MODELS if getattr(get_model_class(n), "square_input", False)]
MODELS = [n for n in MODELS if n not in SQUARE]


def _build(name: str, n_chans: int = 3, n_outputs: int = 2, **extra):
    params = {**SMALL.get(name, {}), **extra}
    return build_model(
        name, n_chans=n_chans, n_times=N_TIMES, n_outputs=n_outputs, sfreq=64.0, **params
    )


def _data(n_chans: int = 3, batch: int = 8, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, n_chans, N_TIMES, generator=gen)
    y = torch.arange(batch) % 2
    return x, y


def test_registry_holds_the_issue_architectures():
    assert {"eegnet", "shallow", "deep4", "tcn", "lstm", "gru"} <= set(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_shape_and_backward(name):
    torch.manual_seed(0)
    net = _build(name, n_outputs=3)
    x, _ = _data()
    out = net(x)
    assert out.shape == (8, 3)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    out.square().mean().backward()
    grads = [p.grad for p in net.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", MODELS)
def test_seeded_construction_is_deterministic(name):
    torch.manual_seed(1)
    a = _build(name)
    torch.manual_seed(1)
    b = _build(name)
    torch.manual_seed(2)
    c = _build(name)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa if sa[k].is_floating_point())


@pytest.mark.parametrize("name", MODELS)
def test_eval_mode_is_deterministic_and_batch_independent(name):
    torch.manual_seed(0)
    net = _build(name).eval()
    x, _ = _data()
    with torch.no_grad():
        first, second = net(x), net(x)
        alone = net(x[:1])
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    # In eval mode a sample's output does not depend on the rest of the batch.
    torch.testing.assert_close(alone, first[:1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_single_channel_input(name):
    torch.manual_seed(0)
    net = _build(name, n_chans=1)
    x, _ = _data(n_chans=1)
    out = net(x)
    assert out.shape == (8, 2)
    out.sum().backward()


@pytest.mark.parametrize("name", MODELS)
def test_few_steps_reduce_loss_on_a_fixed_batch(name):
    torch.manual_seed(0)
    net = _build(name)
    x, y = _data(batch=16, seed=3)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    loss_fn = torch.nn.CrossEntropyLoss()

    def loss_now() -> float:
        # Training-mode loss with a fixed dropout mask: eval mode would use running batch-norm
        # statistics, which move slowly (EEGNet's momentum is 0.01).
        torch.manual_seed(5)
        with torch.no_grad():
            return loss_fn(net(x), y).item()

    net.train()
    before = loss_now()
    for _ in range(40):
        opt.zero_grad()
        loss_fn(net(x), y).backward()
        opt.step()
    after = loss_now()
    assert after < 0.85 * before, (before, after)


@pytest.mark.parametrize("name", MODELS)
def test_min_n_times_is_accepted(name):
    cls = get_model_class(name)
    params = SMALL.get(name, {})
    minimum = int(cls.min_n_times(sfreq=64.0, **params)) if hasattr(cls, "min_n_times") else 1
    torch.manual_seed(0)
    net = build_model(name, n_chans=2, n_times=minimum, n_outputs=2, sfreq=64.0, **params)
    assert net.eval()(torch.randn(2, 2, minimum)).shape == (2, 2)


@pytest.mark.parametrize("name", MODELS)
def test_constructor_arguments_are_not_rewritten(name):
    net = _build(name)
    for arg, value in {"n_chans": 3, "n_times": N_TIMES, "n_outputs": 2, "sfreq": 64.0}.items():
        if hasattr(net, arg):
            assert getattr(net, arg) == value
    for arg, value in SMALL.get(name, {}).items():
        assert getattr(net, arg) == value


def test_square_input_models_refuse_signals_and_train_on_matrices():
    assert SQUARE == ["brainnetcnn"]
    for name in SQUARE:
        with pytest.raises(Exception, match="square"):
            build_model(name, n_chans=3, n_times=64, n_outputs=2, sfreq=None)
        torch.manual_seed(0)
        net = build_model(name, n_chans=6, n_times=6, n_outputs=3, sfreq=None)
        gen = torch.Generator().manual_seed(0)
        a = torch.randn(16, 6, 6, generator=gen)
        x = (a + a.transpose(1, 2)) / 2
        y = torch.arange(16) % 3
        assert net(x).shape == (16, 3)
        net.eval()
        with torch.no_grad():  # batch independence in eval mode
            torch.testing.assert_close(net(x)[:4], net(x[:4]))
        net.train()
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        losses = []
        for _ in range(30):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[-1] < 0.5 * losses[0]
