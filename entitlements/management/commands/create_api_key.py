"""``python manage.py create_api_key NAME``: issue an API key; its secret is the last line of output."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.actors import Actor, ActorKind
from core.errors import DomainError
from entitlements.services.api_keys import api_key_create


class Command(BaseCommand):
    help = "Create an API key. The secret is printed once, alone on the last line; only its digest is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="What the key is for, e.g. 'production backend'.")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        try:
            issued = api_key_create(actor=Actor(kind=ActorKind.SYSTEM, label="create_api_key"), name=name)
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"Created API key '{issued.api_key.name}' ({issued.api_key.public_id}).")
        self.stdout.write("Store the secret now; it cannot be shown again:")
        self.stdout.write(issued.secret)
