"""Weighted directed graphs for the Independent Cascade model, and their validation.

A :class:`CascadeGraph` holds ``n`` nodes (with their original labels), directed edges
``src -> dst`` and the activation probability ``weight`` of each edge: ``w_uv`` is the
probability that ``u``, once active, activates ``v`` in its single attempt. Constructors
read networkx graphs (probability attribute name configurable), scipy sparse matrices,
``(u, v, p)`` edge lists or files in networkx's weighted edge-list format (or its default
one, lines ``u v {'weight': p}``), and the neighbour graphs that scanpy stores in
``AnnData.obsp``. Functions that take a graph refuse anything else with a ``TypeError``
naming the constructor that converts it (:func:`check_graph`).
"""

from __future__ import annotations

import ast
import contextlib
import lzma
import numbers
import os
import re
import reprlib
import sys
import warnings
import zlib
from array import array
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import torch

from core.checks import check_number, not_utf8_text, refuse_unordered
from core.frames import is_dataframe, square_frame_values
from core.textfiles import compression, open_text

__all__ = ["CascadeGraph", "seed_probabilities"]


def _node_indices(values: Any, name: str) -> np.ndarray:
    """Integer node indices (refusing 0.9 or 1.6, which ``astype`` would truncate)."""
    arr = np.asarray(values).reshape(-1)
    if arr.dtype.kind == "f" and not np.all(np.mod(arr, 1) == 0):
        raise ValueError(f"{name}: node indices must be whole numbers, got {arr[:5].tolist()}")
    if arr.size and arr.dtype.kind not in "iuf":
        raise ValueError(f"{name}: node indices must be integers, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _first_repeat(key: np.ndarray) -> tuple[int, int] | None:
    """Return the first and second occurrence of the key repeated earliest, or None."""
    order = np.argsort(key, kind="stable")  # equal keys stay in file order
    repeat = np.flatnonzero(key[order][1:] == key[order][:-1])
    if not repeat.size:
        return None
    j = repeat[np.argmin(order[repeat + 1])]  # then order[j] is its first occurrence
    return int(order[j]), int(order[j + 1])


def _refuse_repeats_and_loops(src: np.ndarray, dst: np.ndarray, w: np.ndarray,
                              rows: np.ndarray, labels: tuple[Hashable, ...], path: str,
                              directed: bool = True) -> None:
    """Name the line of a self-loop or of a directed edge listed again (``read_edgelist``).

    Read as ``undirected``, repeated contacts are left to :func:`_both_directions`.

    The graph's own check said "duplicate edge (u -> v); give each directed edge once" and
    "self-loop on node ...", naming no line and not how to merge repeated contacts.
    """
    loops = np.flatnonzero(src == dst)
    if loops.size:
        e = int(loops[0])
        raise ValueError(f"{path}:{rows[e]}: self-loop on node {labels[src[e]]!r}: the "
                         "Independent Cascade model has no self-activation; remove the line")
    repeat = _first_repeat(src * len(labels) + dst) if directed else None
    if repeat is not None:
        a, b = repeat
        raise ValueError(
            f"{path}:{rows[b]}: edge ({labels[src[a]]!r} -> {labels[dst[a]]!r}) is listed "
            f"again (first on line {rows[a]}; p {w[a]:g} and {w[b]:g}): give each directed "
            "edge once: independent contacts combine as 1 - (1 - p1)(1 - p2)... (here "
            f"{1 - (1 - w[a]) * (1 - w[b]):g}): merge the lines into one")


def _both_directions(src: np.ndarray, dst: np.ndarray, w: np.ndarray, rows: np.ndarray,
                     labels: tuple[Hashable, ...], path: str,
                     types: np.ndarray | None = None,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Each line's contact as the edges ``u -> v`` and ``v -> u`` (see ``read_edgelist``).

    A contact on two lines is refused here, naming both: the graph's own check said only
    "duplicate edge (u -> v); give each directed edge once", of edges the file never listed.
    Each line's type (``types``, one per line, or None) goes to both of its edges.
    """
    n = len(labels)
    repeat = _first_repeat(np.minimum(src, dst) * n + np.maximum(src, dst))
    if repeat is not None:
        a, b = repeat
        raise ValueError(
            f"{path}:{rows[a]} and line {rows[b]} both list the contact "
            f"{labels[src[a]]!r} -- {labels[dst[a]]!r}; read as undirected, each line is a "
            "contact in both directions, so list each contact once: merge the lines into "
            "one: independent contacts combine as 1 - (1 - p1)(1 - p2)... (here "
            f"{1 - (1 - w[a]) * (1 - w[b]):g}) (or read the file as directed edges u -> v)")
    # a self-loop once: the graph's check then names it as one, not as a duplicate edge
    keep = np.column_stack([np.ones(src.size, dtype=bool), src != dst]).ravel()
    # line i gives edges 2i (u -> v) and 2i + 1 (v -> u), as from_networkx orders a Graph's
    return (np.column_stack([src, dst]).ravel()[keep], np.column_stack([dst, src]).ravel()[keep],
            np.repeat(w, 2)[keep], None if types is None else np.repeat(types, 2)[keep])


def text_lines(path: str | os.PathLike[str], what: str, *, newline: str | None = None,
               error: type[Exception] = ValueError) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, line)`` of a user's text file, decompressed by its name.

    UTF-8 (its byte-order mark dropped) or UTF-16 after its byte-order mark; a file named
    ``.gz``, ``.bz2`` or ``.xz`` is decompressed, as networkx's ``read_weighted_edgelist``
    and pandas read it (such a file failed as "not a text table but gzip-compressed data
    (name it with .gz to have it decompressed)", though named so).

    Parameters
    ----------
    path
        The file.
    what
        What it should be, for the messages ("a text edge list (lines 'u v p')").
    newline
        As ``open``'s (``""`` for the csv module).
    error
        The exception class of the messages (the command line's ``CommandError``).

    Raises
    ------
    ValueError
        (or ``error``) Naming ``path`` and ``what``: a file that is not text, or whose
        compressed data are damaged or cut short. ``OSError`` of a file that cannot be
        opened, as ``open`` raises it.
    """
    name = os.fspath(path)
    # as networkx's read_weighted_edgelist and pandas decompress it (.gz, .bz2, .xz; a .zip
    # is read as text, and refused as a zip archive); text named .gz is read as text
    kind = compression(path, zip_archive=False, magic=True)
    try:
        # the encoding from a UTF-16 byte-order mark inside the decompressed data
        with open_text(path, kind, newline=newline) as handle:
            yield from enumerate(handle, start=1)
    except UnicodeDecodeError as err:
        said = not_utf8_text(err, decompressed=kind is not None)
        raise error(f"{name} is not {what}: it is {said}") from None
    except (EOFError, OSError, zlib.error, lzma.LZMAError) as err:
        # gzip and bz2 say "Not a gzipped file", "Invalid data stream" or "Compressed file
        # ended before the end-of-stream marker", naming no file; a missing file is open's
        if kind is None or (isinstance(err, OSError) and err.errno is not None):
            raise
        raise error(f"{name} is not {what}: its {kind}-compressed data (it is "
                    f"named so) are damaged or cut short ({err})") from None


# numpy 2 writes its scalars as np.float64(0.5) in the attribute dicts of nx.write_edgelist
_NUMPY_SCALAR = re.compile(r"\b(?:np|numpy)\.(?:float|int|uint)\d*\(([^()]*)\)")
# nan and inf too: the graph's check then names the edge (literal_eval reads no nan)
_ONE_ATTRIBUTE = re.compile(r"\{'([^'\\]*)': ([-+.0-9eE]+|-?inf|nan)\}$")
_WEIGHTED = "nx.write_weighted_edgelist(G, path, weight=...), whose lines are 'u v p'"


def _edge_attributes(text: str, where: str, u: str, v: str) -> dict[Any, Any]:
    """Return the dict of edge attributes on a line ``u v {attributes}``.

    numpy scalars (``np.float64(0.5)``, as numpy 2 writes them) are read as numbers; a
    third field that is no dict is refused naming ``nx.write_weighted_edgelist``.
    ``where`` is ``path:line``.
    """
    try:
        data = ast.literal_eval(_NUMPY_SCALAR.sub(r"\1", text))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected 'u v p', got {f'{u} {v} {text}'!r}, whose "
                         "third field is no dict of edge attributes either (as "
                         f"nx.write_edgelist writes them); write the file with {_WEIGHTED}")
    return data


def _attribute_probability(text: str, weight: str, where: str, u: str, v: str,
                           data: dict[Any, Any] | None = None,
                           default: float | None = None) -> float | None:
    """Return the probability on a line ``u v {attributes}`` (``nx.write_edgelist``'s default).

    ``weight`` names the attribute; a dict without it, or with a value that is not a
    number, is refused naming ``nx.write_weighted_edgelist`` (and the numeric attributes
    the line has, which ``weight=`` may name). ``where`` is ``path:line``; ``data`` is
    the line's attributes when :func:`_edge_attributes` has read them already. With a
    ``default`` (``read_edgelist(default=)``), a dict without ``weight`` gives None: the
    caller applies the default.
    """
    if data is None:
        one = _ONE_ATTRIBUTE.match(text)
        if one and one[1] == weight:
            try:  # the usual "{'weight': 0.5}", 10x faster than literal_eval
                return float(one[2])
            except ValueError:
                pass  # "{'weight': 1e}" and the like: literal_eval says what it is
        data = _edge_attributes(text, where, u, v)
    edge = f"edge ({u!r} -> {v!r})"
    numeric = [k for k, x in data.items()
               if isinstance(x, numbers.Real) and not isinstance(x, bool | np.bool_)]
    if weight not in data:
        if default is not None:
            return None
        if not data:
            raise ValueError(f"{where}: {edge} has no attributes ({{}}, as nx.write_edgelist "
                             "writes an edge without any), so no activation probability; "
                             f"set them (nx.set_edge_attributes(G, p, 'weight')) and write "
                             f"the file with {_WEIGHTED}, or pass default=P (on the command "
                             "line: --default P) to give every edge without one the "
                             "probability P")
        held = (f"; its numeric attribute {numeric[0]!r} may hold it: pass "
                f"weight={numeric[0]!r} (on the command line: --weight {numeric[0]})"
                if len(numeric) == 1 else
                f"; pass weight= naming one of its numeric attributes "
                f"{', '.join(map(repr, numeric))} (on the command line: --weight NAME)"
                if numeric else "")
        raise ValueError(f"{where}: {edge} has no attribute {weight!r} (the activation "
                         f"probability) among {sorted(map(str, data))}{held}, or write the "
                         f"file with {_WEIGHTED}, or pass default=P (on the command line: "
                         "--default P) to give every edge without it the probability P")
    if weight not in numeric:
        raise ValueError(f"{where}: {edge} has probability {data[weight]!r} (attribute "
                         f"{weight!r}), not a number")
    return float(data[weight])


def _edge_type_value(data: Mapping[Any, Any], name: str, where: str, u: str,
                     v: str) -> str | int | float:
    """Return the edge type held by the attribute ``name`` of a line ``u v {attributes}``.

    The rule of ``CascadeGraph.read_edgelist(edge_type=)`` and of the command line's
    ``--edge-type``: a type is a name, text or a number (a numpy scalar is read as its
    value).

    Parameters
    ----------
    data
        The line's edge attributes.
    name
        The attribute that holds the type.
    where
        ``path:line``, for the message.
    u, v
        The edge's nodes, for the message.

    Returns
    -------
    str or int or float
        The type.

    Raises
    ------
    ValueError
        Naming ``where`` and the edge: the attribute is missing (listing the attributes
        there are), or the type is a bool, empty text, NaN or infinite, or no text or
        number.
    """
    edge = f"edge ({u!r} -> {v!r})"
    if name not in data:
        raise ValueError(f"{where}: {edge} has no attribute {name!r} (the edge type: "
                         f"edge_type=, on the command line --edge-type) among "
                         f"{sorted(map(str, data))}")
    t = data[name]
    if isinstance(t, np.generic):
        t = t.item()
    if (isinstance(t, bool) or not isinstance(t, str | int | float) or t == ""
            or (isinstance(t, float) and not np.isfinite(t))):
        raise ValueError(f"{where}: {edge} has edge type {t!r} (attribute {name!r}); "
                         "expected a name: text or a number")
    return t


def _line_type(parts: list[str], attributes: bool, name: str, weight: str,
               kinds: dict[str, int], where: str, lineno: int
               ) -> tuple[dict[Any, Any], str | int | float]:
    """Return the attributes and the edge type of a line ``u v {attributes}``.

    The rule of ``read_edgelist(edge_type=)``. ``kinds`` holds the first line of each
    kind of type seen ("text", "a number"): sorted, "1" and 1 would be told apart by
    nothing shown, so a file gives one kind.
    """
    u, v = parts[0], parts[1]
    edge = f"edge ({u!r} -> {v!r})"
    if not attributes:
        raise ValueError(
            f"{where}: {edge} has no attributes, so no edge type; edge_type={name!r} (on the "
            f"command line: --edge-type {name}) reads lines 'u v {{attributes}}' "
            f"(nx.write_edgelist's), e.g. \"{u} {v} {{'{weight}': 0.3, '{name}': "
            "'household'}\"")
    data = _edge_attributes(parts[2], where, u, v)
    t = _edge_type_value(data, name, where, u, v)
    kind = "text" if isinstance(t, str) else "a number"
    kinds.setdefault(kind, lineno)
    if len(kinds) > 1:
        other = next(k for k in kinds if k != kind)
        raise ValueError(f"{where}: {edge} has the edge type {t!r} ({kind}), where line "
                         f"{kinds[other]}'s is {other}; give every type as text, or every "
                         "type as a number")
    return data, t


def _refuse_attribute_with_default(p: Any, weight: str, default: float, u: Hashable,
                                   v: Hashable) -> None:
    """Refuse an edge attribute that is no probability where ``from_networkx`` got a default.

    ``from_networkx(nx.karate_club_graph(), default=0.3)`` failed with "weight of edge
    (0 -> 1) is 4.0; activation probabilities must lie in [0, 1]", naming neither the
    attribute nor that ``default`` applies only to edges without it. Values ``float()``
    reads inside ``[0, 1]`` pass, as :meth:`CascadeGraph.from_edges` takes them.
    """
    try:
        x = float(p)
        shown = repr(x)  # 4.0, as the graph's own check showed it
    except (TypeError, ValueError):
        x, shown = float("nan"), repr(p)
    if 0 <= x <= 1:  # False for NaN
        return
    raise ValueError(
        f"edge ({u!r} -> {v!r}): its attribute {weight!r} holds {shown}, not an activation "
        f"probability in [0, 1]; default={default!r} applies only to edges without "
        f"{weight!r}; pass weight=None to give every edge the default, or weight= naming "
        "the attribute that holds the probabilities")


def _refuse_duplicate_entries(row: np.ndarray, col: np.ndarray, data: np.ndarray,
                              labels: Sequence[Hashable] | None, n: int) -> None:
    """Refuse a pair stored twice in a sparse matrix (entries sorted by row, then column).

    scipy reads duplicate entries as their sum: two contacts of 0.3 and 0.4 became the
    weight 0.7, where independent contacts give ``1 - (0.7)(0.6) = 0.58`` (and 0.6 + 0.6
    failed as "weight ... is 1.2" without naming the cause).
    """
    same = (row[1:] == row[:-1]) & (col[1:] == col[:-1])
    if not same.any():
        return
    first = int(np.argmax(same))
    last = first + 1
    while last + 1 < row.size and row[last + 1] == row[first] and col[last + 1] == col[first]:
        last += 1
    u, v = int(row[first]), int(col[first])
    if labels is not None and len(labels) == n:
        u, v = labels[u], labels[v]
    entries = [float(x) for x in data[first:last + 1]]
    shown = ", ".join(f"{x:g}" for x in entries[:5]) + (", ..." if len(entries) > 5 else "")
    combined = 1 - float(np.prod([1 - x for x in entries]))
    raise ValueError(
        f"matrix: the pair ({u!r} -> {v!r}) is stored {len(entries)} times ({shown}); scipy "
        f"would add them (to {sum(entries):g}), but independent contacts combine as "
        f"1 - (1 - p1)(1 - p2)... (here {combined:g}): give one probability per pair "
        "(e.g. store np.log1p(-p) for each contact, call .sum_duplicates() and take "
        "-np.expm1 of the data), or call A.sum_duplicates() first if the sum is meant")


# column names that say a table lists edges, one per row (networkx's are source / target)
_SOURCE_NAMES = {"source", "src", "from", "u", "infector", "node1", "sender"}
_TARGET_NAMES = {"target", "dst", "to", "v", "infectee", "node2", "receiver"}
_WEIGHT_NAMES = {"weight", "w", "p", "prob", "probability", "beta"}


def _numeric_columns(frame: Any) -> list[bool]:
    """Whether each column of ``frame`` holds numbers only (empty cells allowed)."""
    import pandas as pd

    numeric = []
    for j in range(frame.shape[1]):
        col = frame.iloc[:, j]
        try:
            numeric.append(not bool((pd.to_numeric(col, errors="coerce").isna()
                                     & col.notna()).any()))
        except (TypeError, ValueError):  # lists or dicts in the cells
            numeric.append(False)
    return numeric


def _unindexed_matrix(frame: Any) -> tuple[str, str] | None:
    """Say what a square matrix read without its index is and how to read it, or None.

    Returns ``(what, fix)``: "looks like a square adjacency matrix read without its index
    ...", and "read the file with pd.read_csv(path, index_col=0) ...".

    ``A.to_csv(path)`` writes the row labels as a first column; read back without
    ``index_col=0`` the frame is one column wider than tall, and was taken for a long-form
    edge list whose "source" was that column ("Unnamed: 0") and whose "target" was node
    ``a``. It is such a matrix when its first column holds the other columns' names (as
    text), or its first header is pandas' ``Unnamed: 0`` (or empty) over numbers in the
    other columns, which are not named like ``source`` / ``target``.
    """
    rows, width = frame.shape
    if rows < 1 or width != rows + 1:
        return None
    first, *cols = list(frame.columns)
    values = frame.iloc[:, 0].tolist()
    names = {str(c) for c in cols}
    held = (len(names) == rows and not any(_is_missing(x) for x in values)
            and {str(x) for x in values} == names)
    if not held:
        low = [str(c).strip().lower() for c in cols]
        named = (any(k in _SOURCE_NAMES or "source" in k for k in low)
                 and any(k in _TARGET_NAMES or "target" in k for k in low))
        blank = first is None or str(first).strip() in ("", "Unnamed: 0")
        if not (blank and not named and all(_numeric_columns(frame.iloc[:, 1:]))):
            return None
    return (f"looks like a square adjacency matrix read without its index: its first "
            f"column {first!r} holds the row labels {reprlib.repr(values)}",
            f"read the file with pd.read_csv(path, index_col=0) (or call "
            f"df.set_index({first!r})), then convert it with CascadeGraph.from_scipy(df)")


def _long_form_call(frame: Any) -> str | None:
    """Return the ``from_pandas_edgelist`` call for a DataFrame that lists edges, or None.

    A table lists edges (one per row) when a column holds text rather than numbers, it is
    not square, or its columns are named like ``source`` / ``target`` and are not its row
    labels; a square table of numbers is otherwise an adjacency matrix, and so is one read
    without its index (:func:`_unindexed_matrix`). The
    columns in the call are guesses: named ones first, else the first two and the first
    other numeric column.
    """
    cols = list(frame.columns)
    if len(cols) < 2 or _unindexed_matrix(frame) is not None:
        return None
    low = [str(c).strip().lower() for c in cols]
    src = [c for c, k in zip(cols, low) if k in _SOURCE_NAMES or "source" in k]
    dst = [c for c, k in zip(cols, low) if k in _TARGET_NAMES or "target" in k]
    numeric = _numeric_columns(frame)
    # a square table of numbers is an adjacency matrix (mislabelled, perhaps), unless its
    # columns are named source / target and are not its row labels
    if all(numeric) and frame.shape[0] == frame.shape[1] and (
            not (src and dst) or {str(i) for i in frame.index} == {str(c) for c in cols}):
        return None
    source = src[0] if src else cols[0]
    target = next((c for c in dst if c != source), None)
    if target is None:
        target = next(c for c in cols if c != source)
    rest = [(c, k, num) for c, k, num in zip(cols, low, numeric) if c not in (source, target)]
    weight = next((c for c, k, _ in rest if k in _WEIGHT_NAMES or k.startswith("p_")
                   or "prob" in k or "weight" in k), None)
    if weight is None:
        weight = next((c for c, _, num in rest if num), "weight")
    return (f"CascadeGraph.from_pandas_edgelist(df, source={source!r}, target={target!r}, "
            f"weight={weight!r})")


def _refuse_long_form(frame: Any) -> None:
    """Raise, naming ``from_pandas_edgelist``, if ``frame`` lists edges (see ``from_scipy``).

    A square matrix read without its index is named as one, with ``index_col=0``: the
    call suggested for it built a graph of its labels and entries.
    """
    unindexed = _unindexed_matrix(frame)
    if unindexed is not None:
        what, fix = unindexed
        raise ValueError(f"matrix: the DataFrame (columns {reprlib.repr(list(frame.columns))})"
                         f" {what}, not a long-form edge list; {fix}") from None
    call = _long_form_call(frame)
    if call is not None:
        raise ValueError(
            f"matrix: the DataFrame (columns {reprlib.repr(list(frame.columns))}) looks like "
            f"a long-form edge list, one row per edge, not a square matrix; read it with "
            f"{call}") from None


def _is_missing(value: Any) -> bool:
    """Whether a table cell is empty: None, NaN, pandas' NA or NaT."""
    if value is None or (isinstance(value, float | np.floating) and np.isnan(value)):
        return True
    pd = sys.modules.get("pandas")
    return pd is not None and (value is pd.NA or value is pd.NaT)


class _TextMatch:
    """Match labels to the ``nodes`` given as text (``from_pandas_edgelist(nodes=)``).

    A label that is not one of the nodes is matched to the node whose ``str`` is its own,
    as :meth:`CascadeGraph.read_edgelist` and :meth:`CascadeGraph.index_of` match labels.
    Where that is ambiguous (the nodes hold both 1 and "1"), or two labels of different
    types (1 and "1") would become one node, it refuses, naming their types.

    Parameters
    ----------
    nodes
        The node labels given.
    *columns
        The labels of the table (its source and target columns), to find a label that is
        also there as it is.
    """

    def __init__(self, nodes: Sequence[Hashable], *columns: Sequence[Hashable]) -> None:
        self.nodes = nodes
        self.columns = columns
        self.text: dict[str, list[int]] | None = None  # built on the first miss
        self.present: set[Hashable] = set()
        self.by_text: dict[int, Hashable] = {}  # node -> the label matched to it as text

    def find(self, label: Hashable, where: str) -> int | None:
        """Return the node whose text is ``str(label)``, or None if there is none."""
        if self.text is None:
            self.text = {}
            for i, node in enumerate(self.nodes):
                self.text.setdefault(str(node), []).append(i)
            for lab in (lab for col in self.columns for lab in col):
                try:
                    self.present.add(lab)
                except TypeError:  # refused by its row, with the row's label
                    pass
        found = self.text.get(str(label), [])
        if len(found) > 1:
            kinds = " and ".join(f"{self.nodes[i]!r} ({type(self.nodes[i]).__name__})"
                                 for i in found[:2])
            raise ValueError(f"{where}: node {label!r} ({type(label).__name__}) is not in "
                             f"nodes, whose labels {kinds} both read {str(label)!r}: the "
                             "labels differ in type; give df and nodes labels of one type "
                             "(e.g. df[col].astype(str) and [str(x) for x in nodes])")
        if not found:
            return None
        i = found[0]
        node = self.nodes[i]
        # the node's own label is in df too: both would become that node
        other = node if node in self.present else self.by_text.setdefault(i, label)
        if other != label:
            raise ValueError(f"{where}: the labels {other!r} ({type(other).__name__}) and "
                             f"{label!r} ({type(label).__name__}) of df both read as node "
                             f"{self.nodes[i]!r} of nodes: the labels differ in type; give "
                             "df's labels one type (e.g. df[col].astype(str))")
        return i


def _type_codes(values: Sequence[Hashable]) -> tuple[list[int], tuple[Hashable, ...]]:
    """Return each type's code ``0..T-1`` (by sorted value) and the sorted names.

    Numbered by first appearance, the types depended on the node order, so a fit's
    ``shared_weights[i]`` named another type for the same network; types that do not
    compare (3 and "b") are sorted by kind, then text. Numbers of which any is written as
    a float are all named as floats, as numpy names them: ``1`` and ``1.0`` are one type,
    which was named by the spelling met first (the order of the lines).
    """
    first: dict[Hashable, int] = {}
    codes = [first.setdefault(t, len(first)) for t in values]
    seen = list(first)
    try:
        ranked = sorted(seen)
    except TypeError:
        ranked = sorted(seen, key=lambda t: (type(t).__name__, str(t)))
    rank = {first[t]: i for i, t in enumerate(ranked)}
    if all(isinstance(t, numbers.Real) and not isinstance(t, bool | np.bool_) for t in seen) \
            and any(isinstance(t, float | np.floating) for t in values):
        ranked = [float(t) for t in ranked]
    return [rank[c] for c in codes], tuple(ranked)


def _float_dtype(dtype: torch.dtype) -> torch.dtype:
    """Refuse an integer or bool weight dtype, which would truncate 0.5 to 0 silently."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype: expected a floating torch dtype for probabilities, got {dtype!r}")
    return dtype


@dataclass(frozen=True, repr=False)
class CascadeGraph:
    """A weighted directed network for the Independent Cascade model.

    Parameters
    ----------
    n
        Number of nodes (indexed ``0..n-1``).
    src, dst
        Integer arrays of equal length: edge ``e`` points from ``src[e]`` to ``dst[e]``.
    weight
        Activation probability of each edge, a float tensor in ``[0, 1]``; its dtype and
        device are the ones every computation on this graph uses. The graph keeps a copy,
        unless the tensor requires grad: that one is kept, so that a graph built once
        follows an optimizer's steps on it (keep those in ``[0, 1]``, e.g. through a
        sigmoid; they are not checked again).
    labels
        Original node labels (``labels[i]`` names node ``i``), a sequence such as a list or
        tuple (a set, whose order changes from one run to the next, is refused); defaults
        to ``0..n-1``.
    edge_type
        Optional integer type per edge (for fits that share one weight per type).
    edge_type_names
        Optional name of each edge type: ``edge_type_names[t]`` names type ``t`` (set by
        :meth:`from_networkx` and :meth:`from_pandas_edgelist` from the type values, kept
        by :meth:`with_weight` and :meth:`to`, and written by ``CascadeFit.save``).

    Raises
    ------
    TypeError
        If ``labels`` is a set or frozenset (its order changes from one run to the next).
    ValueError
        On an empty graph, self-loops, duplicate edges, node indices out of range, or
        probabilities that are NaN or outside ``[0, 1]``; the message names the edge. On
        ``edge_type_names`` without ``edge_type``, or not one distinct name per type.

    Examples
    --------
    >>> g = CascadeGraph.from_edges([("a", "b", 0.5), ("b", "c", 0.2)])
    >>> g.n, g.num_edges
    (3, 2)
    """

    n: int
    src: np.ndarray
    dst: np.ndarray
    weight: torch.Tensor
    labels: tuple[Hashable, ...] = field(default=())
    edge_type: np.ndarray | None = None
    edge_type_names: tuple[Hashable, ...] | None = None

    def __post_init__(self) -> None:
        try:  # int() of inf or NaN raises OverflowError / a message that names no argument
            whole = not isinstance(self.n, bool) and int(self.n) == self.n
        except (TypeError, ValueError, OverflowError):
            whole = False
        if not whole:
            raise ValueError(f"n: expected a whole number of nodes, got {self.n!r}")
        object.__setattr__(self, "n", int(self.n))
        src = _node_indices(self.src, "src")
        dst = _node_indices(self.dst, "dst")
        weight = self.weight
        if isinstance(weight, torch.Tensor):
            if not weight.requires_grad:
                # a copy: the caller's tensor was kept, so editing it later (w[0] = 1.7)
                # skipped the [0, 1] check below and distributions summed to 1.7. A tensor
                # that requires grad is kept: a graph built once around the weights an
                # optimizer steps follows them (a copy froze the graph at the first
                # weights, with gradients still reaching the tensor)
                weight = weight.clone()
        else:
            weight = np.asarray(weight)
            if weight.dtype.kind not in "biuf":
                raise ValueError(f"weight: expected real probabilities, got dtype {weight.dtype}")
            weight = torch.as_tensor(weight.astype(np.float64))
        if weight.is_complex():
            raise ValueError("weight: expected real probabilities, got a complex tensor")
        if weight.dtype in (torch.float16, torch.bfloat16):
            raise ValueError(f"weight: {weight.dtype} is too coarse for probabilities of "
                             "products over many edges; use float32 or float64")
        if not weight.is_floating_point():
            weight = weight.to(torch.float64)
        weight = weight.reshape(-1)
        # labels[i] names node i: a set's order changed from one run to the next
        refuse_unordered(self.labels, "labels", "node labels, labels[i] naming node i")
        labels = tuple(self.labels) if len(self.labels) else tuple(range(int(self.n)))
        object.__setattr__(self, "src", src)
        object.__setattr__(self, "dst", dst)
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "labels", labels)
        if self.edge_type is not None:
            # a copy: an int64 array was kept as is, so editing it changed the graph
            object.__setattr__(self, "edge_type", np.array(self.edge_type, dtype=np.int64))
        if self.edge_type_names is not None:
            object.__setattr__(self, "edge_type_names", tuple(self.edge_type_names))
        self._validate()

    # ------------------------------------------------------------------ validation
    def _edge_name(self, e: int) -> str:
        return f"({self.labels[self.src[e]]!r} -> {self.labels[self.dst[e]]!r})"

    def _validate(self) -> None:
        n = int(self.n)
        if n <= 0:
            raise ValueError("graph: the graph is empty (no nodes); give at least one node")
        if len(self.labels) != n:
            raise ValueError(f"labels: expected {n} labels, got {len(self.labels)}")
        if len(set(self.labels)) != n:
            raise ValueError("labels: node labels must be unique")
        if self.src.shape != self.dst.shape or self.src.shape[0] != self.weight.shape[0]:
            raise ValueError(
                f"src, dst, weight: lengths differ ({self.src.shape[0]}, {self.dst.shape[0]}, "
                f"{self.weight.shape[0]})"
            )
        if self.edge_type is not None and self.edge_type.shape != self.src.shape:
            raise ValueError("edge_type: expected one integer type per edge")
        names = self.edge_type_names
        if names is not None:
            if self.edge_type is None:
                raise ValueError("edge_type_names: names need edge types; give edge_type too")
            top = int(self.edge_type.max()) if self.edge_type.size else -1
            if (self.edge_type.size and int(self.edge_type.min()) < 0) or len(names) <= top:
                raise ValueError(f"edge_type_names: expected a name for each edge type "
                                 f"0..{top}, got {len(names)} name{'s' * (len(names) != 1)}")
            if len(set(names)) != len(names):
                raise ValueError("edge_type_names: each edge type needs a name of its own")
        if self.src.size:
            bad = np.flatnonzero(
                (self.src < 0) | (self.src >= n) | (self.dst < 0) | (self.dst >= n)
            )
            if bad.size:
                e = int(bad[0])
                raise ValueError(
                    f"edge {e}: node index ({self.src[e]}, {self.dst[e]}) out of range 0..{n - 1}"
                )
            loops = np.flatnonzero(self.src == self.dst)
            if loops.size:
                raise ValueError(
                    f"self-loop on node {self.labels[self.src[loops[0]]]!r}: the Independent "
                    "Cascade model has no self-activation; remove the edge"
                )
            key = self.src * n + self.dst
            uniq, counts = np.unique(key, return_counts=True)
            if (counts > 1).any():
                k = int(uniq[counts > 1][0])
                raise ValueError(
                    f"duplicate edge ({self.labels[k // n]!r} -> {self.labels[k % n]!r}); "
                    "give each directed edge once (independent contacts between the same "
                    "pair combine as 1 - (1 - p1)(1 - p2)...: merge them into one)"
                )
            w = self.weight.detach()
            nan = torch.nonzero(torch.isnan(w)).reshape(-1)
            if nan.numel():
                raise ValueError(f"weight of edge {self._edge_name(int(nan[0]))} is NaN")
            out = torch.nonzero((w < 0) | (w > 1)).reshape(-1)
            if out.numel():
                e = int(out[0])
                raise ValueError(
                    f"weight of edge {self._edge_name(e)} is {float(w[e])!r}; activation "
                    "probabilities must lie in [0, 1]"
                )

    def __repr__(self) -> str:
        # the dataclass repr printed src, dst, weight and every label (9,050 characters for
        # 364 nodes); counts, the weights' dtype and device and the first labels instead
        w = self.weight.detach()
        mean = f", mean {float(w.mean()):.3g}" if w.numel() else ""
        grad = ", requires grad" if self.weight.requires_grad else ""
        types = ("" if self.edge_type is None else
                 f", {np.unique(self.edge_type).size} edge types")
        e = self.num_edges
        return (f"CascadeGraph of {self.n} node{'s' * (self.n != 1)} "
                f"{first_labels(self.labels)}, "
                f"{e} edge{'s' * (e != 1)}{types}; "
                f"weight {str(w.dtype).removeprefix('torch.')} on {w.device}{mean}{grad}")

    # ------------------------------------------------------------------ properties
    @property
    def num_edges(self) -> int:
        """Number of directed edges."""
        return int(self.src.shape[0])

    @property
    def dtype(self) -> torch.dtype:
        """Floating dtype of the weights (and of every result)."""
        return self.weight.dtype

    @property
    def device(self) -> torch.device:
        """Device of the weights."""
        return self.weight.device

    def index_of(self, label: Hashable) -> int:
        """Return the index of the node called ``label``.

        Parameters
        ----------
        label
            A node label (a 0-d array or tensor stands for its value); a string also
            matches a label whose ``str`` it is (seeds given on the command line).

        Returns
        -------
        int
            The node's index ``i`` (``labels[i] == label``).

        Raises
        ------
        ValueError
            If no node has this label, or ``label`` is a bool (True == 1 matched node 1:
            a boolean mask passed as seeds seeded nodes 0 and 1).
        """
        if isinstance(label, np.ndarray | torch.Tensor) and label.ndim == 0:
            label = label.item()  # a tensor hashes by identity: tensor(2) matched no node
        lookup = self._lookup
        if isinstance(label, bool | np.bool_) and not any(
                isinstance(lab, bool | np.bool_) for lab in self.labels):
            raise ValueError(f"seed {label!r} is a bool, not a node label; for a boolean "
                             "mask over the nodes pass [graph.labels[i] for i in "
                             "np.flatnonzero(mask)]")
        if label in lookup:
            return lookup[label]
        # command-line seeds arrive as strings: match the string form as a fallback
        text = self._text_lookup
        if str(label) in text:
            return text[str(label)]
        raise ValueError(f"seed {label!r} is not a node of the graph")

    @cached_property
    def _lookup(self) -> dict[Hashable, int]:
        return {lab: i for i, lab in enumerate(self.labels)}

    @cached_property
    def _text_lookup(self) -> dict[str, int]:
        # built once: rebuilt on every call, a label per node given as text (a seed_prob
        # dict or Series with str keys on int labels) cost O(n^2): 19 s at 10,000 nodes
        return {str(k): v for k, v in self._lookup.items()}

    def with_weight(self, weight: torch.Tensor) -> CascadeGraph:
        """Return the same graph with new edge weights (e.g. a tensor that requires grad).

        Parameters
        ----------
        weight
            One probability per edge, in the order of ``src``/``dst``.

        Returns
        -------
        CascadeGraph
            A new graph; this one is unchanged.
        """
        g = CascadeGraph(self.n, self.src, self.dst, weight, self.labels, self.edge_type,
                         self.edge_type_names)
        for key in ("_lookup", "_text_lookup", "_is_forest", "_tree_plan"):  # structure only
            if key in self.__dict__:
                g.__dict__[key] = self.__dict__[key]
        return g

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> CascadeGraph:
        """Return a copy whose weights live on ``device`` with ``dtype``.

        Parameters
        ----------
        device
            Target device (None: unchanged).
        dtype
            Target floating dtype (None: unchanged).

        Returns
        -------
        CascadeGraph
            The converted copy.

        Raises
        ------
        ValueError
            If ``dtype`` is not a floating dtype (an integer one truncated 0.5 to 0).
        """
        dtype = None if dtype is None else _float_dtype(dtype)
        return self.with_weight(self.weight.to(device=device, dtype=dtype))

    def undirected_links(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Merge the two directions of every link of the undirected skeleton.

        Returns
        -------
        a, b
            Endpoints of each undirected link, ``a < b``.
        e_ab, e_ba
            Index of the edge ``a -> b`` and ``b -> a`` in this graph, or ``-1`` if absent.
        """
        lo = np.minimum(self.src, self.dst)
        hi = np.maximum(self.src, self.dst)
        key = lo * self.n + hi
        uniq, inverse = np.unique(key, return_inverse=True)
        a, b = uniq // self.n, uniq % self.n
        e_ab = np.full(uniq.shape[0], -1, dtype=np.int64)
        e_ba = np.full(uniq.shape[0], -1, dtype=np.int64)
        forward = self.src < self.dst
        idx = np.arange(self.num_edges)
        e_ab[inverse[forward]] = idx[forward]
        e_ba[inverse[~forward]] = idx[~forward]
        return a, b, e_ab, e_ba

    def is_forest(self) -> bool:
        """Whether the undirected skeleton has no cycle (links = nodes - components).

        Returns
        -------
        bool
            True for a forest (where ``method="tree"`` is exact).
        """
        return self._is_forest

    @cached_property
    def _is_forest(self) -> bool:  # structure only: computed once per graph object
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        a, b, _, _ = self.undirected_links()
        adj = coo_matrix((np.ones(a.size), (a, b)), shape=(self.n, self.n))
        n_comp = connected_components(adj, directed=False)[0]
        return a.size == self.n - n_comp

    @cached_property
    def _tree_plan(self) -> Any:
        # the TreePlan of a forest depends on the structure alone: rebuilt on every call it
        # was a third of a size_distribution call on 100-1,000 nodes (sweeps over seeds)
        from .plan import tree_plan

        return tree_plan(self)

    def __getstate__(self) -> dict[str, Any]:
        # without the plan: it made a pickled graph 9x larger (sent to every worker of a
        # process pool), and is rebuilt where it is needed
        return {k: v for k, v in self.__dict__.items() if k != "_tree_plan"}

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_edges(
        cls,
        edges: Iterable[tuple[Hashable, Hashable, float]],
        *,
        nodes: Sequence[Hashable] | None = None,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> CascadeGraph:
        """Build a graph from ``(u, v, p)`` triples (directed edge ``u -> v`` with probability p).

        Parameters
        ----------
        edges
            The directed edges.
        nodes
            All node labels, in order (isolated nodes included): a list or other sequence,
            not a set, whose order changes from one run to the next; by default the labels
            seen in ``edges`` in order of first appearance.
        dtype, device
            Of the weight tensor.

        Returns
        -------
        CascadeGraph
            The graph.

        Raises
        ------
        TypeError
            If ``edges`` is a pandas DataFrame (it iterates over its column names): the
            message names :meth:`from_pandas_edgelist`, which reads one edge per row. If
            ``nodes`` is a set or frozenset.
        ValueError
            On an item that is not a triple, a probability that is not a number, a node
            missing from ``nodes``, or any error of :class:`CascadeGraph`.
        """
        if is_dataframe(edges):
            unindexed = _unindexed_matrix(edges)
            if unindexed is not None:
                raise TypeError(f"edges: got a pandas DataFrame, not (u, v, p) triples; it "
                                f"{unindexed[0]}; {unindexed[1]}")
            # its iteration gave the column names: "expected (u, v, p) triples, got 'source'"
            call = (_long_form_call(edges) or "CascadeGraph.from_pandas_edgelist(df, "
                    "source=..., target=..., weight=...)")
            raise TypeError(f"edges: got a pandas DataFrame, not (u, v, p) triples; read a "
                            f"table with one edge per row with {call}, or a square "
                            "adjacency matrix with CascadeGraph.from_scipy(df)")
        edges = list(edges)
        # nodes give the node order: a set's changed from one run to the next
        refuse_unordered(nodes, "nodes", "node labels")
        labels: list[Hashable] = list(nodes) if nodes is not None else []
        lookup = {lab: i for i, lab in enumerate(labels)}
        src, dst, w = [], [], []
        for item in edges:
            if len(item) != 3:
                raise ValueError(f"edges: expected (u, v, p) triples, got {item!r}")
            u, v, p = item
            for lab in (u, v):
                if lab not in lookup:
                    if nodes is not None:
                        raise ValueError(f"edge ({u!r} -> {v!r}): node {lab!r} not in nodes")
                    lookup[lab] = len(labels)
                    labels.append(lab)
            src.append(lookup[u])
            dst.append(lookup[v])
            try:
                w.append(float(p))
            except (TypeError, ValueError):
                raise ValueError(
                    f"edge ({u!r} -> {v!r}): probability {p!r} is not a number"
                ) from None
        weight = torch.tensor(w, dtype=_float_dtype(dtype), device=device)
        return cls(
            len(labels),
            np.array(src, dtype=np.int64),
            np.array(dst, dtype=np.int64),
            weight,
            tuple(labels),
        )

    @classmethod
    def from_pandas_edgelist(
        cls,
        df: Any,
        source: Hashable = "source",
        target: Hashable = "target",
        weight: Hashable = "weight",
        edge_type: Hashable | None = None,
        nodes: Iterable[Hashable] | None = None,
        *,
        undirected: bool = False,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> CascadeGraph:
        """Build from a long-form table, one directed edge ``source -> target`` per row.

        Named after ``networkx.from_pandas_edgelist``: a contact table read with
        ``pd.read_csv`` (columns ``source, target, p_transmit``, say) needs no conversion.
        Unlike networkx's, whose default builds an undirected ``nx.Graph``, the default here
        is directed: each row is the directed edge ``u -> v`` with probability ``p``, as in
        :meth:`from_edges`, and nothing spreads from ``v`` to ``u``. A table that lists
        each contact once, in either direction, needs ``undirected=True`` (read as
        directed, it loses half its transmission routes without a word).

        Parameters
        ----------
        df
            A pandas DataFrame with one row per edge.
        source, target
            The columns holding the edges' source and target node labels.
        weight
            The column holding each edge's activation probability.
        edge_type
            Optional column holding each edge's type (shared weights in fits); numbered
            ``0..T-1`` in sorted order of the values, as :meth:`from_networkx` numbers them,
            and kept by name in ``edge_type_names``.
        nodes
            All node labels, in order (people without contacts included), as in
            :meth:`from_edges`; by default the labels in order of first appearance. A
            label of ``df`` that is not among them is matched as text (``str(label)``),
            as :meth:`read_edgelist` and :meth:`index_of` match labels: integer ids of
            ``pd.read_csv`` match the strings of a node list read from a file. The graph
            keeps the labels of ``nodes``. A list or other sequence: a set, whose order
            changes from one run to the next, is refused.
        undirected
            Each row is a contact in both directions (``u -> v`` and ``v -> u``, both with
            probability ``p``), as :meth:`read_edgelist`'s ``undirected`` reads a line and
            ``networkx.from_pandas_edgelist``'s default reads a row; a row's edge type goes
            to both of its edges, and row ``i`` gives edges ``2i`` and ``2i + 1``, as
            :meth:`from_networkx` orders an ``nx.Graph``'s. A contact on two rows (``u, v``
            and ``v, u``, or the same row again) is refused, naming both rows: its
            probability would be ambiguous. False (the default) reads directed edges.
        dtype, device
            Of the weight tensor.

        Returns
        -------
        CascadeGraph
            The graph.

        Raises
        ------
        TypeError
            If ``df`` is not a DataFrame, or a label or type is not hashable (naming the row),
            or ``nodes`` is a set or frozenset, or ``undirected`` is not True or False.
        ValueError
            If a column is missing (naming the argument and the columns there are); naming
            the row (by its index label): an empty node label, a weight that is not a
            number, NaN or outside ``[0, 1]``, a self-loop, a node not in ``nodes``, an
            empty edge type, or an edge given on two rows (with the rule that merges them:
            independent contacts combine as ``1 - (1 - p1)(1 - p2)...``), with
            ``undirected`` a contact on two rows in either direction; labels that
            differ in type where matching them as text is ambiguous (two labels of ``df``,
            1 and ``"1"``, that would become one node; ``nodes`` holding both).

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"], "p": [0.5, 0.2]})
        >>> g = CascadeGraph.from_pandas_edgelist(df, weight="p")
        >>> g.labels, g.weight.tolist()
        (('a', 'b', 'c'), [0.5, 0.2])
        >>> u = CascadeGraph.from_pandas_edgelist(df, weight="p", undirected=True)
        >>> [(u.labels[a], u.labels[b]) for a, b in zip(u.src, u.dst)]
        [('a', 'b'), ('b', 'a'), ('b', 'c'), ('c', 'b')]
        """
        if not is_dataframe(df):
            hint = ("; for (u, v, p) triples use CascadeGraph.from_edges(edges)"
                    if isinstance(df, list | tuple) else "")
            raise TypeError(f"df: expected a pandas DataFrame with one row per edge, got "
                            f"{type(df).__name__}{hint}")
        if not isinstance(undirected, bool | np.bool_):  # "no" would switch it on
            raise TypeError(f"undirected must be True or False, got {undirected!r}")
        columns = list(df.columns)
        wanted = [("source", source, "source node labels"),
                  ("target", target, "target node labels"),
                  ("weight", weight, "activation probabilities")]
        if edge_type is not None:
            wanted.append(("edge_type", edge_type, "edge types"))
        for arg, col, holds in wanted:
            found = sum(1 for c in columns if c == col)
            if found != 1:
                problem = ("has no column" if not found else f"has {found} columns named")
                raise ValueError(f"{arg}: df {problem} {col!r} (columns "
                                 f"{reprlib.repr(columns)}); pass {arg}= naming the column "
                                 f"that holds the {holds}")
        rows = df.index.tolist()
        us, vs, ps = df[source].tolist(), df[target].tolist(), df[weight].tolist()
        types = df[edge_type].tolist() if edge_type is not None else None
        refuse_unordered(nodes, "nodes", "node labels")  # the node order, as in from_edges
        labels: list[Hashable] = list(nodes) if nodes is not None else []
        lookup = {lab: i for i, lab in enumerate(labels)}
        # a label of df that is not in nodes is matched as text, as read_edgelist and
        # index_of match it: ids 1, 2 of pd.read_csv against "1", "2" read from a file
        # were "not in nodes"
        matcher = _TextMatch(labels, us, vs) if nodes is not None else None
        src, dst = np.empty(len(rows), np.int64), np.empty(len(rows), np.int64)
        w = np.empty(len(rows), np.float64)
        first: dict[tuple[int, int], int] = {}
        for e, (row, u, v, p) in enumerate(zip(rows, us, vs, ps)):
            where = f"df row {row!r}"
            ends = []
            for end, lab in (("source", u), ("target", v)):
                if _is_missing(lab):
                    raise ValueError(f"{where}: no {end} node ({lab!r}); give every edge its "
                                     "two nodes")
                try:
                    i = lookup.get(lab)
                except TypeError:
                    raise TypeError(f"{where}: the {end} node {lab!r} is not hashable; node "
                                    "labels are str or int") from None
                if i is None and matcher is not None:
                    i = matcher.find(lab, f"{where}: edge ({u!r} -> {v!r})")
                if i is None:
                    if nodes is not None:
                        raise ValueError(f"{where}: edge ({u!r} -> {v!r}): node {lab!r} not in "
                                         "nodes")
                    i = lookup[lab] = len(labels)
                    labels.append(lab)
                ends.append(i)
            edge = f"edge ({u!r} -> {v!r})"
            try:
                x = float(p)
            except (TypeError, ValueError):
                raise ValueError(f"{where}: {edge} has weight {p!r} (column {weight!r}), not "
                                 "a number") from None
            if not 0 <= x <= 1:  # False for NaN
                raise ValueError(f"{where}: {edge} has weight {x!r} (column {weight!r}); "
                                 "activation probabilities must lie in [0, 1]")
            if ends[0] == ends[1]:
                raise ValueError(f"{where}: self-loop on node {u!r}: the Independent Cascade "
                                 "model has no self-activation; remove the row")
            # read as undirected, u, v and v, u are one contact: keyed by the pair in order
            key = ((min(ends), max(ends)) if undirected else (ends[0], ends[1]))
            before = first.setdefault(key, e)
            if before != e:
                p1 = w[before]
                # a repeated index label ("rows 0 and 0" after pd.concat): the positions
                pair = (f"{rows[before]!r} and {row!r}" if rows[before] != row else
                        f"at positions {before} and {e} (both labelled {row!r})")
                if undirected:
                    a, b = us[before], vs[before]
                    raise ValueError(
                        f"df rows {pair} both list the contact {a!r} -- {b!r} ({p1:g}, "
                        f"{x:g}); read as undirected, each row is a contact in both "
                        "directions, so list each contact once: independent contacts "
                        f"combine as 1 - (1 - p1)(1 - p2)... (here {1 - (1 - p1) * (1 - x):g})"
                        ": merge the rows into one (or read the table as directed edges "
                        "u -> v: undirected=False)")
                raise ValueError(
                    f"df rows {pair} both give the {edge} ({p1:g}, "
                    f"{x:g}); give each directed edge once: independent contacts combine as "
                    f"1 - (1 - p1)(1 - p2)... (here {1 - (1 - p1) * (1 - x):g}), e.g. "
                    f"df.groupby([{source!r}, {target!r}], sort=False, as_index=False)"
                    f"[{weight!r}].agg(lambda p: 1 - (1 - p).prod())")
            src[e], dst[e], w[e] = ends[0], ends[1], x
        codes = names = None
        if types is not None:
            for row, t in zip(rows, types):
                if _is_missing(t):
                    raise ValueError(f"df row {row!r}: no edge type ({t!r}, column "
                                     f"{edge_type!r}); give every edge a type")
                try:
                    hash(t)
                except TypeError:
                    raise TypeError(f"df row {row!r}: its edge type {t!r} is not hashable (a "
                                    "str or an int)") from None
            rank, names = _type_codes(types)
            codes = np.array(rank, dtype=np.int64)
        if undirected:
            # row i gives edges 2i (u -> v) and 2i + 1 (v -> u), as from_networkx orders an
            # nx.Graph's; no self-loop is left (refused above)
            src, dst = np.column_stack([src, dst]).ravel(), np.column_stack([dst, src]).ravel()
            w = np.repeat(w, 2)
            codes = None if codes is None else np.repeat(codes, 2)
        weight_t = torch.as_tensor(w, dtype=_float_dtype(dtype), device=device)
        return cls(len(labels), src, dst, weight_t, tuple(labels), codes, names)

    @classmethod
    def read_edgelist(
        cls,
        path: str | os.PathLike[str],
        *,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
        undirected: bool = False,
        weight: str = "weight",
        nodes: Iterable[Hashable] | None = None,
        edge_type: str | None = None,
        default: float | None = None,
    ) -> CascadeGraph:
        r"""Read a weighted edge list (lines ``u v p``; ``#`` starts a comment).

        This is networkx's weighted edge-list format (``nx.write_weighted_edgelist``):
        fields separated by white space; node labels are kept as strings. A line is the
        directed edge ``u -> v``, unless ``undirected``. Lines of networkx's default
        edge-list format (``nx.write_edgelist``: ``u v {'weight': 0.5, ...}``) are read
        too, ``p`` being the attribute named by ``weight``. With ``default``, lines that
        give no probability (``u v``, as ``nx.write_edgelist(G, data=False)`` writes an
        unweighted contact list, and ``u v {attributes}`` without ``weight``) are read too.

        Parameters
        ----------
        path
            The edge-list file; one named ``.gz``, ``.bz2`` or ``.xz`` is decompressed (as
            networkx's ``read_weighted_edgelist`` decompresses ``.gz`` and ``.bz2``).
        undirected
            Each line is a contact in both directions (``u -> v`` and ``v -> u``, both with
            probability ``p``), as ``nx.write_weighted_edgelist`` writes an ``nx.Graph``:
            each edge once. A contact listed twice (``u v`` and ``v u``, or the same line
            again) is refused, naming both lines: its probability would be ambiguous.
        weight
            On lines ``u v {attributes}`` (``nx.write_edgelist``), the attribute that holds
            the activation probability (as in :meth:`from_networkx`); its value must be a
            number. Lines ``u v p`` do not use it.
        nodes
            All node labels, in order, people without contacts included (as in
            :meth:`from_edges`): a file lists contacts only, and with random seeding the
            size distribution depends on the nodes without any. Labels of a file are text,
            so each is compared as ``str(label)``; every node of the file must be among them.
            A list or other sequence: a set, whose order changes from one run to the next,
            is refused.
        edge_type
            On lines ``u v {attributes}``, the attribute that holds each edge's type (as in
            :meth:`from_networkx`; the command line's ``--edge-type``), e.g. ``kind`` of
            ``a b {'weight': 0.3, 'kind': 'household'}``: text or a number, every type of
            one of the two. The types are numbered ``0..T-1`` in sorted order and kept by
            name in ``edge_type_names``; read ``undirected``, a line's type goes to both of
            its edges. None (the default) reads no types.
        default
            The activation probability of every edge whose line gives none (``u v``, or
            ``u v {attributes}`` without ``weight``), as :meth:`from_networkx`'s ``default``
            (the command line's ``--default``): one transmissibility for an unweighted
            contact list. Lines that give ``p`` keep it, so a file with ``p`` on every line
            reads the same with any ``default``. None (the default) refuses lines without
            ``p``.
        dtype, device
            Of the weight tensor (as in :meth:`from_edges`).

        Returns
        -------
        CascadeGraph
            The graph, with nodes in the order of ``nodes``, by default in order of first
            appearance.

        Raises
        ------
        ValueError
            On a line that is not ``u v p`` (also ``u, v, p``: a label ending in a comma)
            or ``u v {attributes}``, a ``p`` that is not a number, attributes without
            ``weight`` (naming the file and line, the numeric attributes ``weight=`` may
            name, and ``nx.write_weighted_edgelist``), a file that is not UTF-8 or UTF-16
            text or whose compressed data are damaged, a file without edges, a self-loop or
            an edge listed twice (naming the file and line, and for an edge listed twice
            how to merge independent contacts: ``1 - (1 - p1)(1 - p2)...``), a contact
            listed twice with ``undirected`` (naming both lines), or any error of
            :class:`CascadeGraph`; a node of the file not in ``nodes``, or a label given
            twice in ``nodes``. With ``edge_type``, naming the
            file and line: a line ``u v p`` (no attributes, so no type), a line without the
            attribute, a type that is no text or number (or a bool, empty, NaN), or types
            both of text and of numbers. A ``default`` outside ``[0, 1]`` or NaN.
        TypeError
            If ``undirected`` is not True or False, ``weight`` or ``edge_type`` is not a
            str, ``nodes`` is a str, a set (its order changes from one run to the
            next) or not iterable, or ``default`` is not a number (a bool or text).

        Examples
        --------
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "contacts.edgelist"
        >>> _ = path.write_text("a b {'weight': 0.5, 'kind': 'work'}\n"
        ...                     "b c {'weight': 0.2, 'kind': 'household'}\n")
        >>> g = CascadeGraph.read_edgelist(path, edge_type="kind")
        >>> g.edge_type.tolist(), g.edge_type_names
        ([1, 0], ('household', 'work'))
        >>> _ = path.write_text("a b\nb c\n")  # nx.write_edgelist(G, path, data=False)
        >>> CascadeGraph.read_edgelist(path, undirected=True, default=0.3).weight.tolist()
        [0.3, 0.3, 0.3, 0.3]
        """
        return cls._read_edgelist(path, dtype=dtype, device=device, undirected=undirected,
                                  weight=weight, nodes=nodes, edge_type=edge_type,
                                  default=default)[0]

    @classmethod
    def _read_edgelist(
        cls,
        path: str | os.PathLike[str],
        *,
        dtype: torch.dtype,
        device: torch.device | str | None,
        undirected: bool,
        weight: str,
        nodes: Iterable[Hashable] | None,
        edge_type: str | None,
        default: float | None,
    ) -> tuple[CascadeGraph, int]:
        """:meth:`read_edgelist`, and how many lines took ``default``.

        The command line records ``--default`` where a line used it and says it was
        ignored where none did (the outputs then are those of a run without it).
        """
        if not isinstance(undirected, bool | np.bool_):  # "no" would switch it on
            raise TypeError(f"undirected must be True or False, got {undirected!r}")
        if not isinstance(weight, str):
            raise TypeError(f"weight: expected the name of an edge attribute (a str), got "
                            f"{weight!r}")
        if edge_type is not None and not isinstance(edge_type, str):
            raise TypeError(f"edge_type: expected the name of an edge attribute (a str) or "
                            f"None, got {edge_type!r}")
        if default is not None:
            if (isinstance(default, bool | np.bool_)
                    or not isinstance(default, numbers.Real)):  # True is no probability
                raise TypeError(f"default: expected a probability in [0, 1] or None, got "
                                f"{default!r}")
            default = float(default)
            if not 0 <= default <= 1:  # False for NaN
                raise ValueError(f"default: expected a probability in [0, 1] or None, got "
                                 f"{default!r}")
        defaulted = 0  # lines that took the default
        types: list[str | int | float] | None = None if edge_type is None else []
        kinds: dict[str, int] = {}  # "text" / "a number": the first line of each
        # streamed into compact arrays: holding every line and a (u, v, p) tuple per edge
        # took ~500 bytes per edge (1,000,000 lines: +500 MB)
        lookup: dict[str, int] = {}
        if nodes is not None:
            if isinstance(nodes, str | bytes) or not isinstance(nodes, Iterable):
                raise TypeError(f"nodes: expected an iterable of node labels, got {nodes!r}")
            refuse_unordered(nodes, "nodes", "node labels")  # the node order
            for lab in map(str, nodes):
                if lab in lookup:
                    raise ValueError(f"nodes: {lab!r} is given twice")
                lookup[lab] = len(lookup)
        src, dst, w = array("q"), array("q"), array("d")
        rows = array("q")  # line numbers, to name a repeated edge or a self-loop
        # utf-8-sig: the byte-order mark Windows tools write stayed glued to the first node;
        # UTF-16 (Excel's "Unicode Text") after its byte-order mark; .gz, .bz2 and .xz
        # decompressed, as networkx's read_weighted_edgelist decompresses .gz and .bz2
        # closed on an error too: the traceback would hold the generator, and the file open
        with contextlib.closing(text_lines(path, "a text edge list (lines 'u v p')")) as lines:
            for lineno, raw in lines:
                line = raw.split("#", 1)[0].strip()
                if not line:
                    continue
                parts = line.split()
                # nx.write_edgelist's default: "a b {'weight': 0.5}" was "expected
                # 'u v p'", not saying which networkx writer gives that
                attributes = len(parts) >= 3 and parts[2].startswith("{")
                if attributes:
                    parts = line.split(maxsplit=2)
                # "a, b, 0.5" named the nodes "a," and "b,", and --seed a found no node;
                # a comma inside a label ("IL-2,IL-4") is kept
                # nx.write_edgelist(G, path, data=False) writes "u v": the default's
                unweighted = (default is not None and len(parts) == 2
                              and not parts[0].endswith(",") and not parts[1].endswith(","))
                if unweighted:
                    parts = [*parts, ""]
                elif (len(parts) != 3 or parts[0].endswith(",")
                      or parts[1].endswith(",")):
                    comma = (", separated by white space, not commas" if "," in line
                             else "")
                    bare = ("; each line needs its probability p, as "
                            "nx.write_weighted_edgelist writes it, or pass default=P (on "
                            "the command line: --default P) to give every line without one "
                            "the probability P"
                            if len(parts) == 2 and not comma else "")
                    raise ValueError(f"{os.fspath(path)}:{lineno}: expected 'u v p'"
                                     f"{comma}, got {raw.strip()!r}{bare}")
                if types is not None:
                    typed = _line_type(parts, attributes, edge_type, weight, kinds,
                                       f"{os.fspath(path)}:{lineno}", lineno)
                    types.append(typed[1])
                try:
                    p = (default if unweighted else
                         _attribute_probability(parts[2], weight,
                                                f"{os.fspath(path)}:{lineno}",
                                                parts[0], parts[1],
                                                None if types is None else typed[0], default)
                         if attributes else float(parts[2]))
                except ValueError:
                    if attributes:
                        raise
                    raise ValueError(
                        f"{os.fspath(path)}:{lineno}: edge ({parts[0]!r} -> "
                        f"{parts[1]!r}) has probability {parts[2]!r}, not a number"
                    ) from None
                if p is None or unweighted:  # attributes without weight, or no third field
                    p = default
                    defaulted += 1
                if nodes is not None:
                    for lab in parts[:2]:
                        if lab not in lookup:
                            raise ValueError(
                                f"{os.fspath(path)}:{lineno}: edge ({parts[0]!r} -> "
                                f"{parts[1]!r}): node {lab!r} not in nodes")
                src.append(lookup.setdefault(parts[0], len(lookup)))
                dst.append(lookup.setdefault(parts[1], len(lookup)))
                w.append(p)
                rows.append(lineno)
        if not w:
            raise ValueError(f"{os.fspath(path)} is empty: no edges (expected lines 'u v p')")
        s_arr, d_arr = np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64)
        w_arr = np.array(w, dtype=np.float64)
        r_arr = np.array(rows, dtype=np.int64)
        _refuse_repeats_and_loops(s_arr, d_arr, w_arr, r_arr, tuple(lookup), os.fspath(path),
                                  directed=not undirected)
        codes = names = None
        if types is not None:
            # numbered by sorted value, as from_networkx and from_pandas_edgelist number them
            rank, names = _type_codes(types)
            codes = np.array(rank, dtype=np.int64)
        if undirected:
            s_arr, d_arr, w_arr, codes = _both_directions(s_arr, d_arr, w_arr, r_arr,
                                                          tuple(lookup), os.fspath(path), codes)
        weight_t = torch.as_tensor(w_arr, dtype=_float_dtype(dtype), device=device)
        return cls(len(lookup), s_arr, d_arr, weight_t, tuple(lookup), codes, names), defaulted

    @classmethod
    def from_networkx(
        cls,
        graph: Any,
        *,
        weight: str | None = "weight",
        default: float | None = None,
        edge_type: str | None = None,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> CascadeGraph:
        """Build from a networkx graph; undirected graphs give both directions of each edge.

        Parameters
        ----------
        graph
            ``nx.Graph`` or ``nx.DiGraph`` (a multigraph only without parallel edges).
        weight
            Name of the edge attribute holding the activation probability; None reads no
            attribute: every edge gets ``default`` (which it then needs).
        default
            Probability for edges without the attribute; None makes a missing one an error.
            It does not replace the attribute where an edge has it: an attribute that
            holds no probability in ``[0, 1]`` (``nx.karate_club_graph``'s ``'weight'``
            counts contacts) is refused, naming the attribute (``weight=None`` gives every
            edge the default). When no edge has the attribute and the edges carry other
            numeric attributes, a ``UserWarning`` names them (one may hold the
            probabilities: pick it with ``weight=``).
        edge_type
            Optional edge attribute with a hashable type (shared weights in fits); every
            edge must have it. The types are numbered ``0..T-1`` in sorted order of their
            values (integer types ``0..T-1`` keep their numbers), whatever the node order,
            so a fit's ``shared_weights[i]`` is the weight of the ``i``-th type; the values
            are kept in ``edge_type_names`` (``edge_type_names[i]`` names type ``i``).
        dtype, device
            Of the weight tensor.

        Returns
        -------
        CascadeGraph
            The graph, nodes in ``graph.nodes()`` order.

        Raises
        ------
        TypeError
            If ``graph`` is not a networkx graph, or an edge type is not hashable.
        ValueError
            Naming the edge: an edge without ``weight`` where ``default`` is None, a value
            of ``weight`` that is no probability in ``[0, 1]`` where ``default`` is given
            (saying that ``default`` applies only to edges without it), an edge without
            ``edge_type``, parallel edges of a multigraph, or any error of
            :class:`CascadeGraph`; ``weight=None`` without ``default``.

        Examples
        --------
        >>> import networkx as nx
        >>> G = nx.karate_club_graph()  # its 'weight' counts contacts: 4.0, 5.0, ...
        >>> g = CascadeGraph.from_networkx(G, weight=None, default=0.3)
        >>> g.num_edges, g.weight.unique().tolist()
        (156, [0.3])
        """
        import networkx as nx

        if not isinstance(graph, nx.Graph):
            raise TypeError(f"graph: expected a networkx graph, got {type(graph).__name__}")
        if weight is None and default is None:
            raise ValueError("weight, default: weight=None gives every edge default=, so it "
                             "needs one; pass default=P (an activation probability)")
        labels = list(graph.nodes())
        edges, types = [], []
        type_ids: dict[Hashable, int] = {}
        floats: list[Hashable] = []  # a float spelling (1.0) of a type first met as 1
        directed = graph.is_directed()
        seen: set[Any] | None = set() if graph.is_multigraph() else None
        # numeric attributes of edges that took `default`: a probability stored under another
        # name ('p') was ignored without a word, every edge getting the default
        defaulted, others = 0, dict[Hashable, None]()  # an ordered set of names
        for u, v, data in graph.edges(data=True):
            if seen is not None:
                # CascadeGraph's "duplicate edge ...; give each directed edge once" did not
                # say that the multigraph was the cause, nor how to merge the edges
                key = (u, v) if directed or u == v else frozenset((u, v))
                if key in seen:
                    raise ValueError(
                        f"graph: the {type(graph).__name__} has parallel edges {u!r} "
                        f"{'->' if directed else '--'} {v!r};"
                        " the Independent Cascade model takes one activation probability per "
                        "directed edge: merge them into an nx.DiGraph (independent attempts "
                        "combine as 1 - (1 - p1)(1 - p2)...)"
                    )
                seen.add(key)
            if edge_type is not None and edge_type not in data:
                # became a type of its own (None), with a weight of its own in the fits
                raise ValueError(f"edge ({u!r} -> {v!r}) has no attribute {edge_type!r} (the "
                                 "edge_type); give every edge a type")
            if weight is not None and weight in data:
                p = data[weight]
                if default is not None:
                    _refuse_attribute_with_default(p, weight, default, u, v)
            elif default is not None:
                p = default
                defaulted += 1
                others.update((k, None) for k, x in data.items()
                              if k != edge_type and isinstance(x, numbers.Real)
                              and not isinstance(x, bool | np.bool_))
            else:
                raise ValueError(
                    f"edge ({u!r} -> {v!r}) has no attribute {weight!r}; set `weight=` to the "
                    "attribute holding the activation probability or pass `default=`"
                )
            pairs = [(u, v)] if directed else [(u, v), (v, u)]
            for a, b in pairs:
                edges.append((a, b, p))
                if edge_type is not None:
                    t = data[edge_type]
                    try:
                        types.append(type_ids.setdefault(t, len(type_ids)))
                        if isinstance(t, float | np.floating) and not floats:
                            floats.append(t)
                    except TypeError:  # "unhashable type: 'list'", naming no edge
                        raise TypeError(f"edge ({u!r} -> {v!r}): its {edge_type!r} is "
                                        f"{t!r}; an edge type must be hashable (a str or an "
                                        "int)") from None
        # weight=None asks for the default on every edge: nothing was ignored by mistake
        if weight is not None and defaulted and defaulted == graph.number_of_edges() and others:
            names = list(others)
            held = (f"the numeric attribute {names[0]!r}: pass weight={names[0]!r}" if
                    len(names) == 1 else f"the numeric attributes {', '.join(map(repr, names))}"
                    f": pass weight= naming one of them (such as weight={names[0]!r})")
            warnings.warn(
                f"from_networkx: no edge has the attribute {weight!r}, so every edge got "
                f"default={default!r}; the edges carry {held} to read the activation "
                "probabilities from it", UserWarning, stacklevel=2)
        g = cls.from_edges(edges, nodes=labels, dtype=dtype, device=device)
        if edge_type is not None:
            # numbered by sorted value, not by first appearance (see _type_codes)
            # type_ids: by first appearance; a float spelling names them all as floats
            rank, names = _type_codes([*type_ids, *floats])
            codes = [rank[t] for t in types]
            g = cls(g.n, g.src, g.dst, g.weight, g.labels, np.array(codes, dtype=np.int64),
                    names)
        return g

    @classmethod
    def from_scipy(
        cls,
        matrix: Any,
        *,
        labels: Sequence[Hashable] | None = None,
        scale: float = 1.0,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> CascadeGraph:
        """Build from a square (sparse or dense) matrix: entry ``(u, v)`` = ``w_uv``.

        Explicitly stored zeros and the diagonal are dropped (the diagonal is not an
        error here: neighbour graphs often store it). Duplicate entries of a COO (or
        non-canonical CSR/CSC) matrix, which scipy reads as their sum, are refused:
        two contacts between the same pair are independent attempts, which combine as
        ``1 - (1 - p1)(1 - p2)...``, not ``p1 + p2`` (merge them first, as the message
        says; :meth:`from_edges` and :meth:`from_networkx` refuse them likewise).

        Parameters
        ----------
        matrix
            Square scipy sparse matrix or array, numpy array or pandas DataFrame (rows =
            sources, columns = targets). A DataFrame's index and columns must hold the
            same node labels (compared as text, in any order); its columns are matched to
            its rows by label, and its index gives the default labels.
        labels
            Node labels in the order of the rows (default ``0..n-1``, or a DataFrame's
            index): a list or other sequence, not a set, whose order changes from one run
            to the next.
        scale
            Factor applied to every entry.
        dtype, device
            Of the weight tensor.

        Returns
        -------
        CascadeGraph
            The graph.

        Raises
        ------
        ValueError
            If the matrix is not square, stores a pair (off the diagonal, not zero) more
            than once (naming the pair, its entries and their combination for independent
            contacts), or on any error of :class:`CascadeGraph`. A DataFrame that lists
            edges, one per row, is refused naming :meth:`from_pandas_edgelist`; one that
            is a square matrix read without its index (``pd.read_csv`` without
            ``index_col=0``: one column wider than tall, its first column holding the row
            labels) naming ``pd.read_csv(path, index_col=0)``.
        TypeError
            If ``labels`` is a set or frozenset (its order changes from one run to the
            next).
        """
        import scipy.sparse as sp

        # a tensor failed in numpy's multiply, a string in a ufunc, naming neither
        scale = check_number("scale", scale, at_least=0)
        # labels[i] names row i: a set's order changed from one run to the next
        refuse_unordered(labels, "labels", "node labels, one per row of the matrix")
        if is_dataframe(matrix):
            frame = matrix
            # positions alone paired row 'a' with whatever column came first, and the
            # labels became 0..n-1
            try:
                matrix, frame_labels = square_frame_values(
                    frame, "matrix", kind="node", rows_are="sources", cols_are="targets")
            except ValueError:
                _refuse_long_form(frame)
                raise
            if matrix.dtype == object:  # text in it: scipy's "does not support dtype object"
                _refuse_long_form(frame)
            labels = frame_labels if labels is None else labels
        coo = sp.coo_matrix(matrix, copy=True)
        if coo.shape[0] != coo.shape[1]:
            raise ValueError(f"matrix: expected a square matrix, got shape {coo.shape}")
        keep = (coo.row != coo.col) & (coo.data != 0)
        data = np.asarray(coo.data[keep], dtype=np.float64) * scale
        order = np.lexsort((coo.col[keep], coo.row[keep]))
        n = coo.shape[0]
        _refuse_duplicate_entries(coo.row[keep][order], coo.col[keep][order],
                                  coo.data[keep][order], labels, n)
        return cls(
            n,
            coo.row[keep][order].astype(np.int64),
            coo.col[keep][order].astype(np.int64),
            torch.as_tensor(data[order], dtype=_float_dtype(dtype), device=device),
            tuple(labels) if labels is not None else tuple(range(n)),
        )

    @classmethod
    def from_anndata(
        cls,
        adata: Any,
        *,
        obsp_key: str = "connectivities",
        scale: float = 1.0,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> CascadeGraph:
        """Build from a neighbour graph in ``adata.obsp[obsp_key]`` (``sc.pp.neighbors``).

        Node labels are ``adata.obs_names``; probabilities are the stored weights times
        ``scale`` (scanpy's connectivities already lie in ``[0, 1]``).

        Parameters
        ----------
        adata
            An AnnData object.
        obsp_key
            Key of the neighbour graph in ``adata.obsp``.
        scale
            Factor applied to every stored weight.
        dtype, device
            Of the weight tensor (as in :meth:`from_scipy`).

        Returns
        -------
        CascadeGraph
            The graph, one node per observation.

        Raises
        ------
        ValueError
            If ``obsp_key`` is not in ``adata.obsp``.

        Warns
        -----
        UserWarning
            If ``obsp_key`` names ``sc.pp.neighbors``' distance matrix (``"distances"``, or
            a ``distances_key`` recorded in ``adata.uns``): distances are no probabilities.
        """
        if obsp_key not in adata.obsp:
            raise ValueError(
                f"obsp_key: {obsp_key!r} not in adata.obsp (have {list(adata.obsp.keys())}); "
                "run scanpy.pp.neighbors first"
            )
        # sc.pp.neighbors names its distance matrix in uns[...]["distances_key"]: distances
        # grow as cells differ, so read as probabilities they spread along the least similar
        # pairs (krumsiek11's all lay below 1: a graph built without a word)
        uns = getattr(adata, "uns", {})
        distances = {v.get("distances_key") for v in uns.values() if isinstance(v, Mapping)}
        # the literal "distances", or a key recorded as one: a name that merely ends in
        # "_distances" may hold probabilities
        if obsp_key in distances or obsp_key == "distances":
            connectivities = sorted(
                str(v["connectivities_key"]) for v in uns.values()
                if isinstance(v, Mapping) and v.get("distances_key") == obsp_key
                and "connectivities_key" in v) or ["connectivities"]
            warnings.warn(
                f"obsp_key: {obsp_key!r} holds sc.pp.neighbors' distances, which grow as cells "
                "differ: read as transmission probabilities, the least similar neighbours "
                f"pass a cascade on most; use obsp_key={connectivities[0]!r}",
                UserWarning, stacklevel=2)
        return cls.from_scipy(
            adata.obsp[obsp_key], labels=list(adata.obs_names), scale=scale, dtype=dtype,
            device=device,
        )

    def to_networkx(self, *, edge_type: str = "type") -> Any:
        """Return an ``nx.DiGraph`` with attribute ``weight`` on each edge (and its type).

        Parameters
        ----------
        edge_type
            The edge attribute that holds each edge's type, written only when the graph
            has types (``graph.edge_type``): its name in ``edge_type_names``, else its
            number. ``CascadeGraph.from_networkx(G, edge_type="type")`` reads them back.
            Untyped graphs' edges carry ``weight`` alone.

        Returns
        -------
        networkx.DiGraph
            Nodes are the labels; each edge carries its probability as ``weight``.

        Raises
        ------
        TypeError
            If ``edge_type`` is not a str.
        ValueError
            If ``edge_type`` is ``"weight"``, the probability's attribute.

        Examples
        --------
        >>> g = CascadeGraph(2, [0], [1], [0.5], ("a", "b"), [0], ("home",))
        >>> list(g.to_networkx().edges(data=True))
        [('a', 'b', {'weight': 0.5, 'type': 'home'})]
        """
        import networkx as nx

        if not isinstance(edge_type, str):
            raise TypeError(f"edge_type: expected the name of an edge attribute (a str), got "
                            f"{edge_type!r}")
        if edge_type == "weight":
            raise ValueError("edge_type: 'weight' holds each edge's probability; name the "
                             "type's attribute otherwise (default 'type')")
        g = nx.DiGraph()
        g.add_nodes_from(self.labels)
        w = self.weight.detach().cpu().numpy()
        if self.edge_type is None:
            g.add_weighted_edges_from(
                (self.labels[u], self.labels[v], float(p))
                for u, v, p in zip(self.src, self.dst, w)
            )
            return g
        # the types were dropped: a typed graph could not go through networkx and back
        names = self.edge_type_names
        g.add_edges_from(
            (self.labels[u], self.labels[v],
             {"weight": float(p), edge_type: int(t) if names is None else names[t]})
            for u, v, p, t in zip(self.src, self.dst, w, self.edge_type)
        )
        return g


def check_graph(graph: Any, name: str = "graph") -> CascadeGraph:
    """Return ``graph`` if it is a :class:`CascadeGraph`; else say how to convert it.

    Every public function that takes a network calls this first: a networkx graph or a
    scipy matrix passed as it is failed far inside with a bare ``AttributeError``
    ("'Graph' object has no attribute 'dtype'", "... 'num_edges'", "... 'device'").
    networkx, scipy and pandas are looked up in ``sys.modules``, not imported: an object
    of theirs exists only once they are.

    Parameters
    ----------
    graph
        The value passed as ``name``.
    name
        The argument name, for the message.

    Returns
    -------
    CascadeGraph
        ``graph`` itself.

    Raises
    ------
    TypeError
        If ``graph`` is not a :class:`CascadeGraph`; the message names the constructor
        that converts what was given (:meth:`CascadeGraph.from_networkx` for a networkx
        graph, :meth:`CascadeGraph.from_scipy` for a matrix or square DataFrame,
        :meth:`CascadeGraph.from_pandas_edgelist` for a DataFrame with one edge per row,
        ``pd.read_csv(path, index_col=0)`` for a square matrix read without its index,
        :meth:`CascadeGraph.from_anndata`, :meth:`CascadeGraph.read_edgelist` for a path,
        :meth:`CascadeGraph.from_edges` for a list of triples).
    """
    if isinstance(graph, CascadeGraph):
        return graph
    kind = type(graph)
    module = kind.__module__.split(".", 1)[0]
    nx = sys.modules.get("networkx")
    sparse = sys.modules.get("scipy.sparse")
    if nx is not None and isinstance(graph, nx.Graph):
        got = f"a networkx {kind.__name__}"
        fix = ("convert it with CascadeGraph.from_networkx(G, weight='weight', default=None)"
               " (weight= names the edge attribute that holds the activation probability, "
               "default= is the probability of an edge without it; an undirected graph "
               "gives both directions of each edge)")
    elif is_dataframe(graph) and (unindexed := _unindexed_matrix(graph)) is not None:
        # its first column made it look like a long-form edge list (see _refuse_long_form)
        what, fix = unindexed
        got = f"a pandas DataFrame (columns {reprlib.repr(list(graph.columns))}) that {what}"
    elif is_dataframe(graph) and (call := _long_form_call(graph)) is not None:
        # the from_scipy below said nothing of a table with one edge per row
        got = (f"a pandas DataFrame that looks like a long-form edge list (one row per edge, "
               f"columns {reprlib.repr(list(graph.columns))})")
        fix = f"read it with {call}"
    elif ((sparse is not None and sparse.issparse(graph)) or is_dataframe(graph)
          or (isinstance(graph, np.ndarray | torch.Tensor) and graph.ndim == 2)):
        got = f"a {module} {kind.__name__}"
        fix = ("convert it with CascadeGraph.from_scipy(A, labels=None): entry (u, v) is "
               "the probability that u activates v (rows = sources; labels= names the "
               "nodes, by default 0..n-1 or a DataFrame's index)")
    elif kind.__name__ == "AnnData":
        got = "an AnnData"
        fix = ("convert its neighbour graph with CascadeGraph.from_anndata(adata, "
               "obsp_key='connectivities')")
    elif isinstance(graph, str | os.PathLike):
        got = f"the path {os.fspath(graph)!r}"
        fix = "read the file with CascadeGraph.read_edgelist(path) (lines 'u v p')"
    elif isinstance(graph, list | tuple):
        got = f"a {kind.__name__}"
        fix = "build one from (u, v, p) triples with CascadeGraph.from_edges(edges)"
    else:
        got = f"{kind.__name__}" if graph is not None else "None"
        fix = ("build one with CascadeGraph.from_networkx, from_scipy, from_edges or "
               "read_edgelist")
    raise TypeError(f"{name}: expected a CascadeGraph, got {got}; {fix}")


def find_cycle_link(graph: CascadeGraph) -> tuple[int, int] | None:
    """Return one undirected link ``(a, b)`` that closes a cycle of the skeleton, or None."""
    if graph.is_forest():
        return None
    a, b, _, _ = graph.undirected_links()
    parent = list(range(graph.n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for u, v in zip(a.tolist(), b.tolist()):
        ru, rv = find(u), find(v)
        if ru == rv:
            return u, v
        parent[ru] = rv
    return None


def first_labels(labels: Sequence[Hashable], k: int = 3) -> str:
    """Show the first ``k`` labels as a summary does: ``['a', 'b', 'c', ...]``.

    Parameters
    ----------
    labels
        Node labels (or seeds).
    k
        How many to show before ``...``.

    Returns
    -------
    str
        The labels' reprs in brackets, ``...`` when there are more than ``k``.
    """
    return "[" + ", ".join(map(repr, labels[:k])) + (", ...]" if len(labels) > k else "]")


def as_label_list(
    labels: Iterable[Hashable] | Hashable | None, graph: CascadeGraph | None = None
) -> list[Hashable] | None:
    """Node labels as a list, one label alone being a set of one (None stays None).

    The rule of :func:`seed_probabilities`: ``list("12")`` made the nodes ``"1"`` and ``"2"``
    of string labels out of node ``"12"``, silently, and ``list(7)`` raised a TypeError
    naming no argument. With ``graph``, a tuple that is one of its node labels (networkx's
    ``grid_2d_graph`` names its nodes ``(row, col)``) is that one node too.
    """
    if labels is None:
        return None
    if isinstance(labels, np.ndarray | torch.Tensor):
        # their entries are 0-d arrays / tensors: a tensor's matched no node, and a 0-d
        # one could not be iterated
        labels = labels.tolist()
    if isinstance(labels, (str, bytes)) or not isinstance(labels, Iterable):
        return [labels]
    if isinstance(labels, tuple) and graph is not None and labels in graph._lookup:
        return [labels]
    return list(labels)


def by_node_label(graph: CascadeGraph, values: Any, name: str) -> Any:
    """Per-node values keyed by node label (a dict or pandas Series) in the graph's node order.

    Anything else is returned as it is. A Series was read by position: its value for node
    ``"c"`` went to whichever node came first. A Series with the default ``RangeIndex``
    (``pd.Series(list_of_values)``) stays positional, as an array, unless its range holds
    the graph's node labels in another order (labels ``(3, 1, 0, 2)``, say, as
    ``nx.read_weighted_edgelist(..., nodetype=int)`` gives them): read by position or by
    label it gives different nodes, so it is refused (labels compared as text, as
    :meth:`CascadeGraph.index_of` matches them).

    Raises
    ------
    ValueError
        Naming ``name``: for the ambiguous ``RangeIndex`` above, a key that is no node, a
        node given twice or a node without a value.
    """
    is_series = type(values).__name__ == "Series" and type(values).__module__.startswith(
        "pandas")
    if not (is_series or isinstance(values, dict)):
        return values
    if is_series and type(values.index).__name__ == "RangeIndex":
        array = values.to_numpy()
        # one value for every node reads the same by position and by label
        if not (len(array) and bool((array == array[0]).all())):
            _refuse_ambiguous_range(graph, values.index, name)
        return array
    keys = list(values.index if is_series else values.keys())
    entries = list(values.to_numpy() if is_series else values.values())
    out: list[Any] = [None] * graph.n
    for key, value in zip(keys, entries):
        try:
            i = graph.index_of(key)
        except ValueError:
            raise ValueError(f"{name}: {key!r} is not a node of the graph") from None
        if out[i] is not None:
            raise ValueError(f"{name}: node {graph.labels[i]!r} is given twice")
        out[i] = value
    missing = [graph.labels[i] for i, v in enumerate(out) if v is None]
    if missing:
        raise ValueError(f"{name}: no value for node(s) {missing[:5]}; give one per node")
    return np.asarray(out, dtype=np.float64)


def _refuse_ambiguous_range(graph: CascadeGraph, index: Any, name: str) -> None:
    """Refuse a ``RangeIndex`` that names the graph's nodes, but in another order.

    Read by position, ``sp[3] = 1.0`` over labels ``(3, 1, 0, 2)`` seeded node ``2``;
    read by label, node ``3``. Labels ``0..n-1`` in order (both readings agree) and labels
    the range does not name (position is the only reading) pass.
    """
    if len(index) != graph.n:
        return
    # text, as index_of matches a key: labels "3", "1", ... read from a file
    text = [str(lab) for lab in graph.labels]
    keys = [str(i) for i in index]
    if text == keys or set(text) != set(keys):
        return
    raise ValueError(
        f"{name}: a pandas Series with the default RangeIndex is ambiguous for a graph whose "
        f"nodes are labelled {index[0]}..{index[-1]} in the order "
        f"{reprlib.repr(list(graph.labels))}; pass .to_numpy() to read it by position "
        "(in graph.labels' order), or .to_dict() to read it by label (as a Series "
        "whose index holds the node labels is)")


def _refuse_nested_seeds(graph: CascadeGraph, seeds: list[Any]) -> None:
    """Refuse seeds given as groups (``[["P001"], ["P004"]]``: one index case per outbreak).

    They failed with "unhashable type: 'list'" from a dict lookup, naming no argument (a
    tuple: "seed ('P001',) is not a node"). A tuple stays a label on a graph with tuple
    labels (``nx.grid_2d_graph``'s ``(row, col)``).
    """
    tuples: bool | None = None
    for s in seeds:
        nested = (not isinstance(s, Hashable)
                  or (isinstance(s, torch.Tensor) and s.ndim > 0)
                  or isinstance(s, frozenset | range))
        if not nested and isinstance(s, tuple) and s not in graph._lookup:
            if tuples is None:
                tuples = any(isinstance(lab, tuple) for lab in graph.labels)
            nested = not tuples
        if nested:
            raise TypeError(
                f"seeds: {reprlib.repr(s)} is a {type(s).__name__}, not a node label; seeds "
                "are the node labels seeded together in every cascade (seeds=['P001', "
                "'P004'] starts each cascade from both); one seeding per outbreak is not "
                "supported: fit the outbreaks of each index case separately (one CascadeFit "
                "per group of outbreaks with the same seeds)")


def is_bool_scalar(value: Any) -> bool:
    """Whether ``value`` is one bool: Python's, numpy's, or a 0-d bool array or tensor."""
    if isinstance(value, bool | np.bool_):
        return True
    return (isinstance(value, np.ndarray | torch.Tensor) and value.ndim == 0
            and value.dtype in (np.bool_, torch.bool))


def seed_probabilities(
    graph: CascadeGraph,
    seeds: Iterable[Hashable] | None = None,
    seed_prob: float | Sequence[float] | np.ndarray | torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-node seed probabilities ``p_v`` from a fixed seed set or from probabilities.

    ``seed_prob`` seeds every node independently (Bernoulli seeding): the number of seeds
    is random, and may be 0. It is not EoN's ``rho`` nor NDlib's ``fraction_infected``,
    which seed exactly ``round(rho * n)`` nodes, nor EoN's ``fast_SIR`` without
    ``initial_infecteds``, which seeds one index case chosen uniformly at random. The
    distribution from one random index case is the mean over the nodes ``v`` of
    ``size_distribution(graph, seeds=[v])`` (``n`` passes; see the last example). On a
    Barabasi-Albert tree of 100 nodes at ``w = 0.6`` it has a mean size of 13.41 and
    ``P(size = 0) = 0``, where ``seed_prob=1/100`` gives 11.66 and
    ``P(size = 0) = 0.99**100 = 0.366``.

    Parameters
    ----------
    graph
        The network.
    seeds
        Labels of nodes that are seeds for sure (``p_v = 1``); the others get 0 unless
        ``seed_prob`` is also given, in which case it applies to the non-seeds. They are
        seeded together in every cascade: one seed set per outbreak
        (``[["P001"], ["P004"]]``) is refused; fit each group of outbreaks that share
        their seeds separately.
    seed_prob
        A probability for every node (scalar) or one per node: in the order of
        ``graph.labels``, or a dict / pandas Series keyed by node label. A Series with
        the default ``RangeIndex`` (``pd.Series(values)``) is read by position, except
        over nodes labelled ``0..n-1`` in another order, where it is refused as
        ambiguous (pass ``.to_numpy()`` or ``.to_dict()``).

    Returns
    -------
    torch.Tensor
        Shape ``(n,)``, dtype and device of the graph weights. A tensor ``seed_prob`` that
        requires grad is used as is (so gradients flow to it; without ``seeds`` the result
        may be that tensor itself); anything else is copied, so the result shares no
        memory with ``seed_prob``.

    Raises
    ------
    TypeError
        If ``graph`` is not a :class:`CascadeGraph` (naming the constructor that converts
        a networkx graph or a matrix), or ``seed_prob`` holds complex values, or is a bool
        (also a 0-d bool array or tensor) or a string, or ``seeds`` holds lists, sets or
        tuples of labels (one seed set per outbreak, which is not supported).
    ValueError
        On an unknown seed, NaN, or a probability outside ``[0, 1]`` (naming the node),
        or the ambiguous ``RangeIndex`` above.

    Examples
    --------
    >>> from biomodels.cascade import CascadeGraph, seed_probabilities
    >>> g = CascadeGraph.from_edges([("a", "b", 0.5), ("b", "c", 0.2)])
    >>> seed_probabilities(g, seeds=["a"]).tolist()
    [1.0, 0.0, 0.0]
    >>> seed_probabilities(g, seeds=["a"], seed_prob=0.1).tolist()  # 0.1 for the non-seeds
    [1.0, 0.1, 0.1]
    >>> seed_probabilities(g, seed_prob={"a": 1.0, "b": 0.5, "c": 0.0}).tolist()
    [1.0, 0.5, 0.0]

    One index case chosen uniformly at random (EoN's ``fast_SIR`` default), not
    ``seed_prob=1/n``:

    >>> import networkx as nx
    >>> from biomodels.cascade import size_distribution
    >>> path = CascadeGraph.from_networkx(nx.path_graph(["a", "b", "c"]), default=0.5)
    >>> one = sum(size_distribution(path, seeds=[v]) for v in path.labels) / path.n
    >>> [round(x, 4) for x in one.tolist()]  # P(size = k), k = 0..3
    [0.0, 0.4167, 0.3333, 0.25]
    >>> [round(x, 4) for x in size_distribution(path, seed_prob=1 / 3).tolist()]
    [0.2963, 0.1852, 0.2407, 0.2778]
    """
    check_graph(graph)
    if seeds is None and seed_prob is None:
        raise ValueError("seeds, seed_prob: give a seed set or seed probabilities")
    dtype, device = graph.dtype, graph.device
    if is_bool_scalar(seed_prob) or isinstance(seed_prob, str | bytes):
        # True seeded every node for sure (also as torch.tensor(True)); "0.3" was read as a
        # number
        raise TypeError(f"seed_prob: expected a probability (a number) or one per node, "
                        f"got {seed_prob!r}")
    seed_prob = by_node_label(graph, seed_prob, "seed_prob")
    if seed_prob is not None and (seed_prob.is_complex() if isinstance(seed_prob, torch.Tensor)
                                  else np.iscomplexobj(seed_prob)):
        # the cast to the graph's real dtype dropped the imaginary part (a warning at most)
        raise TypeError("seed_prob: expected real probabilities, got complex values")
    if seed_prob is None:
        p = torch.zeros(graph.n, dtype=dtype, device=device)
    elif isinstance(seed_prob, torch.Tensor):
        p = seed_prob.to(dtype=dtype, device=device)
        p = p.expand(graph.n) if p.dim() == 0 else p
        if not p.requires_grad:
            # a copy: a tensor already of the graph's dtype and device came back as the
            # caller's own, so editing the result edited it
            p = p.clone()
    elif np.ndim(seed_prob) == 0:
        p = torch.full((graph.n,), float(seed_prob), dtype=dtype, device=device)
    else:
        # torch.tensor copies: as_tensor shared the memory of a float64 numpy array
        p = torch.tensor(np.asarray(seed_prob, dtype=np.float64), dtype=dtype, device=device)
    if p.shape != (graph.n,):
        raise ValueError(f"seed_prob: expected a scalar or {graph.n} values, got {tuple(p.shape)}")
    pd = p.detach()
    bad = torch.nonzero(torch.isnan(pd) | (pd < 0) | (pd > 1)).reshape(-1)
    if bad.numel():
        i = int(bad[0])
        raise ValueError(
            f"seed_prob of node {graph.labels[i]!r} is {float(pd[i])!r}; expected a "
            "probability in [0, 1]"
        )
    if seeds is not None:
        seeds = as_label_list(seeds, graph)
        _refuse_nested_seeds(graph, seeds)
        idx = [graph.index_of(s) for s in seeds]
        if not idx:
            raise ValueError("seeds: the seed set is empty")
        mask = torch.zeros(graph.n, dtype=torch.bool, device=device)
        mask[idx] = True
        p = torch.where(mask, torch.ones_like(p), p)
    return p
