"""Files from elsewhere: crafted .h5ad inputs, edited model files, pickles of other objects."""

from __future__ import annotations

import fractions
import re

import h5py
import numpy as np
import pytest
import torch

from biomodels.grn import GRNModel, simulate
from biomodels.grn.odefunc import PRUNABLE
from core import MaskSet, save_torch
from core.cli import main


@pytest.fixture(scope="module")
def small():
    return simulate.simulate_hill_network(6, n_trajectories=6, n_timepoints=4, seed=1)


@pytest.fixture(scope="module")
def saved(small, tmp_path_factory):
    """A saved model (3 hidden units, masks attached) and its state as torch.load reads it."""
    model = GRNModel(small, time_key="time", trajectory_key="trajectory", n_hidden=3, seed=0)
    params = dict(model.func.named_parameters())
    MaskSet({n: torch.arange(params[n].numel()).reshape(params[n].shape) % 2 == 0
             for n in PRUNABLE}).attach(model.func)
    path = model.save(tmp_path_factory.mktemp("grn_safety") / "m.pt")
    return path, torch.load(path, weights_only=True)


# ---------------------------------------------------------------- crafted .h5ad inputs
def _fit(data, out):
    return main(["grn", "fit", str(data), "--time-key", "time", "--trajectory-key",
                 "trajectory", "--epochs", "1", "--hidden", "2", "--quiet", "--out", str(out)])


@pytest.mark.filterwarnings("ignore:the model explains")  # the fit ran before
def test_fit_refuses_an_h5ad_whose_x_is_stored_in_another_file(small, tmp_path, capsys):
    # X as HDF5 external raw storage naming any file the job could read: anndata read it,
    # the fit ran and result.h5ad held that file's bytes (a lab server fitting uploads)
    x = np.asarray(small.X)
    secret = tmp_path / "secret.bin"
    x.tofile(secret)  # a file of the server (here, bytes a fit accepts)
    small.write_h5ad(tmp_path / "upload.h5ad")
    with h5py.File(tmp_path / "upload.h5ad", "r+") as f:
        del f["X"]
        ds = f.create_dataset("X", shape=x.shape, dtype=x.dtype,
                              external=[(str(secret), 0, h5py.h5f.UNLIMITED)])
        ds.attrs["encoding-type"], ds.attrs["encoding-version"] = "array", "0.2.0"
    out = tmp_path / "out"
    rc = _fit(tmp_path / "upload.h5ad", out)
    leaked = (out / "result.h5ad").exists() and secret.read_bytes() in (
        out / "result.h5ad").read_bytes()
    assert (rc, leaked) == (2, False)
    err = capsys.readouterr().err.strip()
    assert re.fullmatch(
        r"prunus: error: '[^']*upload\.h5ad' cannot be read as h5ad: its dataset '/X' keeps "
        r"its values in another file \('[^']*secret\.bin': HDF5 external storage\); .*", err), err
    assert "weights_only" not in err and not out.exists()


def _crafted(path, kind, other):
    """An h5py file with, deep in a group, a link or dataset of ``kind`` into ``other``."""
    with h5py.File(other, "w") as f:
        f["data"] = np.arange(6.0)
    with h5py.File(path, "w") as f:
        f["a/b/values"] = np.zeros(3)
        f["a/b/alias"] = h5py.SoftLink("/a/b/values")  # inside the file: fine
        if kind == "external link":
            f["a/b/c"] = h5py.ExternalLink(str(other), "/data")
        elif kind == "virtual dataset":
            layout = h5py.VirtualLayout(shape=(6,), dtype="f8")
            layout[:] = h5py.VirtualSource(str(other), "data", shape=(6,))
            f["a"].create_virtual_dataset("b/c", layout)
        elif kind == "external storage":
            f["a/b"].create_dataset("c", shape=(6,), dtype="f8",
                                    external=[(str(other), 0, h5py.h5f.UNLIMITED)])


@pytest.mark.parametrize("kind, what", [
    ("external link", r"is a link to '/data' in another file \('[^']*other\.h5'\)"),
    ("virtual dataset", r"is a virtual dataset that maps \(part of\) its values from "
                        r"other files \('[^']*other\.h5'\)"),
    ("external storage", r"keeps its values in another file \('[^']*other\.h5': HDF5 "
                         r"external storage\)"),
])
def test_h5ad_check_refuses_links_and_storage_outside_the_file(tmp_path, kind, what):
    # the same risk as external raw storage: an HDF5 external link or a virtual dataset reads
    # another file while anndata reads the input
    from biomodels.grn.cli import _check_h5ad_file

    _crafted(tmp_path / "in.h5ad", kind, tmp_path / "other.h5")
    with pytest.raises(ValueError, match=r"^'[^']*in\.h5ad' cannot be read as h5ad: its "
                                         r"(dataset|link) '/a/b/c' " + what):
        _check_h5ad_file(tmp_path / "in.h5ad")


def test_h5ad_check_passes_soft_links_and_files_that_are_not_hdf5(tmp_path):
    from biomodels.grn.cli import _check_h5ad_file

    _crafted(tmp_path / "in.h5ad", "soft link only", tmp_path / "other.h5")
    _check_h5ad_file(tmp_path / "in.h5ad")
    (tmp_path / "notes.h5ad").write_text("not HDF5")  # anndata's own error says so
    _check_h5ad_file(tmp_path / "notes.h5ad")


# ---------------------------------------------------------------- edited model files
def _edited(state, path, change):
    state = {**state, "state_dict": dict(state["state_dict"])}
    change(state)
    return save_torch(state, path)


_EDITS = [
    # module 'torch' has no attribute 'bogus', naming no file
    (lambda s: s.update(dtype="bogus"),
     r"dtype is 'bogus', not one of \['bfloat16', 'float16', 'float32', 'float64'\]"),
    (lambda s: s.update(dtype="int64"), r"dtype is 'int64', not one of"),
    # tried to allocate 4.4 GB (100 million hidden units) from a 7 KB file
    (lambda s: s.update(n_hidden=10**8),
     r"n_hidden is 100000000 but the weight 'sum_in.weight' has shape \(3, 6\); expected "
     r"\(100000000, 6\)"),
    # torch's multi-line "Error(s) in loading state_dict for PhoenixODEFunc"
    (lambda s: s.update(n_hidden=9), r"n_hidden is 9 but the weight 'sum_in.weight' has "
                                     r"shape \(3, 6\); expected \(9, 6\)"),
    (lambda s: s.update(genes=s["genes"][:5]),
     r"genes names 5 genes but the weight 'gene_rates' has shape \(6,\); expected \(5,\)"),
    # accepted, though the constructor refuses duplicated var_names
    (lambda s: s.update(genes=[s["genes"][0]] * 6), r"genes has duplicates: \['g0'\]"),
    (lambda s: s.update(genes=list(range(6))), r"genes must be a list of strings"),
    # loaded silently: network() all NaN
    (lambda s: s["state_dict"].update(
        {"sum_in.weight": torch.full((3, 6), float("nan"))}),
     r"the weight 'sum_in.weight' holds NaN or infinite values"),
    (lambda s: s["state_dict"].update({"sum_in.weight_mask": torch.ones(3, 6)}),
     r"the mask 'sum_in.weight_mask' must be a bool tensor of shape \(3, 6\)"),
    (lambda s: s["state_dict"].pop("gene_rates"), r"state_dict lacks the weights \['gene_rates'\]"),
    (lambda s: s.update(offset=torch.zeros(3)),
     r"offset must be a tensor of 6 finite values \(one per gene\)"),
    (lambda s: s.update(scale=torch.zeros(6)),
     r"scale must be a tensor of 6 positive finite values"),
    (lambda s: s.update(start=torch.full((6,), float("nan"))),
     r"start must be a tensor of 6 finite values"),
    (lambda s: s.update(time_range=[float("nan"), 1.0]),
     r"time_range must be two finite increasing times"),
    (lambda s: s.update(prior=torch.zeros(2, 2)),
     r"prior must be None or a tensor of 6 x 6 finite values"),
    (lambda s: s.update(settings=[1, 2]), r"settings must be a dict"),
    (lambda s: s.update(init="bogus"), r"init is 'bogus', not one of \['dash', 'phoenix'\]"),
]


@pytest.mark.parametrize("change, message", _EDITS,
                         ids=[re.sub(r"\W+", "_", m[:24]).strip("_") for _, m in _EDITS])
@pytest.mark.parametrize("onto_data", [False, True], ids=["alone", "onto_data"])
def test_load_checks_an_edited_file_before_building_the_model(small, saved, tmp_path, change,
                                                              message, onto_data):
    path = _edited(saved[1], tmp_path / "edited.pt", change)
    with pytest.raises(ValueError, match=r"^'[^']*edited\.pt' is not a valid GRN model file: "
                                         + message):
        GRNModel.load(path, small if onto_data else None)


def test_the_checks_pass_a_saved_model_with_masks_and_files_of_earlier_versions(small, saved,
                                                                                 tmp_path):
    path, state = saved

    def same_weights(model):
        got = model.func.state_dict()
        assert got.keys() == state["state_dict"].keys()
        return all(torch.equal(got[k], v) for k, v in state["state_dict"].items())

    assert same_weights(GRNModel.load(path)) and same_weights(GRNModel.load(path, small))
    # the first format: no start, time range, trajectories, fit summary, pruner, fit info
    # or environment (it loads onto the data)
    first = {k: v for k, v in state.items() if k not in (
        "start", "time_range", "trajectories", "fit_summary", "pruner", "fit_info",
        "environment")}
    assert same_weights(GRNModel.load(save_torch(first, tmp_path / "first.pt"), small))
    # float64 and bfloat16 models
    for dtype in (torch.float64, torch.bfloat16):
        model = GRNModel(small, time_key="time", trajectory_key="trajectory", n_hidden=2,
                         dtype=dtype)
        assert GRNModel.load(model.save(tmp_path / "d.pt")).dtype == dtype


# ---------------------------------------------------------------- pickles of other objects
@pytest.mark.parametrize("load", [
    lambda p: GRNModel.load(p),
    lambda p: MaskSet.load(p),
    lambda p: __import__("biomodels.grn.checkpoint", fromlist=["x"]).read_torch_file(
        p, f"checkpoint {str(p)!r} cannot be read"),
])
def test_a_pickle_of_other_objects_is_refused_in_one_line_without_torchs_advice(tmp_path, load):
    # torch's message advised "Re-running torch.load with weights_only set to False will
    # likely succeed, but it can result in arbitrary code execution": for a crafted file
    path = tmp_path / "upload.pt"
    torch.save({"format": "prunus.grn/1", "x": fractions.Fraction(1, 3)}, path)
    with pytest.raises(ValueError) as err:
        load(path)
    text = str(err.value)
    # torch < 2.4's message names no class, so neither can ours
    old_torch = tuple(int(v) for v in torch.__version__.split(".")[:2]) < (2, 4)
    named = "" if old_torch else r" \(fractions\.Fraction\)"
    assert re.fullmatch(
        r"(checkpoint )?'[^']*upload\.pt' cannot be read[^:]*: it holds Python objects "
        r"other than tensors and plain values" + named + ", so prunus refuses "
        r"to load it \(it may be crafted, or not written by prunus\)", text), text
    assert "weights_only" not in text


# ---------------------------------------------------------------- files that are not there
def test_a_missing_file_or_a_folder_raises_the_oserror_the_other_loaders_raise(tmp_path):
    # GRNModel.load raised ValueError ("'missing.pt' cannot be read as a saved GRN model:
    # [Errno 2] ...") for both, where CTMC.load, CascadeFit.load, FJFit.load and MaskSet.load
    # raise FileNotFoundError / IsADirectoryError: `except FileNotFoundError` missed GRN's
    from biomodels.grn.checkpoint import read_torch_file

    missing = tmp_path / "missing.pt"
    with pytest.raises(FileNotFoundError) as err:
        GRNModel.load(missing)
    assert str(err.value) == (f"{str(missing)!r} cannot be read as a saved GRN model: "
                              f"[Errno 2] No such file or directory: {str(missing)!r}")
    assert err.value.errno == 2  # errno.ENOENT, for code that tests it
    with pytest.raises(IsADirectoryError, match=r"^'[^']*' cannot be read as a saved GRN "
                       r"model: \[Errno 21\] Is a directory") as err:
        GRNModel.load(tmp_path)
    assert err.value.errno == 21
    # as MaskSet.load, the other torch-file loader
    for load in (GRNModel.load, MaskSet.load):
        with pytest.raises(FileNotFoundError):
            load(str(missing))
        with pytest.raises(IsADirectoryError):
            load(str(tmp_path))
    # a checkpoint that is a folder: the same class, still saying how to start afresh
    with pytest.raises(IsADirectoryError, match=r"cannot be read \(delete it to start"):
        read_torch_file(tmp_path, f"checkpoint {str(tmp_path)!r} cannot be read (delete it "
                                  "to start the fit afresh)")
