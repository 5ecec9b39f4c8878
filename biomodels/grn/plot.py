"""Figures for fitted GRN ODEs: network heatmaps and graphs, training curves, perturbations.

All networks are in the package orientation, **rows = regulators, columns = targets**;
self-loops are greyed out in heatmaps and left out of graphs because evaluation ignores them.
A heatmap's other grey cells are NaN (no value), which its title then says.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.blocks import block_factor, strongest_blocks

__all__ = ["plot_network", "plot_networks", "plot_graph", "plot_history", "plot_perturbation"]

#: Largest side of a heatmap panel (inches). 0.3 inch per gene grew to 153 inches and
#: 10 GB of memory at 500 genes and failed to allocate 27 GiB at 2,000.
_MAX_PANEL_INCHES = 12.0
#: Most edges :func:`plot_graph` draws by default: drawing is quadratic in the genes when
#: every non-zero edge is drawn (120 genes, 14k edges: 54 s; 500 genes: tens of minutes).
_MAX_DEFAULT_EDGES = 300
#: Above this many genes :func:`plot_graph` draws only the genes with a drawn edge, and
#: :func:`plot_network` names every k-th gene (at most this many names per axis).
_MAX_ALL_NODES = 60
#: Longest name :func:`plot_graph` writes across its node; longer ones, and every name of a
#: graph of more than ``_MAX_ALL_NODES`` nodes, are written outside the circle along the radius
#: (across the nodes, 150 names ran into each other and long ones past the figure's edge).
_INSIDE_CHARS = 6
#: Most panels in a row of :func:`plot_perturbation` (40 genes made one 108-inch row).
_MAX_COLUMNS = 6
#: Up to this many time points :func:`plot_perturbation` marks each one (lines alone left a
#: single time point's panels empty).
_FEW_TIMES = 12
#: Head of a repressing edge in :func:`plot_graph`: a flat bar across the line's end.
_BAR_HEAD = "-[, widthB=0.8, lengthB=0"
#: Most cells a side of a heatmap draws: beyond it (or beyond the axes' pixels) each cell
#: is the strongest of k x k gene pairs. Drawn one cell a gene, 2,000 genes on ~1,000 pixels
#: were resampled: a sparse edge at full strength was averaged with the white cells around it
#: into a near-white speck (0 pixels at the top of the scale for ~2,000 edges).
_MAX_CELLS = 500


def _ordinal(k: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ..., ``11th``, ``21st``, ..."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _panel_inches(n_genes: int) -> float:
    """Side of a heatmap panel: 0.3 inch per gene, between 4 and ``_MAX_PANEL_INCHES``."""
    return min(max(4.0, 0.3 * n_genes + 2.5), _MAX_PANEL_INCHES)


def _square(network: pd.DataFrame, name: str) -> pd.DataFrame:
    """``network`` with its gene names as text, checked to be square over the same genes."""
    if not isinstance(network, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame with gene labels, got "
                        f"{type(network).__name__}")
    # names as text, as evaluate and align_prior read them: pd.read_csv(path, index_col=0)
    # puts numeric ids (Entrez) in the index as ints but in the header as text, and a truth
    # that evaluate scored was "not square with the same genes" here
    network = network.set_axis([str(g) for g in network.index], axis=0).set_axis(
        [str(g) for g in network.columns], axis=1)
    if (network.shape[0] != network.shape[1] or network.index.has_duplicates
            or set(network.index) != set(network.columns)):
        raise ValueError(f"{name} must be square with the same genes (in any order) as index "
                         f"and columns, got shape {network.shape}")
    return network


def _over_genes(network: pd.DataFrame, genes: list[str], name: str) -> pd.DataFrame:
    """``network`` (names as text) with rows and columns in the order of ``genes``."""
    network = _square(network, name)
    missing = [g for g in genes if g not in network.index]
    if missing:
        raise ValueError(f"{name} lacks the genes {missing[:5]}"
                         f"{' ...' if len(missing) > 5 else ''}")
    return network.loc[genes, genes]


def _aligned(network: pd.DataFrame, genes: list[str], name: str) -> np.ndarray:
    values = _over_genes(network, genes, name).to_numpy(dtype=float).copy()
    np.fill_diagonal(values, np.nan)
    return values


def plot_network(
    network: pd.DataFrame,
    *,
    truth: pd.DataFrame | None = None,
    ax: Any | None = None,
    title: str | None = None,
    sqrt_scale: bool = True,
) -> Any:
    """Heatmap of a signed network (red activation, blue repression), self-loops grey.

    NaN cells off the diagonal (e.g. a network pivoted from a list of its top edges) are grey
    too, and ``+-inf`` ones take the colour at the end of the scale; the title then says so
    (as :func:`biomodels.ctmc.plot.plot_theta` does). Beyond 60 genes every k-th gene is
    named (``k = ceil(n / 60)``), and the axis labels say which. Each cell is drawn in its
    own colour (no blending with its neighbours); with more genes than the axes has room
    for (over 500, or over its pixels a side), each cell shows the strongest edge
    (largest ``|value|``, with its sign) of a block of k x k gene pairs, so that no edge
    fades into the white around it, and the title says so.

    Parameters
    ----------
    network
        Square gene x gene DataFrame, rows = regulators, columns = targets.
    truth
        Optional true network on the same genes: its edges are marked with a dot, so hits
        (coloured cell with a dot) and misses (dot on white) can be read off.
    ax
        Axes to draw into (a new figure when None).
    title
        Axes title (a note on NaN and infinite cells goes on a line below it).
    sqrt_scale
        Colour by ``sign * sqrt(|x| / max|x|)`` so weak edges stay visible next to strong
        ones; the colour bar is labelled in ``x / max|x|``, not in the square roots. Its
        label gives the panel's ``max|x|`` (each panel is scaled to its own).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    TypeError, ValueError
        When a network is not a labelled square DataFrame or ``truth`` lacks genes.
    """
    import matplotlib.pyplot as plt

    genes = list(_square(network, "network").index)
    values = _aligned(network, genes, "network")
    n = len(genes)
    # NaN off the diagonal is grey as the self-loops are, and inf the end colour of finite
    # weights: said in the title, else both read as something they are not
    notes = [note for note, found in (
        ("grey off the diagonal: NaN (no value)", np.isnan(values[~np.eye(n, dtype=bool)])),
        ("+-inf drawn at the ends of the scale", np.isinf(values))) if found.any()]
    # the scale from finite weights: an inf one made it inf and drew every edge white
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max()) if finite.size else 0.0
    bound = top or 1.0
    shown = np.sign(values) * np.sqrt(np.abs(values) / bound) if sqrt_scale else values / bound
    shown = np.clip(shown, -1.0, 1.0)  # +-inf to the end colours; imshow greys them out
    # checked before a figure is made: a truth on other genes left an empty one open
    marks = None if truth is None else np.nonzero(np.nan_to_num(_aligned(truth, genes, "truth")))
    if ax is None:
        size = _panel_inches(len(genes))
        _, ax = plt.subplots(figsize=(size + 1, size), layout="tight")
    # grey, not white, on the diagonal: white is the colour of a zero effect
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="0.75")
    # nearest: matplotlib's default antialiasing blended each cell with its neighbours once
    # a cell had fewer than 3 pixels (400 genes: a sparse edge at full strength half white)
    k = block_factor(ax, n, _MAX_CELLS)
    if k == 1:
        image = ax.imshow(shown, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    else:
        # more genes than the axes has room for: a cell per k x k block, its strongest pair,
        # laid over the genes' own coordinates (ticks and dots stay where the genes are)
        side = -(-n // k) * k
        image = ax.imshow(strongest_blocks(shown, k), cmap=cmap, vmin=-1, vmax=1,
                          interpolation="nearest", extent=(-0.5, side - 0.5, side - 0.5, -0.5))
        ax.set(xlim=(-0.5, n - 0.5), ylim=(n - 0.5, -0.5))
        notes.append(f"each cell the strongest of {k} x {k} gene pairs")
    if marks is not None:
        rows, cols = marks
        # ringed in white: a plain black dot vanished on the darkest cells, the strongest hits
        ax.scatter(cols, rows, s=10, c="k", marker="o", edgecolors="w", linewidths=0.6,
                   label="true edge")
    # every name up to 60 genes, beyond that every k-th (60 at most), not none: position
    # numbers alone could not be read back to genes
    step = -(-n // _MAX_ALL_NODES)
    named = range(0, n, step)
    ax.set_xticks(named, [genes[i] for i in named], rotation=90, fontsize=7)
    ax.set_yticks(named, [genes[i] for i in named], fontsize=7)
    which = "" if step == 1 else f" (every {_ordinal(step)} named)"
    # the dots need a key; in the axis label it cannot collide with a title or the ticks
    ax.set(xlabel=f"target{which}" + ("" if truth is None else "  (dot: true edge)"),
           ylabel=f"regulator{which}")
    if title or notes:
        ax.set_title("\n".join([title] * bool(title) + notes))
    bar = ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    if sqrt_scale:  # ticks where the colours are, labels in the data's (relative) units
        fractions = np.array([-1.0, -0.5, -0.1, 0.0, 0.1, 0.5, 1.0])
        bar.set_ticks(np.sign(fractions) * np.sqrt(np.abs(fractions)),
                      labels=[f"{v:g}" for v in fractions])
    # each panel is scaled to its own maximum: say which, on two short lines (one line ran
    # past both ends of the bar of a 4-gene figure and was cut off at the top)
    scale = "; sqrt colour scale" if sqrt_scale else ""
    bar.set_label(f"signed strength / max |strength|\n(max |strength| = {top:.3g}{scale})",
                  fontsize=8)
    return ax


def plot_networks(
    panels: Mapping[str, pd.DataFrame],
    *,
    truth: pd.DataFrame | None = None,
    sqrt_scale: bool = True,
) -> Any:
    """Side-by-side heatmaps of several networks in the gene order of the first.

    Parameters
    ----------
    panels
        Title -> network (see :func:`plot_network`), e.g. truth, prior, DASH, unpruned.
    truth
        Optional true network whose edges are marked on every panel.
    sqrt_scale
        See :func:`plot_network`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if not panels:
        raise ValueError("panels must name at least one network")
    genes = list(_square(next(iter(panels.values())), "first panel").index)
    size = _panel_inches(len(genes))
    fig, axes = plt.subplots(1, len(panels), figsize=((size + 1) * len(panels), size),
                             layout="tight", squeeze=False)
    try:
        for ax, (title, frame) in zip(axes[0], panels.items()):
            # labels as text, as genes are
            plot_network(_over_genes(frame, genes, f"panel {title!r}"), truth=truth, ax=ax,
                         title=title, sqrt_scale=sqrt_scale)
    except BaseException:  # a panel or truth on other genes: no half-drawn figure left open
        plt.close(fig)
        raise
    return fig


def plot_graph(
    network: pd.DataFrame,
    *,
    top: int | None = None,
    truth: pd.DataFrame | None = None,
    ax: Any | None = None,
    title: str | None = None,
) -> Any:
    """Directed graph of the strongest edges on a circle (red arrows activate, blue bars repress).

    Parameters
    ----------
    network
        Square gene x gene DataFrame, rows = regulators, columns = targets.
    top
        Number of edges drawn, by |strength| (default: every non-zero edge; with ``truth``,
        as many as the truth has, the cut-off of the early precision ratio; at most 300 by
        default, with a warning when more are left out). With more than 60 genes only the genes
        with a drawn edge are placed on the circle.
    truth
        Optional true network: edges in it with the network's sign are drawn solid, those in
        it with the opposite sign dotted, the others dashed; the title counts the edges in
        the truth and, among them, those of the opposite sign. Signs are read as
        :func:`~biomodels.grn.evaluate.evaluate`'s ``signed_epr`` reads them: a truth
        without signs (all edges positive) puts every repression on the opposite sign.
    ax, title
        Axes to draw into and its title.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Names of up to 6 characters are written across their nodes when at most 60 genes are
    placed; longer names, and those of more genes, outside the circle along the radius,
    with the limits widened to hold them. Where even so they would run into each other,
    every k-th is named and the title says so.
    """
    import matplotlib.pyplot as plt
    import networkx as nx

    genes = list(_square(network, "network").index)
    values = _aligned(network, genes, "network")
    # the truth's signs, 0 off it: an edge with the opposite sign is no hit for signed_epr
    true = (None if truth is None
            else np.sign(np.nan_to_num(_aligned(truth, genes, "truth"))))
    if top is None:
        # nan_to_num: the NaN diagonal (self-loops) is no edge, NaN != 0 counted it
        top = (int(np.count_nonzero(true)) if true is not None
               else int(np.count_nonzero(np.nan_to_num(values))))
        if top > _MAX_DEFAULT_EDGES:
            what = "true edges' worth" if true is not None else "non-zero edges"
            warnings.warn(f"plot_graph draws the {_MAX_DEFAULT_EDGES} strongest edges, not "
                          f"all {top} {what}; pass top= to choose how many", UserWarning,
                          stacklevel=2)
            top = _MAX_DEFAULT_EDGES
    if top < 0:
        raise ValueError(f"top must be >= 0, got {top}")
    strength = np.nan_to_num(np.abs(values), nan=-1.0).ravel()
    order = np.argsort(-strength, kind="stable")[:top]
    order = order[strength[order] > 0]
    graph = nx.DiGraph()
    if len(genes) <= _MAX_ALL_NODES:  # else a circle of unlabelled, overlapping nodes
        graph.add_nodes_from(genes)
    else:
        graph.add_nodes_from(genes[k] for k in np.unique(np.divmod(order, len(genes))))
    for flat in order:
        i, j = divmod(int(flat), len(genes))
        sign = float(np.sign(values[i, j]))
        kind = ("same" if true is None or true[i, j] == sign
                else "absent" if true[i, j] == 0 else "opposite")
        graph.add_edge(genes[i], genes[j], sign=sign, kind=kind)
    own = ax is None  # lay out only a figure made here
    n_nodes = graph.number_of_nodes()
    inside = n_nodes <= _MAX_ALL_NODES and all(len(g) <= _INSIDE_CHARS for g in graph)
    font = 8 if n_nodes <= 30 else 7 if n_nodes <= 100 else 6
    # the longest name in inches, measured as it will be drawn: the room left around the circle
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    longest = 0.0 if inside else max(
        (text_to_path.get_text_width_height_descent(g, FontProperties(size=font),
                                                    ismath=False)[0] for g in graph),
        default=0.0) / 72
    if ax is None:  # room on the circle for up to _MAX_ALL_NODES labelled nodes
        side = min(max(6.0, 0.2 * n_nodes, 4.0 + 2.5 * longest), _MAX_PANEL_INCHES)
        _, ax = plt.subplots(figsize=(side, side))
    pos = nx.circular_layout(graph)
    node_size = 900 if n_nodes <= 30 else 600
    if not inside:  # small nodes, the names beside them
        node_size = 80 if n_nodes <= _MAX_ALL_NODES else 30
    nx.draw_networkx_nodes(graph, pos, node_color="white", edgecolors="k", node_size=node_size,
                           ax=ax)
    step = 1  # every node named
    if inside:
        nx.draw_networkx_labels(graph, pos, font_size=font, ax=ax)
    else:
        step = _radial_names(ax, graph, pos, longest, font, node_size)
    # the sign in the head as well as the colour (arrow: activation, bar: repression, as in
    # pathway diagrams): tab:red and tab:blue print as the same grey and a red-blind reader
    # sees the red darkened; the line style says whether the truth has the edge, and with
    # which sign (dotted: the opposite one, which a solid line passed off as a hit)
    for kind, style in (("same", "solid"), ("opposite", "dotted"), ("absent", "dashed")):
        for colour, head, positive in (("tab:red", "-|>", True), ("tab:blue", _BAR_HEAD, False)):
            chosen = [(u, v) for u, v, d in graph.edges(data=True)
                      if d["kind"] == kind and (d["sign"] > 0) == positive]
            if chosen:
                nx.draw_networkx_edges(graph, pos, edgelist=chosen, edge_color=colour,
                                       style=style, width=1.6 if kind == "opposite" else 1.0,
                                       arrowstyle=head,
                                       arrowsize=14 if n_nodes <= _MAX_ALL_NODES else 8,
                                       node_size=node_size, connectionstyle="arc3,rad=0.1",
                                       ax=ax)
    from matplotlib.lines import Line2D

    # a key for the three codes: colour and head = sign, line style = in the truth or not
    handles = [Line2D([], [], color="tab:red", marker=">", label="activation"),
               Line2D([], [], color="tab:blue", marker="|", markersize=9, label="repression")]
    if true is not None:
        handles += [Line2D([], [], color="0.3", label="in the true network"),
                    Line2D([], [], color="0.3", ls=":", lw=1.6,
                           label="in the true network, opposite sign"),
                    Line2D([], [], color="0.3", ls="--", label="not in the true network")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0),
              ncol=2 if true is None else 3, frameon=False, fontsize=8)
    if title is None:
        title = f"top {graph.number_of_edges()} edges"
        if true is not None:
            kinds = [d["kind"] for _, _, d in graph.edges(data=True)]
            title += f", {kinds.count('same') + kinds.count('opposite')} in the true network"
            if kinds.count("opposite"):  # a hit by position only: say so, not a plain hit
                title += f",\n{kinds.count('opposite')} of them with the opposite sign"
    if step > 1:  # the unnamed nodes are not genes without a name
        title = f"{title}\n(every {_ordinal(step)} gene named)".lstrip("\n")
    ax.set_title(title)
    ax.axis("off")
    if own:  # the key sits below the circle: keep it inside the figure
        ax.figure.tight_layout()
    return ax


def _radial_names(ax: Any, graph: Any, pos: Mapping[str, np.ndarray], longest: float,
                  font: float, node_size: float) -> int:
    """Write the node names outside the unit circle along the radius; return k (every k-th).

    The axes' limits are widened so that names of ``longest`` inches fit within the axes at
    its present size (a figure's layout later only enlarges it); where neighbouring names
    would be closer than a line, every k-th is written.
    """
    fig = ax.figure
    box = ax.get_position()
    inches = min(box.width * fig.get_figwidth(), box.height * fig.get_figheight())
    # half the axes' side spans `limit` radii: limit = 1 + gap + longest * (2 limit / inches),
    # the gap between a node and its name in radii: the node's radius and 2 points
    clear = (np.sqrt(node_size) / 2 + 2) / 72  # inches
    limit = 1.0
    for _ in range(3):  # the gap in radii depends on the limit: a few rounds settle it
        gap = clear * 2 * limit / inches
        limit = (1.0 + gap) / max(1.0 - 2.0 * longest / inches, 0.3)
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    nodes = list(graph)
    # the names start (1 + gap) radii out, where neighbours are closest: one line apart
    spacing = 2 * np.pi * (1 + gap) * inches / (2 * limit) / max(len(nodes), 1)
    step = max(1, int(np.ceil(1.3 * font / 72 / spacing)))
    for node in nodes[::step]:
        x, y = pos[node]
        angle = np.degrees(np.arctan2(y, x))
        right = x >= -1e-9  # the left half turned by 180 degrees: read left to right
        ax.text((1 + gap) * x, (1 + gap) * y, node, fontsize=font, va="center",
                ha="left" if right else "right", rotation=angle if right else angle - 180,
                rotation_mode="anchor", clip_on=False)
    return step


def plot_history(history: Mapping[str, Sequence[float]], *, ax: Any | None = None) -> Any:
    """Training and held-out loss per epoch, kept weights, and the pruning rounds.

    Parameters
    ----------
    history
        As returned by :meth:`biomodels.grn.GRNModel.train` (``epoch``, ``train_loss``,
        ``val_loss``, ``density``, ``pruned``).
    ax
        Axes for the losses (a twin axis shows the density).

    Returns
    -------
    matplotlib.axes.Axes
        The loss axes.
    """
    import matplotlib.pyplot as plt

    need = ("epoch", "train_loss", "val_loss", "density", "pruned")
    missing = [k for k in need if k not in history]
    if missing:
        raise ValueError(f"history lacks the keys {missing}; pass GRNModel.train's result")
    epoch = np.asarray(history["epoch"], dtype=float)
    # checked before a figure is made (matplotlib's error came after it, which stayed open)
    short = {k: len(history[k]) for k in need[1:] if len(history[k]) != len(epoch)}
    if short:
        raise ValueError(f"history: every series needs one entry per epoch ({len(epoch)}), "
                         f"got lengths {short}")
    own = ax is None  # lay out only a figure made here
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    ax.semilogy(epoch, history["train_loss"], label="train")
    # dash-dotted: not told from the training loss by its colour alone
    ax.semilogy(epoch, history["val_loss"], ls="-.", label="held-out")
    for k, e in enumerate(epoch[np.asarray(history["pruned"], dtype=float) > 0]):
        ax.axvline(e, color="0.8", lw=0.8, zorder=0, label="pruning round" if k == 0 else None)
    ax.set(xlabel="epoch", ylabel="one-step MSE (scaled expression)")
    twin = ax.twinx()
    (kept,) = twin.plot(epoch, history["density"], color="0.4", ls="--",
                        label="weights kept (right axis)")
    twin.set_ylabel("fraction of weights kept", color="0.4")
    twin.set_ylim(0, 1.05)
    # one legend for both axes: the dashed line is otherwise unexplained
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles + [kept], labels + [kept.get_label()], frameon=False, fontsize=8)
    if own:  # else the two axis labels are cut off at the figure's edges
        ax.figure.tight_layout()
    return ax


def plot_perturbation(
    times: Sequence[float] | np.ndarray,
    baseline: np.ndarray,
    perturbed: np.ndarray,
    genes: Sequence[str],
    *,
    show: Sequence[str] | str | None = None,
    label: str = "perturbed",
    observed: np.ndarray | None = None,
    time_label: str = "time",
    sharey: bool = False,
) -> Any:
    """Predicted trajectories with and without a perturbation, one panel per gene.

    Panels run in rows of at most 6, each on its own y scale (``sharey=True`` for one
    scale); up to 12 time points are marked, so that a single one still shows.

    Parameters
    ----------
    times
        (T,) time points of the two simulations.
    baseline, perturbed
        (T, G) trajectories from :meth:`biomodels.grn.GRNModel.simulate` (arrays, or torch
        tensors of any floating dtype and device).
    genes
        The G gene names (``model.genes``).
    show
        Genes to draw, or one gene's name (default: the 6 that change most at the last
        time point, a NaN change, of a diverged simulation, counting as the largest).
        A panel whose prediction holds NaN or inf says so.
    label
        Legend entry of the perturbed run, e.g. ``"Pu.1 knockout"``.
    observed
        Optional (n, G) observed expression (e.g. ``adata.X``); each gene's observed range
        (of its finite values) is shaded, so predictions outside it stand out as
        extrapolations (the ODE is not bounded to the data range); a gene with no finite
        observed value gets no band, and its panel says so.
    time_label
        Label of the time axes, with the unit of ``times``, e.g. ``"time (steps)"``.
    sharey
        One y scale for every panel. Off by default: a gene at 1e-4 beside one at 1e5 was
        drawn as a flat line, its change invisible.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError, ValueError
        When the trajectories do not match ``times`` and ``genes``, ``show`` names no gene
        or unknown genes, ``observed`` is not (n, G) expression, or ``sharey`` is not a bool.
    """
    import matplotlib.pyplot as plt

    from core.checks import host_array  # torch tensors: bfloat16, needing grad, on a GPU

    if not isinstance(sharey, (bool, np.bool_)):
        raise TypeError(f"sharey must be True or False, got {sharey!r}")
    genes = list(genes)
    base = np.asarray(host_array(baseline, "baseline"), dtype=float)
    pert = np.asarray(host_array(perturbed, "perturbed"), dtype=float)
    t = np.asarray(host_array(times, "times"), dtype=float)
    if base.shape != pert.shape or base.shape != (len(t), len(genes)):
        raise ValueError(f"baseline and perturbed must both be (len(times), len(genes)) = "
                         f"{(len(t), len(genes))}, got {base.shape} and {pert.shape}")
    if show is None:
        # a NaN change (a diverged simulation) first, not last as argsort puts NaN: it is
        # the gene to look at, not the one that changed least
        change = np.abs(pert[-1] - base[-1])
        show = [genes[j] for j in np.argsort(-np.where(np.isnan(change), np.inf, change))[:6]]
    elif isinstance(show, str):  # one gene, not the letters of its name
        show = [show]
    show = list(show)
    if not show:  # matplotlib's error named the number of columns
        raise ValueError("show must name at least one gene")
    unknown = [g for g in show if g not in genes]
    if unknown:
        raise ValueError(f"show names genes that are not in genes: {unknown}")
    if observed is not None:
        from biomodels.grn.model import _dense  # also scipy sparse or backed adata.X

        try:
            observed = _dense(observed)
        except (TypeError, ValueError) as err:  # numpy's message named no argument
            raise TypeError(f"observed must be (n, {len(genes)}) expression, e.g. adata.X "
                            f"({err})") from None
        if observed.ndim != 2 or observed.shape[1] != len(genes):
            raise ValueError(f"observed must be (n, {len(genes)}) expression, got shape "
                             f"{observed.shape}")
    # rows of at most _MAX_COLUMNS panels: 40 genes made one row 108 inches wide
    ncols = min(len(show), _MAX_COLUMNS)
    nrows = -(-len(show) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.7 * ncols, 3 * nrows), sharey=sharey,
                             squeeze=False, layout="tight")
    for ax in axes.flat[len(show):]:  # the last row's empty places
        fig.delaxes(ax)
    # a line alone draws nothing at a single time point: mark the points while they are few
    few = len(t) <= _FEW_TIMES
    for ax, gene in zip(axes.flat, show):
        j = genes.index(gene)
        notes = []
        if observed is not None:
            seen = observed[:, j][np.isfinite(observed[:, j])]
            if seen.size:
                ax.axhspan(seen.min(), seen.max(), color="0.9", zorder=0,
                           label="observed range")
            else:  # np.nanmin warned "All-NaN slice encountered" and drew no band
                notes.append("no observed value")
        if not (np.isfinite(base[:, j]).all() and np.isfinite(pert[:, j]).all()):
            notes.append("NaN or inf predicted: not drawn")  # else an empty panel, unsaid
        if notes:
            ax.text(0.02, 0.98, "\n".join(notes), transform=ax.transAxes, ha="left",
                    va="top", fontsize=7, color="0.35")
        ax.plot(t, base[:, j], color="k", marker="o" if few else None, ms=4, label="baseline")
        # dashed: black against red alone is hard to tell for red-blind readers and in grey
        ax.plot(t, pert[:, j], color="tab:red", ls="--", marker="x" if few else None, ms=5,
                label=label)
        ax.set(title=gene, xlabel=time_label)
    for row in axes[:, 0]:
        row.set_ylabel("predicted expression")
    axes[0, 0].legend(frameon=False, fontsize=8)
    return fig
