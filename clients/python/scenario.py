"""Example tco-gateway client: authorize a card payment, look the sale up,
refund part of it, and check two refusals and their google.rpc details.

Needs stubs generated from ../../proto into a folder on sys.path (run.sh does
this) and a running gateway. Exits non-zero on any unexpected result.

Env: GATEWAY_ADDR (default 127.0.0.1:50051), SIMULATOR_URL (default
http://127.0.0.1:50052), GEN_DIR (where the stubs are; default ./gen).

Credentials (all optional; with none set the channel is plaintext, what the
zero-setup gateway on loopback serves): TCO_CA_FILE (PEM roots the server
certificate must chain to; unset: the system's), TCO_CERT_FILE and
TCO_KEY_FILE (a client certificate and its key, for mTLS; set both or
neither), TCO_BEARER_TOKEN (sent as `authorization: Bearer <token>` on every
call), TCO_SERVER_NAME (the name the server certificate is checked against
when it differs from GATEWAY_ADDR's host). Any of them switches to TLS.
"""

import json
import os
import sys
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("GEN_DIR", os.path.join(HERE, "gen")))

import grpc  # noqa: E402
from google.rpc import error_details_pb2  # noqa: E402
from grpc_status import rpc_status  # noqa: E402

from twocheckout.v1 import authorization_service_pb2 as auth_pb2  # noqa: E402
from twocheckout.v1 import authorization_service_pb2_grpc as auth_grpc  # noqa: E402
from twocheckout.v1 import sales_service_pb2 as sales_pb2  # noqa: E402
from twocheckout.v1 import sales_service_pb2_grpc as sales_grpc  # noqa: E402

GATEWAY_ADDR = os.environ.get("GATEWAY_ADDR", "127.0.0.1:50051")
SIMULATOR_URL = os.environ.get("SIMULATOR_URL", "http://127.0.0.1:50052").rstrip("/")
SELLER_ID = "901248156"
PUBLISHABLE_KEY = "E4D7B3C1-5A19-4C1F-8E92-6B1D2A7F0C33"
ERROR_DOMAIN = "tco-gateway.twocheckout.v1"
TIMEOUT = 10.0  # seconds, per call
CREDENTIAL_ENV = ("TCO_CA_FILE", "TCO_CERT_FILE", "TCO_KEY_FILE", "TCO_BEARER_TOKEN", "TCO_SERVER_NAME")


class StepFailed(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise StepFailed(what)


def get_card_token():
    """Get a single-use card token from the simulator's 2co.js stand-in."""
    body = json.dumps({
        "sellerId": SELLER_ID,
        "publishableKey": PUBLISHABLE_KEY,
        "ccNo": "4000000000000002",
        "expMonth": "12",
        "expYear": "2030",
        "cvv": "123",
    }).encode()
    req = urllib.request.Request(
        f"{SIMULATOR_URL}/checkout/api/1/{SELLER_ID}/rs/tokenService",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
        payload = json.load(resp)
    token = payload["response"]["token"]["token"]
    expect(isinstance(token, str) and token, f"no token in {payload!r}")
    return token


def decode_details(err):
    """Unpack the google.rpc.Status in grpc-status-details-bin into a dict of
    detail type name -> message."""
    status = rpc_status.from_call(err)
    expect(status is not None, "error carries no grpc-status-details-bin")
    details = {}
    for any_msg in status.details:
        for cls in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest,
                    error_details_pb2.LocalizedMessage, error_details_pb2.RetryInfo):
            if any_msg.Is(cls.DESCRIPTOR):
                msg = cls()
                any_msg.Unpack(msg)
                details[cls.DESCRIPTOR.name] = msg
    return status, details


def expect_rpc_error(call, code, reason):
    """Run call(), which must fail with `code` and an ErrorInfo of `reason`.
    Returns the decoded details."""
    try:
        result = call()
    except grpc.RpcError as err:
        expect(err.code() == code, f"expected {code.name}, got {err.code().name}: {err.details()}")
        status, details = decode_details(err)
        info = details.get("ErrorInfo")
        expect(info is not None, "no google.rpc.ErrorInfo in the details")
        expect(info.domain == ERROR_DOMAIN, f"ErrorInfo.domain {info.domain!r}")
        expect(info.reason == reason, f"expected reason {reason}, got {info.reason!r}")
        print(f"       {code.name}: {status.message}")
        print(f"       ErrorInfo reason={info.reason} metadata={dict(info.metadata)}")
        return details
    raise StepFailed(f"expected {code.name} / {reason}, but the call succeeded: {result}")


def read_file(variable):
    """The bytes of the file the environment variable names, or None when it is unset."""
    path = os.environ.get(variable)
    if not path:
        return None
    with open(path, "rb") as f:
        return f.read()


def open_channel():
    """A TLS channel (mTLS with a client certificate, plus a bearer token) when any of
    CREDENTIAL_ENV is set, else plaintext. Returns (channel, description)."""
    if not any(os.environ.get(name) for name in CREDENTIAL_ENV):
        return grpc.insecure_channel(GATEWAY_ADDR), "plaintext"
    if bool(os.environ.get("TCO_CERT_FILE")) != bool(os.environ.get("TCO_KEY_FILE")):
        raise SystemExit("set both TCO_CERT_FILE and TCO_KEY_FILE (a client certificate and its key), or neither")
    credentials = grpc.ssl_channel_credentials(
        root_certificates=read_file("TCO_CA_FILE"),
        private_key=read_file("TCO_KEY_FILE"),
        certificate_chain=read_file("TCO_CERT_FILE"),
    )
    what = ["TLS"]
    if os.environ.get("TCO_CERT_FILE"):
        what.append(f"client certificate {os.environ['TCO_CERT_FILE']}")
    token = os.environ.get("TCO_BEARER_TOKEN")
    if token:
        # Sent as `authorization: Bearer <token>` with every call (never printed).
        credentials = grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(token))
        what.append("bearer token")
    options = []
    server_name = os.environ.get("TCO_SERVER_NAME")
    if server_name:
        options.append(("grpc.ssl_target_name_override", server_name))
    return grpc.secure_channel(GATEWAY_ADDR, credentials, options=options), ", ".join(what)


def main():
    channel, transport = open_channel()
    auth = auth_grpc.AuthorizationServiceStub(channel)
    sales = sales_grpc.SalesServiceStub(channel)
    state = {}

    def step_token():
        state["token"] = get_card_token()
        print(f"       token {state['token'][:8]}… from {SIMULATOR_URL}")

    def step_authorize():
        merchant_order_id = f"example-py-{uuid.uuid4().hex[:12]}"
        resp = auth.Authorize(auth_pb2.AuthorizeRequest(
            request_id=str(uuid.uuid4()),
            merchant_order_id=merchant_order_id,
            token=state["token"],
            currency=auth_pb2.CURRENCY_USD,
            total="25.00",
            billing_address=auth_pb2.BillingAddress(
                name="Testing Tester",
                address_line_1="123 Test St",
                city="Columbus",
                state="OH",
                zip_code="43123",
                country="USA",
                email="example@2co.com",
                phone_number="5555555555",
            ),
        ), timeout=TIMEOUT)
        expect(resp.response_code == "APPROVED", f"response_code {resp.response_code!r}")
        expect(resp.order_number, "no order_number")
        expect(resp.merchant_order_id == merchant_order_id, "merchant_order_id not echoed")
        state["sale_id"] = resp.order_number
        state["transaction_id"] = resp.transaction_id
        print(f"       APPROVED: order_number={resp.order_number} "
              f"transaction_id={resp.transaction_id} total={resp.total}")

    def step_get_sale():
        resp = sales.GetSale(sales_pb2.GetSaleRequest(sale_id=state["sale_id"]), timeout=TIMEOUT)
        sale = resp.sale
        expect(sale.sale_id == state["sale_id"], f"sale_id {sale.sale_id!r}")
        expect(len(sale.invoices) == 1, f"expected 1 invoice, got {len(sale.invoices)}")
        inv = sale.invoices[0]
        expect(inv.invoice_id == state["transaction_id"],
               f"invoice_id {inv.invoice_id!r} != transaction_id {state['transaction_id']!r}")
        print(f"       sale {sale.sale_id}: 1 invoice {inv.invoice_id} "
              f"({inv.vendor_status}, usd_total {inv.usd_total})")

    def refund_request(amount, comment):
        return sales_pb2.RefundInvoiceRequest(
            request_id=str(uuid.uuid4()),
            sale_id=state["sale_id"],
            amount=amount,
            currency=sales_pb2.REFUND_CURRENCY_USD,
            comment=comment,
            category=sales_pb2.REFUND_CATEGORY_DID_NOT_LIKE_ITEM,
        )

    def step_refund():
        resp = sales.RefundInvoice(refund_request("10.00", "Example client: partial refund."),
                                   timeout=TIMEOUT)
        expect(resp.message == "refund added to invoice", f"message {resp.message!r}")
        print(f"       10.00 USD refunded: {resp.message!r}")

    def step_refund_too_high():
        details = expect_rpc_error(
            lambda: sales.RefundInvoice(refund_request("100.00", "Example client: too much."),
                                        timeout=TIMEOUT),
            grpc.StatusCode.FAILED_PRECONDITION, "TOO_HIGH")
        vendor_code = details["ErrorInfo"].metadata.get("vendorCode")
        expect(vendor_code == "TOO_HIGH", f"metadata vendorCode {vendor_code!r}")

    def step_refund_empty_comment():
        details = expect_rpc_error(
            lambda: sales.RefundInvoice(refund_request("1.00", ""), timeout=TIMEOUT),
            grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")
        bad = details.get("BadRequest")
        expect(bad is not None, "no google.rpc.BadRequest in the details")
        fields = [v.field for v in bad.field_violations]
        expect(fields == ["comment"], f"BadRequest fields {fields}")
        print(f"       BadRequest field={fields[0]}: {bad.field_violations[0].description}")

    steps = [
        ("get a card token", step_token),
        ("authorize 25.00 USD", step_authorize),
        ("get the new sale", step_get_sale),
        ("refund 10.00 USD", step_refund),
        ("refund 100.00 USD is refused (TOO_HIGH)", step_refund_too_high),
        ("refund with an empty comment is refused (INVALID_FIELD)", step_refund_empty_comment),
    ]
    print(f"tco-gateway Python example against {GATEWAY_ADDR} ({transport})")
    passed = failed = 0
    for i, (name, fn) in enumerate(steps, 1):
        print(f"[{i}/{len(steps)}] {name}")
        try:
            fn()
        except (StepFailed, grpc.RpcError, OSError, KeyError, ValueError) as exc:
            if isinstance(exc, grpc.RpcError):
                exc = f"{exc.code().name}: {exc.details()}"
            print(f"  FAIL {exc}")
            failed += 1
            # Later steps depend on earlier ones: stop at the first failure.
            failed += len(steps) - i
            print(f"  (skipping the {len(steps) - i} remaining step(s), counted as failed)")
            break
        print("  ok")
        passed += 1
    channel.close()
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
