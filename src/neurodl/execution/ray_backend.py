"""Connect to a Ray cluster and run units as Ray tasks (one ``ray.put`` of the shared inputs).

Ray is an optional dependency (``pip install 'neurodl[ray]'``), imported only here and only
when the ``ray`` backend is used.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

from .._logging import logger
from ..exceptions import ConfigError, MissingDependencyError, NeurodlError
from .config import RAY_RESOURCE_KEYS, ExecutionConfig

__all__ = ["RayUnreachableError", "connect_ray", "run_on_ray"]


class RayUnreachableError(NeurodlError, ConnectionError):
    """A Ray address did not answer within the connection timeout.

    Examples
    --------
    A :class:`ConnectionError` (and a :class:`~neurodl.exceptions.NeurodlError`): a closed port
    fails after ``connect_timeout`` seconds with the address in the message, not a Ray hang.

    >>> import socket
    >>> sock = socket.socket()
    >>> sock.bind(("127.0.0.1", 0))  # a port nobody listens on
    >>> address = f"127.0.0.1:{sock.getsockname()[1]}"
    >>> cfg = ExecutionConfig(backend="ray", address=address, connect_timeout=0.3)
    >>> try:
    ...     connect_ray(cfg)
    ... except ConnectionError as err:
    ...     print(type(err).__name__, str(err).replace(address, "<address>"))
    ... finally:
    ...     sock.close()  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    RayUnreachableError The Ray cluster at 'execution.address' = '<address>' did not answer
    within 0.3 s (...). Start it with `ray start --head --port=...` or fix the address.
    """


# the address this module connected the process to (None: not connected by us)
_connected: dict[str, Any] = {"address": None}


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as err:  # pragma: no cover - exercised where ray is absent
        raise MissingDependencyError(
            "execution backend 'ray' needs Ray, an optional dependency: pip install 'neurodl[ray]'."
        ) from err
    return ray


def _host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``"host:port"`` or ``"ray://host:port"``; None for ``"auto"``."""
    if address == "auto":
        return None
    bare = address.removeprefix("ray://")
    host, sep, port = bare.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(
            f"Invalid value for 'execution.address'. Allowed: 'host:port', 'ray://host:port' or "
            f"'auto'; got {address!r}."
        )
    return host, int(port)


def _probe(address: str, timeout: float) -> None:
    """Raise :class:`RayUnreachableError` unless ``address`` accepts a TCP connection in time."""
    hp = _host_port(address)
    if hp is None:
        return
    deadline = time.monotonic() + timeout
    last: OSError | None = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(hp, timeout=max(0.1, deadline - time.monotonic())):
                return
        except OSError as err:
            last = err
            time.sleep(0.2)
    raise RayUnreachableError(
        f"The Ray cluster at 'execution.address' = {address!r} did not answer within "
        f"{timeout:g} s ({last}). Start it with `ray start --head --port=...` or fix the address."
    )


def connect_ray(cfg: ExecutionConfig) -> Any:
    """Connect this process to ``cfg.address`` (once) and return the ``ray`` module.

    A process already connected to the same address is reused; connected by neurodl to another
    address, it disconnects first. A Ray session started by the caller is used as it is.

    Examples
    --------
    Without a cluster to reach, a malformed address is refused before any connection attempt:

    >>> try:
    ...     connect_ray(ExecutionConfig(backend="ray", address="head-node"))
    ... except ValueError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    Invalid value for 'execution.address'. Allowed: 'host:port', 'ray://host:port' or 'auto';
    got 'head-node'.
    """
    ray = _import_ray()
    if ray.is_initialized():
        if _connected["address"] in (None, cfg.address or "local"):
            return ray
        ray.shutdown()
    if cfg.address is not None:
        _probe(cfg.address, cfg.connect_timeout)
    logger.info("connecting to Ray at %s", cfg.address or "a private local instance")
    ray.init(address=cfg.address, log_to_driver=False, configure_logging=False)
    _connected["address"] = cfg.address or "local"
    return ray


def _call(fn: Callable[[Any, Any], Any], shared: Any, unit: Any) -> Any:
    return fn(shared, unit)


def _task_options(cfg: ExecutionConfig) -> dict[str, Any]:
    # SPREAD: independent units go to every node, not first to the driver's node
    opts: dict[str, Any] = {
        "max_retries": cfg.max_retries,
        "retry_exceptions": False,
        "scheduling_strategy": "SPREAD",
    }
    custom = {k: v for k, v in cfg.resources.items() if k not in RAY_RESOURCE_KEYS}
    opts.update({k: v for k, v in cfg.resources.items() if k in RAY_RESOURCE_KEYS})
    if custom:
        opts["resources"] = custom
    return opts


def run_on_ray(
    fn: Callable[[Any, Any], Any],
    shared: Any,
    units: Sequence[Any],
    cfg: ExecutionConfig,
    on_result: Callable[[int, Any], None],
) -> None:
    """Submit ``fn(shared, unit)`` for every unit; call ``on_result(i, result)`` as each ends.

    ``shared`` is put in the object store once and every task receives a reference to it
    (numpy arrays inside are read from shared memory without a copy on each node).

    Examples
    --------
    :func:`~neurodl.execution.run_units` calls it for the ``ray`` backend; the results are
    those of the local backend, in unit order. Without a cluster, an address that does not
    answer fails before any unit is submitted:

    >>> import socket
    >>> sock = socket.socket()
    >>> sock.bind(("127.0.0.1", 0))  # a port nobody listens on
    >>> cfg = ExecutionConfig(
    ...     backend="ray", address=f"127.0.0.1:{sock.getsockname()[1]}", connect_timeout=0.3
    ... )
    >>> def double(shared, unit):
    ...     return shared * unit
    >>> results = {}
    >>> try:
    ...     run_on_ray(double, 2, [1, 2, 3], cfg, on_result=results.__setitem__)
    ... except RayUnreachableError:
    ...     print("unreachable; units run:", results)
    ... finally:
    ...     sock.close()
    unreachable; units run: {}
    """
    ray = connect_ray(cfg)
    remote = ray.remote(_call).options(**_task_options(cfg))
    shared_ref = ray.put(shared)
    pending = {remote.remote(fn, shared_ref, unit): i for i, unit in enumerate(units)}
    try:
        while pending:
            keys = list(pending)
            done, _ = ray.wait(keys, num_returns=1)
            done, _ = ray.wait(keys, num_returns=len(keys), timeout=0)  # all finished so far
            for ref in done:
                on_result(pending.pop(ref), ray.get(ref))
    finally:
        for ref in pending:  # an error or an interrupt: do not leave work running
            ray.cancel(ref, force=True)
