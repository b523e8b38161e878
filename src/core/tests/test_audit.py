"""How audit details are normalised before they are stored (core.audit)."""


def test_plain_details_skip_the_round_trip_but_store_the_same_as_the_encoder_would():
    """``audit.clean_details``: plain JSON takes the fast path; dates, decimals, tuples and
    enum members come out exactly as the DjangoJSONEncoder round trip gives them."""
    import datetime as dt
    import json
    from decimal import Decimal

    from django.core.serializers.json import DjangoJSONEncoder

    from catalog.models import SharingType
    from core.audit import _clean_details, clean_details

    for details in (
        {"rows": 3, "items": ["a", "b"], "nested": {"x": None, "y": 1.5, "ok": True}, "big": 2**70},
        {
            "when": dt.date(2026, 11, 26),
            "amount": Decimal("1.10"),
            "pair": (1, 2),
            "kind": SharingType.CONDITIONAL,
        },
        {"text": "a\x00b", "nan": float("nan"), "huge": 1e16, 5: "int key"},
        # the exact-type fast path's edges: 64-bit bounds, bools (ints to isinstance), NUL in a
        # key, an enum member inside a list and as a key
        {
            "edges": [-(2**63), 2**63 - 1, 2**63, -(2**63) - 1, True, False, None, 0.1],
            "nul\x00key": {"in\x00side": ["x\x00", SharingType.CONDITIONAL]},
            SharingType.CONDITIONAL: [[], {}, ""],
        },
    ):
        expected = _clean_details(json.loads(json.dumps(details, cls=DjangoJSONEncoder)))
        got = clean_details(details)
        assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
        assert type(got.get("kind", "")) is str


def test_exact_json_values_are_kept_and_the_64_bit_and_nul_edges_are_cleaned():
    """The exact-type fast path of ``clean_details`` gives literal, known values (not compared with
    itself): integers past 64 bits become text, NUL is dropped from text and keys, enum members
    become their text."""
    from catalog.models import SharingType
    from core.audit import clean_details

    got = clean_details(
        {
            "ints": [-(2**63), 2**63 - 1, 2**63, -(2**63) - 1],
            "flags": [True, False, None, 0, 1],
            "nul\x00key": {"in\x00side": ["x\x00y", SharingType.CONDITIONAL]},
            "float": 0.5,
            "huge": 1e16,
        }
    )
    assert got == {
        "ints": [-(2**63), 2**63 - 1, "9223372036854775808", "-9223372036854775809"],
        "flags": [True, False, None, 0, 1],
        "nulkey": {"inside": ["xy", "conditional"]},
        "float": 0.5,
        "huge": "1e+16",
    }
    assert [type(v) for v in got["flags"]] == [bool, bool, type(None), int, int]
    assert type(got["nulkey"]["inside"][1]) is str
