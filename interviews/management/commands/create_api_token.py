from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Print (creating if needed) the API token of a staff user."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user {username!r}; create one with createsuperuser.") from exc
        if not user.is_staff:
            raise CommandError(f"{username!r} is not staff; the API accepts staff users only.")
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
