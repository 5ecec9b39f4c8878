"""Array plumbing shared by the FJ code: numpy dense, scipy sparse and torch (dense or sparse)."""

from __future__ import annotations

import contextlib
import reprlib
import sys
from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import torch

from core.checks import refuse_meta
from core.frames import is_dataframe, square_frame_values
from core.grad_mode import no_autocast as core_no_autocast

Backend = Literal["numpy", "scipy", "torch"]


def square_frame(W: Any, name: str, order: Sequence[Hashable] | None = None) -> Any:
    """Read a pandas DataFrame over agents by label; return anything else unchanged.

    ``np.asarray`` read a DataFrame by position, so columns listed in another order than
    the index silently paired each row with the wrong agents; see
    :func:`core.frames.square_frame_values` (``order``: the agents of the matrix this one
    goes with, e.g. the adjacency a trust frame multiplies).
    """
    refuse_graph(W, name)  # every matrix argument of the FJ code passes here
    refuse_meta(W, name)
    if not is_dataframe(W):
        return W
    return square_frame_values(W, name, order, kind="agent", rows_are="listeners",
                               cols_are="speakers")[0]


def refuse_graph(x: Any, name: str) -> None:
    """Raise ``TypeError`` naming ``name`` when ``x`` is a networkx graph, not a matrix.

    :func:`multiagent.make_graph` returns a graph, and passing it where a matrix is expected
    failed far away ("array must be at least 2-d", "got shape (4,)": ``np.asarray`` of a
    graph is the vector of its nodes).  networkx is looked up in ``sys.modules`` rather than
    imported: a graph exists only once it is imported.

    Parameters
    ----------
    x
        The value passed as ``name``.
    name
        The argument name, for the message (``"W"`` adds how to build a model from a graph).

    Raises
    ------
    TypeError
        If ``x`` is a networkx graph (``nx.Graph`` or a subclass: directed, multi).
    """
    nx = sys.modules.get("networkx")
    if nx is None or not isinstance(x, nx.Graph):
        return
    # multiagent.adjacency, not nx.to_numpy_array: it follows the models' convention for a
    # directed graph (edge j -> i gives A_ij, i hears j), which to_numpy_array transposes
    conv = ("multiagent.adjacency(G) (A_ij > 0 when agent i hears agent j; nodes 0..n-1, "
            "see multiagent.make_graph)")
    fix = f"pass {conv}"
    if name == "W":
        fix = (f"build the model with FriedkinJohnsen.from_adjacency(A, gamma, alpha), which "
               f"row-normalises A = {conv}")
    raise TypeError(f"{name}: expected an (n, n) matrix, got a networkx {type(x).__name__}; "
                    f"{fix}")


def dtype_eps(dtype: Any) -> float:
    """Machine epsilon of a numpy or torch floating dtype; 0 for others (integers, None)."""
    if dtype is None:
        return 0.0
    if isinstance(dtype, torch.dtype):
        return float(torch.finfo(dtype).eps) if dtype.is_floating_point else 0.0
    try:
        dt = np.dtype(dtype)
    except TypeError:
        return 0.0
    return float(np.finfo(dt).eps) if np.issubdtype(dt, np.floating) else 0.0


def is_half(x: Any) -> bool:
    """Whether ``x`` (an array or tensor) holds float16 or bfloat16 values."""
    return str(getattr(x, "dtype", "")).removeprefix("torch.") in ("float16", "bfloat16")


def backend_of(W: Any) -> Backend:
    """Name the backend an adjacency/trust matrix belongs to."""
    if isinstance(W, torch.Tensor):
        return "torch"
    if sp.issparse(W):
        return "scipy"
    return "numpy"


def as_matrix(W: Any, backend: Backend) -> Any:
    """Return ``W`` as a float matrix of its backend (CSR for scipy, coalesced for torch)."""
    if backend == "torch":
        if not W.is_floating_point():
            W = W.to(torch.float64)
        if W.layout == torch.sparse_coo:
            W = W.coalesce()
        return W
    if backend == "scipy":
        W = _canonical_csr(W)
        if not np.issubdtype(W.dtype, np.floating):
            W = W.astype(np.float64)
        return W
    W = np.asarray(W)
    if W.dtype == object:
        W = _missing_as_nan(W)
    if not np.issubdtype(W.dtype, np.floating):
        W = W.astype(np.float64)
    return W


def _missing_as_nan(a: np.ndarray) -> np.ndarray:
    """Return an object array with pandas' missing values (``pd.NA``, ``None``) as NaN.

    A nullable ``Float64`` DataFrame with a missing entry gives an object array holding
    ``pd.NA``, which ``astype(float)`` refused ("float() argument must be ... not
    'NAType'"), where a NaN is named by the entry checks.
    """
    pd = sys.modules.get("pandas")
    if pd is None:
        return a
    missing = np.asarray(pd.isna(a), dtype=bool)
    if not missing.any():
        return a
    out = a.copy()
    out[missing] = np.nan
    return out


def _canonical_csr(W: Any) -> sp.csr_array:
    """CSR with sorted, summed indices that never rewrites the caller's arrays.

    ``sp.csr_array(W)`` shares a CSR input's arrays, and ``sum_duplicates`` (also run
    implicitly by scipy's ``abs``, ``max``, comparisons...) rewrites them in place, so a
    non-canonical input is copied first.
    """
    csr = sp.csr_array(W)
    if not csr.has_canonical_format:
        csr = csr.copy()
        csr.sum_duplicates()
    return csr


def copy_matrix(W: Any) -> Any:
    """Return a copy of a matrix of any backend (a torch copy keeps its autograd graph)."""
    return W.clone() if isinstance(W, torch.Tensor) else W.copy()


def is_sparse(W: Any) -> bool:
    """Tell whether ``W`` has a scipy sparse or torch sparse layout."""
    if isinstance(W, torch.Tensor):
        return W.layout != torch.strided
    return sp.issparse(W)


def to_scipy_csr(W: Any) -> sp.csr_array:
    """Any supported matrix as a canonical CPU scipy CSR array (for checks and graph searches).

    A canonical scipy input's arrays are shared, not copied: treat the result as read-only.
    """
    if isinstance(W, torch.Tensor):
        if W.layout == torch.strided:
            return sp.csr_array(W.detach().cpu().numpy())
        coo = W.detach().to_sparse_coo().coalesce().cpu()
        idx = coo.indices().numpy()
        return sp.csr_array((coo.values().numpy(), (idx[0], idx[1])), shape=tuple(W.shape))
    if sp.issparse(W):
        return _canonical_csr(W)
    return sp.csr_array(np.asarray(W))


def row_sums(W: Any) -> Any:
    """Row sums as a dense 1-D array/tensor of the backend."""
    if isinstance(W, torch.Tensor):
        if W.layout == torch.strided:
            return W.sum(dim=1)
        return torch.sparse.sum(W.to_sparse_coo(), dim=1).to_dense()
    if sp.issparse(W):
        return np.asarray(W.sum(axis=1)).ravel()
    return W.sum(axis=1)


def diagonal(W: Any) -> Any:
    """Return the diagonal as a dense 1-D array/tensor of the backend."""
    if isinstance(W, torch.Tensor):
        if W.layout == torch.strided:
            return torch.diagonal(W).clone()
        coo = W.to_sparse_coo().coalesce()
        idx = coo.indices()
        keep = idx[0] == idx[1]
        out = torch.zeros(W.shape[0], dtype=W.dtype, device=W.device)
        out[idx[0][keep]] = coo.values()[keep]
        return out
    if sp.issparse(W):
        return np.asarray(W.diagonal()).ravel()
    return np.diag(W).copy()


# Above this size a numpy right-hand side no longer stays in cache during scipy's
# multi-column product (csr_matvecs), which then misses on every row of X it gathers:
# on 1e6 agents / 5e6 edges, K = 3 took 0.083 s against 0.037 s for three single-column
# products; below it the multi-column product is the faster one (2e5 agents: 0.004 s
# against 0.008 s).
_COLUMNWISE_BYTES = 16 * 2**20
_COLUMNWISE_MAX_K = 32


def no_autocast(x: Any) -> contextlib.AbstractContextManager[Any]:
    """Return a context that turns a caller's ``torch.autocast`` off on ``x``'s device.

    Under ``torch.autocast`` torch runs products of float32 tensors in bfloat16 or float16,
    so a float32 FJ rollout moved by 2e-3 and a product with a CSR tensor failed ("not
    implemented for 'BFloat16'"): results follow the dtype of the inputs instead.  A
    null context for anything else (numpy, scipy, a device autocast does not know), and
    when autocast is off (checking costs a few microseconds).

    Parameters
    ----------
    x
        An operand of the products to run; only a torch tensor's device is read.

    Returns
    -------
    contextlib.AbstractContextManager
        :func:`core.grad_mode.no_autocast` for a tensor, else a null context.
    """
    if isinstance(x, torch.Tensor):
        # core's: torch < 2.4 asks per device type (is_autocast_enabled took no device and
        # raised a TypeError on every torch product here)
        return core_no_autocast(x)
    return contextlib.nullcontext()


def matmul(W: Any, X: Any) -> Any:
    """``W @ X`` for a 2-D dense right-hand side, any backend.

    A scipy sparse ``W`` times a large numpy ``X`` with a few columns is computed one
    column at a time (see :func:`sparse_matmul_columns`): the same numbers to the last
    bit, up to 2x faster once ``X`` outgrows the cache.  A torch product runs outside a
    caller's ``torch.autocast`` (:func:`no_autocast`), in the dtype of its operands.
    """
    if isinstance(W, torch.Tensor):
        with no_autocast(W):
            return W @ X
    if (sp.issparse(W) and type(X) is np.ndarray and X.ndim == 2
            and 1 < X.shape[1] <= _COLUMNWISE_MAX_K and X.nbytes > _COLUMNWISE_BYTES):
        return sparse_matmul_columns(W, X)
    return W @ X


def sparse_matmul_columns(W: Any, X: np.ndarray) -> np.ndarray:
    """``W @ X`` for scipy sparse ``W`` and 2-D numpy ``X``, one column at a time.

    Each output entry sums the same products in the same order as scipy's multi-column
    product, so the result is bit-for-bit ``W @ X`` (C-ordered, dtype of ``W @ X``).
    """
    n, k = W.shape[0], X.shape[1]
    if k == 0:
        return W @ X
    first = W @ X[:, 0]
    out = np.empty((n, k), dtype=first.dtype)
    out[:, 0] = first
    for j in range(1, k):
        out[:, j] = W @ X[:, j]
    return out


def _like_layout(M: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """Return the COO result ``M`` in CSR when ``W`` is CSR (else unchanged).

    torch's COO @ dense goes through a conversion on every call: 8-13x slower than CSR
    (a 300k-agent graph with 3M entries: 0.44 s against 0.03 s per product), and the
    solvers multiply by these matrices every iteration.
    """
    return M.to_sparse_csr() if W.layout == torch.sparse_csr else M


def transpose(W: Any) -> Any:
    """Transpose, keeping the backend (CSR for scipy, the layout of a torch CSR tensor)."""
    if isinstance(W, torch.Tensor):
        if W.layout == torch.strided:
            return W.T
        return _like_layout(W.to_sparse_coo().t().coalesce(), W)
    if sp.issparse(W):
        return sp.csr_array(W.T)
    return W.T


def scale_rows(W: Any, d: Any) -> Any:
    """``diag(d) @ W`` keeping the backend (and the layout of a torch CSR tensor)."""
    if isinstance(W, torch.Tensor):
        if W.layout == torch.strided:
            return W * d[:, None]
        coo = W.to_sparse_coo().coalesce()
        vals = coo.values() * d[coo.indices()[0]]
        return _like_layout(torch.sparse_coo_tensor(
            coo.indices(), vals, coo.shape, check_invariants=False, is_coalesced=True
        ), W)
    if sp.issparse(W):
        W = sp.csr_array(W)
        data = W.data * np.repeat(np.asarray(d, dtype=W.dtype), np.diff(W.indptr))
        return sp.csr_array((data, W.indices, W.indptr), shape=W.shape)
    return W * d[:, None]


def divide_rows(W: Any, d: Any) -> Any:
    """``diag(d)^-1 @ W`` by division, keeping the backend (and a torch CSR layout).

    It divides rather than multiplying by ``1 / d``: for a subnormal ``d_i`` (1e-310) the
    reciprocal overflows to inf, where ``W_ij / d_i`` stays finite.
    """
    if isinstance(W, torch.Tensor):
        if W.layout == torch.strided:
            return W / d[:, None]
        coo = W.to_sparse_coo().coalesce()
        vals = coo.values() / d[coo.indices()[0]]
        return _like_layout(torch.sparse_coo_tensor(
            coo.indices(), vals, coo.shape, check_invariants=False, is_coalesced=True
        ), W)
    if sp.issparse(W):
        W = sp.csr_array(W)
        data = W.data / np.repeat(np.asarray(d, dtype=W.dtype), np.diff(W.indptr))
        return sp.csr_array((data, W.indices, W.indptr), shape=W.shape)
    return W / d[:, None]


def row_max(W: Any) -> np.ndarray:
    """Return the largest entry of each row of a non-negative matrix (0 for an empty row).

    A numpy array in ``W``'s dtype (detached, on the CPU), whatever the backend.
    """
    if isinstance(W, torch.Tensor) and W.layout == torch.strided:
        return as_numpy(W.amax(dim=1))
    if isinstance(W, torch.Tensor) or sp.issparse(W):
        csr = to_scipy_csr(W)
        return np.asarray(csr.max(axis=1).toarray(), dtype=csr.dtype).ravel()
    return np.asarray(W).max(axis=1)


def frame_labels(W: Any) -> list[Hashable] | None:
    """Return the agent labels of a DataFrame matrix (its index), None for another matrix."""
    return list(W.index) if is_dataframe(W) else None


def vector_labels(x: Any) -> list[Hashable] | None:
    """Return the agent labels of a pandas Series / DataFrame over agents, else None.

    The default ``RangeIndex`` (``0, 1, ..., n - 1``) is no labelling: such a Series is
    read by position.  Any other index is, a ``RangeIndex`` that starts elsewhere too
    (ids ``1..n``, or rows ``5..9`` of a larger table, were read by position).
    """
    pd = sys.modules.get("pandas")
    if pd is None or not isinstance(x, pd.Series | pd.DataFrame) or _default_range(x.index):
        return None
    return list(x.index)


def _default_range(index: Any) -> bool:
    """Whether ``index`` is a ``RangeIndex`` from 0 in steps of 1 (of any length)."""
    pd = sys.modules.get("pandas")
    return (pd is not None and isinstance(index, pd.RangeIndex) and index.start == 0
            and index.step == 1)


def _range_indexed(x: Any) -> bool:
    pd = sys.modules.get("pandas")
    return (pd is not None and isinstance(x, pd.Series | pd.DataFrame)
            and _default_range(x.index))


def agent_index(x: Any) -> list[Hashable] | None:
    """Return the index of a pandas Series / DataFrame whose index names agents, else None.

    An index that is the positions ``0..n-1`` in order (the default ``RangeIndex``, or
    integers equal to it) names no agent: reading by position and by label agree.  Any
    other index (names, integers in another order or from 1) says which agent each row
    is, and reading such a Series by position pairs it with the wrong agents.
    """
    labels = vector_labels(x)
    if labels is None:
        return None
    index = x.index
    pd = sys.modules["pandas"]  # vector_labels found a pandas object
    if (pd.api.types.is_integer_dtype(index.dtype) and index.nlevels == 1
            and np.array_equal(index.to_numpy(), np.arange(len(index)))):
        return None
    return labels


def _refuse_named(x: Any, name: str, who: str, fix: str) -> None:
    """Raise ``ValueError`` when ``x`` is indexed by agent names that ``who`` lacks."""
    given = agent_index(x)
    if given is None:
        return
    raise ValueError(
        f"{name}: a pandas {type(x).__name__} indexed by {reprlib.repr(given)} is paired "
        f"with the agents by label, but {who} has no agent names, so it would be read by "
        f"position (its first row taken for agent 0); {fix}, or pass {name}.to_numpy() to "
        "read it by position")


_MODEL_FIX = ("build the model from a pandas DataFrame indexed by the agents' names (e.g. "
              "FriedkinJohnsen.from_adjacency(A_frame, gamma, alpha))")


def by_agent_label(x: Any, labels: Sequence[Hashable] | None, name: str, *,
                   who: str = "the model, built from a numpy / scipy / torch matrix,",
                   fix: str = _MODEL_FIX) -> Any:
    """Read a pandas Series / DataFrame over agents by label, in ``labels``' order.

    A model built from a DataFrame reads it by label, but a Series of beliefs over the same
    agents in another order was read by position. Anything else, or a Series with the
    default ``RangeIndex``: returned unchanged, except a ``RangeIndex`` over a model
    labelled ``0..n-1`` in another order (ambiguous: raises).  Without labels (``labels``
    None: a model built from a matrix) a Series / DataFrame whose index names agents (see
    :func:`agent_index`) raises, as it was silently read by position; one indexed by the
    positions ``0..n-1`` in order is returned unchanged.  Labels are compared as text, as
    :func:`core.frames.square_frame_values` does.

    Parameters
    ----------
    x
        The value passed as ``name``: a vector or matrix over agents, pandas or not.
    labels
        The agents' labels in the model's order, or None when it has none.
    name
        The argument name, for messages.
    who, fix
        What has no labels when ``labels`` is None and how to give them, for the message
        (default: a model built from a matrix).

    Returns
    -------
    Any
        ``x`` in ``labels``' order as a numpy array when read by label, else ``x``.

    Raises
    ------
    ValueError
        If the labels of ``x`` are not the model's, each once; if ``x`` names agents and
        ``labels`` is None; or for the ambiguous ``RangeIndex`` above.
    """
    if labels is None:
        _refuse_named(x, name, who, fix)
        return x
    given = vector_labels(x)
    if given is None and _range_indexed(x):
        text, n = [str(v) for v in labels], len(x.index)
        if sorted(text) == sorted(str(i) for i in range(n)) and text != [str(i) for i in
                                                                         range(n)]:
            # the default index holds the labels 0..n-1 too, listed in another order than
            # the model's: by position and by label differ, and pandas .equals() calls the
            # two readings' Series the same
            raise ValueError(
                f"{name}: a Series / DataFrame with the default RangeIndex is ambiguous for a "
                f"model whose agents are labelled 0..{n - 1} in the order "
                f"{reprlib.repr(list(labels))}; pass .to_numpy() to read it by position, or "
                "set its index to the agent labels to read it by label")
        return x
    if given is None:
        return x
    want = [str(v) for v in labels]
    have = {str(v): i for i, v in enumerate(given)}
    if len(have) != len(given) or set(have) != set(want):
        differ = sorted(set(want) ^ set(have))[:5]
        # a slice of a table (RangeIndex 5..9) counts as labelled too: say how to read it
        # by position
        raise ValueError(f"{name}: a labelled Series / DataFrame needs the model's agent "
                         f"labels as its index, each once; they differ in "
                         f"{differ or 'repeated labels'}; pass {name}.to_numpy() to read it "
                         "by position")
    return x.iloc[[have[v] for v in want]].to_numpy()


def pair_by_label(a: Any, b: Any, name_a: str, name_b: str) -> Any:
    """Return ``b`` in the agent order of ``a``, for two vectors over the same agents.

    Both indexed by agent names (see :func:`agent_index`): ``b`` read by ``a``'s names
    (a numpy array in ``a``'s order).  Neither: ``b`` unchanged, paired by position.  Only
    one: raises, as pairing a named vector with a positional one by position put each
    agent's value against another agent's.

    Raises
    ------
    ValueError
        Naming both arguments, if only one names its agents, or if their names differ.
    """
    la, lb = agent_index(a), agent_index(b)
    if la is None and lb is None:
        return b
    if la is not None and lb is not None:
        return by_agent_label(b, la, name_b)
    named, other, x, y = (name_a, name_b, a, b) if la is not None else (name_b, name_a, b, a)
    pd = sys.modules["pandas"]  # agent_index found a pandas object
    what = (f"indexed by position 0..{len(y.index) - 1}"
            if isinstance(y, pd.Series | pd.DataFrame) else "an array")
    raise ValueError(
        f"{name_a} and {name_b}: {named} is a pandas {type(x).__name__} indexed by "
        f"{reprlib.repr(agent_index(x))} but {other} is {what}, so they would be paired by "
        f"position, whatever agent each row of {named} is; pass both as pandas Series / "
        f"DataFrames indexed by the agents' names, or both as arrays in one agent order "
        f"(e.g. {named}.to_numpy() if its rows follow {other}'s agents)")


def vector_like(value: Any, n: int, like: Any, name: str) -> Any:
    """Broadcast a scalar or per-agent vector to a new length-``n`` vector of ``like``'s backend.

    Never the caller's array or tensor (a torch copy keeps its autograd graph): a model that
    held it changed, unchecked, when the caller refilled it for another model.
    """
    if _holds_bool_or_text(value):
        # True was read as 1 and "0.2" as 0.2, where the package refuses bools and text as
        # numbers (core.checks.check_number)
        raise TypeError(f"{name} must be a number or a vector of {n} numbers (one per agent), "
                        f"got {reprlib.repr(value)}")
    refuse_meta(value, name)
    if (isinstance(value, torch.Tensor) and not isinstance(like, torch.Tensor)
            and is_half(value) and not value.requires_grad):
        # numpy cannot read a bfloat16 tensor (refused as "must be a number"), and a
        # float16 one warned of a missing copy keyword: as_numpy reads both exactly
        value = as_numpy(value)
    try:  # a string or None failed with "could not convert string to float", no name
        if isinstance(like, torch.Tensor):
            # as_tensor shares a tensor or array of the right dtype: clone
            v = torch.as_tensor(value, dtype=like.dtype, device=like.device).clone()
        else:
            v = np.array(value, dtype=like.dtype)  # a copy, unlike np.asarray
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(f"{name} must be a number or a vector of {n} numbers (one per agent), "
                        f"got {reprlib.repr(value)}") from exc
    if v.ndim == 0:
        v = v.expand(n).clone() if isinstance(v, torch.Tensor) else \
            np.full(n, float(v), dtype=like.dtype)
    if v.ndim != 1 or v.shape[0] != n:
        raise ValueError(
            f"{name} must be a scalar or a vector of length {n} (one per agent), got shape "
            f"{tuple(v.shape)}"
        )
    return v


def _holds_bool_or_text(value: Any) -> bool:
    """Whether ``value`` is, or holds, a bool or a string (numpy or torch ones too)."""
    if isinstance(value, torch.Tensor):
        return value.dtype == torch.bool
    if isinstance(value, bool | np.bool_ | str | bytes):
        return True
    if isinstance(value, list | tuple):
        return any(_holds_bool_or_text(v) for v in value)
    kind = getattr(getattr(value, "dtype", None), "kind", None)  # numpy arrays, Series
    if kind in ("b", "U", "S"):
        return True
    if kind == "O":
        return any(_holds_bool_or_text(v) for v in np.asarray(value).ravel().tolist())
    return False


def check_indices(
    value: Any, name: str, upper: int, what: str, *, empty: bool = False, unique: bool = False
) -> np.ndarray:
    """Return ``value`` as an int64 array after checking it holds integers in ``[0, upper)``.

    Bools are refused because numpy reads a bool array as a mask (and ``True`` as 1), so
    ``[True, False]`` would silently select other agents or options; floats are refused
    rather than truncated.

    Parameters
    ----------
    value
        A scalar, sequence, array or tensor of indices.
    name
        Argument name used in messages.
    upper
        Exclusive upper bound (the number of agents or options).
    what
        What the indices are, for messages (``"agent indices"``).
    empty
        Accept an empty ``value``.
    unique
        Refuse repeated indices.

    Returns
    -------
    numpy.ndarray
        The indices, same shape as ``value``.

    Raises
    ------
    TypeError
        If the entries are not integers (bool and float included).
    ValueError
        If ``value`` is empty (unless ``empty``), out of range or (with ``unique``) repeats.
    """
    a = as_numpy(value)
    if a.size == 0:
        if empty:
            return a.astype(np.int64)
        raise ValueError(f"{name} is empty: expected {what}")
    if a.dtype == bool or not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{name} must be {what} given as integers (not bool or float), got "
                        f"{reprlib.repr(value)} of dtype {a.dtype}")
    bad = (a < 0) | (a >= upper)
    if bad.any():
        raise ValueError(f"{name} must be {what} in [0, {upper}), got {a[bad].flat[0]}")
    if unique:
        values, counts = np.unique(a, return_counts=True)
        if (counts > 1).any():
            raise ValueError(f"{name} repeats {values[counts > 1][0]}: expected distinct {what}")
    return a.astype(np.int64)


def as_dense_numpy(x: Any) -> np.ndarray:
    """Return a dense numpy array of an array, a tensor or a sparse matrix (scipy or torch).

    ``np.asarray`` of a scipy sparse matrix is a 0-d object array (``> 0`` then failed with
    "The truth value of an array ... is ambiguous"), and of a torch sparse tensor an error.
    """
    if is_sparse(x):
        return to_scipy_csr(x).toarray()
    return as_numpy(x)


def as_numpy(x: Any) -> np.ndarray:
    """Return a numpy copy/view of an array or tensor (detached, on the CPU).

    A bfloat16 tensor (an LLM's probabilities, say) comes back as float32, which holds it
    exactly: numpy has no bfloat16 (``.numpy()`` raised "Got unsupported ScalarType").
    """
    if isinstance(x, torch.Tensor):
        t = x.detach().cpu()
        return (t.float() if t.dtype == torch.bfloat16 else t).numpy()
    return np.asarray(x)
