"""Reusable widgets: the quantity input, the reservoir gauge and the charts."""
