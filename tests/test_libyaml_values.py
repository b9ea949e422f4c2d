"""libyaml's document loader (source/libyaml_values.py) reads every file as PyYAML's path does.

Each document is read both ways: load_yaml_text (libyaml's loader first, PyYAML for what it does
not vouch for) and pyyaml_document (PyYAML alone, the reference). The outcomes must be equal: the
same values of the same types (numbers and dates written the same way), or the same diagnostics.
"""

from __future__ import annotations

import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from stardust_git.source import libyaml_values
from stardust_git.source.libyaml_values import UNVOUCHED
from stardust_git.source.yamlio import (
    MAX_DEPTH,
    MAX_NODES,
    YamlLoadError,
    load_yaml_bytes,
    load_yaml_text,
    pyyaml_document,
)

PROJECT = Path(__file__).resolve().parents[1]


def typed(value: Any) -> Any:
    """``value`` with the type (and written form) of every part, to compare exactly."""
    if isinstance(value, dict):
        return ("dict", [(typed(key), typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [typed(item) for item in value])
    return (type(value).__name__, value, getattr(value, "yaml_text", None))


def outcome(read: Any, text: str) -> Any:
    try:
        return ("values", typed(read(text, "x.yaml").data))
    except YamlLoadError as error:
        return ("refused", [diagnostic.format() for diagnostic in error.diagnostics])


def vouched(text: str) -> bool:
    return libyaml_values.libyaml_values(text) is not UNVOUCHED


def assert_read_alike(text: str) -> None:
    assert outcome(load_yaml_text, text) == outcome(pyyaml_document, text), text


def test_libyaml_is_found_and_reads_a_release() -> None:
    """The machine has libyaml (Debian's libyaml-0-2): without it every file takes PyYAML's path,
    correct but slower, so this fails rather than let that pass unseen."""
    text = (PROJECT / "catalog/the-meridians/longitude.yaml").read_text()
    assert libyaml_values.libyaml_values(text) == pyyaml_document(text, "x.yaml").data


def project_yaml_files() -> list[Path]:
    folders = ("catalog", "targets", "genre-maps", "stardust_git/profiles/data", "tests/corpus")
    return sorted(path for folder in folders for path in (PROJECT / folder).rglob("*.yaml"))


def test_the_projects_yaml_files_read_alike() -> None:
    files = project_yaml_files()
    assert len(files) > 20
    for path in files:
        assert_read_alike(path.read_text(encoding="utf-8", errors="replace"))
    releases = [path for path in files if path.parts[-3] == "catalog"]
    assert releases and all(vouched(path.read_text()) for path in releases)


def test_a_generated_catalog_reads_alike(tmp_path: Path) -> None:
    script = PROJECT / "benchmarks/generate_catalog.py"
    subprocess.run([sys.executable, str(script), str(tmp_path), "300"], check=True)
    releases = sorted((tmp_path / "catalog").rglob("*.yaml"))
    assert len(releases) == 300
    for path in releases:
        text = path.read_text()
        assert vouched(text)
        assert_read_alike(text)


# Documents libyaml's loader reads (and must read as PyYAML's path does).
VOUCHED = [
    "a: word\nb: two words\nc: 'single'\nd: \"double\"\n",
    "n: [0123, 1_000, +4, -3, 0x1F, 0o17, 12, 0, -0]\n",
    "f: [.5, 1.5e3, 1e3, 1.10, -.5, +1.0, .inf, -.inf, .nan, 1.]\n",
    "d: [2015-03-08, 2015-13-45, 2024-02-30, 2001-12-14t21:59:43.10-05:00, 12:30, 1:20:30]\n",
    "x: [~, null, Null, NULL, '', \"\", 'null', true, True, TRUE, false, yes, on, off, NO, y]\n",
    "a:\nb: \nc: # comment\n",
    "- \n-\n- x\n",
    "it: 'it''s'\nesc: \"tab\\there \\u00e9 \\x41 \\N \\_ \\\\ \\\" \\/ \\e \\0\"\n",
    "plain: one\n  two\n\n  three\nafter: x\n",
    "single: 'one\n  two\n\n  three'\ndouble: \"one\n  two \\\n  three\"\n",
    "lit: |\n  one\n   two\n\n  three\nkeep: |+\n  x\n\nstrip: >-\n  fold\n  ed\n\n  par\nend: 1\n",
    "ind: |2\n   indented\nfolded: >\n  a\n    b\n  c\n",
    "comment: a #c\nhash: a#b\nurl: http://example.com/x?a=b#frag\n# last\n",
    "flow: {a: [b, {c: d}],\n  e: f, g: }\nseq: [a, b, ]\nkeys: {a, b}\nempty: [[], {}]\n",
    "unicode: é ü € 日本語 😀\n'é': ü\n\"😀\": x\n",
    "1999: year\n'2000': quoted\n-7: negative\ntrue: boolean key\n",
    "'<<': quoted merge\nb: x\n",
    "? a\n: b\n? c\n",
    "---\na: 1\n...\n",
    "%YAML 1.1\n---\na: 1\n",
    "---\n",
    "long: " + "x" * 3000 + "\n",
    "tabs: \"a\tb\"\nafter: x\t\nsingle: 'c\td'\n",
    "nel: \"x\x85y\"\nseparators: 'a\u2028b\u2029c'\n",
    "just a scalar\n",
    "- - - x\n  - y\n- {a: [1, [2, [3]]]}\n",
    "top:\n- at the same indentation\n- as its key\nnext: 1\n",
    "'key with: colon': v\n\"another # not a comment\": v\nk: 'v: w'\n",
    "b: x & y\nc: 50%\nd: a*b\ne: -x\nf: ?x\ng: :x\nh: a!\n",
]

# Documents libyaml's loader leaves to PyYAML's path (which reads or refuses them, placed).
UNVOUCHED_DOCUMENTS = [
    "a: &x [1, 2]\nb: *x\n",
    "a: &x 1\n",
    "x: &id001 2004-04-01\ny: 1\nz: *id001\n",
    "when: &d 2004-04-01\ndeals:\n- territories: [JP]\n  start_date: *d\n  end: x\n",
    "a: &n 5\nb:\n  c: *n\n  d: [1, 2]\n",
    "a:\n- &n 5\n- *n\n- 6\n",
    "a: !!str 215\nb: !custom x\n",
    "a: ! x\n",
    "!!map {a: 1}\n",
    "base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n",
    "<<: {a: 1}\n",
    "plain: <<\n",
    "a: 1\nb: 2\na: 3\n",
    "a: {x: 1, x: 2}\n",
    "~: null key\n",
    "1.5: float key\n",
    "2020-01-01: date key\n",
    "[a, b]: sequence key\n",
    "? {a: 1}\n: mapping key\n",
    "true: a\n1: b\n",
    "a: 1\n---\nb: 2\n",
    "",
    "# only a comment\n",
    "\ufeffa: bom\n",
    "a: [" + ", ".join(["[x]"] * 2001) + "]\n",
    "[" * 65 + "]" * 65 + "\n",
    "".join(" " * level + "k:\n" for level in range(MAX_DEPTH)) + " " * MAX_DEPTH + "x: 1\n",
]

# Documents that are not YAML: refused by PyYAML's path with its diagnostics.
REFUSED = [
    "a: 'unterminated\n",
    'a: "unterminated\n',
    "a: b: c\n",
    "a: [1, 2\n",
    "a: {b: 1\n",
    "a: 1\n b: 2\n",
    "a:\n\t- tab\n",
    "@x: y\n",
    "a: `x`\n",
    "- a\nb: c\n",
    "a: ]\n",
    "a: |\n  x\n y\n",
    "key: " + "y" * 1100 + ": z\n",
    "{" + "k" * 1100 + ": v}\n",
    "a: b\x00\n",
    "breaks: a\x85b\n",
    "a: \x07\n",
    "a: *undefined\n",
    "%TAG ! !foo\n%TAG ! !foo\n---\na: 1\n",
    "[" * 2000 + "]" * 2000 + "\n",
]


@pytest.mark.parametrize("text", VOUCHED)
def test_what_libyaml_reads_reads_as_pyyaml_reads_it(text: str) -> None:
    assert vouched(text)
    assert_read_alike(text)


@pytest.mark.parametrize("text", UNVOUCHED_DOCUMENTS)
def test_what_libyaml_leaves_reads_or_is_refused_as_before(text: str) -> None:
    assert not vouched(text)
    assert_read_alike(text)


@pytest.mark.parametrize("text", REFUSED)
def test_a_document_that_is_not_yaml_gets_the_same_diagnostics(text: str) -> None:
    assert not vouched(text)
    assert outcome(load_yaml_text, text)[0] == "refused"
    assert_read_alike(text)


@pytest.mark.parametrize("style", ["flow", "block", "compact"])
def test_nesting_at_the_limit_is_read_and_one_deeper_is_left_to_pyyaml(style: str) -> None:
    def nested(depth: int) -> str:
        if style == "flow":
            return "[" * depth + "x" + "]" * depth + "\n"
        if style == "compact":
            return "- " * depth + "x\n"
        return "".join(" " * level + "k:\n" for level in range(depth)) + " " * depth + "x\n"

    assert vouched(nested(MAX_DEPTH))
    assert not vouched(nested(MAX_DEPTH + 1))
    for depth in (MAX_DEPTH, MAX_DEPTH + 1):
        assert_read_alike(nested(depth))


def test_the_node_limit_is_the_same_without_aliases() -> None:
    """A sequence of MAX_NODES - 1 items is MAX_NODES nodes: read; one more item: refused."""
    for items in (MAX_NODES - 1, MAX_NODES):
        text = "\n".join(["- x"] * items) + "\n"
        assert_read_alike(text)
    assert vouched("\n".join(["- x"] * (MAX_NODES - 1)))


def test_crlf_cr_and_non_utf8_files_load_alike() -> None:
    release = (PROJECT / "catalog/the-meridians/longitude.yaml").read_bytes()
    expected = typed(pyyaml_document(release.decode(), "x.yaml").data)
    for newline in (b"\r\n", b"\r"):
        assert typed(load_yaml_bytes(release.replace(b"\n", newline), "x.yaml").data) == expected
    with pytest.raises(YamlLoadError) as refused:
        load_yaml_bytes(b"title: caf\xe9\n", "x.yaml")
    assert "not UTF-8" in refused.value.diagnostics[0].message


def test_positions_of_a_document_read_by_libyaml_are_pyyamls() -> None:
    text = (PROJECT / "catalog/the-meridians/longitude.yaml").read_text()
    assert vouched(text)
    fast, reference = load_yaml_text(text, "x.yaml"), pyyaml_document(text, "x.yaml")
    assert fast.positions == reference.positions
    assert fast.locate(("tracks", 3, "title")) == reference.locate(("tracks", 3, "title"))


def test_threads_reading_at_once_read_alike() -> None:
    """ctypes lets other threads run while libyaml parses: each call has its own parser."""
    texts = [doc for doc in VOUCHED if doc.strip()] * 20
    with ThreadPoolExecutor(8) as pool:
        read = list(pool.map(lambda text: typed(load_yaml_text(text, "x.yaml").data), texts))
    assert read == [typed(pyyaml_document(text, "x.yaml").data) for text in texts]


PIECES = [
    *"ab:-?,[]{}#&*!|>'\"%@`<\\ \t\n",
    "a", "key", "NO", "yes", "~", "null", "true", "0123", "1_000", "12", "-3", ".5", "1e3",
    "2015-03-08", "'s'", '"q"', "'it''s'", '"\\t"', "é", "😀", "- ", ": ", "\n  ", "\n- ", ", ",
    "[a, b]", "{a: 1}", "&x ", "*x", "!!str ", "|\n  lit\n", ">-\n  fold\n", "<<: ", "---\n", "? ",
]  # fmt: skip


KEYS = ["a", "key", "NO", "yes", "~", "null", "true", "0123", "12", "'s'", '"q"', "é", "<<", "[a]"]


def random_document(rng: random.Random) -> str:
    if rng.random() < 0.5:  # mostly well formed: keys, nested blocks, flow lists
        lines = []
        for _ in range(rng.randint(1, 6)):
            indent = "  " * rng.randint(0, 2)
            value = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 3)))
            lines.append(f"{indent}{rng.choice(KEYS)}: {value}")
        return "\n".join(lines) + "\n"
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 30)))


def test_random_documents_read_alike() -> None:
    """A sample of the differential fuzzing behind this reader (80,000 documents, many of them
    mutated releases, found no difference): random pieces of YAML, well formed or not."""
    rng = random.Random(15)
    read = 0
    for _ in range(1500):
        text = random_document(rng)
        assert_read_alike(text)
        read += vouched(text)
    assert read > 200  # a good part of them was read by libyaml
