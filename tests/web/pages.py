"""The dashboard as a test sees it: elements by their `data-testid` hooks, the board's columns,
a run's page and its log pane, buttons, screenshots. Every wait polls the page with a deadline.
"""

from __future__ import annotations

import base64
from pathlib import Path

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from harness import ARTIFACTS, Server, Stop, wait_stop, wait_until

ENDED = ("succeeded", "failed", "cancelled", "needs attention", "needs_attention")


def css(testid: str) -> str:
    return f'[data-testid="{testid}"]'


def find(driver: WebDriver | WebElement, testid: str) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, css(testid))


def text_of(driver: WebDriver | WebElement, testid: str) -> str:
    """The text of the first element with this hook ("" when there is none)."""
    try:
        found = find(driver, testid)
        return found[0].text if found else ""
    except StaleElementReferenceException:
        return ""


def wait_testid(driver: WebDriver, testid: str, server: Server | None = None,
                within: WebElement | None = None) -> WebElement:
    """Waits until an element with this hook is displayed; returns it."""

    def shown() -> WebElement | None:
        for element in find(within or driver, testid):
            if element.is_displayed():
                return element
        return None

    return wait_until(shown, f"element [data-testid={testid}] on {driver.current_url}",
                      diagnostics=page_diagnostics(driver, server))


def click(driver: WebDriver, testid: str, server: Server | None = None) -> None:
    """Clicks the displayed, enabled element with this hook (confirm() dialogs say yes)."""
    driver.execute_script("window.confirm = () => true;")

    def clickable() -> WebElement | None:
        for element in find(driver, testid):
            if element.is_displayed() and element.is_enabled():
                return element
        return None

    element = wait_until(clickable, f"[data-testid={testid}] to be clickable",
                         diagnostics=page_diagnostics(driver, server))
    element.click()


def page_diagnostics(driver: WebDriver, server: Server | None):
    def describe() -> str:
        try:
            body = driver.find_element(By.TAG_NAME, "body").text[:3000]
        except Exception as err:  # noqa: BLE001 - diagnostics only
            body = f"(no body: {err})"
        text = f"--- page {driver.current_url} ---\n{body}"
        if server is not None:
            text += "\n" + server.diagnostics()
        return text

    return describe


def shot(driver: WebDriver, name: str) -> Path:
    """Saves the whole page (beyond the window, up to 4000 px high) as
    target/web-artifacts/NAME.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 4000),
            "scale": 1}
    data = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True, "clip": clip})["data"]
    path.write_bytes(base64.b64decode(data))
    return path


# The board.

def open_board(driver: WebDriver, server: Server) -> None:
    driver.get(server.url + "/")
    wait_testid(driver, "column-ready", server)


def column_of(driver: WebDriver, task_id: str) -> str | None:
    """The column (blocked, ready, in_progress, done) whose element holds the task's card."""
    for column in ("blocked", "ready", "in_progress", "done"):
        try:
            if find(driver, f"column-{column}") and driver.find_elements(
                    By.CSS_SELECTOR, f"{css('column-' + column)} {css('card-' + task_id)}"):
                return column
        except StaleElementReferenceException:
            return None
    return None


def wait_column(driver: WebDriver, task_id: str, column: str, server: Server) -> None:
    wait_until(lambda: column_of(driver, task_id) == column,
               f"card {task_id} in column {column} (it is in {column_of(driver, task_id)})",
               diagnostics=page_diagnostics(driver, server))


# A run's page.

def open_run(driver: WebDriver, server: Server, run_id: str) -> None:
    """Opens the run's page the way a user does: its row in the runs list."""
    if not find(driver, f"run-row-{run_id}"):
        driver.get(server.url + "/")
    row = wait_testid(driver, f"run-row-{run_id}", server)
    links = row.find_elements(By.CSS_SELECTOR, "a")
    (links[0] if links else row).click()
    wait_testid(driver, "run-status", server)
    wait_testid(driver, "log", server)


def run_status(driver: WebDriver) -> str:
    return text_of(driver, "run-status").strip().lower()


def wait_run_status(driver: WebDriver, wanted: str, server: Server) -> None:
    """Waits until the run page's status reads `wanted`; fails at once on another end."""

    def reached() -> bool:
        status = run_status(driver)
        if wanted not in status and any(end in status for end in ENDED):
            raise Stop(f"the page says the run is {status!r}, waited for {wanted!r}")
        return wanted in status

    wait_stop(reached, f"run page status {wanted!r}", page_diagnostics(driver, server))


def log_lines(driver: WebDriver) -> list[str]:
    """The texts of the log pane's lines."""
    try:
        pane = find(driver, "log")
        if not pane:
            return []
        return [line.text for line in find(pane[0], "log-line")]
    except StaleElementReferenceException:
        return []


def wait_log_line(driver: WebDriver, fragment: str, server: Server) -> str:
    return wait_until(
        lambda: next((line for line in log_lines(driver) if fragment in line), None),
        f"a log line with {fragment!r} (lines so far: {log_lines(driver)[-10:]})",
        diagnostics=page_diagnostics(driver, server))
