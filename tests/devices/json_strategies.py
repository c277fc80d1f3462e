"""Hypothesis strategies for arbitrary JSON, shared by the adapter fuzz tests."""

from __future__ import annotations

from hypothesis import strategies as st

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    # Surrogates included: json.dumps escapes them, and a lone "\ud800" must not crash a decoder.
    | st.text(st.characters(exclude_categories=()), max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.text(st.characters(exclude_categories=()), max_size=8), children, max_size=4
        )
    ),
    max_leaves=12,
)
