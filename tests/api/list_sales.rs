//! ListSales and StreamSales: filters, sorting, paging, streaming and cancellation.

use std::{collections::HashSet, sync::Arc, time::Duration};

use tco_gateway::{
    domain::Amount,
    grpc::proto::{
        BillingStatus, GetSaleRequest, ListSalesRequest, ListSalesResponse, RecurringStatus, Sale, SaleSummary,
        SalesFilter, SortColumn, SortDirection, StreamSalesRequest, get_sale_request::Lookup,
        sales_service_client::SalesServiceClient,
    },
};
use tco_simulator::{DOCUMENTED_INVOICE_IDS, DOCUMENTED_SALE_ID, Endpoint, Fault, SimulatorConfig};
use tokio_stream::StreamExt;

use crate::helpers::{
    NEVER, TestApp, connect_with_window, eventually, idle_holders, spawn_app, spawn_gateway, spawn_simulator,
    spawn_simulator_with, until_the_walk_ends,
};

async fn list(app: &TestApp, request: ListSalesRequest) -> ListSalesResponse {
    app.sales.clone().list_sales(request).await.expect("ListSales succeeds").into_inner()
}

async fn list_filtered(app: &TestApp, filter: SalesFilter) -> ListSalesResponse {
    list(app, ListSalesRequest { filter: Some(filter), page_size: 100, ..Default::default() }).await
}

async fn detail(app: &TestApp, sale_id: &str) -> Sale {
    let request = GetSaleRequest { lookup: Some(Lookup::SaleId(sale_id.into())), fresh: false };
    app.sales.clone().get_sale(request).await.expect("GetSale succeeds").into_inner().sale.unwrap()
}

/// Asserts a filter matched something and that every row (checked through
/// GetSale for the first few) satisfies `holds`.
async fn assert_every_match(app: &TestApp, filter: SalesFilter, holds: impl Fn(&Sale) -> bool) -> usize {
    let page = list_filtered(app, filter.clone()).await;
    assert!(!page.sales.is_empty(), "filter {filter:?} matched nothing: the seed should cover it");
    for summary in page.sales.iter().take(8) {
        let sale = detail(app, &summary.sale_id).await;
        assert!(holds(&sale), "sale {} does not satisfy {filter:?}", summary.sale_id);
    }
    page.page_info.unwrap().total_entries as usize
}

fn line_items(sale: &Sale) -> impl Iterator<Item = &tco_gateway::grpc::proto::LineItem> {
    sale.invoices.iter().flat_map(|i| i.line_items.iter())
}

#[tokio::test]
async fn list_by_sale_id_and_by_invoice_id_find_the_documented_sale() {
    let app = spawn_app().await;
    for filter in [
        SalesFilter { sale_id: DOCUMENTED_SALE_ID.into(), ..Default::default() },
        SalesFilter { invoice_id: DOCUMENTED_INVOICE_IDS[1].into(), ..Default::default() },
    ] {
        let page = list_filtered(&app, filter).await;
        assert_eq!(page.sales.len(), 1);
        let row = &page.sales[0];
        assert_eq!(row.sale_id, DOCUMENTED_SALE_ID);
        assert_eq!(row.customer_name, "Testing  Tester");
        assert_eq!(row.date_placed, "2012-02-29");
        assert!(row.recurring);
        assert_eq!(row.usd_total, "3.06", "the sum of the two invoices");
    }
}

#[tokio::test]
async fn text_filters_match_as_the_vendor_documents() {
    let app = spawn_app().await;
    let name = list_filtered(&app, SalesFilter { customer_name: "TESTING".into(), ..Default::default() }).await;
    assert!(!name.sales.is_empty());
    assert!(
        name.sales.iter().all(|s| s.customer_name.to_lowercase().contains("testing")),
        "case-insensitive substring"
    );

    let email = |s: &Sale| s.customer.as_ref().unwrap().email_address.to_lowercase();
    assert_every_match(&app, SalesFilter { customer_email: "FAKE-COMPANY".into(), ..Default::default() }, |s| {
        email(s).contains("fake-company")
    })
    .await;
    assert_every_match(&app, SalesFilter { customer_phone: "1234".into(), ..Default::default() }, |s| {
        s.customer.as_ref().unwrap().phone.starts_with("1234")
    })
    .await;
    assert_every_match(&app, SalesFilter { vendor_product_id: "1178".into(), ..Default::default() }, |s| {
        line_items(s).any(|l| l.vendor_product_id.contains("1178"))
    })
    .await;
}

#[tokio::test]
async fn card_filters_match_first_six_and_last_two_digits() {
    let app = spawn_app().await;
    let pay = |s: &Sale| s.customer.as_ref().unwrap().pay_method.clone().unwrap();
    let first6 = assert_every_match(&app, SalesFilter { ccard_first6: "411111".into(), ..Default::default() }, |s| {
        pay(s).first_six_digits == "411111"
    })
    .await;
    let both = assert_every_match(
        &app,
        SalesFilter { ccard_first6: "411111".into(), ccard_last2: "11".into(), ..Default::default() },
        |s| pay(s).first_six_digits == "411111" && pay(s).last_two_digits == "11",
    )
    .await;
    assert!(both <= first6, "filters combine with AND");
}

#[tokio::test]
async fn date_range_is_inclusive_on_both_ends() {
    let app = spawn_app().await;
    let all = list_filtered(
        &app,
        SalesFilter { sale_date_begin: "2012-02-29".into(), sale_date_end: "2012-02-29".into(), ..Default::default() },
    )
    .await;
    assert!(all.sales.iter().any(|s| s.sale_id == DOCUMENTED_SALE_ID));
    assert!(all.sales.iter().all(|s| s.date_placed == "2012-02-29"));

    let range = list_filtered(
        &app,
        SalesFilter { sale_date_begin: "2015-01-01".into(), sale_date_end: "2018-12-31".into(), ..Default::default() },
    )
    .await;
    assert!(!range.sales.is_empty());
    assert!(range.sales.iter().all(|s| ("2015-01-01"..="2018-12-31").contains(&s.date_placed.as_str())));
}

#[tokio::test]
async fn recurring_and_refund_flags_filter_by_billing_state() {
    let app = spawn_app().await;
    let declined = list_filtered(&app, SalesFilter { declined_recurrings: true, ..Default::default() }).await;
    assert!(!declined.sales.is_empty());
    assert!(declined.sales.iter().all(|s| !s.recurring_declined.is_empty()));

    assert_every_match(&app, SalesFilter { active_recurrings: true, ..Default::default() }, |s| {
        line_items(s).any(|l| l.billing.as_ref().is_some_and(|b| b.recurring_status() == RecurringStatus::Active))
    })
    .await;
    assert_every_match(&app, SalesFilter { refunded: true, ..Default::default() }, |s| {
        line_items(s).any(|l| l.status() == BillingStatus::Refund)
    })
    .await;
}

#[tokio::test]
async fn a_listing_with_no_match_is_an_empty_page_not_an_error() {
    let app = spawn_app().await;
    let page =
        list_filtered(&app, SalesFilter { customer_name: "no such buyer anywhere".into(), ..Default::default() }).await;
    assert!(page.sales.is_empty());
    let info = page.page_info.unwrap();
    assert_eq!((info.total_entries, info.last_page, info.has_next_page), (0, 0, false));
    assert_eq!(app.simulator.request_count(Endpoint::ListSales), 1, "the upstream was asked and said RECORD_NOT_FOUND");
}

fn sort_key(column: SortColumn, row: &SaleSummary) -> (String, i64) {
    match column {
        SortColumn::SaleId => (String::new(), row.sale_id.parse().unwrap()),
        SortColumn::UsdTotal => (String::new(), row.usd_total.parse::<Amount>().unwrap().minor_units()),
        SortColumn::DatePlaced => (row.date_placed.clone(), 0),
        SortColumn::CustomerName => (row.customer_name.to_lowercase(), 0),
        SortColumn::Recurring => (String::new(), i64::from(row.recurring)),
        SortColumn::RecurringDeclined => (row.recurring_declined.clone(), 0),
        SortColumn::Unspecified => unreachable!(),
    }
}

#[tokio::test]
async fn every_sort_column_orders_rows_in_both_directions() {
    let app = spawn_app().await;
    for column in [
        SortColumn::SaleId,
        SortColumn::DatePlaced,
        SortColumn::CustomerName,
        SortColumn::Recurring,
        SortColumn::RecurringDeclined,
        SortColumn::UsdTotal,
    ] {
        for direction in [SortDirection::Ascending, SortDirection::Descending] {
            let rows = list(
                &app,
                ListSalesRequest {
                    page_size: 100,
                    sort_column: column.into(),
                    sort_direction: direction.into(),
                    ..Default::default()
                },
            )
            .await
            .sales;
            let keys: Vec<_> = rows.iter().map(|r| sort_key(column, r)).collect();
            let mut sorted = keys.clone();
            sorted.sort();
            if direction == SortDirection::Descending {
                sorted.reverse();
            }
            assert_eq!(keys, sorted, "{column:?} {direction:?}");
        }
    }
}

#[tokio::test]
async fn pages_partition_the_listing_and_page_info_adds_up() {
    let app = spawn_app().await;
    let first = list(&app, ListSalesRequest { page_size: 7, ..Default::default() }).await;
    let info = first.page_info.unwrap();
    let total = info.total_entries;
    assert!(total > 200, "the seed has a few hundred sales, got {total}");
    assert_eq!(info.page, 1);
    assert_eq!(info.page_size, 7);
    assert_eq!(info.last_page, (total + 6) / 7);
    assert_eq!((info.first_entry, info.last_entry), (1, 7));
    assert!(info.has_next_page);

    let second = list(&app, ListSalesRequest { page: 2, page_size: 7, ..Default::default() }).await;
    let second_info = second.page_info.unwrap();
    assert_eq!((second_info.first_entry, second_info.last_entry), (8, 14));
    let ids: HashSet<_> = first.sales.iter().chain(&second.sales).map(|s| s.sale_id.clone()).collect();
    assert_eq!(ids.len(), 14, "consecutive pages do not overlap");

    let last = list(&app, ListSalesRequest { page: info.last_page as i32, page_size: 7, ..Default::default() }).await;
    let last_info = last.page_info.unwrap();
    assert!(!last_info.has_next_page);
    assert_eq!(last_info.last_entry, total);
    assert_eq!(last.sales.len() as i32, total - 7 * (info.last_page - 1));

    let beyond =
        list(&app, ListSalesRequest { page: info.last_page as i32 + 1, page_size: 7, ..Default::default() }).await;
    assert!(beyond.sales.is_empty(), "a page past the end is empty");
}

#[tokio::test]
async fn the_default_page_is_twenty_rows() {
    let app = spawn_app().await;
    let page = list(&app, ListSalesRequest::default()).await;
    assert_eq!(page.sales.len(), 20);
    assert_eq!(page.page_info.unwrap().page_size, 20);
}

#[tokio::test]
async fn streaming_walks_every_page_in_order() {
    let app = spawn_app().await;
    let filter =
        SalesFilter { sale_date_begin: "2012-01-01".into(), sale_date_end: "2016-12-31".into(), ..Default::default() };
    let request = StreamSalesRequest {
        filter: Some(filter.clone()),
        page_size: 9,
        sort_column: SortColumn::SaleId.into(),
        sort_direction: SortDirection::Ascending.into(),
    };
    let streamed: Vec<SaleSummary> = app
        .sales
        .clone()
        .stream_sales(request)
        .await
        .unwrap()
        .into_inner()
        .map(|r| r.unwrap().sale.unwrap())
        .collect()
        .await;
    let calls_for_stream = app.simulator.request_count(Endpoint::ListSales);

    let mut paged = Vec::new();
    for page in 1.. {
        let response = list(
            &app,
            ListSalesRequest {
                filter: Some(filter.clone()),
                page,
                page_size: 9,
                sort_column: SortColumn::SaleId.into(),
                sort_direction: SortDirection::Ascending.into(),
            },
        )
        .await;
        let has_next = response.page_info.unwrap().has_next_page;
        paged.extend(response.sales);
        if !has_next {
            break;
        }
    }
    assert!(streamed.len() > 9, "the walk spans several pages");
    assert_eq!(streamed, paged);
    assert_eq!(calls_for_stream as usize, streamed.len().div_ceil(9), "one upstream call per page");
}

/// A simulator large enough that a walk is many pages and many times what
/// HTTP/2 flow-control windows and the gateway's buffers hold.
async fn spawn_big_app() -> TestApp {
    let simulator = spawn_simulator_with(SimulatorConfig { generated_sales: 3000, ..Default::default() }).await;
    spawn_gateway(&simulator, &[]).await
}

const BIG_WALK_PAGES: u64 = 31; // 3001 sales in pages of 100

#[tokio::test]
async fn a_stream_fetches_pages_only_as_fast_as_the_caller_reads() {
    let app = spawn_big_app().await;
    let list_calls = || app.simulator.request_count(Endpoint::ListSales);
    // A small window makes the transport push back as soon as the client stops reading.
    let mut sales = SalesServiceClient::new(connect_with_window(app.addr, Some(4096)).await);
    let mut stream = sales.stream_sales(StreamSalesRequest::default()).await.unwrap().into_inner();
    stream.next().await.unwrap().unwrap();

    // The walk runs ahead of the reader by what the buffers hold (over a page)…
    eventually("the walk to fetch ahead of the reader", || list_calls() >= 2).await;
    // …and no further, however long the reader pauses. (What did not happen can
    // only be watched for a while; a slow machine makes this weaker, never red.)
    let paused = std::time::Instant::now();
    while paused.elapsed() < Duration::from_secs(2) {
        let while_paused = list_calls();
        assert!(while_paused < BIG_WALK_PAGES / 2, "a paused reader let the gateway fetch {while_paused} pages");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let mut rows = 1;
    while let Some(row) = stream.next().await {
        row.unwrap();
        rows += 1;
    }
    assert_eq!(rows, 3001, "reading again resumes the walk to the end");
    assert_eq!(list_calls(), BIG_WALK_PAGES);
}

#[tokio::test]
async fn cancelling_a_stream_stops_upstream_paging() {
    let app = spawn_big_app().await;
    let idle = idle_holders(&app).await;
    let mut sales = SalesServiceClient::new(connect_with_window(app.addr, Some(4096)).await);
    let mut stream = sales.stream_sales(StreamSalesRequest::default()).await.unwrap().into_inner();
    for _ in 0..3 {
        stream.next().await.unwrap().unwrap();
    }
    let before_cancel = app.simulator.request_count(Endpoint::ListSales);
    drop(stream);
    until_the_walk_ends(&app, idle).await;
    let after_cancel = app.simulator.request_count(Endpoint::ListSales) - before_cancel;
    assert!(
        after_cancel <= 1,
        "{after_cancel} pages were fetched after the caller left (one may have been on its way)"
    );
}

#[tokio::test]
async fn cancelling_a_stream_abandons_the_page_request_in_flight() {
    let simulator = spawn_simulator().await;
    // The page never comes and no request timeout cuts it: only the caller leaving ends this walk.
    let app = spawn_gateway(&simulator, &[("admin_api.request_timeout", "600s")]).await;
    let idle = idle_holders(&app).await;
    simulator.inject_fault(Endpoint::ListSales, Fault::delay(NEVER));
    let stream = app.sales.clone().stream_sales(StreamSalesRequest::default()).await.unwrap().into_inner();
    eventually("the first page to be requested", || simulator.request_count(Endpoint::ListSales) == 1).await;
    assert!(Arc::strong_count(&app.ports) > idle, "the walk is running");

    drop(stream);
    until_the_walk_ends(&app, idle).await;
    assert_eq!(simulator.request_count(Endpoint::ListSales), 1);
}
