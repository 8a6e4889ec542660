"""The operator console in a real headless Chromium, against a real API, worker and sandbox."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from service.embedded_redis import free_port
from tests import procs
from tests.conftest import ADMIN_TOKEN, wait_for
from tests.helpers import configure

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def ensure_browser() -> None:
    """Install Debian's chromium and chromium-driver when they are missing and we may."""
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()) and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"], capture_output=True
        )
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.fail("the console tests need Debian's chromium and chromium-driver packages")


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium driven by chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    ensure_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1100"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # to see script and CSP errors
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    driver.implicitly_wait(2)
    yield driver
    driver.quit()


def text_of(browser, element_id: str) -> str:
    """The element's text as the page shows it now; a page that updates itself may replace the element."""
    return browser.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.textContent : '';", element_id
    )


@pytest.fixture
def live(worker_env, sandbox, start_worker, tmp_path):
    """`leadrelay serve` and a worker on the private Redis and the sandbox; yields the API's URL."""
    port = free_port()
    env = {**worker_env, "LEADRELAY_ADMIN_TOKEN": ADMIN_TOKEN}
    api = procs.start(
        ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"], env, tmp_path / "api.log"
    )
    base = f"http://127.0.0.1:{port}"
    procs.wait_http(f"{base}/readyz", api)
    start_worker()
    yield base
    procs.stop(api)


@pytest.fixture
def shots(tmp_path_factory):
    """Where the screenshots of each page go."""
    return tmp_path_factory.mktemp("screens")


def heading(browser) -> str:
    """The page's h1, or "" while a navigation replaces the page."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        return browser.find_element(By.TAG_NAME, "h1").text
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def sign_in(browser, base: str, token: str = ADMIN_TOKEN) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{base}/console/signin")
    browser.delete_all_cookies()  # start signed out, whatever an earlier test left
    browser.get(f"{base}/console/")
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.CSS_SELECTOR, "form.signin button").click()
    # The click starts a navigation; wait for its page before the test moves on.
    expected = "Overview" if token == ADMIN_TOKEN else "Sign in"
    wait_for(lambda: heading(browser) == expected, timeout=10)
    if token != ADMIN_TOKEN:
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".error"), timeout=10)


def post(base: str, name: str, phone: str, **extra: str) -> requests.Response:
    return requests.post(f"{base}/v1/leads/website", data={"name": name, "phone": phone, **extra}, timeout=5)


def status_of(base: str, lead_id: str) -> str:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    return requests.get(f"{base}/v1/leads/{lead_id}", headers=headers, timeout=5).json()["status"]


def test_sign_in_wrong_then_right_then_sign_out(browser, live, shots):
    from selenium.webdriver.common.by import By

    sign_in(browser, live, "not-the-token")
    assert "That token is not right." in browser.find_element(By.CSS_SELECTOR, ".error").text
    browser.save_screenshot(str(shots / "signin.png"))
    sign_in(browser, live)
    assert heading(browser) == "Overview"
    browser.find_element(By.CSS_SELECTOR, "nav form button").click()
    wait_for(lambda: heading(browser) == "Sign in", timeout=10)
    browser.get(f"{live}/console/leads")  # signed out: the pages are closed again
    assert heading(browser) == "Sign in"


def test_overview_counts_search_detail_and_replay(browser, live, sandbox, shots):
    from selenium.webdriver.common.by import By

    configure(sandbox, tags=["Known"])  # Callbell refuses the source's tag: those leads die
    dead = post(live, "Grace Hopper", "+1 415 555 0199").json()["lead_id"]
    wait_for(lambda: status_of(live, dead) == "dead")
    configure(sandbox, tags=["Known", "Website"])
    delivered = [post(live, f"Lead {n}", f"+1 415 555 01{n:02d}").json()["lead_id"] for n in range(3)]
    assert post(live, "No Phone", "12").status_code == 422
    wait_for(lambda: all(status_of(live, i) == "delivered" for i in delivered))

    sign_in(browser, live)
    row = browser.find_element(By.CSS_SELECTOR, '#table-24h tr[data-source="website"]')
    cells = {c.get_attribute("data-outcome"): int(c.text) for c in row.find_elements(By.TAG_NAME, "td")}
    assert cells["queued"] == 4 and cells["delivered"] == 3 and cells["dead"] == 1 and cells["rejected"] == 1
    assert "dead letter(s) wait for a person" in browser.find_element(By.CSS_SELECTOR, ".warnings").text
    browser.save_screenshot(str(shots / "overview.png"))

    browser.get(f"{live}/console/leads?q=(415) 555-0101")  # the phone written another way
    links = browser.find_elements(By.CSS_SELECTOR, "table.leads a")
    assert [re.search(r"[0-9a-f]{32}", a.get_attribute("href")).group(0) for a in links] == [delivered[1]]
    browser.save_screenshot(str(shots / "leads.png"))
    links[0].click()
    timeline = browser.find_element(By.ID, "timeline").text
    assert "lookup → 404" in timeline and "create → 200" in timeline
    browser.save_screenshot(str(shots / "lead.png"))

    browser.get(f"{live}/console/leads/{dead}")
    assert browser.find_element(By.ID, "lead-status").text.startswith("dead")
    browser.find_element(By.ID, "replay").click()
    assert "Replayed" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    wait_for(lambda: status_of(live, dead) == "delivered")
    browser.refresh()
    assert browser.find_element(By.ID, "lead-status").text == "delivered"


def test_a_name_that_is_markup_renders_as_text(browser, live):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    name = "<img src=x onerror=alert(1)>"
    post(live, name, "+1 415 555 0142")
    sign_in(browser, live)
    browser.get(f"{live}/console/leads")
    assert name in browser.find_element(By.CSS_SELECTOR, "table.leads td.name").text
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 (no dialog opened)
    assert not browser.find_elements(By.CSS_SELECTOR, "table.leads img")


def test_pages_are_usable_by_keyboard(browser, live):
    from selenium.webdriver.common.keys import Keys

    lead_id = post(live, "Key Board", "+1 415 555 0177").json()["lead_id"]
    sign_in(browser, live)
    browser.get(f"{live}/console/leads")
    reached = []
    for _ in range(30):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        focused = browser.switch_to.active_element
        reached.append(focused.get_attribute("id") or focused.get_attribute("href") or focused.text)
        if lead_id in (focused.get_attribute("href") or ""):
            focused.send_keys(Keys.ENTER)
            break
    assert "q" in reached  # the search box is in the tab order
    wait_for(lambda: heading(browser) == f"Lead {lead_id}", timeout=10)


def test_a_form_post_without_the_csrf_token_is_refused(live):
    session = requests.Session()
    page = session.get(f"{live}/console/signin", timeout=5).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert session.post(f"{live}/console/signin", data={"token": ADMIN_TOKEN}, timeout=5).status_code == 400
    signed_in = session.post(
        f"{live}/console/signin", data={"token": ADMIN_TOKEN, "csrf_token": token}, timeout=5
    )
    assert signed_in.status_code == 200 and "Overview" in signed_in.text
    lead_id = post(live, "Csrf Test", "+1 415 555 0188").json()["lead_id"]
    refused = session.post(f"{live}/console/leads/{lead_id}/purge", timeout=5)
    assert refused.status_code == 400
    assert status_of(live, lead_id) != "missing"


def test_console_pages_carry_the_security_headers(live):
    response = requests.get(f"{live}/console/signin", timeout=5)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_dead_letters_are_grouped_by_cause_and_replayed_in_the_background(browser, live, sandbox, shots):
    from selenium.webdriver.common.by import By

    configure(sandbox, tags=["Known"])
    dead = [post(live, f"Dead {n}", f"+1 415 555 02{n:02d}").json()["lead_id"] for n in range(4)]
    post(live, "Bad Phone", "12")
    wait_for(lambda: all(status_of(live, i) == "dead" for i in dead))
    sign_in(browser, live)
    browser.get(f"{live}/console/dead")
    rows = {
        r.find_element(By.CSS_SELECTOR, ".cause").text: r
        for r in browser.find_elements(By.CSS_SELECTOR, "table.groups tbody tr[data-group]")
    }
    tag_group = next(label for label in rows if "unknown tags: Website" in label)
    assert rows[tag_group].find_element(By.CSS_SELECTOR, ".count").text == "4"
    phone_group = next(label for label in rows if label.startswith("invalid phone:"))
    assert rows[phone_group].find_element(By.CSS_SELECTOR, ".count").text == "1"
    browser.save_screenshot(str(shots / "dead.png"))

    configure(sandbox, tags=["Known", "Website"])  # the cause, fixed in the account
    browser.get_log("browser")  # drop what earlier pages logged
    rows[tag_group].find_element(By.CSS_SELECTOR, "button.replay-group").click()
    assert browser.execute_script("return document.getElementById('progress').max") == 4
    browser.save_screenshot(str(shots / "batch.png"))
    assert browser.execute_script("return typeof htmx") == "object"  # progress updates in place
    assert [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    wait_for(lambda: "Done: 4 replayed" in text_of(browser, "batch-state"), timeout=30)
    wait_for(lambda: all(status_of(live, i) == "delivered" for i in dead))

    browser.get(f"{live}/console/dead")
    causes = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "table.groups .cause")]
    assert causes == [phone_group]  # the replayed group is gone
    browser.find_element(By.CSS_SELECTOR, "tr[data-group] button.danger").click()
    wait_for(lambda: "Done: 1 deleted" in text_of(browser, "batch-state"), timeout=30)
    browser.get(f"{live}/console/dead")
    assert "No dead letters." in browser.find_element(By.CSS_SELECTOR, "table.groups").text


def test_sources_page_sends_a_sample_lead_through_the_real_intake(browser, live, shots):
    from selenium.webdriver.common.by import By

    sign_in(browser, live)
    browser.get(f"{live}/console/sources")
    section = browser.find_element(By.ID, "source-website")
    assert f"{live}/v1/leads/website" in section.text
    assert "form" in section.text
    browser.save_screenshot(str(shots / "sources.png"))
    section.find_element(By.CSS_SELECTOR, "button.sample").click()
    assert "Sample lead sent to website: 202" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    lead_id = browser.find_element(By.TAG_NAME, "code").text
    wait_for(lambda: status_of(live, lead_id) == "delivered")


def test_a_person_is_erased_after_a_confirmation(browser, live, shots):
    from selenium.webdriver.common.by import By

    kept = post(live, "Someone Else", "+1 415 555 0166").json()["lead_id"]
    theirs = [
        post(live, "Erin Erase", "+1 415 555 0155", email=f"erin{n}@example.com", interest=str(n))
        for n in range(2)
    ]
    ids = [r.json()["lead_id"] for r in theirs]
    sign_in(browser, live)
    browser.get(f"{live}/console/erase")
    browser.find_element(By.ID, "phone").send_keys("(415) 555-0155")
    browser.find_element(By.ID, "find").click()
    assert browser.find_element(By.ID, "found").text == "2 lead(s) hold this person's data"
    assert "0155" not in browser.current_url  # the person's data never goes into a URL
    browser.save_screenshot(str(shots / "erase.png"))
    browser.find_element(By.ID, "erase").click()
    assert "2 lead(s) of that person were erased" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert [requests.get(f"{live}/v1/leads/{i}", headers=headers, timeout=5).status_code for i in ids] == [
        404,
        404,
    ]
    assert status_of(live, kept) in ("queued", "delivered")


def test_the_api_document_is_rendered_in_the_console(browser, live, shots):
    from selenium.webdriver.common.by import By

    sign_in(browser, live)
    browser.get(f"{live}/console/api")
    operations = [h.text for h in browser.find_elements(By.CSS_SELECTOR, ".operation h3")]
    assert "POST /v1/leads/{source}" in operations and "POST /v1/erasures" in operations
    assert browser.find_element(By.ID, "schema-ContactRequest").is_displayed()
    browser.save_screenshot(str(shots / "api.png"))
