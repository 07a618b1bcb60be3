"""A real browser (Debian's Chromium, driven by Selenium through chromedriver) against a real server.

`citygov demo` seeds an instance, `citygov serve` serves it on loopback, and the browser logs in,
creates an API token, opens the audit log and switches language — with the CSP and CSRF protections on.
Skips with a reason where Chromium is not installed; `.ci/run` installs it.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.served import free_port, wait_healthy

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(DRIVER).exists()),
                                reason="Chromium and chromedriver not installed (apt-get install chromium chromium-driver)")


def _citygov():
    exe = Path(sys.executable).with_name("citygov")
    return [str(exe)] if exe.exists() else [sys.executable, "-c", "from portal.cli import main; main()"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    instance = tmp_path_factory.mktemp("browser") / "instance"
    env = {**os.environ, "CITYGOV_INSTANCE_PATH": str(instance), "CITYGOV_ENV": "development"}
    env.pop("CITYGOV_DATABASE_URL", None)
    env.pop("CITYGOV_SECRET_KEY", None)
    demo = subprocess.run(_citygov() + ["demo", "--format", "json"], env=env, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    assert demo.returncode == 0, demo.stderr
    import json

    password = json.loads(demo.stdout)["login"]["password"]
    port = free_port()
    proc = subprocess.Popen(_citygov() + ["serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, proc, timeout=30)
    yield base, password
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", f"--user-data-dir={tmp_path_factory.mktemp('chrome-profile')}",
                 "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def test_login_token_audit_and_language_in_a_real_browser(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    base, password = server
    browser.get(base + "/")
    assert "城市信息化治理平台" in browser.page_source  # Chinese by default
    browser.get(base + "/login")
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda d: not d.current_url.rstrip("/").endswith("/login"))
    assert browser.current_url.rstrip("/") == base, browser.page_source[:2000]
    browser.get(base + "/account")
    browser.find_element(By.NAME, "name").send_keys("browser-test")
    browser.find_elements(By.CSS_SELECTOR, "form.form button[type=submit]")[-1].click()
    secret = WebDriverWait(browser, 30).until(lambda d: d.find_element(By.CSS_SELECTOR, ".secret code")).text
    assert secret.startswith("cgv_")
    browser.get(base + "/projects")
    assert browser.find_elements(By.CSS_SELECTOR, "tbody a"), "the demo's project library is listed"
    browser.find_elements(By.CSS_SELECTOR, "tbody a")[0].click()
    WebDriverWait(browser, 30).until(lambda d: "/projects/" in d.current_url)
    browser.get(base + "/audit?area=portal")
    assert "portal:token:create" in browser.page_source
    browser.save_screenshot(str(tmp_path / "audit.png"))
    browser.get(base + "/lang/en?next=/audit")
    assert "Audit log" in browser.page_source
    errors = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"] if hasattr(browser, "get_log") else []
    assert not [e for e in errors if "Content Security Policy" in e.get("message", "")], errors
