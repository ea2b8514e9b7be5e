"""A bounded, seeded fuzzer over the readers and small real fixtures (issue 18, item 6).

Every fixture is damaged in three ways: truncated at random lengths, random bytes flipped (in
the header region and anywhere), and numeric header fields overwritten with huge values. Each
damaged file must give one of:

- a result (byte flips in sample data legitimately change values; formats carry no checksum),
- a clear neurodl error (:class:`~neurodl.exceptions.NeurodlError`),

never another exception, a MemoryError (the address space is capped 3 GiB above what the process maps at the start) or a hang.
Truncations of binary formats must never read as a *shorter* recording (no silent truncation);
text formats cut at a line boundary cannot be told apart from a shorter file and are exempt.
Python warnings raised by the libraries underneath (numpy overflow on absurd scaling factors,
MNE notes) are documented outcomes and recorded, not failures.

``NEURODL_FUZZ_CASES`` (default 12) sets the cases per fixture and mutation; the suite runs
528 cases (11 fixtures x 4 mutations x 12). A longer run:
``NEURODL_FUZZ_CASES=100 pytest tests/io/test_io_fuzz.py`` (60 per kind: 2640 cases, about 50 s;
it found nibabel's MGHError escaping).
"""

from __future__ import annotations

import os
import resource
import shutil
import struct
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from neurodl.exceptions import NeurodlError
from neurodl.io.arrays import read_array
from neurodl.io.eeg import read_annotations, read_chbmit_seizures, read_raw
from neurodl.io.fmri import read_nifti

N_CASES = int(os.environ.get("NEURODL_FUZZ_CASES", "12"))
SUBSET = "eeg/mne_testing_subset"

#: name -> (files relative to the data root (first = the one mutated, others copied beside),
#:          reader, header bytes, binary: truncation must not shorten silently).
FIXTURES: dict[str, tuple[tuple[str, ...], Callable[[Path], object], int, bool]] = {
    "edf": ((f"{SUBSET}/EDF/test_utf8_annotations.edf",), read_raw, 256 + 16 * 256, True),
    "edf_hypnogram": ((f"{SUBSET}/EDF/SC4001EC-Hypnogram.edf",), read_annotations, 512, False),
    "bdf": ((f"{SUBSET}/BDF/test_bdf_stim_channel.bdf",), read_raw, 256 + 2 * 256, True),
    "gdf": ((f"{SUBSET}/GDF/test_1ch.gdf",), read_raw, 512, True),
    "brainvision_vhdr": (
        (f"{SUBSET}/Brainvision/test_NO.vhdr", f"{SUBSET}/Brainvision/test_NO.eeg",
         f"{SUBSET}/Brainvision/test_NO.vmrk"),
        read_raw, 400, False,
    ),
    "brainvision_eeg": (
        (f"{SUBSET}/Brainvision/test_NO.eeg", f"{SUBSET}/Brainvision/test_NO.vhdr",
         f"{SUBSET}/Brainvision/test_NO.vmrk"),
        lambda p: read_raw(p.with_suffix(".vhdr")), 0, True,
    ),
    "wfdb_seizures": ((f"{SUBSET}/wfdb/chb06_04.edf.seizures",), read_chbmit_seizures, 64, False),
    "nifti": (("fmri/nibabel_testdata/functional.nii",), lambda p: read_nifti(p, tr=2.0), 352, True),
    "nifti_gz": (("fmri/nibabel_testdata/example_nifti2.nii.gz",), read_nifti, 64, True),
    "mgz": (("fmri/nibabel_testdata/test.mgz",), read_nifti, 64, True),
    "bonn_txt": (("eeg/bonn/A_Z/Z001.txt",), lambda p: read_array(p, sfreq=173.61), 0, False),
}  # fmt: skip


def _length(result: object) -> int | None:
    for attr in ("n_times", "n_volumes"):
        if hasattr(result, attr):
            return int(getattr(result, attr))
    return None


def _mutations(data: bytes, header: int, rng: np.random.Generator):
    n = len(data)
    for _ in range(N_CASES):  # truncations (never the full length)
        cut = int(rng.integers(0, n))
        yield "truncate", data[:cut]
    for _ in range(N_CASES):  # byte flips in the header region
        out = bytearray(data)
        for pos in rng.integers(0, max(min(header, n), 1), size=int(rng.integers(1, 5))):
            out[pos] ^= int(rng.integers(1, 256))
        yield "flip_header", bytes(out)
    for _ in range(N_CASES):  # byte flips anywhere
        out = bytearray(data)
        for pos in rng.integers(0, n, size=int(rng.integers(1, 9))):
            out[pos] ^= int(rng.integers(1, 256))
        yield "flip_any", bytes(out)
    for _ in range(N_CASES):  # a huge number written over a header field
        out = bytearray(data)
        pos = int(rng.integers(0, max(min(header, n) - 8, 1)))
        huge = rng.choice([2**31 - 1, 2**32 - 1, 10**12, 2**62])
        if rng.random() < 0.5:
            text = str(int(huge)).encode()[:8].ljust(8)
            out[pos : pos + 8] = text
        else:
            out[pos : pos + 8] = struct.pack("<q", int(huge))
        yield "huge_field", bytes(out[:n])


def _address_space() -> int:
    """This process's mapped address space in bytes (``VmSize``)."""
    text = Path("/proc/self/status").read_text()
    return int(text.split("VmSize:")[1].split()[0]) * 1024


@pytest.fixture(scope="module")
def capped_memory():
    # 3 GiB above what the process has already mapped: a worker that imported torch, Ray,
    # pyarrow and zarr for earlier tests maps several GiB of libraries and thread stacks, so an
    # absolute cap would fail ordinary 50 MB allocations; only a huge one may hit this cap
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _address_space() + 3 * 2**30
    resource.setrlimit(
        resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard)
    )
    yield
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.mark.realdata
@pytest.mark.parametrize("name", list(FIXTURES))
def test_fuzzed_fixture_gives_a_result_or_a_clear_error(name, shared_data, tmp_path, capped_memory):
    files, reader, header, binary = FIXTURES[name]
    sources = [shared_data(f) for f in files]
    original = reader(sources[0])
    full_length = _length(original)
    rng = np.random.default_rng(sum(map(ord, name)))  # seeded: the same cases every run
    tally: dict[str, int] = {}
    failures = []
    for i, (kind, damaged) in enumerate(_mutations(sources[0].read_bytes(), header, rng)):
        case = tmp_path / f"case{i}"
        case.mkdir()
        for src in sources[1:]:
            shutil.copy(src, case / src.name)
        target = case / sources[0].name
        target.write_bytes(damaged)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = reader(target)
                outcome = "result"
            except NeurodlError:
                outcome = "neurodl_error"
            except Exception as err:  # the defect this test exists for
                failures.append(f"{kind} #{i}: {type(err).__name__}: {str(err)[:160]}")
                outcome = "other"
        if caught:
            tally["warned"] = tally.get("warned", 0) + 1
        tally[outcome] = tally.get(outcome, 0) + 1
        if outcome == "result" and kind == "truncate" and binary and full_length is not None:
            length = _length(result)
            if length is not None and length < full_length:
                failures.append(f"truncate #{i}: silently read {length} of {full_length} samples")
        shutil.rmtree(case)
    assert failures == [], f"{name}: {tally}\n" + "\n".join(failures)
    assert sum(tally.get(k, 0) for k in ("result", "neurodl_error")) == 4 * N_CASES
