"""Fingerprints of arrays: short hashes that checkpoints and saved fits use as signatures."""

from __future__ import annotations

import hashlib

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["fingerprint"]


def fingerprint(*arrays: torch.Tensor | np.ndarray | None) -> str:
    """Short SHA-256 of the values, shapes and dtypes of ``arrays`` (None allowed).

    Stored in a checkpoint's or saved model's signature so that a resume with other data,
    another prior or another network is refused instead of silently mixing the two.
    Tensors are read on the CPU as raw bytes (any dtype, bfloat16 included); numpy arrays
    as they are, object arrays (e.g. a pandas column of strings) by the ``repr`` of each
    element; sparse matrices (scipy, or torch's sparse layouts) by their values and
    positions, the same for every sparse format of one matrix.

    Parameters
    ----------
    *arrays
        Tensors, numpy arrays (or anything ``np.ascontiguousarray`` reads) and ``None``
        placeholders; their order matters.

    Returns
    -------
    str
        The first 16 hexadecimal digits of the SHA-256 digest.

    Examples
    --------
    >>> fingerprint(torch.zeros(2)) == fingerprint(torch.zeros(2))
    True
    >>> fingerprint(torch.zeros(2)) == fingerprint(torch.ones(2))
    False
    >>> fingerprint(np.array(["a", "b"])) == fingerprint(np.array(["b", "a"]))
    False
    >>> import scipy.sparse as sp
    >>> fingerprint(sp.csr_array(np.eye(2))) == fingerprint(sp.csr_array(2 * np.eye(2)))
    False
    """
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none;")
            continue
        if isinstance(a, torch.Tensor) and a.layout != torch.strided:
            a = _torch_sparse_to_scipy(a)
        if sp.issparse(a):
            # np.ascontiguousarray(a) was a 0-d object array whose repr names only shape,
            # dtype and count: every matrix of one shape and count hashed the same
            m = sp.csr_array(a)
            m.sum_duplicates()
            m.sort_indices()
            h.update(f"sparse{m.dtype}{m.shape};".encode())
            for part in (m.data, m.indices.astype(np.int64), m.indptr.astype(np.int64)):
                h.update(np.ascontiguousarray(part).reshape(-1).view(np.uint8))
            continue
        if isinstance(a, torch.Tensor):
            t = a.detach().resolve_conj().resolve_neg().cpu().contiguous()
            h.update(f"{t.dtype}{tuple(t.shape)};".encode())
            # raw bytes: numpy() knows no bfloat16; same bytes as numpy for the others.
            # Hashed through the buffer: tobytes() copied the whole tensor first (600 MB
            # of pairs at 50k cells x 3k genes, at every checkpointed fit)
            h.update(t.reshape(-1).view(torch.uint8).numpy())
        else:
            arr = np.ascontiguousarray(a)
            h.update(f"{arr.dtype}{arr.shape};".encode())
            if arr.dtype == object:  # tobytes() would hash addresses, not values
                h.update("\x1f".join(map(repr, arr.ravel())).encode())
            else:  # as uint8 through the buffer, no copy (datetimes export no buffer)
                h.update(arr.reshape(-1).view(np.uint8))
    return h.hexdigest()[:16]


def _torch_sparse_to_scipy(a: torch.Tensor) -> sp.coo_array:
    """Convert a two-dimensional torch sparse tensor (COO, CSR, CSC, ...) to scipy COO."""
    coo = a.detach().cpu().to_sparse().coalesce()
    if coo.dim() != 2:
        raise TypeError(f"fingerprint: sparse tensors of two dimensions only, got {coo.dim()}")
    v = coo.values()
    # numpy knows no bfloat16; float32 holds each of its values exactly
    v = (v.float() if v.dtype == torch.bfloat16 else v).numpy()
    i = coo.indices().numpy()
    return sp.coo_array((v, (i[0], i[1])), shape=tuple(coo.shape))
