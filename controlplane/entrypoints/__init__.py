"""Thin Chalice entry points: parse, call a use case, shape the response."""
