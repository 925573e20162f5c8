"""People of a loan file: borrowers and guarantors matched to the database, then written."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Connection

from core.loans.importing.bulk import PERSON_T, Bulk, chunks, select_in
from core.loans.importing.files import Sheet
from core.loans.importing.report import RowError
from core.loans.importing.rows import LoanIn


@dataclass(slots=True)
class Person:
    key: tuple[str, ...]
    name: str
    phone: str | None
    id_number: str | None
    district: str | None
    first_row: int
    db_id: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)


def check_people_consistency(
    loans: list[LoanIn], sheet: Sheet, row_errors: dict[int, list[RowError]]
) -> None:
    """The same ID number must carry the same name everywhere in the file."""
    names: dict[str, tuple[str, int]] = {}
    for loan in loans:
        for id_number, name, fld in (
            (loan.id_number, loan.name, "id_number"),
            (loan.g_id, loan.g_name, "counter_guarantor_id_number"),
        ):
            if id_number is None or name is None:
                continue
            seen = names.setdefault(id_number, (name, loan.row))
            if seen[0] != name:
                row_errors[loan.row].append(
                    RowError(
                        sheet.file,
                        loan.row,
                        sheet.headers[fld],
                        f"与第{seen[1]}行身份证号相同但姓名不同（{seen[0]}／{name}）",
                    )
                )


def resolve_persons(conn: Connection, loans: list[LoanIn]) -> dict[tuple[str, ...], Person]:
    """Every person of the file (borrowers and guarantors), matched to the database."""
    persons: dict[tuple[str, ...], Person] = {}
    by_phone_name: dict[tuple[str, str], tuple[str, ...]] = {}
    key: tuple[str, ...]
    for loan in loans:  # borrowers and guarantors with ID numbers first
        for id_number, name, phone, district in (
            (loan.id_number, loan.name, loan.phone, loan.district),
            (loan.g_id, loan.g_name, loan.g_phone, None),
        ):
            if id_number is None or name is None:
                continue
            key = ("id", id_number)
            if key not in persons:
                persons[key] = Person(key, name, phone, id_number, district, loan.row)
                if phone:
                    by_phone_name.setdefault((phone, name), key)
            elif persons[key].district is None and district:
                persons[key].district = district
    for loan in loans:  # guarantors without an ID number
        if loan.g_name is None or loan.g_id is not None:
            continue
        assert loan.g_phone is not None
        pn = (loan.g_phone, loan.g_name)
        if pn in by_phone_name:
            continue
        key = ("phone", loan.g_phone, loan.g_name)
        persons[key] = Person(key, loan.g_name, loan.g_phone, None, None, loan.row)
        by_phone_name[pn] = key
    for pn, key in by_phone_name.items():
        if key[0] == "phone":
            continue
        persons.setdefault(("phone", *pn), persons[key])

    id_people = [p for k, p in persons.items() if k[0] == "id"]
    found: dict[str, tuple[int, str, str | None, str | None]] = {}
    for r in select_in(
        conn,
        "SELECT id_number, id, name, phone, district FROM person WHERE id_number {IN}",
        [p.id_number for p in id_people],
    ):
        found[r[0]] = (r[1], r[2], r[3], r[4])
    need_phone = [
        p for p in persons.values() if p.phone and (p.id_number is None or p.id_number not in found)
    ]
    phone_rows: dict[tuple[str, str], list[tuple[int, str | None]]] = defaultdict(list)
    for r in select_in(
        conn,
        "SELECT phone, name, id, id_number FROM person WHERE phone {IN} ORDER BY id",
        [p.phone for p in need_phone],
    ):
        phone_rows[(r[0], r[1])].append((r[2], r[3]))
    seen: set[int] = set()
    for person in persons.values():
        if id(person) in seen:
            continue
        seen.add(id(person))
        if person.id_number and person.id_number in found:
            pid, name, phone, district = found[person.id_number]
            person.db_id = pid
            if name != person.name:
                person.changes["name"] = person.name
            if person.phone and phone != person.phone:
                person.changes["phone"] = person.phone
            if person.district and district != person.district:
                person.changes["district"] = person.district
            continue
        assert person.phone is not None
        candidates = phone_rows.get((person.phone, person.name), [])
        if person.id_number:
            without_id = [pid for pid, idn in candidates if idn is None]
            if without_id:
                person.db_id = without_id[0]
                person.changes["id_number"] = person.id_number
                if person.district:
                    person.changes["district"] = person.district
        elif candidates:
            person.db_id = candidates[0][0]
    return persons


def _unique_people(persons: dict[tuple[str, ...], Person]) -> list[Person]:
    return list({id(p): p for p in persons.values()}.values())


_PERSON_COLS = ("name", "phone", "id_number", "district", "created_at")


def write_persons(
    conn: Connection, bulk: Bulk, persons: dict[tuple[str, ...], Person], now: datetime
) -> None:
    people = _unique_people(persons)
    pt = PERSON_T
    with_id = [p for p in people if p.db_id is None and p.id_number]
    without_id = [p for p in people if p.db_id is None and not p.id_number]
    for part in chunks(with_id):
        bulk.insert(
            pt, _PERSON_COLS, [(p.name, p.phone, p.id_number, p.district, now) for p in part]
        )
        by_id = {p.id_number: p for p in part}
        for id_number, pid in select_in(
            conn, "SELECT id_number, id FROM person WHERE id_number {IN}", list(by_id)
        ):
            by_id[id_number].db_id = pid
    # Persons without an ID number are new only when no person had their (phone, name) (see
    # resolve_persons), so the newest such row per (phone, name) is the one just inserted.
    for part in chunks(without_id):
        bulk.insert(pt, _PERSON_COLS, [(p.name, p.phone, None, p.district, now) for p in part])
        wanted = {(p.phone, p.name): p for p in part}
        for phone, name, pid in select_in(
            conn,
            "SELECT phone, name, id FROM person WHERE phone {IN} AND id_number IS NULL ORDER BY id",
            list({p.phone for p in part}),
        ):
            if (phone, name) in wanted:
                wanted[(phone, name)].db_id = pid
    by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for p in people:
        if p.changes and p.db_id is not None:
            by_fields[tuple(sorted(p.changes))].append({"_pid": p.db_id, **p.changes})
    for fields, params in by_fields.items():
        stmt_u = (
            update(pt).where(pt.c.id == bindparam("_pid")).values({f: bindparam(f) for f in fields})
        )
        for upart in chunks(params):
            conn.execute(stmt_u, list(upart))
