"""DSP rule files (what each shop rejects) and the loader that applies them to releases."""
