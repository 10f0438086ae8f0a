"""Degradation: numpy operators (ops), the steps a recipe lists, each owning its sample and
apply (steps, span), recipes (recipe) and seeded clean -> degraded pairs (pairs)."""
