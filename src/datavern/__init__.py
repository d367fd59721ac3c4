"""Datavern: the system behind a privacy notice."""

__version__ = "0.1.0"
