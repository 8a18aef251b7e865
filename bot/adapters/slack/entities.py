"""Text as Slack delivers it: `&`, `<` and `>` typed by a member arrive as HTML entities."""

from __future__ import annotations

import re
from typing import Final

_ENTITY: Final = re.compile(r"&(amp|lt|gt);")
_CHARACTERS: Final = {"amp": "&", "lt": "<", "gt": ">"}


def decode(text: str) -> str:
    """Undo Slack's escaping, once: `&amp;lt;` (a member typed `&lt;`) becomes `&lt;`.

    Only these three entities: Slack escapes nothing else, so `&quot;` is what was typed.
    """
    return _ENTITY.sub(lambda entity: _CHARACTERS[entity.group(1)], text)
