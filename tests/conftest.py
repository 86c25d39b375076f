"""Suite-wide setup."""

from __future__ import annotations

import signal

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Give SIGINT back its default when the suite was started with it ignored.

    A shell starts a background job (``cmd &``, a CI step run that way) with SIGINT ignored, and an
    ignored signal stays ignored across exec: every CLI the tests start would then ignore the SIGINT
    the signal tests send it, as it should for a user who ran it that way. The tests are about the
    CLI under an ordinary terminal, so they start it with the default disposition.
    """
    del config
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
