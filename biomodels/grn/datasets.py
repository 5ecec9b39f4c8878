"""Data sets with a known gene regulatory network that work offline.

``krumsiek11`` is scanpy's simulation of the myeloid differentiation network of Krumsiek et al.
("Hierarchical differentiation of myeloid progenitors is encoded in the transcription factor
network", *PLoS ONE* 6:e22649, 2011): 11 transcription factors, 4 realisations of 160 steps
that branch from a common progenitor into monocytes, erythrocytes, megakaryocytes and
neutrophils. Its true signed network ships inside scanpy (``scanpy/sim_models/krumsiek11.txt``)
and is identical to BEELINE's HSC reference network (Pratapa et al., *Nature Methods* 2020).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from anndata import AnnData

__all__ = ["krumsiek11", "krumsiek11_network", "krumsiek11_simulate"]

#: Number of realisations and steps per realisation in scanpy's krumsiek11 data.
_N_TRAJ = 4
_N_STEPS = 160
#: Euler steps of the model file's Hill kinetics between two recorded cells: with 5, one step
#: of the noise-free model explains 95 % of the data's one-step changes and leaves residuals
#: without autocorrelation (lag-1 correlation 0.00; with 4 or 6 steps 0.39 and 0.36, with 1,
#: the file's own time step, 0.84)
_SUBSTEPS = 5


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


def _parse_model(path: Path) -> tuple[dict[str, str], list[tuple[str, str, float]]]:
    """Boolean rules ``{gene: rule}`` in file order and (target, regulator, weight) couplings."""
    rules: dict[str, str] = {}
    couplings: list[tuple[str, str, float]] = []
    section = None
    for raw in path.read_text(encoding="utf-8").splitlines():
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
            gene, _, rule = line.partition("=")
            rules[gene.strip()] = rule.strip()
        elif section == "couplings":
            fields = line.split()
            if len(fields) != 3:
                raise ValueError(f"unexpected coupling line in {path}: {raw!r}")
            couplings.append((fields[0], fields[1], float(fields[2])))
    if not rules or not couplings:
        raise ValueError(f"could not find the rules and coupling list in {path}")
    return rules, couplings


def _parse_coupling_list(path: Path) -> tuple[list[str], list[tuple[str, str, float]]]:
    """Gene order (from the Boolean rules) and (target, regulator, weight) couplings."""
    rules, couplings = _parse_model(path)
    return list(rules), couplings


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

    # scanpy's file read as scanpy.datasets.krumsiek11 reads it, but with its step column
    # as data rather than as cell names: those repeat, which anndata warns about, and
    # silencing that with warnings.catch_warnings swaps the filters of the whole process;
    # in threads, any library's own catch_warnings overlapping ours put them back out of
    # order and left "ignore names are not unique" in them for good (a lock around ours
    # could not stop that)
    path = _scanpy_dir() / "datasets" / "krumsiek11.txt"
    if not path.is_file():
        raise RuntimeError(f"scanpy's krumsiek11 data file is missing ({path}); reinstall "
                           "scanpy>=1.10")
    table = sc.read_text(path, first_column_names=False)
    steps = np.asarray(table.X[:, 0], dtype=np.float64).round().astype(np.int64)
    adata = AnnData(np.ascontiguousarray(table.X[:, 1:]),
                    var=pd.DataFrame(index=table.var_names[1:]))
    # scanpy's annotations: the fates of the last 80 steps of each realisation, the root
    # cell and the highlighted cells
    cell_type = np.full(adata.n_obs, "progenitor", dtype=object)
    for k, fate in enumerate(("Mo", "Ery", "Mk", "Neu")):
        cell_type[160 * k + 80 : 160 * (k + 1)] = fate
    adata.obs["cell_type"] = pd.Categorical(cell_type)
    adata.uns["iroot"] = 0
    adata.uns["highlights"] = {0: "Stem", 159: "Mo", 319: "Ery", 459: "Mk", 619: "Neu"}
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


def _perturb_dict(perturb: Any) -> dict[Any, Any]:
    """``perturb`` as a dict ``{gene: value}``; a pandas Series is keyed by gene like one.

    Shared by :func:`krumsiek11_simulate` and :meth:`GRNModel.simulate`, which refused a
    Series ("perturb must be a mapping"). Keys are gene names as text, as
    :func:`~biomodels.grn.prior.align_prior` reads labels: ``{3: 0.0}`` names gene ``"3"``.
    """
    if isinstance(perturb, pd.Series):
        items = list(perturb.items())
    elif perturb is not None and not isinstance(perturb, Mapping):
        raise TypeError(f"perturb must be a mapping {{gene: value}} (a dict or a pandas "
                        f"Series), got {type(perturb).__name__}")
    else:
        items = list((perturb or {}).items())
    # as text: an int key never matched a gene named "3" (numeric ids such as Entrez),
    # while a prior with int labels was matched to it
    out: dict[str, Any] = {}
    dup: list[str] = []
    for gene, value in items:
        key = str(gene)
        if key in out and key not in dup:  # a Series' to_dict kept the last value silently
            dup.append(key)
        out[key] = value
    if dup:
        raise ValueError(f"perturb names genes more than once: {dup}")
    return out


def _states_by_name(y0: Any, genes: Sequence[str], name: str = "y0") -> Any:
    """Return a labelled ``y0`` as an array with its genes in the order of ``genes``.

    Shared by :func:`krumsiek11_simulate` and :meth:`GRNModel.simulate`: a pandas Series
    (one state, e.g. ``adata.to_df().iloc[0]``) or DataFrame (one state per row, genes as
    columns) is matched to ``genes`` by its labels as text, as the prior's labels and
    ``perturb``'s keys are; labels beyond ``genes`` are ignored. Anything else, and pandas
    objects with the default labels 0, 1, ... (none of them a gene), is taken by position.
    krumsiek11_simulate read a Series of reordered genes by position, so each gene started
    at another gene's value.
    """
    if isinstance(y0, pd.Series):
        labels, values = y0.index, y0
    elif isinstance(y0, pd.DataFrame):
        labels, values = y0.columns, y0
    else:
        return y0
    text = pd.Index([str(g) for g in labels])
    known, present = set(genes), set(text)
    if isinstance(labels, pd.RangeIndex) and not known & present:
        # the default labels 0..G-1 (pd.Series(array), pd.DataFrame(adata.X), a CSV read
        # with header=None) name no gene: positional, as the array they hold
        return values.to_numpy()
    missing = [g for g in genes if g not in present]
    if missing:
        unknown = [g for g in text if g not in known]
        note = (f", and these labels name no gene: {unknown[:5]}{' ...' * (len(unknown) > 5)}"
                if unknown else "")
        raise ValueError(f"{name} lacks genes {missing[:5]}{' ...' * (len(missing) > 5)}: a "
                         f"{type(y0).__name__} {name} is matched to the genes by its "
                         f"labels{note}")
    dup = sorted({g for g in text[text.duplicated()] if g in known})
    if dup:
        raise ValueError(f"{name} names genes more than once: {dup[:5]}")
    where = {g: i for i, g in enumerate(text) if g in known}
    order = [where[g] for g in genes]
    if isinstance(values, pd.Series):
        return values.iloc[order].to_numpy()
    return values.iloc[:, order].to_numpy()


def _one_state(y0: Any) -> bool:
    """Whether ``y0`` is a single initial state: 1-D, or a 1 x G row of a matrix type.

    A scipy sparse matrix and ``np.matrix`` are always 2-D: ``adata.X[i]`` of a sparse X is
    a 1 x G matrix where a dense X gives a 1-D row, and ``X.mean(axis=0)`` of a sparse X is
    a 1 x G ``np.matrix``. Read as one state of many, they gave (T, 1, G) trajectories where
    the dense row gave (T, G). A 2-D array (or sparse array) keeps its rows: ``X[:1]``.
    """
    import scipy.sparse as sp

    if isinstance(y0, sp.spmatrix | np.matrix):
        return len(y0.shape) == 2 and y0.shape[0] == 1
    if isinstance(y0, pd.Series | pd.DataFrame):
        return isinstance(y0, pd.Series)
    shape = getattr(y0, "shape", None)
    return len(shape) == 1 if shape is not None else np.ndim(y0) == 1


def _perturb_values(perturb: dict[str, Any], units: str = "") -> dict[str, float]:
    """Return the clamp values of :func:`_perturb_dict`'s result as checked floats.

    A value is a finite real number: a Python or numpy scalar, or a 0-d array or tensor (not
    a bool); a ValueError lists the others (``units`` says in what the values are read).
    """

    def number(v: Any) -> float | None:
        if isinstance(v, torch.Tensor):  # also one that needs grad or lives on a GPU
            v = v.detach().cpu()
            v = v if v.dtype == torch.bool else v.to(torch.float64)
        a = np.asarray(v)
        ok = a.ndim == 0 and a.dtype.kind in "iuf" and bool(np.isfinite(a))
        return float(a) if ok else None

    values = {g: number(v) for g, v in perturb.items()}
    bad = {g: perturb[g] for g, v in values.items() if v is None}
    if bad:
        raise ValueError(f"perturb values must be finite numbers{units}, got {bad}")
    return values  # type: ignore[return-value]


def krumsiek11_simulate(
    y0: Any,
    n_steps: int = _N_STEPS,
    *,
    perturb: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Run the model that generated :func:`krumsiek11`, without noise.

    The Hill kinetics that scanpy's simulator derives from the Boolean rules of
    ``scanpy/sim_models/krumsiek11.txt`` (Wittmann et al., *BMC Syst. Biol.* 3:98, 2009:
    ``dx_j = r (sum over the rule's true parent states of a product of Hill activations
    and inhibitions - x_j)``, ``r`` the file's ``invTimeStep``; read from the file here,
    since that simulator is not public API), integrated by Euler with 5
    steps between recorded cells, which matches the data's time axis (one step of this
    simulation explains 95 % of the one-step changes of the 640 cells, with uncorrelated
    residuals). The data add dynamic noise, which is what sends the realisations down
    different branches; this run follows one. It is the known answer for in-silico
    perturbations of a model fitted on krumsiek11.

    Parameters
    ----------
    y0
        Initial expression, shape (11,) or (n, 11): an array with its genes in the order
        of :func:`krumsiek11_network` (that of ``krumsiek11().var_names``), or a pandas
        Series (one state, e.g. ``adata.to_df().iloc[0]``) or DataFrame (one state per
        row) whose labels name the genes, matched by name as
        :meth:`biomodels.grn.GRNModel.simulate` matches them (other labels are ignored;
        a missing gene is an error). A 1 x 11 row of a scipy sparse matrix or
        ``np.matrix`` is one state, as a 1-D row.
    n_steps
        Number of recorded steps, the first being ``y0`` (>= 1; the data have 160).
    perturb
        ``{gene: value}`` (a dict or a pandas Series) clamps each gene at ``value`` for the
        whole run (as :meth:`biomodels.grn.GRNModel.simulate`): 0 is a knockout.

    Returns
    -------
    numpy.ndarray
        (n_steps, 11) or (n_steps, n, 11) expression, float64; row t is data time t.

    Examples
    --------
    >>> adata = krumsiek11()
    >>> start = adata[adata.obs["time"] == 0].X.mean(axis=0)
    >>> wild = krumsiek11_simulate(start, 60)
    >>> ko = krumsiek11_simulate(start, 60, perturb={"Pu.1": 0.0})
    >>> pu1 = list(adata.var_names).index("Pu.1")
    >>> float(ko[-1, pu1]), bool(ko[-1, 1] > wild[-1, 1])  # Pu.1 represses Gata1
    (0.0, True)
    """
    model = _HillKinetics(_model_file())
    genes = model.genes
    one = _one_state(y0)
    # a Series or DataFrame by its gene labels, as GRNModel.simulate reads it
    y0 = _states_by_name(y0, genes)
    if hasattr(y0, "toarray"):  # a row of a sparse X
        y0 = y0.toarray()
    y = np.array(y0, dtype=np.float64)
    if one and y.ndim == 2 and y.shape[0] == 1:  # a 1 x 11 matrix row: one state
        y = y[0]
    if y.ndim not in (1, 2) or y.shape[-1] != len(genes):
        raise ValueError(f"y0 must have shape (11,) or (n, 11) (genes {genes}), "
                         f"got {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError("y0 must be finite")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int | np.integer) or n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}")
    clamp = _perturb_dict(perturb)
    unknown = [g for g in clamp if g not in genes]
    if unknown:
        raise ValueError(f"perturb names genes not in krumsiek11: {unknown}")
    # the values GRNModel.simulate takes (tensors, 0-d arrays), checked by the same rule
    clamp = _perturb_values(clamp)
    idx = [genes.index(g) for g in clamp]
    vals = np.array(list(clamp.values()))
    single = y.ndim == 1
    y = np.atleast_2d(y)
    out = np.empty((n_steps, *y.shape))
    y[:, idx] = vals
    out[0] = y
    for t in range(1, n_steps):
        for _ in range(_SUBSTEPS):
            y = y + model.derivative(y)
            y[:, idx] = vals
        out[t] = y
    return out[:, 0] if single else out


class _HillKinetics:
    """krumsiek11's Boolean rules as Hill kinetics, read from scanpy's model file.

    What scanpy's simulator (``scanpy.tools._sim.GRNsim``, not public API) computes, after
    Wittmann et al. 2009: for a gene with parents, ``dx = r (sum over the parent states
    that make its rule true of prod_parents h(x_parent) - x)``, with the activating Hill
    function ``x^2 / (x^2 + c^2)`` for a parent that is on in that state and the inhibiting
    ``c^2 / (x^2 + c^2)`` for one that is off, ``c = 0.1 / |coupling|``; a gene without
    parents stays where it is. Evaluated for many states at once.
    """

    def __init__(self, path: Path) -> None:
        import itertools

        text = path.read_text(encoding="utf-8").splitlines()
        rate = [ln.split("=", 1)[1] for ln in text if ln.startswith("#") and
                "invTimeStep" in ln]
        if not rate:
            raise ValueError(f"no invTimeStep in {path}")
        self.rate = float(rate[0].split("|")[0])
        rules, couplings = _parse_model(path)
        genes = list(rules)
        weight = {(t, r): w for t, r, w in couplings}
        self.genes = genes
        #: per gene: (parent indices, thresholds, the on/off states that satisfy its rule)
        self.terms: list[tuple[list[int], np.ndarray, list[tuple[bool, ...]]]] = []
        keywords = {"and", "or", "not"}
        for gene in genes:
            tokens = rules[gene].replace("(", " ( ").replace(")", " ) ").split()
            parents = list(dict.fromkeys(t for t in tokens if t not in keywords | {"(", ")"}))
            unknown = [p for p in parents if p not in genes or (gene, p) not in weight]
            if unknown:
                raise ValueError(f"{path}: the rule of {gene} names {unknown} without a "
                                 "coupling")
            states = []
            for state in itertools.product([False, True], repeat=len(parents)):
                value = dict(zip(parents, state))
                expr = " ".join(str(value[t]) if t in value else t for t in tokens)
                if eval(expr, {"__builtins__": {}}):  # only True/False, and, or, not, ( )
                    states.append(state)
            thresholds = np.array([0.1 / abs(weight[(gene, p)]) for p in parents])
            self.terms.append(([genes.index(p) for p in parents], thresholds, states))

    def derivative(self, x: np.ndarray) -> np.ndarray:
        """Change per Euler step at states ``x`` (n, G)."""
        out = np.zeros_like(x)
        for j, (parents, c, states) in enumerate(self.terms):
            if not parents:
                continue
            xp2 = x[:, parents] ** 2
            on = xp2 / (xp2 + c**2)
            off = c**2 / (xp2 + c**2)
            total = np.zeros(len(x))
            for state in states:
                total += np.where(state, on, off).prod(axis=1)
            out[:, j] = self.rate * (total - x[:, j])
        return out
