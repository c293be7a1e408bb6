"""Bulk and scheduled work: seeding, imports, syncs, sweeps, and the admin CLI.

Depends on `models` only; never imports Reflex.
"""
