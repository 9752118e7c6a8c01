"""Streamlit-side helpers shared by the pages: the store, cached views, what-if state."""
