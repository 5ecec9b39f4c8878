"""The argparse types of ``core.cli`` that check an output folder before a command runs."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from core.cli import existing_file, output_folder


def test_an_out_with_a_tilde_the_shell_left_is_the_home_folder(tmp_path: Path,
                                                               monkeypatch) -> None:
    # bash expands ~ only at the start of a word, so `--out=~/run` arrives as typed: a
    # folder literally named ~ was made here, and pandas, which expands ~, then wrote to
    # the home folder's run/.prunus-staging-..., which did not exist, after the whole fit
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert output_folder("~/run") == tmp_path / "home" / "run"
    assert output_folder("~nosuchuser_x/run") == Path("~nosuchuser_x/run")  # left as typed
    # and an input file the same way: `--prior=~/prior.csv` was "no such file"
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "prior.csv").write_text("a\n")
    assert existing_file("~/prior.csv") == tmp_path / "home" / "prior.csv"


@pytest.mark.skipif(os.name != "posix", reason="POSIX symlinks")
def test_an_out_through_a_broken_link_is_refused_first(tmp_path: Path) -> None:
    # a link to a folder not made yet (results -> /scratch/.../results) passed the check,
    # and the run ended after its fit with "[Errno 17] File exists: 'results'"
    link = tmp_path / "results"
    link.symlink_to(tmp_path / "scratch" / "results")
    for given in (link, link / "run1"):
        with pytest.raises(argparse.ArgumentTypeError,
                           match=r"is a link to .*scratch/results', which does not exist"):
            output_folder(str(given))
    (tmp_path / "scratch" / "results").mkdir(parents=True)  # made: the link is a folder
    assert output_folder(str(link / "run1")) == link / "run1"
