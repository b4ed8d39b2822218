"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

from hypothesis import strategies as st

_MARKUP = "&<>*_~`[]()!@#\\{}|:/.\n\r\t\u202e\u200b\u2028"

characters = st.one_of(
    st.sampled_from(_MARKUP),
    st.characters(),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),  # lone surrogates
    st.just("\U0001f600"),  # 4 bytes in UTF-8, 2 UTF-16 units
)


def strings(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    """Any text, lone surrogates and markup included."""
    # Joined lists, not st.text: st.text merges the alphabet and drops the surrogates.
    return st.lists(characters, min_size=min_size, max_size=max_size).map("".join)
