//! The write methods end to end: each success visible through GetSale, each
//! vendor refusal mapped to its row of the error table, and validation at the
//! edge with no upstream call.

use tco_gateway::grpc::proto::{
    CreateCommentRequest, GetSaleRequest, LineItemType, MarkShippedRequest, ReauthorizeRequest, RecurringStatus,
    RefundCategory, RefundCurrency, RefundInvoiceRequest, RefundLineItemRequest, Sale, StopLineItemRecurringRequest,
    get_sale_request::Lookup,
};
use tco_simulator::{
    ACTIVE_RECURRING_LINEITEM_ID, ACTIVE_RECURRING_SALE_ID, ACTIVE_RECURRING_SALE_PLACED, DOCUMENTED_SALE_ID, Endpoint,
    FOREIGN_INVOICE_ID, Fault, REAUTH_FAILING_SALE_ID, REAUTH_FAILING_SALE_PLACED, REAUTHORIZABLE_SALE_ID,
    REAUTHORIZABLE_SALE_PLACED, REFUNDABLE_INVOICE_ID, REFUNDABLE_LINEITEM_IDS, REFUNDABLE_SALE_ID,
    REFUNDABLE_SALE_PLACED, UNSHIPPED_TANGIBLE_INVOICE_ID, UNSHIPPED_TANGIBLE_SALE_ID, UNSHIPPED_TANGIBLE_SALE_PLACED,
};
use tonic::Code;

use crate::helpers::{
    TestApp, bad_request_field, expect_error, new_request_id, refund_lines, set_clock_after, spawn_app,
};

pub async fn sale(app: &TestApp, sale_id: &str) -> Sale {
    let request = GetSaleRequest { lookup: Some(Lookup::SaleId(sale_id.into())), fresh: false };
    app.sales.clone().get_sale(request).await.expect("GetSale").into_inner().sale.unwrap()
}

pub fn refund_of(sale_id: &str, amount: &str) -> RefundInvoiceRequest {
    RefundInvoiceRequest {
        request_id: new_request_id(),
        sale_id: sale_id.into(),
        amount: amount.into(),
        currency: if amount.is_empty() { RefundCurrency::Unspecified } else { RefundCurrency::Usd }.into(),
        comment: "Buyer deserved a refund.".into(),
        category: RefundCategory::ServiceRefundedAtMerchantsRequest.into(),
        ..Default::default()
    }
}

/// A gateway whose simulator's clock is a few days after the refundable sale.
pub async fn refundable_app() -> TestApp {
    let app = spawn_app().await;
    set_clock_after(&app.simulator, REFUNDABLE_SALE_PLACED, 10);
    app
}

#[tokio::test]
async fn a_full_refund_shows_in_the_next_get_sale() {
    let app = refundable_app().await;
    let response = app.sales.clone().refund_invoice(refund_of(REFUNDABLE_SALE_ID, "")).await.unwrap().into_inner();
    assert_eq!(response.message, "refund added to invoice");
    let sale = sale(&app, REFUNDABLE_SALE_ID).await;
    let refunds = refund_lines(&sale);
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].usd_amount, "34.98", "no amount refunds the whole remaining balance");
    assert_eq!(refunds[0].invoice_id, REFUNDABLE_INVOICE_ID);
    assert!(sale.comments.iter().any(|c| c.text.contains("Buyer deserved a refund.")));
}

#[tokio::test]
async fn partial_refunds_accumulate_until_the_balance_is_exhausted() {
    let app = refundable_app().await;
    let mut sales = app.sales.clone();
    sales.refund_invoice(refund_of(REFUNDABLE_SALE_ID, "20.00")).await.unwrap();
    let refunds = refund_lines(&sale(&app, REFUNDABLE_SALE_ID).await).len();
    assert_eq!(refunds, 1);

    let status = sales.refund_invoice(refund_of(REFUNDABLE_SALE_ID, "20.00")).await.unwrap_err();
    let details = expect_error(&status, Code::FailedPrecondition, "TOO_HIGH");
    assert_eq!(status.message(), "Amount greater than remaining balance on invoice.");
    assert_eq!(details.error_info().unwrap().metadata["vendorCode"], "TOO_HIGH");

    sales.refund_invoice(refund_of(REFUNDABLE_SALE_ID, "")).await.unwrap();
    let sale = sale(&app, REFUNDABLE_SALE_ID).await;
    let amounts: Vec<_> = refund_lines(&sale).iter().map(|l| l.usd_amount.clone()).collect();
    assert_eq!(amounts, ["20.00", "14.98"], "the second refund took exactly the remainder");
    assert_eq!(refund_lines(&sale)[0].r#type(), LineItemType::Partial);

    // Nothing left: the live API (2020 suites) answers a second full refund as too high.
    let status = sales.refund_invoice(refund_of(REFUNDABLE_SALE_ID, "")).await.unwrap_err();
    expect_error(&status, Code::FailedPrecondition, "TOO_HIGH");
    assert_eq!(status.message(), "Amount greater than remaining balance on invoice.");
}

#[tokio::test]
async fn a_refund_on_a_sale_older_than_180_days_is_too_late() {
    let app = spawn_app().await;
    set_clock_after(&app.simulator, REFUNDABLE_SALE_PLACED, 181);
    let status = app.sales.clone().refund_invoice(refund_of(REFUNDABLE_SALE_ID, "1.00")).await.unwrap_err();
    expect_error(&status, Code::FailedPrecondition, "TOO_LATE");
    assert_eq!(status.message(), "Invoice too old to refund.");
}

#[tokio::test]
async fn a_refund_on_a_sale_with_several_invoices_needs_the_invoice_id() {
    let app = spawn_app().await;
    set_clock_after(&app.simulator, ACTIVE_RECURRING_SALE_PLACED, 40);
    let status = app.sales.clone().refund_invoice(refund_of(ACTIVE_RECURRING_SALE_ID, "1.00")).await.unwrap_err();
    let details = expect_error(&status, Code::InvalidArgument, "AMBIGUOUS");
    assert_eq!(bad_request_field(&details), "invoice_id");
}

#[tokio::test]
async fn refunding_another_accounts_invoice_is_permission_denied() {
    let app = spawn_app().await;
    let request =
        RefundInvoiceRequest { sale_id: String::new(), invoice_id: FOREIGN_INVOICE_ID.into(), ..refund_of("", "") };
    let status = app.sales.clone().refund_invoice(request).await.unwrap_err();
    expect_error(&status, Code::PermissionDenied, "FORBIDDEN");
    assert_eq!(app.simulator.request_count(Endpoint::RefundInvoice), 0, "the baseline read already refused");
}

pub fn refund_line(line_item_id: &str, amount: &str) -> RefundLineItemRequest {
    RefundLineItemRequest {
        request_id: new_request_id(),
        sale_id: REFUNDABLE_SALE_ID.into(),
        line_item_id: line_item_id.into(),
        amount: amount.into(),
        currency: if amount.is_empty() { RefundCurrency::Unspecified } else { RefundCurrency::Usd }.into(),
        comment: "Damaged in transit".into(),
        category: RefundCategory::ItemNotAsDescribed.into(),
    }
}

#[tokio::test]
async fn line_item_refunds_keep_their_own_balance() {
    let app = refundable_app().await;
    let mut sales = app.sales.clone();
    let first = REFUNDABLE_LINEITEM_IDS[0];
    assert_eq!(
        sales.refund_line_item(refund_line(first, "5.00")).await.unwrap().into_inner().message,
        "lineitem refunded"
    );

    let status = sales.refund_line_item(refund_line(first, "15.00")).await.unwrap_err();
    expect_error(&status, Code::FailedPrecondition, "TOO_HIGH");
    assert_eq!(status.message(), "Lineitem amount greater than remaining balance on invoice.");

    sales.refund_line_item(refund_line(first, "")).await.unwrap();
    // Nothing left on the line: too high, as the 2020 suites expect.
    let status = sales.refund_line_item(refund_line(first, "")).await.unwrap_err();
    expect_error(&status, Code::FailedPrecondition, "TOO_HIGH");
    assert_eq!(status.message(), "Lineitem amount greater than remaining balance on invoice.");

    let sale = sale(&app, REFUNDABLE_SALE_ID).await;
    let linked: Vec<_> =
        refund_lines(&sale).iter().filter(|l| l.linked_id == first).map(|l| l.usd_amount.clone()).collect();
    assert_eq!(linked, ["5.00", "14.99"]);

    let refund_line_id = refund_lines(&sale)[0].line_item_id.clone();
    let status = sales.refund_line_item(refund_line(&refund_line_id, "")).await.unwrap_err();
    expect_error(&status, Code::FailedPrecondition, "INVALID_PARAMETER");
    assert_eq!(status.message(), "This lineitem cannot be refunded.");
}

#[tokio::test]
async fn a_line_item_of_another_sale_is_refused_before_any_write() {
    let app = refundable_app().await;
    let request =
        RefundLineItemRequest { sale_id: DOCUMENTED_SALE_ID.into(), ..refund_line(REFUNDABLE_LINEITEM_IDS[0], "") };
    let status = app.sales.clone().refund_line_item(request).await.unwrap_err();
    let details = expect_error(&status, Code::InvalidArgument, "INVALID_FIELD");
    assert_eq!(bad_request_field(&details), "line_item_id");
    assert_eq!(app.simulator.request_count(Endpoint::RefundLineItem), 0);
}

#[tokio::test]
async fn stopping_recurring_billing_shows_stopped_and_cannot_be_repeated() {
    let app = spawn_app().await;
    let stop = || StopLineItemRecurringRequest {
        request_id: new_request_id(),
        sale_id: ACTIVE_RECURRING_SALE_ID.into(),
        line_item_id: ACTIVE_RECURRING_LINEITEM_ID.into(),
    };
    let mut sales = app.sales.clone();
    assert_eq!(
        sales.stop_line_item_recurring(stop()).await.unwrap().into_inner().message,
        "Recurring billing stopped for lineitem"
    );
    let sale = sale(&app, ACTIVE_RECURRING_SALE_ID).await;
    let line = sale
        .invoices
        .iter()
        .flat_map(|i| &i.line_items)
        .find(|l| l.line_item_id == ACTIVE_RECURRING_LINEITEM_ID)
        .unwrap();
    assert_eq!(line.billing.as_ref().unwrap().recurring_status(), RecurringStatus::Stopped);

    let status = sales.stop_line_item_recurring(stop()).await.unwrap_err();
    expect_error(&status, Code::FailedPrecondition, "NOTHING_TO_DO");
    assert_eq!(status.message(), "Lineitem is not scheduled to recur.");
}

fn ship(sale_id: &str) -> MarkShippedRequest {
    MarkShippedRequest {
        request_id: new_request_id(),
        sale_id: sale_id.into(),
        tracking_number: "1Z999AA10123456784".into(),
        notify_customer: true,
        comment: "Shipped with UPS".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn marking_shipped_records_the_tracking_number_once() {
    let app = spawn_app().await;
    set_clock_after(&app.simulator, UNSHIPPED_TANGIBLE_SALE_PLACED, 2);
    let mut sales = app.sales.clone();
    assert_eq!(
        sales.mark_shipped(ship(UNSHIPPED_TANGIBLE_SALE_ID)).await.unwrap().into_inner().message,
        "Sale marked shipped."
    );
    let sale = sale(&app, UNSHIPPED_TANGIBLE_SALE_ID).await;
    let invoice = sale.invoices.iter().find(|i| i.invoice_id == UNSHIPPED_TANGIBLE_INVOICE_ID).unwrap();
    assert!(!invoice.date_shipped.is_empty());
    assert_eq!(invoice.shipping.as_ref().unwrap().tracking_number, "1Z999AA10123456784");

    let status = sales.mark_shipped(ship(UNSHIPPED_TANGIBLE_SALE_ID)).await.unwrap_err();
    expect_error(&status, Code::FailedPrecondition, "NOTHING_TO_DO");
    assert_eq!(status.message(), "Sale already marked shipped.");
}

#[tokio::test]
async fn marking_an_intangible_sale_shipped_is_refused_like_the_live_api_does() {
    let app = spawn_app().await;
    let status = app.sales.clone().mark_shipped(ship(REFUNDABLE_SALE_ID)).await.unwrap_err();
    expect_error(&status, Code::FailedPrecondition, "NOTHING_TO_DO");
    assert_eq!(status.message(), "Sale already marked shipped.");
}

#[tokio::test]
async fn a_comment_is_added_newest_first() {
    let app = spawn_app().await;
    let request = CreateCommentRequest {
        request_id: new_request_id(),
        sale_id: DOCUMENTED_SALE_ID.into(),
        comment: "Called the buyer about the refund.".into(),
        notify_vendor: false,
        notify_customer: true,
    };
    assert_eq!(
        app.sales.clone().create_comment(request).await.unwrap().into_inner().message,
        "Created comment successfully."
    );
    let sale = sale(&app, DOCUMENTED_SALE_ID).await;
    assert_eq!(sale.comments.len(), 3);
    assert_eq!(sale.comments[0].text, "Called the buyer about the refund.");
}

fn reauth(sale_id: &str) -> ReauthorizeRequest {
    ReauthorizeRequest { request_id: new_request_id(), sale_id: sale_id.into() }
}

#[tokio::test]
async fn reauthorization_works_once_a_day_and_too_soon_says_when_to_retry() {
    let app = spawn_app().await;
    set_clock_after(&app.simulator, REAUTHORIZABLE_SALE_PLACED, 8);
    let mut sales = app.sales.clone();
    assert_eq!(
        sales.reauthorize(reauth(REAUTHORIZABLE_SALE_ID)).await.unwrap().into_inner().message,
        "Payment reauthorized."
    );

    let status = sales.reauthorize(reauth(REAUTHORIZABLE_SALE_ID)).await.unwrap_err();
    let details = expect_error(&status, Code::FailedPrecondition, "TOO_SOON");
    assert_eq!(status.message(), "Please wait until the next day to reauthorize again.");
    let delay = details.retry_info().and_then(|r| r.retry_delay).expect("RetryInfo");
    assert!(delay <= std::time::Duration::from_secs(24 * 3600));

    // The next day it is renewed again: the live API knows no "not expired yet" refusal, only
    // the once-a-day limit.
    app.simulator.clock().advance(std::time::Duration::from_secs(24 * 3600));
    assert_eq!(
        sales.reauthorize(reauth(REAUTHORIZABLE_SALE_ID)).await.unwrap().into_inner().message,
        "Payment reauthorized."
    );
}

#[tokio::test]
async fn a_refused_reauthorization_is_failed_precondition() {
    let app = spawn_app().await;
    set_clock_after(&app.simulator, REAUTH_FAILING_SALE_PLACED, 8);
    let status = app.sales.clone().reauthorize(reauth(REAUTH_FAILING_SALE_ID)).await.unwrap_err();
    expect_error(&status, Code::FailedPrecondition, "FAILED");
    assert_eq!(status.message(), "Failed to reauthorize payment.");
}

#[tokio::test]
async fn reauthorizing_a_deposited_payment_is_too_late() {
    let app = spawn_app().await;
    let status = app.sales.clone().reauthorize(reauth(DOCUMENTED_SALE_ID)).await.unwrap_err();
    expect_error(&status, Code::FailedPrecondition, "TOO_LATE");
    assert_eq!(status.message(), "Payment is already pending or deposited and cannot be reauthorized.");
}

#[tokio::test]
async fn invalid_writes_are_refused_at_the_edge_without_any_upstream_call() {
    let app = spawn_app().await;
    let mut sales = app.sales.clone();
    let bad_refund = |f: fn(&mut RefundInvoiceRequest)| {
        let mut request = refund_of(REFUNDABLE_SALE_ID, "");
        f(&mut request);
        request
    };
    let cases: Vec<(tonic::Status, &str)> = vec![
        (sales.refund_invoice(bad_refund(|r| r.request_id = String::new())).await.unwrap_err(), "request_id"),
        (sales.refund_invoice(bad_refund(|r| r.request_id = "retry-1".into())).await.unwrap_err(), "request_id"),
        (sales.refund_invoice(bad_refund(|r| r.sale_id = String::new())).await.unwrap_err(), "sale_id"),
        (sales.refund_invoice(bad_refund(|r| r.comment = String::new())).await.unwrap_err(), "comment"),
        (sales.refund_invoice(bad_refund(|r| r.comment = "x".repeat(5001))).await.unwrap_err(), "comment"),
        (sales.refund_invoice(bad_refund(|r| r.comment = "<script>".into())).await.unwrap_err(), "comment"),
        (sales.refund_invoice(bad_refund(|r| r.category = 7)).await.unwrap_err(), "category"),
        (sales.refund_invoice(bad_refund(|r| r.category = 0)).await.unwrap_err(), "category"),
        (sales.refund_invoice(bad_refund(|r| r.amount = "0.001".into())).await.unwrap_err(), "currency"),
        (
            sales
                .refund_invoice(bad_refund(|r| {
                    r.amount = "0.00".into();
                    r.currency = RefundCurrency::Vendor.into();
                }))
                .await
                .unwrap_err(),
            "amount",
        ),
        (sales.refund_invoice(bad_refund(|r| r.currency = RefundCurrency::Usd.into())).await.unwrap_err(), "amount"),
        (
            sales
                .refund_line_item(RefundLineItemRequest { line_item_id: "x".into(), ..refund_line("1", "") })
                .await
                .unwrap_err(),
            "line_item_id",
        ),
        (
            sales
                .reauthorize(ReauthorizeRequest { request_id: new_request_id(), sale_id: String::new() })
                .await
                .unwrap_err(),
            "sale_id",
        ),
        (
            sales
                .mark_shipped(MarkShippedRequest {
                    tracking_number: "9".repeat(256),
                    ..ship(UNSHIPPED_TANGIBLE_SALE_ID)
                })
                .await
                .unwrap_err(),
            "tracking_number",
        ),
        (
            sales
                .create_comment(CreateCommentRequest {
                    request_id: new_request_id(),
                    sale_id: DOCUMENTED_SALE_ID.into(),
                    ..Default::default()
                })
                .await
                .unwrap_err(),
            "comment",
        ),
    ];
    for (status, field) in cases {
        let details = expect_error(&status, Code::InvalidArgument, "INVALID_FIELD");
        assert_eq!(bad_request_field(&details), field, "{status:?}");
    }
    for endpoint in Endpoint::ALL {
        assert_eq!(app.simulator.request_count(*endpoint), 0, "{endpoint:?} was called");
    }
}

#[tokio::test]
async fn vendor_parameter_errors_on_writes_name_the_request_field() {
    let app = refundable_app().await;
    app.simulator.inject_fault(
        Endpoint::RefundLineItem,
        Fault::respond(
            400,
            "application/json",
            r#"{"errors":[{"code":"PARAMETER_INVALID","message":"Invalid value for parameter: lineitem_id","parameter":"lineitem_id"}]}"#,
        ),
    );
    let status = app.sales.clone().refund_line_item(refund_line(REFUNDABLE_LINEITEM_IDS[1], "")).await.unwrap_err();
    let details = expect_error(&status, Code::InvalidArgument, "PARAMETER_INVALID");
    assert_eq!(bad_request_field(&details), "line_item_id");

    app.simulator.inject_fault(
        Endpoint::RefundInvoice,
        Fault::respond(
            400,
            "application/json",
            r#"{"errors":[{"code":"TOO_LOW","message":"Amount must be at least 0.01."}]}"#,
        ),
    );
    let status = app.sales.clone().refund_invoice(refund_of(REFUNDABLE_SALE_ID, "1.00")).await.unwrap_err();
    let details = expect_error(&status, Code::InvalidArgument, "TOO_LOW");
    assert_eq!(bad_request_field(&details), "amount");
}
