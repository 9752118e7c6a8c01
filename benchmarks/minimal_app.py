"""The comparison page: one slider and one scatter of as many points as the portfolio has initiatives.

It is the least a Streamlit page can do for the same interaction, so the
Prioritize page is timed against it. ``MINIMAL_POINTS`` sets the number of
points (default 1,000); past 1,000 the scatter uses WebGL, as the app does.
"""

from __future__ import annotations

import os

import numpy as np
import plotly.graph_objects as go
import streamlit as st

POINTS = int(os.environ.get("MINIMAL_POINTS", "1000"))


@st.cache_resource
def points(count: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((count, 2)) * 100, rng.random(count)


xy, share = points(POINTS)
weight = st.slider("Weight", 0.0, 100.0, 20.0, step=1.0, key="minimal_weight")
x = xy[:, 0] * (1 - weight / 100) + share * weight
scatter = go.Scattergl if POINTS > 1000 else go.Scatter
figure = go.Figure(scatter(x=x, y=xy[:, 1], mode="markers"))
figure.update_layout(height=560, xaxis=dict(range=[-2, 102]), yaxis=dict(range=[-2, 102]))
st.plotly_chart(figure, key="minimal_chart")
