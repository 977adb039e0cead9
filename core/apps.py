from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from core import (
            admin_audit,  # noqa: F401  (registers the audit log admin, built on core.admin)
            admin_job_pages,  # noqa: F401  (registers the admin jobs' pages, built on core.admin)
            openapi,  # noqa: F401  (registers the API-key security scheme with drf-spectacular)
        )
        from core.permissions import groups_sync_on_migrate

        # Models added by later migrations of any app get their group permissions as soon as they exist.
        post_migrate.connect(groups_sync_on_migrate, sender=self, dispatch_uid="core.groups_sync")
