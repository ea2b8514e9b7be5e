"""What a report shows, as text the template can insert: formatted values, summary cards,
key-value trees, table cells, and figures encoded as ``data:`` URIs.
"""

from __future__ import annotations

import base64
import io
import math
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..exceptions import DataFormatError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Figure formats: MIME type of the embedded data: URI.
_FIGURE_FORMATS = {"png": "image/png", "svg": "image/svg+xml"}


# --------------------------------------------------------------------------------------------
# Value formatting (numbers read well, everything else becomes an escaped string)
# --------------------------------------------------------------------------------------------


def _format_number(value: float, digits: int = 4) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:.{digits}g}"


def _format_scalar(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating)):
        return _format_number(value)
    if isinstance(value, np.ndarray):
        if value.size <= 8:
            return "[" + ", ".join(_format_scalar(v) for v in value.ravel().tolist()) + "]"
        return f"array of shape {value.shape}, dtype {value.dtype}"
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


def _kv_tree(value: Any, depth: int = 0) -> Any:
    """Turn nested mappings/sequences into {"kind": ..., ...} nodes the template walks."""
    if depth > 20:
        return {"kind": "scalar", "text": _format_scalar(value)}
    if isinstance(value, Mapping):
        return {
            "kind": "map",
            "items": [(str(k), _kv_tree(v, depth + 1)) for k, v in value.items()],
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        seq = sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
        if all(not isinstance(v, (Mapping, list, tuple, set, frozenset)) for v in seq):
            return {"kind": "scalar", "text": "[" + ", ".join(_format_scalar(v) for v in seq) + "]"}
        return {"kind": "list", "items": [_kv_tree(v, depth + 1) for v in seq]}
    return {"kind": "scalar", "text": _format_scalar(value)}


def _summary_card(label: str, value: Any) -> dict[str, str]:
    """Return {"label", "value", "detail"} for one summary card."""
    detail = ""
    if isinstance(value, Mapping):
        unknown = set(value) - {"value", "ci", "detail"}
        if "value" not in value or unknown:
            raise ValueError(
                f"Invalid summary entry {label!r}. Allowed: a number, a string, a (low, high) "
                f"pair, or a mapping with keys 'value' and optional 'ci', 'detail'; got keys "
                f"{sorted(map(str, value))}."
            )
        parts = []
        if value.get("ci") is not None:
            low, high = value["ci"]
            parts.append(f"CI [{_format_number(low, 3)}, {_format_number(high, 3)}]")
        if value.get("detail"):
            parts.append(str(value["detail"]))
        detail = " · ".join(parts)
        value = value["value"]
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (int, float, np.integer, np.floating)) for v in value)
    ):
        text = f"[{_format_number(value[0], 3)}, {_format_number(value[1], 3)}]"
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        text = _format_number(value, 3)
    else:
        text = _format_scalar(value)
    return {"label": str(label), "value": text, "detail": detail}


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def _figure_to_bytes(fig: Any, fmt: str, dpi: float) -> bytes:
    buf = io.BytesIO()
    # metadata=None-ish: drop the "Software"/date entries that would make files differ per run.
    meta = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
    fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta, facecolor="white")
    return buf.getvalue()


def _close_figure(fig: Any) -> None:
    """Release a figure: also unregister it from pyplot if pyplot made it (never imports it)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)
    fig.clear()


def _image_uri(fig_or_png: Any, fmt: str, dpi: float) -> str:
    if fmt not in _FIGURE_FORMATS:
        raise ValueError(
            f"Invalid value for 'fmt'. Allowed: {', '.join(map(repr, _FIGURE_FORMATS))}; got {fmt!r}."
        )
    if isinstance(fig_or_png, (bytes, bytearray, memoryview)):
        data = bytes(fig_or_png)
        if not data.startswith(PNG_SIGNATURE):
            raise DataFormatError(
                "'fig_or_png_bytes' given as bytes must be a PNG image (starting with the PNG "
                f"signature); got {len(data)} bytes starting with {data[:8]!r}."
            )
        mime = "image/png"
    elif hasattr(fig_or_png, "savefig"):
        data = _figure_to_bytes(fig_or_png, fmt, dpi)
        mime = _FIGURE_FORMATS[fmt]
        _close_figure(fig_or_png)
    else:
        raise TypeError(
            "'fig_or_png_bytes' must be a matplotlib Figure or PNG bytes; got "
            f"{type(fig_or_png).__name__}."
        )
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def _table_rows(data: Any, max_rows: int) -> tuple[list[str], list[list[str]], int]:
    """Return (header, rows, n_total) with every cell already formatted as text."""
    import pandas as pd

    if isinstance(data, pd.Series):
        data = data.to_frame()
    if isinstance(data, pd.DataFrame):
        df = data
    elif isinstance(data, Mapping):
        df = pd.DataFrame(data)
    elif isinstance(data, Iterable) and not isinstance(data, (str, bytes)):
        records = list(data)
        if not all(isinstance(r, Mapping) for r in records):
            raise TypeError(
                "'dataframe_or_records' given as a sequence must hold mappings (records); got "
                f"{sorted({type(r).__name__ for r in records})}."
            )
        df = pd.DataFrame.from_records(records)
    else:
        raise TypeError(
            "'dataframe_or_records' must be a pandas DataFrame/Series, a mapping of columns or a "
            f"sequence of mappings; got {type(data).__name__}."
        )
    show_index = not isinstance(df.index, pd.RangeIndex) or df.index.name is not None
    header = [str(c) for c in df.columns]
    if show_index:
        header = [str(df.index.name or ""), *header]
    rows = []
    for idx, row in zip(df.index[:max_rows], df.itertuples(index=False)):
        cells = [_format_scalar(v) for v in row]
        rows.append(([_format_scalar(idx)] if show_index else []) + cells)
    return header, rows, len(df)


def _plain(value: Any) -> Any:
    """Convert NumPy scalars/arrays, paths and tuples to types ``yaml.safe_dump`` accepts."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
