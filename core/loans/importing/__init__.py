"""Spreadsheet importers: loans (贷款台账), repayment schedules (还款计划) and payments (还款记录).

Files are CSV (UTF-8, UTF-8 with BOM, or GBK/GB18030 — tried in that order) or XLSX. Headers may
be the English field names or the Chinese names banks use (贷款编号, 借款人姓名 …); the header row
is row 1 as the spreadsheet shows it, unless a title row comes first.

Rules
-----
- Validation happens in Python before anything is written. A file with any error imports
  nothing (the writes are all in the caller's transaction) unless ``skip_bad_rows=True``; then the
  bad rows are skipped and every skipped row is listed in the report.
- Loans are upserted by loan number: importing the same file twice changes nothing.
- Persons are deduplicated by ID number; a person without an ID number (a counter-guarantor) is
  matched by phone number *and* name, so two people who share a phone are not merged. A person
  already on file without an ID number is given the ID number when phone and name match.
- Counter-guarantors are only added or updated, never removed by an import (a loan may have more
  guarantors than the one column set in the sheet; removing one is a staff decision).
- Schedules: a new loan gets the schedule of the installments file when given, else a generated
  one (core.loans.schedule). An existing loan keeps its schedule unless its terms (amount, rate,
  disbursement date, term, method, subsidy kind) change or the installments file gives a
  different schedule; the schedule is then rewritten in place (same instalment ids by seq).
- Paid state is never destroyed: once a loan has any payment (a payment row or a paid amount on
  an instalment), changing its terms or its schedule by import is refused with a row error —
  restructuring a loan that is being repaid is a staff decision. Other fields (bank, district,
  borrower's phone, guarantor) may still be updated.
- Payments apply to the earliest unpaid instalments, each owing principal + the borrower's
  interest share; the same reference twice changes nothing. A loan whose instalments are all
  paid is marked ``closed``.

Everything is bulk: rows are parsed once, existing loans and persons are preloaded with one query
per chunk, and inserts are executemany (COPY for installments on PostgreSQL).

Modules, in dependency order: limits (caps of one import), report (ImportReport, RowError),
columns (fields, labels, aliases), cells (one cell → a value, Chinese errors), files (CSV/XLSX
into a Sheet), rows (one parser per row kind), bulk (chunked lookups, COPY/INSERT), people,
store (stored loans and their writes), loans and payments (the two importers), template.
"""

from core.loans.importing.cells import parse_phone
from core.loans.importing.limits import ImportLimitError, ImportLimits
from core.loans.importing.loans import import_loans
from core.loans.importing.payments import import_payments
from core.loans.importing.report import ImportReport, RowError
from core.loans.importing.template import write_template

__all__ = [
    "ImportLimitError",
    "ImportLimits",
    "ImportReport",
    "RowError",
    "import_loans",
    "import_payments",
    "parse_phone",
    "write_template",
]
