"""Tests of the auto check (a layer without a kind, from one example)."""
