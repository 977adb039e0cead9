"""Settings for benchmark servers: the product's own, plus a trivial JSON view to measure against."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING", "handlers": []}}
DEBUG = False
