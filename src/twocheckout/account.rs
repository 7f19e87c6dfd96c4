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
