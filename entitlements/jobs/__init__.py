"""The periodic jobs: one table, read by the in-server scheduler, ``manage.py run_periodic_jobs`` and the Celery
tasks."""
