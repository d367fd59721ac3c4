"""yamlsafe.parse: the same values, positions and refusals with libyaml and with pure Python."""

from __future__ import annotations

from datetime import date

import pytest

from datavern.register import yamlsafe
from datavern.register.yamlsafe import YamlProblems, parse

PARSERS = [pytest.param(False, id="python")]
if yamlsafe.FAST_LOADER is not None:
    PARSERS.append(pytest.param(True, id="libyaml"))


@pytest.fixture(params=PARSERS)
def fast(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def refused(text: str, fast: bool) -> str:
    with pytest.raises(YamlProblems) as info:
        parse(text, "f.yaml", fast=fast)
    assert len(info.value.problems) == 1
    return str(info.value.problems[0])


def test_values_are_typed_like_yaml_1_2(fast: bool) -> None:
    text = (
        "country: NO\nyes: yes\non: off\npostal: 0150\nphone: 22334455\nzero: 0\n"
        "octal: 0o17\ntime: 1:20\nflag: true\nFlag: False\nnothing: ~\nempty:\n"
        "date: 2024-05-31\nratio: 1.5\nquoted: '12'\nexplicit: !!str 12\n"
    )
    data = parse(text, "f.yaml", fast=fast).data
    assert data == {
        "country": "NO",
        "yes": "yes",
        "on": "off",
        "postal": "0150",
        "phone": 22334455,
        "zero": 0,
        "octal": "0o17",
        "time": "1:20",
        "flag": True,
        "Flag": False,
        "nothing": None,
        "empty": None,
        "date": date(2024, 5, 31),
        "ratio": 1.5,
        "quoted": "12",
        "explicit": "12",
    }


def test_positions_of_values_and_keys_count_characters(fast: bool) -> None:
    document = parse("næringsøl: {å: 1, b: ø}\nlist:\n  - x\n  - y: 2\n", "f.yaml", fast=fast)
    assert str(document.values[("næringsøl", "b")]) == "f.yaml:1:22"
    assert str(document.keys[("næringsøl", "b")]) == "f.yaml:1:19"
    assert str(document.values[("list", 1)]) == "f.yaml:4:5"
    assert str(document.values[("list", 1, "y")]) == "f.yaml:4:8"
    assert str(document.values[()]) == "f.yaml:1:1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &x 1\nb: *x\n", "f.yaml:1:4: anchor '&x' is not allowed"),
        ("a: [*x]\n", "f.yaml:1:5: alias '*x' is not allowed"),
        ("a:\n  <<: {b: 1}\n", "f.yaml:2:3: merge keys ('<<') are not allowed"),
        ("a: !!set {b}\n", "f.yaml:1:4: tag '!!set' is not allowed"),
        ("a: !!python/name:os.system\n", "f.yaml:1:4: tag '!!python/name:os.system' is not"),
        ("a: !secret x\n", "f.yaml:1:4: tag '!secret' is not allowed"),
        ("a: 1\nb: 2\na: 3\n", "f.yaml:3:1: duplicate key 'a'; it is first given at line 1"),
        ("? [a, b]\n: 1\n", "f.yaml:1:3: a key must be a plain word"),
        ("a: 1\n---\nb: 2\n", "f.yaml:2:1: a register file holds one YAML document"),
        ("x: ø\na: \x07\n", "f.yaml:2:4: the file holds a control character"),
        ("a: !!int x1\n", "f.yaml:1:4: not a valid int"),
        ("a: !!bool yes\n", "f.yaml:1:4: not a valid bool: write true or false"),
        ("a: 2023-02-29\n", "f.yaml:1:4: not a valid timestamp"),
        ("", "f.yaml:1:1: the file is empty"),
        ("a: [1, 2\n", "f.yaml:"),
    ],
)
def test_refusals(fast: bool, text: str, expected: str) -> None:
    assert refused(text, fast).startswith(expected)


def test_depth_and_node_limits(fast: bool) -> None:
    with pytest.raises(YamlProblems, match="nested more than 10 levels deep"):
        parse("a: " + "[" * 20 + "]" * 20, "f", max_depth=10, fast=fast)
    with pytest.raises(YamlProblems, match=r"too many values in one file \(more than 100\)"):
        parse("a: [" + "1," * 200 + "]", "f", max_nodes=100, fast=fast)


def test_escaped_surrogates_are_refused(fast: bool) -> None:
    # libyaml refuses the escape itself; the Python parser accepts it and we refuse.
    message = refused('a: "x\\udc00"\n', fast)
    assert "surrogate" in message or "invalid Unicode character escape" in message
