"""Optimisation and walk-forward analysis of strategies: Optuna on one machine, Ray beyond it.

Optuna, plotly and Ray are imported only where used (the ``research`` extra installs them).
"""
