"""Staff permission groups: which Django model permissions each back-office role holds.

- **Pricing** edits the catalog (every ``catalog`` model) and reads everything else.
- **Account executives** manage companies (without deleting them), their users, keys and traits, subscriptions and
  trials, overrides and credits; they read the catalog, usage, API keys and the audit log.
- **Support** reads everything and changes nothing.

The groups are managed in code: ``groups_sync`` gives each group exactly the permissions its rules grant, so a
permission added to one of them by hand is removed at the next sync. Rules name models by pattern, so models that
arrive later (overrides, credits, billing mirrors) are covered as soon as ``groups_sync`` runs after their migration
(the ``post_migrate`` receiver below). Staff still need ``is_staff`` to enter the admin; that is account setup.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import DEFAULT_DB_ALIAS

PRICING = "Pricing"
ACCOUNT_EXECUTIVES = "Account executives"
SUPPORT = "Support"

# The apps whose models the groups see. Django's own (auth, sessions, …) stay superuser-only.
PROJECT_APPS = ("core", "catalog", "entitlements", "credits", "billing_sync", "portal")


@dataclass(frozen=True)
class Grant:
    """``actions`` on the models of ``app_label`` whose model name matches ``model_pattern`` (shell-style)."""

    app_label: str
    model_pattern: str
    actions: frozenset[str]


_VIEW = frozenset({"view"})
_MANAGE = frozenset({"add", "change", "view"})
_ALL = _MANAGE | {"delete"}

_READ_EVERYTHING = tuple(Grant(label, "*", _VIEW) for label in PROJECT_APPS)

# Companies are managed but never deleted by account executives (a deleted company takes its history with it; an
# administrator does that, after a confirmation); their users, keys and traits are edited freely.
_COMPANY_PARTS = ("companykey", "companytrait", "user", "userkey", "usertrait")

GROUP_GRANTS: dict[str, tuple[Grant, ...]] = {
    PRICING: (*_READ_EVERYTHING, Grant("catalog", "*", _ALL)),
    ACCOUNT_EXECUTIVES: (
        *_READ_EVERYTHING,
        Grant("entitlements", "company", _MANAGE),
        *(Grant("entitlements", name, _ALL) for name in _COMPANY_PARTS),
        # New trait keys may be declared; renaming or deleting one would break every company that reports it.
        Grant("entitlements", "traitdefinition", frozenset({"add", "view"})),
        # Plans and trials change on the company page; subscription rows are history and are never deleted.
        Grant("entitlements", "subscription", frozenset({"change", "view"})),
        Grant("entitlements", "subscriptionaddon", frozenset({"change", "view"})),
        # Overrides are revoked, never deleted, and the credit ledger is append-only (mistakes are corrected by an
        # adjustment): what happened stays attributable.
        Grant("entitlements", "*override*", _MANAGE),
        Grant("credits", "*", _MANAGE),
    ),
    SUPPORT: _READ_EVERYTHING,
}


def group_permission_codenames(*, apps: Apps, group_name: str) -> set[str]:
    """The permissions (``app_label.codename``) the rules grant ``group_name`` on the models ``apps`` knows."""
    grants = GROUP_GRANTS[group_name]
    codenames: set[str] = set()
    for app_label in PROJECT_APPS:
        try:
            app_config = apps.get_app_config(app_label)
        except LookupError:
            continue
        for model in app_config.get_models():
            model_name = str(model._meta.model_name)
            actions: set[str] = set()
            for grant in grants:
                if grant.app_label == app_label and fnmatchcase(model_name, grant.model_pattern):
                    actions |= grant.actions
            codenames |= {
                f"{app_label}.{action}_{model_name}" for action in model._meta.default_permissions if action in actions
            }
    return codenames


def groups_sync(*, apps: Apps = global_apps, using: str = DEFAULT_DB_ALIAS) -> None:
    """Create missing permissions of the project's models, then give each group exactly its rules' permissions.

    Idempotent. ``apps`` is the registry to read models from: the historical one inside a migration, the
    ``post_migrate`` one after ``migrate``, or the global one.
    """
    for app_label in PROJECT_APPS:
        try:
            installed = global_apps.get_app_config(app_label)
        except LookupError:
            continue
        # Django creates permissions only after the whole migrate run; a fresh database has none here yet. Like
        # Django's own post_migrate call, the installed app config is the sender and ``apps`` supplies the models.
        create_permissions(installed, verbosity=0, interactive=False, using=using, apps=apps)

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    by_name = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in permission_model.objects.using(using)
        .filter(content_type__app_label__in=PROJECT_APPS)
        .values_list("pk", "content_type__app_label", "codename")
    }
    for group_name in GROUP_GRANTS:
        wanted = group_permission_codenames(apps=apps, group_name=group_name)
        group, _ = group_model.objects.using(using).get_or_create(name=group_name)
        group.permissions.set([by_name[name] for name in sorted(wanted) if name in by_name])


def groups_delete(*, apps: Apps = global_apps, using: str = DEFAULT_DB_ALIAS) -> None:
    """Delete the three groups (their members lose what the groups gave them)."""
    apps.get_model("auth", "Group").objects.using(using).filter(name__in=GROUP_GRANTS).delete()


def groups_sync_on_migrate(
    sender: AppConfig, *, using: str = DEFAULT_DB_ALIAS, apps: Apps = global_apps, **kwargs: Any
) -> None:
    """``post_migrate`` receiver: re-sync the groups so models migrated after the groups' migration are covered."""
    groups_sync(apps=apps, using=using)
