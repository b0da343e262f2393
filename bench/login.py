"""Login timing: does a wrong password for an e-mail WITHOUT an account take as long as one for a real
account? (If not, response times tell an attacker which e-mails exist.) Also what the lockout costs: a
locked e-mail is refused before any password hashing.

Baseline, measured in the same run: wrong passwords for a real account through ``luna_core.auth.login``
on a scratch database (Argon2id verify, lockout reservation, audit row). Interleaved, medians.

    .venv/bin/python bench/login.py [--repeat 40]

Last line: ``login_unknown_vs_known_ratio=<x>`` (1.0 = indistinguishable by median).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

from harness import scratch_settings
from rich.console import Console

from luna_core.auth.login import AuthError, LockedOut, LoginPolicy, login
from luna_core.db import migrate
from luna_core.db.engine import app_engine, owner_engine
from luna_core.db.tenancy import tenant_scope
from luna_core.tenants import create_tenant
from luna_core.users import create_user

console = Console(stderr=True)


def timed(engine, email: str, password: str, policy: LoginPolicy) -> float:
    started = time.perf_counter()
    with contextlib.suppress(AuthError, LockedOut):
        login(engine, email, password, policy)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    with scratch_settings("luna_bench_login") as settings:
        migrate.upgrade(owner_engine(settings), settings.app_db_role)
        engine = app_engine(settings)
        create_tenant(engine, "bench-login", "Bench")
        with tenant_scope(engine, "bench-login") as connection:
            create_user(connection, "bench-login", "known@bench.example.com", "correct horse battery", "customer")
        # Limits out of reach: every attempt is checked, none is locked.
        open_policy = LoginPolicy(max_failures=10**6, max_failures_per_address=10**6)
        known, unknown, locked = [], [], []
        for i in range(args.repeat):
            known.append(timed(engine, "known@bench.example.com", f"wrong {i}", open_policy))
            unknown.append(timed(engine, f"ghost{i}@bench.example.com", f"wrong {i}", open_policy))
        strict = LoginPolicy(max_failures=1, max_failures_per_address=10**6)
        timed(engine, "known@bench.example.com", "wrong once more", strict)
        for i in range(args.repeat):
            locked.append(timed(engine, "known@bench.example.com", f"wrong {i}", strict))
    k, u, lk = (statistics.median(x) * 1000 for x in (known, unknown, locked))
    console.print(f"wrong password, real account:   median {k:.1f} ms")
    console.print(f"wrong password, no such e-mail: median {u:.1f} ms")
    console.print(f"locked e-mail (refused first):  median {lk:.1f} ms")
    print(f"login_locked_vs_checked_ratio={lk / k:.3f}")
    print(f"login_unknown_vs_known_ratio={u / k:.3f}")


if __name__ == "__main__":
    main()
