//! AuthorizationService.Authorize end to end over the simulated Payment API
//! and card network: tokens from the simulator's 2co.js stand-in, every
//! error code, every validation rule, idempotency and the path from
//! authorization to refund.

use std::time::Duration;

use tco_gateway::grpc::proto::{
    AuthorizeRequest, AuthorizeResponse, BillingAddress, Currency, LineItemType, ListSalesRequest, OrderLineItem,
    OrderLineItems, OrderLineOption, OrderLineType, RefundCategory, RefundInvoiceRequest, SalesFilter, ShippingAddress,
    authorization_service_client::AuthorizationServiceClient, authorize_request::Amount,
};
use tco_simulator::{
    APPROVING_CARD, DECLINING_CARD, DEFAULT_PRIVATE_KEY, DEFAULT_PUBLISHABLE_KEY, DEFAULT_SELLER_ID, DEMO_COMMENT,
    Endpoint, Fault, RunningSimulator, card_for_error_code,
};
use tonic::Code;
use tonic_types::StatusExt;

use crate::writes::sale as sale_detail;

use crate::helpers::{
    GENEROUS_DEADLINE, NEVER, TestApp, bad_request_field, expect_error, new_request_id, spawn_app, spawn_gateway,
    spawn_gateway_without_payment_api, spawn_simulator, with_deadline,
};

/// Tokenizes a card as 2co.js would, through the simulator's token service.
pub(crate) async fn token(simulator: &RunningSimulator, card: &str) -> String {
    let url = format!("{}{DEFAULT_SELLER_ID}/rs/tokenService", simulator.payment_api_base_url());
    let body = serde_json::json!({
        "sellerId": DEFAULT_SELLER_ID, "publishableKey": DEFAULT_PUBLISHABLE_KEY,
        "ccNo": card, "expMonth": "12", "expYear": "2030", "cvv": "123",
    });
    let answer: serde_json::Value =
        reqwest::Client::new().post(url).json(&body).send().await.unwrap().json().await.unwrap();
    answer["response"]["token"]["token"].as_str().expect("a token").to_owned()
}

pub(crate) fn billing() -> BillingAddress {
    BillingAddress {
        name: "Testing Tester".into(),
        address_line_1: "123 Test St".into(),
        city: "Columbus".into(),
        state: "Ohio".into(),
        zip_code: "43123".into(),
        country: "USA".into(),
        email: "example@2co.com".into(),
        phone_number: "5555555555".into(),
        ..Default::default()
    }
}

pub(crate) fn authorize_total(token: String, total: &str) -> AuthorizeRequest {
    AuthorizeRequest {
        request_id: new_request_id(),
        merchant_order_id: "order-123".into(),
        token,
        currency: Currency::Usd.into(),
        amount: Some(Amount::Total(total.into())),
        billing_address: Some(billing()),
        ..Default::default()
    }
}

/// A refund of a whole sale, as a customer service tool sends it.
pub(crate) fn full_refund(sale_id: &str) -> RefundInvoiceRequest {
    RefundInvoiceRequest {
        request_id: new_request_id(),
        sale_id: sale_id.to_owned(),
        comment: "Changed their mind".into(),
        category: RefundCategory::DidNotLikeItem.into(),
        ..Default::default()
    }
}

fn payments(app: &TestApp) -> AuthorizationServiceClient<tonic::transport::Channel> {
    AuthorizationServiceClient::new(app.channel.clone())
}

async fn authorize(app: &TestApp, request: AuthorizeRequest) -> Result<AuthorizeResponse, tonic::Status> {
    payments(app).authorize(request).await.map(|r| r.into_inner())
}

#[tokio::test]
async fn token_to_authorization_to_refund_end_to_end() {
    let app = spawn_app().await;
    let approved =
        authorize(&app, authorize_total(token(&app.simulator, APPROVING_CARD).await, "25.00")).await.unwrap();
    assert_eq!(approved.response_code, "APPROVED");
    assert_eq!(approved.total, "25.00");
    assert_eq!(approved.currency(), Currency::Usd);
    assert_eq!(approved.merchant_order_id, "order-123");
    assert_eq!(approved.billing_address.as_ref().unwrap().email, "example@2co.com");

    let sale = sale_detail(&app, &approved.order_number).await;
    assert_eq!(sale.invoices[0].invoice_id, approved.transaction_id);
    assert_eq!(sale.invoices[0].vendor_order_id, "order-123");
    let pay = sale.customer.as_ref().unwrap().pay_method.as_ref().unwrap();
    assert_eq!((pay.first_six_digits.as_str(), pay.last_two_digits.as_str()), ("400000", "02"));

    app.sales.clone().refund_invoice(full_refund(&approved.order_number)).await.expect("the new sale refunds");
    let sale = sale_detail(&app, &approved.order_number).await;
    let refunded: Vec<_> = sale.invoices[0]
        .line_items
        .iter()
        .filter(|l| l.vendor_status == "refund")
        .map(|l| l.usd_amount.clone())
        .collect();
    assert_eq!(refunded, ["25.00"]);
}

#[tokio::test]
async fn line_items_are_totalled_by_the_vendor_and_echoed_in_order() {
    let app = spawn_app().await;
    let lines = vec![
        OrderLineItem {
            r#type: OrderLineType::Product.into(),
            name: "Demo Item 1".into(),
            quantity: Some(2),
            price: "6.99".into(),
            product_id: "123".into(),
            recurrence: "1 Month".into(),
            duration: "1 Year".into(),
            ..Default::default()
        },
        OrderLineItem {
            name: "Demo Item 2".into(),
            price: "1.99".into(),
            options: vec![OrderLineOption { name: "Size".into(), value: "Large".into(), surcharge: "1.00".into() }],
            ..Default::default()
        },
        OrderLineItem {
            r#type: OrderLineType::Shipping.into(),
            name: "Shipping Fee".into(),
            price: "3.00".into(),
            ..Default::default()
        },
    ];
    let request = AuthorizeRequest {
        amount: Some(Amount::LineItems(OrderLineItems { items: lines })),
        shipping_address: Some(ShippingAddress {
            name: "Testing Tester".into(),
            address_line_1: "123 Test St".into(),
            city: "Columbus".into(),
            state: "OH".into(),
            zip_code: "43123".into(),
            country: "USA".into(),
            ..Default::default()
        }),
        ..authorize_total(token(&app.simulator, APPROVING_CARD).await, "")
    };
    let approved = authorize(&app, request).await.unwrap();
    assert_eq!(approved.total, "19.97", "the reference's own example");
    let names: Vec<_> = approved.line_items.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["Demo Item 1", "Demo Item 2", "Shipping Fee"]);
    assert_eq!(approved.line_items[0].recurrence, "1 Month");
    assert_eq!(approved.line_items[1].options[0].surcharge, "1.00");
    assert_eq!(approved.line_items[2].r#type(), OrderLineType::Shipping);
    assert_eq!(approved.shipping_address.unwrap().state, "OH");

    // Read back: a Payment API sale says "product" and Y/N like a real sandbox capture (the
    // documented sale: null and 0/1), and the gateway reads both spellings.
    let sale = sale_detail(&app, &approved.order_number).await;
    let lines = &sale.invoices[0].line_items;
    let tangible: Vec<bool> = lines.iter().map(|l| l.product_tangible).collect();
    assert_eq!(tangible, [false, false, true]);
    let types: Vec<LineItemType> = lines.iter().map(|l| l.r#type()).collect();
    assert_eq!(types, [LineItemType::Product, LineItemType::Product, LineItemType::Shipping]);
}

#[tokio::test]
async fn every_decline_is_failed_precondition_with_the_buyer_facing_text() {
    let app = spawn_app().await;
    let cards = (600..=607).map(|code| (code, card_for_error_code(code).unwrap())).chain([(602, DECLINING_CARD)]);
    for (code, card) in cards {
        let status = authorize(&app, authorize_total(token(&app.simulator, card).await, "10.00")).await.unwrap_err();
        let details = expect_error(&status, Code::FailedPrecondition, "PAYMENT_DECLINED");
        assert_eq!(details.error_info().unwrap().metadata["vendorCode"], code.to_string());
        let localized = details.localized_message().expect("LocalizedMessage for the buyer");
        assert_eq!(localized.locale, "en-US");
        assert!(!localized.message.is_empty());
    }
}

#[tokio::test]
async fn payment_api_codes_200_300_and_400_map_as_documented() {
    let app = spawn_app().await;
    for (code, grpc_code, reason) in [
        (200, Code::InvalidArgument, "PAYMENT_REQUEST_MALFORMED"),
        (300, Code::FailedPrecondition, "PAYMENT_UNAUTHORIZED"),
        (400, Code::InvalidArgument, "PAYMENT_PARAMETER_ERROR"),
    ] {
        let card = card_for_error_code(code).unwrap();
        let status = authorize(&app, authorize_total(token(&app.simulator, card).await, "10.00")).await.unwrap_err();
        let details = expect_error(&status, grpc_code, reason);
        assert_eq!(details.error_info().unwrap().metadata["vendorCode"], code.to_string());
        if code == 400 {
            assert_eq!(bad_request_field(&details), "token");
        }
    }
}

#[tokio::test]
async fn a_reused_token_is_refused_and_charges_nothing() {
    let app = spawn_app().await;
    let token = token(&app.simulator, APPROVING_CARD).await;
    authorize(&app, authorize_total(token.clone(), "5.00")).await.unwrap();
    let status = authorize(&app, authorize_total(token.clone(), "5.00")).await.unwrap_err();
    expect_error(&status, Code::FailedPrecondition, "PAYMENT_UNAUTHORIZED");
    assert!(!status.message().contains(&token), "the token stays out of the status");
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let app = spawn_app().await;
    let token = token(&app.simulator, APPROVING_CARD).await;
    app.simulator.clock().advance(Duration::from_secs(31 * 60));
    let status = authorize(&app, authorize_total(token, "5.00")).await.unwrap_err();
    expect_error(&status, Code::FailedPrecondition, "PAYMENT_UNAUTHORIZED");
}

#[tokio::test]
async fn a_retry_returns_the_same_order_number_and_charges_once() {
    let app = spawn_app().await;
    let request = authorize_total(token(&app.simulator, APPROVING_CARD).await, "12.34");
    let first = authorize(&app, request.clone()).await.unwrap();
    let retry = authorize(&app, request.clone()).await.unwrap();
    assert_eq!(first, retry);
    assert_eq!(app.simulator.request_count(Endpoint::Authorize), 1);

    let different = AuthorizeRequest { merchant_order_id: "order-456".into(), ..request };
    let status = authorize(&app, different).await.unwrap_err();
    expect_error(&status, Code::InvalidArgument, "REQUEST_ID_REUSED");
}

#[tokio::test]
async fn the_demo_flag_places_a_test_order() {
    let app = spawn_app().await;
    let request =
        AuthorizeRequest { demo: true, ..authorize_total(token(&app.simulator, APPROVING_CARD).await, "1.00") };
    let approved = authorize(&app, request).await.unwrap();
    let sale = sale_detail(&app, &approved.order_number).await;
    assert!(sale.comments.iter().any(|c| c.text == DEMO_COMMENT), "{:?}", sale.comments);
}

#[tokio::test]
async fn a_lost_answer_is_outcome_unknown_and_the_retry_never_charges_twice() {
    let app = spawn_app().await;
    app.simulator.inject_fault(Endpoint::Authorize, Fault::delay_after_processing(NEVER));
    let request = AuthorizeRequest {
        billing_address: Some(BillingAddress { email: "lost.answer@example.test".into(), ..billing() }),
        ..authorize_total(token(&app.simulator, APPROVING_CARD).await, "42.00")
    };
    let status = payments(&app).authorize(with_deadline(request.clone(), GENEROUS_DEADLINE)).await.unwrap_err();
    expect_error(&status, Code::DeadlineExceeded, "OUTCOME_UNKNOWN");
    app.simulator.clear_faults();

    // The retry resends: the token was consumed by the first (successful) attempt, so nothing is charged.
    let status = authorize(&app, request).await.unwrap_err();
    expect_error(&status, Code::Unavailable, "OUTCOME_UNKNOWN");
    assert!(status.message().contains("merchant_order_id"), "{}", status.message());
    let listed = app
        .sales
        .clone()
        .list_sales(ListSalesRequest {
            filter: Some(SalesFilter { customer_email: "lost.answer@example.test".into(), ..Default::default() }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.page_info.unwrap().total_entries, 1, "exactly one sale was created");
}

#[tokio::test]
async fn every_attribute_rule_names_its_field_without_calling_2checkout() {
    let app = spawn_app().await;
    let base = authorize_total("tok_123".into(), "10.00");
    let line = |f: fn(&mut OrderLineItem)| {
        let mut item = OrderLineItem { name: "Thing".into(), price: "5.00".into(), ..Default::default() };
        f(&mut item);
        AuthorizeRequest { amount: Some(Amount::LineItems(OrderLineItems { items: vec![item] })), ..base.clone() }
    };
    let with_billing = |f: fn(&mut BillingAddress)| {
        let mut address = billing();
        f(&mut address);
        AuthorizeRequest { billing_address: Some(address), ..base.clone() }
    };
    let cases: Vec<(AuthorizeRequest, &str)> = vec![
        (AuthorizeRequest { request_id: "nope".into(), ..base.clone() }, "request_id"),
        (AuthorizeRequest { merchant_order_id: String::new(), ..base.clone() }, "merchant_order_id"),
        (AuthorizeRequest { token: String::new(), ..base.clone() }, "token"),
        (AuthorizeRequest { currency: Currency::Unspecified.into(), ..base.clone() }, "currency"),
        (AuthorizeRequest { amount: None, ..base.clone() }, "amount"),
        (AuthorizeRequest { amount: Some(Amount::Total("-1.00".into())), ..base.clone() }, "total"),
        (AuthorizeRequest { amount: Some(Amount::Total("100000000.00".into())), ..base.clone() }, "total"),
        (AuthorizeRequest { amount: Some(Amount::Total("1.005".into())), ..base.clone() }, "total"),
        (
            AuthorizeRequest { amount: Some(Amount::LineItems(OrderLineItems::default())), ..base.clone() },
            "line_items.items",
        ),
        (line(|l| l.quantity = Some(1000)), "line_items.items[0].quantity"),
        (line(|l| l.quantity = Some(-1)), "line_items.items[0].quantity"),
        (line(|l| l.name = "x".repeat(129)), "line_items.items[0].name"),
        (line(|l| l.name = "<b>".into()), "line_items.items[0].name"),
        (line(|l| l.price = String::new()), "line_items.items[0].price"),
        (line(|l| l.recurrence = "1 Month".into()), "line_items.items[0].duration"),
        (line(|l| l.duration = "Forever".into()), "line_items.items[0].recurrence"),
        (
            line(|l| {
                l.recurrence = "monthly".into();
                l.duration = "Forever".into();
            }),
            "line_items.items[0].recurrence",
        ),
        (
            line(|l| {
                l.recurrence = "1 Month".into();
                l.duration = "for ever".into();
            }),
            "line_items.items[0].duration",
        ),
        (line(|l| l.startup_fee = "5.00".into()), "line_items.items[0].startup_fee"),
        (line(|l| l.startup_fee = "7.50".into()), "line_items.items[0].startup_fee"),
        (
            line(|l| {
                l.options = vec![OrderLineOption { name: "x".repeat(65), value: "v".into(), surcharge: "0.00".into() }]
            }),
            "line_items.items[0].options[0].name",
        ),
        (
            line(|l| {
                l.options = vec![OrderLineOption { name: "Size".into(), value: "<L>".into(), surcharge: "0.00".into() }]
            }),
            "line_items.items[0].options[0].value",
        ),
        (line(|l| l.r#type = OrderLineType::Shipping.into()), "shipping_address"),
        (AuthorizeRequest { billing_address: None, ..base.clone() }, "billing_address"),
        (with_billing(|b| b.name = "x".repeat(129)), "billing_address.name"),
        (with_billing(|b| b.address_line_1 = "x".repeat(65)), "billing_address.address_line_1"),
        (with_billing(|b| b.state = String::new()), "billing_address.state"),
        (with_billing(|b| b.zip_code = "1".repeat(17)), "billing_address.zip_code"),
        (
            with_billing(|b| {
                b.country = "JPN".into();
                b.address_line_2 = String::new();
            }),
            "billing_address.address_line_2",
        ),
        (with_billing(|b| b.email = "not-an-email".into()), "billing_address.email"),
        (with_billing(|b| b.phone_number = "1".repeat(17)), "billing_address.phone_number"),
        (with_billing(|b| b.phone_extension = "1".repeat(10)), "billing_address.phone_extension"),
    ];
    for (request, field) in cases {
        let status = authorize(&app, request).await.unwrap_err();
        let details = expect_error(&status, Code::InvalidArgument, "INVALID_FIELD");
        assert_eq!(bad_request_field(&details), field, "{status:?}");
    }
    // A negative startup fee below the price is fine, and a state is optional outside the listed countries.
    let fine = [
        line(|l| l.startup_fee = "-2.00".into()),
        with_billing(|b| {
            b.country = "DEU".into();
            b.state = String::new();
            b.zip_code = String::new();
        }),
    ];
    for request in fine {
        // They reach 2Checkout, which refuses the made-up token.
        let status = authorize(&app, AuthorizeRequest { request_id: new_request_id(), ..request }).await.unwrap_err();
        expect_error(&status, Code::InvalidArgument, "PAYMENT_PARAMETER_ERROR");
    }
    assert_eq!(app.simulator.request_count(Endpoint::Authorize), 2, "only the two valid requests reached 2Checkout");
}

#[tokio::test]
async fn without_payment_credentials_authorize_is_unimplemented() {
    let simulator = spawn_simulator().await;
    let app = spawn_gateway_without_payment_api(&simulator).await;
    let status = authorize(&app, authorize_total(token(&simulator, APPROVING_CARD).await, "1.00")).await.unwrap_err();
    expect_error(&status, Code::Unimplemented, "PAYMENT_API_NOT_CONFIGURED");
    assert_eq!(simulator.request_count(Endpoint::Authorize), 0);
}

#[tokio::test]
async fn a_wrong_private_key_is_payment_unauthorized_and_never_leaks() {
    let simulator = spawn_simulator().await;
    let app = spawn_gateway(&simulator, &[("payment_api.private_key", "WRONG-KEY-0000")]).await;
    let status = authorize(&app, authorize_total(token(&simulator, APPROVING_CARD).await, "1.00")).await.unwrap_err();
    expect_error(&status, Code::FailedPrecondition, "PAYMENT_UNAUTHORIZED");
    let everything = format!("{status:?}{:?}", status.get_error_details());
    assert!(!everything.contains("WRONG-KEY") && !everything.contains(DEFAULT_PRIVATE_KEY));
}
