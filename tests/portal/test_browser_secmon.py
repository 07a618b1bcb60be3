"""The security operations journey in a real browser (Debian's Chromium via Selenium) against a real server:
a campaign is ingested into the demo instance with the CLI (which correlates it), then the analyst triages the
incident, assigns it and proposes a block; the commission administrator approves it (the approval page shows
the two-person rule); the analyst contains the incident and opens a remediation task for the owning
department; the department reports the fix on its own task page. axe-core checks every page visited (no
serious or critical violation), as in test_browser_journeys.py.

Its own served instance (the demo plus the planted campaign) and one browser for the module."""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.portal.test_browser import CHROMIUM, DRIVER, _citygov, browser  # noqa: F401 - module fixture
from tests.portal.test_browser_journeys import _login, artifacts, axe_check  # noqa: F401 - module fixtures
from tests.served import free_port, wait_healthy

pytestmark = pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(DRIVER).exists()),
                                reason="Chromium and chromedriver not installed (apt-get install chromium chromium-driver)")

ATTACKER = "198.51.100.23"
TARGET = "10.1.2.8"  # inside 10.1.2.0/24, the demo's 市民政务服务门户 (SZ-PSB, MLPS 3, high)
SIGNATURE = "ET EXPLOIT Apache Struts OGNL injection (browser journey)"


def _campaign(path: Path) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    lines = []
    for i in range(5):
        ts = (start + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "+0000"
        lines.append(json.dumps({
            "timestamp": ts, "flow_id": 77000 + i, "event_type": "alert", "src_ip": ATTACKER, "src_port": 51000 + i,
            "dest_ip": TARGET, "dest_port": 8080, "proto": "TCP",
            "alert": {"action": "allowed", "gid": 1, "signature_id": 9200001, "rev": 1, "signature": SIGNATURE,
                      "category": "Attempted Administrator Privilege Gain", "severity": 1}}))
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-secmon")
    instance = root / "instance"
    env = {**os.environ, "CITYGOV_INSTANCE_PATH": str(instance), "CITYGOV_ENV": "development"}
    env.pop("CITYGOV_DATABASE_URL", None)
    env.pop("CITYGOV_SECRET_KEY", None)
    demo = subprocess.run(_citygov() + ["demo", "--format", "json"], env=env, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    assert demo.returncode == 0, demo.stderr
    password = json.loads(demo.stdout)["login"]["password"]
    eve = root / "campaign.json"
    _campaign(eve)
    ing = subprocess.run(_citygov() + ["secmon", "ingest", str(eve), "--sensor", "futian-dc-01", "--format", "json"],
                         env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert ing.returncode == 0, ing.stderr
    assert json.loads(ing.stdout)["correlation"]["incidents_created"] == 1
    port = free_port()
    proc = subprocess.Popen(_citygov() + ["serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, proc, timeout=30)
    yield base, password
    proc.terminate()
    proc.wait(timeout=10)


def test_incident_response_approval_remediation_in_a_real_browser(server, browser, axe_check,  # noqa: F811
                                                                   artifacts):  # noqa: F811
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.wait import WebDriverWait

    base, password = server

    def flash_text():
        return " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, ".flash"))

    # the analyst: incident list (navigation entry) → the new incident
    _login(browser, base, "soc.analyst", password)
    browser.get(base + "/")
    browser.find_element(By.CSS_SELECTOR, "header nav a[href='/secmon/incidents']").click()
    axe_check()
    browser.find_element(By.PARTIAL_LINK_TEXT, "Struts OGNL").click()
    axe_check()
    incident_url = browser.current_url
    page = browser.page_source
    assert ATTACKER in page and TARGET in page and "9200001" in page
    Select(browser.find_element(By.CSS_SELECTOR, "form[action$='/transition'] select[name=state]")) \
        .select_by_value("triaged")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/transition'] input[name=note]").send_keys("OGNL 注入, 5 次")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/transition'] button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".flash"))
    assert "OGNL 注入, 5 次" in browser.page_source  # in the history
    assignee = browser.find_element(By.CSS_SELECTOR, "form[action$='/assign'] input[name=assignee]")
    assignee.clear()
    assignee.send_keys("soc.analyst")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/assign'] button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".flash"))
    ttl = browser.find_element(By.CSS_SELECTOR, "form[action$='/propose-block'] input[name=ttl_hours]")
    ttl.clear()
    ttl.send_keys("48")
    Select(browser.find_element(By.CSS_SELECTOR, "form[action$='/propose-block'] select[name=category]")) \
        .select_by_visible_text("Scanner")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/propose-block'] input[name=reason]").send_keys(
        "Struts OGNL campaign against the citizen portal")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/propose-block'] button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".flash"))
    axe_check()

    # the commission administrator: the approval queue, approve the analyst's block
    _login(browser, base, "admin", password)
    browser.get(base + "/")
    browser.find_element(By.CSS_SELECTOR, "header nav a[href='/secmon/approvals']").click()
    axe_check()
    card = next(c for c in browser.find_elements(By.CSS_SELECTOR, "section.card") if ATTACKER in c.text)
    assert "Struts OGNL campaign" in card.text
    card.find_element(By.CSS_SELECTOR, "input[name=note]").send_keys("值班主任批准")
    card.find_element(By.CSS_SELECTOR, "button[value=approve]").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".flash"))
    Select(browser.find_element(By.CSS_SELECTOR, "form.filters select[name=state]")).select_by_value("approved")
    browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda d: "state=approved" in d.current_url)
    approved = next(c for c in browser.find_elements(By.CSS_SELECTOR, "section.card") if ATTACKER in c.text)
    actors = re.findall(r"user:[0-9a-f]+", approved.text)  # proposer, then approver: two different people
    assert len(actors) == 2 and actors[0] != actors[1], approved.text
    assert "Scanner" in approved.text and f"{ATTACKER}/32" in approved.text
    axe_check()

    # the analyst again: contained; a remediation task for the owning department (SZ-PSB)
    _login(browser, base, "soc.analyst", password)
    browser.get(incident_url)
    Select(browser.find_element(By.CSS_SELECTOR, "form[action$='/transition'] select[name=state]")) \
        .select_by_value("contained")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/transition'] button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".flash"))
    browser.find_element(By.CSS_SELECTOR, "form[action$='/remediation'] input[name=title]").send_keys(
        "升级 Struts 并关闭 OGNL 表达式求值")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/remediation'] input[name=quiet_days]").send_keys("3")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/remediation'] button[type=submit]").click()
    # the page still shows the transition's flash until the answer loads: wait for this form's own message
    WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: "升级 Struts" in flash_text())
    axe_check()

    # another department does not see the task; the owning department reports the fix
    _login(browser, base, "health.submitter", password)
    browser.get(base + "/secmon/remediation")
    assert "升级 Struts" not in browser.page_source
    _login(browser, base, "psb.submitter", password)
    browser.get(base + "/")
    browser.find_element(By.CSS_SELECTOR, "header nav a[href='/secmon/remediation']").click()
    axe_check()
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "tbody tr") if "升级 Struts" in r.text)
    row.find_element(By.CSS_SELECTOR, "input[name=evidence]").send_keys("Struts 2.5.33 已上线 (CHG-2026-1201)")
    row.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".flash"))
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "tbody tr") if "升级 Struts" in r.text)
    assert not row.find_elements(By.CSS_SELECTOR, "input[name=evidence]")  # fixed: no second report
    axe_check()
    browser.save_screenshot(str(artifacts / "secmon-remediation.png"))

    # the incident's history holds the whole walk, each step by its actor
    _login(browser, base, "soc.analyst", password)
    browser.get(incident_url)
    history = browser.find_element(By.XPATH, "//h2[contains(., 'History') or contains(., '历程')]/following-sibling::ul")
    assert history.text.count("→") >= 3
