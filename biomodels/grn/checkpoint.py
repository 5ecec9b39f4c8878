"""Checkpoints of a running fit: the whole training state, written atomically, and resuming.

A fit of thousands of genes runs for hours; an interrupted one (a killed job, a wall-time
limit) should lose at most a few epochs. A checkpoint holds everything the next epoch
depends on: weights and masks, Adam moments, the plateau scheduler, the random generator
(batch order and the soft prior's random states), the pruner's recursive DASH scores, the
history and the early-stopping state. Resuming from it gives the same result, to the last
bit on CPU, as a fit that was never interrupted.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from core.atomic import torch_file_damage
from core.checks import torch_file_problem
from core.fingerprint import fingerprint
from core.masks import _objects_refused

__all__ = ["FitState", "save_checkpoint", "load_checkpoint"]

_FORMAT = "prunus.grn.fit-checkpoint/1"
#: What every checkpoint holds (``backoffs`` and ``lr_scale`` came later, with defaults).
_SAVED_FIELDS = ("signature", "epoch", "history", "best_loss", "best_state", "stale",
                 "stopped", "func", "optimizer", "scheduler", "generator", "pruner")


@dataclass
class FitState:
    """Loop state of :func:`biomodels.grn.train.fit` besides the torch objects.

    Attributes
    ----------
    epoch
        Last completed epoch (0: none).
    history
        Per-epoch records so far.
    best_loss, best_state, stale
        Early stopping: best validation loss since the last pruning round, the weights
        that reached it, and the number of epochs since.
    stopped
        True when early stopping ended the fit (a resumed call then does nothing more).
    backoffs, lr_scale
        Diverged epochs run again so far, and the factor they left on the learning rates.
    """

    epoch: int = 0
    history: dict[str, list[float]] = field(default_factory=dict)
    best_loss: float = math.inf
    best_state: dict[str, torch.Tensor] | None = None
    stale: int = 0
    stopped: bool = False
    backoffs: int = 0
    lr_scale: float = 1.0


def plain(obj: Any) -> Any:
    """Numpy scalars as Python numbers, recursively through dicts, lists and tuples.

    ``torch.load(weights_only=True)``, which reads our files, refuses numpy scalars: a
    setting given as ``np.float64`` (e.g. a ``prior_weight`` from ``np.linspace``) made a
    saved model and a checkpoint unreadable. Tensors and everything else pass unchanged.
    """
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if type(obj) in (list, tuple):
        return type(obj)(plain(v) for v in obj)
    return obj


def save_checkpoint(
    path: str | os.PathLike[str],
    state: FitState,
    *,
    signature: dict[str, Any],
    func: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    generator: torch.Generator,
    pruner: Any | None = None,
) -> Path:
    """Write the training state to ``path`` atomically (complete or absent, never half).

    Parameters
    ----------
    path
        Destination file (``torch.save`` format).
    state
        The loop state.
    signature
        Settings that must match on resume (solver, learning rate, data size, ...).
    func, optimizer, scheduler, generator
        The objects whose state the next epoch depends on.
    pruner
        A pruner with ``state_dict()`` (e.g. :class:`biomodels.grn.dash.DashPruner`), or None.

    Returns
    -------
    Path
        ``path``.
    """
    from core import save_torch

    def cpu(d: dict[str, torch.Tensor] | None) -> dict[str, torch.Tensor] | None:
        return None if d is None else {k: v.detach().cpu() for k, v in d.items()}

    payload = {
        "format": _FORMAT,
        "signature": signature,
        "epoch": state.epoch,
        "history": state.history,
        "best_loss": state.best_loss,
        "best_state": cpu(state.best_state),
        "stale": state.stale,
        "stopped": state.stopped,
        "backoffs": state.backoffs,
        "lr_scale": state.lr_scale,
        "func": cpu(func.state_dict()),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "generator": generator.get_state(),
        "pruner": None if pruner is None else pruner.state_dict(),
    }
    return save_torch(plain(payload), path)


def read_torch_file(path: str | os.PathLike[str], error: str) -> Any:
    """``torch.load`` (weights only, onto the CPU); on failure a ValueError ``error: cause``.

    The file's records are first compared with the CRC-32 checksums saved with them
    (:func:`core.atomic.torch_file_damage`): ``torch.load`` does not, and a file damaged
    after it was written loaded with wrong numbers (a model's largest effect 1.0e+23 for
    1.55) or was resumed from. A pickle of objects other than tensors and plain values is
    refused as such (it may be crafted), without torch's advice to load it with
    ``weights_only=False``.

    Parameters
    ----------
    path
        The file.
    error
        The start of every message, naming the file and what it was read as.

    Returns
    -------
    Any
        What ``torch.load`` returns.

    Raises
    ------
    OSError
        If the file cannot be opened, of the class ``open`` raises (FileNotFoundError for
        no file, IsADirectoryError for a folder, PermissionError, ...) and with its
        ``errno``, as the other loaders (``CTMC.load``, ``MaskSet.load``, ...) raise it;
        the message is ``error: cause``.
    ValueError
        If the file is damaged, is no complete ``torch.save`` file, or cannot be unpickled.
    """
    # first: torch_file_problem's zipfile.is_zipfile raised BadZipFile on some damaged files
    damage = None if not isinstance(path, str | os.PathLike) else torch_file_damage(path)
    if damage is not None:
        raise ValueError(f"{error}: it is damaged: {damage} (it changed after it was "
                         "written, e.g. on a faulty disk or in a copy or transfer)")
    problem = torch_file_problem(path)
    if problem is not None:
        raise ValueError(f"{error}: it is not a complete file written by torch.save; "
                         f"{problem}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except OSError as exc:
        # no file, a folder, no permission: the OSError subclass every other loader raises
        # (a ValueError here slipped past `except FileNotFoundError`); errno kept, filename
        # not (setting it would make str() drop the message)
        refused = type(exc)(f"{error}: {exc}")
        refused.errno = exc.errno
        raise refused from exc
    except Exception as exc:  # pickle errors of all kinds: say which file, keep the cause
        # objects other than tensors: one line, without torch's advice to load it unsafely
        raise ValueError(f"{error}: {_objects_refused(exc) or exc}") from exc


def _continues(payload: dict[str, Any], signature: dict[str, Any]) -> bool:
    """Whether the fit starts from the weights the checkpoint's fit ended with.

    A fit ends with its best held-out weights (taken after its last pruning round, so with
    the final masks) or, without a held-out best, its last ones.
    """
    saved = payload["signature"].get("initial_weights")
    now = signature.get("initial_weights")
    if saved is None or now is None or saved == now:
        return False
    end = dict(payload["func"])
    end.update(payload["best_state"] or {})
    return fingerprint(*end.values()) == now


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    signature: dict[str, Any],
    func: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    generator: torch.Generator,
    pruner: Any | None = None,
) -> FitState:
    """Restore the objects from a checkpoint written by :func:`save_checkpoint`.

    Masks saved with the weights are re-attached to ``func`` (and ``optimizer``) before the
    weights are loaded, so pruned entries stay zero after resuming.

    Parameters
    ----------
    path
        The checkpoint file.
    signature
        This fit's settings; every key the checkpoint saved must be equal.
    func, optimizer, scheduler, generator, pruner
        Freshly built objects of the same fit, restored in place.

    Returns
    -------
    FitState
        The loop state to continue from.

    Raises
    ------
    OSError
        When ``path`` cannot be opened (IsADirectoryError for a folder, PermissionError).
    ValueError
        When ``path`` is not a fit checkpoint, is damaged (a record that does not match
        its CRC-32 checksum), or was written by a fit with other settings or another
        model size (the differing keys are named).
    """
    from core import MaskSet

    payload = read_torch_file(path, f"checkpoint {str(path)!r} cannot be read (delete it "
                                    "to start the fit afresh)")
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(f"checkpoint {str(path)!r} is not a prunus GRN fit checkpoint")
    missing = [k for k in _SAVED_FIELDS if k not in payload]
    if missing:  # a bare KeyError named one field and not the file
        raise ValueError(f"checkpoint {str(path)!r} lacks the fields {missing}: it was "
                         "damaged or not written by this fit (delete it to start afresh)")
    saved = payload["signature"]
    if _continues(payload, signature):
        # the model the checkpoint's fit returned, trained on with the same file: continue
        # that fit, which keeps its own starting point (a fresh model still resumes it)
        signature["initial_weights"] = saved["initial_weights"]
    # a setting this version records and an older checkpoint lacks is not checked, so
    # checkpoints written before it was recorded still resume
    differ = sorted(k for k in saved if saved.get(k) != signature.get(k))
    if differ:
        detail = ", ".join(f"{k}: saved {saved.get(k)!r}, now {signature.get(k)!r}"
                           for k in differ)
        if "initial_weights" in differ:  # a hash says nothing of its own
            detail += (" (the checkpoint's fit neither started nor ended with this "
                       "model's weights: a model trained or loaded elsewhere goes on from "
                       "its own)")
        raise ValueError(f"checkpoint {str(path)!r} belongs to a fit with other settings "
                         f"({detail}); delete it or pass another checkpoint path")
    device = next(func.parameters()).device
    weights = payload["func"]
    if any(k.endswith("_mask") for k in weights):
        MaskSet.from_state_dict(weights).attach(func, optimizer)
    else:
        MaskSet.detach_from(func)
    func.load_state_dict(weights)
    optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    generator.set_state(payload["generator"])
    if pruner is not None:
        pruner.load_state_dict(payload["pruner"], func)
    best = payload["best_state"]
    return FitState(
        epoch=int(payload["epoch"]),
        history=payload["history"],
        best_loss=float(payload["best_loss"]),
        best_state=None if best is None else {k: v.to(device) for k, v in best.items()},
        stale=int(payload["stale"]),
        stopped=bool(payload["stopped"]),
        # checkpoints from before learning-rate backoffs have none
        backoffs=int(payload.get("backoffs", 0)),
        lr_scale=float(payload.get("lr_scale", 1.0)),
    )
