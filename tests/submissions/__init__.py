"""Tests of whole-submission checks (gradcheck check DIR)."""
