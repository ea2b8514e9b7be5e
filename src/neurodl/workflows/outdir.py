"""Claim, fill and publish an output folder without ever losing a result.

A run writes to ``--out DIR`` in three steps, all under one exclusive lock on ``.DIR.lock`` (a
sibling of ``DIR``; an OS file lock, released by the kernel even when the process is killed):

1. :func:`claim_output` takes the lock (a second run to the same ``DIR`` is refused at once),
   cleans what dead runs left behind (``.DIR.tmp-*`` folders; a ``.DIR.old-*`` folder is restored
   when ``DIR`` itself is missing, so a kill between the two renames loses nothing), checks that an
   existing ``DIR`` may be replaced, and creates the private ``.DIR.tmp-*`` folder the run writes
   into.
2. :meth:`OutputClaim.publish` swaps the finished folder into place.
3. :meth:`OutputClaim.release` (or leaving the ``with`` block) removes the temporary folder of a
   failed run and the lock.

``overwrite=True`` replaces ``DIR`` only when it is a folder that a neurodl run wrote (it holds
the marker file :data:`MARKER`); a file or any other folder is never touched. Read-only or full
file systems end in one :class:`~neurodl.exceptions.OutputWriteError` naming the folder.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from ..exceptions import OutputExistsError, OutputWriteError

try:  # POSIX; Windows falls back to a create-exclusive lock file with the owner's pid
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]

__all__ = ["MARKER", "OutputClaim", "claim_output", "is_neurodl_output", "output_error"]

#: File written into every output folder; ``overwrite`` replaces only folders holding it.
MARKER = ".neurodl-output"

#: errno values that mean "this place cannot be written", with the words shown to the user.
_WRITE_ERRNOS = {
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}


def output_error(err: OSError, out_dir: Path) -> OutputWriteError | None:
    """The one-line error for a file-system ``err`` met while writing ``out_dir`` (or None).

    Returns None for errors that do not mean "cannot write here" (they are re-raised as they are).

    Examples
    --------
    >>> full = OSError(errno.ENOSPC, "No space left on device", "out/model.pt")
    >>> err = output_error(full, Path("out"))
    >>> type(err).__name__, isinstance(err, OSError)
    ('OutputWriteError', True)
    >>> print(str(err).split(" [errno")[0])
    Cannot write the output folder 'out': no space left on device (out/model.pt)
    >>> print(output_error(FileNotFoundError(errno.ENOENT, "No such file"), Path("out")))
    None
    """
    what = _WRITE_ERRNOS.get(err.errno) if isinstance(err, OSError) else None
    if what is None:
        return None
    where = f" ({err.filename})" if err.filename else ""
    return OutputWriteError(
        f"Cannot write the output folder {str(out_dir)!r}: {what}{where} [errno {err.errno}]; "
        "free some space or choose another --out."
    )


def _reraise(err: OSError, out_dir: Path) -> None:
    """Re-raise ``err`` as the one-line :class:`OutputWriteError` when it is a write failure."""
    if isinstance(err, (OutputExistsError, OutputWriteError)):
        raise err
    clear = output_error(err, out_dir)
    if clear is None:
        raise err
    raise clear from err


def is_neurodl_output(path: Path) -> bool:
    """Whether ``path`` is a folder that a neurodl run wrote (it holds :data:`MARKER`).

    Examples
    --------
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with claim_output(Path(tmp) / "run") as claim:
    ...         out = claim.publish()
    ...     print(is_neurodl_output(out), is_neurodl_output(Path(tmp)), (out / MARKER).is_file())
    True False True
    """
    return path.is_dir() and not path.is_symlink() and (path / MARKER).is_file()


def _names(out_dir: Path) -> tuple[str, re.Pattern[str], re.Pattern[str]]:
    base = re.escape(out_dir.name)
    tmp = re.compile(rf"^\.{base}\.tmp-[A-Za-z0-9_]{{8}}$")  # tempfile.mkdtemp suffixes
    old = re.compile(rf"^\.{base}\.old-[A-Za-z0-9_]{{8}}$")
    return f".{out_dir.name}.lock", tmp, old


class OutputClaim:
    """An exclusive claim on one output folder (see the module docstring).

    Attributes
    ----------
    out_dir : Path
        The folder the run publishes to.
    tmp_dir : Path
        The private folder the run writes into; it becomes ``out_dir`` on :meth:`publish`.

    Examples
    --------
    The run writes into a hidden sibling; ``out_dir`` appears, complete, on ``publish``:

    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = Path(tmp) / "run"
    ...     with claim_output(out) as claim:
    ...         _ = (claim.tmp_dir / "results.json").write_text("{}")
    ...         print(claim.tmp_dir.name.startswith(".run.tmp-"), out.exists())
    ...         _ = claim.publish()
    ...     print(sorted(p.name for p in Path(tmp).iterdir()))  # lock and temp folder gone
    ...     print(sorted(p.name for p in out.iterdir()))
    True False
    ['run']
    ['.neurodl-output', 'results.json']
    """

    def __init__(self, out_dir: Path, tmp_dir: Path, lock_path: Path, lock_fd: int) -> None:
        self.out_dir = out_dir
        self.tmp_dir = tmp_dir
        self._lock_path = lock_path
        self._lock_fd: int | None = lock_fd
        self.published = False

    def __enter__(self) -> OutputClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def publish(self) -> Path:
        """Replace ``out_dir`` by the finished temporary folder; returns ``out_dir``.

        An existing ``out_dir`` was checked to be a neurodl output when the claim was taken (and
        is checked again here); it is renamed aside, the new folder renamed into place, and only
        then the old one deleted, so at every moment one complete result exists on disk.
        """
        out = self.out_dir
        if (out.exists() or out.is_symlink()) and not is_neurodl_output(out):
            self.published = True  # appeared while we ran: never replace it, keep our results
            raise OutputExistsError(
                f"Output folder {str(out)!r} appeared during the run and is not a neurodl "
                f"output; the results stay in {str(self.tmp_dir)!r}."
            )
        try:
            if out.exists():
                aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
                aside.rmdir()
                out.rename(aside)
                self.tmp_dir.rename(out)
                shutil.rmtree(aside, ignore_errors=True)
            else:
                self.tmp_dir.rename(out)
        except OSError as err:
            _reraise(err, out)
        self.published = True
        return out

    def release(self) -> None:
        """Delete the temporary folder of an unpublished run, then drop the lock (idempotent)."""
        if not self.published:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
        if self._lock_fd is not None:
            try:  # unlink while still holding the lock: a waiter re-checks the inode
                self._lock_path.unlink()
            except OSError:
                pass
            os.close(self._lock_fd)
            self._lock_fd = None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _lock_owner(lock_path: Path) -> str:
    try:
        pid = int(lock_path.read_text().strip() or "0")
    except (OSError, ValueError):
        return "another neurodl run"
    return f"another neurodl run (pid {pid})" if pid else "another neurodl run"


def _busy(lock_path: Path, out_dir: Path) -> OutputWriteError:
    return OutputWriteError(
        f"Output folder {str(out_dir)!r} is being written by {_lock_owner(lock_path)}; "
        "wait for it to finish or choose another --out."
    )


def _acquire_lock(lock_path: Path, out_dir: Path) -> int:
    for _ in range(20):  # retried only when the lock file was replaced under us
        if fcntl is None:  # pragma: no cover - Windows
            try:
                fd = os.open(lock_path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
            except FileExistsError:
                pid_text = lock_path.read_text().strip() if lock_path.exists() else ""
                if pid_text.isdigit() and not _pid_alive(int(pid_text)):
                    lock_path.unlink(missing_ok=True)
                    continue
                raise _busy(lock_path, out_dir) from None
            os.write(fd, str(os.getpid()).encode())
            return fd
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise _busy(lock_path, out_dir) from None
        try:  # the holder we waited on may have unlinked this file: lock the current one
            same = os.fstat(fd).st_ino == os.stat(lock_path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            return fd
        os.close(fd)
    raise _busy(lock_path, out_dir)  # pragma: no cover - lock file replaced 20 times in a row


def _clean_leftovers(out_dir: Path) -> None:
    """Remove what dead runs left (called under the lock: nobody else is writing ``out_dir``)."""
    _, tmp_pat, old_pat = _names(out_dir)
    for entry in sorted(out_dir.parent.iterdir()):
        if not entry.is_dir() or entry.is_symlink():
            continue
        if tmp_pat.match(entry.name):
            shutil.rmtree(entry, ignore_errors=True)
        elif old_pat.match(entry.name):
            if not (out_dir.exists() or out_dir.is_symlink()) and is_neurodl_output(entry):
                entry.rename(out_dir)  # killed between the two renames of publish: restore
            else:
                shutil.rmtree(entry, ignore_errors=True)


def _check_replaceable(out_dir: Path, overwrite: bool) -> None:
    if not (out_dir.exists() or out_dir.is_symlink()):
        return
    if not overwrite:
        raise OutputExistsError(
            f"Output folder {str(out_dir)!r} already exists; pass --overwrite (overwrite=True) "
            "to replace it, or choose another --out."
        )
    if out_dir.is_symlink() or not out_dir.is_dir():
        raise OutputExistsError(
            f"--out {str(out_dir)!r} is a file, not an output folder; --overwrite replaces only "
            "folders that neurodl wrote. Choose another --out."
        )
    if not is_neurodl_output(out_dir):
        raise OutputExistsError(
            f"Folder {str(out_dir)!r} was not written by neurodl (no {MARKER} marker); "
            "--overwrite replaces only neurodl output folders. Choose another --out."
        )


def claim_output(out_dir: str | os.PathLike[str], *, overwrite: bool = False) -> OutputClaim:
    """Take the exclusive claim on ``out_dir`` and create the folder the run writes into.

    Parameters
    ----------
    out_dir : path
        The output folder (created on publish; its parent is created now if needed).
    overwrite : bool, default=False
        Allow replacing an existing ``out_dir`` that a neurodl run wrote.

    Returns
    -------
    OutputClaim
        Use as a context manager; call :meth:`OutputClaim.publish` when the run succeeded.

    Raises
    ------
    OutputExistsError
        ``out_dir`` exists and may not be replaced (no ``overwrite``, a file, not neurodl's).
    OutputWriteError
        Another run holds ``out_dir``, or the place cannot be written (read-only, full).

    Examples
    --------
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = Path(tmp) / "run"
    ...     for version in (1, 2):  # a rerun replaces the first result
    ...         with claim_output(out, overwrite=True) as claim:
    ...             _ = (claim.tmp_dir / "results.json").write_text(f'{{"v": {version}}}')
    ...             _ = claim.publish()
    ...     print((out / "results.json").read_text())
    ...     mine = Path(tmp) / "mine"
    ...     mine.mkdir()
    ...     try:  # never a folder neurodl did not write
    ...         claim_output(mine, overwrite=True)
    ...     except FileExistsError as err:  # an OutputExistsError
    ...         print(str(err).replace(tmp, "TMP").split(";")[0])
    {"v": 2}
    Folder 'TMP/mine' was not written by neurodl (no .neurodl-output marker)
    """
    out = Path(out_dir)
    if out.name in ("", ".", ".."):
        out = out.resolve()
    lock_name, _, _ = _names(out)
    lock_path = out.parent / lock_name
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as err:
        raise OutputWriteError(
            f"Cannot write the output folder {str(out)!r}: a parent ({err.filename or out.parent}) "
            "is not a folder; choose another --out."
        ) from err
    except OSError as err:
        _reraise(err, out)
    try:
        fd = _acquire_lock(lock_path, out)
    except OSError as err:
        _reraise(err, out)
    claim = OutputClaim(out, out, lock_path, fd)
    claim.published = True  # nothing of ours to delete yet
    try:
        _clean_leftovers(out)
        _check_replaceable(out, overwrite)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        claim.tmp_dir, claim.published = tmp, False
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; an output folder follows the umask
        (tmp / MARKER).write_text(json.dumps({"written_by": "neurodl"}) + "\n")
    except BaseException as err:
        claim.release()
        if isinstance(err, OSError):
            _reraise(err, out)
        raise
    return claim
