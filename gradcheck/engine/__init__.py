"""The numerical engine: finite differences, steps and tolerances, comparisons. Knows nothing about layers."""
