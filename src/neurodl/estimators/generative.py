"""Generative augmentation: class-conditional VAE / WGAN-GP fitted on training windows only.

:class:`GenerativeAugmenter` learns ``p(x | class)`` for windows ``X`` of shape ``(n_windows,
n_chans, n_times)`` from the data given to ``fit`` (a training fold, never its test fold) and
draws new labelled windows (:meth:`~GenerativeAugmenter.sample`,
:meth:`~GenerativeAugmenter.fit_resample`). :class:`GenerativeAugmentedClassifier` wraps any
classifier: at ``fit`` it fits a fresh augmenter on the training data it receives, adds
``ratio`` generated windows per real window of each class and fits the classifier on both; so
inside a cross-validation loop the generator only ever sees the training fold.

Kinds (:data:`GENERATORS`):

- ``"cvae"``: conditional VAE (Sohn et al. 2015; :class:`~neurodl.models.generative.ConditionalVAE`)
  trained with the engine (:func:`~neurodl.estimators.torch_engine.train`, custom objective) on
  the negative ELBO with the decoder's noise variance set to the batch's mean squared error
  (the "optimal sigma" VAE, Rybkin et al. 2021); samples are the decoder's mean for
  ``z ~ N(0, I)``.
- ``"wgan_gp"``: conditional Wasserstein GAN with gradient penalty (Gulrajani et al. 2017):
  ``n_critic`` critic steps (Adam, lr 1e-4, betas (0, 0.9), penalty weight 10) per generator
  step.

Windows are standardised per channel with the training mean and SD before the generator sees
them; samples are mapped back. Every class needs at least ``min_class_samples`` training
windows: fewer is a :class:`~neurodl.exceptions.DataFormatError` naming the class (a generator
fitted on two windows only learns to copy them).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X, y = rng.standard_normal((40, 2, 64)), np.repeat([0, 1], 20)
>>> aug = GenerativeAugmenter("cvae", max_epochs=1, random_state=0).fit(X, y)
>>> Xg, yg = aug.sample({0: 3, 1: 2})
>>> Xg.shape, yg.tolist()
((5, 2, 64), [0, 0, 0, 1, 1])
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..exceptions import ConfigError, DataFormatError
from .torch_engine import TrainConfig, determinism, train

__all__ = ["GENERATORS", "GenerativeAugmentedClassifier", "GenerativeAugmenter"]

#: Generator kinds: name -> what is fitted.
GENERATORS: dict[str, str] = {
    "cvae": "conditional VAE (negative ELBO, optimal-sigma Gaussian decoder)",
    "wgan_gp": "conditional Wasserstein GAN with gradient penalty",
}


def _check_windows(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 3:
        raise DataFormatError(
            f"X must be 3-D (n_windows, n_chans, n_times); got shape {tuple(X.shape)}."
        )
    if not np.isfinite(X).all():
        raise DataFormatError("X holds non-finite values (NaN or inf).")
    y = np.asarray(y)
    if len(y) != len(X):
        raise DataFormatError(f"y has {len(y)} labels for {len(X)} windows.")
    classes, y_enc = np.unique(y, return_inverse=True)
    return X, classes, y_enc


def _vae_objective(n_elements: int, beta: float):
    """Per-window negative ELBO (divided by ``n_elements``) of a :class:`ConditionalVAE`."""

    def objective(model: Any, xb: Any, yb: Any, ctx: Any) -> Any:
        import torch

        recon, mu, logvar = model(xb, yb.long())
        sq = ((recon - xb) ** 2).flatten(1).sum(1)  # (batch,)
        var = (sq.detach().mean() / n_elements).clamp_min(1e-4)  # optimal sigma^2
        nll = sq / (2 * var) + 0.5 * n_elements * torch.log(var)
        kl = 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(1)
        return (nll + beta * kl) / n_elements

    return objective


def _gradient_penalty(critic: Any, real: Any, fake: Any, y: Any, gen: Any) -> Any:
    import torch

    alpha = torch.rand(len(real), 1, 1, generator=gen)
    mix = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mix, y).sum(), mix, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()


class GenerativeAugmenter(BaseEstimator):
    """Class-conditional generator of windows, fitted on training data only.

    Parameters
    ----------
    kind : {"cvae", "wgan_gp"}, default="cvae"
        See :data:`GENERATORS`.
    n_latent, width : int, default=32, 64
        Latent size and hidden feature maps (:mod:`neurodl.models.generative`).
    max_epochs : int, default=100
        Passes over the training windows (VAE), or generator steps per training window /
        ``batch_size`` (WGAN-GP: ``max_epochs * ceil(n / batch_size)`` generator steps).
    batch_size : int, default=32
    lr : float, default=1e-3
        Learning rate of the VAE (the WGAN-GP uses 1e-4).
    beta : float, default=1.0
        Weight of the KL term (VAE).
    n_critic : int, default=5
        Critic steps per generator step (WGAN-GP).
    min_class_samples : int, default=5
        Fewest training windows a class may have.
    random_state : int, default=0
    num_threads : int or None, default=None
        Torch threads during fit and sampling (None: unchanged).

    Attributes
    ----------
    classes_ : ndarray
        Class labels, in the order of the generator's class index.
    class_counts_ : ndarray of int
        Training windows per class.
    mean_, scale_ : ndarray of shape (n_chans, 1)
        Per-channel standardisation of the training windows.
    generator_ : torch.nn.Module
        The decoder / generator mapping ``(z, class index)`` to standardised windows.
    n_chans_, n_times_ : int
    history_ : list of dict
        Per-epoch losses.

    Examples
    --------
    A small conditional VAE fitted on 12 windows per class; half as many generated windows
    again are appended per class, real windows first:

    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((24, 2, 32)), np.repeat(["left", "right"], 12)
    >>> aug = GenerativeAugmenter("cvae", n_latent=4, width=8, max_epochs=1, random_state=0)
    >>> X_all, y_all = aug.fit_resample(X, y, ratio=0.5)
    >>> X_all.shape, aug.classes_.tolist(), aug.class_counts_.tolist()
    ((36, 2, 32), ['left', 'right'], [12, 12])
    >>> bool((X_all[:24] == X.astype("float32")).all()), sorted(y_all[24:].tolist()).count("left")
    (True, 6)
    >>> Xg, yg = aug.sample({"right": 2})
    >>> Xg.shape, yg.tolist()
    ((2, 2, 32), ['right', 'right'])

    A class with too few windows is refused rather than copied:

    >>> GenerativeAugmenter(min_class_samples=20).fit(X, y)
    Traceback (most recent call last):
    ...
    neurodl.exceptions.DataFormatError: Too few training windows to fit a generator (class 'left': 12, class 'right': 12); every class needs at least min_class_samples=20. Use more labelled data or no generative augmentation.
    """

    def __init__(
        self,
        kind: str = "cvae",
        *,
        n_latent: int = 32,
        width: int = 64,
        max_epochs: int = 100,
        batch_size: int = 32,
        lr: float = 1e-3,
        beta: float = 1.0,
        n_critic: int = 5,
        min_class_samples: int = 5,
        random_state: int = 0,
        num_threads: int | None = None,
    ):
        self.kind = kind
        self.n_latent = n_latent
        self.width = width
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.beta = beta
        self.n_critic = n_critic
        self.min_class_samples = min_class_samples
        self.random_state = random_state
        self.num_threads = num_threads

    def fit(self, X: Any, y: Any) -> GenerativeAugmenter:
        """Fit the generator on windows ``X`` of shape (n, n_chans, n_times) with labels ``y``."""
        import torch

        from ._neural_base import _torch_threads

        if self.kind not in GENERATORS:
            raise ConfigError(
                f"Invalid value for 'kind'. Allowed: {', '.join(map(repr, GENERATORS))}; "
                f"got {self.kind!r}."
            )
        X, classes, y_enc = _check_windows(X, y)
        counts = np.bincount(y_enc, minlength=len(classes))
        few = [(c, int(n)) for c, n in zip(classes.tolist(), counts) if n < self.min_class_samples]
        if few:
            listed = ", ".join(f"class {c!r}: {n}" for c, n in few)
            raise DataFormatError(
                f"Too few training windows to fit a generator ({listed}); every class needs at "
                f"least min_class_samples={self.min_class_samples}. Use more labelled data or "
                "no generative augmentation."
            )
        self.classes_, self.class_counts_ = classes, counts
        self.n_chans_, self.n_times_ = int(X.shape[1]), int(X.shape[2])
        self.mean_ = X.mean(axis=(0, 2))[:, None]
        self.scale_ = np.maximum(X.std(axis=(0, 2)), 1e-12)[:, None]
        Z = ((X - self.mean_) / self.scale_).astype(np.float32)
        seed = int(self.random_state)
        with _torch_threads(self.num_threads), torch.random.fork_rng(), determinism(True, "cpu"):
            torch.manual_seed(seed)
            if self.kind == "cvae":
                self.generator_, self.history_ = self._fit_vae(Z, y_enc, seed)
            else:
                self.generator_, self.history_ = self._fit_wgan(Z, y_enc, seed)
        self.generator_.eval()
        return self

    def _fit_vae(self, Z: np.ndarray, y: np.ndarray, seed: int) -> tuple[Any, list]:
        from ..models.generative import ConditionalVAE

        vae = ConditionalVAE(
            self.n_chans_,
            self.n_times_,
            len(self.classes_),
            n_latent=self.n_latent,
            width=self.width,
        )
        cfg = TrainConfig(
            task="regression",
            max_epochs=int(self.max_epochs),
            batch_size=int(self.batch_size),
            lr=float(self.lr),
            weight_decay=0.0,
            early_stopping=False,
            seed=seed,
        )
        n_el = self.n_chans_ * self.n_times_
        res = train(
            vae, Z, y.astype(np.float32), None, None, cfg, objective=_vae_objective(n_el, self.beta)
        )
        return vae.decoder, res.history

    def _fit_wgan(self, Z: np.ndarray, y: np.ndarray, seed: int) -> tuple[Any, list]:
        import torch

        from ..models.generative import ConditionalCritic, ConditionalDecoder

        n_cls = len(self.classes_)
        gen_net = ConditionalDecoder(
            self.n_chans_, self.n_times_, n_cls, n_latent=self.n_latent, width=self.width
        )
        critic = ConditionalCritic(self.n_chans_, self.n_times_, n_cls, width=self.width)
        opt_g = torch.optim.Adam(gen_net.parameters(), lr=1e-4, betas=(0.0, 0.9))
        opt_c = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.0, 0.9))
        rng = torch.Generator().manual_seed(seed)
        Zt, yt = torch.from_numpy(Z), torch.from_numpy(y.astype(np.int64))
        n, bs = len(Zt), min(int(self.batch_size), len(Zt))
        steps_per_epoch = int(np.ceil(n / bs))
        history = []
        for epoch in range(int(self.max_epochs)):
            w_dist = 0.0
            for _ in range(steps_per_epoch):
                for _ in range(int(self.n_critic)):
                    idx = torch.randint(0, n, (bs,), generator=rng)
                    real, yb = Zt[idx], yt[idx]
                    z = torch.randn(bs, self.n_latent, generator=rng)
                    with torch.no_grad():
                        fake = gen_net(z, yb)
                    gap = critic(real, yb).mean() - critic(fake, yb).mean()
                    loss_c = -gap + 10.0 * _gradient_penalty(critic, real, fake, yb, rng)
                    opt_c.zero_grad(set_to_none=True)
                    loss_c.backward()
                    opt_c.step()
                    w_dist += float(gap.detach()) / (self.n_critic * steps_per_epoch)
                yb = yt[torch.randint(0, n, (bs,), generator=rng)]
                z = torch.randn(bs, self.n_latent, generator=rng)
                loss_g = -critic(gen_net(z, yb), yb).mean()
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                opt_g.step()
            if not np.isfinite(w_dist):
                raise DataFormatError(f"WGAN-GP training diverged at epoch {epoch}.")
            history.append({"epoch": epoch, "wasserstein_estimate": w_dist})
        return gen_net, history

    def sample(
        self, n_per_class: dict[Any, int], *, random_state: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw windows per class.

        Parameters
        ----------
        n_per_class : dict
            ``{class label: number of windows}``; labels as given to ``fit``.
        random_state : int, optional
            Seed of the latent draws (default ``self.random_state + 1``).

        Returns
        -------
        X : ndarray of shape (n_generated, n_chans, n_times), float32
        y : ndarray of shape (n_generated,)
            Class labels, grouped in the order of ``n_per_class``.
        """
        import torch

        from ._neural_base import _torch_threads

        check_is_fitted(self, "generator_")
        known = self.classes_.tolist()
        unknown = [c for c in n_per_class if c not in known]
        if unknown:
            raise DataFormatError(
                f"Invalid class in 'n_per_class'. Allowed: {', '.join(map(repr, known))}; "
                f"got {unknown[0]!r}."
            )
        labels = np.concatenate(
            [np.full(int(k), known.index(c), dtype=np.int64) for c, k in n_per_class.items()]
            or [np.zeros(0, np.int64)]
        )
        seed = int(self.random_state) + 1 if random_state is None else int(random_state)
        out = np.zeros((len(labels), self.n_chans_, self.n_times_), dtype=np.float32)
        with _torch_threads(self.num_threads), torch.no_grad():
            rng = torch.Generator().manual_seed(seed)
            for start in range(0, len(labels), 256):
                yb = torch.from_numpy(labels[start : start + 256])
                z = torch.randn(len(yb), self.n_latent, generator=rng)
                out[start : start + 256] = self.generator_(z, yb).numpy()
        return out * self.scale_ + self.mean_, self.classes_[labels]

    def fit_resample(self, X: Any, y: Any, *, ratio: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Fit on ``(X, y)`` and return them with ``round(ratio * count)`` generated windows
        added per class (real windows first)."""
        self.fit(X, y)
        n_per_class = {c: round(ratio * n) for c, n in zip(self.classes_, self.class_counts_)}
        Xg, yg = self.sample(n_per_class)
        return np.concatenate([np.asarray(X, np.float32), Xg]), np.concatenate([np.asarray(y), yg])


class GenerativeAugmentedClassifier(ClassifierMixin, BaseEstimator):
    """A classifier fitted on its training data plus windows generated from that data only.

    Parameters
    ----------
    estimator : classifier
        Cloned and fitted on real + generated windows.
    augmenter : GenerativeAugmenter
        Cloned and fitted on the training windows given to ``fit``.
    ratio : float, default=1.0
        Generated windows per real window of each class.

    Attributes
    ----------
    augmenter_ : GenerativeAugmenter
        The fitted generator.
    estimator_ : classifier
    n_generated_ : int
    classes_ : ndarray

    Examples
    --------
    Shrinkage LDA fitted on 24 real windows and 24 generated from them (ratio 1):

    >>> from neurodl.estimators.classical import make_classical
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((24, 2, 32)), np.repeat(["left", "right"], 12)
    >>> gen = GenerativeAugmenter(n_latent=4, width=8, max_epochs=1, random_state=0)
    >>> clf = GenerativeAugmentedClassifier(make_classical("lda"), gen, ratio=1.0).fit(X, y)
    >>> clf.n_generated_, clf.classes_.tolist(), clf.predict_proba(X[:3]).shape
    (24, ['left', 'right'], (3, 2))
    >>> clf.augmenter_ is gen, hasattr(gen, "generator_")  # a fitted clone, the original untouched
    (False, False)
    """

    def __init__(self, estimator: Any, augmenter: Any, *, ratio: float = 1.0):
        self.estimator = estimator
        self.augmenter = augmenter
        self.ratio = ratio

    def fit(self, X: Any, y: Any) -> GenerativeAugmentedClassifier:
        """Fit the augmenter on ``(X, y)``, then the estimator on real + generated windows."""
        if not (isinstance(self.ratio, int | float) and self.ratio >= 0):
            raise ConfigError(
                f"Invalid value for 'ratio'. Allowed: a number >= 0; got {self.ratio!r}."
            )
        self.augmenter_ = clone(self.augmenter)
        X_all, y_all = self.augmenter_.fit_resample(X, y, ratio=float(self.ratio))
        self.n_generated_ = len(X_all) - len(X)
        self.estimator_ = clone(self.estimator).fit(X_all, y_all)
        self.classes_ = self.estimator_.classes_
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)
