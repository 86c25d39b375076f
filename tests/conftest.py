"""Suite-wide setup."""

from __future__ import annotations

import signal
from collections.abc import Iterator

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


@pytest.fixture(scope="module", params=["c", "python"])
def hot_loop(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a module's parser tests twice: with the C accelerator's hot loop and with the pure-Python
    one (the reference). Without the accelerator built, the C run skips (fails under CI's
    SECCOMP_GEN_REQUIRE_REAL=1, which installs a compiler).
    """
    from seccomp_gen import _fastpath
    from tests.realpath import need

    if request.param == "c":
        need(_fastpath.ACCEL is not None, f"needs the C accelerator: {_fastpath.accelerator_status()}")
        yield "c"
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_fastpath, "ACCEL", None)
        yield "python"
