"""The one label table: every code the system writes has a Chinese label, and the feature
modules' label names are views of the table."""

from __future__ import annotations

import yaml

import knowledge
from core.applications.lifecycle import STAGE_LABELS
from core.kernel.labels import LABELS, label, labels, ticket_number
from core.loans.schedule import (
    EQUAL_INSTALLMENT,
    EQUAL_PRINCIPAL,
    METHOD_LABELS,
    QUARTERLY_INTEREST,
    SUBSIDY_KINDS,
    SUBSIDY_LABELS,
)
from core.loans.status import BUCKETS, STATUSES
from core.persistence.models import Stage
from core.reminders.ladder import ROLES
from core.staff import ROLE_LABELS
from core.staff.queries import NOTICE_KIND_LABELS, NOTICE_STATUSES
from server.cli_reminders import STATUS_LABELS as CLI_STATUS


def test_label_and_fallback() -> None:
    assert label("repayment_method", "equal_principal") == "等额本金"
    assert label("recipient", "counter_guarantor") == "反担保人"
    assert label("channel", "sms") == "短信"
    assert label("notice_status", "brand_new") == "brand_new"  # an unknown code shows itself
    assert label("stage", None) == ""
    assert ticket_number(12) == "工单号 12" and ticket_number(None) == ""


def test_feature_names_are_views_of_the_one_table() -> None:
    assert METHOD_LABELS is LABELS["repayment_method"]
    assert SUBSIDY_LABELS is LABELS["subsidy_kind"]
    assert STAGE_LABELS is labels("stage") and ROLE_LABELS is labels("role")
    assert NOTICE_KIND_LABELS is labels("notice_kind") and CLI_STATUS is labels("notice_status")


def test_every_code_has_a_label() -> None:
    assert set(METHOD_LABELS) == {EQUAL_PRINCIPAL, QUARTERLY_INTEREST, EQUAL_INSTALLMENT}
    assert set(SUBSIDY_LABELS) == set(SUBSIDY_KINDS)
    assert all(s.value in labels("stage") for s in Stage)
    assert all(s.value in labels("stage_short") for s in Stage)
    assert all(s in labels("installment_status") for s in STATUSES)
    assert all(s in labels("notice_status") for s in NOTICE_STATUSES)
    assert all(r in labels("recipient") for r in ROLES)
    assert [k for k, _, _ in BUCKETS] == list(labels("overdue_bucket"))
    for category in LABELS.values():
        for code, text in category.items():
            assert text and "_" not in text, code


def test_policy_ids_are_labelled_with_the_policy_names() -> None:
    folder = knowledge.PACKAGE_DIR / "policies"
    for path in folder.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "categories" in data:  # a loan policy (not the reminder ladder)
            assert label("policy", data["id"]) == data["name"]


def test_reminder_rules_are_labelled_with_the_default_ladder_titles() -> None:
    path = knowledge.PACKAGE_DIR / "policies" / "reminders-default.yaml"
    rules = yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]
    assert {r["id"]: r["title"] for r in rules} == dict(labels("reminder_rule"))
