//! End-to-end tests of the simulator's second round of fidelity (issue 19): what the 2020 suites
//! and real captures showed the live API does, and the undocumented
//! `sales/update_lineitem_recurring`. Each starts a real simulator on 127.0.0.1:0 and talks HTTP.

use super::*;

type Answer = (StatusCode, Value);

const COMMENT: &str = "Buyer asked for a refund.";

fn ok(message: &str) -> Answer {
    (StatusCode::OK, json!({ "response_code": "OK", "response_message": message }))
}

fn refused(code: &str, message: &str) -> Answer {
    (StatusCode::BAD_REQUEST, error(code, message, None))
}

fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("a timestamp").and_utc()
}

impl Api {
    /// POSTs a form, as the official clients do for every write.
    async fn post(&self, endpoint: &str, form: &[(&str, &str)]) -> Answer {
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

    async fn update_recurring(&self, form: &[(&str, &str)]) -> Answer {
        self.post("sales/update_lineitem_recurring", form).await
    }

    async fn active_line(&self) -> Value {
        let sale = self.sale(ACTIVE_RECURRING_SALE_ID).await;
        line_items(&sale)
            .into_iter()
            .find(|line| line["lineitem_id"] == ACTIVE_RECURRING_LINEITEM_ID)
            .expect("the active line")
    }
}

// ---------------------------------------------------------------- refunds

#[tokio::test]
async fn a_second_full_refund_is_more_than_the_remaining_balance_like_the_2020_suites() {
    let api = Api::start().await;
    api.sim.clock().set(at("2025-12-01 12:00:00"));
    let refund = [("sale_id", REFUNDABLE_SALE_ID), ("comment", COMMENT), ("category", "1")];
    assert_eq!(api.post("sales/refund_invoice", &refund).await, ok("refund added to invoice"));
    // The Python 2020 suite's sequence: the sale again, its first invoice, its first line.
    let again = refused("TOO_HIGH", "Amount greater than remaining balance on invoice.");
    assert_eq!(api.post("sales/refund_invoice", &refund).await, again);
    let by_invoice = [("invoice_id", REFUNDABLE_INVOICE_ID), ("comment", COMMENT), ("category", "1")];
    assert_eq!(api.post("sales/refund_invoice", &by_invoice).await, again);
    let line = [("lineitem_id", REFUNDABLE_LINEITEM_IDS[0]), ("comment", COMMENT), ("category", "1")];
    let line_again = refused("TOO_HIGH", "Lineitem amount greater than remaining balance on invoice.");
    assert_eq!(api.post("sales/refund_lineitem", &line).await, line_again);
}

#[tokio::test]
async fn refund_lines_go_last_on_the_invoice_where_the_suites_read_them() {
    let api = Api::start().await;
    api.sim.clock().set(at("2025-12-01 12:00:00"));
    let [first, second] = REFUNDABLE_LINEITEM_IDS;
    for (line, amount) in [(first, "1.00"), (second, "2.00"), (first, "3.00")] {
        let form =
            [("lineitem_id", line), ("comment", COMMENT), ("category", "1"), ("amount", amount), ("currency", "usd")];
        assert_eq!(api.post("sales/refund_lineitem", &form).await, ok("lineitem refunded"));
        let sale = api.sale(REFUNDABLE_SALE_ID).await;
        let last = line_items(&sale).pop().expect("lines");
        assert_eq!(
            (&last["status"], &last["linked_id"], &last["usd_amount"]),
            (&json!("refund"), &json!(line), &json!(amount))
        );
    }
    let sale = api.sale(REFUNDABLE_SALE_ID).await;
    let order: Vec<&str> = sale["invoices"][0]["lineitems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["linked_id"].as_str().unwrap_or("billed"))
        .collect();
    assert_eq!(order, ["billed", "billed", first, second, first], "billed lines first, refunds in the order made");
}

// ---------------------------------------------------------------- detail_sale

#[tokio::test]
async fn a_sale_found_by_invoice_carries_that_invoice_id_like_the_ruby_suites_read_it() {
    let api = Api::start().await;
    let (status, body) = api.detail(&[("invoice_id", DOCUMENTED_INVOICE_IDS[1])]).await;
    assert_eq!(status, StatusCode::OK);
    let sale = &body["sale"];
    assert_eq!(sale["invoice_id"], DOCUMENTED_INVOICE_IDS[1]);
    assert_eq!(sale["sale_id"], DOCUMENTED_SALE_ID);
    let keys: Vec<&String> = sale.as_object().unwrap().keys().collect();
    assert!(keys.is_sorted(), "in the vendor's alphabetical place: {keys:?}");
    let (_, both) = api.detail(&[("sale_id", DOCUMENTED_SALE_ID), ("invoice_id", DOCUMENTED_INVOICE_IDS[0])]).await;
    assert_eq!(both["sale"]["invoice_id"], DOCUMENTED_INVOICE_IDS[0]);
    let by_sale = api.sale(DOCUMENTED_SALE_ID).await;
    assert!(by_sale.get("invoice_id").is_none(), "a sale found by sale id is the documented example");
}

#[tokio::test]
async fn an_invoice_id_passed_as_sale_id_finds_its_sale_like_the_php_2020_suite() {
    let api = Api::start().await;
    let (status, body) = api.detail(&[("sale_id", ACTIVE_RECURRING_INVOICE_IDS[1])]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sale"]["sale_id"], ACTIVE_RECURRING_SALE_ID);
    assert_eq!(body["sale"]["invoice_id"], ACTIVE_RECURRING_INVOICE_IDS[1]);
    let invoices = body["sale"]["invoices"].as_array().unwrap();
    assert_eq!(invoices.len(), 1, "looked up as that invoice");
    assert_eq!(invoices[0]["invoice_id"], ACTIVE_RECURRING_INVOICE_IDS[1]);
    // Another vendor's invoice stays forbidden, an id that is neither stays unknown.
    let (_, foreign) = api.detail(&[("sale_id", FOREIGN_INVOICE_ID)]).await;
    assert_eq!(foreign, error("FORBIDDEN", "Access denied to sale.", None));
    let (_, unknown) = api.detail(&[("sale_id", "1234567890")]).await;
    assert_eq!(unknown, record_not_found());
}

// ---------------------------------------------------------------- update_lineitem_recurring

#[tokio::test]
async fn update_lineitem_recurring_checks_its_parameters_in_order() {
    let api = Api::start().await;
    let line = ("lineitem_id", ACTIVE_RECURRING_LINEITEM_ID);
    let missing = |name: &str| {
        (
            StatusCode::BAD_REQUEST,
            error("PARAMETER_MISSING", &format!("Required parameter missing: {name}"), Some(name)),
        )
    };
    let bad = |name: &str| (StatusCode::BAD_REQUEST, invalid(name));
    let cases: Vec<(Vec<(&str, &str)>, Answer)> = vec![
        (vec![("shift", "3")], missing("lineitem_id")),
        (vec![("lineitem_id", "91x"), ("shift", "3")], bad("lineitem_id")),
        (vec![line], missing("shift")),
        (vec![line, ("comment", "no change asked")], missing("shift")),
        (vec![line, ("shift", "0")], bad("shift")),
        (vec![line, ("shift", "-3")], bad("shift")),
        (vec![line, ("shift", "3651")], bad("shift")),
        (vec![line, ("price", "abc")], bad("price")),
        (vec![line, ("price", "0.00")], bad("price")),
        (vec![line, ("shift", "3"), ("comment", "<b>")], bad("comment")),
        (vec![("lineitem_id", "1234567890"), ("shift", "3")], (StatusCode::BAD_REQUEST, record_not_found())),
        (vec![("lineitem_id", "8000000026"), ("shift", "3")], refused("FORBIDDEN", "Access denied to sale.")),
    ];
    for (form, expected) in cases {
        assert_eq!(api.update_recurring(&form).await, expected, "{form:?}");
    }
    assert_eq!(api.active_line().await["billing"]["date_next"], "2025-11-10", "nothing changed");
}

#[tokio::test]
async fn shifting_moves_the_next_bill_date_forward_and_adds_the_comment() {
    let api = Api::start().await;
    api.sim.clock().set(at("2025-10-20 12:00:00"));
    let form =
        [("lineitem_id", ACTIVE_RECURRING_LINEITEM_ID), ("shift", "7"), ("comment", "Late start, moved a week.")];
    assert_eq!(api.update_recurring(&form).await, ok("Lineitem recurring billing updated."));
    let line = api.active_line().await;
    assert_eq!(line["billing"]["date_next"], "2025-11-17");
    assert_eq!(line["billing"]["recurring_status"], "active");
    let sale = api.sale(ACTIVE_RECURRING_SALE_ID).await;
    assert_eq!(sale["comments"][0]["comment"], "Late start, moved a week.");
    assert_eq!(sale["comments"][0]["username"], USER);
    // Across a month end, without a comment: none added.
    let again = [("lineitem_id", ACTIVE_RECURRING_LINEITEM_ID), ("shift", "20")];
    assert_eq!(api.update_recurring(&again).await, ok("Lineitem recurring billing updated."));
    assert_eq!(api.active_line().await["billing"]["date_next"], "2025-12-07");
    assert_eq!(api.sale(ACTIVE_RECURRING_SALE_ID).await["comments"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_recurring_price_can_only_go_down() {
    let api = Api::start().await;
    let line = ("lineitem_id", ACTIVE_RECURRING_LINEITEM_ID);
    let too_high = refused("TOO_HIGH", "New recurring price must be lower than the current one.");
    // Hosting Pro bills 29.00 a month.
    assert_eq!(api.update_recurring(&[line, ("price", "29.00")]).await, too_high, "equal is not lower");
    assert_eq!(api.update_recurring(&[line, ("price", "35")]).await, too_high);
    assert_eq!(api.update_recurring(&[line, ("price", "24.50")]).await, ok("Lineitem recurring billing updated."));
    assert_eq!(api.update_recurring(&[line, ("price", "24.50")]).await, too_high, "24.50 is the current price now");
    assert_eq!(api.update_recurring(&[line, ("price", "19.99"), ("shift", "1")]).await.0, StatusCode::OK);
    let refused_both = api.update_recurring(&[line, ("price", "20.00"), ("shift", "5")]).await;
    assert_eq!(refused_both, too_high);
    let billing = &api.active_line().await["billing"];
    assert_eq!(billing["date_next"], "2025-11-11", "a refused call moves nothing");
    // What was billed stays what was billed.
    assert_eq!(api.active_line().await["product_price"], "29.00");
}

#[tokio::test]
async fn only_an_active_recurring_line_of_a_card_sale_can_be_updated() {
    let api = Api::start().await;
    let not_recurring = refused("NOTHING_TO_DO", "Lineitem is not scheduled to recur.");
    for lineitem_id in [ACTIVE_RECURRING_FIRST_LINEITEM_ID, REFUNDABLE_LINEITEM_IDS[0]] {
        let form = [("lineitem_id", lineitem_id), ("shift", "3")];
        assert_eq!(api.update_recurring(&form).await, not_recurring, "{lineitem_id}");
    }
    let stopped = api.sale(STOPPED_RECURRING_SALE_ID).await;
    assert!(stopped["customer"]["pay_method"]["method"].as_str().unwrap().starts_with("paypal"));
    let paypal_line = line_items(&stopped)[0]["lineitem_id"].as_str().unwrap().to_owned();
    let form = [("lineitem_id", paypal_line.as_str()), ("shift", "3")];
    let paypal = refused("FORBIDDEN", "Recurring billing of a PayPal sale cannot be updated.");
    assert_eq!(api.update_recurring(&form).await, paypal);
    let stop = [("lineitem_id", ACTIVE_RECURRING_LINEITEM_ID)];
    assert_eq!(api.post("sales/stop_lineitem_recurring", &stop).await.0, StatusCode::OK);
    let form = [("lineitem_id", ACTIVE_RECURRING_LINEITEM_ID), ("price", "1.00")];
    assert_eq!(api.update_recurring(&form).await, not_recurring, "a stopped line no longer recurs");
}

#[tokio::test]
async fn update_lineitem_recurring_answers_xml_too() {
    let api = Api::start().await;
    let response = api
        .http
        .post(api.url("sales/update_lineitem_recurring"))
        .basic_auth(USER, Some(PASSWORD))
        .form(&[("lineitem_id", ACTIVE_RECURRING_LINEITEM_ID), ("shift", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert_eq!(xml_root_children(&text).1, ["response_code", "response_message"]);
    assert!(text.contains("<response_message>Lineitem recurring billing updated.</response_message>"));
    assert_eq!(api.sim.request_count(Endpoint::UpdateLineItemRecurring), 1);
}
