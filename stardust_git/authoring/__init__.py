"""Authoring catalog files: new releases from templates, target scaffolds and bulk edits."""
