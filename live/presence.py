"""Who is connected to a session, across processes.

Each socket keeps a LiveConnection row and refreshes `last_seen` every
HEARTBEAT_S; rows older than STALE_S (a crashed process's) are not counted.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from interviews.models import InterviewSession

from .models import LiveConnection

HEARTBEAT_S = 10
STALE_S = 3 * HEARTBEAT_S


@transaction.atomic
def join(*, session: InterviewSession, channel_name: str, role: str) -> dict:
    LiveConnection.objects.update_or_create(
        channel_name=channel_name,
        defaults={"session": session, "role": role, "last_seen": timezone.now()},
    )
    return counts(session)


@transaction.atomic
def leave(*, session: InterviewSession, channel_name: str) -> dict:
    LiveConnection.objects.filter(channel_name=channel_name).delete()
    return counts(session)


def joined_after(*, channel_name: str, other: str) -> bool:
    """Did `channel_name`'s connection join after `other`'s? Rows are made on
    join, so their ids are in join order, across processes. False if
    `channel_name` has left already."""
    ids = dict(
        LiveConnection.objects.filter(channel_name__in=[channel_name, other]).values_list(
            "channel_name", "pk"
        )
    )
    return channel_name in ids and ids[channel_name] > ids.get(other, 0)


def heartbeat(*, channel_name: str) -> None:
    LiveConnection.objects.filter(channel_name=channel_name).update(last_seen=timezone.now())


def counts(session: InterviewSession) -> dict:
    fresh = LiveConnection.objects.filter(
        session=session, last_seen__gte=timezone.now() - timedelta(seconds=STALE_S)
    )
    return {
        "candidate": fresh.filter(role=LiveConnection.Role.CANDIDATE).exists(),
        "observers": fresh.filter(role=LiveConnection.Role.OBSERVER).count(),
    }
