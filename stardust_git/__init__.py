"""stardust-git: a git repository as a music distributor."""

__version__ = "0.1.0"
