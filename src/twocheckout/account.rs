//! The account calls of the Admin API (`acct/*`, all GETs without
//! parameters): [`AdminApiClient`] as the domain's [`AccountPort`].
//!
//! They go through [`AdminApiClient::call`] like every other call, so the
//! rules of `admin.rs` hold unchanged (see `catalog.rs` for the list).
//! Particular to these:
//! - detail_company_info's answer carries the account's INS `secret_word`.
//!   Its wire type has no such field, so the value is skipped unread into
//!   anything: it cannot reach a [`CompanyInfo`], a cache, a caller or a log
//!   (an unexpected answer is logged by its shape only, as every answer is);
//! - the string `"null"` (detail_contact_info's `customer_service_phone_ext`)
//!   is absent, like null;
//! - list_payments answers "no payouts" with HTTP 400 RECORD_NOT_FOUND on some
//!   accounts and an empty `payments` list on others: both are an empty list;
//! - an OK answer without its record (`vendor_company_info`,
//!   `vendor_contact_info`, `payment`) is UPSTREAM_RESPONSE_INVALID.

use reqwest::StatusCode;

use super::{
    admin::{AdminApiClient, CallKind, interpret},
    catalog::{invalid, is_no_rows, missing},
    catalog_wire::{CompanyInfoBody, ContactInfoBody, ListPaymentsBody, PendingPaymentBody},
};
use crate::domain::{AccountPayment, AccountPort, CallContext, CompanyInfo, ContactInfo, Error, PendingPayment};

const COMPANY_INFO: &str = "acct/detail_company_info";
const CONTACT_INFO: &str = "acct/detail_contact_info";
const PENDING_PAYMENT: &str = "acct/detail_pending_payment";
const LIST_PAYMENTS: &str = "acct/list_payments";

impl AccountPort for AdminApiClient {
    async fn company_info(&self, ctx: CallContext) -> Result<CompanyInfo, Error> {
        self.call(ctx, CallKind::Read, COMPANY_INFO, &[], decode_company_info).await
    }

    async fn contact_info(&self, ctx: CallContext) -> Result<ContactInfo, Error> {
        self.call(ctx, CallKind::Read, CONTACT_INFO, &[], decode_contact_info).await
    }

    async fn pending_payment(&self, ctx: CallContext) -> Result<PendingPayment, Error> {
        self.call(ctx, CallKind::Read, PENDING_PAYMENT, &[], decode_pending_payment).await
    }

    async fn list_payments(&self, ctx: CallContext) -> Result<Vec<AccountPayment>, Error> {
        self.call(ctx, CallKind::Read, LIST_PAYMENTS, &[], decode_list_payments).await
    }
}

/// The decoders the calls above hand to `call`, reachable from `untrusted.rs` (the fuzz
/// oracles and property tests) through the public client type, the one way out of this
/// private module: what is fuzzed is exactly what the calls run.
impl AdminApiClient {
    pub(crate) fn decode_company_info(
        status: StatusCode,
        content_type: &str,
        body: &[u8],
    ) -> Result<CompanyInfo, Error> {
        decode_company_info(status, content_type, body)
    }

    pub(crate) fn decode_contact_info(
        status: StatusCode,
        content_type: &str,
        body: &[u8],
    ) -> Result<ContactInfo, Error> {
        decode_contact_info(status, content_type, body)
    }

    pub(crate) fn decode_pending_payment(
        status: StatusCode,
        content_type: &str,
        body: &[u8],
    ) -> Result<PendingPayment, Error> {
        decode_pending_payment(status, content_type, body)
    }

    pub(crate) fn decode_list_payments(
        status: StatusCode,
        content_type: &str,
        body: &[u8],
    ) -> Result<Vec<AccountPayment>, Error> {
        decode_list_payments(status, content_type, body)
    }
}

fn decode_company_info(status: StatusCode, content_type: &str, body: &[u8]) -> Result<CompanyInfo, Error> {
    let answer: CompanyInfoBody<'_> = interpret(COMPANY_INFO, status, content_type, body)?;
    answer
        .into_domain()
        .map_err(|e| invalid(COMPANY_INFO, status, e))?
        .ok_or_else(|| missing(COMPANY_INFO, status, "vendor_company_info"))
}

fn decode_contact_info(status: StatusCode, content_type: &str, body: &[u8]) -> Result<ContactInfo, Error> {
    let answer: ContactInfoBody<'_> = interpret(CONTACT_INFO, status, content_type, body)?;
    answer
        .into_domain()
        .map_err(|e| invalid(CONTACT_INFO, status, e))?
        .ok_or_else(|| missing(CONTACT_INFO, status, "vendor_contact_info"))
}

fn decode_pending_payment(status: StatusCode, content_type: &str, body: &[u8]) -> Result<PendingPayment, Error> {
    let answer: PendingPaymentBody<'_> = interpret(PENDING_PAYMENT, status, content_type, body)?;
    answer
        .into_domain()
        .map_err(|e| invalid(PENDING_PAYMENT, status, e))?
        .ok_or_else(|| missing(PENDING_PAYMENT, status, "payment"))
}

fn decode_list_payments(status: StatusCode, content_type: &str, body: &[u8]) -> Result<Vec<AccountPayment>, Error> {
    match interpret::<ListPaymentsBody<'_>>(LIST_PAYMENTS, status, content_type, body) {
        Ok(answer) => answer.into_domain().map_err(|e| invalid(LIST_PAYMENTS, status, e)),
        Err(e) if is_no_rows(&e) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::{domain::Amount, twocheckout::catalog_wire::xml_of};

    const JSON: &str = "application/json";
    const XML: &str = "application/xml";
    const SECRET: &str = "tango-Sierra-42-secret";

    fn both(body: &Value) -> [(&'static str, String); 2] {
        [(JSON, body.to_string()), (XML, xml_of(body))]
    }

    fn ok() -> StatusCode {
        StatusCode::OK
    }

    fn money(text: &str) -> Option<Amount> {
        Some(text.parse().unwrap())
    }

    fn company_info() -> Value {
        json!({"response_code": "OK", "response_message": "company info retrieved", "vendor_company_info": {
            "affiliate_url": "http://www.fake-company.com", "currency_code": "USD", "currency_name": "US Dollars",
            "currency_symbol": "$", "demo": "P", "pending_return_url": "", "return_method": "1", "return_url": "",
            "secret_word": SECRET, "site_category": "Business", "site_description": "Fake things",
            "site_title": "Fake Company", "soft_descriptor": "FAKECO", "url": "http://www.fake-company.com",
            "vendor_id": "901248204", "vendor_name": "Fake Company"}})
    }

    #[test]
    fn company_info_is_read_in_json_and_in_xml_without_the_secret_word() {
        for (content_type, text) in both(&company_info()) {
            let info = decode_company_info(ok(), content_type, text.as_bytes()).unwrap();
            assert_eq!(info.vendor_id, "901248204", "{content_type}");
            assert_eq!((info.demo.as_deref(), info.return_method.as_deref()), (Some("P"), Some("1")));
            assert_eq!((info.return_url.as_deref(), info.currency_symbol.as_deref()), (None, Some("$")));
            let shown = format!("{info:?} {info:#?} {}", serde_json::to_string(&info).unwrap());
            assert!(!shown.contains(SECRET), "{content_type}: the secret word reached the decoded value: {shown}");
            let wire: crate::twocheckout::catalog_wire::CompanyInfoBody<'_> =
                interpret(COMPANY_INFO, ok(), content_type, text.as_bytes()).unwrap();
            assert!(!format!("{wire:?}").contains(SECRET), "{content_type}: the wire value holds the secret word");
        }
    }

    /// A log sink for one test.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_unexpected_company_info_answer_is_logged_and_refused_without_the_secret_word() {
        let mut wrong_shape = company_info();
        wrong_shape["vendor_company_info"]["vendor_id"] = json!({"nested": SECRET});
        let mut no_vendor = company_info();
        no_vendor["vendor_company_info"]["vendor_id"] = json!(null);
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        let mut errors = Vec::new();
        tracing::subscriber::with_default(subscriber, || {
            for body in [&wrong_shape, &no_vendor] {
                for (content_type, text) in both(body) {
                    errors.push(decode_company_info(ok(), content_type, text.as_bytes()).unwrap_err());
                }
            }
        });
        let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("unexpected 2Checkout answer"), "the debug line was written: {logged}");
        assert!(!logged.contains(SECRET), "the secret word reached the log: {logged}");
        for error in errors {
            assert!(matches!(error, Error::UpstreamResponseInvalid { .. }), "{error:?}");
            assert!(!format!("{error:?} {error}").contains(SECRET), "{error:?}");
        }
    }

    #[test]
    fn contact_info_reads_the_string_null_as_absent_in_json_and_in_xml() {
        let body = json!({"response_code": "OK", "response_message": "contact info retrieved", "vendor_contact_info": {
            "2co_account_level_id": "3", "customer_service_email": "support@fake-company.com",
            "customer_service_phone": "555-555-5555", "customer_service_phone_ext": "null",
            "mailing_address_1": "855 Grandview Avenue", "mailing_address_2": "Suite 11", "mailing_address_id": "1",
            "mailing_city": "Columbus", "mailing_country_code": "USA", "mailing_postal_code": "43215",
            "mailing_state": "OH", "office_email": "support@fake-company.com", "office_phone": "555-555-5555",
            "office_phone_ext": null, "physical_address_1": "855 Grandview Avenue", "physical_address_2": "",
            "vendor_id": 901248204}});
        for (content_type, text) in both(&body) {
            let info = decode_contact_info(ok(), content_type, text.as_bytes()).unwrap();
            assert_eq!(info.vendor_id, "901248204", "{content_type}: a number is read as the id's text");
            assert_eq!(info.customer_service_phone_ext, None, "{content_type}: the string \"null\" is absent");
            assert_eq!((info.office_phone_ext, info.physical_address_2), (None, None));
            assert_eq!(info.mailing_address_2.as_deref(), Some("Suite 11"));
        }
    }

    #[test]
    fn pending_payment_reads_the_documented_example_in_json_and_in_xml() {
        let body = json!({"payment": {"amount": "999.99", "payment_fee": "0.00", "payment_id": "2436561667",
            "payment_method": "ach", "release_level": "300", "reserve_held": "14.19", "total_adjustments": "61.07",
            "total_balance_forward": "0.00", "total_chargeback_fees": "0.00", "total_commissions": "0.21",
            "total_fees": "86.92", "total_outgoing_commissions": "4.35", "total_refunds": "275.36",
            "total_reserve_released": "0.00", "total_sales": "283.86"},
            "response_code": "OK", "response_message": "payment info retrieved"});
        let mut read = Vec::new();
        for (content_type, text) in both(&body) {
            let payment = decode_pending_payment(ok(), content_type, text.as_bytes()).unwrap();
            assert_eq!(payment.release_level.as_deref(), Some("300"));
            assert_eq!((payment.amount, payment.reserve_held), (money("999.99"), money("14.19")));
            assert_eq!((payment.totals.total_sales, payment.totals.total_fees), (money("283.86"), money("86.92")));
            assert_eq!(payment.totals.total_reserve_released, money("0.00"));
            read.push(payment);
        }
        assert_eq!(read[0], read[1]);
        let mut bad = body.clone();
        bad["payment"]["total_refunds"] = json!("275.366");
        for (content_type, text) in both(&bad) {
            let Err(Error::UpstreamResponseInvalid { detail, .. }) =
                decode_pending_payment(ok(), content_type, text.as_bytes())
            else {
                panic!("{content_type}")
            };
            assert!(detail.contains("payment.total_refunds"), "{detail}");
        }
    }

    fn payment(id: &str, void: Value) -> Value {
        json!({"amount": "50240.51", "date_paid": null, "date_reserve_released": null, "date_voided": null,
               "payment_id": id, "payment_identifier": "wire_999042012", "payment_type": "wire",
               "reserve_held": "1646.07", "total_adjustments": "0.00", "total_balance_forward": "0.00",
               "total_chargeback_fees": "0.00", "total_commissions": "0.00", "total_fees": "0.00",
               "total_outgoing_commissions": "0.00", "total_refunds": "0.00", "total_reserve_released": null,
               "total_sales": "0.00", "void": void})
    }

    #[test]
    fn list_payments_reads_void_as_a_flag_in_json_and_in_xml() {
        let body = json!({"payments": [payment("4681565342", json!(0)), payment("4681565343", json!("1"))],
                          "response_code": "OK"});
        for (content_type, text) in both(&body) {
            let payments = decode_list_payments(ok(), content_type, text.as_bytes()).unwrap();
            assert_eq!(payments.iter().map(|p| p.voided).collect::<Vec<_>>(), [false, true], "{content_type}");
            assert_eq!(payments[0].amount, money("50240.51"));
            assert_eq!(payments[0].payment_identifier.as_deref(), Some("wire_999042012"));
            assert_eq!((payments[0].date_paid.as_deref(), payments[0].totals.total_reserve_released), (None, None));
        }
        let odd = json!({"payments": [payment("4681565342", json!("maybe"))], "response_code": "OK"});
        let Err(Error::UpstreamResponseInvalid { detail, .. }) =
            decode_list_payments(ok(), JSON, odd.to_string().as_bytes())
        else {
            panic!()
        };
        assert!(detail.contains("payments[0].void"), "{detail}");
    }

    #[test]
    fn no_payouts_is_an_empty_list_whether_answered_400_record_not_found_or_an_empty_list() {
        let none = json!({"errors": [{"code": "RECORD_NOT_FOUND", "message": "Unable to find record."}]});
        let empty = json!({"payments": [], "response_code": "OK"});
        for (content_type, text) in both(&none) {
            let payments = decode_list_payments(StatusCode::BAD_REQUEST, content_type, text.as_bytes()).unwrap();
            assert!(payments.is_empty(), "{content_type}");
        }
        for (content_type, text) in both(&empty) {
            assert!(decode_list_payments(ok(), content_type, text.as_bytes()).unwrap().is_empty(), "{content_type}");
        }
    }

    #[test]
    fn an_ok_answer_without_its_record_is_invalid() {
        let bare = json!({"response_code": "OK", "response_message": "company info retrieved"});
        for (content_type, text) in both(&bare) {
            assert!(matches!(
                decode_company_info(ok(), content_type, text.as_bytes()),
                Err(Error::UpstreamResponseInvalid { .. })
            ));
            assert!(matches!(
                decode_pending_payment(ok(), content_type, text.as_bytes()),
                Err(Error::UpstreamResponseInvalid { .. })
            ));
        }
    }
}
