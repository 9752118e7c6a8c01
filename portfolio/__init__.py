"""Portfolio Lens: segment, score, fund and reconcile an IT investment portfolio.

The domain package: models and validation, the DuckDB store, scoring, the
funding line, reconciliation and chart builders. It never imports Streamlit.
"""
