"""Fixtures of the web and MCP tests: `engine serve` started on a test's repository and stopped
at teardown, and a headless Chromium driven by selenium through the system chromedriver.
When a test fails, the server's output, the browser's console and a screenshot
(target/web-artifacts/FAILED-<test>.png) are kept."""

from __future__ import annotations

import shutil
import tempfile
from typing import Callable, Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from harness import ARTIFACTS, ENGINE, Repo, Server

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def pytest_sessionstart(session: pytest.Session) -> None:
    if not ENGINE.is_file():
        raise pytest.UsageError(
            f"no engine binary at {ENGINE}: build it first (cargo build -p engine) "
            "or set ENGINE_BIN")
    # The screenshots are those of this session only.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


def failed(request: pytest.FixtureRequest) -> bool:
    return request.node.stash.get(FAILED, True)


@pytest.fixture
def serve(request: pytest.FixtureRequest) -> Iterator[Callable[..., Server]]:
    """Starts `engine serve` on a repository (`serve(repo)`); every server started is stopped
    at teardown (SIGTERM, then its process group is killed after 10 s)."""
    servers: list[Server] = []

    def start(repo: Repo, *extra: str) -> Server:
        server = Server(repo, "workflow.yaml", *extra)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
        if failed(request):
            print(server.diagnostics())


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Iterator[webdriver.Chrome]:
    """Headless Chromium (Debian's package) with a fresh profile."""
    profile = tempfile.mkdtemp(prefix="engine-web-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        if failed(request):
            name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
            try:
                driver.save_screenshot(str(ARTIFACTS / f"FAILED-{name}.png"))
                print(f"--- page at failure: {driver.current_url} ---")
                print(driver.find_element("tag name", "body").text[:4000])
                print("--- browser console ---")
                for entry in driver.get_log("browser"):
                    print(entry.get("level"), entry.get("message"))
            except Exception as err:  # noqa: BLE001 - diagnostics only
                print(f"(no page diagnostics: {err})")
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
