"""Headless Chromium for the tests of pages (the dashboard, the workbench, the reporter's
page): Debian's ``chromium`` and ``chromium-driver``, with every host but loopback mapped
to nowhere, so a page that asked for anything from elsewhere would fail to load it, and
the browser's console kept for the test to read."""
import shutil

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def headless_chromium(width, height, lang=None, network_log=False):
    """A new driver with a window ``width`` × ``height`` (the caller quits it); ``lang``
    the languages it asks pages for, ``network_log`` keeping every request it made."""
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    arguments = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 f"--window-size={width},{height}",
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                 "--disable-background-networking", "--no-first-run"]
    if lang:
        arguments.append(f"--lang={lang}")
    for argument in arguments:
        options.add_argument(argument)
    logs = {"browser": "ALL", **({"performance": "ALL"} if network_log else {})}
    options.set_capability("goog:loggingPrefs", logs)
    return webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
