"""Degradation: numpy operators (ops), the steps a recipe lists, each owning its sample and
apply (span, original: steps of the photograph itself such as film grain, kernels and realworld:
the second-order chain, steps: damage),
recipes (recipe) and seeded clean -> degraded pairs (pairs)."""
