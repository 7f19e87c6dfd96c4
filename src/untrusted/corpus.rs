//! The fuzz targets' committed seed corpora (`fuzz/corpus/<target>/`): every seed replays
//! through its oracle here, and `write_seed_corpora` (ignored; run it by name) writes them
//! afresh from the simulator's real answers and sample requests.

use std::path::{Path, PathBuf};

use prost::Message;
use serde_json::{Value, json};
use tco_simulator::{RunningSimulator, SimulatorConfig};

use super::{
    ACCOUNT_SECRET_WORD, AdminAnswer, CatalogAnswer, CatalogDecoded, INS_SECRET_WORD, JSON, RequestKind, STATUSES, XML,
    admin_selector, catalog_answer, catalog_selector, check_admin, check_ins_post, check_payment, check_request,
    ins_post,
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
    write_catalog_seeds();

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

// ------------------------------------------------------------------ catalog and account answers

/// The XML the simulator (and, as far as the evidence goes, the live API) sends for a
/// JSON answer: one `<response>` root, keys as child elements in order, an array as its
/// element repeated with no wrapper (an empty one as nothing), `null` as an empty
/// element, text escaped. The same rendering as the adapter's unit tests use.
pub(super) fn xml_of(body: &Value) -> String {
    fn element(out: &mut String, name: &str, value: &Value) {
        match value {
            Value::Array(items) => items.iter().for_each(|item| element(out, name, item)),
            Value::Null => out.push_str(&format!("<{name}/>")),
            Value::Object(members) => {
                out.push_str(&format!("<{name}>"));
                members.iter().for_each(|(key, value)| element(out, key, value));
                out.push_str(&format!("</{name}>"));
            }
            Value::String(text) => {
                out.push_str(&format!("<{name}>{}</{name}>", quick_xml::escape::escape(text.as_str())))
            }
            scalar => out.push_str(&format!("<{name}>{scalar}</{name}>")),
        }
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>");
    if let Value::Object(members) = body {
        members.iter().for_each(|(key, value)| element(&mut out, key, value));
    }
    out.push_str("</response>\n");
    out
}

/// The 2Checkout node wiki's product (live account 1817037, 2014), with its two options.
fn wiki_product() -> Value {
    json!({
        "product_id": "4635212971", "assigned_product_id": "2559", "vendor_id": "1817037",
        "vendor_product_id": null, "name": "API product", "description": "An API created product",
        "long_description": null, "price": "10.00", "tangible": "0", "weight": null, "handling": null,
        "recurring": "0", "recurrence": null, "recurrence_p": null, "duration": null, "startup_fee": null,
        "pending_url": null, "approved_url": null, "commission": 0, "commission_type": null,
        "commission_amount": null, "images": [],
        "categories": [{"category_id": "21", "name": "Advice & Instruction", "parent_id": "2",
                        "description": null, "parent_name": "Business Solutions & Office Products"}],
        "options": [
            {"option_id": "4023756741", "option_name": "extra benefit", "option_values": [
                {"option_value_id": "4023756744", "option_value_name": "one", "option_value_surcharge": "1.00"},
                {"option_value_id": "4023756747", "option_value_name": "two", "option_value_surcharge": "0.50"},
                {"option_value_id": "4023756750", "option_value_name": "three", "option_value_surcharge": "2.00"}]},
            {"option_id": "4688355343", "option_name": "decibels", "option_values": [
                {"option_value_id": "4688355346", "option_value_name": "150dB", "option_value_surcharge": "11.00"}]}
        ]
    })
}

/// list_options' documented page_info: numbers and strings mixed.
fn page_info(endpoint: &str, total: &str) -> Value {
    let url = format!("https://www.2checkout.com/api/products/{endpoint}?cur_page=1");
    json!({"cur_page": "1", "first_entry": 1, "first_page": 1, "first_page_url": url, "last_entry": total,
           "last_page": 1, "last_page_url": url, "next_page": null, "pagesize": "20", "previous_page": null,
           "total_entries": total})
}

fn refusal(code: &str, message: &str) -> Value {
    json!({"errors": [{"code": code, "message": message}]})
}

fn confirmed(message: &str, ids: Value) -> Value {
    let mut body = ids;
    body["response_code"] = json!("OK");
    body["response_message"] = json!(message);
    body
}

/// The company info answer, carrying [`ACCOUNT_SECRET_WORD`] as its `secret_word`.
pub(super) fn company_info() -> Value {
    json!({"response_code": "OK", "response_message": "company info retrieved", "vendor_company_info": {
        "affiliate_url": "http://www.fake-company.com", "currency_code": "USD", "currency_name": "US Dollars",
        "currency_symbol": "$", "demo": "P", "pending_return_url": "", "return_method": "1", "return_url": "",
        "secret_word": ACCOUNT_SECRET_WORD, "site_category": "Business", "site_description": "Fake things",
        "site_title": "Fake Company", "soft_descriptor": "FAKECO", "url": "http://www.fake-company.com",
        "vendor_id": "901248204", "vendor_name": "Fake Company"}})
}

/// The notes' example answers (`CATALOG-ACCOUNT-NOTES.md`) to every catalog and account
/// call, and the vendor's documented refusals: (seed name, answer, HTTP status, body).
pub(super) fn catalog_examples() -> Vec<(&'static str, CatalogAnswer, u16, Value)> {
    use CatalogAnswer as A;
    let not_found = || refusal("RECORD_NOT_FOUND", "Unable to find record.");
    let mut second = wiki_product();
    second["product_id"] = json!("4774387610");
    second["name"] = json!("Test Product");
    second["tangible"] = json!(1);
    second["weight"] = json!("1.50");
    second["options"] = json!([]);
    let volume = json!({"option_id": "4688550010", "option_name": "Volume", "option_values": [
        {"option_value_id": "4688550013", "option_value_name": "Low", "option_value_surcharge": "1.00"}]});
    let decibels = json!({"option_id": "4688355343", "option_name": "decibels", "option_values": [
        {"option_value_id": "4688355346", "option_value_name": "150dB", "option_value_surcharge": "11.00"},
        {"option_value_id": "4688355349", "option_value_name": "200dB", "option_value_surcharge": "22.00"},
        {"option_value_id": "4688355352", "option_value_name": "250dB", "option_value_surcharge": "33.00"}]});
    let coupons = json!([
        {"coupon_code": "COUPON", "date_expire": "3000-02-25", "minimum_purchase": "1.00", "percentage_off": "0.10",
         "type": "product", "value_off": null},
        {"coupon_code": "FREESHIPPING", "date_expire": "2013-04-13", "minimum_purchase": "0.00",
         "percentage_off": null, "type": "shipping", "value_off": null},
        {"coupon_code": "SAVEJUNE", "date_expire": "2013-03-31", "minimum_purchase": "2999.99",
         "percentage_off": null, "type": "product", "value_off": "100.00"}]);
    let totals = |sales: &str| {
        json!({"total_adjustments": "61.07", "total_balance_forward": "0.00", "total_chargeback_fees": "0.00",
               "total_commissions": "0.21", "total_fees": "86.92", "total_outgoing_commissions": "4.35",
               "total_refunds": "275.36", "total_reserve_released": "0.00", "total_sales": sales})
    };
    let mut pending = totals("283.86");
    for (key, value) in [
        ("amount", "999.99"),
        ("payment_fee", "0.00"),
        ("payment_id", "2436561667"),
        ("payment_method", "ach"),
        ("release_level", "15"),
        ("reserve_held", "14.19"),
    ] {
        pending[key] = json!(value);
    }
    let mut payout = totals("0.00");
    for (key, value) in [
        ("payment_id", "4681565342"),
        ("payment_identifier", "wire_999042012"),
        ("amount", "50240.51"),
        ("reserve_held", "1646.07"),
        ("payment_type", "wire"),
    ] {
        payout[key] = json!(value);
    }
    for key in ["date_paid", "date_reserve_released", "date_voided"] {
        payout[key] = Value::Null;
    }
    payout["void"] = json!(0);
    vec![
        (
            "catalog_list_products",
            A::ListProducts,
            200,
            json!({"response_code": "OK",
            "response_message": "Product information retrieved successfully.",
            "page_info": page_info("list_products", "2"), "products": [wiki_product(), second]}),
        ),
        ("catalog_list_products_none", A::ListProducts, 400, not_found()),
        (
            "catalog_detail_product",
            A::DetailProduct,
            200,
            json!({"product": wiki_product(), "response_code": "OK",
            "response_message": "Product detail information retrieved successfully"}),
        ),
        ("catalog_detail_product_forbidden", A::DetailProduct, 400, refusal("FORBIDDEN", "Access denied to product.")),
        (
            "catalog_list_options",
            A::ListOptions,
            200,
            json!({"options": [volume],
            "page_info": page_info("list_options", "1"), "response_code": "OK",
            "response_message": "Option information retrieved successfully."}),
        ),
        ("catalog_list_options_none", A::ListOptions, 400, not_found()),
        (
            "catalog_detail_option",
            A::DetailOption,
            200,
            json!({"option": [decibels], "response_code": "OK",
            "response_message": "Option detail retrieved successfully."}),
        ),
        (
            "catalog_list_coupons",
            A::ListCoupons,
            200,
            json!({"coupon": coupons, "response_code": "OK",
            "response_message": "Coupon information retrieved successfully."}),
        ),
        ("catalog_list_coupons_none", A::ListCoupons, 400, not_found()),
        (
            "catalog_detail_coupon",
            A::DetailCoupon,
            200,
            json!({"coupon": {"coupon_code": "APITEST002",
            "date_expire": "2012-12-31", "minimum_purchase": "5.00", "percentage_off": "5",
            "product": [{"product_id": "0",
                         "product_url": "https://www.2checkout.com/api/products/detail_product?product_id=0"}],
            "type": "sale", "value_off": null}, "response_code": "OK",
            "response_message": "Coupon detail retrieved successfully."}),
        ),
        ("catalog_detail_coupon_unknown", A::DetailCoupon, 400, refusal("FORBIDDEN", "Access denied to coupon.")),
        (
            "catalog_create_product",
            A::CreateProduct,
            200,
            confirmed(
                "Product successfully created.",
                json!({"assigned_product_id": "445", "product_id": "4838125968"}),
            ),
        ),
        (
            "catalog_create_product_missing",
            A::CreateProduct,
            400,
            refusal("PARAMETER_MISSING", "Required parameter missing: price"),
        ),
        (
            "catalog_update_product",
            A::UpdateProduct,
            200,
            confirmed(
                "Product successfully updated",
                json!({"assigned_product_id": "445", "product_id": "4838125968"}),
            ),
        ),
        ("catalog_delete_product", A::DeleteProduct, 200, confirmed("Product successfully deleted.", json!({}))),
        (
            "catalog_create_option",
            A::CreateOption,
            200,
            confirmed("Option created successfully", json!({"option_id": "1234567890"})),
        ),
        ("catalog_update_option", A::UpdateOption, 200, confirmed("Option updated successfully", json!({}))),
        (
            "catalog_update_option_refused",
            A::UpdateOption,
            400,
            refusal("PARAMETER_INVALID", "Specified option_value_id does not belong to specifed option_id."),
        ),
        ("catalog_delete_option", A::DeleteOption, 200, confirmed("Option deleted successfully", json!({}))),
        (
            "catalog_create_coupon",
            A::CreateCoupon,
            200,
            confirmed("Coupon successfully created", json!({"coupon_code": "7G2NCGX"})),
        ),
        (
            "catalog_update_coupon",
            A::UpdateCoupon,
            200,
            confirmed("Coupon updated successfully", json!({"coupon_code": "APIMODIFY002"})),
        ),
        ("catalog_delete_coupon", A::DeleteCoupon, 200, confirmed("Coupon successfully deleted.", json!({}))),
        ("acct_company_info", A::CompanyInfo, 200, company_info()),
        (
            "acct_contact_info",
            A::ContactInfo,
            200,
            json!({"response_code": "OK",
            "response_message": "contact info retrieved", "vendor_contact_info": {
            "2co_account_level_id": "3", "customer_service_email": "support@fake-company.com",
            "customer_service_phone": "555-555-5555", "customer_service_phone_ext": "null",
            "mailing_address_1": "855 Grandview Avenue", "mailing_address_2": "Suite 11",
            "mailing_address_id": "1", "mailing_city": "Columbus", "mailing_country_code": "USA",
            "mailing_postal_code": "43215", "mailing_state": "Ohio", "office_email": "support@fake-company.com",
            "office_phone": "555-555-5555", "office_phone_ext": null, "physical_address_1": "855 Grandview Avenue",
            "physical_address_2": "Suite 11", "physical_address_id": "1", "physical_city": "Columbus",
            "physical_country_code": "USA", "physical_postal_code": "43215", "physical_state": "Ohio",
            "vendor_id": "901248204"}}),
        ),
        (
            "acct_pending_payment",
            A::PendingPayment,
            200,
            json!({"payment": pending, "response_code": "OK",
            "response_message": "payment info retrieved"}),
        ),
        (
            "acct_list_payments",
            A::ListPayments,
            200,
            json!({"payments": [payout], "response_code": "OK",
            "response_message": "payments retrieved"}),
        ),
        ("acct_list_payments_none", A::ListPayments, 400, not_found()),
    ]
}

/// A catalog or account fuzz input: its [`catalog_selector`], then the body.
pub(super) fn catalog_input(answer: CatalogAnswer, status: u16, sniffed: bool, body: &[u8]) -> Vec<u8> {
    let mut input = catalog_selector(answer, status_index(status), sniffed).to_vec();
    input.extend_from_slice(body);
    input
}

/// Writes the notes' example answers into both Admin API corpora (with the account's
/// and a listing's answer sniffed too); [`write_seed_corpora`] calls it after its reset.
fn write_catalog_seeds() {
    for (name, answer, status, body) in catalog_examples() {
        for (target, text) in [("admin_json", body.to_string()), ("admin_xml", xml_of(&body))] {
            write_seed(target, &format!("{name}_{status}"), &catalog_input(answer, status, false, text.as_bytes()));
            if matches!(name, "acct_company_info" | "catalog_list_products") {
                let sniffed = catalog_input(answer, status, true, text.as_bytes());
                write_seed(target, &format!("{name}_{status}_sniffed"), &sniffed);
            }
        }
    }
}

/// Writes the catalog and account seeds alone (the simulator's are left as they are):
/// `cargo test --lib write_catalog_seed_corpus -- --ignored`.
#[test]
#[ignore = "writes fuzz/corpus/admin_*/{catalog,acct}_*; run by name when the examples change"]
fn write_catalog_seed_corpus() {
    for target in ["admin_json", "admin_xml"] {
        for entry in std::fs::read_dir(corpus_dir(target)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("catalog_") || name.starts_with("acct_") {
                std::fs::remove_file(path).unwrap();
            }
        }
    }
    write_catalog_seeds();
}

/// Every example answer reads as it says, in both formats and alike: the 200s as their
/// value, the listings' RECORD_NOT_FOUND as an empty page, the other refusals as the
/// vendor's; the committed seeds are these examples (so the fuzzer starts deep).
#[test]
fn the_notes_example_catalog_and_account_answers_read_alike_in_json_and_in_xml() {
    for (name, answer, status, body) in catalog_examples() {
        let json = catalog_answer(answer, status, JSON, body.to_string().as_bytes());
        let xml = catalog_answer(answer, status, XML, xml_of(&body).as_bytes());
        assert_eq!(format!("{json:?}"), format!("{xml:?}"), "{name}");
        match (status, &json) {
            (200, Ok(_)) => {}
            (_, Ok(value)) => assert!(super::is_first_empty_page(value) && answer.is_listing(), "{name}: {value:?}"),
            (_, Err(crate::domain::Error::Vendor(_))) => assert!(!name.ends_with("_none"), "{name}"),
            (_, Err(e)) => panic!("{name}: {e:?}"),
        }
        assert_eq!(json.is_ok(), status == 200 || name.ends_with("_none"), "{name}: {json:?}");
        let committed = seed("admin_json", &format!("{name}_{status}"));
        assert_eq!(&committed[1..], body.to_string().as_bytes(), "{name}: the committed seed is stale");
    }
    let Ok(CatalogDecoded::CompanyInfo(info)) =
        catalog_answer(CatalogAnswer::CompanyInfo, 200, JSON, company_info().to_string().as_bytes())
    else {
        panic!("the company info example does not read")
    };
    assert_eq!(info.vendor_id, "901248204");
    assert!(!format!("{info:?}").contains(ACCOUNT_SECRET_WORD));
}
