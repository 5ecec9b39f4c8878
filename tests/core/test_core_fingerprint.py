"""core.fingerprint: the signatures of checkpoints and saved fits."""

from __future__ import annotations

import warnings

import numpy as np
import torch

from core import fingerprint


def test_fingerprint_tells_values_shapes_and_dtypes_apart():
    a = torch.arange(4, dtype=torch.float64)
    assert fingerprint(a) == fingerprint(a.clone()) == fingerprint(a.reshape(2, 2).reshape(4))
    assert fingerprint(a) != fingerprint(a.reshape(2, 2))  # same bytes, other shape
    assert fingerprint(a) != fingerprint(a.float())  # other dtype
    assert fingerprint(a, None) != fingerprint(None, a)
    big = np.zeros((40, 40))
    other = big.copy()
    other[20, 21] = 1.0  # reprs of >1000 entries are elided and would look the same
    assert repr(big) == repr(other) and fingerprint(big) != fingerprint(other)
    assert fingerprint(np.array(["a", "b"])) != fingerprint(np.array(["b", "a"]))
    # the values grn checkpoints of earlier versions recorded (so they still resume)
    assert fingerprint(torch.zeros(2)) == "7fb8e38eda497fbb"
    assert fingerprint(torch.arange(3.0), None) == "d0ef748bd500afa5"


def test_fingerprint_reads_any_dtype_and_object_arrays_by_value() -> None:
    import pandas as pd

    b = torch.arange(4, dtype=torch.bfloat16)
    assert fingerprint(b) == fingerprint(b.clone())
    assert fingerprint(b) != fingerprint(b.to(torch.float32))
    z = torch.tensor([1 + 2j, 3 - 1j])
    assert fingerprint(z.conj()) == fingerprint(z.conj().resolve_conj())
    assert fingerprint(z.conj()) != fingerprint(z)
    a = pd.Series(["Gata2", "Pu.1"], dtype=object).values
    b2 = pd.Series(["".join(["Gata", "2"]), "Pu.1"], dtype=object).values  # new objects
    assert fingerprint(a) == fingerprint(b2)
    assert fingerprint(a) != fingerprint(a[::-1].copy())
    # float tensors hash as before (old checkpoints' signatures stay valid)
    import hashlib

    t = torch.tensor([1.0, 2.0])
    h = hashlib.sha256(b"torch.float32(2,);" + t.numpy().tobytes()).hexdigest()[:16]
    assert fingerprint(t) == h


def test_fingerprint_hashes_large_arrays_without_copying_them():
    # tobytes() copied the whole array first: 600 MB more per fingerprint of a
    # 50k x 3k float32 matrix (grn hashes its training pairs at every checkpointed fit)
    import tracemalloc

    arr = np.arange(1_000_000, dtype=np.float64)  # 8 MB
    ten = torch.arange(1_000_000, dtype=torch.float64)
    tracemalloc.start()
    try:
        digests = fingerprint(arr), fingerprint(ten)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < arr.nbytes // 8
    assert digests == (fingerprint(arr.copy()), fingerprint(ten.clone()))
    assert fingerprint(arr[::2]) == fingerprint(np.ascontiguousarray(arr[::2]))


def test_fingerprint_of_sparse_matrices_reads_their_values():
    # np.ascontiguousarray(csr) is a 0-d object array whose repr names only shape, dtype and
    # count: any two sparse matrices of one shape and nonzero count hashed the same
    import scipy.sparse as sp

    a = sp.csr_matrix(np.array([[1.0, 0], [0, 2]]))
    b = sp.csr_matrix(np.array([[5.0, 0], [0, 7]]))
    c = sp.csr_matrix(np.array([[0.0, 1], [3, 0]]))
    assert len({fingerprint(a), fingerprint(b), fingerprint(c)}) == 3
    # one matrix, whatever its sparse format or the order of its stored entries
    assert fingerprint(a) == fingerprint(sp.csc_array(a)) == fingerprint(sp.coo_matrix(a))
    assert fingerprint(a) != fingerprint(sp.csr_matrix(np.array([[1.0, 0], [0, 2]]).T * 2))
    t = torch.tensor([[1.0, 0], [0, 2]])
    with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta state"
        warnings.simplefilter("ignore", UserWarning)
        csr = t.to_sparse_csr()
    assert fingerprint(t.to_sparse()) == fingerprint(csr)
    assert fingerprint(t.to_sparse()) != fingerprint((2 * t).to_sparse())
