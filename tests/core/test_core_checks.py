"""The argument checks every package uses: numbers and counts refused by name."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.checks import check_count, check_number, text_encoding


def test_check_number_bounds_and_non_finite_values() -> None:
    assert check_number("lr", np.float32(0.5), above=0) == 0.5
    assert check_number("p", 1, at_least=0, at_most=1) == 1.0
    for value, error, match in ((math.nan, ValueError, "lr: expected a finite"),
                                (math.inf, ValueError, "lr: expected a finite"),
                                (0.0, ValueError, "lr: expected > 0"),
                                (True, TypeError, "lr: expected a real number"),
                                ("0.1", TypeError, "lr: expected a real number")):
        with pytest.raises(error, match=match):
            check_number("lr", value, above=0)
    with pytest.raises(ValueError, match=r"p: expected <= 1"):
        check_number("p", 1.5, at_most=1)


def test_check_count_refuses_what_int_would_truncate() -> None:
    assert check_count("n_runs", np.int64(7)) == 7 and type(check_count("n", 3)) is int
    assert check_count("seed", 0, at_least=0) == 0
    assert check_count("k", torch.tensor(4)) == 4  # an integer tensor counts, as an index
    for value in (10.5, 3.0, True, "3", None,  # int(10.5) = 10 without a word
                  torch.tensor(2.0), torch.tensor(True)):
        with pytest.raises(TypeError, match="n_runs: expected an integer >= 1"):
            check_count("n_runs", value)
    with pytest.raises(ValueError, match="burn_in: expected an integer >= 0, got -1"):
        check_count("burn_in", -1, at_least=0)


def test_zero_dim_arrays_and_tensors_stand_for_their_number() -> None:
    # np.array(0.3) or torch.tensor(0.01) (a reduction, a value read from a tensor) was
    # refused as "not a real number", and np.array(3) as "not an integer"
    assert check_number("lr", torch.tensor(0.25), above=0) == 0.25
    assert check_number("lr", np.array(0.25), above=0) == 0.25
    assert check_number("p", torch.tensor(1, dtype=torch.int64), at_most=1) == 1.0
    assert check_count("epochs", np.array(3)) == 3 and type(check_count("n", np.array(3))) is int
    for value in (torch.tensor(True), np.array(True), np.array("0.1"), torch.tensor([0.25]),
                  np.array([0.25]), torch.tensor(1 + 2j)):
        with pytest.raises(TypeError, match="lr: expected a real number"):
            check_number("lr", value)
    with pytest.raises(ValueError, match="lr: expected a finite"):
        check_number("lr", torch.tensor(float("nan")))
    for value in (np.array(3.0), np.array(True), np.array([3])):
        with pytest.raises(TypeError, match="epochs: expected an integer >= 1"):
            check_count("epochs", value)


def test_check_seed_bounds_and_optional() -> None:
    from core.checks import check_seed

    assert check_seed(None) is None and check_seed(np.int64(5)) == 5
    assert check_seed(2**64 - 1, bits=64) == 2**64 - 1
    with pytest.raises(ValueError, match=r"^rng_seed: expected an integer below 2\*\*64 "
                       r"\(a 64-bit seed\), got 18446744073709551616"):
        check_seed(2**64, "rng_seed", bits=64)
    with pytest.raises(TypeError, match="^seed: expected an integer >= 0, got None"):
        check_seed(None, optional=False)
    assert check_seed(2**70) == 2**70  # numpy's default_rng takes any size


def test_text_encoding_tells_utf16_from_utf8(tmp_path):
    # Excel's "Unicode Text" is UTF-16 after a byte-order mark (little- or big-endian)
    for codec, want in (("utf-16-le", "utf-16"), ("utf-16-be", "utf-16"),
                        ("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8-sig")):
        path = tmp_path / f"{codec}.csv"
        bom = "" if codec == "utf-8" else "\ufeff"
        path.write_bytes(f"{bom}a,b\n1,2\n".encode(codec.removesuffix("-sig")))
        assert text_encoding(path) == want
        assert path.read_text(encoding=want) == "a,b\n1,2\n"
    assert text_encoding(tmp_path / "missing.csv") == "utf-8-sig"  # the reader reports it


def test_not_utf8_text_and_comment_line_note_say_what_to_do(tmp_path):
    from core.checks import comment_line_note, not_utf8_text

    # older Excel's "CSV" is Windows-1252: "'utf-8' codec can't decode byte 0xf6" said
    # nothing of how to save the file
    try:
        "Fög1".encode("cp1252").decode("utf-8")
    except UnicodeDecodeError as err:
        said = not_utf8_text(err)
    assert said.startswith("not UTF-8 text (it has byte 0xf6: ") and said.endswith(
        'save it as UTF-8 text (in Excel: "CSV UTF-8")')
    try:
        b"\xff\xfe\x00\xd8".decode("utf-16")  # a byte-order mark, then half a surrogate pair
    except UnicodeDecodeError as err:
        assert not_utf8_text(err).startswith("not UTF-16 text, though it starts with")
    path = tmp_path / "x.csv"
    path.write_bytes("a,b\n1,2\n  # batch 2\n".encode("utf-16"))
    assert comment_line_note(path) == "; line 3 starts with '#' (comments are not supported)"
    path.write_text("a,b#c\n1,2\n")  # a '#' inside a name is no comment line
    assert comment_line_note(path) == "" and comment_line_note(tmp_path / "no.csv") == ""


@pytest.mark.parametrize("head, kind", [
    (b"\x89HDF\r\n\x1a\n\x00\x00", "an HDF5 file"),
    (b"\x93NUMPY\x01\x00v\x00", "a NumPy .npy array"),
    (b"PK\x03\x04\x14\x00\x06\x00", "a zip archive (e.g. an Excel workbook"),
    (b"\x1f\x8b\x08\x00\x00\x00", "gzip-compressed data"),
    (b"a,b\n\x00\x01\xff\x00", "a binary file (it has NUL bytes)"),
])
def test_a_binary_file_given_for_a_table_is_named_for_what_it_is(head, kind):
    # an .h5ad, .npy or .xlsx given for a CSV was called Latin-1 text from older Excel
    from core.checks import not_utf8_text

    try:
        (head + b"\xff").decode("utf-8")  # a byte that is not UTF-8 follows, as in such files
    except UnicodeDecodeError as err:
        said = not_utf8_text(err)
    assert said.startswith(f"not a text table but {kind}") and "Latin-1" not in said
    assert "expected CSV or TSV text" in said


def test_compressed_data_get_advice_that_fits_the_reader():
    # gzip data were always told "(name it with .gz to have it decompressed)": wrong for a
    # reader that does not decompress, and for a file named .gz already (cascade's readers
    # said it of g.edgelist.gz); bzip2 and xz data were called Latin-1 or binary
    import bz2
    import gzip
    import lzma

    from core.checks import not_utf8_text

    def said(data, **kwargs):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as err:
            return not_utf8_text(err, **kwargs)
        raise AssertionError("decoded")

    data = gzip.compress(b"a,b\n1,2\n")
    assert said(data) == ("not a text table but gzip-compressed data (name it with .gz to "
                          "have it decompressed); expected CSV or TSV text")  # as before
    assert said(data, decompresses=False) == (
        "not a text table but gzip-compressed data, which this reader does not decompress: "
        "decompress it first (gunzip); expected CSV or TSV text")
    assert said(data, decompressed=True) == (
        "not a text table but gzip-compressed data, though it was decompressed once by its "
        "name (compressed twice?): decompress it (gunzip) until it is text; expected CSV or "
        "TSV text")
    for compress, kind, suffix in ((bz2.compress, "bzip2", ".bz2"), (lzma.compress, "xz", ".xz")):
        for text in (b"a,b\n1,2\n", b""):
            assert said(compress(text)) == (f"not a text table but {kind}-compressed data (name "
                                            f"it with {suffix} to have it decompressed); "
                                            "expected CSV or TSV text"), kind
    # text that only starts as bzip2's magic does is no such data
    assert said(b"BZh is a name\xf6\n").startswith("not UTF-8 text (it has byte 0xf6")


def test_utf16_text_without_its_byte_order_mark_is_not_called_only_binary():
    from core.checks import not_utf8_text

    try:
        "A,B\u00e9\n1,0\n".encode("utf-16-le").decode("utf-8")
    except UnicodeDecodeError as err:
        said = not_utf8_text(err)
    assert "UTF-16 text without a byte-order mark" in said and "CSV UTF-8" in said


def test_host_array_refuses_a_meta_tensor_by_name():
    # .cpu() of a meta tensor (a shape without values) raised torch's NotImplementedError
    # "Cannot copy out of meta tensor; no data!", naming no argument
    import numpy as np

    from core.checks import host_array

    with pytest.raises(ValueError, match=r"^X: is on the meta device \(a shape without values\)"):
        host_array(torch.zeros(2, 3, device="meta"), "X")
    with pytest.raises(ValueError, match=r"^input: is on the meta device"):
        host_array(torch.zeros(2, device="meta"))
    np.testing.assert_array_equal(host_array(torch.tensor([1.5, 2.0], requires_grad=True)),
                                  [1.5, 2.0])


def test_check_device_names_the_argument_for_devices_this_machine_cannot_use():
    # torch's own words named no argument: "Expected one of cpu, cuda, ipu, xpu, ... device
    # type" for "gpu", "META device type not an accelerator" later in a fit, and "Torch not
    # compiled with CUDA enabled" for a GPU the machine lacks
    from core.checks import check_device

    assert check_device(None) == torch.device("cpu") == check_device("cpu")
    assert check_device(torch.device("cpu"), "where") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"^device: expected a torch device such as 'cpu', "
                                         r"'cuda', 'cuda:1' or 'mps', got 'gpu'$"):
        check_device("gpu")
    with pytest.raises(ValueError, match=r"^where: the meta device holds no values"):
        check_device(torch.device("meta"), "where")
    with pytest.raises(TypeError, match=r"^device: expected a device name .*got float$"):
        check_device(1.0)
    with pytest.raises(TypeError, match=r"got bool$"):
        check_device(True)
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        with pytest.raises(ValueError, match=r"^device: 'cuda' asks for a CUDA GPU, but torch "
                                             r"sees none here"):
            check_device("cuda")
    else:
        assert check_device("cuda").type == "cuda"
    with pytest.raises(ValueError, match=rf"^device: 'cuda:{count}' asks for"):
        check_device(f"cuda:{count}")
    if not torch.backends.mps.is_available():
        with pytest.raises(ValueError, match=r"^device: 'mps' asks for Apple's GPU"):
            check_device("mps")


def test_refuse_unordered_refuses_sets_and_passes_sequences_that_keep_their_order():
    # the shared rule for names matched to data by position: a set's order follows string
    # hashing, so names went to other columns / nodes in each fresh process
    import pandas as pd

    from core.checks import refuse_unordered

    for value in ({"b", "a"}, frozenset({"x"})):
        with pytest.raises(TypeError, match=(
                rf"^event_names: expected a list \(or other ordered sequence\) of event "
                rf"names, in the order of the data; got a {type(value).__name__}, whose order "
                r"changes from one run to the next .*pass a list, e\.g\. sorted\(event_names\) "
                r"if that is the order$")):
            refuse_unordered(value, "event_names", "event names")
    # sequences and a dict's keys keep their order: they pass, as does None (not given)
    for value in (None, ["b", "a"], ("b", "a"), {"b": 0, "a": 1}.keys(), pd.Index(["b"]),
                  pd.Series(["b"]), np.array(["b", "a"]), range(3)):
        assert refuse_unordered(value, "event_names", "event names") is None
