"""Graphs built for the cascade tests (shared by the TDA and exact-method tests)."""

from __future__ import annotations

import numpy as np
import torch

from biomodels.cascade import CascadeGraph


def disjoint(*graphs: CascadeGraph) -> CascadeGraph:
    """The disjoint union of ``graphs``, node indices shifted in the order given."""
    src, dst, w, off = [], [], [], 0
    for g in graphs:
        src.append(g.src + off)
        dst.append(g.dst + off)
        w.append(g.weight)
        off += g.n
    return CascadeGraph(off, np.concatenate(src), np.concatenate(dst), torch.cat(w))
