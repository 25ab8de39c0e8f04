"""What a whole one-line refusal looks like as a pytest.raises pattern."""

import re


def whole(message):
    """A pytest.raises pattern that matches exactly ``message``, the whole one-line text."""
    return f"^{re.escape(message)}$"
