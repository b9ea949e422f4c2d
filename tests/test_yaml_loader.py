"""The line-tracking YAML loader: positions, duplicate keys, merge keys, alias bombs, scalars."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest

from stardust_git.source.yamlio import (
    MAX_DEPTH,
    YamlLoadError,
    format_loc,
    load_yaml_bytes,
    load_yaml_file,
    load_yaml_text,
)

RELEASE = """\
# a comment line first
upc: "1234567890128"
title: Summer Vibes EP
artists:
  - {name: Beach Band, role: MainArtist}
tracks:
  - isrc: USRC12400001
    title: Sunset Dreams
  - isrc: USRC12400002
    contributors:
      - name: Jane Doe
        role: Composer
"""


def load_error(text: str) -> YamlLoadError:
    with pytest.raises(YamlLoadError) as caught:
        load_yaml_text(text, "catalog/x.yaml")
    return caught.value


def only_line(error: YamlLoadError) -> str:
    assert len(error.diagnostics) == 1, error.diagnostics
    return error.diagnostics[0].format()


# --- positions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loc", "position"),
    [
        (("upc",), (2, 1)),
        (("title",), (3, 1)),
        (("artists", 0), (5, 5)),
        (("artists", 0, "name"), (5, 6)),
        (("artists", 0, "role"), (5, 24)),
        (("tracks", 1), (9, 5)),
        (("tracks", 1, "isrc"), (9, 5)),
        (("tracks", 1, "contributors", 0, "role"), (12, 9)),
    ],
)
def test_every_key_and_item_has_its_line_and_column(
    loc: tuple[str | int, ...], position: tuple[int, int]
) -> None:
    document = load_yaml_text(RELEASE, "catalog/x.yaml")

    assert document.locate(loc) == position


def test_a_missing_field_is_located_at_its_nearest_parent() -> None:
    document = load_yaml_text(RELEASE, "catalog/x.yaml")

    assert document.locate(("tracks", 1, "duration")) == (9, 5)
    assert document.locate(("tracks", 1, "contributors", 0, "ipi")) == (11, 9)


def test_a_diagnostic_names_path_line_column_and_field() -> None:
    document = load_yaml_text(RELEASE, "catalog/x.yaml")

    diagnostic = document.diagnostic(("tracks", 0, "isrc"), "bad ISRC")

    assert diagnostic.format() == "catalog/x.yaml:7:5: tracks[0].isrc: bad ISRC"


def test_format_loc_writes_fields_and_indexes() -> None:
    assert format_loc(("tracks", 0, "contributors", 2, "role")) == "tracks[0].contributors[2].role"
    assert format_loc(()) == ""


# --- duplicate keys ---------------------------------------------------------------------------


def test_duplicate_top_level_key_is_refused_with_both_lines() -> None:
    error = load_error("title: One\nlabel: L\ntitle: Two\n")

    assert only_line(error) == "catalog/x.yaml:3:1: duplicate key 'title' (first defined on line 1)"


def test_duplicate_nested_key_is_refused() -> None:
    error = load_error("tracks:\n  - isrc: A\n    title: x\n    isrc: B\n")

    assert only_line(error) == "catalog/x.yaml:4:5: duplicate key 'isrc' (first defined on line 2)"


def test_every_duplicate_in_a_file_is_reported_together() -> None:
    error = load_error("a: 1\na: 2\nb: 1\nb: 2\n")

    assert [d.line for d in error.diagnostics] == [2, 4]


# --- merge keys and aliases -------------------------------------------------------------------

MERGE = """\
base: &base
  territories: [Worldwide]
  use_types: [OnDemandStream]
deals:
  - <<: *base
    start_date: 2024-07-01
  - <<: *base
    use_types: [PermanentDownload]
"""


def test_merge_keys_merge_and_explicit_keys_win() -> None:
    document = load_yaml_text(MERGE, "x.yaml")

    first, second = document.data["deals"]
    assert first == {
        "territories": ["Worldwide"],
        "use_types": ["OnDemandStream"],
        "start_date": dt.date(2024, 7, 1),
    }
    assert second["use_types"] == ["PermanentDownload"]
    assert document.locate(("deals", 1, "use_types")) == (8, 5)


def test_merge_key_with_a_list_of_mappings_takes_the_first_mapping_first() -> None:
    text = "a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: [*a, *b]\n"

    assert load_yaml_text(text, "x.yaml").data["c"] == {"x": 1, "y": 2}


def test_merge_key_of_a_scalar_is_refused() -> None:
    error = load_error("a: &a plain\nb:\n  <<: *a\n")

    assert only_line(error) == "catalog/x.yaml:1:4: a merge key (<<) needs a mapping"


def test_plain_aliases_are_expanded() -> None:
    document = load_yaml_text("a: &x [1, 2]\nb: *x\n", "x.yaml")

    assert document.data == {"a": [1, 2], "b": [1, 2]}


def test_alias_bomb_is_refused_in_under_a_second() -> None:
    levels = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        aliases = ", ".join([f"*a{level - 1}"] * 10)
        levels.append(f"a{level}: &a{level} [{aliases}]")
    bomb = "\n".join(levels) + "\n"  # 10**10 strings once expanded

    # CPU time, not wall time: on a busy 2-core runner the wall clock measures the neighbours.
    started = time.process_time()
    error = load_error(bomb)
    elapsed = time.process_time() - started

    assert elapsed < 1.0
    assert "refused: aliases expand to more than 200,000 nodes" in only_line(error)


def test_a_huge_document_without_aliases_is_refused_too() -> None:
    text = "items: [" + ", ".join(["1"] * 200_001) + "]\n"

    assert "refused: the document has more than 200,000 nodes" in only_line(load_error(text))


# --- scalars: YAML 1.2 core rules, codes stay strings -----------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0885686123454", "0885686123454"),  # EAN-13 with its leading zero
        ("012345670123", "012345670123"),  # only octal digits: YAML 1.1 would read 5744054355
        ("NO", "NO"),  # Norway
        ("No", "No"),
        ("no", "no"),
        ("yes", "yes"),
        ("Yes", "Yes"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("n", "n"),
        ("true", True),
        ("False", False),
        ("~", None),
        ("null", None),
        ("215", 215),
        ("-3", -3),
        ("0", 0),
        ("215.5", 215.5),
        ("2024-07-01", dt.date(2024, 7, 1)),
        ("2024-02-30", "2024-02-30"),  # not a date: left for the model to reject
        ("'215'", "215"),
        ('"true"', "true"),
        ('"2024-07-01"', "2024-07-01"),
        ("PT3M35S", "PT3M35S"),
    ],
)
def test_scalars_resolve_by_strict_rules(text: str, value: object) -> None:
    loaded = load_yaml_text(f"value: {text}\n", "x.yaml").data["value"]

    assert loaded == value
    assert isinstance(loaded, type(value))
    # numbers and dates remember how they were written (a text field takes that back)
    assert getattr(loaded, "yaml_text", text.strip("'\"")) == text.strip("'\"")


def test_explicit_str_tag_keeps_text() -> None:
    assert load_yaml_text("value: !!str 215\n", "x.yaml").data["value"] == "215"


def test_integer_keys_are_kept_but_collection_keys_are_refused() -> None:
    assert load_yaml_text("1999: year\n", "x.yaml").data == {1999: "year"}

    error = load_error("? [a, b]\n: value\n")

    assert only_line(error) == "catalog/x.yaml:1:3: mapping keys must be plain strings"


# --- files that are not one YAML mapping document ---------------------------------------------


def test_syntax_error_is_positioned() -> None:
    error = load_error("title: [Unclosed\nlabel: x\n")

    line = only_line(error)
    assert line.startswith("catalog/x.yaml:2:")
    assert "invalid YAML: " in line


def test_tab_indentation_is_a_positioned_error() -> None:
    error = load_error("tracks:\n\t- isrc: A\n")

    assert only_line(error).startswith("catalog/x.yaml:2:1: invalid YAML: found ")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file_is_refused(text: str) -> None:
    assert only_line(load_error(text)) == "catalog/x.yaml:1:1: the file is empty"


def test_second_document_is_refused_at_its_line() -> None:
    error = load_error("a: 1\n---\nb: 2\n")

    assert only_line(error) == "catalog/x.yaml:3:1: only one YAML document per file is allowed"


def test_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("title: Café\n".encode("latin-1"))

    with pytest.raises(YamlLoadError) as caught:
        load_yaml_file(path, "catalog/latin1.yaml")

    assert only_line(caught.value) == (
        "catalog/latin1.yaml:1:11: not UTF-8 text: byte 0xe9 (invalid continuation byte);"
        " save the file as UTF-8"
    )


def test_the_bad_byte_is_placed_in_characters_after_good_utf8(tmp_path: Path) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_bytes("a: Müller\r\nb: Straße ".encode() + b"\xff\n")

    with pytest.raises(YamlLoadError) as caught:
        load_yaml_file(path, "catalog/mixed.yaml")

    # "b: Straße " is 10 characters (11 bytes): the 0xff is the 11th character of line 2.
    assert only_line(caught.value).startswith("catalog/mixed.yaml:2:11: not UTF-8 text: byte 0xff")


def test_missing_file_is_a_diagnostic_not_an_exception(tmp_path: Path) -> None:
    with pytest.raises(YamlLoadError) as caught:
        load_yaml_file(tmp_path / "gone.yaml", "catalog/gone.yaml")

    assert (
        only_line(caught.value)
        == "catalog/gone.yaml:1:1: cannot read file: No such file or directory"
    )


def test_load_yaml_file_reads_utf8_with_positions(tmp_path: Path) -> None:
    path = tmp_path / "release.yaml"
    path.write_text("title: Café del Mar\nlabel: Ünïcode\n", encoding="utf-8")

    document = load_yaml_file(path, "catalog/release.yaml")

    assert document.data == {"title": "Café del Mar", "label": "Ünïcode"}
    assert (document.path, document.locate(("label",))) == ("catalog/release.yaml", (2, 1))


def test_lf_crlf_and_cr_files_load_alike_with_the_same_positions() -> None:
    text = "title: |\n  two\n  lines\nlist:\n  - a\n  - b\n"
    loaded = [
        load_yaml_bytes(text.replace("\n", newline).encode(), "f.yaml")
        for newline in ("\n", "\r\n", "\r")
    ]

    assert [d.data for d in loaded] == [{"title": "two\nlines\n", "list": ["a", "b"]}] * 3
    assert [d.positions for d in loaded[1:]] == [loaded[0].positions] * 2


def test_a_nul_after_cr_only_lines_is_placed_on_its_line() -> None:
    with pytest.raises(YamlLoadError) as caught:
        load_yaml_bytes(b"a: 1\rb: 2\rc: x\x00y\r", "f.yaml")

    assert only_line(caught.value) == (
        "f.yaml:3:5: U+0000 is not allowed in YAML (control characters are not allowed); remove it"
    )


def test_nesting_at_the_limit_loads_and_one_deeper_is_refused() -> None:
    at_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    nested: list[object] = []
    for _ in range(MAX_DEPTH - 1):
        nested = [nested]

    assert load_yaml_text(at_limit, "f.yaml").data == nested
    with pytest.raises(YamlLoadError) as caught:
        load_yaml_text("[" + at_limit + "]", "f.yaml")

    assert only_line(caught.value) == f"f.yaml:1:{MAX_DEPTH + 1}: nesting deeper than 64 levels"


# --- the fast path: values first, positions when asked for --------------------------------------

SAME_EITHER_WAY = [
    RELEASE,
    "base: &b {a: 1, b: 2}\nother: &o {b: 3, c: 4}\nm:\n  <<: *b\n  <<: *o\n  a: 9\n",
    "base: &b {a: 1, b: 2}\nother: &o {b: 3, c: 4}\nm:\n  <<: [*o, *b]\n  d: 5\n",
    "list: &l [1, 2.50, 0885686123458, 2024-02-30, 2024-02-03, NO, yes, ~, true]\nagain: *l\n",
    "1: one\n007: bond\n'quoted': 'x'\n!!str 12: tagged\nfolded: >\n  a\n  b\n",
    "[" * MAX_DEPTH + "]" * MAX_DEPTH,
    "{a: " * MAX_DEPTH + "1" + "}" * MAX_DEPTH,
]


@pytest.mark.parametrize("text", SAME_EITHER_WAY)
def test_values_built_without_positions_equal_the_recording_builders(text: str) -> None:
    from stardust_git.source.yamlio import _composed, _recorded

    fast = load_yaml_text(text, "x.yaml")
    recorded = _recorded(_composed(text, "x.yaml"), "x.yaml")

    assert repr(fast.data) == repr(recorded.data)
    assert _types(fast.data) == _types(recorded.data)
    assert fast.positions == recorded.positions


def _types(value: object) -> object:
    if isinstance(value, dict):
        return {key: _types(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_types(item) for item in value]
    return (type(value).__name__, getattr(value, "yaml_text", None))


@pytest.mark.parametrize("copies", [993, 994, 995])
def test_the_fast_path_refuses_at_the_same_node_count_as_the_recording_builder(
    copies: int,
) -> None:
    """Around 200,000 nodes made of merged aliases (994 copies is the first one over)."""
    from stardust_git.source.yamlio import _composed, _recorded

    anchor = "a: &a {" + ", ".join(f"k{i}: {i}" for i in range(100)) + "}\n"
    text = anchor + "m:\n  <<: [" + ", ".join(["*a"] * copies) + "]\n  x: 1\n"

    def outcome(load: Any) -> str:
        try:
            load()
        except YamlLoadError as error:
            return only_line(error)
        return "loaded"

    fast = outcome(lambda: load_yaml_text(text, "x.yaml"))
    assert fast == outcome(lambda: _recorded(_composed(text, "x.yaml"), "x.yaml"))
    assert (fast == "loaded") == (copies < 994)
