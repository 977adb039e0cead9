"""Management API of the entitlements app, one module per resource (see ``config/api_urls.py``)."""
