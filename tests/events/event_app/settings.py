"""The project's settings with one more app installed: ``tests.events.event_app``."""

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.events.event_app.apps.EventAppConfig"]
