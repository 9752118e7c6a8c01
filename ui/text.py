"""Show user-provided text literally in Streamlit elements that render Markdown.

``st.markdown``, ``st.caption``, ``st.info`` and the other alerts, headers and
widget labels all parse Markdown (and Streamlit's ``:color[...]``, ``:icon:``
and ``$math$`` extensions). Streamlit already escapes HTML in them.
"""

from __future__ import annotations

import re

# Every ASCII punctuation character. CommonMark shows such a character literally after a backslash.
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def literal(text: object) -> str:
    """Escape ``text`` so that a Markdown element of Streamlit 1.67 shows it character for character.

    Checked in Chromium for st.markdown, st.caption and widget labels, with emphasis, links, images,
    headings, lists, tables, math, colour and icon directives, HTML tags and entities.
    NOTE: line breaks and repeated spaces still collapse as in any Markdown paragraph, and a bare URL
    (``www.…`` or ``https://…``) is still shown as a link to itself.
    """
    return _PUNCTUATION.sub(r"\\\1", str(text))
