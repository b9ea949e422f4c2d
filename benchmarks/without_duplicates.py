"""``stardust-git`` without the catalog-wide duplicate-recordings check: for benchmarks only.

The benchmark catalogs' media are hard links to one original per track number (a distinct
recording per audio file would be hundreds of gigabytes at 100,000 releases, and QC would measure
each), so across releases one file content stands under many ISRCs; the duplicate-recordings
check, rightly, reports every such pair, and a gate over a share of 1,000 releases would report
millions. Every other check of the gate runs. Used for the deliveries that build a benchmark
repository and for ``deliver --all --dry-run``; a plan of the one edited release gates with it.

    python benchmarks/without_duplicates.py deliver --all --dry-run
"""

from __future__ import annotations


def leave_out_duplicate_recordings() -> None:
    from stardust_git.checks import gate

    gate.CATALOG_CHECKS = tuple(
        check for check in gate.CATALOG_CHECKS if check.name != "duplicate-recordings"
    )


if __name__ == "__main__":
    leave_out_duplicate_recordings()
    from stardust_git.cli import main

    main()
