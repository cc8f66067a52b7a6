"""Where a generated answer is complete, so that generation can stop there.

Each rule reads a continuation (the generated text, without the prompt) and returns the
index just past the end of the answer that scoring reads, or None while that answer may
still grow. A rule decides from the text before that index only, so it gives the same
index on any longer continuation: stopping at it keeps exactly the text a scorer of the
full continuation would read (tested against unstopped generation).
"""

from __future__ import annotations


def first_line_end(text: str) -> int | None:
    """An arithmetic answer is its first line: the text up to and including the first
    newline (as the earlier stop string "\\n" did, a leading newline included)."""
    newline = text.find("\n")
    return None if newline < 0 else newline + 1


def first_block_end(text: str) -> int | None:
    """A Java answer is its first method (a field declaration may precede it): the text
    up to and including the brace that closes the first top-level `{ ... }` block.

    Braces inside string, text-block and char literals and inside comments do not count;
    a literal left open ends at its line's end (Java literals cannot span lines), a comment
    left open keeps the answer open. A `}` before any `{` is not a block's end.

    The answer is also decided at a character Java cannot hold outside comments and
    literals (`#`, a backtick: a C preprocessor line, Python or Markdown from a model that
    writes no Java): no continuation makes such a text compile or equal a reference (the
    references hold neither), so every score of it is already what the whole text gets.
    """
    depth, i, n = 0, 0, len(text)
    while i < n:
        char = text[i]
        span = _skipped_span(text, i)
        if span is not None:
            if span < 0:  # left open: the answer may still grow
                return None
            i = span
            continue
        if char in "\"'":
            i = _literal_end(text, i)
            continue
        if char in NOT_JAVA:
            return i + 1
        if char == "{":
            depth += 1
        elif char == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


# Characters no Java text holds outside comments and literals.
NOT_JAVA = "#`"
# Spans whose braces never count, from opener to closer: comments and text blocks.
SKIPPED_SPANS = (("//", "\n"), ("/*", "*/"), ('"""', '"""'))


def _skipped_span(text: str, start: int) -> int | None:
    """Index past the comment or text block that opens at `start`, -1 if it is not closed
    yet, None if none opens there."""
    for opener, closer in SKIPPED_SPANS:
        if text.startswith(opener, start):
            close = text.find(closer, start + len(opener))
            return -1 if close < 0 else close + len(closer)
    return None


def _literal_end(text: str, start: int) -> int:
    """Index past the string or char literal opened at `start`: its closing quote, its
    line's end, or the text's end."""
    quote, i = text[start], start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        if text[i] == "\n":
            return i
        i += 1
    return len(text)

