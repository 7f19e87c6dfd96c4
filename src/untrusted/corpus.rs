//! The fuzz targets' committed seed corpora (`fuzz/corpus/<target>/`): every seed replays
//! through its oracle here, and `write_seed_corpora` (ignored; run it by name) writes them
//! afresh from the simulator's real answers and sample requests.

use std::path::{Path, PathBuf};

use prost::Message;
use serde_json::{Value, json};
use tco_simulator::{RunningSimulator, SimulatorConfig};

use super::{AdminAnswer, JSON, RequestKind, STATUSES, XML, admin_selector, check_admin, check_payment, check_request};
use crate::grpc::proto;

const TARGETS: [&str; 4] = ["admin_json", "admin_xml", "payment_json", "requests"];

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target)
}

/// The body of a committed seed (its selector byte left out).
pub(super) fn seed(target: &str, name: &str) -> Vec<u8> {
    let path = corpus_dir(target).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))[1..].to_vec()
}

fn oracle(target: &str, input: &[u8]) -> Result<(), String> {
    match target {
        "admin_json" => check_admin(JSON, input),
        "admin_xml" => check_admin(XML, input),
        "payment_json" => check_payment(input),
        "requests" => check_request(input),
        other => Err(format!("no fuzz target {other}")),
    }
}

#[test]
fn every_committed_seed_keeps_the_rules_of_its_fuzz_target() {
    for target in TARGETS {
        let mut seeds = 0;
        for entry in std::fs::read_dir(corpus_dir(target)).unwrap() {
            let path = entry.unwrap().path();
            let input = std::fs::read(&path).unwrap();
            if let Err(broken) = oracle(target, &input) {
                panic!("{}: {broken}", path.display());
            }
            seeds += 1;
        }
        assert!(seeds >= 4, "{target} has {seeds} seeds");
    }
}

/// The seeds of the request target convert as their names say: the valid samples to
/// domain values (so the fuzzer starts from the deep end of every conversion).
#[test]
fn the_valid_sample_requests_convert() {
    for (name, input) in sample_requests() {
        let kind = RequestKind::ALL[usize::from(input[0])];
        let outcome = super::convert_request(kind, &input[1..]).unwrap();
        assert_eq!(outcome.is_ok(), name.starts_with("valid"), "{name}: {outcome:?}");
    }
}

fn status_index(status: u16) -> usize {
    STATUSES.iter().position(|s| *s == status).unwrap_or_else(|| panic!("HTTP {status} is not in STATUSES"))
}

fn write_seed(target: &str, name: &str, input: &[u8]) {
    oracle(target, input).unwrap_or_else(|broken| panic!("{target}/{name}: {broken}"));
    std::fs::write(corpus_dir(target).join(name), input).unwrap();
}

/// One Admin API exchange, JSON and XML, saved as a seed of both targets.
async fn save_admin(
    http: &reqwest::Client,
    base: &str,
    answer: AdminAnswer,
    name: &str,
    request: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
) {
    for (target, accept) in [("admin_json", "application/json"), ("admin_xml", "application/xml")] {
        let response = request(http, base).header("accept", accept).send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap();
        assert!(body.len() < 64 * 1024, "{name}: {} bytes", body.len());
        let mut input = vec![admin_selector(answer, status_index(status), false)];
        input.extend_from_slice(&body);
        write_seed(target, &format!("{name}_{status}"), &input);
        if name.starts_with("detail_sale_documented") || name.starts_with("write_ok") {
            // The same answer without a content type: the body is sniffed.
            input[0] = admin_selector(answer, status_index(status), true);
            write_seed(target, &format!("{name}_{status}_sniffed"), &input);
        }
    }
}

/// Writes every seed corpus afresh: `cargo test --lib write_seed_corpora -- --ignored`.
#[tokio::test]
#[ignore = "writes fuzz/corpus; run by name when the simulator or the contract changes"]
async fn write_seed_corpora() {
    for target in TARGETS {
        let dir = corpus_dir(target);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
    }
    let sim = RunningSimulator::start(SimulatorConfig::default()).await.unwrap();
    let base = sim.admin_api_base_url();
    let http = reqwest::Client::new();
    let auth = |r: reqwest::RequestBuilder| r.basic_auth("sim-api-user", Some("sim-api-pass"));
    let get =
        move |path: &'static str| move |http: &reqwest::Client, base: &str| auth(http.get(format!("{base}{path}")));
    let post = move |path: &'static str, form: &'static [(&'static str, &'static str)]| {
        move |http: &reqwest::Client, base: &str| auth(http.post(format!("{base}{path}")).form(form))
    };
    use AdminAnswer::{DetailSale, ListSales, Write};
    let documented = "sales/detail_sale?sale_id=4647892238";
    save_admin(&http, &base, DetailSale, "detail_sale_documented", get(documented)).await;
    save_admin(&http, &base, DetailSale, "detail_sale_recurring", get("sales/detail_sale?sale_id=9100001000")).await;
    save_admin(&http, &base, DetailSale, "detail_sale_declined", get("sales/detail_sale?sale_id=9100003000")).await;
    save_admin(&http, &base, DetailSale, "detail_sale_tangible", get("sales/detail_sale?sale_id=9100002000")).await;
    save_admin(&http, &base, DetailSale, "detail_sale_unknown", get("sales/detail_sale?sale_id=1")).await;
    save_admin(&http, &base, DetailSale, "detail_sale_bad_id", get("sales/detail_sale?sale_id=x")).await;
    save_admin(&http, &base, DetailSale, "detail_sale_credentials", |http: &reqwest::Client, base: &str| {
        http.get(format!("{base}{documented}")).basic_auth("sim-api-user", Some("wrong"))
    })
    .await;
    save_admin(&http, &base, ListSales, "list_sales_page", get("sales/list_sales?pagesize=3")).await;
    save_admin(&http, &base, ListSales, "list_sales_one", get("sales/list_sales?pagesize=1&cur_page=2")).await;
    save_admin(&http, &base, ListSales, "list_sales_none", get("sales/list_sales?customer_name=Nobody%20Here")).await;
    const COMMENT: &[(&str, &str)] = &[("sale_id", "9100006000"), ("sale_comment", "Called the buyer.")];
    save_admin(&http, &base, Write, "write_ok_comment", post("sales/create_comment", COMMENT)).await;
    const TOO_HIGH: &[(&str, &str)] = &[
        ("invoice_id", "9100006009"),
        ("amount", "99999.00"),
        ("currency", "vendor"),
        ("comment", "Too much."),
        ("category", "5"),
    ];
    save_admin(&http, &base, Write, "write_refused_refund", post("sales/refund_invoice", TOO_HIGH)).await;
    const MISSING: &[(&str, &str)] = &[("sale_id", "9100006000")];
    save_admin(&http, &base, Write, "write_refused_missing", post("sales/mark_shipped", MISSING)).await;

    let payment = format!("{}{}/rs/", sim.payment_api_base_url(), tco_simulator::DEFAULT_SELLER_ID);
    let token = |card: &'static str| {
        let (http, payment) = (http.clone(), payment.clone());
        async move {
            let card = json!({
                "sellerId": tco_simulator::DEFAULT_SELLER_ID, "publishableKey": tco_simulator::DEFAULT_PUBLISHABLE_KEY,
                "ccNo": card, "expMonth": "12", "expYear": "2030", "cvv": "123",
            });
            let answer: Value =
                http.post(format!("{payment}tokenService")).json(&card).send().await.unwrap().json().await.unwrap();
            answer["response"]["token"]["token"].as_str().unwrap().to_owned()
        }
    };
    let billing = json!({
        "name": "Testing Tester", "addrLine1": "123 Test St", "city": "Columbus", "state": "Ohio",
        "zipCode": "43123", "country": "USA", "email": "example@2co.com", "phoneNumber": "5555555555",
    });
    let lines = json!([
        { "type": "product", "name": "Demo Item 1", "quantity": "2", "price": "6.99", "tangible": "N",
          "productId": "123", "recurrence": "1 Month", "duration": "1 Year" },
        { "type": "product", "name": "Demo Item 2", "price": "1.99",
          "options": [{ "optName": "Size", "optValue": "Large", "optSurcharge": "1.00" }] },
        { "type": "shipping", "name": "Shipping Fee", "price": "3.00" }
    ]);
    let shipping = json!({ "name": "Testing Tester", "addrLine1": "123 Test St", "city": "Columbus",
        "state": "OH", "zipCode": "43123", "country": "USA" });
    for (name, card, private_key, amount) in [
        (
            "approved_total",
            tco_simulator::APPROVING_CARD,
            tco_simulator::DEFAULT_PRIVATE_KEY,
            json!({"total": "10.00"}),
        ),
        (
            "approved_lines",
            tco_simulator::APPROVING_CARD,
            tco_simulator::DEFAULT_PRIVATE_KEY,
            json!({"lineItems": lines, "shippingAddr": shipping}),
        ),
        ("declined", tco_simulator::DECLINING_CARD, tco_simulator::DEFAULT_PRIVATE_KEY, json!({"total": "10.00"})),
        ("wrong_key", tco_simulator::APPROVING_CARD, "not-the-key", json!({"total": "10.00"})),
    ] {
        let mut order = json!({
            "sellerId": tco_simulator::DEFAULT_SELLER_ID, "privateKey": private_key, "merchantOrderId": "123",
            "token": token(card).await, "currency": "USD", "billingAddr": billing,
        });
        for (key, value) in amount.as_object().unwrap() {
            order[key] = value.clone();
        }
        let response = http.post(format!("{payment}authService")).json(&order).send().await.unwrap();
        let status = response.status().as_u16();
        let mut input = vec![status_index(status) as u8];
        input.extend_from_slice(&response.bytes().await.unwrap());
        write_seed("payment_json", &format!("{name}_{status}"), &input);
    }
    sim.shutdown().await;

    for (name, input) in sample_requests() {
        write_seed("requests", &name, &input);
    }
}

/// Encoded sample requests of every kind, named `valid_*` or `invalid_*`.
fn sample_requests() -> Vec<(String, Vec<u8>)> {
    let request_id = "6f1c1d3e-58a4-4b7e-9a55-0d6c4b1f7a10".to_owned();
    let filter = proto::SalesFilter {
        sale_id: "9100006000".into(),
        customer_name: "Rosa Nakamura".into(),
        customer_email: "rosa@example.com".into(),
        customer_phone: "+1 (555) 010-2000".into(),
        ccard_first6: "400000".into(),
        ccard_last2: "02".into(),
        sale_date_begin: "2024-01-01".into(),
        sale_date_end: "2024-12-31".into(),
        refunded: true,
        ..Default::default()
    };
    let billing = proto::BillingAddress {
        name: "Testing Tester".into(),
        address_line_1: "123 Test St".into(),
        city: "Columbus".into(),
        state: "Ohio".into(),
        zip_code: "43123".into(),
        country: "USA".into(),
        email: "example@2co.com".into(),
        phone_number: "5555555555".into(),
        ..Default::default()
    };
    let lines = proto::OrderLineItems {
        items: vec![
            proto::OrderLineItem {
                name: "Demo Item 1".into(),
                quantity: Some(2),
                price: "6.99".into(),
                tangible: Some(false),
                product_id: "123".into(),
                recurrence: "1 Month".into(),
                duration: "1 Year".into(),
                startup_fee: "-1.00".into(),
                ..Default::default()
            },
            proto::OrderLineItem {
                name: "Demo Item 2".into(),
                price: "1.99".into(),
                options: vec![proto::OrderLineOption {
                    name: "Size".into(),
                    value: "Large".into(),
                    surcharge: "1.00".into(),
                }],
                ..Default::default()
            },
            proto::OrderLineItem {
                r#type: proto::OrderLineType::Shipping as i32,
                name: "Shipping Fee".into(),
                price: "3.00".into(),
                ..Default::default()
            },
        ],
    };
    let shipping = proto::ShippingAddress {
        name: "Testing Tester".into(),
        address_line_1: "123 Test St".into(),
        city: "Columbus".into(),
        state: "OH".into(),
        zip_code: "43123".into(),
        country: "USA".into(),
        ..Default::default()
    };
    let refund = proto::RefundInvoiceRequest {
        request_id: request_id.clone(),
        invoice_id: "9100006009".into(),
        amount: "1.50".into(),
        currency: proto::RefundCurrency::Vendor as i32,
        comment: "Partial refund.".into(),
        category: 5,
        ..Default::default()
    };
    let authorize = proto::AuthorizeRequest {
        request_id: request_id.clone(),
        merchant_order_id: "123".into(),
        token: "MjFiYzIzYjAtYjE4YS00ZmI0LTg4YzYtNDIzMTBlMjc0MDlk".into(),
        currency: proto::Currency::Usd as i32,
        amount: Some(proto::authorize_request::Amount::LineItems(lines)),
        billing_address: Some(billing.clone()),
        shipping_address: Some(shipping),
        demo: true,
    };
    use RequestKind as K;
    use proto::get_sale_request::Lookup;
    let samples: Vec<(&str, K, Vec<u8>)> = vec![
        (
            "valid_get_sale",
            K::GetSale,
            proto::GetSaleRequest { lookup: Some(Lookup::SaleId("4647892238".into())), fresh: true }.encode_to_vec(),
        ),
        (
            "invalid_get_sale_id",
            K::GetSale,
            proto::GetSaleRequest { lookup: Some(Lookup::InvoiceId("12a".into())), fresh: false }.encode_to_vec(),
        ),
        (
            "valid_list_sales",
            K::ListSales,
            proto::ListSalesRequest {
                filter: Some(filter.clone()),
                page: 2,
                page_size: 50,
                sort_column: proto::SortColumn::UsdTotal as i32,
                sort_direction: proto::SortDirection::Descending as i32,
            }
            .encode_to_vec(),
        ),
        (
            "invalid_list_sales_dates",
            K::ListSales,
            proto::ListSalesRequest {
                filter: Some(proto::SalesFilter {
                    sale_date_begin: "2024-12-31".into(),
                    sale_date_end: "2024-01-01".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "valid_stream_sales",
            K::StreamSales,
            proto::StreamSalesRequest {
                filter: Some(filter),
                page_size: 100,
                sort_column: proto::SortColumn::DatePlaced as i32,
                sort_direction: proto::SortDirection::Ascending as i32,
            }
            .encode_to_vec(),
        ),
        ("valid_refund_invoice", K::RefundInvoice, refund.encode_to_vec()),
        (
            "invalid_refund_invoice_comment",
            K::RefundInvoice,
            proto::RefundInvoiceRequest { comment: "<b>".into(), ..refund.clone() }.encode_to_vec(),
        ),
        (
            "valid_refund_line_item",
            K::RefundLineItem,
            proto::RefundLineItemRequest {
                request_id: request_id.clone(),
                sale_id: "9100006000".into(),
                line_item_id: "9100006012".into(),
                comment: "Returned.".into(),
                category: 2,
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "valid_reauthorize",
            K::Reauthorize,
            proto::ReauthorizeRequest { request_id: request_id.clone(), sale_id: "9100007000".into() }.encode_to_vec(),
        ),
        (
            "valid_stop_line_item_recurring",
            K::StopLineItemRecurring,
            proto::StopLineItemRecurringRequest {
                request_id: request_id.clone(),
                sale_id: "9100001000".into(),
                line_item_id: "9100001021".into(),
            }
            .encode_to_vec(),
        ),
        (
            "valid_mark_shipped",
            K::MarkShipped,
            proto::MarkShippedRequest {
                request_id: request_id.clone(),
                sale_id: "9100002000".into(),
                tracking_number: "1Z999AA10123456784".into(),
                notify_customer: true,
                comment: "Shipped by ground.".into(),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "valid_create_comment",
            K::CreateComment,
            proto::CreateCommentRequest {
                request_id: request_id.clone(),
                sale_id: "9100006000".into(),
                comment: "Called the buyer.\nAgreed on a refund.".into(),
                notify_vendor: true,
                notify_customer: false,
            }
            .encode_to_vec(),
        ),
        ("valid_authorize_lines", K::Authorize, authorize.encode_to_vec()),
        (
            "valid_authorize_total",
            K::Authorize,
            proto::AuthorizeRequest {
                amount: Some(proto::authorize_request::Amount::Total("10.00".into())),
                shipping_address: None,
                ..authorize.clone()
            }
            .encode_to_vec(),
        ),
        (
            "invalid_authorize_no_billing",
            K::Authorize,
            proto::AuthorizeRequest { billing_address: None, ..authorize }.encode_to_vec(),
        ),
    ];
    samples
        .into_iter()
        .map(|(name, kind, encoded)| {
            let mut input = vec![kind.selector()];
            input.extend(encoded);
            (name.to_owned(), input)
        })
        .collect()
}
