"""Delete recorded answers older than the retention period; suited to cron."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from interviews import erasure


class Command(BaseCommand):
    help = (
        "Delete the recorded audio of answers older than RT_RECORDING_RETENTION_DAYS "
        "(or --days); the transcripts stay. Safe to run repeatedly."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, help="Keep this many days instead of the setting's value."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )

    def handle(self, *args, days: int | None, dry_run: bool, **options):
        if days is None:
            days = settings.RT.recording_retention_days
            if not days:
                self.stdout.write(
                    "Recordings are kept forever (RT_RECORDING_RETENTION_DAYS is 0); "
                    "nothing deleted. Set it, or pass --days N."
                )
                return
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        result = erasure.purge_recordings(older_than_days=days, dry_run=dry_run)
        cutoff = f"{result.cutoff:%Y-%m-%d %H:%M %Z}"
        if dry_run:
            self.stdout.write(
                f"Would delete {result.recordings} recording(s) from before {cutoff} (dry run)."
            )
        else:
            self.stdout.write(f"Deleted {result.recordings} recording(s) from before {cutoff}.")
