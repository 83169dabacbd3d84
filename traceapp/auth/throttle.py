"""Throttling failed logins, per account and per client, counted from the login log.

The counts live in the database, not in per-process memory: every gunicorn worker and every app
server of a deployment shares the database, so the limit holds however many of them answer. The
alternative, Flask-Limiter, shares its counts only through Redis or Memcached, which this project
does not otherwise run; and the login log the admin reads is the very record the throttle needs.

A try is written (``pending``) and committed before it is counted, and the count includes the
others' pending tries: of tries racing in several workers, the k-th to commit sees at least k-1
others, so no more than the limit get their password checked however many arrive at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from traceapp import clock
from traceapp.auth.models import LoginEvent
from traceapp.errors import TooManyRequests
from traceapp.i18n import ngettext

# Outcomes the limits count: a pending try may yet fail (or was cut off before it was checked).
# Refused (``throttled``) tries are not counted, so hammering a locked account does not extend its lock.
COUNTED = ("pending", "failure")


@dataclass(frozen=True)
class LoginPolicy:
    """How many failed tries are allowed within ``window``: per account (the name tried; a
    successful login starts its count again) and per client (over all names; a success does not
    reset it, else one account of one's own would reset the count between guesses)."""

    account_limit: int = 5
    client_limit: int = 20
    window: timedelta = timedelta(minutes=15)

    @classmethod
    def from_config(cls, config: Mapping) -> LoginPolicy:
        """Return the policy set by ``LOGIN_ACCOUNT_LIMIT``, ``LOGIN_CLIENT_LIMIT`` and
        ``LOGIN_WINDOW`` (seconds), each defaulting to this class's value."""
        default = cls()
        return cls(account_limit=int(config.get("LOGIN_ACCOUNT_LIMIT", default.account_limit)),
                   client_limit=int(config.get("LOGIN_CLIENT_LIMIT", default.client_limit)),
                   window=timedelta(seconds=int(config.get("LOGIN_WINDOW", default.window.total_seconds()))))


class LoginThrottled(TooManyRequests):
    """Too many failed logins for this account or from this client; ``until`` (naive UTC) is when
    the next try will be heard."""

    code = "login_throttled"

    def __init__(self, until: datetime, now: datetime):
        retry_after = max(1, math.ceil((until - now).total_seconds()))
        super().__init__(ngettext("登录失败次数过多，请在 %(num)d 分钟后（%(time)s 之后）再试；"
                                  "如果忘记了密码，请联系管理员重设。",
                                  "登录失败次数过多，请在 %(num)d 分钟后（%(time)s 之后）再试；"
                                  "如果忘记了密码，请联系管理员重设。",
                                  math.ceil(retry_after / 60), time=local_time(until)),
                         retry_after=retry_after)
        self.until = until


def check(session: Session, event: LoginEvent, policy: LoginPolicy, now: datetime) -> None:
    """Raise LoginThrottled when, not counting ``event`` itself, the tries counted against its
    account or its client within the window already reach their limit."""
    since = now - policy.window
    last_success = session.execute(
        select(func.max(LoginEvent.id)).where(LoginEvent.username == event.username, LoginEvent.at >= since,
                                              LoginEvent.outcome == "success")).scalar()
    account = LoginEvent.username == event.username
    if last_success is not None:
        account = account & (LoginEvent.id > last_success)
    until = [moment for moment in (_lifted_at(session, account, event, policy.account_limit, since, policy),
                                   _lifted_at(session, LoginEvent.client == event.client, event,
                                              policy.client_limit, since, policy))
             if moment is not None and moment > now]
    if until:
        raise LoginThrottled(max(until), now)


def _lifted_at(session: Session, which: ColumnElement[bool], event: LoginEvent, limit: int, since: datetime,
               policy: LoginPolicy) -> datetime | None:
    """Return when fewer than ``limit`` counted tries will be left in the window (the limit-th
    most recent leaves it), or None when there are fewer already."""
    recent = session.execute(
        select(LoginEvent.at).where(which, LoginEvent.at >= since, LoginEvent.outcome.in_(COUNTED),
                                    LoginEvent.id != event.id)
        .order_by(LoginEvent.at.desc()).limit(limit)).scalars().all()
    return recent[limit - 1] + policy.window if len(recent) >= limit else None


def local_time(moment: datetime) -> str:
    """Return naive-UTC ``moment`` as people read it: ``YYYY-MM-DD HH:MM (UTC+8)`` in the deployment's zone."""
    return clock.local_time(moment)
