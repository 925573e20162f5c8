"""The import report: what an import did, its row errors in Chinese, one-line summary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.loans.importing.limits import cap_errors
from core.persistence.models import AuditEventRow


@dataclass(frozen=True)
class RowError:
    """A problem in one file, row (as the spreadsheet shows it, header = 1) and column."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" 第{self.row}行"
        if self.column:
            where += f" {self.column}"
        return f"{where}：{self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": str(self)}


@dataclass
class ImportReport:
    """What an import did. `imported` is False when errors stopped it (nothing was written)."""

    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    installments_created: int = 0
    payments_applied: int = 0
    installments_settled: int = 0
    landline_phones: int = 0  # fixed-line numbers stored: shown to staff, never sent SMS
    default_base_rate: Decimal | None = None  # the policy's benchmark rate, when one was used
    default_base_rate_rows: int = 0
    imported: bool = False
    more_errors: int = 0  # errors beyond the ones listed (see cap_errors)
    # instalments a payments import paid off (their queued notices are cancelled by the caller)
    paid_installment_ids: list[int] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "errors": len(self.errors) - (1 if self.more_errors else 0) + self.more_errors,
            "installments_created": self.installments_created,
            "payments_applied": self.payments_applied,
            "installments_settled": self.installments_settled,
            "landline_phones": self.landline_phones,
            "default_base_rate_rows": self.default_base_rate_rows,
        }

    def to_dict(self) -> dict[str, Any]:
        counts = self.counts()
        counts["error_count"] = counts.pop("errors")
        return {
            "kind": self.kind,
            "imported": self.imported,
            **counts,
            "errors": [e.to_dict() for e in self.errors],
            "warnings": [w.to_dict() for w in self.warnings],
            "default_base_rate": (
                str(self.default_base_rate)
                if self.default_base_rate is not None and self.default_base_rate_rows
                else None
            ),
        }

    def cap_errors(self) -> None:
        """List the first 200 errors and a last line "…及另外 N 处错误" (a file full of errors
        must not make a response of tens of MB)."""
        if not self.more_errors:
            file = self.errors[0].file if self.errors else ""
            self.more_errors = cap_errors(
                self.errors, lambda text: RowError(file, None, None, text)
            )

    def summary(self) -> str:
        """One line in Chinese."""
        if not self.imported:
            return f"导入失败：发现{self.counts()['errors']}处错误，未导入任何数据"
        if self.kind == "payments":
            text = (
                f"导入完成：新增还款{self.payments_applied}笔，已登记未变{self.unchanged}笔，"
                f"结清分期{self.installments_settled}期"
            )
        else:
            text = (
                f"导入完成：新增{self.created}笔，更新{self.updated}笔，未变{self.unchanged}笔，"
                f"生成还款计划{self.installments_created}期"
            )
        if self.skipped:
            text += f"，跳过错误行{self.skipped}行"
        if self.landline_phones:
            text += f"；其中固定电话{self.landline_phones}个（不能接收短信，请工作人员电话联系）"
        if self.default_base_rate_rows and self.default_base_rate is not None:
            text += (
                f"；{self.default_base_rate_rows}笔企业贷款未填基准利率，已按政策文件默认基准利率"
                f"{self.default_base_rate * 100:.4f}%计算贴息"
            )
        return text


def notify(progress: Callable[[int, int], None] | None, done: int, total: int) -> None:
    """Tell the caller's progress callback, when there is one."""
    if progress:
        progress(done, total)


def audit_event(
    actor: str, action: str, object_type: str, path: Path, report: ImportReport
) -> AuditEventRow:
    """The audit row of a finished import: the file's name and the report's counts."""
    return AuditEventRow(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=path.name[:64],
        after={"file": path.name, **report.counts()},
    )
