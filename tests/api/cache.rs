//! The detail_sale cache: one upstream call per cold key however many callers,
//! TTL, read-your-writes by sale and by invoice after every write, the fresh
//! bypass, errors never cached, and a byte budget that evicts.

use std::time::Duration;

use tco_gateway::grpc::proto::{
    CreateCommentRequest, GetSaleRequest, ListSalesRequest, MarkShippedRequest, ReauthorizeRequest, RecurringStatus,
    RefundInvoiceRequest, RefundLineItemRequest, Sale, StopLineItemRecurringRequest, get_sale_request::Lookup,
};
use tco_simulator::{
    ACTIVE_RECURRING_INVOICE_IDS, ACTIVE_RECURRING_LINEITEM_ID, ACTIVE_RECURRING_SALE_ID, DOCUMENTED_INVOICE_IDS,
    DOCUMENTED_SALE_ID, Endpoint, Fault, REAUTHORIZABLE_INVOICE_ID, REAUTHORIZABLE_SALE_ID, REAUTHORIZABLE_SALE_PLACED,
    REFUNDABLE_INVOICE_ID, REFUNDABLE_LINEITEM_IDS, REFUNDABLE_SALE_ID, UNSHIPPED_TANGIBLE_INVOICE_ID,
    UNSHIPPED_TANGIBLE_SALE_ID,
};
use tonic::Code;

use crate::{
    helpers::{
        GENEROUS_DEADLINE, NEVER, PATIENCE, TestApp, expect_error, new_request_id, refund_lines, set_clock_after,
        spawn_app, spawn_gateway, spawn_simulator, with_deadline,
    },
    writes::{refund_of, refundable_app},
};

fn by_sale(id: &str) -> Lookup {
    Lookup::SaleId(id.into())
}

fn by_invoice(id: &str) -> Lookup {
    Lookup::InvoiceId(id.into())
}

async fn get(app: &TestApp, lookup: Lookup) -> Sale {
    get_with(app, lookup, false).await
}

async fn get_with(app: &TestApp, lookup: Lookup, fresh: bool) -> Sale {
    let request = GetSaleRequest { lookup: Some(lookup), fresh };
    app.sales.clone().get_sale(request).await.expect("GetSale").into_inner().sale.unwrap()
}

fn details(app: &TestApp) -> u64 {
    app.simulator.request_count(Endpoint::DetailSale)
}

#[tokio::test]
async fn concurrent_lookups_of_a_cold_sale_make_one_upstream_call() {
    let app = spawn_app().await;
    // Slow enough that all 200 arrive while the first fetch is in flight.
    app.simulator.inject_fault(Endpoint::DetailSale, Fault::delay(Duration::from_millis(300)));
    let calls: Vec<_> = (0..200)
        .map(|_| {
            let mut sales = app.sales.clone();
            tokio::spawn(async move {
                let request = GetSaleRequest { lookup: Some(by_sale(DOCUMENTED_SALE_ID)), fresh: false };
                sales.get_sale(request).await.map(|r| r.into_inner().sale.unwrap().sale_id)
            })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), DOCUMENTED_SALE_ID);
    }
    assert_eq!(details(&app), 1);
}

#[tokio::test]
async fn a_second_lookup_within_the_ttl_makes_no_upstream_call() {
    let app = spawn_app().await;
    let first = get(&app, by_sale(DOCUMENTED_SALE_ID)).await;
    let second = get(&app, by_sale(DOCUMENTED_SALE_ID)).await;
    assert_eq!(first, second);
    assert_eq!(details(&app), 1);
    let stats = app.ports.stats();
    assert_eq!((stats.hits, stats.misses), (1, 1));
}

/// The cache runs on its own clock (moka's, not Tokio's), so the TTL is checked
/// against real time, from bounds that hold however slow the machine is: the
/// entry is stored after `started`, so it cannot expire before `started + TTL`.
#[tokio::test]
async fn after_the_ttl_the_sale_is_fetched_again() {
    const TTL: Duration = Duration::from_secs(1);
    let simulator = spawn_simulator().await;
    let app = spawn_gateway(&simulator, &[("cache.ttl", "1s")]).await;
    let started = std::time::Instant::now();
    get(&app, by_sale(DOCUMENTED_SALE_ID)).await;
    get(&app, by_sale(DOCUMENTED_SALE_ID)).await;
    if started.elapsed() < TTL {
        assert_eq!(details(&app), 1, "served from the cache within the TTL");
    }
    // Look it up again and again until it is fetched anew: never before the TTL passed.
    while details(&app) < 2 {
        assert!(started.elapsed() < PATIENCE, "the entry never expired");
        get(&app, by_sale(DOCUMENTED_SALE_ID)).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(started.elapsed() >= TTL, "fetched anew before the TTL passed");
    assert_eq!(details(&app), 2);
}

/// Caches the sale under both keys, runs `write`, and returns the sale as
/// seen by sale id and by invoice id afterwards.
async fn around_write<F, Fut>(app: &TestApp, sale_id: &str, invoice_id: &str, write: F) -> (Sale, Sale)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    get(app, by_sale(sale_id)).await;
    get(app, by_invoice(invoice_id)).await;
    let before = details(app);
    get(app, by_sale(sale_id)).await;
    get(app, by_invoice(invoice_id)).await;
    assert_eq!(details(app), before, "both keys are cached before the write");
    write().await;
    (get(app, by_sale(sale_id)).await, get(app, by_invoice(invoice_id)).await)
}

fn refund_count(sale: &Sale) -> usize {
    refund_lines(sale).len()
}

#[tokio::test]
async fn a_refund_by_invoice_id_is_read_back_by_sale_id_and_the_reverse() {
    let app = refundable_app().await;
    let (by_sale_id, by_invoice_id) = around_write(&app, REFUNDABLE_SALE_ID, REFUNDABLE_INVOICE_ID, || async {
        let request = RefundInvoiceRequest {
            sale_id: String::new(),
            invoice_id: REFUNDABLE_INVOICE_ID.into(),
            ..refund_of(REFUNDABLE_SALE_ID, "1.00")
        };
        app.sales.clone().refund_invoice(request).await.unwrap();
    })
    .await;
    assert_eq!((refund_count(&by_sale_id), refund_count(&by_invoice_id)), (1, 1));

    let (by_sale_id, by_invoice_id) = around_write(&app, REFUNDABLE_SALE_ID, REFUNDABLE_INVOICE_ID, || async {
        app.sales.clone().refund_invoice(refund_of(REFUNDABLE_SALE_ID, "2.00")).await.unwrap();
    })
    .await;
    assert_eq!((refund_count(&by_sale_id), refund_count(&by_invoice_id)), (2, 2));
}

#[tokio::test]
async fn a_line_item_refund_is_read_back_by_both_keys() {
    let app = refundable_app().await;
    let (by_sale_id, by_invoice_id) = around_write(&app, REFUNDABLE_SALE_ID, REFUNDABLE_INVOICE_ID, || async {
        let request = RefundLineItemRequest {
            request_id: new_request_id(),
            sale_id: REFUNDABLE_SALE_ID.into(),
            line_item_id: REFUNDABLE_LINEITEM_IDS[1].into(),
            comment: "Wrong edition".into(),
            category: tco_gateway::grpc::proto::RefundCategory::ItemNotAsDescribed.into(),
            ..Default::default()
        };
        app.sales.clone().refund_line_item(request).await.unwrap();
    })
    .await;
    assert_eq!((refund_count(&by_sale_id), refund_count(&by_invoice_id)), (1, 1));
}

#[tokio::test]
async fn stopping_recurring_billing_is_read_back_by_both_keys() {
    let app = spawn_app().await;
    let invoice = ACTIVE_RECURRING_INVOICE_IDS[1];
    let (by_sale_id, by_invoice_id) = around_write(&app, ACTIVE_RECURRING_SALE_ID, invoice, || async {
        let request = StopLineItemRecurringRequest {
            request_id: new_request_id(),
            sale_id: ACTIVE_RECURRING_SALE_ID.into(),
            line_item_id: ACTIVE_RECURRING_LINEITEM_ID.into(),
        };
        app.sales.clone().stop_line_item_recurring(request).await.unwrap();
    })
    .await;
    for sale in [by_sale_id, by_invoice_id] {
        let line =
            sale.invoices.iter().flat_map(|i| &i.line_items).find(|l| l.line_item_id == ACTIVE_RECURRING_LINEITEM_ID);
        assert_eq!(line.unwrap().billing.as_ref().unwrap().recurring_status(), RecurringStatus::Stopped);
    }
}

#[tokio::test]
async fn shipping_is_read_back_by_both_keys() {
    let app = spawn_app().await;
    let (by_sale_id, by_invoice_id) =
        around_write(&app, UNSHIPPED_TANGIBLE_SALE_ID, UNSHIPPED_TANGIBLE_INVOICE_ID, || async {
            let request = MarkShippedRequest {
                request_id: new_request_id(),
                invoice_id: UNSHIPPED_TANGIBLE_INVOICE_ID.into(),
                tracking_number: "TRACK-42".into(),
                ..Default::default()
            };
            app.sales.clone().mark_shipped(request).await.unwrap();
        })
        .await;
    for sale in [by_sale_id, by_invoice_id] {
        assert_eq!(sale.invoices[0].shipping.as_ref().unwrap().tracking_number, "TRACK-42");
    }
}

#[tokio::test]
async fn comments_and_reauthorizations_are_read_back_by_both_keys() {
    let app = spawn_app().await;
    let (by_sale_id, by_invoice_id) = around_write(&app, DOCUMENTED_SALE_ID, DOCUMENTED_INVOICE_IDS[0], || async {
        let request = CreateCommentRequest {
            request_id: new_request_id(),
            sale_id: DOCUMENTED_SALE_ID.into(),
            comment: "Cached no more".into(),
            ..Default::default()
        };
        app.sales.clone().create_comment(request).await.unwrap();
    })
    .await;
    assert_eq!(
        (by_sale_id.comments[0].text.as_str(), by_invoice_id.comments[0].text.as_str()),
        ("Cached no more", "Cached no more")
    );

    set_clock_after(&app.simulator, REAUTHORIZABLE_SALE_PLACED, 8);
    let (by_sale_id, by_invoice_id) = around_write(&app, REAUTHORIZABLE_SALE_ID, REAUTHORIZABLE_INVOICE_ID, || async {
        let request = ReauthorizeRequest { request_id: new_request_id(), sale_id: REAUTHORIZABLE_SALE_ID.into() };
        app.sales.clone().reauthorize(request).await.unwrap();
    })
    .await;
    for sale in [by_sale_id, by_invoice_id] {
        assert!(sale.comments.iter().any(|c| c.text.contains("reauthorized")), "{:?}", sale.comments);
    }
}

#[tokio::test]
async fn a_write_with_an_unknown_outcome_invalidates_too() {
    let app = refundable_app().await;
    get(&app, by_sale(REFUNDABLE_SALE_ID)).await;
    app.simulator.inject_fault(Endpoint::RefundInvoice, Fault::delay_after_processing(NEVER));
    let status = app
        .sales
        .clone()
        .refund_invoice(with_deadline(refund_of(REFUNDABLE_SALE_ID, "1.00"), GENEROUS_DEADLINE))
        .await
        .unwrap_err();
    expect_error(&status, Code::DeadlineExceeded, "OUTCOME_UNKNOWN");
    assert_eq!(refund_count(&get(&app, by_sale(REFUNDABLE_SALE_ID)).await), 1, "the refund that did happen shows");
}

#[tokio::test]
async fn a_fresh_read_bypasses_the_cache_and_refreshes_it() {
    let simulator = spawn_simulator().await;
    let app = spawn_gateway(&simulator, &[]).await;
    // Another replica writes: this one's cache cannot know.
    let other_replica = spawn_gateway(&simulator, &[]).await;
    assert_eq!(get(&app, by_sale(DOCUMENTED_SALE_ID)).await.comments.len(), 2);
    let request = CreateCommentRequest {
        request_id: new_request_id(),
        sale_id: DOCUMENTED_SALE_ID.into(),
        comment: "Written elsewhere".into(),
        ..Default::default()
    };
    other_replica.sales.clone().create_comment(request).await.unwrap();

    assert_eq!(get(&app, by_sale(DOCUMENTED_SALE_ID)).await.comments.len(), 2, "stale within the TTL, as documented");
    assert_eq!(get_with(&app, by_sale(DOCUMENTED_SALE_ID), true).await.comments.len(), 3);
    let calls = details(&app);
    assert_eq!(get(&app, by_sale(DOCUMENTED_SALE_ID)).await.comments.len(), 3, "the fresh answer replaced the entry");
    assert_eq!(details(&app), calls);
}

#[tokio::test]
async fn an_upstream_error_is_not_served_from_the_cache() {
    let app = spawn_app().await;
    app.simulator.inject_fault(Endpoint::DetailSale, Fault::respond(503, "text/plain", "busy").times(1));
    let status = app
        .sales
        .clone()
        .get_sale(GetSaleRequest { lookup: Some(by_sale(DOCUMENTED_SALE_ID)), fresh: false })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(get(&app, by_sale(DOCUMENTED_SALE_ID)).await.sale_id, DOCUMENTED_SALE_ID);
    assert_eq!(details(&app), 2);
}

#[tokio::test]
async fn the_byte_budget_evicts_and_bounds_the_cache() {
    let simulator = spawn_simulator().await;
    const BUDGET: u64 = 40_000;
    let app = spawn_gateway(&simulator, &[("cache.max_bytes", &BUDGET.to_string())]).await;
    let page = app.sales.clone().list_sales(ListSalesRequest { page_size: 60, ..Default::default() }).await.unwrap();
    for summary in page.into_inner().sales {
        get(&app, by_sale(&summary.sale_id)).await;
    }
    app.ports.settle().await;
    let stats = app.ports.stats();
    assert!(stats.evictions > 0, "{stats:?}");
    assert!(stats.bytes <= BUDGET, "{stats:?}");
    assert!(stats.entries > 0 && stats.entries < 60, "{stats:?}");
    assert_eq!(stats.misses, 60);
}
