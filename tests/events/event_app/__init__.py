"""A Django app outside the domain that subscribes to domain events in ``ready()``, as billing_sync, the portal and
webhooks will: used by ``tests/events/test_other_app.py`` in a process of its own."""
