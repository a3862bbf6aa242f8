"""The checklist: properties of a kind run on Hypothesis-generated cases, shrunk, diagnosed and reported."""
