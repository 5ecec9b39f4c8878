"""Data sets with a known gene regulatory network that work offline.

``krumsiek11`` is scanpy's simulation of the myeloid differentiation network of Krumsiek et al.
("Hierarchical differentiation of myeloid progenitors is encoded in the transcription factor
network", *PLoS ONE* 6:e22649, 2011): 11 transcription factors, 4 realisations of 160 steps
that branch from a common progenitor into monocytes, erythrocytes, megakaryocytes and
neutrophils. Its true signed network ships inside scanpy (``scanpy/sim_models/krumsiek11.txt``)
and is identical to BEELINE's HSC reference network (Pratapa et al., *Nature Methods* 2020).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData

__all__ = ["krumsiek11", "krumsiek11_network"]

#: Number of realisations and steps per realisation in scanpy's krumsiek11 data.
_N_TRAJ = 4
_N_STEPS = 160


def _scanpy_dir() -> Path:
    import scanpy

    return Path(scanpy.__file__).resolve().parent


def _model_file() -> Path:
    path = _scanpy_dir() / "sim_models" / "krumsiek11.txt"
    if not path.is_file():
        raise FileNotFoundError(
            f"scanpy's krumsiek11 model file is missing ({path}); reinstall scanpy>=1.10"
        )
    return path


def _parse_coupling_list(path: Path) -> tuple[list[str], list[tuple[str, str, float]]]:
    """Gene order (from the Boolean rules) and (target, regulator, weight) couplings."""
    genes: list[str] = []
    couplings: list[tuple[str, str, float]] = []
    section = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            low = line.lower()
            if "boolean update rules" in low:
                section = "rules"
            elif "coupling list" in low:
                section = "couplings"
            continue
        if section == "rules":
            genes.append(line.split("=", 1)[0].strip())
        elif section == "couplings":
            fields = line.split()
            if len(fields) != 3:
                raise ValueError(f"unexpected coupling line in {path}: {raw!r}")
            couplings.append((fields[0], fields[1], float(fields[2])))
    if not genes or not couplings:
        raise ValueError(f"could not find the rules and coupling list in {path}")
    return genes, couplings


def krumsiek11_network() -> pd.DataFrame:
    """Return the true signed network behind scanpy's krumsiek11 data.

    Parsed from ``scanpy/sim_models/krumsiek11.txt``, whose coupling list is written
    *target, regulator, weight*; returned transposed into the package orientation.

    Returns
    -------
    pandas.DataFrame
        11 x 11 float64 matrix, **rows = regulators, columns = targets**, entry = coupling
        weight of the Hill model (positive = activation, negative = repression, 0 = no edge),
        genes in the file's order (Gata2, Gata1, Fog1, EKLF, Fli1, SCL, Cebpa, Pu.1, cJun,
        EgrNab, Gfi1). 30 edges: 26 between distinct genes and 4 self-loops (Gata2, Gata1,
        Cebpa, Pu.1); 15 activating, 15 repressing.

    Examples
    --------
    >>> net = krumsiek11_network()
    >>> float(net.loc["Cebpa", "Pu.1"])  # Cebpa activates Pu.1
    10.0
    """
    genes, couplings = _parse_coupling_list(_model_file())
    net = pd.DataFrame(0.0, index=pd.Index(genes), columns=pd.Index(genes))
    for target, regulator, weight in couplings:
        if target not in net.index or regulator not in net.index:
            raise ValueError(f"coupling {regulator} -> {target} names an unknown gene")
        net.loc[regulator, target] = weight
    net.index.name = "regulator"
    net.columns.name = "target"
    return net


def krumsiek11() -> AnnData:
    """Scanpy's simulated myeloid progenitors, prepared for GRN inference.

    Loads :func:`scanpy.datasets.krumsiek11` (shipped with scanpy, no download) and adds the
    keys a dynamical GRN model needs. The data file holds 4 realisations of the same
    stochastic Hill-type simulation, each 160 steps long and written one after the other
    (the iteration counter restarts at 0 at rows 160, 320 and 480); every realisation starts
    from the progenitor state (Gata2, Cebpa and Pu.1 high, all other genes near 0) and ends in
    one fate: monocyte (Mo), erythrocyte (Ery), megakaryocyte (Mk) and neutrophil (Neu).

    Returns
    -------
    anndata.AnnData
        640 cells x 11 genes, ``X`` as in scanpy (values in about [-0.016, 1.01]), with

        - ``obs["time"]``: float, the step (0-159) within the realisation;
        - ``obs["trajectory"]``: categorical, ``"0"`` to ``"3"``, the realisation;
        - ``varp["truth"]``: the true signed network of :func:`krumsiek11_network`
          (rows = regulators, columns = targets, in ``var_names`` order);
        - ``obs_names`` made unique as ``"<trajectory>_<step>"`` (the file repeats the step
          numbers, which anndata warns about on every copy).

        ``obs["cell_type"]``, ``uns["iroot"]`` and ``uns["highlights"]`` are scanpy's, the
        latter with string keys so that the object can be written to h5ad.

    Examples
    --------
    >>> adata = krumsiek11()
    >>> adata.obs["trajectory"].value_counts().tolist()
    [160, 160, 160, 160]
    """
    import scanpy as sc

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*names are not unique.*")
        adata = sc.datasets.krumsiek11()
    steps = np.asarray([int(float(n)) for n in adata.obs_names])
    starts = np.flatnonzero(steps == 0)
    expected = np.arange(_N_TRAJ) * _N_STEPS
    if adata.n_obs != _N_TRAJ * _N_STEPS or not np.array_equal(starts, expected):
        raise RuntimeError(
            "scanpy's krumsiek11 file does not have the expected layout "
            f"({_N_TRAJ} realisations x {_N_STEPS} steps); found restarts at rows "
            f"{starts.tolist()} among {adata.n_obs}"
        )
    traj = np.repeat(np.arange(_N_TRAJ), _N_STEPS)
    if not np.array_equal(steps, np.tile(np.arange(_N_STEPS), _N_TRAJ)):
        raise RuntimeError("scanpy's krumsiek11 steps are not 0..159 within each realisation")
    adata.obs_names = pd.Index([f"{k}_{s}" for k, s in zip(traj, steps)])
    adata.obs["time"] = steps.astype(np.float64)
    adata.obs["trajectory"] = pd.Categorical(
        [str(k) for k in traj], categories=[str(k) for k in range(_N_TRAJ)]
    )
    truth = krumsiek11_network()
    names = [str(g) for g in adata.var_names]
    if set(names) != set(truth.index):
        raise RuntimeError(
            f"krumsiek11 genes {names} do not match the model file genes {list(truth.index)}"
        )
    adata.varp["truth"] = truth.loc[names, names].to_numpy(dtype=np.float64)
    if isinstance(adata.uns.get("highlights"), dict):  # int keys cannot be written to h5ad
        adata.uns["highlights"] = {str(k): v for k, v in adata.uns["highlights"].items()}
    return adata
