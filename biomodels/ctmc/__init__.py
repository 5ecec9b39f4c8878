"""prunus.biomodels.ctmc."""
