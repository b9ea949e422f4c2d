"""The gate: every check a release passes before it is validated, planned or delivered."""

from stardust_git.checks.gate import (
    ALL_NEEDS,
    CATALOG_CHECKS,
    RELEASE_CHECKS,
    GateRun,
    check_packages,
    run_catalog_checks,
    run_gate,
    run_release_checks,
)

__all__ = [
    "ALL_NEEDS",
    "CATALOG_CHECKS",
    "RELEASE_CHECKS",
    "GateRun",
    "check_packages",
    "run_catalog_checks",
    "run_gate",
    "run_release_checks",
]
