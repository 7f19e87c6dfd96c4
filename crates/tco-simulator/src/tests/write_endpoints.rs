//! End-to-end tests of the write endpoints (refunds, stop recurring, mark shipped, comments,
//! reauth): each starts a real simulator on 127.0.0.1:0, writes through HTTP (POST forms, like
//! the official clients) and checks the effect in the next `detail_sale`. Time-dependent rules
//! are driven by setting the simulator's clock near the sale under test, at noon so that the
//! seconds the clock keeps flowing never cross a day boundary.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

use super::*;
use crate::params::Params;
use crate::writes::{self, Context};

const COMMENT: &str = "Buyer asked for a refund.";
const REFUND_COMMENT: &str = "[* Sent: Vendor *] Refund Issued On Sale: Buyer asked for a refund.";
const CATEGORY: &str = "5";
const FOREIGN_LINEITEM_ID: &str = "8000000026";
const DOCUMENTED_BILLED_LINEITEM_ID: &str = "4647892301";
const DOCUMENTED_REFUND_LINEITEM_ID: &str = "4672854532";
const DOCUMENTED_STOPPED_LINEITEM_ID: &str = "4671118599";

/// An HTTP status and JSON body, as a write answers.
type Answer = (StatusCode, Value);
/// A form and the answer it must get.
type Case<'a> = (Vec<(&'a str, &'a str)>, Answer);
/// Fixed parameters and the answer they must get.
type FixedCase<'a> = (&'a [(&'a str, &'a str)], Answer);

fn at(text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("a timestamp").and_utc()
}

fn ok(message: &str) -> Answer {
    (StatusCode::OK, json!({ "response_code": "OK", "response_message": message }))
}

fn refused(code: &str, message: &str) -> Answer {
    (StatusCode::BAD_REQUEST, error(code, message, None))
}

fn missing(parameter: &str) -> Answer {
    (
        StatusCode::BAD_REQUEST,
        error("PARAMETER_MISSING", &format!("Required parameter missing: {parameter}"), Some(parameter)),
    )
}

fn bad(parameter: &str) -> Answer {
    (StatusCode::BAD_REQUEST, invalid(parameter))
}

fn not_found() -> Answer {
    (StatusCode::BAD_REQUEST, record_not_found())
}

fn cents_of(value: &Value) -> i64 {
    value.as_str().and_then(|text| text.parse::<Money>().ok()).map(Money::cents).expect("a two-decimal amount")
}

/// `[usd, vendor, customer]` of a line item, in cents.
fn line_amounts(item: &Value) -> [i64; 3] {
    [cents_of(&item["usd_amount"]), cents_of(&item["vendor_amount"]), cents_of(&item["customer_amount"])]
}

fn refund_lines(sale: &Value) -> Vec<Value> {
    line_items(sale).into_iter().filter(|item| item["status"] == "refund").collect()
}

/// The refund lines' amounts summed per currency.
fn refunded_total(sale: &Value) -> [i64; 3] {
    refund_lines(sale)
        .iter()
        .map(line_amounts)
        .fold([0; 3], |sum, amounts| [sum[0] + amounts[0], sum[1] + amounts[1], sum[2] + amounts[2]])
}

impl Api {
    /// POSTs a form, as the official clients do for every write.
    async fn write(&self, endpoint: &str, form: &[(&str, &str)]) -> Answer {
        let response = self
            .http
            .post(self.url(endpoint))
            .basic_auth(USER, Some(PASSWORD))
            .header(ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .expect("request");
        read_json(response).await
    }

    fn set_clock(&self, text: &str) {
        self.sim.clock().set(at(text));
    }

    async fn refund_invoice(&self, target: &[(&str, &str)], extra: &[(&str, &str)]) -> Answer {
        let mut form = target.to_vec();
        form.extend([("comment", COMMENT), ("category", CATEGORY)]);
        form.extend_from_slice(extra);
        self.write("sales/refund_invoice", &form).await
    }

    async fn refund_lineitem(&self, lineitem_id: &str, extra: &[(&str, &str)]) -> Answer {
        let mut form = vec![("lineitem_id", lineitem_id), ("comment", COMMENT), ("category", CATEGORY)];
        form.extend_from_slice(extra);
        self.write("sales/refund_lineitem", &form).await
    }

    async fn reauth(&self, sale_id: &str) -> Answer {
        self.write("sales/reauth", &[("sale_id", sale_id)]).await
    }
}

// ---------------------------------------------------------------- refund_invoice

#[tokio::test]
async fn refund_invoice_checks_its_parameters_in_order_and_answers_the_first_failure() {
    let api = Api::start().await;
    api.set_clock("2025-12-01 12:00:00");
    let sale = ("sale_id", REFUNDABLE_SALE_ID);
    let comment = ("comment", COMMENT);
    let category = ("category", CATEGORY);
    let longest = "x".repeat(5000);
    let too_long = "x".repeat(5001);
    let cases: Vec<Case<'_>> = vec![
        (vec![], missing("sale_id")),
        (vec![comment, category], missing("sale_id")),
        (vec![("sale_id", ""), comment, category], missing("sale_id")),
        (vec![("sale_id", "12ab"), comment, category], bad("sale_id")),
        (vec![("sale_id", "12ab")], bad("sale_id")),
        (vec![sale, ("invoice_id", "x"), comment, category], bad("invoice_id")),
        (vec![sale, category], missing("comment")),
        (vec![sale, ("comment", ""), category], missing("comment")),
        (vec![sale, ("comment", &too_long), category], bad("comment")),
        (vec![sale, ("comment", "a <b> tag"), category], bad("comment")),
        (vec![sale, ("comment", "more > less")], bad("comment")),
        (vec![sale, ("comment", &longest)], missing("category")),
        (vec![sale, comment, ("category", "0")], bad("category")),
        (vec![sale, comment, ("category", "18")], bad("category")),
        (vec![sale, comment, ("category", "five")], bad("category")),
        (vec![sale, comment, ("category", "1.5")], bad("category")),
        (
            vec![sale, comment, ("category", "7")],
            refused("FORBIDDEN", "Permission denied to set refund category to 7."),
        ),
        (
            vec![sale, comment, ("category", "7"), ("amount", "x")],
            refused("FORBIDDEN", "Permission denied to set refund category to 7."),
        ),
        (vec![sale, comment, category, ("amount", "1.234"), ("currency", "usd")], bad("amount")),
        (vec![sale, comment, category, ("amount", "ten"), ("currency", "usd")], bad("amount")),
        (vec![sale, comment, category, ("amount", "1.")], bad("amount")),
        (vec![sale, comment, category, ("amount", "1.00")], missing("currency")),
        (vec![sale, comment, category, ("amount", "1.00"), ("currency", "eur")], bad("currency")),
        (
            vec![sale, comment, category, ("amount", "0.00"), ("currency", "usd")],
            refused("TOO_LOW", "Amount must be at least 0.01."),
        ),
        (
            vec![sale, comment, category, ("amount", "-5"), ("currency", "usd")],
            refused("TOO_LOW", "Amount must be at least 0.01."),
        ),
    ];
    for (form, expected) in cases {
        assert_eq!(api.write("sales/refund_invoice", &form).await, expected, "{form:?}");
    }
    assert!(refund_lines(&api.sale(REFUNDABLE_SALE_ID).await).is_empty(), "no refused call changed anything");
}

#[tokio::test]
async fn refund_invoice_answers_not_found_forbidden_or_ambiguous_before_refunding() {
    let api = Api::start().await;
    api.set_clock("2025-12-01 12:00:00");
    let cases: [FixedCase<'_>; 6] = [
        (&[("invoice_id", "1234567890")], not_found()),
        (&[("sale_id", REFUNDABLE_SALE_ID), ("invoice_id", DOCUMENTED_INVOICE_IDS[0])], not_found()),
        (&[("invoice_id", FOREIGN_INVOICE_ID)], refused("FORBIDDEN", "Access denied to invoice.")),
        (&[("sale_id", "1234567890")], not_found()),
        (&[("sale_id", FOREIGN_SALE_ID)], refused("FORBIDDEN", "Access denied to sale.")),
        (
            &[("sale_id", ACTIVE_RECURRING_SALE_ID)],
            refused("AMBIGUOUS", "Ambiguous request. Multiple invoices on sale. invoice_id parameter required."),
        ),
    ];
    for (target, expected) in cases {
        assert_eq!(api.refund_invoice(target, &[]).await, expected, "{target:?}");
    }

    // Naming the invoice settles the ambiguity; the refund goes to that invoice only.
    let target = [("sale_id", ACTIVE_RECURRING_SALE_ID), ("invoice_id", ACTIVE_RECURRING_INVOICE_IDS[1])];
    assert_eq!(api.refund_invoice(&target, &[]).await, ok("refund added to invoice"));
    let sale = api.sale(ACTIVE_RECURRING_SALE_ID).await;
    let second = &sale["invoices"][1]["lineitems"];
    assert_eq!(second[1]["status"], "refund");
    assert_eq!(second[1]["linked_id"], ACTIVE_RECURRING_LINEITEM_ID);
    assert_eq!(sale["invoices"][0]["lineitems"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_refund_without_amount_refunds_the_whole_remainder_in_all_three_currencies() {
    let api = Api::start().await;
    api.set_clock("2025-12-01 12:00:00");
    let target = [("sale_id", REFUNDABLE_SALE_ID)];
    assert_eq!(api.refund_invoice(&target, &[]).await, ok("refund added to invoice"));

    let sale = api.sale(REFUNDABLE_SALE_ID).await;
    let invoice = &sale["invoices"][0];
    let lines = invoice["lineitems"].as_array().unwrap();
    assert_eq!(lines.len(), 3, "the refund is an extra line item");
    let refund = &lines[2];
    assert_eq!(refund, lines.last().unwrap(), "the suites read the invoice's last line as the refund");
    assert_eq!(refund["status"], "refund");
    assert_eq!(refund["billing"]["status"], "refund");
    assert_eq!(refund["linked_id"], REFUNDABLE_LINEITEM_IDS[0], "an invoice refund links the first billed line");
    assert_eq!(refund["type"], Value::Null, "the whole remainder is not partial");
    assert_eq!(line_amounts(refund), [3498, 3498, 3218]);
    let billing = &refund["billing"];
    let billing_amounts =
        ["amount", "usd_amount", "vendor_amount", "customer_amount"].map(|key| cents_of(&billing[key]));
    assert_eq!(billing_amounts, [3498, 3498, 3498, 3218]);
    for key in ["date_pending", "date_deposited", "date_start"] {
        assert_eq!(billing[key], "2025-12-01", "{key}");
    }
    assert_eq!(billing["lineitem_id"], refund["lineitem_id"]);
    assert_eq!(refund["product_name"], lines[0]["product_name"]);
    assert_ne!(refund["lineitem_id"], lines[0]["lineitem_id"]);
    // Totals keep the amount charged, as in the documented sale.
    let totals = ["usd_total", "vendor_total", "customer_total"].map(|key| cents_of(&invoice[key]));
    assert_eq!(totals, [3498, 3498, 3218]);

    let comment = &sale["comments"][0];
    assert_eq!(comment["comment"], REFUND_COMMENT);
    assert_eq!(comment["username"], USER);
    assert_eq!(comment["changed_by_ip"], "127.0.0.1");
    assert!(comment["timestamp"].as_str().unwrap().starts_with("2025-12-01 12:0"), "{comment}");

    let rows = api.all_rows(&[("refunded", "1"), ("sale_id", REFUNDABLE_SALE_ID)]).await;
    assert_eq!(sale_ids(&rows), [REFUNDABLE_SALE_ID], "list_sales sees the refund");
    assert_eq!(api.total(&[("refunded", "1")]).await, 52, "one more refunded sale than seeded");

    assert_eq!(
        api.refund_invoice(&target, &[]).await,
        refused("TOO_HIGH", "Amount greater than remaining balance on invoice.")
    );
    let second_line = api.refund_lineitem(REFUNDABLE_LINEITEM_IDS[1], &[]).await;
    assert_eq!(
        second_line,
        refused("TOO_HIGH", "Lineitem amount greater than remaining balance on invoice."),
        "the invoice has nothing left"
    );
}

#[tokio::test]
async fn partial_refunds_accumulate_until_nothing_is_left() {
    let api = Api::start().await;
    api.set_clock("2025-12-01 12:00:00");
    let target = [("invoice_id", REFUNDABLE_INVOICE_ID)];

    // 10.00 USD is 10.00 in the vendor's currency and 9.20 in the buyer's (32.18 / 34.98).
    let first = api.refund_invoice(&target, &[("amount", "10.00"), ("currency", "usd")]).await;
    assert_eq!(first, ok("refund added to invoice"));
    // 5.00 in the buyer's currency is 5.44 USD (5.4350… rounded half up); any case is accepted.
    let second = api.refund_invoice(&target, &[("amount", "5"), ("currency", "Customer")]).await;
    assert_eq!(second, ok("refund added to invoice"));
    let sale = api.sale(REFUNDABLE_SALE_ID).await;
    let refunds = refund_lines(&sale);
    assert_eq!(refunds.iter().map(line_amounts).collect::<Vec<_>>(), [[1000, 1000, 920], [544, 544, 500]]);
    assert!(refunds.iter().all(|refund| refund["type"] == "partial"));
    assert_eq!(sale["comments"].as_array().unwrap().len(), 2);

    // 34.98 − 10.00 − 5.44 = 19.54 USD left.
    let over = api.refund_invoice(&target, &[("amount", "19.55"), ("currency", "usd")]).await;
    assert_eq!(over, refused("TOO_HIGH", "Amount greater than remaining balance on invoice."));
    let over_vendor = api.refund_invoice(&target, &[("amount", "19.55"), ("currency", "VENDOR")]).await;
    assert_eq!(over_vendor, refused("TOO_HIGH", "Amount greater than remaining balance on invoice."));

    assert_eq!(api.refund_invoice(&target, &[]).await, ok("refund added to invoice"));
    let sale = api.sale(REFUNDABLE_SALE_ID).await;
    let refunds = refund_lines(&sale);
    assert_eq!(line_amounts(&refunds[2]), [1954, 1954, 1798], "exactly the remainder");
    assert_eq!(refunds[2]["type"], Value::Null);
    assert_eq!(refunded_total(&sale), [3498, 3498, 3218], "refunds add up to the totals in every currency");
    let ids: Vec<&str> = sale["invoices"][0]["lineitems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["linked_id"].as_str().unwrap_or("-"))
        .collect();
    let first_line = REFUNDABLE_LINEITEM_IDS[0];
    assert_eq!(ids, ["-", "-", first_line, first_line, first_line], "refunds go last, in the order made");

    let more = api.refund_invoice(&target, &[("amount", "0.01"), ("currency", "usd")]).await;
    assert_eq!(more, refused("TOO_HIGH", "Amount greater than remaining balance on invoice."));
}

#[tokio::test]
async fn the_refund_that_clears_one_currency_clears_all_three_without_stray_cents() {
    let api = Api::start().await;
    api.set_clock("2025-12-01 12:00:00");
    let target = [("invoice_id", REFUNDABLE_INVOICE_ID)];
    // Each 0.01 USD rounds up to 0.01 in the buyer's currency: the currencies drift apart.
    for _ in 0..10 {
        assert_eq!(api.refund_invoice(&target, &[("amount", "0.01"), ("currency", "usd")]).await.0, StatusCode::OK);
    }
    assert_eq!(refunded_total(&api.sale(REFUNDABLE_SALE_ID).await), [10, 10, 10]);
    // 32.08 left in the buyer's currency would convert to 34.87 USD, but 34.88 USD is left.
    let last = api.refund_invoice(&target, &[("amount", "32.08"), ("currency", "customer")]).await;
    assert_eq!(last, ok("refund added to invoice"));
    let sale = api.sale(REFUNDABLE_SALE_ID).await;
    assert_eq!(line_amounts(refund_lines(&sale).last().unwrap()), [3488, 3488, 3208]);
    assert_eq!(refunded_total(&sale), [3498, 3498, 3218]);
    assert_eq!(
        api.refund_invoice(&target, &[]).await,
        refused("TOO_HIGH", "Amount greater than remaining balance on invoice.")
    );
}

#[tokio::test]
async fn refunds_are_refused_more_than_180_days_after_the_sale() {
    let api = Api::start().await;
    let placed = at(REFUNDABLE_SALE_PLACED);
    api.sim.clock().set(placed + TimeDelta::days(180) - TimeDelta::minutes(10));
    let line = api.refund_lineitem(REFUNDABLE_LINEITEM_IDS[0], &[("amount", "1.00"), ("currency", "usd")]).await;
    assert_eq!(line, ok("lineitem refunded"), "180 days is still in time");

    api.sim.clock().set(placed + TimeDelta::days(181));
    let target = [("sale_id", REFUNDABLE_SALE_ID)];
    assert_eq!(api.refund_invoice(&target, &[]).await, refused("TOO_LATE", "Invoice too old to refund."));
    let line = api.refund_lineitem(REFUNDABLE_LINEITEM_IDS[1], &[]).await;
    assert_eq!(line, refused("TOO_LATE", "Invoice too old to refund lineitem."));

    // The real clock is long past every generated sale.
    api.sim.clock().reset();
    assert_eq!(api.refund_invoice(&target, &[]).await, refused("TOO_LATE", "Invoice too old to refund."));
    assert_eq!(refund_lines(&api.sale(REFUNDABLE_SALE_ID).await).len(), 1);
}

// ---------------------------------------------------------------- refund_lineitem

#[tokio::test]
async fn refund_lineitem_checks_its_parameters_like_refund_invoice() {
    let api = Api::start().await;
    api.set_clock("2025-12-01 12:00:00");
    let line = ("lineitem_id", REFUNDABLE_LINEITEM_IDS[0]);
    let comment = ("comment", COMMENT);
    let category = ("category", CATEGORY);
    let cases: Vec<Case<'_>> = vec![
        (vec![comment, category], missing("lineitem_id")),
        (vec![("lineitem_id", "9100006012x"), comment, category], bad("lineitem_id")),
        (vec![line, category], missing("comment")),
        (vec![line, ("comment", "<script>"), category], bad("comment")),
        (vec![line, comment], missing("category")),
        (
            vec![line, comment, ("category", "7")],
            refused("FORBIDDEN", "Permission denied to set refund category to 7."),
        ),
        (vec![line, comment, category, ("amount", "1,00"), ("currency", "usd")], bad("amount")),
        (vec![line, comment, category, ("amount", "1.00")], missing("currency")),
        (vec![line, comment, category, ("amount", "1.00"), ("currency", "true")], bad("currency")),
        (
            vec![line, comment, category, ("amount", "0.00"), ("currency", "usd")],
            refused("TOO_LOW", "Lineitem amount must be at least 0.01."),
        ),
    ];
    for (form, expected) in cases {
        assert_eq!(api.write("sales/refund_lineitem", &form).await, expected, "{form:?}");
    }
    assert!(refund_lines(&api.sale(REFUNDABLE_SALE_ID).await).is_empty());
}

#[tokio::test]
async fn refund_lineitem_refuses_unknown_foreign_refund_and_already_refunded_lines() {
    let api = Api::start().await;
    api.set_clock("2012-04-01 12:00:00");
    assert_eq!(api.refund_lineitem("1234567890", &[]).await, not_found());
    assert_eq!(api.refund_lineitem(FOREIGN_LINEITEM_ID, &[]).await, refused("FORBIDDEN", "Access denied to sale."));
    let cannot = refused("INVALID_PARAMETER", "This lineitem cannot be refunded.");
    assert_eq!(api.refund_lineitem(DOCUMENTED_REFUND_LINEITEM_ID, &[]).await, cannot);
    let already = refused("TOO_HIGH", "Lineitem amount greater than remaining balance on invoice.");
    assert_eq!(api.refund_lineitem(DOCUMENTED_BILLED_LINEITEM_ID, &[]).await, already);
    let by_invoice = api.refund_invoice(&[("invoice_id", DOCUMENTED_INVOICE_IDS[0])], &[]).await;
    assert_eq!(by_invoice, refused("TOO_HIGH", "Amount greater than remaining balance on invoice."));
}

#[tokio::test]
async fn lineitem_refunds_are_limited_by_the_line_and_by_the_invoice() {
    let api = Api::start().await;
    api.set_clock("2025-12-01 12:00:00");
    let [rust_book, go_book] = REFUNDABLE_LINEITEM_IDS;

    // 5.00 USD of the 19.99 line: 4.60 in the buyer's currency (invoice ratio 32.18 / 34.98).
    let partial = api.refund_lineitem(rust_book, &[("amount", "5.00"), ("currency", "usd")]).await;
    assert_eq!(partial, ok("lineitem refunded"));
    let sale = api.sale(REFUNDABLE_SALE_ID).await;
    let refund = &refund_lines(&sale)[0];
    assert_eq!(refund["linked_id"], rust_book);
    assert_eq!(refund["type"], "partial");
    assert_eq!(line_amounts(refund), [500, 500, 460]);
    assert_eq!(sale["comments"][0]["comment"], REFUND_COMMENT);

    let too_high = refused("TOO_HIGH", "Lineitem amount greater than remaining balance on invoice.");
    let over_line = api.refund_lineitem(rust_book, &[("amount", "15.00"), ("currency", "usd")]).await;
    assert_eq!(over_line, too_high, "14.99 left on the line although the invoice has more");
    assert_eq!(api.refund_lineitem(rust_book, &[]).await, ok("lineitem refunded"));
    let sale = api.sale(REFUNDABLE_SALE_ID).await;
    let rest = &refund_lines(&sale)[1];
    assert_eq!(line_amounts(rest), [1499, 1499, 1379], "exactly what was left on the line");
    assert_eq!(rest["type"], Value::Null);
    assert_eq!(
        api.refund_lineitem(rust_book, &[]).await,
        refused("TOO_HIGH", "Lineitem amount greater than remaining balance on invoice.")
    );
    let refund_id = rest["lineitem_id"].as_str().unwrap();
    let cannot = refused("INVALID_PARAMETER", "This lineitem cannot be refunded.");
    assert_eq!(api.refund_lineitem(refund_id, &[]).await, cannot, "a refund line is not refundable");

    // 14.99 is left on the invoice, all of it on the other line.
    let target = [("invoice_id", REFUNDABLE_INVOICE_ID)];
    let over_invoice = api.refund_invoice(&target, &[("amount", "15.00"), ("currency", "usd")]).await;
    assert_eq!(over_invoice, refused("TOO_HIGH", "Amount greater than remaining balance on invoice."));
    let go = api.refund_lineitem(go_book, &[("amount", "13.79"), ("currency", "customer")]).await;
    assert_eq!(go, ok("lineitem refunded"));
    let sale = api.sale(REFUNDABLE_SALE_ID).await;
    assert_eq!(line_amounts(&refund_lines(&sale)[2]), [1499, 1499, 1379]);
    assert_eq!(refunded_total(&sale), [3498, 3498, 3218]);
    assert_eq!(
        api.refund_invoice(&target, &[]).await,
        refused("TOO_HIGH", "Amount greater than remaining balance on invoice.")
    );
}

// ---------------------------------------------------------------- stop_lineitem_recurring

#[tokio::test]
async fn stopping_an_active_recurring_line_stops_its_billing_and_adds_a_comment() {
    let api = Api::start().await;
    api.set_clock("2025-10-20 12:00:00");
    let form = [("lineitem_id", ACTIVE_RECURRING_LINEITEM_ID)];
    let stopped = api.write("sales/stop_lineitem_recurring", &form).await;
    assert_eq!(stopped, ok("Recurring billing stopped for lineitem"));

    let sale = api.sale(ACTIVE_RECURRING_SALE_ID).await;
    let billing = &sale["invoices"][1]["lineitems"][0]["billing"];
    assert_eq!(billing["recurring_status"], "stopped");
    assert_eq!(billing["date_next"], Value::Null);
    assert_eq!(billing["date_end"], "2025-10-20");
    let comment = &sale["comments"][0];
    assert_eq!(comment["comment"], "[* Sent: Vendor *] Recurring billing stopped for Hosting Pro (monthly)");
    assert_eq!(comment["username"], USER);
    assert_eq!(comment["changed_by_ip"], "127.0.0.1");
    let active = api.all_rows(&[("active_recurrings", "1")]).await;
    assert!(!sale_ids(&active).contains(&ACTIVE_RECURRING_SALE_ID.to_owned()));

    let again = api.write("sales/stop_lineitem_recurring", &form).await;
    assert_eq!(again, refused("NOTHING_TO_DO", "Lineitem is not scheduled to recur."));
}

#[tokio::test]
async fn stop_lineitem_recurring_refuses_lines_that_do_not_recur() {
    let api = Api::start().await;
    let not_recurring = refused("NOTHING_TO_DO", "Lineitem is not scheduled to recur.");
    let cases: [FixedCase<'_>; 8] = [
        (&[], missing("lineitem_id")),
        (&[("lineitem_id", "abc")], bad("lineitem_id")),
        (&[("lineitem_id", "1234567890")], not_found()),
        (&[("lineitem_id", FOREIGN_LINEITEM_ID)], refused("FORBIDDEN", "Access denied to sale.")),
        (&[("lineitem_id", ACTIVE_RECURRING_FIRST_LINEITEM_ID)], not_recurring.clone()),
        (&[("lineitem_id", REFUNDABLE_LINEITEM_IDS[0])], not_recurring.clone()),
        (&[("lineitem_id", DOCUMENTED_STOPPED_LINEITEM_ID)], not_recurring.clone()),
        (&[("lineitem_id", DOCUMENTED_REFUND_LINEITEM_ID)], not_recurring),
    ];
    for (form, expected) in cases {
        assert_eq!(api.write("sales/stop_lineitem_recurring", form).await, expected, "{form:?}");
    }
}

// ---------------------------------------------------------------- mark_shipped

#[tokio::test]
async fn mark_shipped_records_the_date_and_tracking_number_on_the_latest_invoice() {
    let api = Api::start().await;
    api.set_clock("2026-03-25 12:00:00");
    let form = [
        ("sale_id", UNSHIPPED_TANGIBLE_SALE_ID),
        ("tracking_number", "1Z999AA10123456784"),
        ("cc_customer", "1"),
        ("comment", "Shipped by ground."),
    ];
    assert_eq!(api.write("sales/mark_shipped", &form).await, ok("Sale marked shipped."));

    let sale = api.sale(UNSHIPPED_TANGIBLE_SALE_ID).await;
    let invoice = &sale["invoices"][0];
    assert_eq!(invoice["date_shipped"], "2026-03-25");
    let shipping = &invoice["shipping"];
    assert_eq!(shipping["date_shipped"], "2026-03-25");
    assert_eq!(shipping["tracking_number"], "1Z999AA10123456784");
    assert_eq!(shipping["shipping_id"], "9100009018", "the existing shipment is updated");
    assert_eq!(shipping["address_1"], sale["customer"]["address_1"]);
    assert_eq!(sale["comments"][0]["comment"], "Shipped by ground.");
    assert_eq!(sale["comments"][0]["username"], USER);

    let already = refused("NOTHING_TO_DO", "Sale already marked shipped.");
    assert_eq!(api.write("sales/mark_shipped", &form[..2]).await, already);
    let by_invoice = [("invoice_id", UNSHIPPED_TANGIBLE_INVOICE_ID), ("tracking_number", "other")];
    assert_eq!(api.write("sales/mark_shipped", &by_invoice).await, already);
    let sale = api.sale(UNSHIPPED_TANGIBLE_SALE_ID).await;
    assert_eq!(sale["invoices"][0]["shipping"]["tracking_number"], "1Z999AA10123456784");
}

#[tokio::test]
async fn mark_shipped_answers_already_shipped_for_an_intangible_sale() {
    let api = Api::start().await;
    let form = [("sale_id", REFUNDABLE_SALE_ID), ("tracking_number", "1Z1")];
    let answer = api.write("sales/mark_shipped", &form).await;
    assert_eq!(answer, refused("NOTHING_TO_DO", "Sale already marked shipped."));
    let invoice = &api.sale(REFUNDABLE_SALE_ID).await["invoices"][0];
    assert_eq!(invoice["date_shipped"], Value::Null);
    assert_eq!(invoice["shipping"], Value::Null);
}

#[tokio::test]
async fn mark_shipped_checks_its_parameters_then_the_sale() {
    let api = Api::start().await;
    let sale = ("sale_id", UNSHIPPED_TANGIBLE_SALE_ID);
    let tracking = ("tracking_number", "1Z1");
    let longest = "9".repeat(255);
    let too_long = "9".repeat(256);
    let long_comment = "x".repeat(5001);
    let cases: Vec<Case<'_>> = vec![
        (vec![tracking], missing("sale_id")),
        (vec![("sale_id", "x"), tracking], bad("sale_id")),
        (vec![sale, ("invoice_id", "x"), tracking], bad("invoice_id")),
        (vec![sale], missing("tracking_number")),
        (vec![sale, ("tracking_number", &too_long)], bad("tracking_number")),
        (vec![sale, tracking, ("cc_customer", "maybe")], bad("cc_customer")),
        (vec![sale, tracking, ("reauthorize", "2")], bad("reauthorize")),
        (vec![sale, tracking, ("comment", "<b>shipped</b>")], bad("comment")),
        (vec![sale, tracking, ("comment", &long_comment)], bad("comment")),
        (vec![("sale_id", "1234567890"), tracking], not_found()),
        (vec![("sale_id", FOREIGN_SALE_ID), tracking], refused("FORBIDDEN", "Access denied to sale.")),
        (vec![("invoice_id", FOREIGN_INVOICE_ID), tracking], refused("FORBIDDEN", "Access denied to invoice.")),
        (vec![sale, ("invoice_id", REFUNDABLE_INVOICE_ID), tracking], not_found()),
        // 255 characters pass the check (and meet an intangible sale).
        (
            vec![("sale_id", REFUNDABLE_SALE_ID), ("tracking_number", &longest)],
            refused("NOTHING_TO_DO", "Sale already marked shipped."),
        ),
    ];
    for (form, expected) in cases {
        assert_eq!(api.write("sales/mark_shipped", &form).await, expected, "{form:?}");
    }
    assert_eq!(api.sale(UNSHIPPED_TANGIBLE_SALE_ID).await["invoices"][0]["date_shipped"], Value::Null);
}

#[test]
fn mark_shipped_creates_the_shipping_object_a_tangible_invoice_lacks() {
    let mut sales = seed::initial_sales(42, 10).unwrap();
    let unshipped = sales.iter_mut().find(|sale| sale.sale_id == UNSHIPPED_TANGIBLE_SALE_ID).unwrap();
    unshipped.invoices[0].shipping = None;
    let store = Store::new(sales, seed::OWN_VENDOR_ID);
    let context = Context { now: at("2026-03-25 12:00:00"), username: USER, client_ip: "192.0.2.7" };
    let params = Params::from([("invoice_id", UNSHIPPED_TANGIBLE_INVOICE_ID), ("tracking_number", "TRK-1")]);
    let answer = writes::mark_shipped(&store, &params, &context).unwrap().answer;
    assert_eq!(answer, ok("Sale marked shipped.").1);

    let sale = store.detail_sale(SaleLookup::Sale(UNSHIPPED_TANGIBLE_SALE_ID)).unwrap();
    let shipping = sale.invoices[0].shipping.clone().expect("a shipment was created");
    assert_eq!(shipping.date_shipped.as_deref(), Some("2026-03-25"));
    assert_eq!(shipping.tracking_number.as_deref(), Some("TRK-1"));
    assert_eq!(shipping.address_1, sale.customer.address_1);
    assert_eq!(shipping.shipping_name, format!("{} {}", sale.customer.first_name, sale.customer.last_name));
    // Ten generated sales: the highest id left is the last sale's billing, 9100009015.
    assert_eq!(shipping.shipping_id, "9100009016", "new ids start just above the highest seeded one");
}

#[tokio::test]
async fn mark_shipped_with_reauthorize_renews_an_expired_authorization() {
    let api = Api::start().await;
    api.sim.clock().set(at(REAUTHORIZABLE_SALE_PLACED) + TimeDelta::days(10) + TimeDelta::hours(3));
    let form = [("sale_id", REAUTHORIZABLE_SALE_ID), ("tracking_number", "1Z2"), ("reauthorize", "1")];
    assert_eq!(api.write("sales/mark_shipped", &form).await, ok("Sale marked shipped."));
    let sale = api.sale(REAUTHORIZABLE_SALE_ID).await;
    assert_eq!(sale["comments"][0]["comment"], "Payment reauthorized.");
    assert_eq!(sale["invoices"][0]["date_shipped"], "2026-02-12");
    let too_soon = refused("TOO_SOON", "Please wait until the next day to reauthorize again.");
    assert_eq!(api.reauth(REAUTHORIZABLE_SALE_ID).await, too_soon, "the renewal was today's attempt");
    api.sim.clock().advance(Duration::from_secs(24 * 3600));
    // The authorization renewed yesterday is renewed again: only the day limit applies.
    assert_eq!(api.reauth(REAUTHORIZABLE_SALE_ID).await, ok("Payment reauthorized."));
}

// ---------------------------------------------------------------- create_comment

#[tokio::test]
async fn create_comment_adds_the_comment_newest_first_with_user_time_and_ip() {
    let api = Api::start().await;
    api.set_clock("2012-04-02 12:00:00");
    let form = [("sale_id", DOCUMENTED_SALE_ID), ("sale_comment", "Called the buyer."), ("cc_vendor", "1")];
    assert_eq!(api.write("sales/create_comment", &form).await, ok("Created comment successfully."));
    let sale = api.sale(DOCUMENTED_SALE_ID).await;
    let comments = sale["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 3);
    let comment = &comments[0];
    assert_eq!(comment["comment"], "Called the buyer.");
    assert_eq!(comment["username"], USER);
    assert_eq!(comment["changed_by_ip"], "127.0.0.1");
    let timestamp = comment["timestamp"].as_str().unwrap();
    assert!(timestamp.starts_with("2012-04-02 12:0") && timestamp.len() == 19, "{timestamp}");
    assert_eq!(comments[1]["timestamp"], "2012-03-31 10:56:31");

    // A comment dated before the others sorts after them; a later one goes first again.
    api.set_clock("2012-03-01 12:00:00");
    let backdated = [("sale_id", DOCUMENTED_SALE_ID), ("sale_comment", "Backdated note")];
    assert_eq!(api.write("sales/create_comment", &backdated).await.0, StatusCode::OK);
    api.set_clock("2012-04-03 12:00:00");
    // Through GET too, like the read endpoints; `<` and `>` are allowed in a sale comment.
    let (status, _) = api
        .json("sales/create_comment", &[("sale_id", DOCUMENTED_SALE_ID), ("sale_comment", "Second call <ok>")])
        .await;
    assert_eq!(status, StatusCode::OK);
    let sale = api.sale(DOCUMENTED_SALE_ID).await;
    let texts: Vec<&str> =
        sale["comments"].as_array().unwrap().iter().map(|c| c["comment"].as_str().unwrap()).collect();
    assert_eq!(texts[0], "Second call <ok>");
    assert_eq!(texts[1], "Called the buyer.");
    assert_eq!(texts.last(), Some(&"Backdated note"));
    assert_eq!(api.sim.request_count(Endpoint::CreateComment), 3);
}

#[tokio::test]
async fn create_comment_checks_its_parameters_then_the_sale() {
    let api = Api::start().await;
    let sale = ("sale_id", REFUNDABLE_SALE_ID);
    let text = ("sale_comment", "Note");
    let longest = "x".repeat(5000);
    let too_long = "x".repeat(5001);
    let cases: Vec<Case<'_>> = vec![
        (vec![text], missing("sale_id")),
        (vec![("sale_id", "x"), text], bad("sale_id")),
        (vec![sale], missing("sale_comment")),
        (vec![sale, ("sale_comment", &too_long)], bad("sale_comment")),
        (vec![sale, text, ("cc_vendor", "maybe")], bad("cc_vendor")),
        (vec![sale, text, ("cc_customer", "maybe")], bad("cc_customer")),
        (vec![("sale_id", "1234567890"), text], not_found()),
        (vec![("sale_id", FOREIGN_SALE_ID), text], refused("FORBIDDEN", "Access denied to sale.")),
        (vec![sale, ("sale_comment", &longest)], ok("Created comment successfully.")),
    ];
    for (form, expected) in cases {
        assert_eq!(api.write("sales/create_comment", &form).await, expected, "{form:?}");
    }
    assert_eq!(api.sale(REFUNDABLE_SALE_ID).await["comments"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn write_answers_are_xml_by_default() {
    let api = Api::start().await;
    let response = api
        .http
        .post(api.url("sales/create_comment"))
        .basic_auth(USER, Some(PASSWORD))
        .form(&[("sale_id", DOCUMENTED_SALE_ID), ("sale_comment", "Hello")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.text().await.unwrap(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response><response_code>OK</response_code>\
         <response_message>Created comment successfully.</response_message></response>\n"
    );
}

// ---------------------------------------------------------------- reauth

#[tokio::test]
async fn reauth_checks_its_parameter_then_the_sale() {
    let api = Api::start().await;
    assert_eq!(api.write("sales/reauth", &[]).await, missing("sale_id"));
    assert_eq!(api.reauth("9100007000a").await, bad("sale_id"));
    assert_eq!(api.reauth("1234567890").await, not_found());
    assert_eq!(api.reauth(FOREIGN_SALE_ID).await, refused("FORBIDDEN", "Access denied to sale."));
}

#[tokio::test]
async fn reauth_of_a_pending_or_deposited_payment_is_too_late() {
    let api = Api::start().await;
    api.set_clock("2026-03-25 12:00:00");
    let too_late = refused("TOO_LATE", "Payment is already pending or deposited and cannot be reauthorized.");
    for sale_id in [UNSHIPPED_TANGIBLE_SALE_ID, REFUNDABLE_SALE_ID, DOCUMENTED_SALE_ID] {
        assert_eq!(api.reauth(sale_id).await, too_late, "{sale_id}");
    }
}

#[tokio::test]
async fn reauth_renews_an_authorization_still_valid_like_the_suites_expect_never_an_invented_refusal() {
    let api = Api::start().await;
    // Placed 2026-02-02 09:00: the authorization holds until 2026-02-09 09:00. The reference
    // has no "not expired" refusal and the suites accept "OK": it is renewed.
    api.set_clock("2026-02-05 12:00:00");
    assert_eq!(api.reauth(REAUTHORIZABLE_SALE_ID).await, ok("Payment reauthorized."));
    let too_soon = refused("TOO_SOON", "Please wait until the next day to reauthorize again.");
    assert_eq!(api.reauth(REAUTHORIZABLE_SALE_ID).await, too_soon, "a renewal is the day's attempt");
    let sale = api.sale(REAUTHORIZABLE_SALE_ID).await;
    assert_eq!(sale["comments"][0]["comment"], "Payment reauthorized.");
}

#[tokio::test]
async fn reauth_renews_an_expired_authorization_at_most_once_a_day() {
    let api = Api::start().await;
    api.set_clock("2026-02-12 12:00:00");
    assert_eq!(api.reauth(REAUTHORIZABLE_SALE_ID).await, ok("Payment reauthorized."));
    let sale = api.sale(REAUTHORIZABLE_SALE_ID).await;
    let comment = &sale["comments"][0];
    assert_eq!(comment["comment"], "Payment reauthorized.");
    assert_eq!(comment["username"], USER);
    assert!(comment["timestamp"].as_str().unwrap().starts_with("2026-02-12 12:0"));
    assert_eq!(sale["invoices"][0]["status"], "approved");

    let too_soon = refused("TOO_SOON", "Please wait until the next day to reauthorize again.");
    api.set_clock("2026-02-12 23:00:00");
    assert_eq!(api.reauth(REAUTHORIZABLE_SALE_ID).await, too_soon, "same UTC day");
    api.set_clock("2026-02-13 12:00:00");
    assert_eq!(api.reauth(REAUTHORIZABLE_SALE_ID).await, ok("Payment reauthorized."), "the next day");
    let comments = api.sale(REAUTHORIZABLE_SALE_ID).await["comments"].as_array().unwrap().len();
    assert_eq!(comments, 2);
}

#[tokio::test]
async fn a_failed_reauth_still_uses_up_the_day() {
    let api = Api::start().await;
    api.set_clock("2026-01-20 12:00:00");
    let failed = refused("FAILED", "Failed to reauthorize payment.");
    let too_soon = refused("TOO_SOON", "Please wait until the next day to reauthorize again.");
    assert_eq!(api.reauth(REAUTH_FAILING_SALE_ID).await, failed);
    assert_eq!(api.reauth(REAUTH_FAILING_SALE_ID).await, too_soon);
    api.set_clock("2026-01-21 12:00:00");
    assert_eq!(api.reauth(REAUTH_FAILING_SALE_ID).await, failed, "the processor keeps refusing this sale");
    assert!(api.sale(REAUTH_FAILING_SALE_ID).await["comments"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_reauth_refused_as_too_soon_succeeds_the_next_day() {
    let api = Api::start().await;
    api.set_clock("2026-01-20 12:00:00");
    assert_eq!(api.reauth(REAUTH_FAILING_SALE_ID).await.1["errors"][0]["code"], "FAILED");
    // The issuer would now accept, but the day's attempt is spent.
    api.sim.state.store.set_reauth_failure(REAUTH_FAILING_SALE_ID, false);
    let too_soon = refused("TOO_SOON", "Please wait until the next day to reauthorize again.");
    assert_eq!(api.reauth(REAUTH_FAILING_SALE_ID).await, too_soon);
    api.set_clock("2026-01-21 12:00:00");
    assert_eq!(api.reauth(REAUTH_FAILING_SALE_ID).await, ok("Payment reauthorized."));
}

// ---------------------------------------------------------------- faults on writes

#[tokio::test]
async fn a_write_delayed_after_processing_is_applied_even_when_the_client_gives_up() {
    let api = Api::start().await;
    api.sim.inject_fault(Endpoint::CreateComment, Fault::delay_after_processing(Duration::from_secs(5)).times(1));
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
    let started = Instant::now();
    let outcome = impatient
        .post(api.url("sales/create_comment"))
        .basic_auth(USER, Some(PASSWORD))
        .header(ACCEPT, "application/json")
        .form(&[("sale_id", REFUNDABLE_SALE_ID), ("sale_comment", "Written, answer lost")])
        .send()
        .await;
    assert!(outcome.is_err_and(|error| error.is_timeout()), "the client gave up");
    let sale = api.sale(REFUNDABLE_SALE_ID).await;
    assert!(started.elapsed() < Duration::from_secs(5), "checked while the answer is still held back");
    assert_eq!(sale["comments"][0]["comment"], "Written, answer lost");
    assert_eq!(api.sim.request_count(Endpoint::CreateComment), 1);
}

#[tokio::test]
async fn a_delay_after_processing_answers_normally_once_it_has_elapsed() {
    let api = Api::start().await;
    api.set_clock("2025-12-01 12:00:00");
    api.sim.inject_fault(Endpoint::RefundInvoice, Fault::delay_after_processing(Duration::from_millis(600)));
    let started = Instant::now();
    let refund = api.refund_invoice(&[("sale_id", REFUNDABLE_SALE_ID)], &[("amount", "1.00"), ("currency", "usd")]);
    let peek = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        refund_lines(&api.sale(REFUNDABLE_SALE_ID).await).len()
    };
    let (answer, refunds_seen_during_the_delay) = tokio::join!(refund, peek);
    assert_eq!(answer, ok("refund added to invoice"));
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert_eq!(refunds_seen_during_the_delay, 1, "applied before the delay started");
    // The plain delay still comes before processing.
    api.sim.inject_fault(Endpoint::RefundInvoice, Fault::delay(Duration::from_millis(300)).times(1));
    let started = Instant::now();
    let answer =
        api.refund_invoice(&[("sale_id", REFUNDABLE_SALE_ID)], &[("amount", "1.00"), ("currency", "usd")]).await;
    assert_eq!(answer, ok("refund added to invoice"));
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn shutdown_during_a_delay_after_processing_answers_503_with_the_write_kept() {
    let api = Api::start().await;
    api.sim.inject_fault(Endpoint::CreateComment, Fault::delay_after_processing(Duration::from_secs(60)));
    let form = [("sale_id", REFUNDABLE_SALE_ID), ("sale_comment", "Kept")];
    let pending = tokio::spawn(
        api.http.post(api.url("sales/create_comment")).basic_auth(USER, Some(PASSWORD)).form(&form).send(),
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sale = api.sim.state.store.detail_sale(SaleLookup::Sale(REFUNDABLE_SALE_ID)).unwrap();
    assert_eq!(sale.comments[0].comment, "Kept");
    let started = Instant::now();
    api.sim.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(pending.await.unwrap().unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[test]
fn every_write_endpoint_has_its_path() {
    let paths: Vec<&str> = Endpoint::ALL.iter().map(|endpoint| endpoint.path()).collect();
    for path in [
        "sales/refund_invoice",
        "sales/refund_lineitem",
        "sales/stop_lineitem_recurring",
        "sales/mark_shipped",
        "sales/create_comment",
        "sales/reauth",
    ] {
        assert!(paths.contains(&path), "{path}");
        assert_eq!(Endpoint::from_path(path).map(Endpoint::path), Some(path));
    }
}
