"""A ready demo: staff user with token, interviewer, candidate, session, questions."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from interviews import selectors, services
from interviews.models import Interviewer, InterviewSession, Student

DEMO_QUESTIONS = [
    ("Tell me about yourself.", "Introduction", "easy", ""),
    (
        "Describe a project you are proud of and your part in it.",
        "Behavioral",
        "medium",
        "Concrete project, own contribution, outcome and what was learned.",
    ),
    (
        "How would you design a service that transcribes live audio for many users?",
        "System design",
        "hard",
        "Streaming, back-pressure, a pool of decoders, horizontal scaling.",
    ),
]


class Command(BaseCommand):
    help = "Create a demo staff user (with API token), interviewer, candidate and session."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="admin")

    @transaction.atomic
    def handle(self, *args, username: str, password: str, **options):
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(password)
            user.save()
        elif not user.is_staff:
            raise CommandError(
                f"User {username!r} exists and is not staff; the API would refuse its token. "
                "Pass --username for another user."
            )
        token, _ = Token.objects.get_or_create(user=user)
        interviewer = Interviewer.objects.filter(email="interviewer@example.com").first() or (
            services.create_interviewer(
                name="Demo Interviewer", email="interviewer@example.com", user=user
            )
        )
        student = Student.objects.filter(email="candidate@example.com").first() or (
            services.create_student(name="Jane Candidate", email="candidate@example.com")
        )
        session = InterviewSession.objects.filter(
            student=student, status=InterviewSession.Status.SCHEDULED
        ).first()
        if session is None:
            session = services.create_session(
                interviewer=interviewer,
                student=student,
                title="Software Engineer Interview",
                description="Backend engineer, real-time systems.",
                duration_minutes=30,
            )
            services.bulk_create_questions(
                items=[
                    {
                        "session": session,
                        "question_text": q,
                        "category": c,
                        "difficulty": d,
                        "order": i,
                        "expected_answer": e,
                    }
                    for i, (q, c, d, e) in enumerate(DEMO_QUESTIONS, start=1)
                ]
            )
        w = self.stdout.write
        w(self.style.SUCCESS("Demo ready."))
        w(f"  staff login:   {username} / {'(unchanged)' if not created else password}")
        w(f"  API token:     {token.key}")
        w(f"  session:       {session.pk} ({session.session_id})")
        w(f"  candidate:     {selectors.join_url(session)}")
        w(f"  dashboard:     {selectors.dashboard_url()}")
        w(f"  live view:     {selectors.dashboard_url(session)}")
        w(f"  API docs:      {selectors.dashboard_url().replace('/dashboard/', '/api/docs/')}")
