//! At-most-once writes by request id, against the real simulator: retries,
//! concurrent duplicates, reused ids, and writes whose outcome was lost.

use std::time::Duration;

use tco_gateway::grpc::proto::{CreateCommentRequest, GetSaleRequest, get_sale_request::Lookup};
use tco_simulator::{DOCUMENTED_SALE_ID, Endpoint, Fault, REFUNDABLE_SALE_ID};
use tonic::Code;
use tonic_types::StatusExt;

use crate::{
    helpers::{
        GENEROUS_DEADLINE, NEVER, PATIENCE, TestApp, bad_request_field, eventually, expect_error, with_deadline,
    },
    writes::{refund_of, refundable_app},
};

async fn refund_lines(app: &TestApp) -> Vec<String> {
    let request = GetSaleRequest { lookup: Some(Lookup::SaleId(REFUNDABLE_SALE_ID.into())), fresh: false };
    let sale = app.sales.clone().get_sale(request).await.unwrap().into_inner().sale.unwrap();
    crate::helpers::refund_lines(&sale).into_iter().map(|l| l.usd_amount.clone()).collect()
}

#[tokio::test]
async fn a_retry_with_the_same_request_id_returns_the_first_outcome_without_a_second_call() {
    let app = refundable_app().await;
    let request = refund_of(REFUNDABLE_SALE_ID, "5.00");
    let first = app.sales.clone().refund_invoice(request.clone()).await.unwrap().into_inner();
    let retry = app.sales.clone().refund_invoice(request).await.unwrap().into_inner();
    assert_eq!(first, retry);
    assert_eq!(app.simulator.request_count(Endpoint::RefundInvoice), 1);
    assert_eq!(refund_lines(&app).await, ["5.00"], "refunded once");
}

#[tokio::test]
async fn a_retried_refusal_is_replayed_not_resent() {
    let app = refundable_app().await;
    let request = refund_of(REFUNDABLE_SALE_ID, "500.00");
    let first = app.sales.clone().refund_invoice(request.clone()).await.unwrap_err();
    let retry = app.sales.clone().refund_invoice(request).await.unwrap_err();
    expect_error(&first, Code::FailedPrecondition, "TOO_HIGH");
    assert_eq!((retry.code(), retry.message()), (first.code(), first.message()));
    // Compared decoded: ErrorInfo.metadata is a map, whose wire order is not fixed.
    let info = |status: &tonic::Status| {
        let info = status.get_error_details().error_info().cloned().expect("ErrorInfo");
        (info.reason, info.domain, info.metadata)
    };
    assert_eq!(info(&retry), info(&first));
    assert_eq!(app.simulator.request_count(Endpoint::RefundInvoice), 1);
}

#[tokio::test]
async fn concurrent_duplicates_make_one_upstream_call_and_share_its_outcome() {
    let app = refundable_app().await;
    // Slow enough that every duplicate arrives while the first is in flight.
    app.simulator.inject_fault(Endpoint::RefundInvoice, Fault::delay(Duration::from_millis(400)));
    let request = refund_of(REFUNDABLE_SALE_ID, "3.00");
    let calls = (0..20).map(|_| {
        let mut sales = app.sales.clone();
        let request = request.clone();
        tokio::spawn(async move { sales.refund_invoice(request).await.map(|r| r.into_inner()) })
    });
    let outcomes: Vec<_> = futures_join(calls).await;
    assert!(outcomes.iter().all(|o| o.as_ref().is_ok_and(|r| r.message == "refund added to invoice")), "{outcomes:?}");
    assert_eq!(app.simulator.request_count(Endpoint::RefundInvoice), 1);
    app.simulator.clear_faults();
    assert_eq!(refund_lines(&app).await, ["3.00"]);
}

async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn the_same_request_id_with_a_different_request_is_invalid_argument() {
    let app = refundable_app().await;
    let request = refund_of(REFUNDABLE_SALE_ID, "1.00");
    app.sales.clone().refund_invoice(request.clone()).await.unwrap();

    let changed = tco_gateway::grpc::proto::RefundInvoiceRequest { amount: "2.00".into(), ..request.clone() };
    let status = app.sales.clone().refund_invoice(changed).await.unwrap_err();
    let details = expect_error(&status, Code::InvalidArgument, "REQUEST_ID_REUSED");
    assert_eq!(bad_request_field(&details), "request_id");

    let other_method = CreateCommentRequest {
        request_id: request.request_id.clone(),
        sale_id: DOCUMENTED_SALE_ID.into(),
        comment: "hello".into(),
        ..Default::default()
    };
    let status = app.sales.clone().create_comment(other_method).await.unwrap_err();
    expect_error(&status, Code::InvalidArgument, "REQUEST_ID_REUSED");
    assert_eq!(app.simulator.request_count(Endpoint::RefundInvoice), 1);
    assert_eq!(app.simulator.request_count(Endpoint::CreateComment), 0);
}

#[tokio::test]
async fn a_lost_answer_is_outcome_unknown_and_a_retry_confirms_without_resending() {
    let app = refundable_app().await;
    // 2Checkout performs the refund, but its answer never comes: the gateway cuts the
    // request inside the caller's deadline and says so itself.
    app.simulator.inject_fault(Endpoint::RefundInvoice, Fault::delay_after_processing(NEVER));
    let request = refund_of(REFUNDABLE_SALE_ID, "7.00");
    let status = app.sales.clone().refund_invoice(with_deadline(request.clone(), GENEROUS_DEADLINE)).await.unwrap_err();
    expect_error(&status, Code::DeadlineExceeded, "OUTCOME_UNKNOWN");
    app.simulator.clear_faults();

    let retry = app.sales.clone().refund_invoice(request).await.expect("the retry finds the refund done");
    assert_eq!(retry.into_inner().message, "refund added to invoice");
    assert_eq!(app.simulator.request_count(Endpoint::RefundInvoice), 1, "never sent twice");
    assert_eq!(refund_lines(&app).await, ["7.00"]);
}

#[tokio::test]
async fn an_unknown_outcome_that_did_not_happen_is_sent_again_on_retry() {
    let app = refundable_app().await;
    // A 5xx answer: 2Checkout may or may not have acted (here it did not).
    app.simulator
        .inject_fault(Endpoint::RefundInvoice, Fault::respond(502, "text/html", "<h1>Bad Gateway</h1>").times(1));
    let request = refund_of(REFUNDABLE_SALE_ID, "4.00");
    let status = app.sales.clone().refund_invoice(request.clone()).await.unwrap_err();
    expect_error(&status, Code::Unavailable, "OUTCOME_UNKNOWN");

    app.sales.clone().refund_invoice(request.clone()).await.expect("the retry sends it");
    assert_eq!(app.simulator.request_count(Endpoint::RefundInvoice), 2);
    assert_eq!(refund_lines(&app).await, ["4.00"]);

    app.sales.clone().refund_invoice(request).await.expect("and from then on replays the success");
    assert_eq!(app.simulator.request_count(Endpoint::RefundInvoice), 2);
}

#[tokio::test]
async fn a_failure_before_anything_was_sent_is_not_remembered() {
    let app = refundable_app().await;
    // The baseline read fails: nothing reached refund_invoice.
    app.simulator.inject_fault(Endpoint::DetailSale, Fault::respond(503, "text/plain", "busy").times(1));
    let request = refund_of(REFUNDABLE_SALE_ID, "2.00");
    let status = app.sales.clone().refund_invoice(request.clone()).await.unwrap_err();
    expect_error(&status, Code::Unavailable, "UPSTREAM_UNAVAILABLE");
    assert_eq!(app.simulator.request_count(Endpoint::RefundInvoice), 0);

    app.sales.clone().refund_invoice(request).await.expect("a retry runs the write afresh");
    assert_eq!(app.simulator.request_count(Endpoint::RefundInvoice), 1);
    assert_eq!(refund_lines(&app).await, ["2.00"]);
}

#[tokio::test]
async fn a_write_survives_its_caller_hanging_up() {
    let app = refundable_app().await;
    // 2Checkout holds the refund a while before applying it: the caller hangs up meanwhile.
    app.simulator.inject_fault(Endpoint::RefundInvoice, Fault::delay(Duration::from_secs(2)));
    let request = refund_of(REFUNDABLE_SALE_ID, "6.00");
    let mut sales = app.sales.clone();
    let caller = tokio::spawn({
        let request = request.clone();
        async move { sales.refund_invoice(request).await }
    });
    eventually("the refund to reach 2Checkout", || app.simulator.request_count(Endpoint::RefundInvoice) == 1).await;
    caller.abort();
    app.simulator.clear_faults();

    // Still in flight or done, the first write is the one the retry gets: had the
    // hang-up cancelled it, the retry would send the refund again.
    let retry = tokio::time::timeout(PATIENCE, app.sales.clone().refund_invoice(request))
        .await
        .expect("the write in flight settles")
        .expect("the outcome was recorded");
    assert_eq!(retry.into_inner().message, "refund added to invoice");
    assert_eq!(app.simulator.request_count(Endpoint::RefundInvoice), 1);
    assert_eq!(refund_lines(&app).await, ["6.00"]);
}
