"""Server-rendered pages, one module per object (as patchwork does)."""
