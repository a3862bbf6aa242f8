"""Tests of the adapters: every protocol becomes one ``OpView``."""
