"""Each user group's main journey in a real browser (Chromium via Selenium) on the demo instance, with
axe-core (bundled by axe-selenium-python) run on every page visited: no serious or critical violation.
A screenshot of each journey's final page is saved under the test's tmp dir (``artifacts/``).

One served instance and one browser for the whole module (fixtures shared with test_browser.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.portal.test_browser import CHROMIUM, DRIVER, browser, server  # noqa: F401 - module fixtures

pytestmark = pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(DRIVER).exists()),
                                reason="Chromium and chromedriver not installed")

SERIOUS = ("serious", "critical")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("artifacts")


@pytest.fixture(scope="module")
def axe_check(browser):  # noqa: F811
    pytest.importorskip("axe_selenium_python")
    from axe_selenium_python import Axe

    checked: dict[str, int] = {}

    def check() -> None:
        url = browser.current_url.split("?")[0]
        axe = Axe(browser)
        axe.inject()
        results = axe.run()
        bad = [v for v in results["violations"] if v.get("impact") in SERIOUS]
        checked[url] = len(results["violations"])
        assert not bad, (browser.current_url, [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"][:3]])
                                               for v in bad])

    check.checked = checked  # type: ignore[attr-defined]
    return check


def _login(browser, base, username, password):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    browser.delete_all_cookies()
    browser.get(base + "/login")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda d: "/login" not in d.current_url)


def _visit(browser, axe_check, url):  # noqa: F811
    browser.get(url)
    assert "<title>" in browser.page_source or browser.title
    axe_check()


def test_public_verifies_a_certificate_and_reads_proofs(server, browser, axe_check, artifacts):  # noqa: F811
    from selenium.webdriver.common.by import By

    base, _password = server
    browser.delete_all_cookies()
    _visit(browser, axe_check, base + "/")
    _visit(browser, axe_check, base + "/standards")
    _visit(browser, axe_check, base + "/transparency?index=0&first=1")
    assert "已验证" in browser.page_source
    _visit(browser, axe_check, base + "/certificates/verify")
    serial = _demo_serial(base)
    browser.find_element(By.NAME, "serial").send_keys(serial)
    browser.find_element(By.CSS_SELECTOR, "form[method=get] button[type=submit]").click()
    axe_check()
    assert "证书真实且在有效期内" in browser.page_source
    browser.save_screenshot(str(artifacts / "public-certificate.png"))


def _demo_serial(base: str) -> str:
    import urllib.request

    with urllib.request.urlopen(base + "/api/v1/certificates") as resp:
        items = json.loads(resp.read())["items"]
    return items[0]["serial"]


def test_department_submits_a_proposal(server, browser, axe_check, artifacts):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.wait import WebDriverWait

    base, password = server
    _login(browser, base, "futian.submitter", password)
    _visit(browser, axe_check, base + "/proposals/new")
    browser.find_element(By.ID, "f-title").send_keys("福田区智慧停车诱导平台")
    browser.find_element(By.ID, "f-summary").send_keys("短")
    browser.find_element(By.CSS_SELECTOR, "button[value=check]").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".field-error"))
    axe_check()
    assert browser.find_element(By.ID, "f-title").get_attribute("value") == "福田区智慧停车诱导平台"
    summary = browser.find_element(By.ID, "f-summary")
    summary.clear()
    summary.send_keys("建设全区统一的智慧停车诱导与管理系统，汇聚全区停车场泊位数据，向市民提供停车诱导服务。")
    browser.find_element(By.ID, "f-district").send_keys("福田区")
    Select(browser.find_element(By.ID, "f-area")).select_by_value("city_operations")
    Select(browser.find_element(By.ID, "f-construction_mode")).select_by_value("single_department_module")
    Select(browser.find_element(By.ID, "f-deployment")).select_by_value("government_cloud")
    for field, value in (("budget", "3200000"), ("start_year", "2026"), ("end_year", "2027"), ("mlps_level", "3"),
                         ("data_resources", "停车场泊位数据"), ("data_aggregation", "停车场泊位数据"),
                         ("capability_tags", "parking")):
        el = browser.find_element(By.ID, f"f-{field}")
        el.clear()
        el.send_keys(value)
    browser.find_element(By.CSS_SELECTOR, "button[value=submit]").click()
    WebDriverWait(browser, 30).until(lambda d: re.search(r"/projects/[0-9a-f]{32}$", d.current_url))
    axe_check()
    assert "福田区智慧停车诱导平台" in browser.page_source
    browser.save_screenshot(str(artifacts / "department-submitted.png"))


def test_reviewer_dashboard_queue_compare(server, browser, axe_check, artifacts):  # noqa: F811
    from selenium.webdriver.common.by import By

    base, password = server
    _login(browser, base, "reviewer", password)
    _visit(browser, axe_check, base + "/dashboard")
    assert browser.find_elements(By.CSS_SELECTOR, "figure.chart svg")
    _visit(browser, axe_check, base + "/review")
    _visit(browser, axe_check, base + "/projects?state=prechecked&sort=title")
    _visit(browser, axe_check, base + "/programme")
    links = browser.find_elements(By.CSS_SELECTOR, "tbody a")
    assert links
    links[0].click()
    axe_check()
    _visit(browser, axe_check, base + "/review")
    browser.find_elements(By.CSS_SELECTOR, "tbody a")[0].click()
    axe_check()
    compare = browser.find_elements(By.PARTIAL_LINK_TEXT, "并排对比")
    if compare:
        compare[0].click()
        axe_check()
        assert browser.find_elements(By.CSS_SELECTOR, "mark")
    browser.save_screenshot(str(artifacts / "reviewer.png"))


def test_vendor_runs_certification_as_a_background_job(server, browser, axe_check, artifacts, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.wait import WebDriverWait

    from registry.certify import samples

    base, password = server
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(samples.vendor_spec()), encoding="utf-8")
    har = tmp_path / "traffic.har"
    har.write_text(json.dumps(samples.good_har()), encoding="utf-8")
    _login(browser, base, "vendor.pengcheng", password)
    _visit(browser, axe_check, base + "/certification")
    Select(browser.find_element(By.ID, "f-standard")).select_by_index(1)
    browser.find_element(By.NAME, "system").send_keys("鹏城数据共享平台 v2")
    browser.find_element(By.ID, "f-spec").send_keys(str(spec))
    browser.find_element(By.ID, "f-hars").send_keys(str(har))
    browser.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda d: "/jobs/" in d.current_url)
    axe_check()
    WebDriverWait(browser, 60).until(lambda d: "已完成" in d.page_source or "失败原因" in d.page_source)
    assert "已完成" in browser.page_source, browser.page_source[-3000:]
    browser.find_element(By.PARTIAL_LINK_TEXT, "report").click()
    axe_check()
    assert "认证报告" in browser.page_source
    browser.save_screenshot(str(artifacts / "vendor-report.png"))


def test_analyst_finds_an_event_by_ip(server, browser, axe_check, artifacts):  # noqa: F811
    from selenium.webdriver.common.by import By

    base, password = server
    _login(browser, base, "soc.analyst", password)
    _visit(browser, axe_check, base + "/monitoring")
    _visit(browser, axe_check, base + "/monitoring/alerts")
    ip = browser.find_elements(By.CSS_SELECTOR, "tbody tr td")[2].text
    assert re.match(r"\d+\.\d+\.\d+\.\d+", ip), ip
    browser.find_element(By.NAME, "ip").send_keys(ip)
    browser.find_element(By.CSS_SELECTOR, "form[role=search] button").click()
    axe_check()
    assert f"ip={ip}" in browser.current_url and ip in browser.page_source
    _visit(browser, axe_check, base + "/monitoring/rulesets")
    browser.save_screenshot(str(artifacts / "analyst.png"))


def test_expert_and_admin_pages_pass_axe(server, browser, axe_check, artifacts):  # noqa: F811
    base, password = server
    _login(browser, base, "expert.wang", password)
    _visit(browser, axe_check, base + "/reviews")
    _login(browser, base, "admin", password)
    for path in ("/rules", "/standards/publish", "/jobs", "/audit", "/admin/users", "/account"):
        _visit(browser, axe_check, base + path)
    browser.get(base + "/lang/en?next=/dashboard")
    axe_check()
    assert "Programme dashboard" in browser.page_source
    browser.save_screenshot(str(artifacts / "admin-en.png"))
    assert len(axe_check.checked) >= 8


def test_open_data_access_journey(server, browser, axe_check, artifacts):  # noqa: F811
    """The public searches the catalog; a steward approves the demo's pending access application in the
    inbox; the applicant collects the key once on their page; the steward's release pages pass axe."""
    from selenium.webdriver.common.by import By

    base, password = server
    browser.delete_all_cookies()
    _visit(browser, axe_check, base + "/opendata?q=门诊")
    assert "sz-clinic-visits" in browser.page_source
    _visit(browser, axe_check, base + "/opendata/dataset/sz-clinic-visits")
    _login(browser, base, "trans.approver", password)
    _visit(browser, axe_check, base + "/opendata/steward")
    _visit(browser, axe_check, base + "/opendata/steward/new")
    _visit(browser, axe_check, base + "/opendata/access/inbox")
    pending = [f for f in browser.find_elements(By.CSS_SELECTOR, "form") if f.get_attribute("action").endswith("/decide")
               and f.find_elements(By.CSS_SELECTOR, "input[name=days]")]
    if pending:  # the demo's person application (gone when this instance already ran the journey)
        pending[0].find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        axe_check()
    _login(browser, base, "futian.submitter", password)
    _visit(browser, axe_check, base + "/opendata/access")
    buttons = browser.find_elements(By.CSS_SELECTOR, "form[action$='/key'] button")
    assert buttons, browser.page_source[:2000]
    buttons[0].click()
    key = browser.find_element(By.ID, "access-key").text
    assert key.startswith("odk_")
    axe_check()
    browser.save_screenshot(str(artifacts / "opendata-access.png"))
    _visit(browser, axe_check, base + "/opendata/access")
    assert key not in browser.page_source  # shown once
