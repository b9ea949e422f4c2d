"""Audio and artwork measurements (loudness, peaks, silence, fingerprints), cached by hash."""
