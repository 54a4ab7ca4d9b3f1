"""Figures. Every function takes an optional ``ax=`` (or ``fig=``) and returns it,
so notebooks can compose figures; nothing here computes results, it only draws
what the analysis objects carry.
"""
from __future__ import annotations

# ---- section: spectrum and fit plots (fitting) ----------------------------
# ---- end section: spectrum and fit plots ----------------------------------

# ---- section: kk and drt plots ----------------------------------------------
# ---- end section: kk and drt plots ------------------------------------------

# ---- section: campaign plots --------------------------------------------------
# ---- end section: campaign plots ----------------------------------------------
