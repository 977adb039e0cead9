"""Admin plumbing: every admin write goes through a service, with the logged-in person as the actor.

``ServiceAdmin`` subclasses implement ``service_create``/``service_update``/``service_delete``; forms still validate
first (field validators, database constraints, domain checks in ``clean``), so a person sees errors next to the
fields. A domain error the form could not foresee (a concurrent change) is shown as a message and nothing is saved.

The read-only audit log admin is ``core.admin_audit`` (registered by ``CoreConfig.ready``, since it builds on the
classes here).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path
from django.utils.http import url_has_allowed_host_and_scheme

from core.actors import Actor, ActorKind
from core.csv_export import csv_stream_response
from core.errors import DomainError


def admin_actor(request: HttpRequest) -> Actor:
    """The actor of an admin request: the logged-in staff member."""
    user = request.user
    return Actor(kind=ActorKind.ADMIN, identifier=str(user.pk), label=user.get_username())


def changed_fields(form: ModelForm, names: set[str] | None = None) -> dict[str, Any]:
    """The cleaned values of the fields the person changed (optionally only those in ``names``)."""
    return {
        name: form.cleaned_data[name]
        for name in form.changed_data
        if name in form.cleaned_data and (names is None or name in names)
    }


def instance_adopt(target: models.Model, source: models.Model) -> None:
    """Make the admin's unsaved instance the row a service just created, so the admin can log and redirect."""
    target.pk = source.pk
    target.refresh_from_db()


class ReadOnlyAdmin(admin.ModelAdmin):
    """A page to look at only: rows written by services elsewhere (capture, the ledger, the audit log, another
    page's inline); nobody adds, changes or deletes them here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ServiceAdmin(admin.ModelAdmin):
    """A ModelAdmin whose saves and deletes call services."""

    def service_create(self, request: HttpRequest, obj: Any, form: Any) -> models.Model:
        raise NotImplementedError

    def service_update(self, request: HttpRequest, obj: Any, form: Any) -> None:
        raise NotImplementedError

    def service_delete(self, request: HttpRequest, obj: Any) -> None:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            if form.has_changed():  # saved unchanged: nothing to write, audit or announce (inlines save on their own)
                self.service_update(request, obj, form)
        else:
            instance_adopt(obj, self.service_create(request, obj, form))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.service_delete(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.service_delete(request, obj)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: Any = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def get_actions(self, request: HttpRequest) -> dict[str, tuple[Callable[..., str], str, str] | None]:
        """The actions this person may run: one that declares no ``permissions`` needs the change permission.

        Django offers an undeclared action to anyone who can view the list; ours change data, so a view-only person
        neither sees them nor can post them (an unknown action is refused by the action form).
        """
        actions = super().get_actions(request)
        if self.has_change_permission(request):
            return actions
        return {
            name: action
            for name, action in actions.items()
            if action is not None and hasattr(action[0], "allowed_permissions")
        }

    def response_action(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        try:
            return super().response_action(request, queryset)
        except DomainError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


def inline_formset_save(
    formset: BaseInlineFormSet,
    *,
    create: Callable[[ModelForm], models.Model],
    update: Callable[[ModelForm], object],
    delete: Callable[[models.Model], None],
) -> None:
    """Save an inline formset row by row through services, recording what the admin's change message needs."""
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    for form in formset.deleted_forms:
        if form.instance.pk is not None:
            delete(form.instance)
            formset.deleted_objects.append(form.instance)
    for form in formset.forms:
        if form in formset.deleted_forms or not form.has_changed():
            continue
        if form.instance.pk is None:
            formset.new_objects.append(create(form))
        else:
            update(form)
            formset.changed_objects.append((form.instance, form.changed_data))


def action_confirmation_context(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    title: str,
    selected: Sequence[models.Model],
    note_required: bool,
    note_label: str,
    note_missing_message: str,
    submit_label: str,
) -> dict[str, Any]:
    """The context of a changelist action's confirmation page (``admin/includes/action_confirmation_form.html``):
    the selected rows and the action posted again with ``confirm=yes`` and a reason (``note``)."""
    return {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "action": request.POST.get("action", ""),
        "selected": [str(row.pk) for row in selected],
        "note": action_note(request),
        "note_missing": action_confirmed(request) and note_required and not action_note(request),
        "note_required": note_required,
        "note_label": note_label,
        "note_missing_message": note_missing_message,
        "submit_label": submit_label,
        "next": action_return_url(request) or "",
        "cancel_url": action_return_url(request) or request.path,
    }


def action_return_url(request: HttpRequest) -> str | None:
    """Where a confirmed action returns to when it was started from another page (``next``, this site's only)."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return None


def action_done_redirect(request: HttpRequest) -> HttpResponse | None:
    """What a confirmed action answers: back to the page it was started from, or (``None``) the list."""
    target = action_return_url(request)
    return HttpResponseRedirect(target) if target else None


def action_confirmed(request: HttpRequest) -> bool:
    """Whether the confirmation page of an action was submitted."""
    return request.POST.get("confirm") == "yes"


def action_note(request: HttpRequest) -> str:
    """The reason given on an action's confirmation page (empty when none)."""
    return (request.POST.get("note") or "").strip()


class CsvExportAdmin(admin.ModelAdmin):
    """A changelist with an "Export CSV" button: the rows the list shows with its current search and filters (all of
    them, not one page), streamed (``core.csv_export``). Subclasses name the columns in ``csv_columns``: a header and
    a function of the row, and may widen the rows in ``csv_rows`` (to read what a column needs in chunks)."""

    change_list_template = "admin/csv_export_change_list.html"
    csv_name = "export"
    csv_columns: Sequence[tuple[str, Callable[[Any], Any]]] = ()

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        export = path(
            "export.csv",
            self.admin_site.admin_view(self.csv_export_view),
            name=f"{opts.app_label}_{opts.model_name}_export",
        )
        return [export, *super().get_urls()]

    def csv_rows(self, request: HttpRequest, queryset: Any) -> Iterator[Any]:
        """The rows to export, in the list's order (override to read extra data per chunk)."""
        yield from queryset.iterator(chunk_size=1000)

    def csv_export_view(self, request: HttpRequest) -> HttpResponseBase:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)  # the list's own search, filters and ordering
        rows = ([column(row) for _, column in self.csv_columns] for row in self.csv_rows(request, changelist.queryset))
        return csv_stream_response(name=self.csv_name, header=[header for header, _ in self.csv_columns], rows=rows)
