"""Dialogs: each has an ``ask()`` classmethod that runs it and returns plain values."""
