"""The inputs of an import: files found in the folders given, each read by the reader its kind
needs (ERN messages by version, spreadsheets with the mapping file)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from stardust_git.errors import Diagnostic, UserError
from stardust_git.importers.model import ImportContext, ImportedRelease, PurgeNotSupported
from stardust_git.importers.sheetmapping import SpreadsheetMapping
from stardust_git.importers.xmlsafe import Message, input_error, open_message

INPUT_SUFFIXES = (".xml", ".csv", ".xlsx")
SKIPPED_NAMES = ("BatchComplete_",)
"""Files of a delivery folder that are not messages (a batch's closing manifest)."""

Reader = Callable[[Path, str, ImportContext, SpreadsheetMapping | None], Iterable[ImportedRelease]]
"""Reads the releases of one input file: ``(path, shown, context, mapping)``."""
ErnReader = Callable[[Message, ImportContext], Iterator[ImportedRelease]]


def input_files(inputs: list[Path]) -> list[tuple[Path, str]]:
    """Every file to read, with how it is shown: a folder walked in sorted order (hidden
    folders skipped) for its messages and spreadsheets; a file as given."""
    found: list[tuple[Path, str]] = []
    for given in inputs:
        if not given.is_dir():
            found.append((given, str(given)))
            continue
        for folder, dirs, files in os.walk(given):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            found += [
                (Path(folder) / name, str(Path(folder) / name))
                for name in sorted(files)
                if _wanted(name)
            ]
    return found


def _wanted(name: str) -> bool:
    return name.lower().endswith(INPUT_SUFFIXES) and not name.startswith(SKIPPED_NAMES)


def read_input(
    path: Path, shown: str, context: ImportContext, mapping: SpreadsheetMapping | None
) -> Iterator[ImportedRelease]:
    """The releases of one input: an ERN message (by its version) or a CSV/XLSX spreadsheet."""
    suffix = path.suffix.lower()
    if suffix == ".xml":
        message = open_message(path, shown)
        return ern_reader(message)(message, context)
    if suffix in (".csv", ".xlsx"):
        from stardust_git.importers.spreadsheet import read_spreadsheet

        return read_spreadsheet(path, shown, context, mapping)
    raise input_error(shown, "not an ERN message (.xml) or a spreadsheet (.csv, .xlsx)")


def ern_reader(message: Message) -> ErnReader:
    """The reader of the message's ERN version (imported when first needed)."""
    try:
        if message.version == "3.8.2":
            from stardust_git.importers.ern382 import read_ern382

            return read_ern382
        from stardust_git.importers.ern4 import read_ern4

        return read_ern4
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("stardust_git.importers.ern"):
            raise
        raise input_error(
            message.shown, f"reading ERN {message.version} is not available in this installation"
        ) from None


PARALLEL_FROM_FILES = 64
"""From this many input files (a delivery folder of one message per release), files are read
on every CPU: each message is independent, and reading is most of an import's time."""
CHUNK_FILES = 100
_JOB: dict[str, Any] = {}
"""What the reading workers need (forked, so it is inherited, not pickled: a reader may be a
closure)."""


def read_all(
    files: list[tuple[Path, str]],
    context: ImportContext,
    mapping: SpreadsheetMapping | None,
    reader: Reader,
) -> tuple[list[ImportedRelease], list[Diagnostic]]:
    """Every release of every file, and every file's errors (reading goes on past a bad file),
    in the order of ``files``."""
    workers = min(os.cpu_count() or 1, 8)
    if len(files) < PARALLEL_FROM_FILES or workers < 2:
        return _read_files(files, context, mapping, reader)
    _JOB.update(context=context, mapping=mapping, reader=reader)
    chunks = [files[i : i + CHUNK_FILES] for i in range(0, len(files), CHUNK_FILES)]
    releases: list[ImportedRelease] = []
    errors: list[Diagnostic] = []
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            for read, problems in pool.map(_read_chunk, chunks):
                releases += read
                errors += problems
    finally:
        _JOB.clear()
    return releases, errors


def _read_chunk(
    files: list[tuple[Path, str]],
) -> tuple[list[ImportedRelease], list[Diagnostic]]:
    return _read_files(files, _JOB["context"], _JOB["mapping"], _JOB["reader"])


def _skipped(diagnostic: Diagnostic) -> Diagnostic:
    message = f"{diagnostic.message}; the file was skipped (it describes no release)"
    return replace(diagnostic, severity="warning", message=message)


def _read_files(
    files: list[tuple[Path, str]],
    context: ImportContext,
    mapping: SpreadsheetMapping | None,
    reader: Reader,
) -> tuple[list[ImportedRelease], list[Diagnostic]]:
    releases: list[ImportedRelease] = []
    errors: list[Diagnostic] = []
    for path, shown in files:
        try:
            releases += list(reader(path, shown, context, mapping))
        except PurgeNotSupported as exc:  # an old outbox holds them: skip, say so, go on
            errors += [_skipped(d) for d in exc.diagnostics or [Diagnostic(shown, 0, 0, "", "")]]
        except UserError as exc:
            errors += exc.diagnostics or [Diagnostic(shown, 0, 0, "", exc.message)]
        except OSError as exc:
            errors.append(Diagnostic(shown, 0, 0, "", f"cannot read: {exc.strerror or exc}"))
    return releases, errors
