"""Where the catalog is read from: one tree abstraction (the working tree or a git revision),
the YAML loader that keeps positions, and one loader that builds a Catalog from a tree."""
