"""Undo the escaping left in the original AG News CSV files.

The AG News CSVs were made from HTML with every ``&`` turned into a space, so ``&#36;`` reads
`` #36;`` and ``&quot;`` reads `` quot;``; line breaks are written as a backslash; and some
items still hold escaped HTML markup (``&lt;b&gt;``). :func:`unescape_ag_news` restores the
characters and removes the markup tags, leaving ordinary text.
"""

from __future__ import annotations

import html
import re

# " #36;" → "$" ; the leading space is what remains of the "&".
_NUMERIC = re.compile(r"(?:^| )#(\d{1,5});")
# " quot;" → '"' ; only real entity names, so ordinary words followed by ";" are kept.
_NAMED = re.compile(r"(?:^| )(quot|amp|lt|gt|apos|nbsp|hellip|mdash|ndash|lsquo|rsquo|ldquo|rdquo);")
_BACKSLASHES = re.compile(r"\\+")
_TAGS = re.compile(
    r"</?(?:b|i|u|a|p|br|em|strong|font|span|div|img|sup|sub)\b[^<>]*>", re.IGNORECASE
)
_SPACES = re.compile(r"\s+")


def _numeric(match: re.Match[str]) -> str:
    code = int(match.group(1))
    if 128 <= code <= 159:  # Windows-1252 code points written as numeric references
        return bytes([code]).decode("cp1252", errors="replace")
    try:
        return chr(code)
    except ValueError:
        return match.group(0)


def unescape_ag_news(text: str) -> str:
    """Return AG News ``text`` with escapes resolved, markup removed and spaces collapsed.

    Examples
    --------
    >>> unescape_ag_news("a second\\\\team wins the  #36;10 million prize, it #39;s  quot;big quot;")
    'a second team wins the $10 million prize, it\\'s "big"'
    >>> unescape_ag_news("Apple &lt;AAPL.O&gt; &lt;b&gt;rises&lt;/b&gt;")
    'Apple <AAPL.O> rises'
    """
    text = _BACKSLASHES.sub(" ", text)
    text = html.unescape(text)
    text = _NUMERIC.sub(_numeric, text)
    text = _NAMED.sub(lambda m: html.unescape(f"&{m.group(1)};"), text)
    text = _TAGS.sub(" ", text)
    return _SPACES.sub(" ", text).strip()
