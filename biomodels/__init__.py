"""biomodels (distribution prunus): gene-regulatory ODEs, CTMC mutation models and cascade sizes.

Subpackages: ``grn`` (neural ODEs pruned with DASH), ``ctmc`` (Mutual Hazard Networks) and
``cascade`` (cascade size distributions by message passing).

Import the subpackage you need, e.g. ``from biomodels import grn``.
"""

__all__ = ["cascade", "ctmc", "grn"]
