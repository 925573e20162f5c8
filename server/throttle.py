"""Console login throttling by address, by network and by user name, with backoff.

- An address (IP) or its network (/24 for IPv4, /64 for IPv6) that keeps failing must wait
  before its next try: after `FREE_TRIES` failures in the window, 5 s, then 10 s, 20 s … up to
  15 minutes after its latest failure (networks get more free tries: offices share one).
- A user name with `USER_MAX_FAILURES` failures in the window is locked, but only for addresses
  that have failed in that window: the right password from an address that has not failed still
  logs in, so nobody can lock staff out by guessing their user name from elsewhere.
Failures are rows in `login_failure` (shared by every server process), pruned after a day.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from core.kernel.timeutil import utcnow
from core.persistence.models_staff import LoginFailureRow

WINDOW = timedelta(minutes=15)
FREE_TRIES = 5
NETWORK_FREE_TRIES = 20
USER_MAX_FAILURES = 5
FIRST_WAIT = 5.0
MAX_WAIT = WINDOW.total_seconds()


def network_of(ip: str) -> str:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def backoff_seconds(failures: int, free: int) -> float:
    """0 up to `free` failures, then 5 s doubling per further failure, at most 15 minutes."""
    if failures < free:
        return 0.0
    return min(FIRST_WAIT * 2 ** (failures - free), MAX_WAIT)


@dataclass(frozen=True)
class Verdict:
    wait_seconds: int  # > 0: refuse without checking the password
    user_locked: bool  # the user name is locked for this address


def _failures(s: Session, where: sa.ColumnElement[bool]) -> tuple[int, object]:
    since = utcnow() - WINDOW
    count, latest = s.exec(
        select(func.count(), func.max(LoginFailureRow.at)).where(
            where, col(LoginFailureRow.at) >= since
        )
    ).one()
    return int(count), latest


def check(s: Session, username: str, ip: str) -> Verdict:
    now = utcnow()
    wait = 0.0
    by_ip, ip_latest = _failures(s, col(LoginFailureRow.ip) == ip)
    by_net, net_latest = _failures(s, col(LoginFailureRow.network) == network_of(ip))
    for count, latest, free in ((by_ip, ip_latest, FREE_TRIES), (by_net, net_latest,
                                                                 NETWORK_FREE_TRIES)):  # fmt: skip
        delay = backoff_seconds(count, free)
        if delay and latest is not None:
            elapsed = (now - latest).total_seconds()  # type: ignore[operator]
            wait = max(wait, delay - elapsed)
    by_user, _ = _failures(s, col(LoginFailureRow.username) == username)
    locked = by_user >= USER_MAX_FAILURES and by_ip > 0
    return Verdict(wait_seconds=int(wait + 0.999), user_locked=locked)


def record_failure(s: Session, username: str, ip: str) -> None:
    s.add(LoginFailureRow(username=username[:64], ip=ip[:64], network=network_of(ip)))


def prune(s: Session) -> None:
    s.execute(sa.delete(LoginFailureRow).where(col(LoginFailureRow.at) < utcnow() - timedelta(1)))
