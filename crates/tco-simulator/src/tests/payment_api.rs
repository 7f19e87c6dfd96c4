//! End-to-end tests of the Payment API (token service and authorization): each starts a real
//! simulator on 127.0.0.1:0, tokenizes a card and authorizes over HTTP with JSON bodies, and
//! checks the answers against the reference's shapes and messages and the sale the Admin API
//! then shows.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::*;

/// An HTTP status and JSON body, as the Payment API answers.
type Answer = (StatusCode, Value);

const EXPIRED_YEAR: &str = "2020";

fn at(text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("a timestamp").and_utc()
}

/// The documented failure body for `code` with its HTTP status.
fn exception(code: u16, message: &str) -> Answer {
    let status = if code == 300 { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_REQUEST };
    let body = json!({
        "validationErrors": null,
        "response": null,
        "exception": {
            "errorMsg": message,
            "httpStatus": status.as_u16().to_string(),
            "exception": false,
            "errorCode": code.to_string(),
        },
    });
    (status, body)
}

fn unauthorized() -> Answer {
    exception(300, "Unauthorized")
}

fn unable_to_process() -> Answer {
    exception(200, "Unable to process the request")
}

fn parameter_error() -> Answer {
    exception(400, "Bad request - parameter error")
}

fn missing_data() -> Answer {
    exception(401, "Bad request - missing data")
}

fn card_request(card: &str) -> Value {
    json!({
        "sellerId": DEFAULT_SELLER_ID,
        "publishableKey": DEFAULT_PUBLISHABLE_KEY,
        "ccNo": card,
        "expMonth": "12",
        "expYear": "2030",
        "cvv": "123",
    })
}

fn billing() -> Value {
    json!({
        "name": "Testing Tester",
        "addrLine1": "123 Test St",
        "city": "Columbus",
        "state": "Ohio",
        "zipCode": "43123",
        "country": "USA",
        "email": "example@2co.com",
        "phoneNumber": "5555555555",
    })
}

/// A bare-total authorization of `token`, as the reference's Node example sends it.
fn order(token: &str) -> Value {
    json!({
        "sellerId": DEFAULT_SELLER_ID,
        "privateKey": DEFAULT_PRIVATE_KEY,
        "merchantOrderId": "123",
        "token": token,
        "currency": "USD",
        "total": "10.00",
        "billingAddr": billing(),
    })
}

/// The reference's example line items (its response totals 19.97).
fn reference_line_items() -> Value {
    json!([
        {
            "type": "product", "name": "Demo Item 1", "quantity": "2", "price": "6.99", "tangible": "N",
            "productId": "123", "recurrence": "1 Month", "duration": "1 Year"
        },
        {
            "type": "product", "name": "Demo Item 2", "price": "1.99",
            "options": [{ "optName": "Size", "optValue": "Large", "optSurcharge": "1.00" }]
        },
        { "type": "shipping", "name": "Shipping Fee", "price": "3.00" }
    ])
}

fn shipping_address() -> Value {
    json!({
        "name": "Testing Tester",
        "addrLine1": "123 Test St",
        "addrLine2": "",
        "city": "Columbus",
        "state": "OH",
        "zipCode": "43123",
        "country": "USA",
    })
}

fn approved_response(order: &Value, answer: &Value) -> Value {
    json!({
        "validationErrors": null,
        "exception": null,
        "response": {
            "type": "AuthResponse",
            "merchantOrderId": order["merchantOrderId"],
            "orderNumber": answer["response"]["orderNumber"],
            "transactionId": answer["response"]["transactionId"],
            "responseMsg": "Successfully authorized the provided credit card",
            "responseCode": "APPROVED",
            "total": answer["response"]["total"],
            // Any case is accepted; the answer names the currency in upper case.
            "currencyCode": order["currency"].as_str().map(str::to_ascii_uppercase),
            "lineItems": answer["response"]["lineItems"],
            "billingAddr": answer["response"]["billingAddr"],
            "shippingAddr": answer["response"]["shippingAddr"],
            "recurrentInstallmentId": null,
            "errors": null,
        },
    })
}

impl Api {
    fn payment_url(&self, service: &str) -> String {
        format!("{}{DEFAULT_SELLER_ID}/rs/{service}", self.sim.payment_api_base_url())
    }

    async fn post_json(&self, url: String, body: &Value) -> Answer {
        read_json(self.http.post(url).json(body).send().await.expect("request")).await
    }

    async fn tokenize(&self, body: &Value) -> Answer {
        self.post_json(self.payment_url("tokenService"), body).await
    }

    /// A fresh token for `card` (valid through 12/2030).
    async fn token(&self, card: &str) -> String {
        let (status, body) = self.tokenize(&card_request(card)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["response"]["token"]["token"].as_str().expect("a token").to_owned()
    }

    async fn authorize(&self, body: &Value) -> Answer {
        self.post_json(self.payment_url("authService"), body).await
    }

    /// Authorizes `body` and asserts it was approved; returns the `response` object.
    async fn approve(&self, body: &Value) -> Value {
        let (status, answer) = self.authorize(body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer, approved_response(body, &answer));
        answer["response"].clone()
    }

    async fn admin_form(&self, endpoint: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let request =
            self.http.post(self.url(endpoint)).basic_auth(USER, Some(PASSWORD)).header(ACCEPT, "application/json");
        read_json(request.form(form).send().await.expect("request")).await
    }
}

// ---------------------------------------------------------------- token service

#[tokio::test]
async fn the_token_service_answers_an_opaque_token_dated_by_the_clock_and_the_masked_card() {
    let api = Api::start().await;
    api.sim.clock().set(at("2026-04-01 12:00:00"));
    let (status, body) = api.tokenize(&card_request(APPROVING_CARD)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["response"]["token"]["token"].as_str().expect("a token").to_owned();
    let date_created = body["response"]["token"]["dateCreated"].as_str().expect("a date").to_owned();
    assert!(date_created.starts_with("2026-04-01 12:00:0"), "{date_created}");
    assert_eq!(
        body,
        json!({
            "validationErrors": null,
            "exception": null,
            "response": {
                "type": "TokenResponse",
                "token": { "token": token, "dateCreated": date_created },
                "paymentMethod": {
                    "cardNum": "XXXX-XXXX-XXXX-0002",
                    "expMonth": "12",
                    "expYear": "2030",
                    "cardType": "VS",
                },
                "errors": null,
            },
        })
    );
    assert!(!token.contains(APPROVING_CARD) && !token.contains("0002"));
    assert_ne!(api.token(APPROVING_CARD).await, token, "every token is new");
    assert_eq!(api.sim.request_count(Endpoint::CreateToken), 2);
}

#[tokio::test]
async fn tokens_are_the_same_for_the_same_seed() {
    let (first, second) = (Api::start().await, Api::start().await);
    assert_eq!(first.token(APPROVING_CARD).await, second.token(APPROVING_CARD).await);
}

#[tokio::test]
async fn the_token_service_checks_keys_then_missing_then_malformed_card_fields() {
    let api = Api::start().await;
    let with = |field: &str, value: Value| {
        let mut body = card_request(APPROVING_CARD);
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = card_request(APPROVING_CARD);
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let cases: Vec<(Value, Answer)> = vec![
        (json!([1, 2]), unable_to_process()),
        (with("sellerId", json!("1817037")), unauthorized()),
        (without("sellerId"), unauthorized()),
        (with("publishableKey", json!("E0F6517A-CFCF-11E3-8295-A7DD28100996")), unauthorized()),
        (without("publishableKey"), unauthorized()),
        // A wrong key wins over missing card data.
        (json!({ "sellerId": DEFAULT_SELLER_ID, "publishableKey": "wrong", "ccNo": APPROVING_CARD }), unauthorized()),
        (without("ccNo"), missing_data()),
        (with("ccNo", json!("")), missing_data()),
        (without("expMonth"), missing_data()),
        (without("expYear"), missing_data()),
        (with("cvv", Value::Null), missing_data()),
        // Missing data wins over malformed data.
        (
            json!({ "sellerId": DEFAULT_SELLER_ID, "publishableKey": DEFAULT_PUBLISHABLE_KEY, "ccNo": "12" }),
            missing_data(),
        ),
        (with("ccNo", json!("40000000000")), parameter_error()),
        (with("ccNo", json!("40000000000000000002")), parameter_error()),
        (with("ccNo", json!("4000abcd00000002")), parameter_error()),
        (with("ccNo", json!(true)), parameter_error()),
        (with("expMonth", json!("13")), parameter_error()),
        (with("expMonth", json!("0")), parameter_error()),
        (with("expMonth", json!("ab")), parameter_error()),
        (with("expYear", json!("203")), parameter_error()),
        (with("expYear", json!("20x0")), parameter_error()),
        (with("cvv", json!("12")), parameter_error()),
        (with("cvv", json!("12345")), parameter_error()),
    ];
    for (body, expected) in cases {
        assert_eq!(api.tokenize(&body).await, expected, "{body}");
    }
    // Numbers and spaced card numbers are fine; a two-digit year means 20YY.
    let lenient = json!({
        "sellerId": DEFAULT_SELLER_ID.parse::<u64>().unwrap(),
        "publishableKey": DEFAULT_PUBLISHABLE_KEY,
        "ccNo": "5555 5555 5555 4444",
        "expMonth": 3,
        "expYear": "31",
        "cvv": "1234",
    });
    let (status, body) = api.tokenize(&lenient).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["response"]["paymentMethod"],
        json!({ "cardNum": "XXXX-XXXX-XXXX-4444", "expMonth": "03", "expYear": "2031", "cardType": "MC" })
    );
}

#[tokio::test]
async fn the_seller_id_of_the_path_must_be_the_simulators() {
    let api = Api::start().await;
    let url = format!("{}1817037/rs/tokenService", api.sim.payment_api_base_url());
    let mut body = card_request(APPROVING_CARD);
    body["sellerId"] = json!("1817037");
    assert_eq!(api.post_json(url, &body).await, unauthorized());
    assert_eq!(api.sim.request_count(Endpoint::CreateToken), 1, "counted like any known endpoint");
}

// ---------------------------------------------------------------- authorization

#[tokio::test]
async fn an_approved_authorization_echoes_the_order_and_creates_the_sale_the_admin_api_shows() {
    let api = Api::start().await;
    api.sim.clock().set(at("2026-04-01 12:00:00"));
    let token = api.token(APPROVING_CARD).await;
    let mut body = order(&token);
    body.as_object_mut().unwrap().remove("total");
    body["merchantOrderId"] = json!("ORDER-77");
    body["lineItems"] = reference_line_items();
    body["shippingAddr"] = shipping_address();
    let response = api.approve(&body).await;

    // The echo, in the reference's shapes (its example response totals the same items 19.97).
    assert_eq!(response["total"], "19.97");
    assert_eq!(response["currencyCode"], "USD");
    assert_eq!(response["merchantOrderId"], "ORDER-77");
    assert_eq!(
        response["lineItems"],
        json!([
            {
                "options": [], "price": "6.99", "quantity": "2", "recurrence": "1 Month", "startupFee": null,
                "productId": "123", "tangible": "N", "name": "Demo Item 1", "type": "product",
                "description": "", "duration": "1 Year"
            },
            {
                "options": [{ "optName": "Size", "optValue": "Large", "optSurcharge": "1.00" }],
                "price": "1.99", "quantity": "1", "recurrence": null, "startupFee": null, "productId": "",
                "tangible": "N", "name": "Demo Item 2", "type": "product", "description": "", "duration": null
            },
            {
                "options": [], "price": "3.00", "quantity": "1", "recurrence": null, "startupFee": null,
                "productId": "", "tangible": "Y", "name": "Shipping Fee", "type": "shipping", "description": "",
                "duration": null
            }
        ])
    );
    assert_eq!(
        response["billingAddr"],
        json!({
            "addrLine1": "123 Test St", "addrLine2": null, "city": "Columbus", "zipCode": "43123",
            "phoneNumber": "5555555555", "phoneExtension": null, "email": "example@2co.com",
            "name": "Testing Tester", "state": "Ohio", "country": "USA"
        })
    );
    assert_eq!(
        response["shippingAddr"],
        json!({
            "addrLine1": "123 Test St", "addrLine2": null, "city": "Columbus", "zipCode": "43123",
            "phoneNumber": null, "phoneExtension": null, "email": null, "name": "Testing Tester",
            "state": "OH", "country": "USA"
        })
    );

    // The sale, through the Admin API.
    let sale_id = response["orderNumber"].as_str().expect("orderNumber").to_owned();
    let invoice_id = response["transactionId"].as_str().expect("transactionId").to_owned();
    assert!(sale_id.parse::<u64>().unwrap() > 9_100_299_000, "a new id above every seeded one");
    let sale = api.sale(&sale_id).await;
    assert!(sale["date_placed"].as_str().unwrap().starts_with("2026-04-01 12:00:0"));
    assert_eq!(sale["comments"], json!([]));
    let customer = &sale["customer"];
    assert_eq!(customer["cardholder_name"], "Testing Tester");
    assert_eq!((&customer["first_name"], &customer["last_name"]), (&json!("Testing"), &json!("Tester")));
    assert_eq!(customer["email_address"], "example@2co.com");
    assert_eq!(customer["phone"], "5555555555");
    assert_eq!(customer["address_1"], "123 Test St");
    assert_eq!(customer["city"], "Columbus");
    assert_eq!(customer["state"], "Ohio");
    assert_eq!(customer["postal_code"], "43123");
    assert_eq!((&customer["country_code"], &customer["country_name"]), (&json!("USA"), &json!("United States")));
    assert_eq!(
        customer["pay_method"],
        json!({ "avs": "Y", "cvv": "M", "first_six_digits": "400000", "last_two_digits": "02", "method": "credit card" })
    );
    let invoice = &sale["invoices"][0];
    assert_eq!(sale["invoices"].as_array().unwrap().len(), 1);
    assert_eq!(invoice["invoice_id"], invoice_id.as_str());
    assert_eq!(invoice["status"], "approved");
    assert_eq!(invoice["vendor_order_id"], "ORDER-77");
    assert_eq!(invoice["vendor_id"], "532001");
    assert_eq!(invoice["recurring"], "1");
    for total in ["usd_total", "vendor_total", "customer_total"] {
        assert_eq!(invoice[total], "19.97", "{total}");
    }
    let lines = invoice["lineitems"].as_array().unwrap();
    assert_eq!(lines.len(), 3);
    let amounts: Vec<&str> = lines.iter().map(|line| line["usd_amount"].as_str().unwrap()).collect();
    assert_eq!(amounts, ["13.98", "2.99", "3.00"]);
    assert_eq!(lines[0]["product_name"], "Demo Item 1");
    assert_eq!(lines[0]["vendor_product_id"], "123");
    assert_eq!(lines[0]["product_recurrence"], "1 Month");
    assert_eq!(lines[0]["billing"]["recurring_status"], "active");
    assert_eq!(lines[0]["billing"]["date_next"], "2026-05-01");
    assert_eq!(lines[1]["options"][0]["option_name"], "Size");
    assert_eq!(lines[1]["options"][0]["usd_surcharge"], "1.00");
    // A real sandbox capture of a Payment API sale: the request's type and Y/N, not null and 0/1.
    let types: Vec<&str> = lines.iter().map(|line| line["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["product", "product", "shipping"]);
    let tangible: Vec<&str> = lines.iter().map(|line| line["product_tangible"].as_str().unwrap()).collect();
    assert_eq!(tangible, ["N", "N", "Y"]);
    // The keys that capture has and the documented (older) example lacks.
    assert_eq!((&customer["country_code_2"], &customer["state_2"]), (&json!("US"), &Value::Null));
    assert_eq!(invoice["payout_status"], "pending");
    assert_eq!(invoice["timestamp"], sale["date_placed"], "the invoice's last status change: its placement");
    assert_eq!(invoice["customer_name"], "Testing Tester");
    assert_eq!(invoice["customer_snapshot_id"], Value::Null);
    assert_eq!((&invoice["new_customer_quote_id"], &invoice["new_vendor_quote_id"]), (&json!("0"), &json!("0")));
    let change_id: u64 = invoice["change_id"].as_str().unwrap().parse().unwrap();
    let highest_line_id = lines.iter().map(|line| line["lineitem_id"].as_str().unwrap().parse::<u64>().unwrap()).max();
    assert!(Some(change_id) > highest_line_id, "drawn after every other id of the sale");
    let keys: Vec<&String> = invoice.as_object().unwrap().keys().collect();
    assert!(keys.is_sorted(), "in the vendor's alphabetical order: {keys:?}");
    assert_eq!(invoice["shipping"]["shipping_name"], "Testing Tester");
    assert_eq!(invoice["shipping"]["date_shipped"], Value::Null);
    // Nothing anywhere shows the card number.
    let everything = format!("{sale}");
    assert!(!everything.contains(APPROVING_CARD) && !everything.contains(&token));

    // list_sales sees it too, newest first.
    let (_, listing) = api.list(&[("sale_id", &sale_id)]).await;
    assert_eq!(listing["sale_summary"][0]["usd_total"], "19.97");
    assert_eq!(api.sim.request_count(Endpoint::Authorize), 1);
}

#[tokio::test]
async fn a_bare_total_becomes_one_product_line_and_the_answer_lists_no_line_items() {
    let api = Api::start().await;
    let token = api.token(APPROVING_CARD).await;
    let response = api.approve(&order(&token)).await;
    assert_eq!(response["total"], "10.00");
    assert_eq!(response["lineItems"], json!([]));
    assert_eq!(response["shippingAddr"], Value::Null);
    let sale = api.sale(response["orderNumber"].as_str().unwrap()).await;
    let lines = line_items(&sale);
    assert_eq!(lines.len(), 1);
    assert_eq!((&lines[0]["product_name"], &lines[0]["usd_amount"]), (&json!("Product"), &json!("10.00")));
    assert_eq!(sale["invoices"][0]["recurring"], "0");
    assert_eq!(sale["invoices"][0]["shipping"], Value::Null);
}

#[tokio::test]
async fn the_total_is_computed_in_cents_from_options_quantities_startup_fees_and_coupons() {
    let api = Api::start().await;
    let token = api.token(APPROVING_CARD).await;
    let mut body = order(&token);
    // A total sent with line items is ignored: the items decide.
    body["total"] = json!("1.00");
    body["lineItems"] = json!([
        {
            "name": "Widget", "price": 0.1, "quantity": 3,
            "options": [{ "optName": "Color", "optValue": "Red", "optSurcharge": "0.20" }]
        },
        { "type": "product", "name": "Plan", "price": "10.00", "startupFee": "-2.50",
          "recurrence": "1 Year", "duration": "Forever" },
        { "type": "tax", "name": "VAT", "price": "1.05" },
        { "type": "coupon", "name": "SAVE1", "price": "1.00" },
        // Incorrectly formatted quantity and price take the documented defaults (1 and 0).
        { "name": "Freebie", "price": "abc", "quantity": "many" }
    ]);
    let response = api.approve(&body).await;
    // (0.10 + 0.20) × 3 + (10.00 − 2.50) + 1.05 − 1.00 + 0.00 = 8.45, where floats would drift.
    assert_eq!(response["total"], "8.45");
    let echoed = response["lineItems"].as_array().unwrap();
    assert_eq!(echoed[0]["price"], "0.10");
    assert_eq!(echoed[0]["quantity"], "3");
    assert_eq!(echoed[1]["startupFee"], "-2.50");
    assert_eq!((&echoed[4]["price"], &echoed[4]["quantity"]), (&json!("0.00"), &json!("1")));
    let sale = api.sale(response["orderNumber"].as_str().unwrap()).await;
    let amounts: Vec<String> =
        line_items(&sale).iter().map(|line| line["usd_amount"].as_str().unwrap().to_owned()).collect();
    assert_eq!(amounts, ["0.90", "7.50", "1.05", "-1.00", "0.00"]);
    assert_eq!(sale["invoices"][0]["usd_total"], "8.45");
}

#[tokio::test]
async fn every_error_card_answers_its_code_with_the_verbatim_message_and_http_status() {
    let api = Api::start().await;
    let cases: [(u16, &str); 11] = [
        (600, "Authorization Failed"),
        (
            601,
            "Payment Authorization Failed:  Please update your cards expiration date and try again, or try another payment method.",
        ),
        (
            602,
            "Payment Authorization Failed:  Please verify your Credit Card details are entered correctly and try again, or try another payment method.",
        ),
        (
            603,
            "Your credit card has been declined because of the currency you are attempting to pay in.  Please change the currency of the transaction or use a different card and try again.",
        ),
        (
            604,
            "Payment Authorization Failed: Credit is not enabled on this type of card, please contact your bank for more information or try another payment method.",
        ),
        (
            605,
            "Payment Authorization Failed: Invalid transaction type for this credit card, please use a different card and try submitting the payment again, or contact your bank for more information.",
        ),
        (
            606,
            "Payment Authorization Failed: Please use a different credit card or payment method and try again, or contact your bank for more information.",
        ),
        (
            607,
            "Payment Authorization Failed: Please verify your information and try again, or try another payment method.",
        ),
        (200, "Unable to process the request"),
        (300, "Unauthorized"),
        (400, "Bad request - parameter error"),
    ];
    for (code, message) in cases {
        let card = card_for_error_code(code).expect("a card");
        let token = api.token(card).await;
        assert_eq!(api.authorize(&order(&token)).await, exception(code, message), "{code}");
    }
    // The reference's sandbox decline card answers 602, exactly as its example exception.
    let token = api.token(DECLINING_CARD).await;
    let (status, body) = api.authorize(&order(&token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({
            "validationErrors": null,
            "exception": {
                "errorMsg": "Payment Authorization Failed:  Please verify your Credit Card details are entered correctly and try again, or try another payment method.",
                "httpStatus": "400",
                "exception": false,
                "errorCode": "602"
            },
            "response": null
        })
    );
    // No declined attempt created a sale.
    assert_eq!(api.total(&[]).await, DEFAULT_TOTAL);
}

#[tokio::test]
async fn an_expired_card_answers_601_whatever_its_number() {
    let api = Api::start().await;
    api.sim.clock().set(at("2026-04-01 12:00:00"));
    for card in [APPROVING_CARD, DECLINING_CARD] {
        let mut request = card_request(card);
        request["expYear"] = json!(EXPIRED_YEAR);
        let (_, body) = api.tokenize(&request).await;
        let token = body["response"]["token"]["token"].as_str().expect("expired cards are tokenized").to_owned();
        let (status, body) = api.authorize(&order(&token)).await;
        assert_eq!((status, &body["exception"]["errorCode"]), (StatusCode::BAD_REQUEST, &json!("601")));
    }
    // A card expiring this month is still good.
    let mut request = card_request(APPROVING_CARD);
    (request["expMonth"], request["expYear"]) = (json!("04"), json!("2026"));
    let (_, body) = api.tokenize(&request).await;
    api.approve(&order(body["response"]["token"]["token"].as_str().unwrap())).await;
}

#[tokio::test]
async fn a_token_pays_once_and_a_declined_attempt_uses_it_up_too() {
    let api = Api::start().await;
    let token = api.token(APPROVING_CARD).await;
    api.approve(&order(&token)).await;
    assert_eq!(api.authorize(&order(&token)).await, unauthorized());

    let declined = api.token(DECLINING_CARD).await;
    assert_eq!(api.authorize(&order(&declined)).await.1["exception"]["errorCode"], "602");
    assert_eq!(api.authorize(&order(&declined)).await, unauthorized());
    assert_eq!(api.total(&[]).await, DEFAULT_TOTAL + 1);
}

#[tokio::test]
async fn a_token_expires_thirty_minutes_after_creation_on_the_simulator_clock() {
    let api = Api::start().await;
    let stale = api.token(APPROVING_CARD).await;
    let fresh = api.token(APPROVING_CARD).await;
    api.sim.clock().advance(Duration::from_secs(29 * 60));
    api.approve(&order(&fresh)).await;
    api.sim.clock().advance(Duration::from_secs(2 * 60));
    assert_eq!(api.authorize(&order(&stale)).await, unauthorized());
}

#[tokio::test]
async fn an_unknown_token_is_a_parameter_error() {
    let api = Api::start().await;
    assert_eq!(api.authorize(&order("MWQyYTI0ZmUtNjhiOS00NTIxLTgwY2MtODc3MWRlNmZjY2Jh")).await, parameter_error());
}

#[tokio::test]
async fn a_wrong_private_key_or_seller_is_unauthorized_and_leaves_the_token_unused() {
    let api = Api::start().await;
    let token = api.token(APPROVING_CARD).await;
    let with = |field: &str, value: Value| {
        let mut body = order(&token);
        body[field] = value;
        body
    };
    let mut without_key = order(&token);
    without_key.as_object_mut().unwrap().remove("privateKey");
    for body in [
        with("privateKey", json!("8CE03B2D-FE41-4C53-9156-52A8ED5A0FA3")),
        with("privateKey", json!(DEFAULT_PRIVATE_KEY.to_lowercase())),
        without_key,
        with("sellerId", json!("1817037")),
    ] {
        assert_eq!(api.authorize(&body).await, unauthorized(), "{body}");
    }
    // The path's seller differs from the body's, or is unknown while the body agrees with it.
    let elsewhere = format!("{}1817037/rs/authService", api.sim.payment_api_base_url());
    assert_eq!(api.post_json(elsewhere.clone(), &order(&token)).await, unauthorized());
    assert_eq!(api.post_json(elsewhere, &with("sellerId", json!("1817037"))).await, unauthorized());
    // A wrong key comes before a missing attribute.
    let mut wrong_and_incomplete = with("privateKey", json!("nope"));
    wrong_and_incomplete.as_object_mut().unwrap().remove("billingAddr");
    assert_eq!(api.authorize(&wrong_and_incomplete).await, unauthorized());
    // None of these used the token up.
    api.approve(&order(&token)).await;
}

#[tokio::test]
async fn missing_or_invalid_attributes_are_parameter_errors_and_leave_the_token_unused() {
    let api = Api::start().await;
    let token = api.token(APPROVING_CARD).await;
    let edit = |change: &dyn Fn(&mut Value)| {
        let mut body = order(&token);
        change(&mut body);
        body
    };
    let remove = |field: &'static str| {
        edit(&move |body: &mut Value| {
            body.as_object_mut().unwrap().remove(field);
        })
    };
    let remove_billing = |field: &'static str| {
        edit(&move |body: &mut Value| {
            body["billingAddr"].as_object_mut().unwrap().remove(field);
        })
    };
    let cases: Vec<(Value, Answer)> = vec![
        (remove("merchantOrderId"), parameter_error()),
        (edit(&|body| body["merchantOrderId"] = json!("")), parameter_error()),
        (remove("token"), parameter_error()),
        (remove("currency"), parameter_error()),
        (edit(&|body| body["currency"] = json!("XYZ")), parameter_error()),
        (remove("billingAddr"), parameter_error()),
        (remove_billing("name"), parameter_error()),
        (remove_billing("addrLine1"), parameter_error()),
        (remove_billing("city"), parameter_error()),
        (remove_billing("country"), parameter_error()),
        (remove_billing("email"), parameter_error()),
        (edit(&|body| body["billingAddr"]["email"] = json!("not-an-address")), parameter_error()),
        // USA needs state and zip code; JPN also a second address line.
        (remove_billing("state"), parameter_error()),
        (remove_billing("zipCode"), parameter_error()),
        (edit(&|body| body["billingAddr"]["country"] = json!("JPN")), parameter_error()),
        (edit(&|body| body["billingAddr"]["name"] = json!("x".repeat(129))), parameter_error()),
        (remove("total"), parameter_error()),
        (
            edit(&|body| {
                body.as_object_mut().unwrap().remove("total");
                body["lineItems"] = json!([]);
            }),
            parameter_error(),
        ),
        (
            edit(&|body| body["lineItems"] = json!([{ "type": "shipping", "name": "Post", "price": "3.00" }])),
            parameter_error(),
        ),
        (edit(&|body| body["lineItems"] = json!([{ "type": "gift", "price": "3.00" }])), parameter_error()),
        (edit(&|body| body["lineItems"] = json!([{ "name": "<b>", "price": "3.00" }])), parameter_error()),
        (edit(&|body| body["lineItems"] = json!([{ "price": "3.00", "recurrence": "1 Month" }])), parameter_error()),
        (
            edit(&|body| {
                body["lineItems"] = json!([{ "price": "3.00", "recurrence": "monthly", "duration": "Forever" }])
            }),
            parameter_error(),
        ),
        (edit(&|body| body["lineItems"] = json!([{ "price": "3.00", "startupFee": "-3.00" }])), parameter_error()),
        (
            edit(&|body| body["lineItems"] = json!([{ "price": "3.00", "options": [{ "optName": "Size" }] }])),
            parameter_error(),
        ),
        // Attributes of the wrong JSON type are "incorrect attributes".
        (edit(&|body| body["billingAddr"] = json!("123 Test St")), unable_to_process()),
        (edit(&|body| body["lineItems"] = json!({ "price": "1.00" })), unable_to_process()),
        (edit(&|body| body["lineItems"] = json!(["1.00"])), unable_to_process()),
        (edit(&|body| body["merchantOrderId"] = json!({ "id": 1 })), unable_to_process()),
    ];
    for (body, expected) in cases {
        assert_eq!(api.authorize(&body).await, expected, "{body}");
    }
    // A missing total with line items is fine, a lower-case currency too; the token still pays.
    let body = edit(&|body| {
        body["currency"] = json!("eur");
        body["lineItems"] = json!([{ "name": "Thing", "price": "2.00" }]);
    });
    let response = api.approve(&body).await;
    assert_eq!((&response["currencyCode"], &response["total"]), (&json!("EUR"), &json!("2.00")));
}

#[tokio::test]
async fn a_body_that_is_not_a_json_object_is_unable_to_process_with_or_without_content_type() {
    let api = Api::start().await;
    let url = api.payment_url("authService");
    let plain = |body: &'static str| api.http.post(&url).header(CONTENT_TYPE, "text/plain").body(body);
    let bare = |body: &'static str| api.http.post(&url).body(body);
    for request in [
        plain("merchantOrderId=123&token=abc"),
        bare("merchantOrderId=123&token=abc"),
        api.http.post(&url).header(CONTENT_TYPE, "application/json").body("{\"token\": "),
        api.http.post(&url).json(&json!(["not", "an", "object"])),
        bare(""),
    ] {
        let (status, body) = read_json(request.send().await.unwrap()).await;
        assert_eq!((status, body), unable_to_process());
    }
}

#[tokio::test]
async fn a_json_body_is_read_whatever_the_content_type_says() {
    let api = Api::start().await;
    let url = api.payment_url("authService");
    for content_type in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
        let token = api.token(APPROVING_CARD).await;
        let mut request = api.http.post(&url).body(order(&token).to_string());
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        let (status, body) = read_json(response).await;
        assert_eq!(status, StatusCode::OK, "{content_type:?}: {body}");
        assert_eq!(body["response"]["responseCode"], "APPROVED");
    }
}

#[tokio::test]
async fn the_payment_api_takes_post_only_and_no_basic_auth() {
    let api = Api::start().await;
    let response = api.http.get(api.payment_url("authService")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");
    let (_, body) = read_json(response).await;
    assert_eq!(body["exception"]["httpStatus"], "405");
    // Basic credentials are neither needed nor looked at.
    let token = api.token(APPROVING_CARD).await;
    let request = api.http.post(api.payment_url("authService")).basic_auth("someone", Some("else"));
    let (status, _) = read_json(request.json(&order(&token)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    // Only the two services exist.
    let unknown = api.http.post(format!("{}{DEFAULT_SELLER_ID}/rs/other", api.sim.payment_api_base_url()));
    assert_eq!(unknown.send().await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(api.sim.request_count(Endpoint::Authorize), 2);
}

#[tokio::test]
async fn a_demo_order_follows_the_card_rules_and_is_marked_on_its_sale() {
    let api = Api::start().await;
    let declined = api.token(DECLINING_CARD).await;
    let mut body = order(&declined);
    body["demo"] = json!(true);
    assert_eq!(api.authorize(&body).await.1["exception"]["errorCode"], "602");

    let token = api.token(APPROVING_CARD).await;
    let mut body = order(&token);
    body["demo"] = json!(true);
    let response = api.approve(&body).await;
    let sale_id = response["orderNumber"].as_str().unwrap().to_owned();
    let sale = api.sale(&sale_id).await;
    assert_eq!(sale["comments"][0]["comment"], DEMO_COMMENT);
    assert_eq!(sale["comments"][0]["username"], DEFAULT_SELLER_ID);
    let record = api.sim.state.store.detail_sale(SaleLookup::Sale(&sale_id)).unwrap();
    assert!(record.demo);
    assert_eq!(record.capture_at, None, "a demo order is never captured");

    let token = api.token(APPROVING_CARD).await;
    let response = api.approve(&order(&token)).await;
    let record = api.sim.state.store.detail_sale(SaleLookup::Sale(response["orderNumber"].as_str().unwrap())).unwrap();
    assert!(!record.demo && record.comments.is_empty());
}

#[tokio::test]
async fn an_authorized_sale_is_captured_and_deposited_48_hours_later_unless_demo() {
    let api = Api::start().await;
    api.sim.clock().set(at("2026-04-01 12:00:00"));
    let token = api.token(APPROVING_CARD).await;
    let real = api.approve(&order(&token)).await["orderNumber"].as_str().unwrap().to_owned();
    let token = api.token(APPROVING_CARD).await;
    let mut demo = order(&token);
    demo["demo"] = json!("true");
    let demo = api.approve(&demo).await["orderNumber"].as_str().unwrap().to_owned();

    api.sim.clock().advance(Duration::from_secs(47 * 3600));
    assert_eq!(api.sale(&real).await["invoices"][0]["status"], "approved");
    api.sim.clock().advance(Duration::from_secs(2 * 3600));
    let sale = api.sale(&real).await;
    assert_eq!(sale["invoices"][0]["status"], "deposited");
    let billing = &sale["invoices"][0]["lineitems"][0]["billing"];
    assert_eq!((&billing["date_pending"], &billing["date_deposited"]), (&json!("2026-04-01"), &json!("2026-04-03")));
    assert!(sale["invoices"][0]["timestamp"].as_str().unwrap().starts_with("2026-04-03 12:00:0"), "the capture's time");
    assert_eq!(api.sale(&demo).await["invoices"][0]["status"], "approved");
}

#[tokio::test]
async fn a_new_sale_can_be_refunded_commented_and_its_recurring_line_stopped() {
    let api = Api::start().await;
    let token = api.token(APPROVING_CARD).await;
    let mut body = order(&token);
    body.as_object_mut().unwrap().remove("total");
    body["lineItems"] = reference_line_items();
    body["shippingAddr"] = shipping_address();
    let response = api.approve(&body).await;
    let sale_id = response["orderNumber"].as_str().unwrap().to_owned();
    let invoice_id = response["transactionId"].as_str().unwrap().to_owned();

    let refund = [
        ("invoice_id", invoice_id.as_str()),
        ("comment", "Changed mind"),
        ("category", "5"),
        ("amount", "5.00"),
        ("currency", "usd"),
    ];
    assert_eq!(
        api.admin_form("sales/refund_invoice", &refund).await,
        (StatusCode::OK, json!({ "response_code": "OK", "response_message": "refund added to invoice" }))
    );
    let sale = api.sale(&sale_id).await;
    let refund_line = line_items(&sale).into_iter().find(|line| line["status"] == "refund").expect("a refund line");
    assert_eq!(refund_line["usd_amount"], "5.00");

    let recurring_line = line_items(&sale)[0]["lineitem_id"].as_str().unwrap().to_owned();
    let (status, body) = api.admin_form("sales/stop_lineitem_recurring", &[("lineitem_id", &recurring_line)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) =
        api.admin_form("sales/mark_shipped", &[("sale_id", &sale_id), ("tracking_number", "1Z999")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Authorized just now: renewed all the same (the reference knows no "not expired" refusal).
    let (status, body) = api.admin_form("sales/reauth", &[("sale_id", &sale_id)]).await;
    assert_eq!((status, &body["response_message"]), (StatusCode::OK, &json!("Payment reauthorized.")));
}

#[tokio::test]
async fn an_authorization_delayed_after_processing_creates_the_sale_even_when_the_client_gives_up() {
    let api = Api::start().await;
    let token = api.token(APPROVING_CARD).await;
    api.sim.inject_fault(Endpoint::Authorize, Fault::delay_after_processing(Duration::from_secs(5)).times(1));
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
    let mut body = order(&token);
    body["merchantOrderId"] = json!("LOST-ANSWER-1");
    let outcome = impatient.post(api.payment_url("authService")).json(&body).send().await;
    assert!(outcome.is_err_and(|error| error.is_timeout()), "the client gave up");
    // The newest sale id lists first: the one just created.
    let (_, listing) = api.list(&[("pagesize", "1")]).await;
    let sale = api.sale(listing["sale_summary"][0]["sale_id"].as_str().unwrap()).await;
    assert_eq!(sale["invoices"][0]["vendor_order_id"], "LOST-ANSWER-1");
    // Retrying with the same token is refused: it was used.
    assert_eq!(api.authorize(&body).await, unauthorized());
}

#[tokio::test]
async fn payment_endpoints_take_delays_and_canned_faults_like_the_others() {
    let api = Api::start().await;
    api.sim.inject_fault(Endpoint::CreateToken, Fault::delay(Duration::from_millis(300)).times(1));
    let started = Instant::now();
    let token = api.token(APPROVING_CARD).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    api.sim.inject_fault(Endpoint::Authorize, Fault::respond(502, "text/html", "<h1>Bad Gateway</h1>").times(1));
    let response = api.http.post(api.payment_url("authService")).json(&order(&token)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(response.text().await.unwrap(), "<h1>Bad Gateway</h1>");
    // The canned answer did not run the authorization: the token still pays.
    api.approve(&order(&token)).await;
    assert_eq!(api.sim.request_count(Endpoint::Authorize), 2);
    assert_eq!(api.sim.request_count(Endpoint::CreateToken), 1);
}

#[tokio::test]
async fn the_payment_configuration_is_the_simulators_own() {
    let api = Api::start_with(SimulatorConfig {
        seller_id: "1817037".to_owned(),
        private_key: "PRIVATE-1".to_owned(),
        publishable_key: "PUBLIC-1".to_owned(),
        generated_sales: 0,
        ..SimulatorConfig::default()
    })
    .await;
    let base = api.sim.payment_api_base_url();
    assert!(base.starts_with("http://127.0.0.1:") && base.ends_with("/checkout/api/1/"), "{base}");
    let url = |service: &str| format!("{base}1817037/rs/{service}");
    let mut card = card_request(APPROVING_CARD);
    assert_eq!(api.post_json(url("tokenService"), &card).await, unauthorized(), "default keys no longer work");
    (card["sellerId"], card["publishableKey"]) = (json!("1817037"), json!("PUBLIC-1"));
    let (_, body) = api.post_json(url("tokenService"), &card).await;
    let mut order = order(body["response"]["token"]["token"].as_str().unwrap());
    (order["sellerId"], order["privateKey"]) = (json!("1817037"), json!("PRIVATE-1"));
    assert_eq!(api.post_json(url("authService"), &order).await.0, StatusCode::OK);

    let shown = format!("{:?}", SimulatorConfig::default());
    assert!(!shown.contains(DEFAULT_PRIVATE_KEY), "{shown}");
    assert!(shown.contains(DEFAULT_SELLER_ID));
}

#[test]
fn the_payment_endpoints_have_their_paths_and_are_not_admin_methods() {
    assert_eq!(Endpoint::CreateToken.path(), "{sellerId}/rs/tokenService");
    assert_eq!(Endpoint::Authorize.path(), "{sellerId}/rs/authService");
    assert_eq!(Endpoint::Authorize.api(), EndpointApi::Payment);
    assert_eq!(Endpoint::DetailSale.api(), EndpointApi::Admin);
    assert_eq!(Endpoint::from_path("{sellerId}/rs/authService"), None);
    assert_eq!(card_for_error_code(602), Some("4000000000000602"));
    assert_eq!(card_for_error_code(601), Some("4000000000000601"));
    assert_eq!(card_for_error_code(700), None);
}
