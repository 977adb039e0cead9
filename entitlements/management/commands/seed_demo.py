"""``python manage.py seed_demo``: demo catalog and customers, and an admin login. Idempotent."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.errors import DomainError
from entitlements.demo.seed import PASSWORD_FILE_NAME, demo_admin_ensure, demo_seed


class Command(BaseCommand):
    help = (
        "Create a demo catalog for an AI writing product, six customers on different plans, and an admin "
        "superuser (DEMO_ADMIN_USERNAME, default 'admin'; password from DEMO_ADMIN_PASSWORD or generated "
        "once into "
        f"{PASSWORD_FILE_NAME}). Running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-admin", action="store_true", help="Do not create or touch the admin user.")
        parser.add_argument(
            "--base-url", default="http://127.0.0.1:8000", help="Where the server will listen, for the printed links."
        )

    def handle(
        self, *args: Any, no_admin: bool = False, base_url: str = "http://127.0.0.1:8000", **options: Any
    ) -> None:
        base_url = base_url.rstrip("/")
        try:
            summary = demo_seed(now=timezone.now())
        except DomainError as error:
            raise CommandError(f"{error.message} {error.fields or ''}".strip()) from error
        for line in summary.lines():
            self.stdout.write(f"  {line}")
        if not summary.created_count:
            self.stdout.write("Demo data was already present; nothing changed.")

        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo ready."))
        self.stdout.write(f"  Admin:    {base_url}/admin/")
        if not no_admin:
            password_file = Path(settings.BASE_DIR) / PASSWORD_FILE_NAME
            credentials = demo_admin_ensure(
                username=os.environ.get("DEMO_ADMIN_USERNAME") or "admin",
                env_password=os.environ.get("DEMO_ADMIN_PASSWORD") or None,
                password_file=password_file,
            )
            origin = {"env": "from DEMO_ADMIN_PASSWORD", "file": f"kept in {password_file}"}.get(
                credentials.source, f"generated, saved to {password_file}"
            )
            created = " (created)" if credentials.user_created else ""
            self.stdout.write(f"  Username: {credentials.username}{created}")
            self.stdout.write(f"  Password: {credentials.password}  ({origin})")
        self.stdout.write(f"  API docs: {base_url}/api/docs/")
