"""The argon2 cost of staff passwords is a setting, injected through the container."""

from __future__ import annotations

import pytest

from core.kernel.settings import Settings
from core.staff import PasswordHasher
from server.bootstrap import Container


def test_production_defaults_are_argon2id_3_iterations_64_mib(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PASSWORD_HASH_TIME_COST", raising=False)
    monkeypatch.delenv("PASSWORD_HASH_MEMORY_KIB", raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.password_hash_time_cost, settings.password_hash_memory_kib) == (3, 65536)


def test_the_container_hashes_at_the_configured_cost() -> None:
    settings = Settings(_env_file=None, password_hash_time_cost=2, password_hash_memory_kib=64)  # type: ignore[call-arg]
    hashed = Container(settings).hasher.hash("correct-horse-battery")
    assert hashed.startswith("$argon2id$") and "m=64,t=2," in hashed


def test_a_hash_verifies_whatever_cost_checks_it() -> None:
    cheap, dearer = PasswordHasher(1, 32), PasswordHasher(2, 64)
    hashed = dearer.hash("correct-horse-battery")
    assert cheap.verify("correct-horse-battery", hashed)  # the cost is read from the hash
    assert not cheap.verify("wrong-password-123", hashed)
    assert not cheap.verify("correct-horse-battery", "not-a-hash")


def test_bad_costs_are_refused() -> None:
    with pytest.raises(ValueError):
        Settings(_env_file=None, password_hash_time_cost=0)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        Settings(_env_file=None, password_hash_memory_kib=16)  # type: ignore[call-arg]
