//! Every row of the error table, through the real gateway and simulator, and
//! upstream bodies the gateway must survive.

use tco_gateway::grpc::{
    proto::{GetSaleRequest, ListSalesRequest, SalesFilter, get_sale_request::Lookup},
    status::{ERROR_DOMAIN, markdown_table},
};
use tco_simulator::{DOCUMENTED_SALE_ID, Endpoint, FOREIGN_SALE_ID, Fault};
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::{
    GENEROUS_DEADLINE, NEVER, bad_request_field, expect_error, refusing_addr, spawn_app, spawn_gateway,
    spawn_simulator, with_deadline,
};

fn by_sale(id: &str) -> GetSaleRequest {
    GetSaleRequest { lookup: Some(Lookup::SaleId(id.into())), fresh: false }
}

fn documented() -> GetSaleRequest {
    by_sale(DOCUMENTED_SALE_ID)
}

#[tokio::test]
async fn an_unknown_sale_is_not_found_with_the_vendor_code_visible() {
    let app = spawn_app().await;
    let status = app.sales.clone().get_sale(by_sale("1234567890")).await.unwrap_err();
    let details = expect_error(&status, Code::NotFound, "RECORD_NOT_FOUND");
    assert_eq!(status.message(), "Unable to find record.");
    let info = details.error_info().unwrap();
    assert_eq!(info.metadata["vendorCode"], "RECORD_NOT_FOUND");
    assert_eq!(info.metadata["httpStatus"], "400");
}

#[tokio::test]
async fn another_accounts_sale_is_permission_denied() {
    let app = spawn_app().await;
    let status = app.sales.clone().get_sale(by_sale(FOREIGN_SALE_ID)).await.unwrap_err();
    expect_error(&status, Code::PermissionDenied, "FORBIDDEN");
    assert_eq!(status.message(), "Access denied to sale.");
}

#[tokio::test]
async fn invalid_requests_are_refused_at_the_edge_without_an_upstream_call() {
    let app = spawn_app().await;
    let mut sales = app.sales.clone();
    let cases: Vec<(tonic::Status, &str)> = vec![
        (sales.get_sale(GetSaleRequest { lookup: None, fresh: false }).await.unwrap_err(), "lookup"),
        (sales.get_sale(by_sale("46478x2238")).await.unwrap_err(), "sale_id"),
        (
            sales
                .get_sale(GetSaleRequest { lookup: Some(Lookup::InvoiceId(String::new())), fresh: false })
                .await
                .unwrap_err(),
            "invoice_id",
        ),
        (sales.list_sales(ListSalesRequest { page_size: 101, ..Default::default() }).await.unwrap_err(), "page_size"),
        (sales.list_sales(ListSalesRequest { page: -1, ..Default::default() }).await.unwrap_err(), "page"),
        (
            sales
                .list_sales(ListSalesRequest {
                    filter: Some(SalesFilter { customer_name: "ab".into(), ..Default::default() }),
                    ..Default::default()
                })
                .await
                .unwrap_err(),
            "filter.customer_name",
        ),
        (
            sales
                .list_sales(ListSalesRequest {
                    filter: Some(SalesFilter { sale_date_begin: "2024-13-01".into(), ..Default::default() }),
                    ..Default::default()
                })
                .await
                .unwrap_err(),
            "filter.sale_date_begin",
        ),
        (
            sales.list_sales(ListSalesRequest { sort_column: 77, ..Default::default() }).await.unwrap_err(),
            "sort_column",
        ),
    ];
    for (status, field) in cases {
        let details = expect_error(&status, Code::InvalidArgument, "INVALID_FIELD");
        assert_eq!(bad_request_field(&details), field);
    }
    assert_eq!(app.simulator.request_count(Endpoint::DetailSale), 0);
    assert_eq!(app.simulator.request_count(Endpoint::ListSales), 0);
}

#[tokio::test]
async fn vendor_parameter_errors_are_invalid_argument_naming_the_request_field() {
    let app = spawn_app().await;
    app.simulator.inject_fault(
        Endpoint::DetailSale,
        Fault::respond(
            400,
            "application/json",
            r#"{"errors":[{"code":"PARAMETER_MISSING","message":"Required parameter missing: sale_or_invoice_id","parameter":"sale_or_invoice_id"}]}"#,
        ),
    );
    let status = app.sales.clone().get_sale(documented()).await.unwrap_err();
    let details = expect_error(&status, Code::InvalidArgument, "PARAMETER_MISSING");
    assert_eq!(bad_request_field(&details), "lookup");
    assert_eq!(details.error_info().unwrap().metadata["parameter"], "sale_or_invoice_id");

    app.simulator.inject_fault(
        Endpoint::ListSales,
        Fault::respond(
            400,
            "application/xml",
            "<response><errors><code>PARAMETER_INVALID</code><message>Invalid value for parameter: pagesize</message><parameter>pagesize</parameter></errors></response>",
        ),
    );
    let status = app.sales.clone().list_sales(ListSalesRequest::default()).await.unwrap_err();
    let details = expect_error(&status, Code::InvalidArgument, "PARAMETER_INVALID");
    assert_eq!(bad_request_field(&details), "page_size");
    assert_eq!(status.message(), "Invalid value for parameter: pagesize");
}

#[tokio::test]
async fn an_errors_element_in_a_200_answer_is_still_an_error() {
    let app = spawn_app().await;
    app.simulator.inject_fault(
        Endpoint::DetailSale,
        Fault::respond(
            200,
            "application/json",
            r#"{"errors":[{"code":"FORBIDDEN","message":"Access denied to sale."}]}"#,
        ),
    );
    let status = app.sales.clone().get_sale(documented()).await.unwrap_err();
    let details = expect_error(&status, Code::PermissionDenied, "FORBIDDEN");
    assert_eq!(details.error_info().unwrap().metadata["httpStatus"], "200");
}

#[tokio::test]
async fn an_unknown_vendor_code_is_unknown_and_keeps_the_code() {
    let app = spawn_app().await;
    app.simulator.inject_fault(
        Endpoint::DetailSale,
        Fault::respond(400, "application/json", r#"{"errors":[{"code":"BRAND_NEW_CODE","message":"Something new."}]}"#),
    );
    let status = app.sales.clone().get_sale(documented()).await.unwrap_err();
    expect_error(&status, Code::Unknown, "BRAND_NEW_CODE");
}

#[tokio::test]
async fn rejected_gateway_credentials_are_internal_never_unauthenticated() {
    let simulator = spawn_simulator().await;
    let app = spawn_gateway(&simulator, &[("admin_api.password", "not-the-password")]).await;
    let status = app.sales.clone().get_sale(documented()).await.unwrap_err();
    let details = expect_error(&status, Code::Internal, "UPSTREAM_CREDENTIALS_REJECTED");
    assert_eq!(details.error_info().unwrap().metadata["httpStatus"], "401");
    assert!(!status.message().contains("not-the-password"));
    assert_eq!(simulator.request_count(Endpoint::DetailSale), 1, "credentials go up front: one request, no retry");
}

#[tokio::test]
async fn upstream_server_errors_are_unavailable_with_a_retry_delay() {
    let app = spawn_app().await;
    app.simulator
        .inject_fault(Endpoint::DetailSale, Fault::respond(503, "text/html", "<h1>Service Unavailable</h1>").times(1));
    let status = app.sales.clone().get_sale(documented()).await.unwrap_err();
    let details = expect_error(&status, Code::Unavailable, "UPSTREAM_UNAVAILABLE");
    assert!(details.retry_info().and_then(|r| r.retry_delay).is_some());
    assert!(!status.message().contains("Service Unavailable"), "the body stays out of the status");
    app.sales.clone().get_sale(documented()).await.expect("the fault was for one request only");
}

#[tokio::test]
async fn an_unreachable_upstream_is_unavailable() {
    let simulator = spawn_simulator().await;
    // Held but not listening: connections are refused.
    let (_held, closed) = refusing_addr();
    let app = spawn_gateway(&simulator, &[("admin_api.base_url", &format!("http://{closed}/api/"))]).await;
    let status = app.sales.clone().get_sale(documented()).await.unwrap_err();
    expect_error(&status, Code::Unavailable, "UPSTREAM_UNAVAILABLE");
}

#[tokio::test]
async fn a_slow_upstream_is_deadline_exceeded_within_the_callers_deadline() {
    let app = spawn_app().await;
    app.simulator.inject_fault(Endpoint::DetailSale, Fault::delay(NEVER));
    let status = app.sales.clone().get_sale(with_deadline(documented(), GENEROUS_DEADLINE)).await.unwrap_err();
    // The gateway's own status, with its details, not the caller's timer firing
    // (CANCELLED): it cut the upstream request inside the caller's deadline.
    expect_error(&status, Code::DeadlineExceeded, "UPSTREAM_TIMEOUT");
}

#[tokio::test]
async fn the_configured_request_timeout_bounds_callers_without_a_deadline() {
    let simulator = spawn_simulator().await;
    let app = spawn_gateway(&simulator, &[("admin_api.request_timeout", "300ms")]).await;
    simulator.inject_fault(Endpoint::DetailSale, Fault::delay(NEVER));
    let status = app.sales.clone().get_sale(documented()).await.unwrap_err();
    expect_error(&status, Code::DeadlineExceeded, "UPSTREAM_TIMEOUT");
}

#[tokio::test]
async fn undecodable_upstream_bodies_are_internal_and_stay_out_of_the_status() {
    let app = spawn_app().await;
    for (content_type, body) in [
        ("text/html", "<html><body><h1>Maintenance SECRET-PAGE</h1></body></html>"),
        (
            "application/json",
            r#"{"response_code":"OK","sale":{"sale_id":"4647892238","invoices":[{"invoice_id":"SECRET-PAGE"#,
        ),
        ("application/json", r#"{"response_code":"OK","sale":{"sale_id":{"SECRET-PAGE":1}}}"#),
        (
            "application/json",
            r#"{"response_code":"OK","sale":{"sale_id":"4647892238","invoices":[{"invoice_id":"1","usd_total":"SECRET-PAGE"}]}}"#,
        ),
        ("application/xml", "<response><sale><sale_id>SECRET-PAGE"),
        ("application/json", r#"{"response_code":"OK"}"#),
        ("", ""),
    ] {
        app.simulator.inject_fault(Endpoint::DetailSale, Fault::respond(200, content_type, body));
        let status = app.sales.clone().get_sale(documented()).await.unwrap_err();
        expect_error(&status, Code::Internal, "UPSTREAM_RESPONSE_INVALID");
        assert!(!status.message().contains("SECRET-PAGE"), "body leaked into {status:?}");
    }
}

#[tokio::test]
async fn loose_but_meaningful_bodies_decode() {
    let app = spawn_app().await;
    // null where a string was expected, numbers where strings were expected,
    // fields nobody has heard of: the vendor does all of these.
    let body = r#"{"response_code":"OK","response_message":"Sale detail retrieved","brand_new_field":{"x":[1,2]},
        "sale":{"sale_id":4647892238,"date_placed":null,"customer":null,"comments":null,"future":true,
        "invoices":[{"invoice_id":4647892247,"usd_total":1.5,"status":"teleported","recurring":1,"lineitems":{"lineitem_id":"1","billing":null,"type":"hologram"}}]}}"#;
    app.simulator.inject_fault(Endpoint::DetailSale, Fault::respond(200, "application/json", body));
    let sale = app.sales.clone().get_sale(documented()).await.expect("decodes").into_inner().sale.unwrap();
    assert_eq!(sale.sale_id, "4647892238");
    assert_eq!(sale.date_placed, "");
    let invoice = &sale.invoices[0];
    assert_eq!(invoice.usd_total, "1.50");
    assert_eq!(invoice.status, 0, "an unknown status falls back to UNSPECIFIED");
    assert_eq!(invoice.vendor_status, "teleported");
    assert!(invoice.recurring);
    assert_eq!(invoice.line_items.len(), 1, "a lone object where a list was expected is a one-element list");
    assert_eq!(invoice.line_items[0].vendor_type, "hologram");
}

#[tokio::test]
async fn the_readme_publishes_the_error_table_the_code_uses() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
    assert!(
        readme.contains(&markdown_table()),
        "README's error table differs from error::MAPPINGS:\n{}",
        markdown_table()
    );
    assert!(readme.contains(ERROR_DOMAIN));
}

#[tokio::test]
async fn errors_carry_exactly_one_error_info() {
    let app = spawn_app().await;
    let status = app.sales.clone().get_sale(by_sale("1")).await.unwrap_err();
    let details = status.get_error_details_vec();
    let infos = details.iter().filter(|d| matches!(d, tonic_types::ErrorDetail::ErrorInfo(_))).count();
    assert_eq!(infos, 1);
}
