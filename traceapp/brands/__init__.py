"""Brands: arrives with its issue."""
