"""Brain maps on anatomy (nilearn plot_stat_map) in the HTML report; the MNI template offline."""

from __future__ import annotations

import base64
import io
import re
import socket

import nibabel as nib
import numpy as np
import pytest
from matplotlib.figure import Figure

from neurodl.exceptions import DataFormatError
from neurodl.report import Report
from neurodl.report.figures.brain_maps import mean_volume, mni_template, plot_brain_map


def _no_network(monkeypatch, tmp_path):
    """Any socket connection fails, and nilearn's data folder is empty."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("NILEARN_DATA", str(tmp_path / "nilearn_data"))
    monkeypatch.setenv("NILEARN_SHARED_DATA", str(tmp_path / "nilearn_shared"))


def _pngs(html: str) -> list[bytes]:
    return [
        base64.b64decode(m) for m in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)
    ]


def test_mni_template_is_packaged_and_offline(monkeypatch, tmp_path):
    _no_network(monkeypatch, tmp_path)
    t = mni_template()
    assert t.shape == (99, 117, 95) and np.allclose(np.diag(t.affine)[:3], 2.0)
    data = t.get_fdata()
    assert 0.9 < data.max() <= 1.0 and (data > 0.1).mean() > 0.2  # a brain, not zeros
    assert not (tmp_path / "nilearn_data").exists()  # nothing fetched into the data folder


@pytest.mark.realdata
def test_mni_template_equals_the_shared_copy(shared_data, monkeypatch, tmp_path):
    _no_network(monkeypatch, tmp_path)
    ref = nib.load(
        shared_data("fmri/nilearn_templates/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz")
    )
    ours = mni_template(resolution=1)
    np.testing.assert_allclose(ours.affine, ref.affine)
    ref_data = ref.get_fdata()
    np.testing.assert_allclose(ours.get_fdata(), ref_data / ref_data.max(), atol=1e-6)


@pytest.mark.realdata
def test_group_map_on_mni_in_report(shared_data, monkeypatch, tmp_path):
    _no_network(monkeypatch, tmp_path)
    stat = shared_data("fmri/nilearn_templates/image_10426.nii.gz")
    fig = plot_brain_map(stat, title="group t map", bg_img="mni", threshold=3.0)
    assert isinstance(fig, Figure)
    rep = Report("brain maps").add_figure(fig, title="Group map on MNI152")
    html = rep.save(tmp_path / "r.html").read_text()
    assert "Group map on MNI152" in html
    png = _pngs(html)
    assert png and all(p.startswith(b"\x89PNG") for p in png)


def _slab_map(rng):
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    data = np.zeros((8, 6, 1), np.float32)
    data[2:6, 1:5, 0] = rng.normal(size=(4, 4))
    return nib.Nifti1Image(data, affine)


def test_single_slice_map_on_mean_epi_has_colour_where_the_map_is(rng):
    stat = _slab_map(rng)
    bg = mean_volume(rng.normal(100, 5, size=(8, 6, 1, 10)), stat.affine)
    fig = plot_brain_map(stat, title="weights", bg_img=bg, colorbar_label="weight")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    from matplotlib.image import imread

    rgb = imread(io.BytesIO(buf.getvalue()))[..., :3]
    coloured = (rgb.max(-1) - rgb.min(-1)) > 0.25  # red/blue pixels of the RdBu map
    assert coloured.mean() > 0.01
    assert "weights (weight)" in fig.texts[0].get_text()


def test_map_without_background(rng):
    fig = plot_brain_map(_slab_map(rng), title="no anatomy", bg_img=None)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    assert buf.getvalue().startswith(b"\x89PNG")


def test_brain_map_errors(rng):
    stat = _slab_map(rng)
    with pytest.raises(DataFormatError, match="no finite non-zero"):
        plot_brain_map(nib.Nifti1Image(np.zeros((4, 4, 4), np.float32), np.eye(4)), title="x")
    with pytest.raises(DataFormatError, match="3-D map"):
        plot_brain_map(nib.Nifti1Image(np.ones((4, 4, 4, 2), np.float32), np.eye(4)), title="x")
    with pytest.raises(ValueError, match="'display_mode'"):
        plot_brain_map(stat, title="x", display_mode="sideways")
    with pytest.raises(DataFormatError, match="no such file"):
        plot_brain_map(stat, title="x", bg_img="missing_t1.nii.gz")
    with pytest.raises(DataFormatError, match="3-D or 4-D"):
        mean_volume(np.zeros((3, 3)), np.eye(4))
