"""The hosted pay page standing in for the app's Payment Element / Payment Sheet: it confirms a PaymentIntent
with its client secret and one of Stripe's test cards, then returns to `return_url` as Stripe.js does."""

import hmac
import html
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from scripts.stripe_fake.api import page
from scripts.stripe_fake.charges import money
from scripts.stripe_fake.payments import CONFIRMABLE, confirm
from scripts.stripe_fake.wire import StripeError, decode_form

if TYPE_CHECKING:
    from scripts.stripe_fake.app import FakeStripe


async def pay_page(fake: "FakeStripe", request: Request) -> Response:
    intent = fake.get(request.path_params["id"], "payment_intent")
    secret = request.query_params.get("client_secret", "")
    if intent is None or not hmac.compare_digest(secret, str(intent["client_secret"])):
        return HTMLResponse("<h1>Unknown payment or wrong client secret</h1>", status_code=403)
    if request.method == "POST":
        form = decode_form((await request.body()).decode())
        try:
            error = confirm(fake, intent, str(form.get("payment_method") or "pm_card_visa"))
        except StripeError as exc:
            return HTMLResponse(f"<h1>Not confirmed</h1><p>{html.escape(str(exc))}</p>", status_code=400)
        fake.save()
        return_url = request.query_params.get("return_url")
        if return_url:
            query = {
                "payment_intent": intent["id"],
                "payment_intent_client_secret": intent["client_secret"],
                "redirect_status": "failed" if error else "succeeded",
            }
            separator = "&" if "?" in return_url else "?"
            return RedirectResponse(f"{return_url}{separator}{urlencode(query)}", status_code=303)
    return HTMLResponse(_page(intent["status"], money(intent["amount"], intent["currency"]), intent["id"]))


def _page(status: str, amount: str, intent_id: str) -> str:
    heading = f"<h1>Test payment</h1><p>Pay {html.escape(amount)} (<code>{intent_id}</code>, {status}).</p>"
    if status not in CONFIRMABLE:
        return heading
    return (
        f'{heading}<form method="post"><button name="payment_method" value="pm_card_visa">Pay</button> '
        '<button name="payment_method" value="pm_card_chargeDeclined">Pay with a declined card</button></form>'
    )


def routes(fake: "FakeStripe") -> list[Route]:
    return [Route("/pay/{id}", page(fake, pay_page), methods=["GET", "POST"])]
