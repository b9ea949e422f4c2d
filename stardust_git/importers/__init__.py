"""Existing catalogs in: ERN messages and spreadsheets read into release files (then the gate)."""
