"""The native reader (byom_rows + byom_scorer.fast_rows) against the checked path it shortcuts.

Property: for any body, the fast path either declines (None) or gives exactly what
orjson + parse_request give: the same typed columns (bit for bit, NaN and -0.0 included), ids,
echoed columns and flags, or the same 400. It must never accept a body orjson refuses.
"""

from __future__ import annotations

import json
import math
import random
import struct

import numpy as np
import orjson
import pytest

from byom_ready.schema import Column
from byom_scorer import fast_rows
from byom_scorer.convert import parse_request
from byom_scorer.errors import RequestError
from byom_scorer.fast_rows import parse_request_bytes
from tests.test_convert import SCHEMA  # every column type once

NUMERIC = [c for c in SCHEMA if c.type not in ("String", "Time64")]


def test_the_native_reader_is_built_into_the_environment():
    # The images and the local runner compile runtime-images/native/byom_rows.c; without it
    # large batches would silently take the slower path.
    assert fast_rows.AVAILABLE, "byom_rows is not importable: run runtime-images/native/build.py"


def slow(body: bytes, schema: list[Column]):
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "415"
    try:
        return parse_request(payload, schema)
    except RequestError as error:
        return (error.status, error.message)


def fast(body: bytes, schema: list[Column]):
    try:
        return parse_request_bytes(body, schema)
    except RequestError as error:
        return (error.status, error.message)


def same_column(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == object:
        return a.tolist() == b.tolist()
    return np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


def check(body: bytes, schema: list[Column] = SCHEMA):
    """Asserts the property; returns whether the fast path answered."""
    expected, got = slow(body, schema), fast(body, schema)
    if got is None:
        return False
    if isinstance(got, tuple):
        assert got == expected, body[:300]
        return True
    assert not isinstance(expected, (str, tuple)), (expected, body[:300])
    assert got.row_count == expected.row_count
    assert got.no_field_names == expected.no_field_names and got.id_field == expected.id_field
    for a, b, column in zip(got.columns, expected.columns, schema, strict=True):
        assert same_column(a, b), (column, a[:5], b[:5])
    assert got.included == expected.included
    if expected.ids is None:
        assert got.ids is None
    elif expected.id_field is not None and orjson.loads(body).get("idField") in orjson.loads(body)["fields"]:
        assert got.ids == expected.ids
    else:
        assert len(got.ids) == len(expected.ids)  # generated uuids
    return True


# ---- values of every kind a client sends -------------------------------------------------

EDGE_FLOATS = [0.0, -0.0, 1e-320, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 3.4028234663852886e38,
               3.4028235677973366e38, 1e39, 0.1, 1 / 3, 9007199254740993.0, 123456.789, -2.5e-7]
EDGE_INTS = [0, 1, -1, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**53 + 1, 2**63 - 1, -(2**63), 2**63, 2**64 - 1, 7]
WORDS = ["", "NA", "nan", "None", "null", "true", "False", "yes", "Y", "t", "n", "no", "F", "0", "1", "01", "-0",
         "+5", "007", "1.5", "5.", ".5", "1e5", "1E-3", "-2.50", " 3", "4 ", "1_000", "inf", "-Infinity", "abc",
         "2024-01-02T03:04:05Z", "2024-01-02", "x\"y", "tab\there", "é", "日本", "😀", "\u2028", "12345678901234567890"]


def random_value(rng: random.Random):
    kind = rng.randrange(9)
    if kind == 0:
        return rng.choice(EDGE_FLOATS) * rng.choice((1, -1))
    if kind == 1:
        return rng.choice(EDGE_INTS) * rng.choice((1, -1))
    if kind == 2:
        return rng.choice((True, False, None))
    if kind == 3:
        return rng.choice(WORDS)
    if kind == 4:
        return repr(rng.normalvariate(0, 10))
    if kind == 5:
        return str(rng.randint(-(10**12), 10**12))
    if kind == 6:
        return round(rng.uniform(-100, 100), rng.randint(0, 6))
    if kind == 7:
        return rng.normalvariate(0, 1)
    return rng.randint(-1000, 1000)


# Values each column type takes, in the spellings clients use (typed JSON and H2O-style text).
VALID = {
    "Float64": [0.5, -0.0, 0.0, 1e-320, 1.7976931348623157e308, 3, -7, 2**53 + 1, None, "1.5", "-0", "0", "1", "007",
                "NA", "nan", "", "None", "NULL", "+2.5e3", ".5", "5.", "1e-400", "123456789012345678901", "-1E5"],
    "Float32": [0.5, -2.25, 3.4028234663852886e38, 1e-45, 12, None, "3.25", "NA", "", "1", "0", "-0", "1e38"],
    "Int64": [0, 1, -1, 2**63 - 1, -(2**63), 123, "42", "+5", "-17", "007", "0", "1", "9223372036854775807"],
    "Int32": [0, 1, -1, 2**31 - 1, -(2**31), 99, "12", "-2147483648", "0", "1"],
    "Boolean": [True, False, 0, 1, "true", "FALSE", "yes", "No", "y", "N", "t", "F", "1", "0"],
    "String": ["a", "", "é", "日本", "😀", "x\"y", "tab\there", "\u2028", None, True, 12, 2.5, "1.5", "NA"],
    "Time64": ["2024-01-02T03:04:05Z", "2024-01-02", None, "", "NA", "2024-03-04T05:06:07+02:00"],
}


def typical_value(column: Column, rng: random.Random, as_text: bool):
    kind = column.type
    if kind.startswith("Float"):
        value = rng.normalvariate(0, 1) if rng.random() < 0.9 else None
    elif kind.startswith("Int"):
        value = rng.randint(-1000, 1000)
    elif kind == "Boolean":
        value = rng.random() < 0.5
    elif kind == "String":
        value = rng.choice(["a", "b", "é", "x y", ""])
    else:
        value = f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T00:00:00Z"
    if as_text and value is not None and not isinstance(value, str):
        value = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return value


def body_of(fields, rows, **extra) -> bytes:
    return json.dumps({"fields": fields, "rows": rows, **extra}).encode()


# ---- the property ---------------------------------------------------------------------------


@pytest.mark.parametrize("as_text", [False, True], ids=["typed", "h2o-strings"])
def test_typical_bodies_are_read_natively_and_identically(as_text):
    rng = random.Random(11)
    fields = [c.name for c in SCHEMA]
    rows = [[typical_value(c, rng, as_text) for c in SCHEMA] for _ in range(3000)]
    assert check(body_of(fields, rows))
    shuffled = fields[::-1]
    assert check(body_of(shuffled, [row[::-1] for row in rows]))
    compact = orjson.dumps({"rows": rows, "fields": fields})  # rows first, no spaces
    assert check(compact)


def test_id_and_echoed_fields_are_text_as_the_checked_path_makes_them():
    rng = random.Random(5)
    fields = [c.name for c in SCHEMA] + ["rowId"]
    rows = [[typical_value(c, rng, False) for c in SCHEMA] + [rng.choice([f"r{i}", i, 1.5, None, True])] for i in range(500)]
    assert check(body_of(fields, rows, idField="rowId", includeFieldsInOutput=["f64", "flag", "name"]))
    assert check(body_of(fields, rows, idField="generated", includeFieldsInOutput=["i64"], noFieldNamesInOutput=True)
                 .replace(b'"rowId"', b'"generated"'))


def test_every_accepted_spelling_agrees_with_the_checked_path():
    rng = random.Random(2024)
    answered = 0
    for trial in range(400):
        schema = SCHEMA if trial % 2 else NUMERIC
        fields = [c.name for c in schema]
        pools = [rng.sample(VALID[c.type], rng.randint(1, 4)) for c in schema]
        rows = [[rng.choice(pool) for pool in pools] for _ in range(rng.randint(1, 30))]
        answered += check(body_of(fields, rows), schema)
    assert answered > 200  # the fast path is taken, not only declined


@pytest.mark.parametrize("kind", sorted(VALID))
def test_each_accepted_spelling_is_read_natively(kind):
    column = Column("x", kind)
    for value in VALID[kind]:
        body = body_of(["x"], [[value]] * 3)
        assert check(body, [column]), f"{kind} {value!r} was sent the checked way"


def test_random_values_in_every_column_agree_with_the_checked_path():
    rng = random.Random(2025)
    for trial in range(600):
        schema = SCHEMA if trial % 2 else NUMERIC
        fields = [c.name for c in schema]
        pools = [VALID[c.type] for c in schema]
        rows = [[rng.choice(pool) for pool in pools] for _ in range(rng.randint(1, 8))]
        for _ in range(rng.randint(1, 3)):  # values a column may or may not take
            rows[rng.randrange(len(rows))][rng.randrange(len(fields))] = random_value(rng)
        check(body_of(fields, rows), schema)


def test_errors_are_the_same_400s():
    fields = [c.name for c in NUMERIC]
    good = [1.5, 2.5, 3, 4, True]
    cases = [
        {"fields": fields + ["f64"], "rows": [good + [1.0]]},
        {"fields": fields[:-1], "rows": [good[:-1]]},
        {"fields": fields + ["extra"], "rows": [good + [1]]},
        {"fields": fields, "rows": [good], "includeFieldsInOutput": ["nope"]},
        {"fields": fields, "rows": [good], "idField": 5},
        {"fields": fields, "rows": [good], "noFieldNamesInOutput": "yes"},
        {"fields": "f64", "rows": [good]},
    ]
    for case in cases:
        body = json.dumps(case).encode()
        expected = slow(body, NUMERIC)
        assert isinstance(expected, tuple) and expected[0] == 400
        got = fast(body, NUMERIC)
        assert got is None or got == expected


def test_malformed_json_is_never_accepted():
    rng = random.Random(9)
    fields = [c.name for c in SCHEMA]
    base = body_of(fields, [[typical_value(c, rng, False) for c in SCHEMA] for _ in range(20)], idField="name")
    corrupt = [b"\xff", b"\xed\xa0\x80", b"\\ud800", b"\\x", b"\x01", b"01", b"1.", b".5", b"+1", b"NaN", b"Infinity",
               b"[", b"]", b"{", b"}", b",", b":", b'"', b"tru", b"nul", b"-", b"1e", b"e5", b" "]
    for trial in range(1500):
        at = rng.randrange(len(base))
        if trial % 3 == 0:
            mutated = base[:at] + base[at + 1 :]
        elif trial % 3 == 1:
            mutated = base[:at] + rng.choice(corrupt) + base[at:]
        else:
            mutated = base[:at]
        expected = slow(mutated, SCHEMA)
        got = fast(mutated, SCHEMA)
        if expected == "415":
            assert got is None, mutated
        else:
            check(mutated)


@pytest.mark.parametrize(
    "text",
    ["0", "-0", "1", "-1", "0.1", "-0.0", "1e23", "1E-7", "2.5e+3", "9007199254740993", "9223372036854775807",
     "-9223372036854775808", "1.7976931348623157e308", "4.9e-324", "1e-400", "123456789.123456789123",
     "0.30000000000000004", "2.2250738585072011e-308", "7.2057594037927933e16", "1.00000000000000011102230246251565404236316680908203125"],
)
def test_numbers_read_as_orjson_reads_them(text):
    got = fast_rows.byom_rows.parse_float(text.encode())
    expected = orjson.loads(text)
    assert type(got) is type(expected)
    assert struct.pack("<d", float(got)) == struct.pack("<d", float(expected))


def test_refused_numbers_are_refused():
    for text in ["01", "1.", ".5", "+1", "1e", "-", "NaN", "1e400", "-1e400", "18446744073709551616", "9223372036854775808"]:
        assert fast_rows.byom_rows.parse_float(text.encode()) is None, text


def test_floats_are_correctly_rounded_like_float():
    rng = random.Random(77)
    for _ in range(200_000):
        choice = rng.randrange(4)
        if choice == 0:
            text = repr(rng.normalvariate(0, 1) * 10 ** rng.randint(-30, 30))
        elif choice == 1:
            digits = str(rng.randint(1, 10**19 - 1))
            text = f"{digits}e{rng.randint(-40, 40)}"
        elif choice == 2:  # exactly halfway between two doubles
            x = rng.uniform(1, 2) * 2.0 ** rng.randint(-60, 60)
            from decimal import Decimal

            text = format((Decimal(x) + Decimal(math.nextafter(x, math.inf))) / 2, "e")
        else:
            text = repr(struct.unpack("<d", struct.pack("<Q", rng.getrandbits(63)))[0])
        if "inf" in text or "nan" in text:
            continue
        got = fast_rows.byom_rows.parse_float(text.encode())
        if got is None:
            continue
        assert struct.pack("<d", float(got)) == struct.pack("<d", float(text)), text


def test_a_large_body_is_read_by_two_threads_with_the_same_result():
    rng = random.Random(3)
    fields = [c.name for c in NUMERIC]
    rows = [[typical_value(c, rng, False) for c in NUMERIC] for _ in range(20_000)]
    body = body_of(fields, rows)
    assert len(body) > fast_rows.byom_rows.SPLIT_BYTES * 2
    one = fast_rows.byom_rows.parse(body, 1)
    two = fast_rows.byom_rows.parse(body, 2)
    assert one[1][:2] == two[1][:2] == (20_000, len(fields))
    assert bytes(one[1][2]) == bytes(two[1][2]) and bytes(one[1][3]) == bytes(two[1][3])
    assert check(body, NUMERIC)
    # a guessed split inside a string must not be taken for a row boundary
    tricky = body_of(["name"] + fields, [["], [1, 2, 3, 4, 5]"] + row for row in rows[:5000]])
    assert check(tricky, [Column("name", "String"), *NUMERIC])
