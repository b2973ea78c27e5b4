"""Erase a candidate's data from the command line (interviews/erasure.py)."""

from django.core.management.base import BaseCommand, CommandError

from interviews import erasure
from interviews.exceptions import DomainError
from interviews.models import Student


class Command(BaseCommand):
    help = (
        "Erase a candidate's personal data, answers, recordings, notes and reports; "
        "their interviews and decisions stay, anonymised."
    )

    def add_arguments(self, parser):
        parser.add_argument("student_id", type=int, help="The candidate's id (GET /api/students/).")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args, student_id: int, yes: bool, **options):
        student = Student.objects.filter(pk=student_id).first()
        if student is None:
            raise CommandError(f"No candidate {student_id}.")
        interviews = student.sessions.count()
        if not yes:
            self.stdout.write(
                f"This erases the data of {student.name} <{student.email}> "
                f"({interviews} interview(s)). It cannot be undone."
            )
            if input("Type yes to erase: ").strip().lower() != "yes":
                raise CommandError("Not erased.")
        try:
            record = erasure.erase_student(student=student)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"Erased candidate {student_id} (erasure #{record.pk}); their interviews now name "
            f"{record.placeholder.name} (candidate {record.placeholder.pk}). Removed:"
        )
        for kind, count in record.removed.items():
            self.stdout.write(f"  {kind.replace('_', ' ')}: {count}")
