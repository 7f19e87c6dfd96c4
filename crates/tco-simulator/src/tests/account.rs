//! End-to-end tests of the account section (`acct/*`): each starts a real simulator on
//! 127.0.0.1:0 and reads it over HTTP in JSON and in XML, as the official clients do.

use super::*;
use crate::account::{PAYOUTS, PENDING_PAYMENT_ID};

const ACCT_CALLS: [&str; 4] =
    ["acct/detail_company_info", "acct/detail_contact_info", "acct/detail_pending_payment", "acct/list_payments"];

fn cents_of(value: &Value) -> i64 {
    value.as_str().and_then(|text| text.parse::<Money>().ok()).map(Money::cents).expect("a two-decimal amount")
}

impl Api {
    /// The call's answer in XML (no `Accept`: the vendor's default).
    async fn acct_xml(&self, endpoint: &str) -> (StatusCode, String) {
        let response =
            self.http.get(self.url(endpoint)).basic_auth(USER, Some(PASSWORD)).send().await.expect("request");
        let status = response.status();
        assert_eq!(response.headers()[CONTENT_TYPE], "application/xml");
        (status, response.text().await.expect("a body"))
    }

    async fn ok_json(&self, endpoint: &str) -> Value {
        let (status, body) = self.json(endpoint, &[]).await;
        assert_eq!(status, StatusCode::OK, "{endpoint}: {body}");
        assert_eq!(body["response_code"], "OK", "{endpoint}");
        body
    }
}

/// The payout amount the simulator documents: sales − refunds − fees − reserve held.
fn paid_out(payment: &Value) -> i64 {
    cents_of(&payment["total_sales"])
        - cents_of(&payment["total_refunds"])
        - cents_of(&payment["total_fees"])
        - cents_of(&payment["reserve_held"])
}

#[tokio::test]
async fn company_info_names_the_seller_and_carries_the_ins_secret_word_like_the_live_api() {
    let config = SimulatorConfig {
        seller_id: "250111206876".to_owned(),
        secret_word: "s3cr3t".to_owned(),
        ..SimulatorConfig::default()
    };
    let api = Api::start_with(config).await;
    let body = api.ok_json("acct/detail_company_info").await;
    assert_eq!(body["response_message"], "company info retrieved");
    let info = &body["vendor_company_info"];
    assert_eq!(info["vendor_id"], "250111206876", "the 2020 suites' assertion, with this simulator's seller id");
    assert_eq!(info["secret_word"], "s3cr3t", "an e-commerce gateway configures its INS check from it");
    assert_eq!((&info["currency_code"], &info["currency_symbol"]), (&json!("USD"), &json!("$")));
    assert_eq!((&info["return_method"], &info["demo"]), (&json!("1"), &json!("P")));
    let keys: Vec<&str> = info.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "affiliate_url",
            "currency_code",
            "currency_name",
            "currency_symbol",
            "demo",
            "pending_return_url",
            "return_method",
            "return_url",
            "secret_word",
            "site_category",
            "site_description",
            "site_title",
            "soft_descriptor",
            "url",
            "vendor_id",
            "vendor_name",
        ],
        "every documented field, in the vendor's alphabetical order"
    );
}

#[tokio::test]
async fn contact_info_keeps_the_documented_quirks_account_level_and_a_null_written_as_text() {
    let api = Api::start().await;
    let body = api.ok_json("acct/detail_contact_info").await;
    assert_eq!(body["response_message"], "contact info retrieved");
    let contact = &body["vendor_contact_info"];
    assert_eq!(contact["vendor_id"], DEFAULT_SELLER_ID);
    assert_eq!(contact["2co_account_level_id"], "3");
    assert_eq!(contact["customer_service_phone_ext"], "null", "the string, as the documentation's example");
    assert_eq!(contact["office_phone_ext"], Value::Null);
    for key in [
        "mailing_address_id",
        "mailing_address_1",
        "mailing_address_2",
        "mailing_city",
        "mailing_state",
        "mailing_postal_code",
        "mailing_country_code",
        "physical_address_id",
        "physical_address_1",
        "physical_address_2",
        "physical_city",
        "physical_state",
        "physical_postal_code",
        "physical_country_code",
        "office_phone",
        "office_email",
        "customer_service_phone",
        "customer_service_email",
    ] {
        assert!(contact[key].is_string(), "{key}");
    }
    assert_eq!(contact.as_object().unwrap().len(), 22);
}

#[tokio::test]
async fn the_pending_payment_is_a_sandbox_accounts_with_every_documented_total_as_text() {
    let api = Api::start().await;
    let body = api.ok_json("acct/detail_pending_payment").await;
    assert_eq!(body["response_message"], "payment info retrieved");
    let payment = &body["payment"];
    assert_eq!(payment["release_level"], "300", "the sandbox suites (2014-2020)");
    assert_eq!(payment["payment_id"], PENDING_PAYMENT_ID);
    assert_eq!(payment["payment_method"], "wire");
    let keys: Vec<&str> = payment.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "amount",
            "payment_fee",
            "payment_id",
            "payment_method",
            "release_level",
            "reserve_held",
            "total_adjustments",
            "total_balance_forward",
            "total_chargeback_fees",
            "total_commissions",
            "total_fees",
            "total_outgoing_commissions",
            "total_refunds",
            "total_reserve_released",
            "total_sales",
        ]
    );
    assert!(payment.as_object().unwrap().values().all(Value::is_string), "numbers are strings: {payment}");
    // Default seed: the pending sales of 2026-03-16 to 2026-03-31 (none refunded yet).
    assert_eq!(
        ["total_sales", "total_refunds", "total_fees", "reserve_held", "amount"].map(|key| cents_of(&payment[key])),
        PENDING_SEEDED
    );
    assert_eq!(cents_of(&payment["amount"]), paid_out(payment));
}

/// `[total_sales, total_refunds, total_fees, reserve_held, amount]` of the default seed's
/// pending payout, in cents.
const PENDING_SEEDED: [i64; 5] = [11746, 0, 826, 587, 10333];

#[tokio::test]
async fn a_refund_made_now_shows_in_the_pending_payment_at_once() {
    let api = Api::start().await;
    api.sim
        .clock()
        .set(chrono::NaiveDateTime::parse_from_str("2026-03-25 12:00:00", "%Y-%m-%d %H:%M:%S").unwrap().and_utc());
    let before = api.ok_json("acct/detail_pending_payment").await["payment"].clone();
    let refund = [("sale_id", UNSHIPPED_TANGIBLE_SALE_ID), ("comment", "Lost in the post."), ("category", "5")];
    let (status, body) = read_json(
        api.http
            .post(api.url("sales/refund_invoice"))
            .basic_auth(USER, Some(PASSWORD))
            .header(ACCEPT, "application/json")
            .form(&refund)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after = api.ok_json("acct/detail_pending_payment").await["payment"].clone();
    let sale = api.sale(UNSHIPPED_TANGIBLE_SALE_ID).await;
    let refunded = cents_of(&sale["invoices"][0]["vendor_total"]);
    assert_eq!(cents_of(&after["total_refunds"]) - cents_of(&before["total_refunds"]), refunded);
    assert_eq!(cents_of(&after["amount"]), cents_of(&before["amount"]) - refunded);
    assert_eq!(after["total_sales"], before["total_sales"]);
}

#[tokio::test]
async fn list_payments_lists_the_seeded_payouts_newest_first_with_the_voided_one_marked() {
    let api = Api::start().await;
    let body = api.ok_json("acct/list_payments").await;
    let payments = body["payments"].as_array().unwrap();
    assert_eq!(payments.len(), PAYOUTS.len(), "not empty: the .NET suite reads [0]");
    let ids: Vec<&str> = payments.iter().map(|p| p["payment_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["9200000005", "9200000004", "9200000003", "9200000002", "9200000001"]);
    let voided: Vec<&Value> = payments.iter().filter(|p| p["void"] == "1").collect();
    assert_eq!(voided.len(), 1);
    assert_eq!(voided[0]["payment_id"], "9200000003");
    assert_eq!(voided[0]["date_voided"], "2026-02-18 09:30:00");
    let reissue = &payments[1];
    for key in ["total_sales", "total_refunds", "total_fees", "reserve_held", "amount"] {
        assert_eq!(reissue[key], voided[0][key], "the reissue pays the voided payout's period: {key}");
    }
    for payment in payments {
        assert_eq!(cents_of(&payment["amount"]), paid_out(payment), "{payment}");
        assert_eq!(payment["payment_identifier"], format!("wire_{}", payment["payment_id"].as_str().unwrap()));
        assert_eq!(payment["payment_type"], "wire");
        assert_eq!(payment["date_reserve_released"], Value::Null);
        assert_eq!(payment.as_object().unwrap().len(), 18);
    }
    assert!(payments.iter().skip(1).all(|p| p["void"] == "0" || p["payment_id"] == "9200000003"));
    // Default seed: what the own vendor's sales brought in each period (newest first).
    let sales: Vec<i64> = payments.iter().map(|p| cents_of(&p["total_sales"])).collect();
    assert_eq!(sales, SEEDED_PAYOUT_SALES);
}

/// `total_sales` of the seeded payouts with the default seed, newest first, in cents.
const SEEDED_PAYOUT_SALES: [i64; 5] = [19845, 33398, 33398, 900, 900];

#[tokio::test]
async fn an_empty_account_answers_list_payments_with_record_not_found_like_the_perl_suite() {
    let api = Api::start_with(SimulatorConfig { empty_catalog: true, ..SimulatorConfig::default() }).await;
    let (status, body) = api.json("acct/list_payments", &[]).await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, record_not_found()));
    let (status, text) = api.acct_xml("acct/list_payments").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("<errors><code>RECORD_NOT_FOUND</code><message>Unable to find record.</message></errors>"));
    // The other account calls are not lists: they answer as usual.
    assert_eq!(api.json("acct/detail_pending_payment", &[]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn every_account_call_answers_xml_with_the_json_keys_as_children() {
    let api = Api::start().await;
    let expected: [&[&str]; 4] = [
        &["response_code", "response_message", "vendor_company_info"],
        &["response_code", "response_message", "vendor_contact_info"],
        &["payment", "response_code", "response_message"],
        &["payments", "payments", "payments", "payments", "payments", "response_code", "response_message"],
    ];
    for (endpoint, children) in ACCT_CALLS.into_iter().zip(expected) {
        let (status, text) = api.acct_xml(endpoint).await;
        assert_eq!(status, StatusCode::OK, "{endpoint}: {text}");
        let (root, found) = xml_root_children(&text);
        assert_eq!(root, "response");
        assert_eq!(found, children, "{endpoint}");
    }
    let (_, company) = api.acct_xml("acct/detail_company_info").await;
    assert!(company.contains(&format!("<vendor_id>{DEFAULT_SELLER_ID}</vendor_id>")));
    assert!(company.contains("<secret_word>tango</secret_word>"));
    assert!(company.contains("<return_url></return_url>"), "an empty string is not null");
    let (_, contact) = api.acct_xml("acct/detail_contact_info").await;
    assert!(contact.contains("<2co_account_level_id>3</2co_account_level_id>"), "the key verbatim");
    assert!(contact.contains("<customer_service_phone_ext>null</customer_service_phone_ext>"));
    assert!(contact.contains("<office_phone_ext/>"));
    let (_, pending) = api.acct_xml("acct/detail_pending_payment").await;
    assert!(pending.contains("<release_level>300</release_level>"));
    let (_, payments) = api.acct_xml("acct/list_payments").await;
    assert!(payments.contains("<void>1</void>") && payments.contains("<date_voided/>"));
}

#[tokio::test]
async fn account_calls_need_basic_auth_and_accept_post_like_every_admin_call() {
    let api = Api::start().await;
    for endpoint in ACCT_CALLS {
        let response = api.http.get(api.url(endpoint)).header(ACCEPT, "application/json").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{endpoint}");
        assert_eq!(response.headers()[WWW_AUTHENTICATE], WWW_AUTHENTICATE_CHALLENGE);
        let posted = api
            .http
            .post(api.url(endpoint))
            .basic_auth(USER, Some(PASSWORD))
            .header(ACCEPT, "application/json")
            .form(&[("ignored", "1")])
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), StatusCode::OK, "{endpoint}: PHP and Python POST every call");
    }
    let counted = [
        Endpoint::DetailCompanyInfo,
        Endpoint::DetailContactInfo,
        Endpoint::DetailPendingPayment,
        Endpoint::ListPayments,
    ];
    for endpoint in counted {
        assert_eq!(api.sim.request_count(endpoint), 2, "{endpoint:?}");
    }
}
