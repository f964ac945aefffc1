"""Issue 21: the admin console, driven in headless Chromium against the real platform process.

An admin signs in, works the seeded dispute from the queue to a partial refund (image evidence rendered, the
amount checked against the agreed price before sending), and the API then shows the outcome; a suspension
made in the users page ends that user's session; a customer is refused; every page passes axe-core with no
serious or critical violation and is captured at laptop and tablet widths.
"""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from scripts.seed import DEMO_CUSTOMER, DEMO_PASSWORD
from shared_models.enums import Role
from tests.browser.conftest import (
    LAPTOP,
    SCREENSHOTS,
    TABLET,
    Demo,
    Tab,
    another_admin,
    axe_violations,
    dumps,
    relay_notifications,
    sign_in,
    sign_in_admin,
)
from tests.conftest import LiveStack
from tests.factories import API, PASSWORD, Account, register, register_subscribed
from tests.platform_api.bookings.helpers import request_payload

# One worker runs them all (`--dist loadgroup`): one browser, one demo seed, one live stack for the module.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("browser")]


async def dispute_live(
    client: httpx.AsyncClient,
    quote: dict[str, Any] | None = None,
    statement: str = "The cleaner broke a lamp and left.",
    display_name: str = "Test customer",
) -> tuple[Account, Account, dict[str, Any]]:
    """A completed booking the customer disputes, through the live API: (customer, provider, dispute)."""
    customer = await register(client, Role.customer, display_name=display_name)
    provider = await register_subscribed(client)
    payload = request_payload(provider.body["provider"]["id"], datetime.now(UTC))
    if quote is not None:
        payload["quote"] = quote
    created = await client.post(f"{API}/requests", json=payload, headers=customer.bearer)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    for event in ("accept", "complete"):
        moved = await client.post(f"{API}/requests/{rid}/{event}", headers=provider.bearer)
        assert moved.status_code == 200, moved.text
    opened = await client.post(
        f"{API}/requests/{rid}/dispute",
        json={"category": "damage", "statement": statement},
        headers=customer.bearer,
    )
    assert opened.status_code == 201, opened.text
    return customer, provider, opened.json()


async def test_an_admin_resolves_the_seeded_dispute_with_a_partial_refund(
    tabs: Any, demo: Demo, live_stack: LiveStack
) -> None:
    dispute_id = demo.dispute["id"]
    tab: Tab = await tabs()
    page = tab.page
    # The browser's clock four days on: the seeded dispute's 72-hour response deadline has passed.
    await page.clock.install(time=datetime.now(UTC) + timedelta(days=4))
    await sign_in_admin(tab, demo.admin.email)

    # The queue, oldest first, narrowed to open disputes about quality: the seeded one, flagged overdue.
    await page.get_by_label("State").select_option("open")
    await page.get_by_label("Category").select_option("poor_quality")
    await page.get_by_role("button", name="Filter").click()
    row = page.get_by_role("row").filter(has=page.locator(f'a[href="#/disputes/{dispute_id}"]'))
    await expect(row).to_contain_text("Overdue")
    await row.get_by_role("link").click()

    # The dispute: the booking's price, the timeline with the photo rendered and the PDF in a viewer.
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Poor quality")
    price = await page.locator("dt:has-text('Agreed price') + dd").inner_text()
    photo = page.get_by_role("img", name="Photo from the customer")
    await expect(photo).to_be_visible()
    assert await photo.evaluate("img => img.complete && img.naturalWidth > 0"), "the photo did not render"
    await page.get_by_role("button", name="View PDF").click()
    viewer = page.locator("iframe.pdf")
    await expect(viewer).to_be_visible()
    async with httpx.AsyncClient() as storage:
        pdf = await storage.get(await viewer.get_attribute("src") or "")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.status_code
    assert pdf.headers["content-disposition"].startswith("inline")
    await expect(page.locator(".timeline")).to_contain_text("The customer", ignore_case=True)

    # Resolve as a split; an amount at the agreed price is refused before anything is sent.
    await page.get_by_text("Resolve the dispute").click()
    await page.get_by_label("Split (partial refund)").check()
    await page.get_by_label("Refund amount").fill(price.replace("£", "").replace(",", ""))
    await page.get_by_label("Note to both parties").fill("Both had a point: part of the price comes back.")
    await page.get_by_role("button", name="Resolve", exact=True).click()
    await expect(page.locator("#refund-problem")).to_contain_text("less than the agreed price")
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=30) as client:
        url = f"{API}/admin/disputes/{dispute_id}"
        still = await client.get(url, headers=demo.admin.bearer)
        assert still.json()["dispute"]["state"] != "resolved"
        agreed = still.json()["booking"]["agreed_price"]
        partial = agreed["amount_minor"] * 2 // 5
        await page.get_by_label("Refund amount").fill(f"{partial / 100:.2f}")
        await page.get_by_role("button", name="Resolve", exact=True).click()
        await expect(page.get_by_role("status")).to_contain_text("resolved with a refund of")
        await expect(page.get_by_role("heading", level=1)).to_contain_text("Resolved")

        # What the API then says: the booking resolved, the refund, both parties told, the audit entry.
        view = (await client.get(url, headers=demo.admin.bearer)).json()
        assert view["dispute"]["state"] == "resolved"
        assert view["dispute"]["refund"] == {
            "kind": "partial",
            "amount_minor": partial,
            "currency": agreed["currency"],
        }
        booking = await client.get(f"{API}/requests/{view['booking']['id']}", headers=demo.customer.bearer)
        assert booking.json()["state"] == "resolved"
        owner_id = view["booking"]["provider"]["owner_id"]
        owner = (await client.get(f"{API}/admin/users/{owner_id}", headers=demo.admin.bearer)).json()
        provider = await client.post(
            f"{API}/auth/login", json={"email": owner["email"], "password": DEMO_PASSWORD}
        )
        provider_bearer = {"Authorization": f"Bearer {provider.json()['access_token']}"}
        await relay_notifications(live_stack)
        for who in (demo.customer.bearer, provider_bearer):
            listed = (await client.get(f"{API}/notifications", headers=who)).json()["items"]
            assert "dispute_resolved" in [n["type"] for n in listed], listed
        audit = await client.get(
            f"{API}/admin/audit", params={"target_id": dispute_id}, headers=demo.admin.bearer
        )
        assert [e["action"] for e in audit.json()["items"]][:1] == ["dispute.resolve"], audit.text
    # The console's audit log shows the entry, linking back to the dispute.
    await page.get_by_role("link", name="Audit entries for this dispute").click()
    entry = page.get_by_role("row").filter(has_text="dispute.resolve")
    await expect(entry).to_have_count(1)
    await expect(entry.get_by_role("link", name=f"dispute {dispute_id}")).to_be_visible()
    tab.no_errors()


async def test_a_suspension_from_the_users_page_ends_that_users_session(
    tabs: Any, demo: Demo, live_stack: LiveStack
) -> None:
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=30) as client:
        customer = await register(client, Role.customer)
        assert (await client.get(f"{API}/auth/me", headers=customer.bearer)).status_code == 200
        tab: Tab = await tabs()
        page = tab.page
        await sign_in(tab, demo.admin.email)
        await page.get_by_role("link", name="Users").click()
        await page.get_by_label("Email starts with").fill(customer.email[:12])
        await page.get_by_label("Role").select_option("customer")
        await page.get_by_role("button", name="Search").click()
        await page.get_by_role("link", name=customer.email).click()
        await expect(page.get_by_role("heading", level=1)).to_be_visible()
        await page.get_by_label("Reason (told to the user)").fill("Abusive messages to providers.")
        await page.get_by_role("button", name="Suspend").click()
        await expect(page.get_by_role("status")).to_contain_text("is suspended")
        await expect(page.locator("dt:has-text('Status') + dd")).to_contain_text("Suspended")

        # Their next call is refused, and the audit log names the suspension and its reason.
        refused = await client.get(f"{API}/auth/me", headers=customer.bearer)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "account_suspended"
        audit = await client.get(
            f"{API}/admin/audit", params={"target_id": customer.id}, headers=demo.admin.bearer
        )
        [entry] = audit.json()["items"]
        assert (
            entry["action"] == "user.suspend" and entry["after"]["reason"] == "Abusive messages to providers."
        )

        # Lifted from the same page: they may log in again.
        await page.get_by_role("button", name="Lift the suspension").click()
        await expect(page.get_by_role("status")).to_contain_text("may sign in again")
        again = await client.post(f"{API}/auth/login", json={"email": customer.email, "password": PASSWORD})
        assert again.status_code == 200, again.text
    tab.no_errors()


async def test_a_customer_is_refused_by_the_console(tabs: Any, demo: Demo, live_stack: LiveStack) -> None:
    # Signed in elsewhere (the SPA's cookie) and opening /admin/: told, and shown nothing of the console.
    tab: Tab = await tabs()
    page = tab.page
    logged_in = await page.request.post(
        f"{live_stack.platform_url}{API}/auth/login", data={"email": DEMO_CUSTOMER, "password": DEMO_PASSWORD}
    )
    assert logged_in.ok
    await tab.open("#/users")
    await expect(page.get_by_role("heading", name="Not an admin account")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("Only admins may use this console")
    await expect(page.get_by_role("navigation", name="Console")).to_have_count(0)
    # The API refuses them whatever the page does.
    admin_call = await page.request.get(f"{live_stack.platform_url}{API}/admin/users")
    assert admin_call.status == 403 and (await admin_call.json())["error"]["code"]

    # Through the console's sign-in form: told they are not an admin, and that session is ended at once.
    other: Tab = await tabs()
    await sign_in(other, DEMO_CUSTOMER)
    await expect(other.page.get_by_role("alert")).to_contain_text("is not an admin account")
    me = await other.page.request.get(f"{live_stack.platform_url}{API}/auth/me")
    assert me.status == 401
    tab.no_errors()
    other.no_errors()


async def test_signing_out_ends_the_session(tabs: Any, demo: Demo, live_stack: LiveStack) -> None:
    tab: Tab = await tabs()
    await sign_in_admin(tab, demo.admin.email)
    [cookie] = [c for c in await tab.context.cookies() if c["name"] == "session"]
    await tab.page.get_by_role("button", name="Sign out").click()
    await expect(tab.page.get_by_role("heading", name="Admin console — sign in")).to_be_visible()
    async with httpx.AsyncClient(
        base_url=live_stack.platform_url, timeout=30, cookies={"session": cookie["value"]}
    ) as client:
        stale = await client.get(f"{API}/auth/me")
    assert stale.status_code == 401, stale.text
    tab.no_errors()


async def test_a_failed_action_is_shown_in_words(tabs: Any, demo: Demo, live_stack: LiveStack) -> None:
    """The page was loaded before another admin resolved the dispute: the console's action answers the API's
    typed error, in words, and the page keeps working."""
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=30) as client:
        _, _, dispute = await dispute_live(client)
        tab: Tab = await tabs()
        page = tab.page
        await sign_in_admin(tab, demo.admin.email)
        await tab.open(f"#/disputes/{dispute['id']}")
        await expect(page.get_by_role("heading", level=1)).to_contain_text("Damage")
        elsewhere = await client.post(
            f"{API}/admin/disputes/{dispute['id']}/resolve",
            json={"outcome": "provider_favoured", "note": "No damage shown."},
            headers=demo.admin.bearer,
        )
        assert elsewhere.status_code == 200, elsewhere.text
    await page.get_by_role("button", name="Assign to me").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_be_visible()
    text = await alert.inner_text()
    assert "(" in text and len(text.split("(")[0].strip()) > 10, text  # a sentence, then the code
    tab.no_errors(409)  # the refused call itself


PAGES = {
    "signin": "",
    "disputes": "#/disputes",
    "dispute": "#/disputes/{dispute}",  # the seeded one: photo and PDF (resolved, if an earlier test did)
    "dispute-actions": "#/disputes/{fresh}",  # an open one, with its action forms unfolded
    "users": "#/users?email={email}",
    "user": "#/users/{customer}",
    "provider": "#/providers/{provider}",
    "audit": "#/audit",
}


async def test_every_page_is_accessible_and_captured_at_laptop_and_tablet_widths(
    tabs: Any, demo: Demo, live_stack: LiveStack
) -> None:
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=30) as client:
        view = (
            await client.get(f"{API}/admin/disputes/{demo.dispute['id']}", headers=demo.admin.bearer)
        ).json()
        # Long words people type must wrap, not widen the page: a name and a statement without a space.
        long_name = "Bartholomew" * 6
        customer, _, fresh = await dispute_live(client, statement="Unacceptable" * 40, display_name=long_name)
    ids = {
        "dispute": demo.dispute["id"],
        "fresh": fresh["id"],
        "customer": customer.id,
        "email": customer.email,
        "provider": view["booking"]["provider"]["id"],
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    found: dict[str, Any] = {}
    for width, viewport in (("laptop", LAPTOP), ("tablet", TABLET)):
        # axe-core is injected into each page, which the console's Content-Security-Policy would refuse.
        tab: Tab = await tabs(viewport=viewport, bypass_csp=True)
        page = tab.page
        for name, fragment in PAGES.items():
            if name == "signin":
                await tab.open()
                await expect(page.get_by_role("heading", name="Admin console — sign in")).to_be_visible()
            else:
                if name == "disputes":
                    await page.get_by_label("Password").fill(DEMO_PASSWORD)
                    await page.get_by_label("Email").fill(demo.admin.email)
                    await page.get_by_role("button", name="Sign in").click()
                    await expect(page.get_by_role("navigation", name="Console")).to_be_visible()
                await tab.open(fragment.format(**ids))
                await expect(page.locator("[aria-busy=true]")).to_have_count(0)
                await expect(page.get_by_role("heading", level=1)).to_be_visible()
            if name == "dispute":
                await page.get_by_role("button", name="View PDF").click()
            if name == "dispute-actions":  # its forms unfolded, so their fields are checked too
                await page.get_by_text("Request information from one party").click()
                await page.get_by_text("Resolve the dispute").click()
                await page.get_by_label("Split (partial refund)").check()
            violations = await axe_violations(page)
            if violations:
                found[f"{name}@{width}"] = violations
            # Readable at this width: nothing wider than the window, no table wider than its box.
            overflow = await page.evaluate(
                """() => [document.documentElement, ...document.querySelectorAll('.overflow-auto')]
                    .filter(box => box.scrollWidth > box.clientWidth + 1)
                    .map(box => `${box.className || box.tagName}: ${box.scrollWidth} > ${box.clientWidth}`)"""
            )
            if overflow:
                found[f"{name}@{width} overflow"] = overflow
            await page.screenshot(path=SCREENSHOTS / f"{name}-{width}.png", full_page=True)
        tab.no_errors()
    assert not found, dumps(found)
    assert sorted(p.name for p in SCREENSHOTS.glob("*.png")) == sorted(
        f"{name}-{width}.png" for name in PAGES for width in ("laptop", "tablet")
    )


async def tab_to(page: Page, target: Locator, presses: int = 40) -> None:
    """Press Tab until `target` has the focus (as a keyboard user moves through a page)."""
    for _ in range(presses):
        await page.keyboard.press("Tab")
        if await target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {target}")


async def test_the_console_is_usable_by_keyboard(tabs: Any, demo: Demo, live_stack: LiveStack) -> None:
    """Sign in, search the users, and resolve a dispute with a partial refund, with the keyboard alone."""
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=30) as client:
        customer, _, dispute = await dispute_live(client)
    tab: Tab = await tabs()
    page = tab.page
    await tab.open()
    await expect(page.get_by_role("heading", name="Admin console — sign in")).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Email")).to_be_focused()
    await page.keyboard.type(demo.admin.email)
    await page.keyboard.press("Tab")
    await page.keyboard.type(DEMO_PASSWORD)
    await page.keyboard.press("Enter")
    # Each page's heading takes the focus, so a screen reader announces where the admin is.
    await expect(page.get_by_role("heading", name="Disputes")).to_be_focused()
    await tab_to(page, page.get_by_role("link", name="Users"))
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Users")).to_be_focused()
    await tab_to(page, page.get_by_label("Email starts with"))
    await page.keyboard.type(customer.email)
    await page.keyboard.press("Enter")
    await tab_to(page, page.get_by_role("link", name=customer.email))
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_be_focused()

    await tab.open(f"#/disputes/{dispute['id']}")
    await expect(page.get_by_role("heading", level=1)).to_be_focused()
    await tab_to(page, page.get_by_text("Resolve the dispute"))
    await page.keyboard.press("Enter")  # unfolds the form
    await tab_to(page, page.get_by_label("In the customer's favour (full or partial refund)"))
    await page.keyboard.press("ArrowDown")  # the radio group's next choice: split
    await expect(page.get_by_label("Split (partial refund)")).to_be_checked()
    await tab_to(page, page.get_by_label("Refund amount"))
    await page.keyboard.type("30")
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Note to both parties")).to_be_focused()
    await page.keyboard.type("Half of the damage is proven.")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Resolve", exact=True)).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_contain_text("refund of £30.00")
    tab.no_errors()


async def test_an_admin_assigns_and_asks_one_party_for_information(
    tabs: Any, demo: Demo, live_stack: LiveStack
) -> None:
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=30) as client:
        _, _, dispute = await dispute_live(client)
        deadline = datetime.fromisoformat(dispute["respond_by"])
        tab: Tab = await tabs()
        page = tab.page
        # Twelve hours before the response deadline (the browser's clock): the queue says it is due soon.
        await page.clock.install(time=deadline - timedelta(hours=12))
        await sign_in(tab, demo.admin.email)
        await page.get_by_label("State").select_option("open")
        await page.get_by_label("Category").select_option("damage")
        await page.get_by_role("button", name="Filter").click()
        row = page.get_by_role("row").filter(has=page.locator(f'a[href="#/disputes/{dispute["id"]}"]'))
        await expect(row).to_contain_text("Due within 24 h")
        await row.get_by_role("link").click()

        await page.get_by_role("button", name="Assign to me").click()
        await expect(page.get_by_role("status")).to_contain_text("assigned to you")
        await expect(page.locator("dt:has-text('Assigned') + dd")).to_have_text("To you")
        await page.get_by_text("Request information from one party").click()
        await page.get_by_label("The provider", exact=True).check()
        await page.get_by_label("Question").fill("Do you have photos of the lamp before the visit?")
        await page.get_by_role("button", name="Send the request").click()
        await expect(page.get_by_role("status")).to_contain_text("Asked the provider")
        await expect(page.get_by_role("heading", level=1)).to_contain_text("Awaiting information")

        view = (await client.get(f"{API}/admin/disputes/{dispute['id']}", headers=demo.admin.bearer)).json()
        assert view["dispute"]["assigned_admin_id"] == demo.admin.id
        assert view["dispute"]["state"] == "awaiting_info" and view["dispute"]["evidence_from"] == "provider"
        [asked] = [i for i in view["items"] if i["event"] == "request_info"]
        assert asked["party"] == "provider" and "photos of the lamp" in asked["note"]
    await expect(page.locator(".timeline")).to_contain_text("Information requested")
    tab.no_errors()


async def test_an_admin_verifies_and_unverifies_a_provider(
    tabs: Any, demo: Demo, live_stack: LiveStack
) -> None:
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=30) as client:
        provider = await register_subscribed(client)
        profile_id = provider.body["provider"]["id"]
        tab: Tab = await tabs()
        page = tab.page
        await sign_in_admin(tab, demo.admin.email)
        # From the users page to the provider's profile.
        await tab.open(f"#/users?email={provider.email}")
        await page.get_by_role("link", name=f"Profile of {provider.email}").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            provider.body["provider"]["business_name"]
        )
        await expect(page.locator("dt:has-text('Tier') + dd")).to_have_text("basic")
        await page.get_by_role("button", name="Mark as verified").click()
        await expect(page.get_by_role("status")).to_contain_text("is verified")
        url = f"{API}/admin/providers/{profile_id}"
        shown = (await client.get(url, headers=demo.admin.bearer)).json()
        assert shown["profile"]["verified"] is True and shown["verified_at"]
        await page.get_by_role("button", name="Withdraw verification").click()
        await expect(page.get_by_role("status")).to_contain_text("withdrawn")
        shown = (await client.get(url, headers=demo.admin.bearer)).json()
        assert shown["profile"]["verified"] is False
        audit = await client.get(
            f"{API}/admin/audit", params={"target_id": profile_id}, headers=demo.admin.bearer
        )
        assert [e["action"] for e in audit.json()["items"]] == ["provider.unverify", "provider.verify"]
    tab.no_errors()


async def test_refund_amounts_are_checked_against_the_agreed_price_before_sending(
    tabs: Any, demo: Demo, live_stack: LiveStack
) -> None:
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=30) as client:
        _, _, dispute = await dispute_live(client)  # agreed price: GBP 120.00
        tab: Tab = await tabs()
        page = tab.page
        sent: list[str] = []
        page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
        await sign_in_admin(tab, demo.admin.email)
        await tab.open(f"#/disputes/{dispute['id']}")
        await page.get_by_text("Resolve the dispute").click()
        await page.get_by_label("Split (partial refund)").check()
        await page.get_by_label("Note to both parties").fill("Part of the price comes back.")
        problem = page.locator("#refund-problem")
        for typed, says in (
            ("0", "more than 0 and less than the agreed price, £120.00"),
            ("120", "less than the agreed price"),
            ("120.00", "less than the agreed price"),
            ("120.01", "less than the agreed price"),
            ("99999999999999999999", "less than the agreed price"),
            ("0.001", "e.g. 12.50"),
            ("-5", "e.g. 12.50"),
            ("1e3", "e.g. 12.50"),
            ("12,50", "no commas"),
            ("\uff11\uff12", "e.g. 12.50"),  # full-width digits
            ("12.5.0", "e.g. 12.50"),
        ):
            await page.get_by_label("Refund amount").fill(typed)
            await page.get_by_role("button", name="Resolve", exact=True).click()
            await expect(problem).to_contain_text(says)
        assert [url for url in sent if url.endswith("/resolve")] == []
        # Surrounding spaces are fine, and one decimal digit means tens of pence: 12.5 is 1250 minor units.
        await page.get_by_label("Refund amount").fill("  12.5 ")
        await page.get_by_role("button", name="Resolve", exact=True).click()
        await expect(page.get_by_role("status")).to_contain_text("refund of £12.50")
        view = (await client.get(f"{API}/admin/disputes/{dispute['id']}", headers=demo.admin.bearer)).json()
        assert view["dispute"]["refund"] == {"kind": "partial", "amount_minor": 1250, "currency": "GBP"}
        assert len([url for url in sent if url.endswith("/resolve")]) == 1
    tab.no_errors()


async def test_a_tab_whose_session_another_sign_in_replaced_says_so_and_recovers(
    tabs: Any, demo: Demo, live_stack: LiveStack
) -> None:
    """Two tabs of one browser: in the second, the admin signs out and another admin signs in. The first tab's
    next action is refused by the API (its CSRF token was the old session's); the console says nothing was
    done, takes up the new session, and the retry acts as the new admin."""
    other_email, other_password = await another_admin(live_stack)
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=30) as client:
        _, _, dispute = await dispute_live(client)
        first: Tab = await tabs()
        await sign_in_admin(first, demo.admin.email)
        await first.open(f"#/disputes/{dispute['id']}")
        await expect(first.page.get_by_role("button", name="Assign to me")).to_be_visible()

        second = await first.context.new_page()
        await second.goto(first.console)
        await second.get_by_role("button", name="Sign out").click()
        await second.get_by_label("Email").fill(other_email)
        await second.get_by_label("Password").fill(other_password)
        await second.get_by_role("button", name="Sign in").click()
        await expect(second.get_by_role("heading", name="Disputes")).to_be_visible()

        page = first.page
        await page.get_by_role("button", name="Assign to me").click()
        await expect(page.get_by_role("alert").first).to_contain_text("nothing was done")
        await expect(page.get_by_role("alert").first).to_contain_text(other_email)
        still = await client.get(f"{API}/admin/disputes/{dispute['id']}", headers=demo.admin.bearer)
        assert still.json()["dispute"]["assigned_admin_id"] is None
        await page.get_by_role("button", name="Assign to me").click()
        await expect(page.locator("dt:has-text('Assigned') + dd")).to_have_text("To you")
        await expect(page.get_by_text("nothing was done")).to_have_count(0)  # the retry went through
        after = await client.get(f"{API}/admin/disputes/{dispute['id']}", headers=demo.admin.bearer)
        assigned = after.json()["dispute"]["assigned_admin_id"]
        owner = await client.get(f"{API}/admin/users/{assigned}", headers=demo.admin.bearer)
        assert owner.json()["email"] == other_email
    first.no_errors(403)  # the refused assignment


async def test_an_action_that_never_reaches_the_server_is_reported_and_can_be_retried(
    tabs: Any, demo: Demo, live_stack: LiveStack
) -> None:
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=30) as client:
        _, _, dispute = await dispute_live(client)
        tab: Tab = await tabs()
        page = tab.page
        await sign_in_admin(tab, demo.admin.email)
        await tab.open(f"#/disputes/{dispute['id']}")
        await page.route("**/resolve", lambda route: route.abort("connectionrefused"))
        await page.get_by_text("Resolve the dispute").click()
        await page.get_by_label("In the provider's favour (no refund)").check()
        await page.get_by_label("Note to both parties").fill("No damage was shown.")
        resolve = page.get_by_role("button", name="Resolve", exact=True)
        await resolve.click()
        await expect(page.get_by_role("alert")).to_contain_text("could not be reached")
        await expect(resolve).to_be_enabled()
        await page.unroute("**/resolve")
        await resolve.click()
        await expect(page.get_by_role("status")).to_contain_text("resolved with no refund")
        view = await client.get(f"{API}/admin/disputes/{dispute['id']}", headers=demo.admin.bearer)
        assert view.json()["dispute"]["outcome"] == "provider_favoured"
    tab.errors = [e for e in tab.errors if "ERR_CONNECTION_REFUSED" not in e]  # the aborted call itself
    tab.no_errors()


CURRENCY_CASES = (
    # (the agreed price, a wrong amount and what the console says of it, the refund then made, in minor units)
    ({"amount_minor": 12000, "currency": "JPY"}, "12.5", "as digits, e.g. 1250", 5000),  # no minor unit
    ({"amount_minor": 12000, "currency": "BHD"}, "1.2345", "e.g. 12.500", 1250),  # three digits (fils)
    ({"amount_minor": 500000, "currency": "IQD"}, "0.0001", "e.g. 12.500", 12500),  # 3 by ISO, 0 by Intl
    ({"amount_minor": 0, "currency": "GBP"}, None, None, 0),  # a free job: a full refund of nothing
)


async def test_refunds_count_the_currencys_own_minor_units(
    tabs: Any, demo: Demo, live_stack: LiveStack
) -> None:
    tab: Tab = await tabs()
    page = tab.page
    await sign_in_admin(tab, demo.admin.email)
    async with httpx.AsyncClient(base_url=live_stack.platform_url, timeout=30) as client:
        for quote, typed, refused, refund in CURRENCY_CASES:
            _, _, dispute = await dispute_live(client, quote=quote)
            await tab.open(f"#/disputes/{dispute['id']}")
            await page.get_by_text("Resolve the dispute").click()
            await page.get_by_label("Note to both parties").fill("Decided on the evidence.")
            if typed is None:  # customer-favoured, full: whatever the price
                await page.get_by_role("button", name="Resolve", exact=True).click()
            else:
                await page.get_by_label("Split (partial refund)").check()
                await page.get_by_label("Refund amount").fill(typed)
                await page.get_by_role("button", name="Resolve", exact=True).click()
                await expect(page.locator("#refund-problem")).to_contain_text(refused or "")
                major = refund / 10 ** {"JPY": 0, "BHD": 3, "IQD": 3}[quote["currency"]]
                await page.get_by_label("Refund amount").fill(f"{major:g}")
                await page.get_by_role("button", name="Resolve", exact=True).click()
            await expect(page.get_by_role("status")).to_contain_text("The dispute is resolved")
            view = await client.get(f"{API}/admin/disputes/{dispute['id']}", headers=demo.admin.bearer)
            assert view.json()["dispute"]["refund"] == {
                "kind": "full" if typed is None else "partial",
                "amount_minor": refund,
                "currency": quote["currency"],
            }, quote
    tab.no_errors()


async def test_a_search_being_typed_survives_the_list_finishing_loading(tabs: Any, demo: Demo) -> None:
    """The users list answers while the admin is still typing a search: what was typed stays (a controlled
    field was reset to the page's filter whenever the list re-rendered)."""
    tab: Tab = await tabs()
    page = tab.page
    await sign_in_admin(tab, demo.admin.email)
    asked, answer = asyncio.Event(), asyncio.Event()

    async def hold_the_list(route: Any) -> None:
        asked.set()
        await answer.wait()
        await route.continue_()

    await page.route("**/api/v1/admin/users?*", hold_the_list)
    await page.get_by_role("link", name="Users").click()
    field = page.get_by_label("Email starts with")
    await field.press_sequentially("casey")
    await asyncio.wait_for(asked.wait(), timeout=30)
    answer.set()  # the list arrives mid-typing
    await expect(page.get_by_role("table")).to_be_visible()
    await field.press_sequentially("@demo")
    await expect(field).to_have_value("casey@demo")
