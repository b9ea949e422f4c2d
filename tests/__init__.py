"""The stardust-git test suite (a package, so tests can import tests.servers and helpers)."""
