"""Loans: repayment schedules (core.schedule) and the spreadsheet importers (importing/)."""
