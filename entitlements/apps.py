from django.apps import AppConfig


class EntitlementsConfig(AppConfig):
    name = "entitlements"
    verbose_name = "Companies and entitlements"

    def ready(self) -> None:
        from core.versions import versions_on_committed_bump
        from entitlements.datastream.broadcast import push_on_committed_bump

        versions_on_committed_bump(push_on_committed_bump)
