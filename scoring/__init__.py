"""The pure scoring domain: input folder in, result frames out (see docs/architecture.md)."""
