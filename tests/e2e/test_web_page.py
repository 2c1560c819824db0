"""The web page in a real headless Chromium against a running server: real recorded calls
in, what a user and the administrator see and do on the page out -- checked through the
API as well.  A hostile caller name is shown as text and runs nothing.

Each test starts its own server (tests/support/running.py) and browser; every wait on the
page is bounded (tests/support/browser.py).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, ViewportSize, expect

from tests.support.browser import DESK, PHONE, Tab, chromium
from tests.support.pbx import Pbx
from tests.support.running import PASSWORD, Running, retimed, running, trace
from tests.support.smtp import SmtpSink

MISSED_DIRECT = "1795849570.0"  # 201 (anna) rang, nobody answered
RINGGROUP_MISSED = "1795849613.8"  # 201, 202, 203 rang, nobody answered
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as browser:
        yield browser


async def logged_in(
    browser: Browser, run: Running, user: str, viewport: ViewportSize = DESK
) -> Tab:
    tab = await Tab.open(browser, run.base_url, viewport)
    await tab.log_in(user, PASSWORD)
    await expect(tab.page.get_by_role("button", name="Log out")).to_be_visible()
    return tab


def entry(tab: Tab, call_id: str) -> Locator:
    return tab.page.locator(f"li.entry[data-call-id='{call_id}']")


async def test_a_user_logs_in_sees_his_journal_and_marks_an_entry_done(
    tmp_path: Path, browser: Browser
) -> None:
    async with running(tmp_path) as run:
        await run.play(trace("01-missed-direct"), trace("03-ringgroup-missed"))
        tab = await Tab.open(browser, run.base_url, viewport=PHONE)
        page = tab.page

        await tab.log_in("anna", "not her password")
        await expect(page.get_by_role("alert")).to_have_text("Wrong user or password.")
        await tab.log_in("anna", PASSWORD)
        await expect(
            page.get_by_role("heading", name="Journal of unanswered calls")
        ).to_be_visible()
        await expect(page.locator("li.entry")).to_have_count(2)
        missed = entry(tab, MISSED_DIRECT)
        await expect(missed.locator(".caller")).to_have_text("+49891234567")
        await expect(missed.locator(".why")).to_have_text("Line 201 rang, and nobody answered.")
        await missed.get_by_text("Mail for this call?").click()
        await expect(missed.locator(".why-mail")).to_contain_text("Mail to anna: yes")

        await missed.get_by_role("button", name=re.compile("^Mark done")).click()
        await expect(missed).to_have_count(0)  # gone from the open entries
        await expect(page.locator("li.entry")).to_have_count(1)
        await page.get_by_label("Show").select_option("done")
        await expect(entry(tab, MISSED_DIRECT).locator(".done-note")).to_contain_text(
            "Done: marked done"
        )

        anna = await run.login("anna")
        done = (await anna.get("/api/v1/journal", params={"state": "done"})).json()
        assert [(e["call_id"], e["done_by"]) for e in done] == [(MISSED_DIRECT, "hand")]
        assert tab.errors == [] and tab.dialogs == []


async def test_a_user_previews_his_mail_for_the_sample_and_for_a_recent_call(
    tmp_path: Path, browser: Browser
) -> None:
    async with running(tmp_path) as run:
        await run.play(trace("01-missed-direct"))
        tab = await logged_in(browser, run, "anna")
        page = tab.page
        await tab.view("Preview")
        mail = page.frame_locator("iframe.mail-frame")
        await expect(page.locator("dd.subject")).to_have_text(
            "Verpasster Anruf von Jane Doe (+49 89 1234567)"  # the sample call, in her German
        )
        await expect(mail.locator("body")).to_contain_text("Jane Doe")
        assert await page.locator("iframe.mail-frame").get_attribute("sandbox") == ""

        await page.get_by_label("Language").select_option("en")
        await page.get_by_label("Call").select_option(MISSED_DIRECT)
        await page.get_by_role("button", name="Preview", exact=True).click()
        await expect(page.locator("dd.subject")).to_have_text("Missed call from +49 89 1234567")
        await expect(mail.locator("body")).to_contain_text("Missed call")
        await expect(page.locator("pre.text-part")).to_contain_text("+49 89 1234567")
        assert tab.errors == [] and tab.dialogs == []


async def test_a_user_changes_his_own_settings_and_logs_out(
    tmp_path: Path, browser: Browser
) -> None:
    async with running(tmp_path) as run:
        tab = await logged_in(browser, run, "anna")
        page = tab.page
        await tab.view("My settings")
        await page.get_by_label("E-mail me the calls I missed").uncheck()
        await page.get_by_label("Language of the mails").select_option("en")
        await page.get_by_label("When to e-mail").select_option("logged_off")
        await page.get_by_role("button", name="Save").click()
        await expect(page.locator("form .message.ok")).to_have_text("Saved.")

        anna = await run.login("anna")
        me = (await anna.get("/api/v1/me")).json()["user"]
        assert me["settings"] == {"notify": False, "language": "en", "when": "logged_off"}
        assert me["own_choices"] == ["language", "notify", "when"]

        await page.get_by_role("button", name="Back to the defaults").click()
        await expect(page.locator("form .message.ok")).to_have_text("Back to the defaults.")
        me = (await anna.get("/api/v1/me")).json()["user"]
        assert me["settings"] == {"notify": True, "language": "de", "when": "always"}

        await page.get_by_role("button", name="Log out").click()
        await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
        await expect(page.get_by_text("You are logged out.")).to_be_visible()
        session = await page.request.get("/api/v1/session")
        assert session.status == 401  # the page's cookie holds no more
        assert tab.errors == [] and tab.dialogs == []


async def test_the_administrator_sees_failures_in_the_outbox_and_reads_the_mails(
    tmp_path: Path, browser: Browser
) -> None:
    sink = SmtpSink(refuse={"bernd@example.com": "550 5.1.1 mailbox unavailable"})
    async with running(tmp_path, sink=sink) as run:
        await run.play(trace("03-ringgroup-missed"))
        counts = run.server.outbox.counts_by_state
        await run.until(lambda: counts()["sent"] == 2 and counts()["failed"] == 1)
        tab = await logged_in(browser, run, "admin")
        page = tab.page

        await tab.view("Outbox")
        await expect(page.locator("li.chip[data-state='failed'] strong")).to_have_text("1")
        failed = page.locator("tr[data-state='failed']")
        await expect(failed).to_contain_text("bernd@example.com")
        await expect(failed).to_contain_text("550 5.1.1 mailbox unavailable")
        await failed.get_by_role("button", name=re.compile("^Retry mail")).click()
        await expect(page.locator("#status")).to_contain_text(re.compile(r"Mail \d+ is queued"))

        await tab.view("Mails")
        await expect(page.locator("button.mail-item")).to_have_count(3)
        carla = page.locator("button.mail-item", has_text="carla@example.com")
        await carla.click()
        await expect(carla).to_have_attribute("aria-pressed", "true")
        await expect(page.locator(".mail-reader h2")).to_have_text(
            "Missed call from +49 89 1234567"
        )
        mail = page.frame_locator(".mail-reader iframe.mail-frame")
        await expect(mail.locator("body")).to_contain_text("Missed call")
        eml = await page.get_by_role("link", name="Download the .eml file").get_attribute("href")
        answer = await page.request.get(eml or "")
        assert answer.headers["content-type"] == "message/rfc822"
        assert b"To: Carla Gamma <carla@example.com>" in await answer.body()
        assert tab.errors == [] and tab.dialogs == []


async def test_the_administrator_changes_a_setting_at_run_time(
    tmp_path: Path, browser: Browser
) -> None:
    async with running(tmp_path) as run:
        tab = await logged_in(browser, run, "admin")
        page = tab.page
        await tab.view("Settings")
        await page.locator("#setting-notify-recipients").select_option("first")
        await page.locator("#setting-notify-exceptions-min_ring_seconds").fill("-1")
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.get_by_role("alert")).to_contain_text(
            "notify.exceptions.min_ring_seconds: must be at least 0"
        )
        await page.locator("#setting-notify-exceptions-min_ring_seconds").fill("5")
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.locator("form .message.ok")).to_contain_text("Saved.")
        await expect(page.locator("[data-key='notify.recipients'] .badge.changed")).to_be_visible()

        admin = await run.login("admin")
        overrides = (await admin.get("/api/v1/settings")).json()["overrides"]
        assert overrides == {"notify.recipients": "first", "notify.exceptions.min_ring_seconds": 5}
        assert tab.errors == [] and tab.dialogs == []


def hostile_call() -> bytes:
    """A call from outside to Anna (line 201) whose caller name is HTML with a script."""
    pbx = Pbx()
    trunk = pbx.inbound("+4930555201", "+49891234567", name=HOSTILE)
    phone = pbx.dial(trunk, "PJSIP/201")
    pbx.ringing(trunk, phone)
    pbx.wait(12)
    pbx.dial_end(trunk, phone, "CANCEL")
    pbx.hangup(phone, trunk)
    return retimed(b"".join(message.encode() for message in pbx.messages))


async def test_a_hostile_caller_name_is_shown_as_text_and_runs_nothing(
    tmp_path: Path, browser: Browser
) -> None:
    async with running(tmp_path) as run:
        await run.play(hostile_call())
        await run.until(lambda: run.server.outbox.counts_by_state()["sent"] == 1)
        label = f"{HOSTILE} (+49891234567)"

        anna = await logged_in(browser, run, "anna")
        page = anna.page
        await expect(page.locator("li.entry .caller")).to_have_text(label)
        await anna.view("Calls")
        await expect(page.locator("li.call .caller")).to_have_text(label)
        await anna.view("Preview")
        call_id = (await (await run.login("anna")).get("/api/v1/calls")).json()[0]["call"][
            "call_id"
        ]
        await page.get_by_label("Call").select_option(call_id)
        await page.get_by_role("button", name="Preview", exact=True).click()
        await expect(page.locator("dd.subject")).to_contain_text(HOSTILE)
        frame = page.frame_locator("iframe.mail-frame")
        await expect(frame.locator("body")).to_contain_text(HOSTILE)  # escaped: text in the mail
        assert await frame.locator("img").count() == 0

        admin = await logged_in(browser, run, "admin")
        await admin.view("Mails")
        await expect(admin.page.locator(".mail-reader h2")).to_contain_text(HOSTILE)
        for tab in (anna, admin):
            assert await tab.page.locator("main img").count() == 0
            assert tab.dialogs == [] and tab.errors == []


def test_without_chromium_the_browser_tests_skip_locally_and_fail_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.support import browser as support

    monkeypatch.setattr(support, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        support.chromium_or_skip()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser tests"):
        support.chromium_or_skip()
