"""Test oracle: real API v2 markup text → the HTML the History-of-Changes endpoint serves for it.

Written independently of :mod:`auditor.fetch.html_text` (line-based, no shared code), from the
site's recorded HTML (``../shared/ctgov-history-samples``): paragraphs as ``<p>`` (a lone
paragraph bare), lists as ``<ul>``/``<ol>``, an item whose first text is followed by a blank
line wrapped in ``<p>``, every character entity-escaped as the site does (``/`` → ``&#x2F;``,
``'`` → ``&#x27;``). Converting its output back must give the v2 text again.
"""

from __future__ import annotations

import re

_ITEM = re.compile(r"^(\* |\d+\. )")
_ESCAPED = re.compile(r"\\(.)")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "/": "&#x2F;"}


def site_html(markdown: str) -> str:
    blocks = _parse(markdown.split("\n"))
    if len(blocks) == 1 and blocks[0][0] == "p":
        return _text(blocks[0][1])
    return "".join(_html(block) for block in blocks)


def _text(markdown_text: str) -> str:
    plain = _ESCAPED.sub(r"\1", markdown_text)
    return "".join(_ENTITIES.get(c, c) for c in plain)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _parse(lines: list[str]) -> list[tuple[str, object]]:
    """Blocks of lines that all start at column 0 or deeper (nested content is dedented first)."""
    blocks: list[tuple[str, object]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if line.strip() == "<!-- -->":
            i += 1
            continue
        marker = _ITEM.match(line)
        if marker is None:
            blocks.append(("p", line.strip()))
            i += 1
            continue
        kind = "ul" if marker.group(1) == "* " else "ol"
        start = int(marker.group(1)[:-2]) if kind == "ol" else 1
        items: list[tuple[str, list[str]]] = []
        while i < len(lines):
            m = _ITEM.match(lines[i])
            if m is None or ("ul" if m.group(1) == "* " else "ol") != kind:
                break
            width = len(m.group(1))
            body = [lines[i][width:]]
            i += 1
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) >= width):
                if not lines[i].strip() and (i + 1 >= len(lines) or _indent(lines[i + 1]) < width):
                    break
                body.append(lines[i][width:])
                i += 1
            items.append((lines[i - len(body)][:width], body))
        blocks.append((kind, (start, [body for _, body in items])))
    return blocks


def _html(block: tuple[str, object]) -> str:
    kind, payload = block
    if kind == "p":
        return f"<p>{_text(str(payload))}</p>"
    start, items = payload  # type: ignore[misc]
    open_tag = f'<ol start="{start}">' if kind == "ol" and start != 1 else f"<{kind}>"
    return open_tag + "".join(_li(body) for body in items) + f"</{kind}>"


def _li(body: list[str]) -> str:
    first, rest = body[0], body[1:]
    loose = bool(rest) and not rest[0].strip()
    inner = _parse(rest)
    head = f"<p>{_text(first)}</p>" if loose else _text(first)
    return "<li>" + head + "".join(_html(b) for b in inner) + "</li>"
