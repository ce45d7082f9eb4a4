"""The router's HTTP routes, one module per resource; `app.py` includes their routers."""
