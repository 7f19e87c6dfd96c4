//! The Payment API client: card authorization (`authService`).
//!
//! Unlike the Admin API it takes no Basic auth: the seller id travels in the
//! URL and the private key in the JSON body (both from the gateway's
//! configuration). Its answers carry either a `response` or an `exception`
//! object whatever the HTTP status. An authorization moves money, so once the
//! request may have left, a lost answer is OUTCOME_UNKNOWN and it is never
//! retried here. Redirects are never followed (the body carries the private
//! key and the card token), and only positive evidence is success: a
//! `response` whose `responseCode` is `APPROVED` with an order number. Any
//! other answer that is not an `exception` (a redirect, a 5xx, `{}`, HTML,
//! garbage) is OUTCOME_UNKNOWN. So is an answer over the byte cap
//! (`payment_api.max_body_bytes`, enforced while the body streams in), nested
//! deeper than 64 levels or holding more objects than any real answer (see
//! [`limits`]): it is never decoded.

use std::time::Duration;

use reqwest::{Method, StatusCode, Url, header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tracing::Instrument as _;

use super::{
    admin::{CallKind, over_cap, transport_error},
    limiter::UpstreamLimiter,
    limits::{self, BodyError},
    wire::{Many, Text},
};
use crate::{
    domain::{
        Amount, Authorization, AuthorizationRequest, BillingContact, CallContext, Error, OrderAmount, OrderLine,
        OrderLineOption, OrderLineType, PaymentCode, PaymentError, PaymentPort, PostalAddress, Recurrence,
    },
    telemetry::UpstreamCall,
};

/// What the client needs to know.
#[derive(Clone, Debug)]
pub struct PaymentApiConfig {
    /// Base URL ending in `/`, e.g. `https://www.2checkout.com/checkout/api/1/`.
    pub base_url: Url,
    pub seller_id: String,
    pub private_key: SecretString,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// The largest answer read; a larger one is refused unread (see [`limits::read_capped`]).
    pub max_body_bytes: usize,
    /// The most authorizations in flight at once (see `limiter.rs`).
    pub max_concurrent_requests: u32,
}

/// A pooled client of the Payment API.
#[derive(Clone, Debug)]
pub struct PaymentApiClient {
    http: reqwest::Client,
    config: PaymentApiConfig,
    slots: UpstreamLimiter,
}

impl PaymentApiClient {
    pub fn new(config: PaymentApiConfig) -> Result<Self, reqwest::Error> {
        let slots = UpstreamLimiter::new("Payment API", config.max_concurrent_requests);
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("tco-gateway/", env!("CARGO_PKG_VERSION")))
            // A redirect (307/308 keep the body) would re-post the private key and the card token.
            .redirect(reqwest::redirect::Policy::none())
            // No more idle connections than authorizations can be in flight at once.
            .pool_max_idle_per_host(slots.pool_size())
            .build()?;
        Ok(Self { http, config, slots })
    }
}

/// The documented buyer-facing text of each decline, for a checkout to show.
pub fn buyer_message(code: &PaymentCode) -> Option<&'static str> {
    Some(match code {
        PaymentCode::AuthorizationFailed => "Authorization Failed",
        PaymentCode::CardExpired => {
            "Payment Authorization Failed: Please update your cards expiration date and try again, or try another payment method."
        }
        PaymentCode::CardDetailsInvalid => {
            "Payment Authorization Failed: Please verify your Credit Card details are entered correctly and try again, or try another payment method."
        }
        PaymentCode::CurrencyRefused => {
            "Your credit card has been declined because of the currency you are attempting to pay in. Please change the currency of the transaction or use a different card and try again."
        }
        PaymentCode::CreditNotEnabled => {
            "Payment Authorization Failed: Credit is not enabled on this type of card, please contact your bank for more information or try another payment method."
        }
        PaymentCode::InvalidTransactionType => {
            "Payment Authorization Failed: Invalid transaction type for this credit card, please use a different card and try submitting the payment again, or contact your bank for more information."
        }
        PaymentCode::CardRefused => {
            "Payment Authorization Failed: Please use a different credit card or payment method and try again, or contact your bank for more information."
        }
        PaymentCode::InformationInvalid => {
            "Payment Authorization Failed: Please verify your information and try again, or try another payment method."
        }
        PaymentCode::RequestMalformed
        | PaymentCode::Unauthorized
        | PaymentCode::ParameterError
        | PaymentCode::Other(_) => {
            return None;
        }
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireAuthorize<'a> {
    seller_id: &'a str,
    private_key: &'a str,
    merchant_order_id: &'a str,
    token: &'a str,
    currency: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line_items: Option<Vec<WireLineOut>>,
    billing_addr: WireAddressOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    shipping_addr: Option<WireAddressOut>,
    demo: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireLineOut {
    #[serde(rename = "type")]
    line_type: &'static str,
    name: String,
    quantity: String,
    price: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    tangible: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recurrence: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    startup_fee: Option<String>,
    options: Vec<WireOptionOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireOptionOut {
    opt_name: String,
    opt_value: String,
    opt_surcharge: String,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireAddressOut {
    name: String,
    addr_line1: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    addr_line2: Option<String>,
    city: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    zip_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_ext: Option<String>,
}

fn address_out(a: &PostalAddress) -> WireAddressOut {
    WireAddressOut {
        name: a.name.clone(),
        addr_line1: a.line_1.clone(),
        addr_line2: a.line_2.clone(),
        city: a.city.clone(),
        state: a.state.clone(),
        zip_code: a.zip_code.clone(),
        country: a.country.clone(),
        ..Default::default()
    }
}

fn line_out(line: &OrderLine) -> WireLineOut {
    WireLineOut {
        line_type: line.line_type.as_vendor_str(),
        name: line.name.clone(),
        quantity: line.quantity.to_string(),
        price: line.price.to_string(),
        tangible: line.tangible.map(|t| if t { "Y" } else { "N" }),
        product_id: line.product_id.clone(),
        recurrence: line.recurrence.as_ref().map(|r| r.every.clone()),
        duration: line.recurrence.as_ref().map(|r| r.duration.clone()),
        startup_fee: line.startup_fee.map(|f| f.to_string()),
        options: line
            .options
            .iter()
            .map(|o| WireOptionOut {
                opt_name: o.name.clone(),
                opt_value: o.value.clone(),
                opt_surcharge: o.surcharge.to_string(),
            })
            .collect(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireAnswer {
    response: Option<WireResponse>,
    exception: Option<WireException>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WireException {
    error_code: Text,
    error_msg: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WireResponse {
    merchant_order_id: Text,
    order_number: Text,
    transaction_id: Text,
    response_code: Text,
    response_msg: Text,
    total: Text,
    currency_code: Text,
    line_items: Many<WireLineIn>,
    billing_addr: Option<WireAddressIn>,
    shipping_addr: Option<WireAddressIn>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WireLineIn {
    #[serde(rename = "type")]
    line_type: Text,
    name: Text,
    quantity: Text,
    price: Text,
    tangible: Text,
    product_id: Text,
    recurrence: Text,
    duration: Text,
    startup_fee: Text,
    options: Many<WireOptionIn>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WireOptionIn {
    opt_name: Text,
    opt_value: Text,
    opt_surcharge: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WireAddressIn {
    name: Text,
    addr_line1: Text,
    addr_line2: Text,
    city: Text,
    state: Text,
    zip_code: Text,
    country: Text,
    email: Text,
    phone_number: Text,
    #[serde(alias = "phoneExt")]
    phone_extension: Text,
}

fn text(t: &Text) -> String {
    t.get().unwrap_or_default().to_owned()
}

fn amount(t: &Text, path: &str) -> Result<Option<Amount>, String> {
    t.get().map(|raw| raw.parse::<Amount>().map_err(|e| format!("{path}: {e}"))).transpose()
}

fn address_in(a: &WireAddressIn) -> PostalAddress {
    PostalAddress {
        name: text(&a.name),
        line_1: text(&a.addr_line1),
        line_2: a.addr_line2.get().map(str::to_owned),
        city: text(&a.city),
        state: a.state.get().map(str::to_owned),
        zip_code: a.zip_code.get().map(str::to_owned),
        country: a.country.get().map(str::to_owned),
    }
}

impl WireResponse {
    fn into_domain(self) -> Result<Authorization, String> {
        let lines = self
            .line_items
            .0
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let path = format!("lineItems[{i}]");
                Ok(OrderLine {
                    line_type: l.line_type.get().and_then(OrderLineType::from_vendor).unwrap_or(OrderLineType::Product),
                    name: text(&l.name),
                    quantity: l.quantity.get().map_or(Ok(1), |q| {
                        q.trim().parse().map_err(|_| format!("{path}.quantity: not a whole number"))
                    })?,
                    price: amount(&l.price, &format!("{path}.price"))?.unwrap_or(Amount::from_minor_units(0)),
                    tangible: l.tangible.get().map(|t| t.eq_ignore_ascii_case("Y")),
                    product_id: l.product_id.get().map(str::to_owned),
                    recurrence: match (l.recurrence.get(), l.duration.get()) {
                        (Some(every), Some(duration)) => {
                            Some(Recurrence { every: every.to_owned(), duration: duration.to_owned() })
                        }
                        _ => None,
                    },
                    startup_fee: amount(&l.startup_fee, &format!("{path}.startupFee"))?,
                    options: l
                        .options
                        .0
                        .iter()
                        .map(|o| {
                            Ok(OrderLineOption {
                                name: text(&o.opt_name),
                                value: text(&o.opt_value),
                                surcharge: amount(&o.opt_surcharge, &format!("{path}.options.optSurcharge"))?
                                    .unwrap_or(Amount::from_minor_units(0)),
                            })
                        })
                        .collect::<Result<_, String>>()?,
                })
            })
            .collect::<Result<_, String>>()?;
        let order_number =
            self.order_number.get().filter(|n| !n.trim().is_empty()).ok_or("orderNumber: missing")?.to_owned();
        Ok(Authorization {
            transaction_id: text(&self.transaction_id),
            merchant_order_id: text(&self.merchant_order_id),
            response_code: text(&self.response_code),
            response_message: text(&self.response_msg),
            total: amount(&self.total, "total")?,
            currency: text(&self.currency_code),
            lines,
            billing: self.billing_addr.as_ref().map(|b| BillingContact {
                address: address_in(b),
                email: text(&b.email),
                phone_number: text(&b.phone_number),
                phone_extension: b.phone_extension.get().map(str::to_owned),
            }),
            shipping: self.shipping_addr.as_ref().map(address_in),
            order_number,
        })
    }
}

/// The Payment API as this deployment has it: configured, or not at all.
#[derive(Clone, Debug)]
pub enum PaymentBackend {
    Api(Box<PaymentApiClient>),
    /// No seller id and private key: Authorize answers UNIMPLEMENTED.
    NotConfigured,
}

impl PaymentPort for PaymentBackend {
    async fn authorize(&self, ctx: CallContext, request: &AuthorizationRequest) -> Result<Authorization, Error> {
        match self {
            Self::Api(client) => client.as_ref().authorize(ctx, request).await,
            Self::NotConfigured => Err(Error::PaymentApiNotConfigured),
        }
    }
}

impl PaymentPort for PaymentApiClient {
    async fn authorize(&self, ctx: CallContext, request: &AuthorizationRequest) -> Result<Authorization, Error> {
        let (total, line_items) = match &request.amount {
            OrderAmount::Total(total) => (Some(total.to_string()), None),
            OrderAmount::Lines(lines) => (None, Some(lines.iter().map(line_out).collect())),
        };
        let billing = &request.billing;
        let body = WireAuthorize {
            seller_id: &self.config.seller_id,
            private_key: self.config.private_key.expose_secret(),
            merchant_order_id: &request.merchant_order_id,
            token: request.token.expose(),
            currency: request.currency,
            total,
            line_items,
            billing_addr: WireAddressOut {
                email: Some(billing.email.clone()),
                phone_number: Some(billing.phone_number.clone()),
                phone_ext: billing.phone_extension.clone(),
                ..address_out(&billing.address)
            },
            shipping_addr: request.shipping.as_ref().map(address_out),
            demo: request.demo,
        };
        // Held until the answer is read; a caller that never gets one was never sent.
        let _slot = self.slots.acquire(ctx, self.config.request_timeout).await?;
        let timeout = super::admin::time_budget(ctx, self.config.request_timeout)?;
        let url = self.config.base_url.join(&format!("{}/rs/authService", self.config.seller_id)).map_err(|e| {
            Error::UpstreamResponseInvalid { detail: format!("cannot build the authService URL: {e}"), http_status: 0 }
        })?;
        let mut upstream = UpstreamCall::start(&Method::POST, &url, "authService");
        let request = self
            .http
            .post(url)
            .json(&body)
            .header(header::ACCEPT, "application/json")
            .headers(upstream.trace_headers())
            .timeout(timeout);
        let span = upstream.span().clone();
        let outcome = exchange(request, self.config.max_body_bytes, &mut upstream).instrument(span).await;
        upstream.finish(&outcome);
        outcome
    }
}

/// Sends one authorization and reads 2Checkout's answer.
async fn exchange(
    request: reqwest::RequestBuilder,
    max_body_bytes: usize,
    upstream: &mut UpstreamCall,
) -> Result<Authorization, Error> {
    const ENDPOINT: &str = "authService";
    let response = request.send().await.map_err(|e| transport_error(CallKind::Write, ENDPOINT, e))?;
    let status = response.status();
    upstream.record_status(status);
    if status.is_redirection() {
        super::admin::log_redirect(ENDPOINT, status, response.url(), response.headers());
        // A redirect is refused whatever its body says: not a byte of it is read.
        return interpret_authorization(status, &[]);
    }
    let body = limits::read_capped(response, max_body_bytes).await.map_err(|e| match e {
        BodyError::Transport(e) => transport_error(CallKind::Write, ENDPOINT, e),
        BodyError::TooLarge { cap, declared } => Error::OutcomeUnknown {
            detail: format!("{}; the card may have been charged", over_cap(ENDPOINT, status.as_u16(), cap, declared)),
            timed_out: false,
            http_status: Some(status.as_u16()),
        },
    })?;
    interpret_authorization(status, &body)
}

/// Classifies the answer to an authorization: an `exception` is a definite
/// refusal; success needs a 2xx `response` that decodes, says `APPROVED` and
/// names an order number; anything else may have charged the card and is
/// OUTCOME_UNKNOWN.
pub(crate) fn interpret_authorization(status: StatusCode, body: &[u8]) -> Result<Authorization, Error> {
    let http_status = status.as_u16();
    let unknown = |detail: String| Error::OutcomeUnknown {
        detail: format!("{detail}; the card may have been charged"),
        timed_out: false,
        http_status: Some(http_status),
    };
    if status.is_redirection() {
        return Err(unknown(format!(
            "authService answered HTTP {http_status}, a redirect, which the gateway never follows"
        )));
    }
    if status.is_server_error() {
        return Err(unknown(format!("authService answered HTTP {http_status}")));
    }
    if body.trim_ascii_start().first() != Some(&b'{') {
        // Never decoded into a wire type: serde reads a struct from an array too, field by field.
        return Err(unknown(format!("authService answered HTTP {http_status} with a body that is not a JSON object")));
    }
    if let Err(too_complex) = limits::check_json(body) {
        tracing::debug!(http_status, %too_complex, "Payment API answer over the limits");
        return Err(unknown(format!("authService answered HTTP {http_status} with JSON {too_complex}")));
    }
    let answer: WireAnswer = serde_json::from_slice(body).map_err(|e| {
        // A type error's message quotes the value, and the answer holds the buyer's details.
        tracing::debug!(http_status, line = e.line(), column = e.column(), kind = ?e.classify(), "undecodable Payment API answer");
        unknown(format!("authService answered HTTP {http_status} with a body that is not the expected JSON (column {})", e.column()))
    })?;
    if let Some(exception) = answer.exception.filter(|e| e.error_code.get().is_some()) {
        let code = PaymentCode::parse(&text(&exception.error_code));
        if code == PaymentCode::Unauthorized {
            // Per call this is an expired or reused token; if every call gets it, the key is wrong.
            tracing::warn!(
                "Payment API answered 300 Unauthorized: a stale card token, or wrong seller credentials if this repeats"
            );
        }
        return Err(Error::Payment(PaymentError {
            buyer_message: buyer_message(&code).map(str::to_owned),
            message: exception.error_msg.get().unwrap_or("2Checkout refused the authorization").to_owned(),
            http_status,
            code,
        }));
    }
    let Some(response) = answer.response.filter(|_| status.is_success()) else {
        return Err(unknown(format!("authService answered HTTP {http_status} with neither response nor exception")));
    };
    if response.response_code.get().map(str::trim) != Some(APPROVED) {
        tracing::debug!(http_status, "Payment API response without responseCode APPROVED");
        return Err(unknown(format!("authService answered HTTP {http_status} without responseCode {APPROVED}")));
    }
    response.into_domain().map_err(|problem| unknown(format!("authService: {problem}")))
}

/// The `responseCode` of an authorization that went through.
const APPROVED: &str = "APPROVED";

#[cfg(test)]
mod tests {
    use super::*;

    const APPROVED_ANSWER: &str = r#"{"validationErrors":null,"exception":null,"response":{"type":"AuthResponse",
        "merchantOrderId":"order-1","orderNumber":"9093717691800","transactionId":"9093717691809",
        "responseMsg":"Successfully authorized the provided credit card","responseCode":"APPROVED",
        "total":"1.00","currencyCode":"USD","lineItems":[],"billingAddr":null,"shippingAddr":null}}"#;

    fn authorize(status: u16, body: &str) -> Result<Authorization, Error> {
        interpret_authorization(StatusCode::from_u16(status).unwrap(), body.as_bytes())
    }

    #[test]
    fn an_authorization_succeeds_only_when_approved_with_an_order_number() {
        let authorization = authorize(200, APPROVED_ANSWER).unwrap();
        assert_eq!(authorization.order_number, "9093717691800");
        assert_eq!(authorization.response_code, "APPROVED");
    }

    #[test]
    fn any_other_answer_to_an_authorization_is_outcome_unknown_never_success_nor_internal() {
        let without_code = APPROVED_ANSWER.replace(r#""responseCode":"APPROVED","#, "");
        let pending = APPROVED_ANSWER.replace("APPROVED", "PENDING");
        let no_order = APPROVED_ANSWER.replace(r#""orderNumber":"9093717691800","#, "");
        let blank_order = APPROVED_ANSWER.replace("9093717691800", " ");
        let bad_total = APPROVED_ANSWER.replace(r#""total":"1.00""#, r#""total":"lots""#);
        for (status, body) in [
            (200, "{}"),
            (200, r#"{"response":null,"exception":null}"#),
            (200, r#"{"response":{}}"#),
            (200, r#"{"response":{"responseCode":"FAIL","orderNumber":"1"}}"#),
            (200, without_code.as_str()),
            (200, pending.as_str()),
            (200, no_order.as_str()),
            (200, blank_order.as_str()),
            (200, bad_total.as_str()),
            (200, r#"{"exception":{"errorCode":null}}"#),
            (200, "<html><body>Approved!</body></html>"),
            (200, "\u{0}garbage"),
            (200, ""),
            (200, r#"{"response":{"responseCode":"APPROVED""#),
            (200, r#"["APPROVED"]"#),
            (200, r#"[{"responseCode":"APPROVED","orderNumber":"9093717691800"}]"#),
            (404, APPROVED_ANSWER),
            (500, APPROVED_ANSWER),
            (503, "down"),
            (301, APPROVED_ANSWER),
            (302, APPROVED_ANSWER),
            (307, APPROVED_ANSWER),
            (308, APPROVED_ANSWER),
        ] {
            match authorize(status, body) {
                Err(Error::OutcomeUnknown { timed_out: false, http_status: Some(s), .. }) if s == status => {}
                other => panic!("HTTP {status} {body}: expected OUTCOME_UNKNOWN, got {other:?}"),
            }
        }
        for status in [301, 302, 303, 307, 308] {
            let Err(Error::OutcomeUnknown { detail, .. }) = authorize(status, APPROVED_ANSWER) else { panic!() };
            assert!(detail.contains("a redirect, which the gateway never follows"), "{detail}");
        }
    }

    #[test]
    fn an_exception_is_a_definite_refusal_whatever_the_status() {
        let body = r#"{"response":null,"exception":{"errorCode":"602","errorMsg":"Payment Authorization Failed"}}"#;
        for status in [200, 400] {
            let Err(Error::Payment(refusal)) = authorize(status, body) else { panic!("{status}") };
            assert_eq!(refusal.code, PaymentCode::parse("602"));
            assert_eq!(refusal.http_status, status);
        }
    }

    #[test]
    fn an_answer_nested_past_the_limit_is_outcome_unknown() {
        let deep =
            APPROVED_ANSWER.replace(r#""lineItems":[]"#, &format!(r#""x":{}{}"#, "[".repeat(65), "]".repeat(65)));
        let Err(Error::OutcomeUnknown { detail, http_status: Some(200), .. }) = authorize(200, &deep) else { panic!() };
        assert!(detail.contains("nested deeper than 64 levels"), "{detail}");
    }

    #[test]
    fn an_answer_of_more_objects_than_the_limit_is_outcome_unknown() {
        let lines = vec!["{}"; limits::MAX_JSON_CONTAINERS].join(",");
        let flood = APPROVED_ANSWER.replace(r#""lineItems":[]"#, &format!(r#""lineItems":[{lines}]"#));
        let Err(Error::OutcomeUnknown { detail, .. }) = authorize(200, &flood) else { panic!() };
        assert!(detail.contains("more than 4096 objects and arrays"), "{detail}");
    }
}
