"""Loans: repayment schedules (core.loans.schedule) and the spreadsheet importers (importing/)."""
