"""The permission groups the ``core`` data migration creates, and the sync that keeps them exact."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission

from core.permissions import (
    ACCOUNT_EXECUTIVES,
    PRICING,
    PROJECT_APPS,
    SUPPORT,
    group_permission_codenames,
    groups_delete,
    groups_sync,
)


def _codenames(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_groups__after_migrate__exist(db: None) -> None:
    # Given a database built by the migrations
    # Then the three staff groups exist
    assert set(Group.objects.values_list("name", flat=True)) >= {PRICING, ACCOUNT_EXECUTIVES, SUPPORT}


def test_pricing_group__catalog__may_add_change_delete_and_view(db: None) -> None:
    codenames = _codenames(PRICING)
    for model in ("feature", "plan", "entitlement", "price"):
        assert {f"catalog.{action}_{model}" for action in ("add", "change", "delete", "view")} <= codenames
    # and reads everything else without changing it
    assert {"entitlements.view_company", "core.view_auditentry", "entitlements.view_apikey"} <= codenames
    assert not {name for name in codenames if not name.startswith("catalog.") and ".view_" not in name}


def test_account_executives_group__catalog__view_only(db: None) -> None:
    codenames = _codenames(ACCOUNT_EXECUTIVES)
    assert "catalog.view_plan" in codenames and "catalog.view_feature" in codenames
    assert not {name for name in codenames if name.startswith("catalog.") and ".view_" not in name}


def test_account_executives_group__companies_subscriptions_traits__managed(db: None) -> None:
    codenames = _codenames(ACCOUNT_EXECUTIVES)
    assert {
        "entitlements.add_company",
        "entitlements.change_company",
        "entitlements.change_companykey",
        "entitlements.change_companytrait",
        "entitlements.change_user",
        "entitlements.change_subscription",
        "entitlements.add_traitdefinition",
        "entitlements.view_usageevent",
        "entitlements.view_apikey",
        "core.view_auditentry",
    } <= codenames
    # Trait keys are declared but never renamed or deleted; API keys and subscription rows are not theirs to change;
    # companies are never deleted by them.
    assert (
        not {
            "entitlements.delete_company",
            "entitlements.change_traitdefinition",
            "entitlements.delete_traitdefinition",
            "entitlements.change_apikey",
            "entitlements.delete_subscription",
            "core.change_auditentry",
        }
        & codenames
    )


def test_support_group__every_permission__view_only(db: None) -> None:
    codenames = _codenames(SUPPORT)
    assert {"catalog.view_plan", "entitlements.view_company", "core.view_auditentry"} <= codenames
    assert all(name.split(".", 1)[1].startswith("view_") for name in codenames)


def test_groups_sync__run_again__each_group_holds_exactly_its_rules(db: None) -> None:
    # Given a permission added by hand to Support
    Group.objects.get(name=SUPPORT).permissions.add(Permission.objects.get(codename="change_plan"))
    # When the groups are synced (twice: it is idempotent)
    groups_sync(apps=apps)
    groups_sync(apps=apps)
    # Then every group holds exactly what the rules give it for today's models
    for name in (PRICING, ACCOUNT_EXECUTIVES, SUPPORT):
        assert _codenames(name) == group_permission_codenames(apps=apps, group_name=name), name
    assert "catalog.change_plan" not in _codenames(SUPPORT)


def test_groups_sync__support__views_every_project_model(db: None) -> None:
    groups_sync(apps=apps)
    expected = {
        f"{model._meta.app_label}.view_{model._meta.model_name}"
        for label in PROJECT_APPS
        for model in apps.get_app_config(label).get_models()
    }
    assert _codenames(SUPPORT) == expected


def test_groups_sync__override_models__account_executives_manage_pricing_reads(db: None) -> None:
    # Given the override models of today's code (they may be migrated after the groups were created)
    overrides = [
        m._meta.model_name for m in apps.get_app_config("entitlements").get_models() if "override" in m.__name__.lower()
    ]
    if not overrides:
        pytest.skip("no override model in this tree yet")
    # When the groups are synced
    groups_sync(apps=apps)
    # Then account executives grant, change and revoke overrides (never delete them), and pricing only reads them
    for model_name in overrides:
        assert {f"entitlements.{a}_{model_name}" for a in ("add", "change", "view")} <= _codenames(ACCOUNT_EXECUTIVES)
        assert f"entitlements.delete_{model_name}" not in _codenames(ACCOUNT_EXECUTIVES)
        assert f"entitlements.change_{model_name}" not in _codenames(PRICING)
        assert f"entitlements.view_{model_name}" in _codenames(PRICING)


def test_groups_delete__after_sync__groups_removed(db: None) -> None:
    # When the migration is reversed
    groups_delete(apps=apps)
    # Then the groups are gone, and a sync brings them back
    assert not Group.objects.filter(name__in=[PRICING, ACCOUNT_EXECUTIVES, SUPPORT]).exists()
    groups_sync(apps=apps)
    assert Group.objects.filter(name__in=[PRICING, ACCOUNT_EXECUTIVES, SUPPORT]).count() == 3
