"""Renderings of result records: text, JSON and Markdown."""
