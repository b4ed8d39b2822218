"""Put the tenant together: users, travel, stories, then the merged stream of records."""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from synth.activity import Ambient
from synth.audits import audit_lookalikes, audit_stories
from synth.familiar import familiarity_lookalikes
from synth.kit import Kit
from synth.lookalikes import failure_lookalikes, travel_lookalikes
from synth.shapes import graph_risky_user, iso
from synth.stories import failure_stories, seed_rule_stories, travel_stories
from synth.techniques import technique_lookalikes, technique_stories
from synth.tenant import DAY, User, build_users, plan_trips

MIN_STORY_DAYS = 9  # unfamiliar_country needs 7 days of history before its story
MIN_STORY_USERS = 45  # the lockout story alone locks 22 users


@dataclass(frozen=True)
class Config:
    users: int
    days: int
    seed: int
    start: float  # epoch seconds, UTC
    per_day: float = 10.0  # mean sign-ins per user per working day
    stories: bool = True


@dataclass
class Tenant:
    """A planned tenant. ``records()`` streams it; labels are known before streaming."""

    config: Config
    users: list[User]
    labels: list[dict[str, Any]] = field(default_factory=list)
    story_items: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    story_risky: list[dict[str, Any]] = field(default_factory=list)

    def records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(kind, Graph record) in time order; riskyUsers (current state) come last."""
        c = self.config
        end = c.start + c.days * DAY
        ambient = Ambient(random.Random(f"{c.seed}:activity"), self.users, c.start, end,  # noqa: S311
                          c.per_day)  # fmt: skip
        for _, kind, record in heapq.merge(ambient, self.story_items, key=lambda i: i[0]):
            yield kind, record
        by_story = {r["id"] for r in self.story_risky}
        risky = list(self.story_risky)
        for index, state in sorted(ambient.risky.items()):
            user = self.users[index]
            if user.user_id in by_story:
                continue
            risky.append(graph_risky_user(
                id=user.user_id, isDeleted=False, isProcessing=False,
                riskLastUpdatedDateTime=iso(state.t), riskLevel="none", riskState=state.state,
                riskDetail=state.detail, userDisplayName=user.display_name,
                userPrincipalName=user.upn,
            ))  # fmt: skip
        for record in sorted(risky, key=lambda r: (r["riskLastUpdatedDateTime"], r["id"])):
            yield "riskyUser", record


def plan(config: Config) -> Tenant:
    if config.users < 1 or config.days < 1:
        raise ValueError("--users and --days must be at least 1")
    if config.stories and config.days < MIN_STORY_DAYS:
        raise ValueError(f"stories need at least {MIN_STORY_DAYS} days (or --no-stories)")
    if config.stories and config.users < MIN_STORY_USERS:
        raise ValueError(f"stories need at least {MIN_STORY_USERS} users (or --no-stories)")
    rng = random.Random(config.seed)  # noqa: S311 - reproducible synthetic data, not secrets
    users = build_users(rng, config.users, config.start)
    plan_trips(rng, users, config.start, config.days)
    tenant = Tenant(config, users)
    if config.stories:
        kit = Kit(random.Random(f"{config.seed}:stories"), users, config.start, config.days)  # noqa: S311
        for write in (seed_rule_stories, travel_stories, failure_stories, travel_lookalikes,
                      failure_lookalikes, technique_stories, technique_lookalikes,
                      audit_stories, audit_lookalikes, familiarity_lookalikes):  # fmt: skip
            write(kit)
        tenant.labels = kit.labels
        tenant.story_items = sorted(kit.items, key=lambda i: i[0])
        tenant.story_risky = kit.risky_users
    return tenant
