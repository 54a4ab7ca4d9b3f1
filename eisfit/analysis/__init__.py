"""Data validity (Kramers-Kronig), derived quantities, DRT and Arrhenius analysis."""
