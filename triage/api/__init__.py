"""REST API for CI bots (token auth, as patchwork does), one module per object."""
