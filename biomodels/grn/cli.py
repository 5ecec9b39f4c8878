"""Command line for ``prunus grn`` and ``prunus demo``."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from core.cli import (
    CommandError,
    at_least,
    command_required,
    example_help,
    existing_file,
    option_names,
    options_in_errors,
    output_folder,
    probability,
    random_seed,
    warn_ignored,
)

#: Settings of ``prunus grn fit`` and the demo: RK4 with two steps per observation interval
#: (after the automatic time scaling, intervals are short against the gene rates, so this
#: matches dopri5 at rtol 1e-3 and is ~1.6x faster), 60 epochs = 6 DASH rounds (82 % of the
#: weights pruned; no round at the last epoch). The demo adds PHOENIX's soft prior on the
#: prior's signs and h = 64. Its weight trades data fit against the prior (krumsiek11,
#: corruption = model seeds 0-7, mean AUROC / held-out one-step R^2): 0.9 -> 0.874 / 0.07
#: (the prior term, 0.01-1 against a data MSE of ~1e-4, swamps the data: the network echoes
#: the prior), 0.999 -> 0.886 / 0.25, 0.9997 -> 0.879 / 0.43, 0.9999 -> 0.846 / 0.62,
#: 1 -> 0.639 / 0.71; the prior's signs alone 0.874. 0.9997 is the largest data weight at
#: which DASH still matches the prior alone on average.
FIT_DEFAULTS: dict[str, Any] = {
    "n_hidden": 40,
    "epochs": 60,
    "method": "rk4",
    "step_size": 0.5,
}
DEMO_DEFAULTS: dict[str, Any] = {
    "n_hidden": 64,
    "prior_weight": 0.9997,
    "prior_scaling": "sign",
    "plain_hidden": 11,  # the fit without a prior that the demo ranks within the prior
}
_RANKING_METRICS = ("auroc", "auprc", "auprc_ratio", "epr")
#: Fewest one-step pairs behind the printed held-out R^2 that pass without a warning: below
#: ten, one pair moves its sums of squares by a tenth or more (and the pairs of one held-out
#: trajectory are not independent), so the number is noise (3 cells: "R^2 0.480" from 1 pair)
_FEW_HELD_OUT = 10

#: GRNModel's arguments that ``prunus grn fit`` sets, and its options: the library names
#: its arguments (``time_key='t' is not a column``), which a user of the command line
#: never typed. Its messages stay as they are for Python users; the command rewords them.
_OPTIONS = {
    "time_key": "--time-key",
    "trajectory_key": "--trajectory-key",
    "layer": "--layer",
    "prior_weight": "--prior-weight",
    "batch_size": "--batch-size",  # in a checkpoint's settings
    "pruning": "--pruning",  # "pruning='imp' with epochs=1 runs no pruning round"
    "epochs": "--epochs",
    "method": "--method",  # "method='dopri5'" in the advice of a poor fit's warning
}
_CHOICES = {"pruning", "method"}  # options with choices: their values shown unquoted, as typed
#: The example ending each command's --help: README's lines, as a user would type them.
_EXAMPLES = {
    "fit": "prunus grn fit data.h5ad --time-key time --trajectory-key trajectory --prior "
           "prior.csv --pruning dash --prior-weight 0.9997 --hidden 64 --out results/",
    "demo": "prunus demo",
}
#: How to start afresh beside a checkpoint of another run: that run may still be going
#: (another command into the same --out), and deleting its file would break it.
_AFRESH = "to start afresh, delete the file if no run is using it, or use another --out"


def _str_keys(obj: Any) -> Any:
    """Turn dict keys into strings, recursively.

    h5ad cannot store int keys, e.g. scanpy's ``uns["highlights"]`` of krumsiek11.
    """
    if isinstance(obj, dict):
        return {str(k): _str_keys(v) for k, v in obj.items()}
    return obj


def _write_outputs(model: Any, adata: Any, out: Path, truth: Any | None,
                   figure: Any | None = None, key_added: str = "grn",
                   ) -> tuple[dict[str, Path], dict[str, Any]]:
    """Write the result files (all or none); return their paths and ``uns[key_added]``."""
    import torch

    from core import atomic_outputs, write_json

    names = {"network": "network.csv", "edges": "edges.csv", "result": "result.h5ad",
             "model": "model.pt"}
    if truth is not None:
        names["metrics"] = "metrics.json"
    if figure is not None:
        names["figure"] = "network.png"
    result = adata.copy()
    info = model.write_results(result, key_added=key_added, truth=truth)
    for key in list(result.uns.keys()):  # only the copy written to disk is changed
        result.uns[key] = _str_keys(result.uns[key])
    with atomic_outputs(out) as stage:  # all files, or none replaced
        # 9 significant digits write every float32 exactly (a third smaller than repr's 17)
        exact = "%.9g" if model.dtype == torch.float32 else None
        model.network().to_csv(stage / names["network"], float_format=exact)
        # the link list that GENIE3/GRNBoost2 users read: strongest edges first
        model.edges().to_csv(stage / names["edges"], index=False, float_format=exact)
        try:
            result.write_h5ad(stage / names["result"])
        except (RuntimeError, OSError) as exc:
            # h5py reports a failed write (a full disk) as a RuntimeError, which the front
            # showed as a traceback, or as an OSError of many lines naming the staged file
            # ("Unable to synchronously create file (file write failed: time = ..."):
            # one that names the file and the cause, as other writes give
            error = _write_error(exc, out / names["result"])
            if error is None:
                raise
            raise error from exc
        model.save(stage / names["model"])
        if truth is not None:
            # with how the fit ended (an early stop, the epoch kept, the rounds made), what
            # it was run with and its R^2, which the README says to check when choosing
            # --prior-weight: the file held neither, so two runs could not be told apart
            fit = info.get("fit", {})
            write_json({**info["metrics"], "fit_info": info["fit_info"],
                        "settings": info["settings"],
                        **{key: fit[key] for key in ("held_out_r2", "r2_on") if key in fit},
                        # the versions and threads it was computed with, as uns["grn"] has
                        "environment": info["environment"]},
                       stage / names["metrics"])
        if figure is not None:
            from core.cli import figures_locked

            with figures_locked():  # matplotlib is not thread-safe (runs in a thread pool)
                figure.savefig(stage / names["figure"], format="png", dpi=110)
    if truth is None and _written_by_grn(out / "metrics.json"):
        # an earlier grn run's metrics would describe another network; another command's
        # metrics.json in the same --out (README sends them all to results/) is left alone
        (out / "metrics.json").unlink(missing_ok=True)
        # a note on stderr: stdout holds the results, the same for a rerun as for a first run
        print(f"prunus: note: removed the earlier run's {out / 'metrics.json'} (the metrics "
              "of the network this run replaced; --truth writes this run's)", file=sys.stderr)
    return {key: out / name for key, name in names.items()}, info


def _written_by_grn(path: Path) -> bool:
    """Whether ``path`` is a ``metrics.json`` that ``prunus grn fit`` or the demo wrote.

    Recognised by keys only they write, in every version: ``signed_epr`` (BEELINE's signed
    early precision) and ``weight_sparsity``. A file that cannot be read or parsed, or is
    not a JSON object, is not theirs (it is left alone).
    """
    import json

    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # absent, a folder, not UTF-8 or JSON
        return False
    return isinstance(record, dict) and {"signed_epr", "weight_sparsity"} <= record.keys()


def _write_error(exc: RuntimeError | OSError, path: Path) -> OSError | None:
    """Return h5py's error of a failed write to ``path`` as an OSError naming ``path``.

    HDF5 gives the cause as ``errno = 28, error message = 'No space left on device'``
    inside a message of many lines. None for an error without an errno (no I/O failure).
    """
    import errno
    import re

    found = re.search(r"errno = (\d+)", str(exc))
    code = int(found.group(1)) if found is not None else getattr(exc, "errno", None)
    if not isinstance(code, int) or code not in errno.errorcode:
        return None
    return OSError(code, os.strerror(code), str(path))


def _file_or_key(value: str) -> Path | str:
    """Argparse type of ``--prior`` and ``--truth``: an existing file, or a ``varp`` key.

    Parameters
    ----------
    value
        The name given on the command line.

    Returns
    -------
    Path or str
        The path when such a file exists (a file of that name wins), else ``value`` itself:
        a key of the input's ``varp`` (as ``GRNModel(prior="truth")`` reads it), checked
        by :func:`_varp_or_file` once the data are read. An empty name, a folder or a pipe
        are refused as by :func:`core.cli.existing_file`.
    """
    try:
        return existing_file(value)
    except argparse.ArgumentTypeError:
        if not value.strip() or Path(os.path.expanduser(value)).exists():
            raise  # an empty name, a folder, a pipe: no key either
        return value


def _h5ad_key(value: str) -> str:
    """Argparse type of ``--key-added``: a key h5ad can store (``write_results``' check).

    Checked before the data are read, so that a bad key does not fail after the fit.
    """
    from core.checks import check_h5ad_key

    try:
        return check_h5ad_key("key", value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"must be a non-empty string without '/' (a key of varp and uns in h5ad), "
            f"got {value!r}") from exc


def _check_h5ad_file(path: str | os.PathLike[str]) -> None:
    """Refuse an HDF5 file whose data would be read from other files.

    A dataset with external raw storage (``h5py``'s ``external=``), a virtual dataset and
    an HDF5 external link all make ``anndata.read_h5ad`` read another file: a crafted input
    made ``prunus grn fit`` copy any file the job could read into its result.h5ad. Soft
    links stay inside the file and pass. Only the links and the datasets' creation
    properties are visited, no data are read. A file that is not HDF5 passes, for
    ``read_h5ad`` to say what it is.

    Parameters
    ----------
    path
        The ``.h5ad`` file.

    Raises
    ------
    ValueError
        Naming ``path``, the dataset or link, and the file it points to; or when the walk
        fails on a damaged object.
    """
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError:  # not HDF5 (or unreadable): read_h5ad's error says which
        return
    found: list[str] = []

    def visit(name: bytes, info: Any) -> bool | None:
        where = "/" + name.decode("utf-8", "replace")
        if info.type == h5py.h5l.TYPE_HARD:
            obj = h5py.h5o.open(handle.id, name)  # opens the object; reads no data
            if isinstance(obj, h5py.h5d.DatasetID):
                plist = obj.get_create_plist()
                if plist.get_external_count():
                    other = plist.get_external(0)[0].decode("utf-8", "replace")
                    found.append(f"dataset {where!r} keeps its values in another file "
                                 f"({other!r}: HDF5 external storage)")
                elif plist.get_layout() == h5py.h5d.VIRTUAL:
                    others = ", ".join(sorted({repr(plist.get_virtual_filename(i)) for i in
                                               range(plist.get_virtual_count())}))
                    found.append(f"dataset {where!r} is a virtual dataset that maps (part "
                                 f"of) its values from other files ({others})")
        elif info.type == h5py.h5l.TYPE_EXTERNAL:
            other, target = (v.decode("utf-8", "replace") for v in
                             handle.id.links.get_val(name))
            found.append(f"link {where!r} is a link to {target!r} in another file ({other!r})")
        elif info.type != h5py.h5l.TYPE_SOFT:  # a user-defined link class
            found.append(f"link {where!r} is of a kind that HDF5 resolves outside the file")
        return True if found else None  # stop at the first

    with handle:
        try:
            # visits every link once, descending only through hard links (soft and
            # external links are reported, not followed)
            handle.id.links.visit(visit, info=True)
        except Exception as exc:  # a damaged object: refused, not read past
            raise ValueError(f"{str(path)!r} cannot be read as h5ad: {exc}") from exc
    if found:
        raise ValueError(f"{str(path)!r} cannot be read as h5ad: its {found[0]}; prunus reads "
                         "only data stored inside the input (a crafted file could make it copy "
                         "any file it can read into its outputs)")


def _varp_or_file(value: Path | str | None, adata: Any, option: str,
                  data: Path) -> Path | str | None:
    """Check a :func:`_file_or_key` value that named no file against ``adata.varp``.

    A file wins over a key of the same name; a UserWarning says so (as ``GRNModel(prior=...)``
    warns, which reads the file too), which follows the warning filters: ``-W error`` makes
    it a one-line error, ``-W ignore`` silences it.
    """
    if isinstance(value, Path) and str(value) in adata.varp:
        warnings.warn(f"{option} {str(value)!r} names both a file and a key of varp in "
                      f"{str(data)!r}; the file is read, not the key", UserWarning, stacklevel=1)
    if value is None or isinstance(value, Path) or value in adata.varp:
        return value
    # krumsiek11() and simulate_hill_network ship varp["truth"]: "--prior truth" was
    # refused as "no such file" where GRNModel(prior="truth") read it
    raise CommandError(f"{option} {value!r} is neither a file nor a key of varp in "
                       f"{str(data)!r} (its varp keys: {sorted(map(str, adata.varp))})")


def _fitted_genes(adata: Any, key: str, data: Path) -> Any:
    """Return ``adata[:, adata.var[key]]`` for ``--genes KEY``, or ``adata`` for all genes.

    Parameters
    ----------
    adata
        The input.
    key
        A boolean column of ``adata.var`` (``highly_variable``), True for the genes to fit.
    data
        The input's path, for messages.

    Returns
    -------
    AnnData
        A view of the genes to fit (in the input's order), or ``adata`` itself when the
        column selects every gene (the fit and its outputs are then those without
        ``--genes``).

    Raises
    ------
    CommandError
        Naming ``--genes`` and the column: not a column of ``var``, not boolean (or with
        missing values), or selecting no gene.
    """
    import pandas as pd

    if key not in adata.var.columns:
        raise CommandError(f"--genes {key!r} is not a column of var in {str(data)!r} (its "
                           f"columns: {[str(c) for c in adata.var.columns]})")
    column = adata.var[key]
    # a float or text column is no selection (a threshold or a label would be a guess)
    if not pd.api.types.is_bool_dtype(column) or bool(column.isna().any()):
        missing = " with missing values" if pd.api.types.is_bool_dtype(column) else ""
        raise CommandError(f"--genes {key!r} must be a boolean column of var (True: fit the "
                           f"gene), got dtype {column.dtype}{missing}")
    mask = column.to_numpy(dtype=bool)
    if not mask.any():
        raise CommandError(f"--genes {key!r} selects no gene of {str(data)!r} (all "
                           f"{adata.n_vars} are False)")
    return adata if mask.all() else adata[:, mask]


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Run with ``n`` torch threads (None: unchanged), restoring the count afterwards.

    A command may run inside a caller's process (tests, notebooks), whose setting stays.
    """
    import torch

    threads = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _diverged(exc: Exception, checkpoint: Path, method: str, lr: float) -> str:
    """Remove a diverged fit's checkpoint and return the error that says what to try.

    The fit is deterministic, so resuming its checkpoint diverges the same way; and a rerun
    with the advised options (another --lr, --method or --seed) into the same --out was
    refused as "from another run ... with other settings" while the file was there. The
    file is this fit's: one of other settings is refused before anything is trained.

    Parameters
    ----------
    exc
        The :class:`~biomodels.grn.train.SolverDivergedError` of the fit.
    checkpoint
        The run's ``DIR/checkpoint.pt``.
    method
        The solver the fit ran with.
    lr
        The run's ``--lr``.

    Returns
    -------
    str
        The message, naming only options the command has (the library's advice names
        Python arguments such as ``step_size``, which it has not).
    """
    cause = str(exc).split(";")[0]  # without the library's advice
    removed = ""
    try:
        checkpoint.unlink()  # atomic: the file stays whole or is gone (it is never rewritten)
        removed = (f"; removed its checkpoint {checkpoint}, since resuming it would diverge "
                   "the same way")
    except FileNotFoundError:
        pass
    solver = "" if method == "dopri5" else "--method dopri5 (adaptive steps), "
    return (f"the ODE solver diverged: {cause}{removed}; try {solver}a lower --lr (this "
            f"run's: {lr:g}) or another --seed")


def _fit(args: argparse.Namespace) -> int:
    with _torch_threads(args.threads):
        return _fit_run(args)


def _fit_run(args: argparse.Namespace) -> int:
    import anndata as ad

    from biomodels.grn.model import _STABLE_STEP, GRNModel, _layer_names
    from biomodels.grn.train import SolverDivergedError

    # first: read_h5ad follows external storage, external links and virtual datasets into
    # other files of the machine
    _check_h5ad_file(args.data)
    try:
        adata = ad.read_h5ad(args.data)
    except Exception as exc:  # corrupt or non-h5ad input
        raise CommandError(f"cannot read {str(args.data)!r} as h5ad: {exc}") from exc
    # the genes to fit (--genes KEY): a view of them, the results go into the whole input
    data = adata if args.genes is None else _fitted_genes(adata, args.genes, args.data)
    if args.gene_symbols is not None and args.gene_symbols not in adata.var.columns:
        # said here: GRNModel's message names its gene_symbols=, and rewording that name
        # would reach a column called gene_symbols in its warnings too
        raise CommandError(f"--gene-symbols {args.gene_symbols!r} is not a column of var in "
                           f"{str(args.data)!r} (its columns: "
                           f"{[str(c) for c in adata.var.columns]})")
    # a name that is no file is a key of the data's varp (krumsiek11's "truth")
    args.prior = _varp_or_file(args.prior, adata, "--prior", args.data)
    args.truth = _varp_or_file(args.truth, adata, "--truth", args.data)
    if args.pruning is None:
        # without a prior, magnitude pruning hurts: krumsiek11, h = 40, seeds 0-7, AUROC
        # 0.555 (held-out R^2 0.60) with IMP against 0.685 (0.86) unpruned
        args.pruning = "dash" if args.prior is not None else "none"
    if args.pruning == "dash" and args.prior is None:
        # (it advised --pruning imp, which --help advises against without a prior)
        raise CommandError("--pruning dash needs --prior PRIOR.csv (without a prior, use "
                           "--pruning none: magnitude pruning, imp, loses much of the network)")
    if args.prior is None:
        # options that only say how a prior is used ran without a word; a --prior-weight
        # below 1 is refused by the fit itself ("needs a prior network")
        given = [f"{flag} {value}" for flag, value in (
            ("--prior-scaling", args.prior_scaling),
            ("--prior-weight", None if args.prior_weight is None or args.prior_weight < 1
             else f"{args.prior_weight:g}")) if value is not None]
        warn_ignored(given, "they say how the prior is used, and no --prior was given")
    # None: not given (so that only an option the user typed is reported as ignored)
    prior_scaling: Literal["max", "sign"] = (
        "sign" if args.prior_scaling is None else args.prior_scaling)
    prior_weight = 1.0 if args.prior_weight is None else args.prior_weight
    if args.layer is None and adata.X is None:  # GRNModel's message names its layer=
        raise CommandError(f"{str(args.data)!r} has no X; pass --layer KEY, one of "
                           f"{_layer_names(adata)}")
    truth = None
    if data is not adata:
        print(f"fitting {data.n_vars} of {adata.n_vars} genes (var[{args.genes!r}])")
    # "time_key='t' is not a column": the user typed --time-key
    with options_in_errors(_OPTIONS, _CHOICES):
        model = GRNModel(
            data, time_key=args.time_key, trajectory_key=args.trajectory_key,
            layer=args.layer, prior=args.prior, n_hidden=args.hidden, seed=args.seed,
            gene_symbols=args.gene_symbols,
        )
    if args.truth is not None:  # check it before a long fit
        from biomodels.grn.evaluate import evaluate
        from biomodels.grn.model import _read_prior

        # a file, or a key of varp (a Path is never looked up in varp; a view of the
        # fitted genes holds their rows and columns)
        truth = _read_prior(args.truth, data, model.genes, "truth", model._symbols)
        # scored against itself, with evaluate's own checks: a truth without an edge among
        # the data's genes failed only after the whole fit ("at least one edge and one
        # non-edge"), leaving nothing but the checkpoint
        evaluate(truth, truth)
    # a rerun of an interrupted command picks up where it stopped; said once train() has
    # taken the file (a run of other settings, perhaps still running, is refused there)
    checkpoint = Path(args.out) / "checkpoint.pt"
    resumes = checkpoint.exists()
    method, step = FIT_DEFAULTS["method"], FIT_DEFAULTS["step_size"]
    gap = model.largest_gap()
    if args.method == "dopri5":
        method, step = "dopri5", None
    elif step * gap > _STABLE_STEP:  # uneven (pseudo)time: keep RK4 stable on the widest gap
        # every pair of a batch takes the same number of steps, so the widest gap sets the
        # cost of all: beyond 10 steps a pair, the adaptive solver is the cheaper way (unless
        # --method rk4 asks for RK4 whatever it costs)
        if gap <= 10 * _STABLE_STEP or args.method == "rk4":
            step = _STABLE_STEP / gap
            change = f"RK4 steps of {step:.3g} per gap instead of {FIT_DEFAULTS['step_size']}"
        else:
            method, step = "dopri5", None
            change = "the adaptive dopri5 solver instead of RK4"
        print(f"prunus: note: the widest gap between consecutive observations is {gap:.3g} "
              f"time units after scaling: {change}", file=sys.stderr)
    # around the try: the checkpoint's messages get their own wording there first, and
    # what is left ("prior_weight < 1 needs a prior network") names the options here
    with options_in_errors(_OPTIONS, _CHOICES):
        try:
            model.train(args.epochs, pruning=args.pruning, method=method,
                        step_size=step, prior_weight=prior_weight,
                        prior_scaling=prior_scaling, progress=not args.quiet,
                        checkpoint=checkpoint, checkpoint_every=args.checkpoint_every,
                        lr=args.lr, batch_size=args.batch_size)
        except SolverDivergedError as exc:  # a RuntimeError: the front would show a traceback
            raise CommandError(_diverged(exc, checkpoint, method, args.lr)) from exc
        except ValueError as exc:
            # "pass another checkpoint path" is for Python: the command line has no such option
            prefix = f"checkpoint {str(checkpoint)!r} belongs to a fit with other settings "
            held = f"checkpoint {str(checkpoint)!r} already holds "
            if str(exc).startswith(held):  # "... more than epochs=N": train()'s argument
                done = str(exc)[len(held):].split(" ", 1)[0]
                raise CommandError(
                    f"{checkpoint} is from another run (interrupted, or still running) that had "
                    f"trained {done} epochs, more than --epochs {args.epochs}; if it was "
                    f"interrupted, rerun it with --epochs {done} or more to finish it; "
                    f"{_AFRESH}"
                ) from exc
            if not str(exc).startswith(prefix):
                raise
            # "(batch_size: saved 32, now 64)": the settings as the options that set them
            detail = option_names(str(exc)[len(prefix):].split("; delete it")[0], _OPTIONS)
            raise CommandError(
                f"{checkpoint} is from another run (interrupted, or still running) with other "
                f"settings {detail}; if it was interrupted, rerun that command to finish it; "
                f"{_AFRESH}"
            ) from exc
    if resumes:
        print(f"prunus: note: resumed the fit from {checkpoint}", file=sys.stderr)
    from biomodels.grn.plot import plot_network, plot_networks
    from core.cli import figures_locked

    # a figure like every other command's: the network, next to the truth when given
    fitted = model.network(normalize="target")
    label = f"GRN ODE, pruning {args.pruning} (per-target score)"
    # matplotlib under the process's figure lock (runs of main() in a thread pool); the
    # files are written outside it
    with figures_locked():
        fig = (plot_networks({"true network": truth, label: fitted}, truth=truth)
               if truth is not None else plot_network(fitted, title=label).figure)
    try:
        paths, info = _write_outputs(model, adata, Path(args.out), truth, figure=fig,
                                     key_added=args.key_added)
    finally:
        with figures_locked() as plt:
            plt.close(fig)
    # the outputs are complete; another run into the same --out may have removed it
    checkpoint.unlink(missing_ok=True)
    # with nothing held out (a single pair) it is the training fit's, as the warning says
    held_out = bool(model.settings["n_pairs_val"])
    print(f"{'held-out ' * held_out}one-step R^2 {model.fit_summary['r2']:.3f} "
          f"{'' if held_out else 'on the training pairs, none held out '}(fraction of the "
          "changes between consecutive observations that the model explains)")
    # the pairs the R^2 was measured on: the held-out ones, or the training pairs when none
    # could be held out (GRNModel.train's rule)
    held = model.settings["n_pairs_val"] or model.settings["n_pairs_train"]
    if held < _FEW_HELD_OUT:
        where = "held-out" if model.settings["n_pairs_val"] else "training (none held out)"
        # a warning (the filters govern it); the outputs are written already
        warnings.warn(f"the held-out R^2 rests on {held} {where} one-step pair"
                      f"{'s' * (held != 1)} (fewer than {_FEW_HELD_OUT}): too few to measure "
                      "the fit; more cells, time points or trajectories give a held-out set "
                      "that counts", UserWarning, stacklevel=1)
    if truth is not None:  # the numbers a user passed --truth for, not only a file name
        metrics = info["metrics"]
        print("against the truth: " + ", ".join(
            f"{key} {metrics[key]:.3f}" for key in (*_RANKING_METRICS, "signed_epr",
                                                    "balanced_accuracy", "sparsity")))
    for name, path in paths.items():
        print(f"{name:8s} {path}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``prunus grn`` (subcommand ``fit``) to the ``prunus`` command line.

    Parameters
    ----------
    subparsers
        The ``prunus`` front's subparsers (entry point group ``prunus.commands``).
    """
    parser = subparsers.add_parser(
        "grn", help="gene-regulatory neural ODEs (PHOENIX) pruned with DASH")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    parser.set_defaults(func=command_required(parser))
    fit = sub.add_parser(
        "fit", help="fit a GRN ODE on an h5ad file and write the network",
        description="Fit dy/dt = ReLU(g) * (f(y) - y) on one-step-ahead pairs and prune it "
        "(DASH: Hossain et al., NeurIPS 2024). Writes DIR/network.csv (rows = regulators, "
        "columns = targets, signed effects), DIR/edges.csv (the same as a list of "
        "regulator, target, effect, score, strongest first), DIR/result.h5ad (the input with "
        "varp['grn'] and uns['grn'] added, or the --key-added KEY), "
        "DIR/model.pt, DIR/network.png (heatmap, next to the truth when given) and, with "
        "--truth, DIR/metrics.json (BEELINE metrics of the per-target "
        "score |E_ij| / sum_i |E_ij|, PHOENIX's edge ranking, fit_info: how the fit "
        "ended, settings: what it was run with, as uns['grn']['settings'], and held_out_r2 "
        "with r2_on: the one-step R^2 and what it was measured on; environment: the "
        "versions of python, prunus, torch, numpy, ... and torch's threads, as "
        "uns['grn']['environment'] and model.pt record them). The training state is "
        "checkpointed to DIR/checkpoint.pt every --checkpoint-every epochs (default 10) and "
        "removed once the results are written; rerunning the same command after an "
        "interruption (Ctrl-C, SIGTERM, a killed job) resumes from it, with the same "
        "result as an uninterrupted run; a run that diverges removes it (resuming would "
        "diverge the same way). It fits with RK4 at step 0.5 "
        "(GRNModel.train(method='rk4', step_size=0.5); the Python default is dopri5), with "
        "shorter steps, or dopri5, where the widest gap between consecutive observations "
        "needs them (a note says so; --method chooses). Without --truth, a DIR/metrics.json "
        "that an earlier prunus grn fit or prunus demo wrote is removed (it describes another "
        "network), "
        "and a line says so; another command's metrics.json is left alone.",
        **example_help(_EXAMPLES["fit"]))
    # metavars as in the synopsis of issue 4 (prunus grn fit INPUT.h5ad --time-key KEY ...)
    fit.add_argument("data", type=existing_file, metavar="INPUT.h5ad",
                     help="AnnData file: cells x genes in X (or --layer), time (and trajectory) "
                     "in obs")
    fit.add_argument("--time-key", required=True, metavar="KEY",
                     help="obs column with (pseudo)time")
    fit.add_argument("--trajectory-key", default=None, metavar="KEY",
                     help="obs column naming trajectories (default: all cells form one)")
    fit.add_argument("--layer", default=None, metavar="KEY",
                     help="layer with the expression to fit (default: X), e.g. normalised "
                     "values when X holds counts")
    fit.add_argument("--prior", type=_file_or_key, default=None, metavar="PRIOR.csv",
                     help="signed gene x gene prior, rows = regulators, columns = targets, "
                     "or an edge list with a header: regulator (or source, tf, Gene1), target "
                     "(or Gene2) and an optional sign column (effect, sign, mode, mor or "
                     "weight; Type with Gene1, as BEELINE's refNetwork.csv); or, when no file "
                     "has that name, a key of the input's varp (e.g. truth)")
    fit.add_argument("--genes", default=None, metavar="KEY",
                     help="boolean var column of the genes to fit, e.g. highly_variable "
                     "(default: every gene); network.csv, edges.csv and model.pt cover "
                     "those genes, result.h5ad is the whole input with varp['grn'] a sparse "
                     "matrix holding their block (uns['grn']['genes'] lists them)")
    fit.add_argument("--gene-symbols", default=None, metavar="KEY",
                     help="var column holding the genes' symbols, as scanpy's gene_symbols "
                     "(e.g. data keyed by Ensembl IDs): --prior and --truth files may then "
                     "name genes by symbol (or by var_names), and edges.csv gains "
                     "regulator_symbol and target_symbol columns")
    fit.add_argument("--pruning", choices=["dash", "imp", "none"], default=None,
                     help="default: dash with --prior, none without, since magnitude "
                     "pruning without a prior loses the network: AUROC 0.555 vs 0.685 on "
                     "krumsiek11 at --hidden 40 (mean of seeds 0-7; single seeds vary)")
    fit.add_argument("--epochs", type=at_least(1, int), default=FIT_DEFAULTS["epochs"],
                     metavar="N", help="maximum number of epochs (default: %(default)s, "
                     "6 DASH rounds)")
    fit.add_argument("--method", choices=["rk4", "dopri5"], default=None,
                     help="ODE solver of the fit: rk4 (fixed steps of 0.5 of each gap, "
                     "shortened so that none exceeds 0.2 time units on the widest gap, where "
                     "RK4 stays stable for learnt rates up to 13.9) or dopri5 (adaptive "
                     "steps: slower, stable whatever the rates). Default: rk4, or dopri5 "
                     "where the widest gap would need more than 10 RK4 steps a pair (a note "
                     "says so)")
    fit.add_argument("--seed", type=random_seed, default=0, metavar="S",
                     help="seed of the initialisation, the validation split and the batch "
                     "order (default: %(default)s)")
    fit.add_argument("--truth", type=_file_or_key, default=None, metavar="TRUTH.csv",
                     help="true network (a matrix or edge list, as the prior) to score against; "
                     "or, when no file has that name, a key of the input's varp (e.g. truth)")
    fit.add_argument("--hidden", type=at_least(1, int), default=FIT_DEFAULTS["n_hidden"],
                     help="hidden units per branch (default: %(default)s; the demo: 64)")
    fit.add_argument("--prior-weight", type=probability, default=None, metavar="LAMBDA",
                     help="PHOENIX soft prior: loss = LAMBDA * MSE + (1 - LAMBDA) * prior "
                     "MSE (default 1: prior used by pruning only). With small time steps "
                     "the data MSE is tiny, so LAMBDA must be close to 1 (the demo: 0.9997); "
                     "the printed held-out R^2 shows whether the data still count")
    fit.add_argument("--prior-scaling", choices=["sign", "max"], default=None,
                     help="how the prior's entries are used, by DASH's prior scores and by "
                     "the soft prior's targets: their signs (default) or their values (the "
                     "soft prior divides them by the largest)")
    fit.add_argument("--lr", type=at_least(1e-8), default=1e-2, metavar="LR",
                     help="Adam learning rate (default: %(default)s); an epoch that diverges "
                     "runs again at a third of it, up to 4 times, so with a thousand genes "
                     "or more starting at 1e-3 saves those epochs")
    fit.add_argument("--batch-size", type=at_least(1, int), default=32, metavar="B",
                     help="training pairs per step (default: %(default)s). A larger batch "
                     "makes an epoch faster with fewer steps (5,000 cells x 200 genes, one "
                     "thread: 2.4 s at 32, 1.2 s at 128, 0.8 s at 512), so raise --epochs "
                     "or --lr to match")
    fit.add_argument("--threads", type=at_least(1, int), default=None, metavar="N",
                     help="CPU threads for torch (default: torch's, one per core). A step "
                     "solves a small batch: up to a few hundred genes one thread is as fast "
                     "as two, and on a shared or busy machine much faster (a dopri5 epoch "
                     "of 5,000 cells x 500 genes: 3.9 s against 85 s); more threads pay "
                     "from about a thousand genes")
    fit.add_argument("--key-added", type=_h5ad_key, default="grn", metavar="KEY",
                     help="key of the network in result.h5ad's varp and uns (default: "
                     "%(default)s); another key keeps an earlier run's results when its "
                     "result.h5ad is the input, as write_results(key_added=KEY) does")
    fit.add_argument("--checkpoint-every", type=at_least(1, int), default=10, metavar="N",
                     help="epochs between checkpoints of the training state in "
                     "DIR/checkpoint.pt (default: %(default)s): an interrupted run loses at "
                     "most the epochs since the last one. A checkpoint holds the weights and "
                     "the optimizer's moments (about twice model.pt's size), so 1 suits long "
                     "epochs (many cells) and jobs with a wall-time limit; the rerun that "
                     "resumes may use another N")
    fit.add_argument("--quiet", action="store_true", help="no progress bar")
    fit.add_argument("--out", required=True, type=output_folder, metavar="DIR",
                     help="output folder (created if needed)")
    fit.set_defaults(func=_fit)


def _plot(network: Any, truth: Any) -> Any:
    from biomodels.grn.plot import plot_networks
    from core.cli import figures_locked

    with figures_locked():  # matplotlib is not thread-safe (runs in a thread pool)
        return plot_networks({"true network": truth,
                              "DASH-pruned GRN ODE (per-target score)": network}, truth=truth)


def _demo(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    # 11 genes: intra-op threads only add overhead (and contention)
    with _torch_threads(1):
        return _demo_run(args, start)


def _demo_run(args: argparse.Namespace, start: float) -> int:
    import numpy as np
    import pandas as pd

    from biomodels.grn import datasets
    from biomodels.grn.model import GRNModel, _r2_on
    from biomodels.grn.simulate import corrupt_prior

    out = Path(args.out)
    adata = datasets.krumsiek11()
    genes = list(adata.var_names)
    truth = pd.DataFrame(adata.varp["truth"], index=genes, columns=genes)
    prior = corrupt_prior(truth, 0.2, seed=args.seed)
    print(f"krumsiek11: {adata.n_obs} cells x {adata.n_vars} genes, 4 trajectories; "
          f"prior: true network with 20% of edges sign-flipped and 20% relocated")
    model = GRNModel(adata, time_key="time", trajectory_key="trajectory", prior=prior,
                     n_hidden=DEMO_DEFAULTS["n_hidden"], seed=args.seed)
    model.train(args.epochs, pruning="dash", method=FIT_DEFAULTS["method"],
                step_size=FIT_DEFAULTS["step_size"],
                prior_weight=DEMO_DEFAULTS["prior_weight"],
                prior_scaling=DEMO_DEFAULTS["prior_scaling"], progress=not args.quiet)
    metrics = model.evaluate(truth)
    from biomodels.grn.evaluate import evaluate
    from biomodels.grn.prior import rank_prior_first

    # the prior as a lab holds it and as the fit uses it (prior_scaling "sign"): its signs.
    # corrupt_prior keeps krumsiek11's kinetic weights, which ranked the prior's edges by
    # the true strengths: AUPRC 0.651 where the signs give 0.830 (seed 0)
    prior_only = evaluate(np.sign(prior), truth)
    # The other way to use the prior: a fit without it, its edges ranked within the prior's
    # support first (over corruption seeds 0-7: AUROC 0.927 against DASH's 0.879).
    plain = GRNModel(adata, time_key="time", trajectory_key="trajectory",
                     n_hidden=DEMO_DEFAULTS["plain_hidden"], seed=args.seed)
    plain.train(args.epochs, pruning="none", method=FIT_DEFAULTS["method"],
                step_size=FIT_DEFAULTS["step_size"], progress=False)
    ranked = evaluate(rank_prior_first(plain.network(normalize="target"), prior), truth,
                      prior=prior)
    plain_alone = evaluate(plain.network(normalize="target"), truth, prior=prior)
    print()
    print(f"{'metric':20s} {'DASH':>8s} {'prior alone':>12s} {'prior first':>12s}")
    for key in ("auroc", "auprc", "auprc_ratio", "epr", "signed_epr", "balanced_accuracy",
                "sparsity"):
        third = f"{ranked[key]:12.3f}" if key in _RANKING_METRICS else f"{'-':>12s}"
        print(f"{key:20s} {metrics[key]:8.3f} {prior_only[key]:12.3f} {third}")
    print(f"{'weight_sparsity':20s} {metrics['weight_sparsity']:8.3f}")
    print("prior alone: the corrupted prior's signs (+1 / -1 per edge), as the fit uses them")
    print("prior first: a fit without the prior (h = 11, no pruning), its edges ranked with the "
          "prior's edges first (rank_prior_first; a ranking, so no signs or support)")
    print()
    print(f"where the prior is wrong ({int(metrics['prior_false_edges'])} false edges, "
          f"{int(metrics['prior_missed_edges'])} true edges missing, "
          f"{int(metrics['prior_flipped_edges'])} signs flipped)")
    print(f"{'':34s} {'DASH':>8s} {'no prior':>9s}")
    for key, label in (("auroc_prior_edges", "AUROC, prior's true vs false edges"),
                       ("auroc_new_edges", "AUROC, edges the prior lacks"),
                       ("prior_edges_first", "prior's edges ranked first"),
                       ("prior_signs_corrected", "flipped signs corrected")):
        print(f"{label:34s} {metrics[key]:8.3f} {plain_alone[key]:9.3f}")
    r2 = model.fit_summary["r2"]
    # what was held out: krumsiek11's 4 trajectories are too few to hold out whole ones
    # (split_pairs), so random pairs were; it said "of the held-out trajectories"
    of = {"held-out trajectories": "of the held-out trajectories",
          "held-out pairs": "of held-out random pairs of consecutive cells",
          "training pairs": "of the training pairs (none held out)"}[_r2_on(model.settings)]
    print(f"data fit: the model explains {r2:.0%} of the one-step changes {of} "
          f"(R^2 {r2:.2f}; 0 = no better than predicting no change)")
    from core.cli import figures_locked

    # written last and together: a demo that fails (e.g. in the fit without the prior)
    # leaves an earlier run's files as they were, not a mix of two runs
    fig = _plot(model.network(normalize="target"), truth)
    try:
        paths, _ = _write_outputs(model, adata, out, truth, figure=fig)
    finally:
        with figures_locked() as plt:
            plt.close(fig)
    print()
    for name, path in paths.items():
        print(f"{name:8s} {path}")
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0


def register_demo(subparsers: argparse._SubParsersAction) -> None:
    """Add ``prunus demo`` (DASH on krumsiek11) to the ``prunus`` command line.

    Parameters
    ----------
    subparsers
        The ``prunus`` front's subparsers (entry point group ``prunus.commands``).
    """
    parser = subparsers.add_parser(
        "demo", help="the main job: DASH-pruned GRN ODE on krumsiek11",
        description="Fit a PHOENIX GRN ODE on scanpy's krumsiek11 with a 20%-corrupted "
        "prior, prune it with DASH, print the metrics and save the network and a figure. "
        "Writes DIR/network.csv (rows regulators, columns targets), DIR/edges.csv (the "
        "same network as a list of links), DIR/metrics.json (against krumsiek11's true network), "
        "DIR/result.h5ad, DIR/model.pt and DIR/network.png (the recovered network next to "
        "the truth), as `prunus grn fit` writes them.",
        **example_help(_EXAMPLES["demo"]))
    parser.add_argument("--out", default="prunus-demo", type=output_folder, metavar="DIR",
                        help="output folder (default: ./prunus-demo)")
    parser.add_argument("--epochs", type=at_least(1, int), default=FIT_DEFAULTS["epochs"],
                        metavar="N", help="maximum number of epochs (default: %(default)s)")
    parser.add_argument("--seed", type=random_seed, default=0, metavar="S",
                        help="seed of the prior's corruption and of the fits "
                        "(default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=_demo)
