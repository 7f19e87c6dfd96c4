//! The fuzz targets' committed seed corpora (`fuzz/corpus/<target>/`): every seed replays
//! through its oracle here, and `write_seed_corpora` (ignored; run it by name) writes them
//! afresh from the simulator's real answers and sample requests.

use std::path::{Path, PathBuf};

use prost::Message;
use serde_json::{Value, json};
use tco_simulator::{RunningSimulator, SimulatorConfig};

use super::{
    AdminAnswer, INS_SECRET_WORD, JSON, RequestKind, STATUSES, XML, admin_selector, check_admin, check_ins_post,
    check_payment, check_request, ins_post,
};
use crate::grpc::proto;

const TARGETS: [&str; 5] = ["admin_json", "admin_xml", "payment_json", "requests", "ins_post"];

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
        "ins_post" => check_ins_post(input),
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

/// An INS form's fields, in posted order.
pub(super) type Form = Vec<(String, String)>;

/// Realistic INS forms (INS-NOTES' samples, signed for the test account where their name
/// says `signed`), by seed name, and whether the receiver accepts each.
pub(super) fn ins_forms() -> Vec<(&'static str, Form, bool)> {
    let sign = |mut fields: Vec<(String, String)>| {
        let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
        let secret_word = secrecy::SecretString::from(INS_SECRET_WORD);
        let hash = crate::notifications::receiver::md5_hash(
            &get("sale_id"),
            &get("vendor_id"),
            &get("invoice_id"),
            &secret_word,
        );
        for (key, value) in &mut fields {
            if key == "md5_hash" {
                *value = hash.clone();
            }
        }
        fields
    };
    let with = |fields: &[(String, String)], changes: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut fields = fields.to_vec();
        for (key, value) in changes {
            match fields.iter_mut().find(|(k, _)| k == key) {
                Some(field) => field.1 = (*value).to_owned(),
                None => fields.push(((*key).to_owned(), (*value).to_owned())),
            }
        }
        fields
    };
    let fraud = crate::notifications::samples::fraud_status_changed();
    let signed_fraud = sign(fraud.clone());
    let order = sign(with(
        &fraud,
        &[
            ("message_type", "ORDER_CREATED"),
            ("message_description", "New order created"),
            ("message_id", "3785"),
            ("invoice_status", "approved"),
            ("fraud_status", "wait"),
            ("ship_status", "not_shipped"),
            ("timestamp", "2012-11-04 01:30:00"),
            ("recurring", "0"),
        ],
    ));
    let refund = sign(with(
        &fraud,
        &[
            ("message_type", "REFUND_ISSUED"),
            ("message_description", "Refund issued"),
            ("message_id", "3790"),
            ("item_type_2", "refund"),
            ("item_list_amount_2", "-0.10"),
            ("item_rec_status_1", "cancelled"),
            ("timestamp", "2013-03-10 02:30:00"),
        ],
    ));
    let installment = sign(with(
        &fraud,
        &[
            ("message_type", "RECURRING_INSTALLMENT_SUCCESS"),
            ("message_description", "Recurring installment successfully billed"),
            ("message_id", "3801"),
            ("invoice_id", "4759791640"),
            ("item_rec_install_billed_1", "5"),
            ("item_rec_date_next_1", "2012-08-02"),
        ],
    ));
    let test_tab = sign(with(
        &fraud,
        &[
            ("message_description", "Test Message"),
            ("message_id", "1"),
            ("sale_id", "1"),
            ("invoice_id", "1"),
            ("auth_exp", "N/A"),
            ("item_type_1", "N/A"),
            ("item_recurrence_1", "N/A"),
            ("item_rec_list_amount_1", "N/A"),
            ("item_rec_status_1", "N/A"),
            ("item_rec_date_next_1", "N/A"),
            ("customer_phone", "N/A"),
            ("ship_status", "shipped"),
            ("ship_tracking_number", "1Z999AA10123456784"),
        ],
    ));
    let lower_case = signed_fraud
        .iter()
        .map(|(k, v)| (k.clone(), if k == "md5_hash" { v.to_ascii_lowercase() } else { v.clone() }))
        .collect();
    let mut repeated_sale = signed_fraud.clone();
    repeated_sale.push(("sale_id".to_owned(), "4742525400".to_owned()));
    vec![
        ("signed_fraud_status_changed", signed_fraud.clone(), true),
        ("signed_order_created_ambiguous_time", order, true),
        ("signed_refund_issued_skipped_hour", refund, true),
        ("signed_recurring_installment_success", installment, true),
        ("signed_test_tab_not_applicable", test_tab, true),
        ("signed_lower_case_hash", lower_case, true),
        ("forged_live_hash_of_another_account", fraud, false),
        ("forged_other_invoice", with(&signed_fraud, &[("invoice_id", "4759791637")]), false),
        ("wrong_vendor", with(&signed_fraud, &[("vendor_id", "532002")]), false),
        ("repeated_sale_id", repeated_sale, false),
    ]
}

/// A form as 2Checkout posts it.
pub(super) fn ins_body(fields: &[(String, String)]) -> Vec<u8> {
    serde_urlencoded::to_string(fields).unwrap().into_bytes()
}

/// The INS seeds are accepted or refused as their names say, and the accepted ones read fully.
#[test]
fn the_ins_seed_forms_are_accepted_exactly_when_signed() {
    for (name, fields, accepted) in ins_forms() {
        let body = ins_body(&fields);
        let outcome = ins_post(&body);
        assert_eq!(outcome.is_ok(), accepted, "{name}: {outcome:?}");
        check_ins_post(&body).unwrap_or_else(|broken| panic!("{name}: {broken}"));
        if let Ok(post) = outcome {
            assert_eq!(post.notification.items.len(), 2, "{name}");
        }
    }
}

/// Writes the INS seed corpus afresh: `cargo test --lib write_ins_seed_corpus -- --ignored`.
#[test]
#[ignore = "writes fuzz/corpus/ins_post; run by name when the forms change"]
fn write_ins_seed_corpus() {
    let dir = corpus_dir("ins_post");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, fields, _) in ins_forms() {
        write_seed("ins_post", name, &ins_body(&fields));
    }
}
