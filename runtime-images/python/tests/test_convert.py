"""Input rules of docs/scorer-api.md, at the conversion level (the HTTP tests cover the same end to end)."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from byom_ready.schema import Column, SchemaError, mlflow_signature_to_schema, parse_schema
from byom_scorer.convert import parse_numeric_json, parse_request
from byom_scorer.errors import RequestError

SCHEMA = [
    Column("f64", "Float64"),
    Column("f32", "Float32"),
    Column("i32", "Int32"),
    Column("i64", "Int64"),
    Column("flag", "Boolean"),
    Column("name", "String"),
    Column("when", "Time64"),
]
FIELDS = [c.name for c in SCHEMA]


def request(rows, fields=FIELDS, **extra):
    return parse_request({"fields": fields, "rows": rows, **extra}, SCHEMA)


def rejected(rows, fields=FIELDS, **extra) -> str:
    with pytest.raises(RequestError) as caught:
        request(rows, fields, **extra)
    assert caught.value.status == 400
    return caught.value.message


def test_converts_typed_json_values_to_column_types():
    parsed = request([[1.5, 2, 3, 4, True, "x", "2024-01-02T03:04:05Z"]])
    assert [c.dtype for c in parsed.columns] == [
        np.float64, np.float32, np.int32, np.int64, np.bool_, object, np.dtype("datetime64[ns]")
    ]
    assert parsed.columns[6][0] == np.datetime64("2024-01-02T03:04:05")


def test_converts_h2o_style_strings_like_typed_values():
    typed = request([[1.5, 2.0, 3, 4, True, "x", "2024-01-02T03:04:05+00:00"]])
    text = request([["1.5", "2", "3", "4", "true", "x", "2024-01-02T03:04:05+00:00"]])
    for a, b in zip(typed.columns, text.columns, strict=True):
        assert a.tolist() == b.tolist()


def test_matches_fields_by_name_in_any_order():
    reordered = list(reversed(FIELDS))
    row = [1.5, 2.0, 3, 4, True, "x", "2024-01-02T00:00:00"]
    parsed = request([list(reversed(row))], fields=reordered)
    assert parsed.columns[0][0] == 1.5 and parsed.columns[2][0] == 3


def test_missing_floats_become_nan_but_missing_integers_are_refused():
    parsed = request([[None, "", 1, 1, False, None, None]])
    assert np.isnan(parsed.columns[0][0]) and np.isnan(parsed.columns[1][0])
    assert "rows[0]" in rejected([[1.0, 1.0, None, 1, False, "x", None]])


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (["abc", 1, 1, 1, True, "x", None], "f64"),
        ([1, 1e39, 1, 1, True, "x", None], "f32"),
        ([1, 1, 2**31, 1, True, "x", None], "i32"),
        ([1, 1, 1.5, 1, True, "x", None], "i32"),
        ([1, 1, 1, 2**64, True, "x", None], "i64"),
        ([1, 1, 1, True, True, "x", None], "i64"),
        ([1, 1, 1, 1, "maybe", "x", None], "flag"),
        ([1, 1, 1, 1, True, ["x"], None], "name"),
        ([1, 1, 1, 1, True, "x", "yesterday"], "when"),
    ],
)
def test_refuses_a_value_that_does_not_convert_safely_naming_field_and_row(row, field):
    good = [1.0, 1.0, 1, 1, True, "x", None]
    message = rejected([good, row])
    assert "rows[1]" in message and repr(field) in message


def test_refuses_unknown_duplicate_and_missing_fields_and_ragged_rows():
    row = [1.0, 1.0, 1, 1, True, "x", None]
    assert "unknown field 'extra'" in rejected([[*row, 1]], fields=[*FIELDS, "extra"])
    assert "appears twice" in rejected([[*row, 1.0]], fields=[*FIELDS, "f64"])
    assert "missing required field 'when'" in rejected([row[:-1]], fields=FIELDS[:-1])
    assert "rows[1] has 6 values" in rejected([row, row[:-1]])


def test_id_field_may_be_an_extra_field_and_is_generated_when_absent():
    row = [1.0, 1.0, 1, 1, True, "x", None]
    given = request([[*row, "r1"]], fields=[*FIELDS, "key"], idField="key")
    assert given.ids == ["r1"]
    generated = request([row, row], idField="key")
    assert generated.ids is not None and len(set(generated.ids)) == 2


def test_schema_parsing_is_case_insensitive_and_canonical():
    assert parse_schema('[{"name": "a", "type": "float64"}]', "s") == [Column("a", "Float64")]
    with pytest.raises(SchemaError):
        parse_schema('[{"name": "a", "type": "decimal"}]', "s")


def test_tensor_input_signatures_are_refused_but_tensor_outputs_become_columns():
    with pytest.raises(SchemaError, match="tensor-based"):
        mlflow_signature_to_schema('[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]', "inputs", "x")
    outputs = mlflow_signature_to_schema(
        '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2]}}]', "outputs", "prediction"
    )
    assert outputs == [Column("prediction.0", "Float32"), Column("prediction.1", "Float32")]


NUMERIC = [Column("f64", "Float64"), Column("f32", "Float32"), Column("i32", "Int32"), Column("i64", "Int64"), Column("flag", "Boolean")]


def test_small_numeric_requests_take_the_matrix_path_with_the_same_values():
    rows = [[0.1, 0.1, 7, 2**40, True], [-1.5, 3.0, -2, 5, False]]
    fields = [c.name for c in NUMERIC]
    fast = parse_request({"fields": fields, "rows": rows}, NUMERIC)
    checked = parse_request({"fields": fields, "rows": rows, "idField": "id"}, NUMERIC)
    assert fast.columns.matrix is not None
    for a, b in zip(fast.columns, checked.columns, strict=True):
        assert a.dtype == b.dtype and a.tolist() == b.tolist()


@pytest.mark.parametrize("value", [2**31, "7", 1.5, None])
def test_the_matrix_path_leaves_anything_unusual_to_the_checked_path(value):
    fields = [c.name for c in NUMERIC]
    with pytest.raises(RequestError) if value in (2**31, 1.5, None) else _no_error():
        parsed = parse_request({"fields": fields, "rows": [[1.0, 1.0, value, 1, True]]}, NUMERIC)
        assert parsed.columns.matrix is None and parsed.columns[2].tolist() == [7]


NUMBERS = [
    Column("f64", "Float64"),
    Column("f[32]", "Float32"),
    Column("i32", "Int32"),
    Column("i64", "Int64"),
    Column("flag", "Boolean"),
]


SHUFFLED = ["i64", "f[32]", "flag", "f64", "i32"]


def _numeric_body(rows: list[list[object]] | None = None, fields: list[str] = SHUFFLED, **extra: object) -> bytes:
    """A JSON body of 2,000 rows (about 100 KB) for NUMBERS, by default fields in another order than the schema."""
    rng = np.random.default_rng(13)
    generated = [
        [
            int(rng.integers(-(2**53) + 1, 2**53)),
            float(rng.normal() * 1e6),
            bool(rng.random() < 0.3),
            float(rng.normal()),
            int(rng.integers(-(2**31), 2**31)),
        ]
        for _ in range(2000)
    ]
    generated[0] = [2**53 - 1, 3.4028234663852886e38, True, -0.0, 2**31 - 1]  # the edges that are still taken
    generated[1] = [-(2**53) + 1, -3.4e38, False, 1e-300, -(2**31)]
    generated[2] = [7.0, 0, True, 5, -3.0]  # integers written as 7.0, a float column given an integer
    all_rows = (rows or []) + generated
    if fields != SHUFFLED:
        all_rows = [[row[SHUFFLED.index(name)] for name in fields] for row in all_rows]
    return orjson.dumps({"fields": fields, "rows": all_rows, **extra})


@pytest.mark.parametrize("fields", [SHUFFLED, [c.name for c in NUMBERS]], ids=["other order", "schema order"])
@pytest.mark.parametrize("kept", [True, False], ids=["kept parser", "parser of its own"])
def test_large_number_only_json_bodies_are_read_into_the_matrix_with_the_orjson_paths_values(fields, kept, monkeypatch):
    import byom_scorer.convert as convert

    if not kept:  # as for a body over the size up to which the parser and its buffer are kept
        monkeypatch.setattr(convert, "_KEPT_BYTES", 1024)
    body = _numeric_body(fields=fields, noFieldNamesInOutput=True)
    fast = parse_numeric_json(body, NUMBERS)
    checked = parse_request(orjson.loads(body), NUMBERS)
    assert fast is not None and fast.columns.matrix is not None
    assert (fast.row_count, fast.no_field_names, fast.ids) == (checked.row_count, True, None)
    for a, b in zip(fast.columns, checked.columns, strict=True):
        assert a.dtype == b.dtype
        assert np.array_equal(a, b) and np.array_equal(np.signbit(a), np.signbit(b))
    from byom_scorer.model import as_matrix

    assert np.array_equal(as_matrix(fast.columns, fast.row_count), as_matrix(checked.columns, checked.row_count))


@pytest.mark.parametrize(
    ("row", "extra", "checked_says"),
    [
        ([1, 1.0, True, None, 1], {}, None),  # a missing float: NaN on the checked path
        ([1, 1.0, True, "2.5", 1], {}, None),  # a string
        ([1, 1.0, True, True, 1], {}, "boolean"),  # a boolean in a number column
        ([1, 1.0, True, 7e77, 1], {}, None),  # the number true is read as, in a number column
        ([1, 1.0, 7e77, 1.0, 1], {}, "Boolean"),  # ... and in a Boolean column
        ([1, 1.0, True, 1.0, 1], {"note": -7e77}, None),  # ... and in the header
        ([1, 1.0, 1, 1.0, 1], {}, None),  # 1 in a Boolean column: true by the rules
        ([1, 1.0, 0.0, 1.0, 1], {}, "Boolean"),  # 0.0 in a Boolean column: refused by the rules
        ([1, 1.0, True, 1.0, 1.5], {}, "fractional"),
        ([1, 1.0, True, 1.0, 2**31], {}, "out of range"),
        ([2**53, 1.0, True, 1.0, 1], {}, None),  # taken exactly by the checked path
        ([1, 3.5e38, True, 1.0, 1], {}, "Float32"),
        ([1, 1.0, True, [1.0], 1], {}, "list"),  # nesting that flattening would hide
        ([[1, 1.0], True, 1.0, 1], {}, "has 4 values"),  # nesting and a short row: five values in all
        ([1, 1.0, True, 1.0], {}, "has 4 values"),
        ([1, 1.0, True, 1.0, 1], {"idField": "i64"}, None),
        ([1, 1.0, True, 1.0, 1], {"includeFieldsInOutput": ["f64"]}, None),
        ([1, 1.0, True, 1.0, 1], {"note": "true story"}, None),  # "true" inside a string
    ],
)
def test_large_json_bodies_leave_anything_but_plain_numbers_to_the_orjson_path(row, extra, checked_says):
    body = _numeric_body([row], **extra)
    assert parse_numeric_json(body, NUMBERS) is None
    if checked_says is None:
        assert parse_request(orjson.loads(body), NUMBERS).row_count == 2001
    else:
        with pytest.raises(RequestError) as caught:
            parse_request(orjson.loads(body), NUMBERS)
        assert checked_says in caught.value.message


def test_large_json_bodies_of_other_shapes_go_the_orjson_way_too():
    body = _numeric_body()
    assert parse_numeric_json(body, NUMBERS) is not None
    escaped = body.replace(b'"f[32]"', b'"f\\u005b32]"', 1)  # the same field name, its bracket escaped
    assert orjson.loads(escaped)["fields"] == orjson.loads(body)["fields"]
    assert parse_numeric_json(escaped, NUMBERS) is None
    # An empty array in one row and a pair in another: each row has 5 values and the whole body
    # as many numbers as 2,002 plain rows; only the count of brackets tells.
    hidden = _numeric_body([[1, 1.0, True, [], 1], [1, [1.0, 2.0], True, 1.0, 1]])
    assert parse_numeric_json(hidden, NUMBERS) is None
    with pytest.raises(RequestError, match="list"):
        parse_request(orjson.loads(hidden), NUMBERS)
    assert parse_numeric_json(body[:-1], NUMBERS) is None  # not valid JSON
    assert parse_numeric_json(b'{"rows": [], ' + body[1:], NUMBERS) is None  # "rows" twice
    assert parse_numeric_json(body, [*NUMBERS[:4], Column("flag", "String")]) is None
    with pytest.raises(RequestError, match="missing required field"):  # the header's rules apply
        parse_numeric_json(body, [*NUMBERS, Column("other", "Float64")])


def test_text_and_null_bodies_go_the_orjson_way_before_any_parse(monkeypatch):
    import byom_scorer.convert as convert

    def parsed(*_args):
        raise AssertionError("parsed a body the cheap checks should have sent the orjson way")

    monkeypatch.setattr(convert, "_booleans_as_numbers", parsed)
    as_text = orjson.dumps({"fields": SHUFFLED, "rows": [[str(v) for v in row] for row in orjson.loads(_numeric_body())["rows"]]})
    assert parse_numeric_json(as_text, NUMBERS) is None
    assert parse_numeric_json(_numeric_body([[1, 1.0, True, None, 1]]), NUMBERS) is None


def test_the_kept_parser_leaves_earlier_answers_alone_and_survives_errors():
    first = parse_numeric_json(_numeric_body(), NUMBERS)
    kept = [column.copy() for column in first.columns]
    with pytest.raises(RequestError):
        parse_numeric_json(_numeric_body(), [*NUMBERS, Column("other", "Float64")])
    second = parse_numeric_json(_numeric_body([[5, 5.0, False, 5.0, 5]]), NUMBERS)
    assert second is not None and second.row_count == 2001 and second.columns[0][0] == 5.0
    assert all(np.array_equal(a, b) for a, b in zip(first.columns, kept, strict=True))


class _no_error:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_answers_write_numbers_as_repr_and_str_do():
    from byom_scorer.model import as_text_columns

    rng = np.random.default_rng(5)
    floats = np.concatenate([
        rng.random(200) * 10.0 ** rng.integers(-323, 308, 200).astype(float),
        rng.normal(size=2000),
        np.array([0.0, -0.0, 1.0, -1.0, 5e-324, 1.7976931348623157e308, 1e16, 1e15, 1e-4, 1e-5, 9.99e-5, 1.5e-9,
                  1e-10, 123456789012345678.0, np.nan, np.inf, -np.inf]),
    ])
    floats = np.concatenate([floats, -floats])
    ints = np.array([0, 1, -1, 2**63 - 1, -(2**63), 7, 2**31], dtype=np.int64)
    texts = as_text_columns([floats, ints, np.array([], dtype=np.float64), np.array([2**64 - 1], dtype=np.uint64)])
    assert texts[0] == [repr(value) for value in floats.tolist()]
    assert texts[1] == [str(value) for value in ints.tolist()]
    assert texts[2] == [] and texts[3] == [str(2**64 - 1)]


def test_score_rows_joined_as_text_are_the_bytes_orjson_writes():
    import orjson

    from byom_scorer.model import as_text_columns, score_json

    rng = np.random.default_rng(6)
    floats = np.concatenate([rng.normal(size=500) * 10.0 ** rng.integers(-12, 12, 500), [np.nan, np.inf, -np.inf, 1e-5, -0.0]])
    rows = len(floats)
    columns = {
        "float64": floats,
        "float32": floats.astype(np.float32),
        "int64": rng.integers(-(2**62), 2**62, rows),
        "uint8": rng.integers(0, 255, rows).astype(np.uint8),
        "bool": rng.random(rows) < 0.5,
        "text": np.array([f'a "quoted" \\ {i}' for i in range(rows)], dtype=object),
    }

    def reference(cols, texts=()):
        return orjson.dumps(list(zip(*texts, *as_text_columns(cols))))

    for kinds in (["float64"], ["int64"], ["bool"], ["float32"], ["uint8"], ["float64", "float32", "int64", "bool"], ["text"],
                  ["int64", "text"]):
        cols = [columns[kind] for kind in kinds]
        assert score_json(cols) == reference(cols), kinds
    ids = [f"id-{i}" for i in range(rows)]
    assert score_json([columns["int64"]], [ids]) == reference([columns["int64"]], [ids])
