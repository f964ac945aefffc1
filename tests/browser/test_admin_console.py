"""Issue 21: the admin console, driven in headless Chromium against the real platform process.

An admin signs in, works the seeded dispute from the queue to a partial refund (image evidence rendered, the
amount checked against the agreed price before sending), and the API then shows the outcome; a suspension
made in the users page ends that user's session; a customer is refused; every page passes axe-core with no
serious or critical violation and is captured at laptop and tablet widths.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from scripts.seed import DEMO_CUSTOMER, DEMO_PASSWORD
from shared_models.enums import Role
from tests.browser.conftest import (
    LAPTOP,
    SCREENSHOTS,
    TABLET,
    Demo,
    Tab,
    axe_violations,
    dumps,
    relay_notifications,
    sign_in,
)
from tests.conftest import LiveStack
from tests.factories import API, PASSWORD, Account, register, register_subscribed
from tests.platform_api.bookings.helpers import request_payload

pytestmark = pytest.mark.e2e


async def dispute_live(client: httpx.AsyncClient) -> tuple[Account, Account, dict[str, Any]]:
    """A completed booking the customer disputes, through the live API: (customer, provider, dispute)."""
    customer = await register(client, Role.customer)
    provider = await register_subscribed(client)
    created = await client.post(
        f"{API}/requests",
        json=request_payload(provider.body["provider"]["id"], datetime.now(UTC)),
        headers=customer.bearer,
    )
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    for event in ("accept", "complete"):
        moved = await client.post(f"{API}/requests/{rid}/{event}", headers=provider.bearer)
        assert moved.status_code == 200, moved.text
    opened = await client.post(
        f"{API}/requests/{rid}/dispute",
        json={"category": "damage", "statement": "The cleaner broke a lamp and left."},
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
    await sign_in(tab, demo.admin.email)
    await expect(page.get_by_role("heading", name="Disputes")).to_be_visible()

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
    await sign_in(tab, demo.admin.email)
    await expect(tab.page.get_by_role("heading", name="Disputes")).to_be_visible()
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
        await sign_in(tab, demo.admin.email)
        await expect(page.get_by_role("heading", name="Disputes")).to_be_visible()
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
    tab.errors = [e for e in tab.errors if "409" not in e]  # the refused call itself
    tab.no_errors()


PAGES = {
    "signin": "",
    "disputes": "#/disputes",
    "dispute": "#/disputes/{dispute}",  # the seeded one: photo and PDF (resolved, if an earlier test did)
    "dispute-actions": "#/disputes/{fresh}",  # an open one, with its action forms unfolded
    "users": "#/users?role=provider",
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
        _, _, fresh = await dispute_live(client)
    ids = {
        "dispute": demo.dispute["id"],
        "fresh": fresh["id"],
        "customer": demo.customer.id,
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
            await page.screenshot(path=SCREENSHOTS / f"{name}-{width}.png", full_page=True)
        tab.no_errors()
    assert not found, dumps(found)
    assert sorted(p.name for p in SCREENSHOTS.glob("*.png")) == sorted(
        f"{name}-{width}.png" for name in PAGES for width in ("laptop", "tablet")
    )


async def test_the_console_is_usable_by_keyboard(tabs: Any, demo: Demo) -> None:
    """Sign in, reach the users page and search, with the keyboard alone."""
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
    users = page.get_by_role("link", name="Users")
    for _ in range(12):
        await page.keyboard.press("Tab")
        if await users.evaluate("link => link === document.activeElement"):
            break
    await expect(users).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Users")).to_be_focused()
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
        await sign_in(tab, demo.admin.email)
        await expect(page.get_by_role("heading", name="Disputes")).to_be_visible()
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
        await sign_in(tab, demo.admin.email)
        await expect(page.get_by_role("heading", name="Disputes")).to_be_visible()
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
