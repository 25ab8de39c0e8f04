"""The built site read as the README says, from ``site/index.html`` over ``file://``.

Headless Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
file descriptors 3 and 4, JSON messages ending in a NUL byte), so no browser-automation
package is needed: the test opens the page, types into the search box and reads the results.
"""

import contextlib
import fcntl
import json
import os
import pathlib
import shutil
import subprocess
import time

import pytest

from tests._helpers.browser import chromium

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _high(fd: int) -> int:
    """``fd`` moved to a descriptor number of 10 or more."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class _DevTools:
    """One page of a headless Chromium, commanded over the DevTools pipe."""

    def __init__(self, browser: str, profile: pathlib.Path):
        # above 4, so that the redirections onto 3 and 4 cannot overwrite one of them
        to_browser_r, self._to_browser = (_high(fd) for fd in os.pipe())
        self._from_browser, from_browser_w = (_high(fd) for fd in os.pipe())
        # The browser reads commands on fd 3 and answers on fd 4; bash moves the pipe
        # ends there and execs it (no preexec_fn, which is unsafe in a threaded process).
        self._process = subprocess.Popen(
            [
                shutil.which("bash") or "/bin/bash",  # dash redirects single-digit fds only
                "-c",
                f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w}',
                "bash",
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--window-size=1280,1000",  # wide enough for the header's search box
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            pass_fds=(to_browser_r, from_browser_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._reader = os.fdopen(self._from_browser, "rb")
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.send("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]

    def _message(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("the browser closed its DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, *, on_page: bool = False, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if on_page:
            message["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._message()
            if reply.get("id") == self._next_id:
                assert "error" not in reply, reply
                return reply["result"]
            self.events.append(reply)

    def evaluate(self, expression: str):
        result = self.send(
            "Runtime.evaluate", on_page=True, expression=expression, returnByValue=True
        )
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def wait_for(self, expression: str, seconds: float = 30.0):
        # counted 0.2 s polls (a bound, not a speed claim): no test reads a clock
        for _ in range(int(seconds / 0.2)):
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"not true within {seconds} s: {expression}")

    def close(self):
        with contextlib.suppress(OSError):
            os.close(self._to_browser)
        self._reader.close()
        self._process.terminate()
        self._process.wait(timeout=30)


@pytest.fixture
def page(tmp_path):
    browser = _DevTools(chromium(), tmp_path / "profile")
    try:
        browser.send("Runtime.enable", on_page=True)
        browser.send("Log.enable", on_page=True)  # failed loads (a CDN script offline) too
        yield browser
    finally:
        browser.close()


def _console_errors(events: list[dict]) -> list[str]:
    errors = []
    for event in events:
        params = event.get("params", {})
        if event.get("method") == "Runtime.exceptionThrown":
            errors.append(params["exceptionDetails"].get("text", ""))
        if event.get("method") == "Log.entryAdded" and params["entry"]["level"] == "error":
            errors.append(f"{params['entry']['text']} {params['entry'].get('url', '')}")
        if event.get("method") == "Runtime.consoleAPICalled" and params.get("type") == "error":
            errors.append(" ".join(str(a.get("value", a)) for a in params.get("args", [])))
    return errors


@pytest.mark.slow
def test_search_finds_a_page_over_file_urls(built_site, page):
    """Typing "adam" into the search box of file://.../site/index.html lists the optimizer."""
    index = (built_site / "index.html").as_uri()
    assert index.startswith("file://")
    page.send("Page.navigate", on_page=True, url=index)
    page.wait_for("document.readyState === 'complete'")
    # Material hides search where it cannot start its worker (file:// without the offline plugin)
    page.wait_for(
        "(() => { const i = document.querySelector('input.md-search__input');"
        " return i !== null && i.offsetParent !== null; })()"
    )
    page.evaluate("document.querySelector('input.md-search__input').focus()")
    page.send("Input.insertText", on_page=True, text="adam")
    found = page.wait_for(
        "(() => { const links = [...document.querySelectorAll('.md-search-result__link')];"
        " return links.length ? links.map(a => a.href) : null; })()"
    )
    assert any("api/nnbasics.optim.html" in href for href in found), found[:10]
    assert all(href.startswith("file://") for href in found), found[:10]
    assert not _console_errors(page.events), _console_errors(page.events)


_EQUATIONS = """(() => {
  const boxes = [...document.querySelectorAll('.katex-display')];
  return {
    count: boxes.length,
    wider: boxes.filter(e => e.scrollWidth > e.clientWidth + 1)
                .map(e => getComputedStyle(e).overflowX),
    page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    note: [...document.querySelectorAll('.admonition')]
            .some(n => n.textContent.includes('dW = h.T @ delta') && n.querySelector('.katex')),
  };
})()"""


@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 400])
def test_backpropagation_equations_stay_in_their_column(built_site, page, width):
    """On a desktop every equation fits its column; on a phone a wider one scrolls in its
    own box and the page itself never scrolls sideways. The page maps the course's
    column convention to the code's batch-first one."""
    page.send(
        "Emulation.setDeviceMetricsOverride",
        on_page=True,
        width=width,
        height=900,
        deviceScaleFactor=1,
        mobile=False,
    )
    url = (built_site / "topics" / "backpropagation.html").as_uri()
    page.send("Page.navigate", on_page=True, url=url)
    page.wait_for("document.readyState === 'complete'")
    layout = page.wait_for(
        f"(() => {{ const r = {_EQUATIONS}; return r.count >= 2 && r.note && r; }})()"
    )
    assert layout["page"] <= 0, layout
    if width >= 1280:
        assert not layout["wider"], layout
    assert all(overflow in ("auto", "scroll") for overflow in layout["wider"]), layout
    assert layout["note"], "no column/row note with typeset equations"
    assert not _console_errors(page.events), _console_errors(page.events)
