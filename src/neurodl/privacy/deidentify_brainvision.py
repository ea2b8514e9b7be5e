"""De-identify BrainVision recordings: header comments, marker texts and dates; ``.eeg`` unchanged.

- ``.vhdr``: the ``[Comment]`` section (amplifier setup, impedances with their date and time,
  free text) and every ``;`` comment line are dropped; ``DataFile=`` / ``MarkerFile=`` names get
  re-coded subject codes; everything else is kept line for line.
- ``.vmrk``: every marker description (``Mk<n>=<type>,<description>,<position>,<size>,<channel>
  [,<date>]``) becomes a neutral code (``A1``, ``A2``...; the same text gets the same code),
  positions, sizes and channels kept; ``New Segment`` dates move back by the subject's offset;
  ``;`` comment lines are dropped.
- ``.eeg``: copied byte for byte.

Files are read as Latin-1 (a lossless byte mapping), so UTF-8 files come back byte for byte too.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable
from pathlib import Path

__all__ = ["deidentify_eeg_data", "deidentify_vhdr", "deidentify_vmrk"]

_MARKER = re.compile(r"^(Mk\d+=)([^,]*),([^,]*)(,.*)$")
_DATE = re.compile(r"^(\d{14})(\d{6})$")


def _lines(path: Path) -> list[str]:
    return path.read_bytes().decode("latin-1").splitlines(keepends=True)


def deidentify_vhdr(src: Path, dst: Path, recode: Callable[[str], str]) -> dict[str, object]:
    """Write the header ``src`` without comments; returns what was removed.

    Examples
    --------
    >>> import tempfile
    >>> header = "\\n".join([
    ...     "Brain Vision Data Exchange Header File Version 1.0",
    ...     "; recorded by Dr Smith",
    ...     "[Common Infos]",
    ...     "DataFile=sub-JD1984.eeg",
    ...     "MarkerFile=sub-JD1984.vmrk",
    ...     "[Comment]",
    ...     "Patient: Jane Doe",
    ...     "Impedances measured at 09:28:11 on 04.03.2021",
    ... ]) + "\\n"
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "rec.vhdr").write_text(header)
    ...     found = deidentify_vhdr(Path(tmp) / "rec.vhdr", Path(tmp) / "clean.vhdr",
    ...                             lambda text: text.replace("JD1984", "P01"))
    ...     print((Path(tmp) / "clean.vhdr").read_text())
    Brain Vision Data Exchange Header File Version 1.0
    [Common Infos]
    DataFile=sub-P01.eeg
    MarkerFile=sub-P01.vmrk
    <BLANKLINE>
    >>> found
    {'comment_lines_removed': 4}
    """
    lines = _lines(src)
    out = lines[:1]  # the identification line
    dropped_comment_lines = 0
    comment_section = False
    for line in lines[1:]:
        stripped = line.strip()
        if stripped.startswith("["):
            comment_section = stripped.lower() == "[comment]"
        if comment_section:
            dropped_comment_lines += 1
            continue
        if stripped.startswith(";"):
            dropped_comment_lines += 1
            continue
        if stripped.startswith(("DataFile=", "MarkerFile=")):
            line = recode(line)
        out.append(line)
    dst.write_bytes("".join(out).encode("latin-1"))
    return {"comment_lines_removed": dropped_comment_lines}


def _shift_marker_date(value: str, offset_days: int) -> tuple[str, bool]:
    match = _DATE.fullmatch(value.strip())
    if not match or set(match.group(1)) == {"0"}:
        return value, False
    try:
        when = dt.datetime.strptime(match.group(1), "%Y%m%d%H%M%S")
    except ValueError:
        return value, False
    shifted = when - dt.timedelta(days=offset_days)
    return shifted.strftime("%Y%m%d%H%M%S") + match.group(2), True


def deidentify_vmrk(
    src: Path,
    dst: Path,
    offset_days: int,
    codes: dict[bytes, bytes],
    recode: Callable[[str], str],
) -> dict[str, object]:
    """Write the marker file ``src`` with neutral descriptions and shifted dates.

    Examples
    --------
    >>> import tempfile
    >>> markers = "\\n".join([
    ...     "Brain Vision Data Exchange Marker File, Version 1.0",
    ...     "[Marker Infos]",
    ...     "Mk1=New Segment,,1,1,0,20210304093000000000",
    ...     "Mk2=Comment,Jane fell asleep,500,1,0",
    ... ]) + "\\n"
    >>> codes = {}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "rec.vmrk").write_text(markers)
    ...     found = deidentify_vmrk(Path(tmp) / "rec.vmrk", Path(tmp) / "clean.vmrk", 400, codes,
    ...                             lambda text: text)
    ...     print((Path(tmp) / "clean.vmrk").read_text())
    Brain Vision Data Exchange Marker File, Version 1.0
    [Marker Infos]
    Mk1=New Segment,,1,1,0,20200129093000000000
    Mk2=Comment,A1,500,1,0
    <BLANKLINE>
    >>> found  # the date moved 400 days back, the text coded
    {'marker_texts_replaced': 1, 'comment_lines_removed': 0, 'dates_shifted': 1}
    >>> codes
    {b'Jane fell asleep': b'A1'}
    """
    out = []
    found = {"marker_texts_replaced": 0, "comment_lines_removed": 0, "dates_shifted": 0}
    for line in _lines(src):
        stripped = line.strip()
        if stripped.startswith(";"):
            found["comment_lines_removed"] += 1
            continue
        if stripped.startswith("DataFile="):
            line = recode(line)
        match = _MARKER.match(line.rstrip("\r\n"))
        if match:
            head, kind, text, rest = match.groups()
            if text:
                text = codes.setdefault(text.encode("latin-1"), b"A%d" % (len(codes) + 1)).decode()
                found["marker_texts_replaced"] += 1
            fields = rest.split(",")
            if len(fields) >= 5 and kind == "New Segment":  # ,pos,size,channel,date
                fields[4], shifted = _shift_marker_date(fields[4], offset_days)
                found["dates_shifted"] += int(shifted)
            ending = line[len(line.rstrip("\r\n")) :]
            line = f"{head}{kind},{text}{','.join(fields)}{ending}"
        out.append(line)
    dst.write_bytes("".join(out).encode("latin-1"))
    return found


def deidentify_eeg_data(src: Path, dst: Path) -> dict[str, object]:
    """Copy the binary data file byte for byte.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> signal = np.arange(8, dtype="<f4").tobytes()  # the .eeg samples carry no identity
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "rec.eeg").write_bytes(signal)
    ...     found = deidentify_eeg_data(Path(tmp) / "rec.eeg", Path(tmp) / "clean.eeg")
    ...     same = (Path(tmp) / "clean.eeg").read_bytes() == signal
    >>> found, same
    ({}, True)
    """
    shutil.copyfile(src, dst)
    return {}
