"""The dashboard's forms: the staff login and the new interview."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm

from interviewer import bank
from interviewer.prompts import LANGUAGES
from interviews import selectors
from interviews.models import (
    DURATION_MAX_MINUTES,
    DURATION_MIN_MINUTES,
    EXTRA_TIME_MAX_S,
    EXTRA_TIME_MESSAGE,
)

MAX_QUESTIONS = 50
MAX_QUESTION_CHARS = 2000
NOT_STAFF = (
    "This dashboard is for staff. Your account is not a staff account: "
    "ask an administrator to give it staff access."
)


class StaffLoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That username and password do not match. Check them and try again.",
        "not_staff": NOT_STAFF,
    }

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise forms.ValidationError(self.error_messages["not_staff"], code="not_staff")


class BankChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        facts = " · ".join(x for x in (obj.category, obj.get_difficulty_display()) if x)
        return f"{obj.question_text} ({facts})" if facts else obj.question_text


def extra_time_field(**kwargs) -> forms.FloatField:
    """The accommodation, as the new-interview form and the interview's page take it."""
    return forms.FloatField(
        min_value=0,
        max_value=EXTRA_TIME_MAX_S,
        label="Extra time to answer (seconds)",
        error_messages={
            "invalid": EXTRA_TIME_MESSAGE,
            "min_value": EXTRA_TIME_MESSAGE,
            "max_value": EXTRA_TIME_MESSAGE,
            "required": EXTRA_TIME_MESSAGE,
        },
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
        **kwargs,
    )


class ExtraTimeForm(forms.Form):
    """The interview page's accommodation control."""

    extra_time_s = extra_time_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["extra_time_s"].widget.attrs["aria-describedby"] = "extra-time-help"


class NewInterviewForm(forms.Form):
    title = forms.CharField(max_length=200, label="Title")
    existing_student = forms.ModelChoiceField(
        queryset=selectors.student_list(),
        required=False,
        label="Candidate",
        empty_label="A new candidate (fill in the name and email below)",
    )
    student_name = forms.CharField(max_length=200, required=False, label="Candidate’s name")
    student_email = forms.EmailField(required=False, label="Candidate’s email")
    interviewer = forms.ModelChoiceField(
        queryset=selectors.interviewer_list(),
        required=False,
        label="Interviewer",
        empty_label="A new interviewer (fill in the name and email below)",
    )
    interviewer_name = forms.CharField(max_length=200, required=False, label="Interviewer’s name")
    interviewer_email = forms.EmailField(required=False, label="Interviewer’s email")
    duration_minutes = forms.IntegerField(
        min_value=DURATION_MIN_MINUTES,
        max_value=DURATION_MAX_MINUTES,
        initial=30,
        label="Duration (minutes)",
    )
    language = forms.ChoiceField(label="Language")
    extra_time_s = extra_time_field(required=False, initial=0)
    scheduled_at = forms.DateTimeField(
        required=False,
        label="Scheduled time (optional)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )
    job_description = forms.CharField(
        required=False,
        max_length=20_000,
        label="Job description",
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    questions = forms.CharField(
        required=False,
        label="Questions, one per line",
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    bank_questions = BankChoiceField(
        queryset=bank.bank_questions(),
        required=False,
        label="Questions from the question bank",
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        default = settings.RT.default_language
        choices = dict(LANGUAGES)
        choices.setdefault(default, default)
        self.fields["language"].choices = sorted(choices.items(), key=lambda item: item[1])
        self.fields["language"].initial = default

    def clean_questions(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["questions"].splitlines()]
        lines = [line for line in lines if line]
        too_long = [i + 1 for i, line in enumerate(lines) if len(line) > MAX_QUESTION_CHARS]
        if too_long:
            raise forms.ValidationError(
                f"Question {too_long[0]} is longer than {MAX_QUESTION_CHARS} characters."
            )
        return lines

    def clean(self):
        data = super().clean()
        if not data.get("existing_student"):
            self._require(
                "student_name", "student_email", "Enter the candidate’s {what}, or pick one."
            )
        if not data.get("interviewer"):
            self._require(
                "interviewer_name",
                "interviewer_email",
                "Enter the interviewer’s {what}, or pick one.",
            )
        count = len(data.get("questions") or []) + len(data.get("bank_questions") or [])
        if "questions" in data and count == 0:
            self.add_error(
                "questions",
                "Add at least one question: type it here, pick it from the bank, "
                "or draft questions from the job description.",
            )
        elif count > MAX_QUESTIONS:
            self.add_error("questions", f"At most {MAX_QUESTIONS} questions, please.")
        return data

    def _require(self, name_field: str, email_field: str, message: str) -> None:
        for field, what in ((name_field, "name"), (email_field, "email")):
            if field not in self.errors and not self.cleaned_data.get(field):
                self.add_error(field, message.format(what=what))


def mark_invalid_fields(form: forms.Form) -> None:
    """Screen readers hear which fields are wrong and why: aria-invalid and the
    error text's id on each field with an error (templates/dashboard/_field.html)."""
    for name in form.errors:
        if name in form.fields:
            attrs = form.fields[name].widget.attrs
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = f"id_{name}_error"
