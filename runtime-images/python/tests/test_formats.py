"""Columnar values (Arrow arrays: CSV cells, Arrow/Parquet columns, V2 tensors) against the JSON
path, which states the input rules (docs/runtimes.md).

Property: a value sent in a columnar body converts exactly as the same value sent in JSON (text
as JSON text, typed values as JSON values): the same typed column bit for bit (NaN and -0.0
included), or a 400 for both, naming the column and the row.
"""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest

from byom_ready.schema import Column
from byom_scorer.convert import checked_column, convert_arrow, convert_column, convert_values
from byom_scorer.errors import RequestError
from tests.test_convert import SCHEMA  # every column type once

EDGE_FLOATS = [0.0, -0.0, 1e-320, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 3.4028234663852886e38,
               3.4028235677973366e38, 1e39, 0.1, 1 / 3, 9007199254740993.0, 123456.789, -2.5e-7]
EDGE_INTS = [0, 1, -1, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**53 + 1, 2**63 - 1, -(2**63), 7]
WORDS = ["", "NA", "nan", "None", "null", "true", "False", "yes", "Y", "t", "n", "no", "F", "0", "1", "01", "-0",
         "+5", "007", "1.5", "5.", ".5", "1e5", "1E-3", "-2.50", " 3", "4 ", "1_000", "inf", "-Infinity", "abc",
         "2024-01-02T03:04:05Z", "2024-01-02", "x\"y", "tab\there", "é", "日本", "😀", "\u2028", "12345678901234567890",
         "1e400", "-1e400", "0x10", "1,5", "١٢", "9223372036854775808", "2147483648", "3.0", "1e-400", "NaN", "TRUE",
         "0x1p3", "1e", "1.2.3", "--1", "+-1", "1d5", "infinity", "+inf", "nan(1)", "0b1", "0o7", "1 000", "½", "1e+", "e5", "."]


def outcome(convert):
    try:
        return convert()
    except RequestError as error:
        assert error.status == 400
        return error


def same(a, b) -> bool:
    if isinstance(a, RequestError) or isinstance(b, RequestError):
        return isinstance(a, RequestError) and isinstance(b, RequestError)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == object:
        return a.tolist() == b.tolist()
    return np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


@pytest.fixture(autouse=True)
def _bulk_from_one_value(monkeypatch):
    """The bulk conversions serve from 64 values up; the generated cases are shorter."""
    from byom_scorer import convert

    monkeypatch.setattr(convert, "_BULK_ROWS", 1)


@pytest.mark.parametrize("column", SCHEMA, ids=[c.type for c in SCHEMA])
def test_text_converts_as_json_text(column):
    rng = random.Random(column.type)
    cases = [[word] * 3 for word in WORDS]
    cases += [[repr(value) for value in EDGE_FLOATS], [str(value) for value in EDGE_INTS]]
    cases += [[rng.choice(WORDS) for _ in range(rng.randint(1, 12))] for _ in range(300)]
    cases += [[repr(rng.normalvariate(0, 1) * 10 ** rng.randint(-30, 30)) for _ in range(50)] for _ in range(20)]
    cases += [[str(rng.randint(-(2**40), 2**40)) for _ in range(50)] for _ in range(20)]
    for values in cases:
        expected = outcome(lambda: checked_column(values, column, 0))
        got = outcome(lambda: convert_arrow(pa.array(values, pa.string()), column, 0))
        assert same(got, expected), (column, values, got, expected)
        got = outcome(lambda: convert_column(values, column, 0))  # JSON strings, converted in bulk
        assert same(got, expected), (column, values, got, expected)
        if isinstance(expected, RequestError):
            assert got.message == expected.message


@pytest.mark.parametrize("column", SCHEMA, ids=[c.type for c in SCHEMA])
def test_typed_arrow_columns_convert_as_the_same_json_values(column):
    rng = random.Random(column.type + "typed")
    pools = {
        "float": [*EDGE_FLOATS, *(-v for v in EDGE_FLOATS), float("nan"), 2.5, 3.0],
        "int": EDGE_INTS + [-v for v in EDGE_INTS],
        "bool": [True, False],
    }
    for kind, pool in pools.items():
        for nulls in (False, True):
            for _ in range(60):
                values = [rng.choice(pool) for _ in range(rng.randint(1, 10))]
                if nulls:
                    values[rng.randrange(len(values))] = None
                try:
                    array = pa.array(values)
                except (pa.ArrowInvalid, OverflowError):
                    continue
                json_values = [None if isinstance(v, float) and v != v else v for v in values] if kind != "float" else values
                expected = outcome(lambda: checked_column(json_values, column, 0))
                got = outcome(lambda: convert_arrow(array, column, 0))
                if column.type == "String" and kind == "float":
                    continue  # JSON writes a float as text its own way; not a columnar concern
                assert same(got, expected), (column, kind, values, got, expected)


@pytest.mark.parametrize("column", SCHEMA, ids=[c.type for c in SCHEMA])
def test_json_columns_convert_in_bulk_as_value_by_value(column):
    """convert_column (pyarrow over the whole column) against the rules applied to each value:
    the same column bit for bit, or the same 400 naming the same row."""
    rng = random.Random(column.type + "json")
    pools = [
        [*EDGE_FLOATS, *(-v for v in EDGE_FLOATS), 2.5, 3.0, 1.0, 0.0],
        EDGE_INTS + [-v for v in EDGE_INTS] + [2**64, -(2**63) - 1],
        [True, False],
        [None],
        WORDS,
        [["x"], {"a": 1}],
    ]
    cases = [[value] * 3 for pool in pools for value in pool]
    cases += [[1.5, True, 2.0], [0.0, False], [1.0, 1, True], [True, 1.0], [1, True], [True, 1], [0, 1, 1], [1, 2],
              [None, 1], [1, None], [1.5, None], ["1", 2], [2, "1"], ["1.5", None], [3.0, 4], [2**53 + 1, 0.5]]
    for _ in range(400):
        chosen = [rng.choice(pool) for pool in rng.sample(pools, rng.randint(1, 3))]
        cases.append([rng.choice(chosen) for _ in range(rng.randint(1, 12))])
    for values in cases:
        expected = outcome(lambda: checked_column(values, column, 3))
        got = outcome(lambda: convert_column(values, column, 3))
        assert same(got, expected), (column, values, got, expected)
        if isinstance(expected, RequestError):
            assert got.message == expected.message
        # V2 JSON tensors: the same values, errors worded by row and column
        assert same(outcome(lambda: convert_values(values, column, 0)), expected), (column, values)


def test_errors_name_the_column_and_the_row_counted_across_batches():
    column = Column("age", "Int64")
    with pytest.raises(RequestError) as caught:
        convert_arrow(pa.array(["1", "2", "x"]), column, 65536)
    assert caught.value.status == 400
    assert "row 65538 column 'age'" in caught.value.message


def test_timestamps_with_a_zone_become_utc():
    column = Column("when", "Time64")
    instant = int(np.datetime64("2024-01-02T03:04:05", "ns").astype(np.int64))  # Arrow stores UTC
    array = pa.array([instant], pa.timestamp("ns", tz="Europe/Paris"))
    expected = checked_column(["2024-01-02T03:04:05+00:00"], column, 0)
    assert same(convert_arrow(array, column, 0), expected)


# ---- typed reading (Arrow's CSV reader on CSV bodies) -----------------------------------------

TYPED = [Column("f64", "Float64"), Column("f32", "Float32"), Column("i32", "Int32"), Column("i64", "Int64"), Column("flag", "Boolean")]


def _csv(names, rows) -> bytes:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(rows)
    return out.getvalue().encode()


def _columns(batches, schema):
    """Every batch converted and joined per column; the error if one is refused."""
    def run():
        parts = [[convert_arrow(batch.column(c.name), c, first) for c in schema] for first, batch in _numbered(batches)]
        return [np.concatenate([p[i] for p in parts]) if parts else None for i in range(len(schema))]
    return outcome(run)


def _numbered(batches):
    first = 0
    for batch in batches:
        yield first, batch
        first += batch.num_rows


def _same_columns(a, b) -> bool:
    if isinstance(a, RequestError) or isinstance(b, RequestError):
        return isinstance(a, RequestError) and isinstance(b, RequestError) and a.message == b.message
    return all(x is None and y is None or same(x, y) for x, y in zip(a, b, strict=True))


def _typed_and_text(body: bytes, schema):
    import io

    from byom_scorer import formats

    typed = _columns(formats.read_batches(formats.CSV, io.BytesIO(body), schema), schema)
    text = _columns(formats._text_csv_batches(io.BytesIO(body), schema, 0), schema)
    return typed, text


@pytest.mark.parametrize("column", TYPED, ids=[c.type for c in TYPED])
def test_csv_cells_read_typed_convert_as_the_text_path_does(column):
    """Arrow's typed reading of CSV cells against the text path (which the tests above hold to
    the JSON rules): the same columns bit for bit, or the same 400."""
    rng = random.Random(column.type + "csv")
    words = [w for w in WORDS if "\n" not in w and "\u2028" not in w]
    cases = [[word] for word in words] + [[word.upper()] for word in words] + [[f" {w}"] for w in ("1", "true", "NA")]
    cases += [[repr(v) for v in EDGE_FLOATS], [str(v) for v in EDGE_INTS], ["0X1f"], ["NaN(x)", "1"], ["1", "nAn"]]
    cases += [[rng.choice(words) for _ in range(rng.randint(1, 12))] for _ in range(300)]
    for values in cases:
        body = _csv([column.name], [[v] for v in values])
        typed, text = _typed_and_text(body, [column])
        assert _same_columns(typed, text), (column, values, typed, text)


def test_csv_typed_reading_keeps_row_numbers_and_text_columns_when_it_hands_over_mid_body(monkeypatch):
    from byom_scorer import formats

    monkeypatch.setattr(formats, "BATCH_ROWS", 1000)
    monkeypatch.setattr(formats, "WHOLE_CSV_BYTES", 0)  # block by block, as for a large body
    monkeypatch.setattr(formats, "CSV_BLOCK_BYTES", 16 * 1024)
    schema = [*TYPED, Column("name", "String"), Column("when", "Time64")]
    rng = random.Random(11)
    rows = [[repr(rng.normalvariate(0, 1)), "1.5", str(rng.randint(-5, 5)), "007", rng.choice(["true", "F", "1"]),
             rng.choice(["a", "", "NA", "0x1"]), "2024-01-02T03:04:05Z"] for _ in range(20_000)]
    names = [c.name for c in schema]
    typed, text = _typed_and_text(_csv(names, rows), schema)
    assert not isinstance(typed, RequestError) and _same_columns(typed, text)
    for late, value, column in ((15_000, "1_000", 3), (12_345, "0x10", 2), (17_000, "nan(2)", 0), (19_999, "", 2)):
        changed = [list(row) for row in rows]
        changed[late][column] = value
        typed, text = _typed_and_text(_csv(names, changed), schema)
        assert _same_columns(typed, text), (value, typed, text)
    changed = [list(row) for row in rows]
    changed[18_500][3] = "lots"
    typed, _ = _typed_and_text(_csv(names, changed), schema)
    assert isinstance(typed, RequestError) and "row 18500 column 'i64'" in typed.message


def test_a_plain_numeric_csv_is_read_typed_without_the_text_path(monkeypatch):
    import io

    from byom_scorer import formats

    def no_text(*args):
        raise AssertionError("the text path read a plain numeric body")

    monkeypatch.setattr(formats, "_text_csv_batches", no_text)
    body = _csv([c.name for c in TYPED], [["1.5", "NA", "-3", "9007199254740993", "yes"], ["-0.0", "3e38", "0", "7", "F"]])
    batches = list(formats.read_batches(formats.CSV, io.BytesIO(body), TYPED))
    assert [str(batches[0].column(c.name).type) for c in TYPED] == ["double", "double", "int32", "int64", "bool"]
    columns = _columns(batches, TYPED)
    assert columns[3].tolist() == [9007199254740993, 7] and columns[4].tolist() == [True, False]
