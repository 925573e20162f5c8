"""The reminder ladder: which notices are due on a day for an instalment (pure, no I/O but YAML).

The ladder is policy data (knowledge/policies/reminders-*.yaml): before-due reminders, the due-day
reminder, a maturity reminder before the last instalment and the overdue escalation of the Yichun
逾期代偿责任制 (宜春调研报告 二(四): 《逾期贷款催收通知书》 to the borrower and every counter-guarantor,
wage deduction through the counter-guarantor's payroll unit one month later).

A rule fires `offset` days from the due date (calendar or working days), or — with `after:` — a
number of months after a notice of an earlier rule was *actually sent* to the same person (the
wage-deduction notice, one month after the 《逾期贷款催收通知书》 went out; never when none went
out). A rule with `requires:` fires only once a notice of the required rule exists for the
instalment, at least `gap_days` earlier; when none exists (a loan imported already overdue) the
required rule is sent instead, so the first overdue message is always the first notice.

Wage deduction applies only where the deployment enables it (`wage_deduction: true`, on in the
宜春-style default ladder) and only to a counter-guarantor with a recorded payroll employer
(工资发放单位); every other recipient gets the rule's `contract:` templates (反担保合同 wording).

If the sweep missed a rule's day, the rule is caught up on later days while it is still
meaningful:

- for at most `catch_up_days` days after it fired;
- a before-due rule never on or after the due date, the due-day rule only on the due day;
- within a `group`, a later rule that has already fired replaces an earlier missed one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import yaml

from core.kernel.quiet_hours import parse_hhmm
from core.kernel.timeutil import SHANGHAI

DEFAULT_POLICY_DIR = Path(__file__).resolve().parents[2] / "knowledge" / "policies"
DEFAULT_POLICY = "reminders-default"

ROLES = ("borrower", "counter_guarantor", "employer")
KINDS = ("reminder", "overdue")
UNITS = ("calendar", "workdays")


class ReminderPolicyError(ValueError):
    """A reminder policy file that cannot be used."""


class WorkdayCalendar(Protocol):
    """What the ladder needs of core.kernel.workdays.WorkCalendar."""

    def is_workday(self, d: date) -> bool: ...

    def add_workdays(self, d: date, n: int) -> date: ...


@dataclass(frozen=True)
class LadderRule:
    """One step of the ladder."""

    id: str
    kind: str  # reminder | overdue
    offset: int  # days from the due date; negative = before
    unit: str  # calendar | workdays
    recipients: tuple[tuple[str, str], ...]  # (role, template name)
    title: str = ""
    group: str | None = None
    catch_up_days: int = 0
    also_sms: bool = False
    only_last: bool = False
    source: str = ""
    # (role, template) used where wage deduction does not apply (反担保合同 wording); roles
    # missing here are not sent anything in that case (the employer).
    contract_recipients: tuple[tuple[str, str], ...] = ()
    after_rule: str | None = None  # fires `after_months` after that rule's notice was sent
    after_months: int = 0
    requires: str | None = None  # fires only after a notice of this rule, `gap_days` earlier
    gap_days: int = 0

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(role for role, _ in self.recipients)

    def template_for(self, role: str, wage: bool = True) -> str | None:
        """The template for `role`; `wage=False` picks the 反担保合同 variant (None: no notice)."""
        if not wage and self.contract_recipients:
            return dict(self.contract_recipients).get(role)
        for r, template in self.recipients:
            if r == role:
                return template
        raise KeyError(role)


@dataclass(frozen=True)
class ReminderPolicy:
    name: str
    title: str
    rules: tuple[LadderRule, ...]
    sweep_at: time = time(7, 0)
    sources: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    wage_deduction: bool = False  # 宜春 二(四) wage deduction enabled in this deployment

    @property
    def dated_rules(self) -> tuple[LadderRule, ...]:
        """The rules that fire at an offset from the due date (not `after:` rules)."""
        return tuple(r for r in self.rules if r.after_rule is None)

    def rule(self, rule_id: str) -> LadderRule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


@dataclass(frozen=True)
class DueRule:
    """A rule due on a given day for one instalment."""

    rule: LadderRule
    fires_on: date  # the day the rule fires (its scheduled day)
    last_day: date  # the last day it may still be sent (catch-up limit)


# --- loading ---------------------------------------------------------------------------------


def _parse_time(value: Any, what: str) -> time:
    try:
        return parse_hhmm(value, what)
    except ValueError as exc:
        raise ReminderPolicyError(str(exc)) from exc


def parse_reminder_policy(data: Mapping[str, Any], name: str = DEFAULT_POLICY) -> ReminderPolicy:
    """Validate a reminder policy document (the YAML as a mapping)."""
    if data.get("type") not in (None, "reminders"):
        raise ReminderPolicyError(f"{name}: not a reminder policy (type={data.get('type')!r})")
    sources = {str(k): str(v) for k, v in (data.get("sources") or {}).items()}
    rules: list[LadderRule] = []
    seen: set[str] = set()
    for i, spec in enumerate(data.get("rules") or []):
        where = f"{name}: rule #{i + 1}"
        try:
            rule_id = str(spec["id"])
            kind = str(spec["kind"])
            after = spec.get("after") or {}
            offset = int(spec["offset"]) if not after else 0
            unit = str(spec.get("unit", "calendar"))
            recipients_spec = spec["recipients"]
            contract_spec = spec.get("contract") or {}
            after_rule = str(after["rule"]) if after else None
            after_months = int(after.get("months", 1)) if after else 0
            requires = spec.get("requires") or {}
            gap_days = int(requires.get("gap_days", 0)) if requires else 0
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ReminderPolicyError(f"{where}: {exc!r}") from exc
        for ref in (after_rule, requires.get("rule") if requires else None):
            if ref is not None and ref not in seen:
                raise ReminderPolicyError(f"{where}: {ref} must be an earlier rule of the ladder")
        if after and after_months < 1:
            raise ReminderPolicyError(f"{where}: after.months must be ≥ 1")
        if rule_id in seen:
            raise ReminderPolicyError(f"{where}: duplicate id {rule_id}")
        seen.add(rule_id)
        if kind not in KINDS:
            raise ReminderPolicyError(f"{where}: kind must be one of {KINDS}")
        if unit not in UNITS:
            raise ReminderPolicyError(f"{where}: unit must be one of {UNITS}")
        if not isinstance(recipients_spec, Mapping) or not recipients_spec:
            raise ReminderPolicyError(f"{where}: recipients must map roles to templates")
        recipients = tuple((str(role), str(tpl)) for role, tpl in recipients_spec.items())
        for role, _ in recipients:
            if role not in ROLES:
                raise ReminderPolicyError(f"{where}: unknown recipient role {role}")
        catch_up = int(spec.get("catch_up_days", 0))
        if catch_up < 0:
            raise ReminderPolicyError(f"{where}: catch_up_days must be ≥ 0")
        if kind == "reminder" and offset > 0:
            raise ReminderPolicyError(f"{where}: a reminder fires on or before the due date")
        if kind == "overdue" and offset <= 0 and not after:
            raise ReminderPolicyError(f"{where}: an overdue notice fires after the due date")
        if not isinstance(contract_spec, Mapping):
            raise ReminderPolicyError(f"{where}: contract must map roles to templates")
        contract = tuple((str(role), str(tpl)) for role, tpl in contract_spec.items())
        for role, _ in contract:
            if role not in ROLES:
                raise ReminderPolicyError(f"{where}: unknown recipient role {role}")
        source = str(spec.get("source", ""))
        rules.append(
            LadderRule(
                id=rule_id,
                kind=kind,
                offset=offset,
                unit=unit,
                recipients=recipients,
                title=str(spec.get("title", rule_id)),
                group=str(spec["group"]) if spec.get("group") else None,
                catch_up_days=catch_up,
                also_sms=bool(spec.get("also_sms", False)),
                only_last=bool(spec.get("only_last", False)),
                source=sources.get(source, source),
                contract_recipients=contract,
                after_rule=after_rule,
                after_months=after_months,
                requires=str(requires["rule"]) if requires else None,
                gap_days=gap_days,
            )
        )
    if not rules:
        raise ReminderPolicyError(f"{name}: no rules")
    return ReminderPolicy(
        name=str(data.get("name", name)),
        title=str(data.get("title", name)),
        rules=tuple(rules),
        sweep_at=_parse_time(data.get("sweep_at", "07:00"), f"{name}: sweep_at"),
        sources=sources,
        wage_deduction=bool(data.get("wage_deduction", False)),
    )


@lru_cache(maxsize=8)
def load_reminder_policy(
    name: str = DEFAULT_POLICY, folder: Path = DEFAULT_POLICY_DIR
) -> ReminderPolicy:
    """Load knowledge/policies/<name>.yaml."""
    path = folder / f"{name}.yaml"
    if not path.is_file():
        raise ReminderPolicyError(f"reminder policy {name} not found in {folder}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return parse_reminder_policy(data, name)


# --- the ladder ------------------------------------------------------------------------------


def fires_on(rule: LadderRule, due_on: date, calendar: WorkdayCalendar) -> date:
    """The day the rule fires for an instalment due on `due_on`."""
    if rule.offset == 0:
        return due_on
    if rule.unit == "workdays":
        return calendar.add_workdays(due_on, rule.offset)
    return due_on + timedelta(days=rule.offset)


def last_day(rule: LadderRule, due_on: date, calendar: WorkdayCalendar) -> date:
    """The last day a missed rule may still be sent."""
    end = fires_on(rule, due_on, calendar) + timedelta(days=rule.catch_up_days)
    if rule.offset < 0:
        end = min(end, due_on - timedelta(days=1))
    elif rule.offset == 0:
        end = due_on
    return end


def rules_due(
    policy: ReminderPolicy,
    due_on: date,
    today: date,
    calendar: WorkdayCalendar,
    *,
    is_last: bool = False,
) -> list[DueRule]:
    """The rules of the ladder due on `today` for an unpaid instalment due on `due_on`."""
    fired: list[tuple[LadderRule, date]] = []
    for rule in policy.dated_rules:
        if rule.only_last and not is_last:
            continue
        day = fires_on(rule, due_on, calendar)
        if day <= today:
            fired.append((rule, day))
    # Within a group only the rule that fired last is still meaningful.
    latest: dict[str, tuple[date, int]] = {}
    for rule, day in fired:
        if rule.group is not None:
            current = latest.get(rule.group)
            if current is None or (day, rule.offset) > current:
                latest[rule.group] = (day, rule.offset)
    out: list[DueRule] = []
    for rule, day in fired:
        if rule.group is not None and latest[rule.group] != (day, rule.offset):
            continue
        end = last_day(rule, due_on, calendar)
        if today <= end:
            out.append(DueRule(rule=rule, fires_on=day, last_day=end))
    return out


@lru_cache(maxsize=64)
def _due_dates_cached(
    policy: ReminderPolicy, today: date, calendar: WorkdayCalendar
) -> tuple[date, ...]:
    span = max(abs(r.offset) for r in policy.dated_rules)
    span = span * 2 + max(r.catch_up_days for r in policy.dated_rules) + 30
    out = []
    for delta in range(-span, span + 1):
        due_on = today + timedelta(days=delta)
        if rules_due(policy, due_on, today, calendar, is_last=True):
            out.append(due_on)
    return tuple(out)


def due_dates_in_play(
    policy: ReminderPolicy, today: date, calendar: WorkdayCalendar
) -> tuple[date, ...]:
    """Every due date for which some rule (last-instalment rules included) is due on `today`.

    The sweep reads only the unpaid instalments due on these dates (index (paid, due_on)), so its
    cost grows with what is due, not with the number of loans."""
    return _due_dates_cached(policy, today, calendar)  # type: ignore[arg-type]


def validate_order(
    policy: ReminderPolicy, calendar: WorkdayCalendar, due_dates: Iterable[date]
) -> list[str]:
    """Problems where an overdue step would fire before an earlier one (e.g. calendar vs working days
    around a long holiday). Used by the policy check and the tests."""
    problems = []
    overdue = sorted((r for r in policy.dated_rules if r.kind == "overdue"), key=lambda r: r.offset)
    for due_on in due_dates:
        days = [fires_on(r, due_on, calendar) for r in overdue]
        for a, b, ra, rb in zip(days, days[1:], overdue, overdue[1:], strict=False):
            if b < a:
                problems.append(f"{due_on}: {rb.id} ({b}) fires before {ra.id} ({a})")
    return problems


def local_day_start(day: date) -> datetime:
    """Midnight of a local (Asia/Shanghai) day, as aware UTC."""
    return datetime.combine(day, time(0, 0), tzinfo=SHANGHAI).astimezone(UTC)


def local_day_end(day: date) -> datetime:
    """The last moment of a local day (the next midnight), as aware UTC."""
    return local_day_start(day + timedelta(days=1))


def mask_loan_no(loan_no: str) -> str:
    """'LZ2026-0001' -> '****0001' (notices never carry the full loan number)."""
    tail = loan_no[-4:] if len(loan_no) > 4 else loan_no[-2:]
    return "****" + tail
