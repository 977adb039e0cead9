"""Support changes nothing, tried exhaustively: every URL the resolver knows is posted as Support on the demo data.

The walks are built from what the project declares, so a page, action or endpoint added later is tried without a
new test:

* **admin**: every pattern under ``admin:`` (``django.urls.get_resolver()``), its arguments filled from real rows.
  Change pages post their own form as rendered to a superuser (``tests.admin.browser_form``), one field changed; add
  pages their blank form filled in; changelists every action the superuser is offered, on a selected row with
  ``confirm=yes``, ``post=yes`` and a note; every other page (delete confirmations, the credits and grant flows, …)
  each form it posts to itself, the forms behind its links to itself (``?feature=sso``), and the forms the
  superuser's posts reveal (a preview's "Confirm"); a page without a form gets an empty POST (``post=yes`` on a
  delete page);
* **API**: every write operation of the OpenAPI schema (``/api/schema/``), and every other route outside the admin
  (the SDK doors, health, docs). The API authenticates API keys only (``REST_FRAMEWORK`` in settings,
  ``entitlements.authentication``): a staff session is no credential there, so Support's session gets 401;
* **account executives** open and confirm every company's delete page and post every bulk delete.

Every request runs in a savepoint rolled back afterwards and is judged on a fingerprint of every table in the
database (row count and a hash of all rows), taken before the rollback, and on the domain events it emitted. Each
request is also sent by a superuser (or an API key): where that writes, Support's identical request must be refused
outright (403, the login page, a warning, or an action left unrun), and the number of such writes is pinned, so a
walker that fills nothing or posts empty bodies cannot pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Model
from django.http import HttpResponseBase
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern
from django.utils import timezone

from catalog.models import CreditBundle, CreditType, Entitlement, Feature, Plan, Price
from core.actors import SYSTEM_ACTOR
from core.admin_jobs import admin_job_start
from core.events import DomainEvent, events_subscribe_at_emit, events_unsubscribe
from core.permissions import ACCOUNT_EXECUTIVES, SUPPORT
from entitlements.admin.bulk_jobs import TRIAL_START_JOB
from entitlements.models import ApiKey, Company, CompanyOverride
from entitlements.sdk.capture import batch_capture
from entitlements.services.api_keys import api_key_create
from tests.admin.browser_form import admin_change_form_data
from tests.admin.conftest import admin_on_demo  # noqa: F401  (the demo data, shared with the admin tests)

pytestmark = pytest.mark.django_db

# Admin patterns not posted, each a page that only reads or that acts on the requester's own account.
_ADMIN_NOT_POSTED = {
    "admin:login": "logs the requester in: not a write to the data",
    "admin:logout": "ends the requester's own session",
    "admin:password_change": "the requester's own password, which Support may change",
    "admin:password_change_done": "a confirmation page; reads only",
    "admin:jsi18n": "the admin's JavaScript translations; reads only",
    "admin:autocomplete": "search results for autocomplete widgets; reads only (GET)",
    "admin/(?P<url>.*)$": "the catch-all: a 404, or a redirect adding a slash to a URL covered elsewhere",
}

# The superuser's (or an API key's) identical requests must write at least this often (measured on the demo data:
# 46 of the admin attempts, 19 of the API operations), so a walker that fills nothing or posts empty bodies fails.
_MINIMUM_ADMIN_WRITES = 40
_MINIMUM_API_WRITES = 15

_WRITE_METHODS = ("post", "put", "patch", "delete")
_PROBE_TEXT = "probe"
_PROBE_NOTE = "Support probe: must be refused"


# --- The database fingerprint -------------------------------------------------------------------------------------


def _fingerprint() -> dict[str, tuple[int, str]]:
    """Every table's row count and a hash of its rows (the session table: its session keys only, since a refusal
    message such as "No action selected." is kept in the requester's own session, which is no data)."""
    tables: dict[str, tuple[int, str]] = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names()):
            columns = "session_key" if table == "django_session" else "*"
            cursor.execute(f"SELECT {columns} FROM {connection.ops.quote_name(table)}")
            rows = sorted(repr(tuple(_plain(value) for value in row)) for row in cursor.fetchall())
            tables[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return tables


def _plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value  # PostgreSQL's bytea: compare the bytes


@dataclass
class _Outcome:
    """What one request did: its answer, the tables it changed, the domain events it emitted, its messages."""

    status: int
    location: str
    changed: list[str]
    events: list[str]
    messages: list[tuple[int, str]]
    content_type: str = ""
    body: str = ""

    @property
    def wrote(self) -> bool:
        return bool(self.changed or self.events)

    @property
    def succeeded_message(self) -> bool:
        return any(level == messages.SUCCESS for level, _ in self.messages)

    def summary(self) -> str:
        changed = f" changed {self.changed}" if self.changed else ""
        events = f" emitted {self.events}" if self.events else ""
        said = f" said {[text[:80] for _, text in self.messages]}" if self.messages else ""
        return f"{self.status}{' → ' + self.location if self.location else ''}{changed}{events}{said}"


@dataclass
class _Recorder:
    """Sends requests in savepoints rolled back afterwards, against a fingerprint of the untouched database."""

    baseline: dict[str, tuple[int, str]] = field(default_factory=_fingerprint)
    announced: list[DomainEvent] = field(default_factory=list)

    def send(self, client: Client, method: str, url: str, data: Any = None, *, as_json: bool = False) -> _Outcome:
        self.announced.clear()
        # The rollback restores the session rows; the client's cookie goes back with them (a password change
        # cycles the session key, which would otherwise log the client out for the rest of the walk).
        cookie = client.cookies.get(settings.SESSION_COOKIE_NAME)
        session_key = cookie.value if cookie is not None else None
        with transaction.atomic():
            if as_json:
                body = "" if data is None else json.dumps(data)
                response = client.generic(method.upper(), url, body, content_type="application/json")
            elif method == "get":
                response = client.get(url)
            else:
                response = client.post(url, data or {})
            after = _fingerprint()
            transaction.set_rollback(True)
        if session_key is not None:
            client.cookies[settings.SESSION_COOKIE_NAME] = session_key
        changed = sorted(table for table, print_ in after.items() if self.baseline.get(table) != print_)
        return _Outcome(
            status=response.status_code,
            location=response.get("Location", ""),
            changed=changed,
            events=[type(event).__name__ for event in self.announced],
            messages=_queued_messages(response),
            content_type=response.get("Content-Type", ""),
            body=_text(response),
        )


def _queued_messages(response: HttpResponseBase) -> list[tuple[int, str]]:
    """The messages this request added (not ones left in the session by an earlier request)."""
    request = getattr(response, "wsgi_request", None)
    storage = getattr(request, "_messages", None)
    return [(message.level, str(message.message)) for message in getattr(storage, "_queued_messages", [])]


def _text(response: HttpResponseBase) -> str:
    if getattr(response, "streaming", False) or "html" not in response.get("Content-Type", ""):
        return ""
    return response.content.decode()  # type: ignore[attr-defined]


@pytest.fixture
def recorder(demo: Client) -> Iterator[_Recorder]:
    """Requested last by each test, so its fingerprint holds every row and login the test set up."""
    recorder = _Recorder()
    events_subscribe_at_emit(recorder.announced.extend)  # at emit: the rolled-back savepoints never commit
    try:
        yield recorder
    finally:
        events_unsubscribe(recorder.announced.extend)


# --- The people and the data --------------------------------------------------------------------------------------


def _staff_client(username: str, group_name: str) -> Client:
    user = get_user_model().objects.create_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def demo(admin_on_demo: Client) -> Client:  # noqa: F811  (the fixture imported above)
    """The superuser's client on the demo data, topped up through the services with the rows the demo has none of
    (an API key, captured usage, a flag check, a queued admin job), so the pages of those models have a row too."""
    api_key_create(actor=SYSTEM_ACTOR, name="backend")
    acme = Company.objects.get(keys__name="external_id", keys__value="acme")
    batch_capture(
        events=[
            {"type": "track", "body": {"event": "generation", "company": {"external_id": "acme"}, "quantity": 2}},
            {"type": "flag_check", "body": {"flag_key": "sso", "value": True, "company_id": acme.public_id}},
        ],
        actor=SYSTEM_ACTOR,
        now=timezone.now(),
    )
    admin_job_start(  # queued: the test's transaction never commits, so it never runs
        kind=TRIAL_START_JOB,
        title="Start a trial",
        item_ids=[acme.pk],
        params={"plan_id": Plan.objects.filter(trial_days__gt=0).values_list("pk", flat=True).first(), "note": ""},
        created_by=None,
        actor=SYSTEM_ACTOR,
    )
    return admin_on_demo


@pytest.fixture
def support(demo: Client) -> Client:
    return _staff_client("support-probe", SUPPORT)


@pytest.fixture
def account_executive(demo: Client) -> Client:
    return _staff_client("account-executive-probe", ACCOUNT_EXECUTIVES)


# --- Walking the resolver ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pattern:
    """One URL pattern: its label (``namespace:name``, or its route when it has no name), route and parameters."""

    label: str
    route: str
    parameters: tuple[str, ...]
    model: type[Model] | None
    is_regex: bool

    @property
    def name(self) -> str:
        return self.label.rsplit(":", 1)[-1]


def _patterns(
    entries: list[URLPattern | URLResolver] | None = None,
    prefix: str = "",
    namespace: str = "",
    model: type[Model] | None = None,
) -> Iterator[_Pattern]:
    """Every URL pattern below ``entries`` (the root URLconf by default), with the admin model it belongs to."""
    by_admin_route = {f"{m._meta.app_label}/{m._meta.model_name}/": m for m in admin.site._registry}
    for entry in get_resolver().url_patterns if entries is None else entries:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            inner_model = by_admin_route.get(str(entry.pattern), model) if inner == "admin:" else model
            yield from _patterns(entry.url_patterns, route, inner, inner_model)
            continue
        is_regex = not isinstance(entry.pattern, RoutePattern)
        parameters = tuple(entry.pattern.regex.groupindex if is_regex else entry.pattern.converters)
        label = f"{namespace}{entry.name}" if entry.name else route
        yield _Pattern(label, route, parameters, model, is_regex=is_regex)


_ROUTE_PARAMETER = re.compile(r"<(?:[^>:]+:)?(?P<name>[^>]+)>")


def _url(pattern: _Pattern, arguments: dict[str, str]) -> str:
    if pattern.is_regex:
        return reverse(pattern.label, kwargs=arguments)
    return "/" + _ROUTE_PARAMETER.sub(lambda match: arguments[match["name"]], pattern.route)


def _first(model: type[Model], field_name: str = "pk") -> str | None:
    value = model._default_manager.order_by("pk").values_list(field_name, flat=True).first()
    return None if value is None else str(value)


def _registered_model(model_name: str) -> type[Model] | None:
    return next((m for m in admin.site._registry if m._meta.model_name == model_name), None)


def _arguments(pattern: _Pattern) -> list[dict[str, str]] | str:
    """Real values for the pattern's parameters (one set, or one per admin app for ``app_label``), or why not."""
    values: dict[str, list[str]] = {}
    wanted = set(pattern.parameters)
    if wanted >= {"content_type_id", "object_id"}:  # view on site: any object of a project model
        company = _first(Company)
        if company is None:
            return "no company row"
        values["content_type_id"] = [str(ContentType.objects.get_for_model(Company).pk)]
        values["object_id"] = [company]
        wanted -= {"content_type_id", "object_id"}
    for parameter in sorted(wanted):
        value: str | None
        if parameter in {"object_id", "id"}:
            if pattern.model is None:
                return f"no model for <{parameter}>"
            value = _first(pattern.model)
            if value is None:
                return f"no {pattern.model._meta.label} row for <{parameter}>"
        elif parameter == "app_label":
            values[parameter] = sorted({m._meta.app_label for m in admin.site._registry})
            continue
        elif parameter == "key":  # the SDK's flag key
            value = _first(Feature, "key")
        else:  # <model>_<field>, such as company_id or feature_key
            parts = parameter.split("_")
            splits = (("".join(parts[:i]), "_".join(parts[i:])) for i in range(1, len(parts)))
            value = next(
                (
                    _first(model, "pk" if name == "id" else name)
                    for model_name, name in splits
                    if (model := _registered_model(model_name)) is not None
                ),
                None,
            )
        if value is None:
            return f"cannot fill <{parameter}>"
        values[parameter] = [value]
    names = sorted(values)
    return [
        dict(zip(names, combination, strict=True)) for combination in itertools.product(*(values[n] for n in names))
    ]


# --- Reading a page's forms ---------------------------------------------------------------------------------------


@dataclass
class _Form:
    """A POST form of a page: what a browser submits for it (``values``), each field's kind, each select's options."""

    form_id: str
    action: str
    values: dict[str, list[str]] = field(default_factory=dict)
    submits: list[tuple[str, str]] = field(default_factory=list)  # named submit buttons: a browser sends the one used
    kinds: dict[str, str] = field(default_factory=dict)  # field name → text, number, checkbox, select, textarea, …
    options: dict[str, list[str]] = field(default_factory=dict)


class _PostForms(HTMLParser):
    """The POST forms of a page, read as ``tests.admin.browser_form`` reads one (which needs a form id, and admin
    confirmation pages have none): inputs with their values, checked boxes, a select's selected or first option."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self._form: _Form | None = None
        self._select: tuple[str, list[str]] | None = None  # name, selected values
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        name = attributes.get("name", "")
        if tag == "form":
            is_post = attributes.get("method", "").lower() == "post"
            self._form = _Form(attributes.get("id", ""), attributes.get("action", "")) if is_post else None
            if self._form is not None:
                self.forms.append(self._form)
        elif self._form is None or "disabled" in attributes:
            return
        elif tag in {"input", "button"} and name:
            kind = attributes.get("type", "text" if tag == "input" else "submit").lower()
            if kind == "submit":
                self._form.submits.append((name, attributes.get("value", "")))
            if tag == "button" or kind in {"submit", "button", "image", "reset", "file"}:
                return
            self._form.kinds[name] = kind
            if kind not in {"checkbox", "radio"} or "checked" in attributes:
                default = "on" if kind in {"checkbox", "radio"} else ""
                self._form.values.setdefault(name, []).append(attributes.get("value", default))
        elif tag == "select" and name:
            self._form.kinds[name], self._form.options[name], self._select = "select", [], (name, [])
        elif tag == "option" and self._select is not None:
            self._form.options[self._select[0]].append(attributes.get("value", ""))
            if "selected" in attributes:
                self._select[1].append(attributes.get("value", ""))
        elif tag == "textarea" and name:
            self._form.kinds[name], self._textarea = "textarea", name
            self._form.values[name] = [""]

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea is not None:
            self._form.values[self._textarea][0] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._form is not None and self._textarea is not None:
            self._form.values[self._textarea][0] = self._form.values[self._textarea][0].removeprefix("\n")
            self._textarea = None
        elif tag == "select" and self._form is not None and self._select is not None:
            name, selected = self._select
            options = self._form.options[name]
            self._form.values[name] = selected or options[:1]
            self._select = None


def _post_forms(html: str) -> list[_Form]:
    parser = _PostForms()
    parser.feed(html)
    return parser.forms


_TEXT_KINDS = {"text", "textarea", "email", "url", "search"}
_FORMSET_ROW = re.compile(r"-(\d+|__prefix__)-|_FORMS$")
_PROBE_PASSWORD = "Probe-password-8413"  # passes the password validators


def _blanks_filled(form: _Form, values: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """The form's submission with its empty fields filled as a person would (formset rows and split date/time fields
    left as rendered): text ``probe``, passwords a valid one, numbers 1, selects their first real choice."""
    filled = dict(form.values if values is None else values)
    if values is None and form.submits:  # pressed: the default (first) button
        filled.setdefault(form.submits[0][0], [form.submits[0][1]])
    for name, kind in form.kinds.items():
        if _FORMSET_ROW.search(name) or re.search(r"_[01]$", name) or any(filled.get(name, [])):
            continue
        if kind in _TEXT_KINDS:
            filled[name] = [_PROBE_TEXT]
        elif kind == "password":
            filled[name] = [_PROBE_PASSWORD]
        elif kind == "number":
            filled[name] = ["1"]
        elif kind == "select" and (choices := [value for value in form.options.get(name, []) if value]):
            filled[name] = [choices[0]]
    return filled


_PREFERRED_TEXT_FIELDS = ("name", "description", "note", "label", "first_name")


def _one_field_changed(data: dict[str, list[str]], form: _Form) -> tuple[dict[str, list[str]], str]:
    """The submission with one main-form field changed (a name first, else any text, a number, a checkbox); the
    field's name, or "" when the form has nothing editable."""
    main = {name: kind for name, kind in form.kinds.items() if "-" not in name and not name.startswith("_")}
    texts = [name for name, kind in main.items() if kind in _TEXT_KINDS and name in data and not name.endswith("_1")]
    texts.sort(key=lambda name: _PREFERRED_TEXT_FIELDS.index(name) if name in _PREFERRED_TEXT_FIELDS else 99)
    changed = dict(data)
    if texts:
        changed[texts[0]] = [(data[texts[0]][0] + " " + _PROBE_TEXT).strip()]
        return changed, texts[0]
    for name, kind in main.items():
        if kind == "number" and name in data and data[name][0].lstrip("-").isdigit():
            changed[name] = [str(int(data[name][0]) + 1)]
            return changed, name
        if kind == "checkbox":
            changed[name] = [] if name in data else ["on"]
            return changed, name
    return changed, ""


# --- The admin walk -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Attempt:
    """One request of the walk: which pattern, where, and what it posts."""

    label: str
    url: str
    data: dict[str, Any]
    what: str


def _is_admin(pattern: _Pattern) -> bool:
    return pattern.label.startswith("admin:") or pattern.route.startswith("admin/")


def _admin_attempts(superuser: Client, recorder: _Recorder) -> tuple[list[_Attempt], list[str], set[str]]:
    """Every admin write attempt, the patterns that could not be filled (with why), and the labels walked."""
    attempts: list[_Attempt] = []
    unfilled: list[str] = []
    walked: set[str] = set()
    for pattern in _patterns():
        if not _is_admin(pattern) or pattern.label in _ADMIN_NOT_POSTED:
            continue
        arguments = _arguments(pattern)
        if isinstance(arguments, str):
            unfilled.append(f"{pattern.label}: {arguments}")
            continue
        walked.add(pattern.label)
        for argument_set in arguments:
            url = _url(pattern, argument_set)
            found = _attempts_for(superuser, recorder, pattern, url)
            if isinstance(found, str):
                unfilled.append(f"{pattern.label} ({url}): {found}")
            else:
                attempts.extend(found)
    return attempts, unfilled, walked


def _own_forms(forms: list[_Form], path: str) -> list[_Form]:
    """The forms that post back to ``path`` (not the header's logout form, nor forms aimed at other pages)."""
    return [form for form in forms if not form.action or urlsplit(form.action).path == path]


def _attempts_for(superuser: Client, recorder: _Recorder, pattern: _Pattern, url: str) -> list[_Attempt] | str:
    """The POSTs that try ``url``, built from the page the superuser is shown there."""
    name, label = pattern.name, pattern.label
    page = recorder.send(superuser, "get", url)
    forms = _post_forms(page.body)
    if pattern.model is not None and name.endswith(("_change", "_add")):
        form_id = f"{pattern.model._meta.model_name}_form"
        form = next((f for f in forms if f.form_id == form_id), None)
        if form is None:  # an add page nobody may open (rows written elsewhere): post a save all the same
            if name.endswith("_change") or page.status != 403:
                return f"the superuser sees no {form_id} ({page.status})"
            return [_Attempt(label, url, {"_save": "Save"}, "add, no form")]
        if name.endswith("_add"):
            return [_Attempt(label, url, {**_blanks_filled(form), "_save": "Save"}, "add, blank form filled in")]
        rendered = admin_change_form_data(page.body, model_name=str(pattern.model._meta.model_name))
        data, changed = _one_field_changed(rendered, form)
        if any(kind == "password" for kind in form.kinds.values()):  # a password page: the new password, twice
            data, changed = _blanks_filled(form, rendered), "password"
        return [_Attempt(label, url, data, f"change {changed or '(nothing editable)'}")]
    if name.endswith("_changelist"):
        changelist = next((f for f in forms if f.form_id == "changelist-form"), None)
        actions = [a for a in (changelist.options.get("action", []) if changelist else []) if a]
        if not actions:
            return [_Attempt(label, url, {}, "changelist, no action offered")]
        rows = re.findall(rf'name="{ACTION_CHECKBOX_NAME}" value="([^"]+)"', page.body)
        if not rows:
            return "actions offered but no row listed to select"
        confirmation = {"index": "0", ACTION_CHECKBOX_NAME: [rows[0]], "confirm": "yes", "note": _PROBE_NOTE}
        return [
            _Attempt(label, url, {"action": action, "post": "yes", **confirmation}, f"action {action}")
            for action in actions
        ]
    attempts = _flow_attempts(superuser, recorder, label, url, page.body)
    if not attempts:  # a delete page refused to the superuser too, or a page without a form: a bare confirmation
        body = {"post": "yes"} if name.endswith("_delete") else {}
        return [_Attempt(label, url, body, "POST, the page has no form")]
    return attempts


_FLOW_STEPS = 3


def _flow_attempts(superuser: Client, recorder: _Recorder, label: str, url: str, html: str) -> list[_Attempt]:
    """Each form the page posts to itself; the forms behind its links to itself with a query (``?feature=sso``: a
    flow's first step); and the forms the superuser's posts reveal (a preview's "Confirm"), up to a few steps."""
    path = urlsplit(url).path
    links = sorted(
        {
            unescape(href)
            for href in re.findall(r'href="([^"#]+)"', html)
            if urlsplit(unescape(href)).path == path and urlsplit(unescape(href)).query
        }
    )
    pages = [(url, html)] + [(link, recorder.send(superuser, "get", link).body) for link in links]
    attempts: list[_Attempt] = []
    seen: set[tuple[str, str]] = set()
    for step in range(_FLOW_STEPS):
        found = []
        for page_url, body in pages:
            for form in _own_forms(_post_forms(body), path):
                if (page_url, form.form_id) in seen:
                    continue
                seen.add((page_url, form.form_id))
                what = f"form {form.form_id or '(unnamed)'}" + (f", step {step + 1}" if step else "")
                found.append(_Attempt(label, page_url, _blanks_filled(form), what))
        attempts.extend(found)
        # the next step: what the superuser is shown after posting each form found
        pages = [(a.url, recorder.send(superuser, "post", a.url, a.data).body) for a in found]
    return attempts


def _explicitly_refused(outcome: _Outcome) -> bool:
    """403, the login page, or a warning or error saying no."""
    to_login = outcome.status == 302 and outcome.location.startswith(reverse("admin:login"))
    warned = any(level >= messages.WARNING for level, _ in outcome.messages)
    return outcome.status == 403 or to_login or warned


def _action_ignored(attempt: _Attempt, outcome: _Outcome) -> bool:
    """An action posted by someone offered no actions at all: Django does not run it and shows the list again, as
    for a GET (it answers 403 or "No action selected." only to people who are offered some other action)."""
    is_action = "action" in attempt.data and attempt.label.endswith("_changelist")
    return is_action and outcome.status == 200 and 'id="changelist-form"' in outcome.body


def test_support__every_admin_url_posted__refused_and_no_table_changes(
    demo: Client, support: Client, recorder: _Recorder
) -> None:
    # Given the demo data, a superuser and a Support staff member, and every admin URL filled from real rows
    attempts, unfilled, walked = _admin_attempts(demo, recorder)
    assert not unfilled, "admin patterns that could not be filled:\n" + "\n".join(unfilled)
    failures: list[str] = []
    superuser_writes = 0
    for attempt in attempts:
        # When the superuser and then Support post the same request
        as_superuser = recorder.send(demo, "post", attempt.url, attempt.data)
        as_support = recorder.send(support, "post", attempt.url, attempt.data)
        superuser_writes += as_superuser.wrote
        where = f"{attempt.label} {attempt.url} [{attempt.what}]"
        # Then Support's changes nothing, announces nothing, reports no success
        if as_support.wrote or as_support.succeeded_message or as_support.status >= 500:
            failures.append(f"{where}: Support {as_support.summary()}")
        # and is refused outright wherever the same request writes for a superuser, and on every add, change and
        # delete page (Django's own permission check answers 403 there)
        must_refuse = as_superuser.wrote or attempt.label.endswith(("_add", "_change", "_delete"))
        if must_refuse and not (_explicitly_refused(as_support) or _action_ignored(attempt, as_support)):
            failures.append(f"{where}: not refused ({as_support.summary()}; superuser {as_superuser.summary()})")
    assert not failures, "\n".join(failures)
    # The walk reached every registered model's pages, and its requests are real: a superuser's write
    expected = {
        f"admin:{m._meta.app_label}_{m._meta.model_name}_{page}"
        for m in admin.site._registry
        for page in ("changelist", "add", "change", "delete", "history")
    }
    assert expected <= walked, sorted(expected - walked)
    assert superuser_writes >= _MINIMUM_ADMIN_WRITES, f"only {superuser_writes} of {len(attempts)} attempts wrote"


# --- The API and the other routes ---------------------------------------------------------------------------------


# Path parameter → the rows it names, by the collection segment before it: the model, the field the parameter
# takes and, for nested collections, the field its parent parameter takes from the same row.
_API_COLLECTIONS: dict[str, tuple[Callable[[], Any], str, str | None]] = {
    "companies": (lambda: Company.objects.all(), "public_id", None),
    "features": (lambda: Feature.objects.all(), "key", None),
    "plans": (lambda: Plan.objects.all(), "key", None),
    "credit-types": (lambda: CreditType.objects.all(), "key", None),
    "credit-bundles": (lambda: CreditBundle.objects.all(), "key", None),
    "entitlements": (lambda: Entitlement.objects.all(), "feature__key", "plan__key"),
    "prices": (lambda: Price.objects.all(), "public_id", "plan__key"),
    "overrides": (lambda: CompanyOverride.objects.filter(state="active"), "feature__key", "company__public_id"),
}


def _api_path(template: str) -> str | None:
    """The schema path with its parameters filled from real rows (a nested one and its parent from one row)."""
    segments = template.strip("/").split("/")
    filled = list(segments)
    for index in reversed(range(len(segments))):
        if not segments[index].startswith("{") or filled[index] != segments[index]:
            continue
        collection = _API_COLLECTIONS.get(segments[index - 1])
        if collection is None:
            return None
        rows, own, parent = collection
        names = [own, parent] if parent else [own]
        row = rows().order_by("pk").values_list(*names).first()
        if row is None:
            return None
        filled[index] = str(row[0])
        if parent:
            filled[index - 2] = str(row[1])
    return "/" + "/".join(filled)


# Body properties that name a row: a real one's key.
_REAL_VALUES: dict[str, Callable[[], Any]] = {
    "feature": lambda: _first(Feature, "key"),
    "plan": lambda: _first(Plan, "key"),
    "credit_type": lambda: _first(CreditType, "key"),
    "currency": lambda: "usd",
}


def _example(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """A plausible value for a JSON schema: its required properties (else its first writable one), enums their
    first value, properties naming a row a real row's key."""
    if "$ref" in schema:
        return _example(components[schema["$ref"].rsplit("/", 1)[-1]], components, depth)
    for combined in ("allOf", "oneOf", "anyOf"):
        if combined in schema:
            return _example(schema[combined][0], components, depth)
    if "enum" in schema:
        return next((value for value in schema["enum"] if value not in (None, "")), None)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        chosen = schema.get("required") or [name for name, value in properties.items() if not value.get("readOnly")][:1]
        return {
            name: _REAL_VALUES[name]() if name in _REAL_VALUES else _example(properties[name], components, depth + 1)
            for name in chosen
            if name in properties and depth < 4
        }
    if kind == "array":
        return []
    if kind == "integer":
        return 1
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    if schema.get("format") == "decimal":
        return "5"
    if schema.get("format") == "date-time":
        return (timezone.now() + dt.timedelta(days=30)).isoformat()
    if schema.get("format") == "date":
        return (timezone.now() + dt.timedelta(days=30)).date().isoformat()
    return _PROBE_TEXT


def _api_body(operation: dict[str, Any], components: dict[str, Any]) -> Any:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return None if schema is None else _example(schema, components)


def _wrote_beyond_key_use(outcome: _Outcome) -> bool:
    """Whether a request with an API key wrote more than the key's own last-use time."""
    return bool(outcome.events or set(outcome.changed) - {ApiKey._meta.db_table})


@pytest.fixture
def key_client(demo: Client, api_secret: str) -> Client:
    return Client(headers={"X-Schematic-Api-Key": api_secret})


def test_support_session__every_api_write_operation__unauthenticated_and_no_table_changes(
    demo: Client, support: Client, key_client: Client, recorder: _Recorder
) -> None:
    # Given every write operation the OpenAPI schema lists, its path filled from real rows
    schema = json.loads(Client().get(reverse("api-schema"), {"format": "json"}).content)
    components = schema["components"]["schemas"]
    operations = [
        (template, method, item[method])
        for template, item in schema["paths"].items()
        for method in _WRITE_METHODS
        if method in item
    ]
    failures: list[str] = []
    key_writes = 0
    for template, method, operation in operations:
        path = _api_path(template)
        if path is None:
            failures.append(f"{method.upper()} {template}: cannot fill its parameters from the demo data")
            continue
        body = _api_body(operation, components)
        # When Support's session sends it, and an API key sends it
        as_support = recorder.send(support, method, path, body, as_json=True)
        with_key = recorder.send(key_client, method, path, body, as_json=True)
        key_writes += _wrote_beyond_key_use(with_key)
        where = f"{method.upper()} {path}"
        # Then the session is no credential: 401 (or 403), and nothing changed
        if as_support.status not in (401, 403) or as_support.wrote:
            failures.append(f"{where}: Support {as_support.summary()}")
        # while the path is real and open to a key: neither refused nor missing
        if with_key.status in (401, 403, 404, 405):
            failures.append(f"{where}: with an API key {with_key.summary()}")
    assert not failures, "\n".join(failures)
    assert len(operations) >= 20, operations  # the schema is the management API, not an empty document
    assert key_writes >= _MINIMUM_API_WRITES, f"only {key_writes} of {len(operations)} operations wrote with a key"


# Bodies for the SDK doors, as the SDKs send them; any other route is posted an empty JSON object.
_ROUTE_BODIES: dict[str, Any] = {
    "sdk-flags-check": {"company": {"external_id": "acme"}},
    "sdk-flag-check": {"company": {"external_id": "acme"}},
    "sdk-batch": {"events": [{"type": "track", "body": {"event": "generation", "company": {"external_id": "acme"}}}]},
}


def test_support_session__every_other_route_posted__refused_where_a_key_writes_and_no_table_changes(
    demo: Client, support: Client, key_client: Client, recorder: _Recorder
) -> None:
    # Given every route outside the admin and the API schema (the SDK doors, health, docs), filled from real rows
    schema_paths = set(json.loads(Client().get(reverse("api-schema"), {"format": "json"}).content)["paths"])
    failures: list[str] = []
    key_writes = tried = 0
    for pattern in _patterns():
        if _is_admin(pattern):
            continue
        if "/" + _ROUTE_PARAMETER.sub(lambda match: "{" + match["name"] + "}", pattern.route) in schema_paths:
            continue  # tried above, with each of its write methods
        arguments = _arguments(pattern)
        if isinstance(arguments, str):
            failures.append(f"{pattern.label}: {arguments}")
            continue
        for argument_set in arguments:
            url, body = _url(pattern, argument_set), _ROUTE_BODIES.get(pattern.label, {})
            tried += 1
            # When Support's session posts to it, and an API key does
            as_support = recorder.send(support, "post", url, body, as_json=True)
            with_key = recorder.send(key_client, "post", url, body, as_json=True)
            key_writes += _wrote_beyond_key_use(with_key)
            # Then Support changes nothing, and is refused wherever a key's request writes
            if as_support.wrote or as_support.status >= 500:
                failures.append(f"{pattern.label} {url}: Support {as_support.summary()}")
            if with_key.wrote and as_support.status not in (401, 403):
                failures.append(f"{pattern.label} {url}: not refused ({as_support.summary()})")
    assert not failures, "\n".join(failures)
    assert tried >= 3 and key_writes >= 1, (tried, key_writes)  # the SDK doors at least, and capture writes


# --- Account executives never delete a company ---------------------------------------------------------------------


def test_account_executive__every_company_delete_url_and_bulk_delete__refused_and_companies_stay(
    demo: Client, account_executive: Client, recorder: _Recorder
) -> None:
    # Given an account executive on the demo data, every company, and every company delete page the admin has
    companies = [str(pk) for pk in Company.objects.order_by("pk").values_list("pk", flat=True)]
    assert len(companies) >= 5
    delete_patterns = [p for p in _patterns() if p.model is Company and p.name.endswith("_delete")]
    assert delete_patterns
    failures: list[str] = []
    # When the account executive opens each company's delete page and posts its confirmation (as the superuser is
    # shown it: with a reason)
    for pattern, company in itertools.product(delete_patterns, companies):
        url = _url(pattern, {"object_id": company})
        page = recorder.send(demo, "get", url)
        assert page.status == 200, f"the superuser cannot open {url}: {page.summary()}"  # a real page
        confirmations = _own_forms(_post_forms(page.body), url)
        confirmation = _blanks_filled(confirmations[0]) if confirmations else {"post": ["yes"]}
        for method in ("get", "post"):
            outcome = recorder.send(account_executive, method, url, confirmation if method == "post" else None)
            if outcome.status != 403 or outcome.wrote:
                failures.append(f"{method.upper()} {url}: {outcome.summary()}")
        if confirmations:  # where the superuser may confirm, the same post deletes: the request is real
            assert "entitlements_company" in recorder.send(demo, "post", url, confirmation).changed, url
    # and posts every bulk delete on every company, ticked and "select across": Django's own, and any other the
    # superuser is offered
    changelist_url = reverse("admin:entitlements_company_changelist")
    offered = {
        action
        for form in _post_forms(recorder.send(demo, "get", changelist_url).body)
        if form.form_id == "changelist-form"
        for action in form.options.get("action", [])
    }
    changelist = account_executive.get(changelist_url).content.decode()
    for action in sorted({"delete_selected"} | {a for a in offered if "delete" in a}):
        assert f'value="{action}"' not in changelist, f"{action} is offered to account executives"
        for extra in ({}, {"select_across": "1"}):
            bulk: dict[str, Any] = {"action": action, "index": "0", ACTION_CHECKBOX_NAME: companies, "post": "yes"}
            bulk.update(extra)
            outcome = recorder.send(account_executive, "post", changelist_url, bulk)
            if outcome.wrote or outcome.succeeded_message or not _explicitly_refused(outcome):
                failures.append(f"{action} {extra}: {outcome.summary()}")
            if action in offered:  # the same post by a superuser deletes: the request is real
                assert "entitlements_company" in recorder.send(demo, "post", changelist_url, bulk).changed
    # Then every one is refused and every company is still there
    assert not failures, "\n".join(failures)
    assert [str(pk) for pk in Company.objects.order_by("pk").values_list("pk", flat=True)] == companies
