"""The dask engine shared by sweeps and the bootstrap: a LocalCluster or an existing scheduler.

:func:`open_client` returns a ``distributed.Client`` on a new LocalCluster (``"local"``) or on the
scheduler at a given address (``"tcp://host:port"``, e.g. one started with ``dask scheduler`` and
``dask worker``); :func:`close_client` closes it, and the local cluster it started if any.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from typing import Any

#: Modules the local workers' fork server imports once, before any worker starts.
PRELOAD: tuple[str, ...] = (
    "distributed", "numpy", "pandas", "scipy.stats", "helpers.cox", "helpers.reproduction.validation",
)


def _start_method(preload: Sequence[str] = PRELOAD) -> str:
    """``"forkserver"`` where the platform has it (Linux, macOS), else ``"spawn"`` (Windows).

    dask's default, ``spawn``, starts a fresh interpreter per worker that imports numpy, pandas,
    scipy and helpers again (about 2-3 s on 2 cores). A fork server is one clean,
    single-threaded process that imports them once and forks the workers from itself, so they
    start in a fraction of a second; unlike plain ``fork``, nothing is forked from this
    (multi-threaded) process.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return "spawn"
    import dask
    from distributed.utils import get_mp_context

    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        ctx = get_mp_context()  # distributed sets its own preload list on the first call ...
    ctx.set_forkserver_preload(list(preload))  # ... extended here (no effect once the server runs)
    return "forkserver"


def open_client(scheduler_address: str = "local", n_workers: int = 2, *, processes: bool = True) -> Any:
    """A ``distributed.Client``: on a new LocalCluster (``"local"``, loopback only, ``n_workers``
    single-threaded workers) or on the scheduler at ``scheduler_address``.

    Parameters
    ----------
    scheduler_address
        ``"local"`` or an address such as ``"tcp://127.0.0.1:8786"``.
    n_workers
        Workers of the local cluster (ignored for an existing scheduler).
    processes
        Local workers in their own processes (the default: tasks run in parallel), forked from
        a fork server that has imported the project once (:func:`_start_method`); ``False``:
        threads of this process (starts at once, but Python's global interpreter lock lets
        about one core work).

    Returns
    -------
    distributed.Client
        Close it with :func:`close_client` (a local cluster closes with it).

    Raises
    ------
    ValueError
        An address that is neither ``"local"`` nor ``scheme://host:port``.

    Example
    -------
    >>> client = open_client(n_workers=1)  # doctest: +SKIP
    """
    import dask
    from distributed import Client, LocalCluster

    if scheduler_address != "local":
        if "://" not in str(scheduler_address):
            raise ValueError(
                f"scheduler address: expected 'local' or tcp://host:port, found {scheduler_address!r}"
            )
        return Client(scheduler_address, timeout="20s")
    settings = {"distributed.worker.multiprocessing-method": _start_method()} if processes else {}
    with dask.config.set(settings):
        cluster = LocalCluster(n_workers=int(n_workers), threads_per_worker=1, processes=processes,
                               dashboard_address=":0", host="127.0.0.1" if processes else None)
    client = Client(cluster)
    client._own_cluster = cluster  # closed with the client (see close_client)
    return client


def close_client(client: Any) -> None:
    """Close a client of :func:`open_client` and the local cluster it started, if any.

    Parameters
    ----------
    client
        A ``distributed.Client``.

    Returns
    -------
    None

    Example
    -------
    >>> close_client(open_client(n_workers=1))  # doctest: +SKIP
    """
    cluster = getattr(client, "_own_cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()
