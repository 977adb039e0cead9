"""Every admin changelist, add page and change page renders for the admin user."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from tests.admin.conftest import Catalog

_PROJECT_APPS = {"catalog", "entitlements", "credits", "portal", "billing_sync"}


def _project_models() -> list[type[Model]]:
    return [model for model in admin.site._registry if model._meta.app_label in _PROJECT_APPS]


def test_registry__covers_every_project_model() -> None:
    # Given every concrete model of the project's apps that a person edits on its own page
    from django.apps import apps

    inline_only = {"companykey", "companytrait", "userkey", "usertrait", "subscriptionaddon"}
    expected = {
        model
        for name in _PROJECT_APPS
        for model in apps.get_app_config(name).get_models()
        if model._meta.model_name not in inline_only
    }
    # Then each is registered with the admin
    assert expected <= set(admin.site._registry)


@pytest.mark.parametrize("page", ["changelist", "add", "change"])
def test_admin_pages__every_model__render(admin_client: Client, catalog: Catalog, page: str) -> None:
    for model in _project_models():
        opts = model._meta
        model_admin = admin.site._registry[model]
        if page == "changelist":
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        elif page == "add":
            if not model_admin.has_add_permission(_request_for(admin_client)):
                continue
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        else:
            obj = model._default_manager.first()
            assert obj is not None, f"no {opts.model_name} row to open"
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        response = admin_client.get(url)
        assert response.status_code == 200, f"{url} → {response.status_code}"


def test_admin_changelists__search_and_filters__render(admin_client: Client, catalog: Catalog) -> None:
    for model in _project_models():
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert admin_client.get(url, {"q": "acme"}).status_code == 200, url


def _request_for(client: Client):
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = get_user_model().objects.get(username="admin")
    return request
