"""Scipy-only sparse helpers (no torch import, so topologies stay light to import)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp


def drop_diagonal(A: Any) -> sp.csr_array:
    """CSR copy of a scipy matrix without its diagonal entries and explicit zeros.

    Same result as ``A.setdiag(0); A.eliminate_zeros()`` on a canonical copy, by one mask
    over the stored entries: scipy's ``setdiag`` goes through COO and back (2.5 s for a
    graph with 1M nodes and 10M stored entries, against 0.1 s here).

    Parameters
    ----------
    A
        A scipy sparse matrix or array (left unchanged).

    Returns
    -------
    scipy.sparse.csr_array
        The off-diagonal, non-zero entries of ``A``, sorted and without duplicates.
    """
    csr = sp.csr_array(A)
    if not csr.has_canonical_format:  # sum_duplicates would rewrite A's arrays in place
        csr = csr.copy()
        csr.sum_duplicates()
    n_rows = csr.shape[0]
    rows = np.repeat(np.arange(n_rows, dtype=csr.indices.dtype), np.diff(csr.indptr))
    keep = (csr.indices != rows) & (csr.data != 0)
    indptr = np.zeros(n_rows + 1, dtype=csr.indptr.dtype)
    np.cumsum(np.bincount(rows[keep], minlength=n_rows), out=indptr[1:])
    return sp.csr_array((csr.data[keep], csr.indices[keep], indptr), shape=csr.shape)
