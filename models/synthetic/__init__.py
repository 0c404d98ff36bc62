"""Synthetic faces for the default source, for training data and for evaluation.

``motion`` makes deterministic performances (identity, expression and head trajectories);
``scene`` builds what surrounds the head (shoulders, background, lighting, albedo);
``compositor`` renders a frame with ground truth through :mod:`models.render` and
:mod:`models.sensor`.
"""
