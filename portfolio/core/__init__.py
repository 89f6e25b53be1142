"""Shared building blocks: the declarative base, public ids, sanitizing, errors, headers."""
