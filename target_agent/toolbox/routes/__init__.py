"""HTTP routers of the toolbox, one module per resource."""
