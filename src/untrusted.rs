//! The gateway's entry points for untrusted bytes, gathered for the property tests beside
//! it (`untrusted/properties.rs`, with the seed-corpus replay in `untrusted/corpus.rs` and
//! the regression tests in `untrusted/regressions.rs`) and the cargo-fuzz targets in
//! `fuzz/`: nothing in the gateway calls it.
//!
//! Each wrapper is a thin call into the code the gateway really runs on what crosses its
//! edges: the Admin API's answers (`twocheckout/admin.rs`, JSON or XML by content type,
//! then the strict wire decode into domain values: the sales answers, and every catalog
//! and account answer through the very decoders `twocheckout/catalog.rs` and
//! `account.rs` hand to the client's `call`), the Payment API's answers
//! (`twocheckout/payment.rs`), and the callers' protobuf requests (prost's decoding, then
//! the `TryFrom` conversions of `grpc/*/request.rs`), and the INS receiver's posts
//! (`notifications/receiver.rs`: the form and its signature, then the stored form's
//! reading as a `proto::Notification` in `grpc/notifications/response.rs`). The `check_*` functions are the fuzz
//! oracles: they take one fuzz input (its first byte chooses the endpoint or message type
//! and the HTTP status, the rest is the body) and say which rule an outcome broke, so
//! that the fuzz targets and the property tests judge alike. None of them panics; a
//! broken rule is an `Err` the fuzz target turns into a crash.

use prost::Message;
use reqwest::StatusCode;
use serde_json::Value;

use crate::domain::{
    AccountPayment, Amount, Authorization, AuthorizationRequest, CatalogPage, CatalogReceipt, CatalogWrite,
    CompanyInfo, ContactInfo, Coupon, CouponType, CouponUpdate, Cursor, Error, JournalEntry, ListSalesQuery, NewCoupon,
    NewOption, NewOptionValue, NewProduct, PageRequest, PendingPayment, Product, ProductFields, ProductOption, RawForm,
    Sale, SaleLookup, SalesPage, Text, TextRules, WriteRequest,
};
use crate::grpc::proto::{self, NotificationType};
use crate::grpc::{NOTIFICATION_MAX_AMOUNT_CHARS, NOTIFICATION_MAX_ITEMS, journal_notification};
use crate::notifications::receiver;
use crate::twocheckout::{AdminApiClient, DetailSaleBody, ListSalesBody, admin, payment};

/// The HTTP statuses a fuzz input's first byte chooses from: mostly 2xx (where bodies are
/// decoded), and one of each class the classification rules tell apart.
pub const STATUSES: [u16; 16] = [200, 200, 200, 200, 200, 201, 204, 301, 307, 400, 401, 403, 404, 429, 500, 503];

/// The content types the Admin API targets send: the declared format, or none (sniffed).
pub const JSON: &str = "application/json";
pub const XML: &str = "application/xml; charset=utf-8";

/// The status as the HTTP client would have it: reqwest only ever yields 100 to 999.
fn status(code: u16) -> Result<StatusCode, Error> {
    StatusCode::from_u16(code).map_err(|_| Error::UpstreamResponseInvalid {
        detail: format!("{code} is not an HTTP status"),
        http_status: code,
    })
}

/// A `sales/detail_sale` answer, read as `AdminApiClient::get_sale` reads it.
pub fn detail_sale(status_code: u16, content_type: &str, body: &[u8]) -> Result<Sale, Error> {
    const ENDPOINT: &str = "sales/detail_sale";
    let answer: DetailSaleBody<'_> = admin::interpret(ENDPOINT, status(status_code)?, content_type, body)?;
    let invalid = |detail: String| Error::UpstreamResponseInvalid { detail, http_status: status_code };
    let sale = answer.sale.ok_or_else(|| invalid(format!("{ENDPOINT}: the answer has no sale")))?;
    sale.into_domain().map_err(|e| invalid(format!("{ENDPOINT}: {e}")))
}

/// A `sales/list_sales` answer to a first page of the default size, read as
/// `AdminApiClient::list_sales` reads it (less its "RECORD_NOT_FOUND is an empty page").
pub fn list_sales(status_code: u16, content_type: &str, body: &[u8]) -> Result<SalesPage, Error> {
    const ENDPOINT: &str = "sales/list_sales";
    let answer: ListSalesBody<'_> = admin::interpret(ENDPOINT, status(status_code)?, content_type, body)?;
    let asked = PageRequest { page: 1, page_size: PageRequest::DEFAULT_PAGE_SIZE };
    answer
        .into_domain(asked)
        .map_err(|e| Error::UpstreamResponseInvalid { detail: format!("{ENDPOINT}: {e}"), http_status: status_code })
}

/// The answer to a write (`sales/refund_invoice` stands for all six): the vendor's
/// confirmation message, or the error the caller gets.
pub fn write(status_code: u16, content_type: &str, body: &[u8]) -> Result<String, Error> {
    admin::interpret_write("sales/refund_invoice", status(status_code)?, content_type, body)
}

/// The Payment API's answer to an authorization. The client reads JSON whatever the
/// content type says, so `_content_type` is only there to keep one signature.
pub fn authorize(status_code: u16, _content_type: &str, body: &[u8]) -> Result<Authorization, Error> {
    payment::interpret_authorization(status(status_code)?, body)
}

/// The Admin API answers the fuzz targets tell apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminAnswer {
    DetailSale,
    ListSales,
    Write,
}

impl AdminAnswer {
    pub const ALL: [Self; 3] = [Self::DetailSale, Self::ListSales, Self::Write];
}

/// Bit 7 of an Admin API input's first byte: send no content type (the body is sniffed).
const SNIFFED: u8 = 0x80;

/// The first byte of an Admin API fuzz input: which answer, which of [`STATUSES`], and
/// whether the content type is left out. [`check_admin`] reads it back.
pub fn admin_selector(answer: AdminAnswer, status_index: usize, sniffed: bool) -> u8 {
    let answer = AdminAnswer::ALL.iter().position(|a| *a == answer).unwrap_or(0) as u8;
    answer + 3 * (status_index % STATUSES.len()) as u8 + if sniffed { SNIFFED } else { 0 }
}

/// The first byte's low seven bits from which on a selector picks a catalog or account
/// answer: below it, the sales answers of [`admin_selector`] (three answers times
/// sixteen statuses), so that the sales seeds keep their meaning.
const CATALOG_FROM: u8 = 3 * STATUSES.len() as u8;

/// The first two bytes of a catalog or account fuzz input: byte 0 picks the status (and
/// whether the content type is left out) as [`admin_selector`] does, above the sales
/// range; byte 1 picks the [`CatalogAnswer`]. [`check_admin`] reads them back.
pub fn catalog_selector(answer: CatalogAnswer, status_index: usize, sniffed: bool) -> [u8; 2] {
    let answer = CatalogAnswer::ALL.iter().position(|a| *a == answer).unwrap_or(0) as u8;
    let status = CATALOG_FROM + (status_index % STATUSES.len()) as u8;
    [status + if sniffed { SNIFFED } else { 0 }, answer]
}

/// One Admin API fuzz input, `declared` being [`JSON`] or [`XML`]: byte 0 is an
/// [`admin_selector`] and the rest the body, or bytes 0 and 1 are a
/// [`catalog_selector`] and the rest the body. `Err` names the rule the outcome broke:
/// - a read succeeds only on a 2xx answer, and fails only as an upstream error (never
///   OUTCOME_UNKNOWN, never a caller's INVALID_ARGUMENT);
/// - a write succeeds only on a 2xx answer whose `response_code` says OK, and fails only
///   as OUTCOME_UNKNOWN, a vendor refusal or rejected credentials (never INTERNAL);
/// - and for the catalog and account answers the rules of [`check_catalog_answer`].
pub fn check_admin(declared: &str, input: &[u8]) -> Result<(), String> {
    let Some((&selector, body)) = input.split_first() else { return Ok(()) };
    let low = selector & !SNIFFED;
    let content_type = if selector & SNIFFED != 0 { "" } else { declared };
    if low >= CATALOG_FROM {
        let Some((&which, body)) = body.split_first() else { return Ok(()) };
        let answer = CatalogAnswer::ALL[usize::from(which) % CatalogAnswer::ALL.len()];
        let status_code = STATUSES[usize::from(low - CATALOG_FROM) % STATUSES.len()];
        return check_catalog_answer(answer, status_code, content_type, body);
    }
    let answer = AdminAnswer::ALL[usize::from(low % 3)];
    let status_code = STATUSES[usize::from(low / 3) % STATUSES.len()];
    check_admin_answer(answer, status_code, content_type, body)
}

/// The rules of [`check_admin`] for one answer with any status and content type.
pub fn check_admin_answer(
    answer: AdminAnswer,
    status_code: u16,
    content_type: &str,
    body: &[u8],
) -> Result<(), String> {
    let success = (200..300).contains(&status_code);
    let read_error = |e: &Error| {
        matches!(
            e,
            Error::Vendor(_)
                | Error::UpstreamCredentialsRejected { .. }
                | Error::UpstreamUnavailable { .. }
                | Error::UpstreamResponseInvalid { .. }
        )
    };
    match answer {
        AdminAnswer::DetailSale | AdminAnswer::ListSales => {
            let outcome = match answer {
                AdminAnswer::DetailSale => detail_sale(status_code, content_type, body).map(drop),
                _ => list_sales(status_code, content_type, body).map(drop),
            };
            match outcome {
                Ok(()) if !success => Err(format!("{answer:?}: HTTP {status_code} was read as a success")),
                Err(e) if !read_error(&e) => Err(format!("{answer:?}: HTTP {status_code} gave {e:?}")),
                _ => Ok(()),
            }
        }
        AdminAnswer::Write => match write(status_code, content_type, body) {
            Ok(_) if !success => Err(format!("write: HTTP {status_code} was read as a success")),
            Ok(_) if !may_say_ok(body) => Err("write: success without response_code OK".to_owned()),
            Err(Error::OutcomeUnknown { .. } | Error::Vendor(_) | Error::UpstreamCredentialsRejected { .. })
            | Ok(_) => Ok(()),
            // Only a status that is no HTTP status at all (never from the client) may differ.
            Err(Error::UpstreamResponseInvalid { .. }) if StatusCode::from_u16(status_code).is_err() => Ok(()),
            Err(e) => Err(format!("write: HTTP {status_code} gave {e:?}, not OUTCOME_UNKNOWN")),
        },
    }
}

/// The catalog and account answers (`products/*`, `acct/*`): every answer
/// `AdminApiClient` decodes as `CatalogPort`, `CatalogWritePort` and `AccountPort`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogAnswer {
    ListProducts,
    DetailProduct,
    ListOptions,
    DetailOption,
    ListCoupons,
    DetailCoupon,
    CreateProduct,
    UpdateProduct,
    DeleteProduct,
    CreateOption,
    UpdateOption,
    DeleteOption,
    CreateCoupon,
    UpdateCoupon,
    DeleteCoupon,
    CompanyInfo,
    ContactInfo,
    PendingPayment,
    ListPayments,
}

impl CatalogAnswer {
    pub const ALL: [Self; 19] = [
        Self::ListProducts,
        Self::DetailProduct,
        Self::ListOptions,
        Self::DetailOption,
        Self::ListCoupons,
        Self::DetailCoupon,
        Self::CreateProduct,
        Self::UpdateProduct,
        Self::DeleteProduct,
        Self::CreateOption,
        Self::UpdateOption,
        Self::DeleteOption,
        Self::CreateCoupon,
        Self::UpdateCoupon,
        Self::DeleteCoupon,
        Self::CompanyInfo,
        Self::ContactInfo,
        Self::PendingPayment,
        Self::ListPayments,
    ];

    /// The endpoint that answers it, as its errors name it.
    pub fn endpoint(self) -> &'static str {
        match self {
            Self::ListProducts => "products/list_products",
            Self::DetailProduct => "products/detail_product",
            Self::ListOptions => "products/list_options",
            Self::DetailOption => "products/detail_option",
            Self::ListCoupons => "products/list_coupons",
            Self::DetailCoupon => "products/detail_coupon",
            Self::CreateProduct => "products/create_product",
            Self::UpdateProduct => "products/update_product",
            Self::DeleteProduct => "products/delete_product",
            Self::CreateOption => "products/create_option",
            Self::UpdateOption => "products/update_option",
            Self::DeleteOption => "products/delete_option",
            Self::CreateCoupon => "products/create_coupon",
            Self::UpdateCoupon => "products/update_coupon",
            Self::DeleteCoupon => "products/delete_coupon",
            Self::CompanyInfo => "acct/detail_company_info",
            Self::ContactInfo => "acct/detail_contact_info",
            Self::PendingPayment => "acct/detail_pending_payment",
            Self::ListPayments => "acct/list_payments",
        }
    }

    /// The listings, whose "nothing" is HTTP 400 RECORD_NOT_FOUND.
    pub fn is_listing(self) -> bool {
        matches!(self, Self::ListProducts | Self::ListOptions | Self::ListCoupons | Self::ListPayments)
    }

    /// The write this answer answers (one sample of its kind: the ids a receipt must
    /// carry depend on the kind only), or `None` for a read.
    pub fn write(self) -> Option<CatalogWrite> {
        sample_write(self).ok().flatten()
    }
}

/// A sample of each kind of catalog write; `Err` only if the domain's rules changed under it.
fn sample_write(answer: CatalogAnswer) -> Result<Option<CatalogWrite>, String> {
    let text = |value: &str| Text::required(value, TextRules::line(255)).map_err(|e| e.0);
    let money = |value: &str| value.parse::<Amount>().map_err(|e| e.to_string());
    let product_id = || "4838125968".parse().map_err(|e: crate::domain::InvalidValue| e.0);
    let option_id = || "4688550010".parse().map_err(|e: crate::domain::InvalidValue| e.0);
    let code = || "APITEST002".parse().map_err(|e: crate::domain::InvalidValue| e.0);
    let date = chrono::NaiveDate::from_ymd_opt(2030, 1, 1).ok_or("no such date")?;
    let fields = ProductFields { name: Some(text("test product")?), price: Some(money("0.01")?), ..Default::default() };
    Ok(Some(match answer {
        CatalogAnswer::CreateProduct => CatalogWrite::CreateProduct(NewProduct::new(fields)?),
        CatalogAnswer::UpdateProduct => CatalogWrite::UpdateProduct { product_id: product_id()?, fields },
        CatalogAnswer::DeleteProduct => CatalogWrite::DeleteProduct { product_id: product_id()? },
        CatalogAnswer::CreateOption => CatalogWrite::CreateOption(NewOption {
            name: text("Volume")?,
            values: vec![NewOptionValue { name: text("Low")?, surcharge: money("1.00")? }],
        }),
        CatalogAnswer::UpdateOption => {
            CatalogWrite::UpdateOption { option_id: option_id()?, name: text("Volume")?, change: None }
        }
        CatalogAnswer::DeleteOption => CatalogWrite::DeleteOption { option_id: option_id()? },
        CatalogAnswer::CreateCoupon => CatalogWrite::CreateCoupon(NewCoupon {
            code: None,
            date_expire: date,
            coupon_type: CouponType::Shipping,
            discount: None,
            minimum_purchase: Some(money("1.00")?),
            products: None,
        }),
        CatalogAnswer::UpdateCoupon => CatalogWrite::UpdateCoupon(CouponUpdate {
            code: code()?,
            new_code: None,
            date_expire: Some(date),
            coupon_type: None,
            discount: None,
            minimum_purchase: None,
            products: None,
        }),
        CatalogAnswer::DeleteCoupon => CatalogWrite::DeleteCoupon { code: code()? },
        _ => return Ok(None),
    }))
}

/// What a catalog or account answer is read as.
#[derive(Debug)]
pub enum CatalogDecoded {
    Products(CatalogPage<Product>),
    Product(Product),
    Options(CatalogPage<ProductOption>),
    Option(ProductOption),
    Coupons(Vec<Coupon>),
    Coupon(Coupon),
    Receipt(CatalogReceipt),
    CompanyInfo(CompanyInfo),
    ContactInfo(ContactInfo),
    PendingPayment(PendingPayment),
    Payments(Vec<AccountPayment>),
}

/// A catalog or account answer, read by the decoder `AdminApiClient` hands to its call
/// (the listings asked for a first page of the default size), RECORD_NOT_FOUND to a
/// listing included: that conversion lives in the decoder, so it is fuzzed too.
pub fn catalog_answer(
    answer: CatalogAnswer,
    status_code: u16,
    content_type: &str,
    body: &[u8],
) -> Result<CatalogDecoded, Error> {
    use CatalogDecoded as D;
    let status = status(status_code)?;
    let asked = PageRequest { page: 1, page_size: PageRequest::DEFAULT_PAGE_SIZE };
    if let Some(write) = answer.write() {
        return AdminApiClient::decode_catalog_write(&write, status, content_type, body).map(D::Receipt);
    }
    match answer {
        CatalogAnswer::ListProducts => {
            AdminApiClient::decode_list_products(status, content_type, body, asked).map(D::Products)
        }
        CatalogAnswer::DetailProduct => {
            AdminApiClient::decode_detail_product(status, content_type, body).map(D::Product)
        }
        CatalogAnswer::ListOptions => {
            AdminApiClient::decode_list_options(status, content_type, body, asked).map(D::Options)
        }
        CatalogAnswer::DetailOption => AdminApiClient::decode_detail_option(status, content_type, body).map(D::Option),
        CatalogAnswer::ListCoupons => AdminApiClient::decode_list_coupons(status, content_type, body).map(D::Coupons),
        CatalogAnswer::DetailCoupon => AdminApiClient::decode_detail_coupon(status, content_type, body).map(D::Coupon),
        CatalogAnswer::CompanyInfo => {
            AdminApiClient::decode_company_info(status, content_type, body).map(D::CompanyInfo)
        }
        CatalogAnswer::ContactInfo => {
            AdminApiClient::decode_contact_info(status, content_type, body).map(D::ContactInfo)
        }
        CatalogAnswer::PendingPayment => {
            AdminApiClient::decode_pending_payment(status, content_type, body).map(D::PendingPayment)
        }
        CatalogAnswer::ListPayments => {
            AdminApiClient::decode_list_payments(status, content_type, body).map(D::Payments)
        }
        // Writes are answered above; a write without its sample is no input the gateway sees.
        _ => Err(Error::UpstreamResponseInvalid {
            detail: format!("{}: no sample write", answer.endpoint()),
            http_status: status_code,
        }),
    }
}

/// The INS secret word planted in the account answers the tests and seeds make (a test
/// value: no real account's). [`check_catalog_answer`] watches for it.
pub const ACCOUNT_SECRET_WORD: &str = "fuzz-acct-secret-word-5J8Q";

/// Whether `body` carries [`ACCOUNT_SECRET_WORD`] exactly once, as the value of a
/// `secret_word` member (a JSON body) or element (any other): then nothing the gateway
/// makes of the answer may show it, since no `secret_word` is ever read. Each format's
/// spelling counts only in a body of that format, and the XML one not where a CDATA
/// section could make it text: in the other format (or in CDATA) it is just the text of
/// some other value, which the gateway reads as any text.
fn planted_secret(body: &[u8]) -> bool {
    let secret = ACCOUNT_SECRET_WORD.as_bytes();
    if body.windows(secret.len()).filter(|w| *w == secret).count() != 1 {
        return false;
    }
    if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
        contains(body, &[&br#""secret_word":""#[..], secret, b"\""].concat())
    } else {
        !contains(body, b"<![CDATA[") && contains(body, &[&b"<secret_word>"[..], secret, b"</secret_word>"].concat())
    }
}

/// The rules of [`check_admin`] for one catalog or account answer with any status and
/// content type. `Err` names the rule the outcome broke:
/// - a `secret_word` planted in the body ([`ACCOUNT_SECRET_WORD`]) shows in no value and
///   no error, whatever the answer;
/// - a read succeeds on a 2xx answer, or on a vendor error to a listing, which is then an
///   empty page (list) of the page asked for, and only when the body may name
///   RECORD_NOT_FOUND; it fails only as an upstream error, and an
///   UPSTREAM_RESPONSE_INVALID names the endpoint first (then the path of the bad value
///   or the problem; that no body text follows is checked here for the planted secret
///   word only, and by the property tests for the paths of amounts and ids);
/// - what a read succeeds with holds ids of digits and amounts of decimal text, and a
///   page number and size of at least 1;
/// - a write succeeds only on a 2xx answer whose `response_code` says OK, and a create
///   only with the id it made; it fails only as OUTCOME_UNKNOWN, a vendor refusal or
///   rejected credentials.
pub fn check_catalog_answer(
    answer: CatalogAnswer,
    status_code: u16,
    content_type: &str,
    body: &[u8],
) -> Result<(), String> {
    let outcome = catalog_answer(answer, status_code, content_type, body);
    if planted_secret(body) {
        let shown = match &outcome {
            Ok(value) => format!("{value:?}"),
            Err(e) => format!("{e:?} {e}"),
        };
        if shown.contains(ACCOUNT_SECRET_WORD) {
            return Err(format!("{answer:?}: the secret word shows in {shown}"));
        }
    }
    let success = (200..300).contains(&status_code);
    if answer.write().is_some() {
        return match outcome {
            Ok(_) if !success => Err(format!("{answer:?}: HTTP {status_code} was read as a success")),
            Ok(_) if !may_say_ok(body) => Err(format!("{answer:?}: success without response_code OK")),
            Ok(CatalogDecoded::Receipt(receipt)) => check_receipt(answer, &receipt),
            Ok(other) => Err(format!("{answer:?} read as {other:?}")),
            Err(Error::OutcomeUnknown { .. } | Error::Vendor(_) | Error::UpstreamCredentialsRejected { .. }) => Ok(()),
            Err(Error::UpstreamResponseInvalid { .. }) if StatusCode::from_u16(status_code).is_err() => Ok(()),
            Err(e) => Err(format!("{answer:?}: HTTP {status_code} gave {e:?}, not OUTCOME_UNKNOWN")),
        };
    }
    match outcome {
        Ok(value) if !success => {
            let no_rows = contains(body, b"RECORD_NOT_FOUND") || contains(body, b"&#");
            if answer.is_listing() && no_rows && is_first_empty_page(&value) {
                Ok(())
            } else {
                Err(format!("{answer:?}: HTTP {status_code} was read as {value:?}"))
            }
        }
        Ok(value) => check_catalog_value(&value).map_err(|broken| format!("{answer:?}: {broken}")),
        Err(Error::UpstreamResponseInvalid { detail, .. })
            if StatusCode::from_u16(status_code).is_ok() && !detail.starts_with(answer.endpoint()) =>
        {
            Err(format!("{answer:?}: UPSTREAM_RESPONSE_INVALID without its endpoint: {detail}"))
        }
        Err(
            Error::Vendor(_)
            | Error::UpstreamCredentialsRejected { .. }
            | Error::UpstreamUnavailable { .. }
            | Error::UpstreamResponseInvalid { .. },
        ) => Ok(()),
        Err(e) => Err(format!("{answer:?}: HTTP {status_code} gave {e:?}")),
    }
}

/// The empty first page (or list) a listing's "nothing" is.
fn is_first_empty_page(value: &CatalogDecoded) -> bool {
    let first_empty = |rows: usize, page: u32, size: u32, total: u32| {
        rows == 0 && page == 1 && size == PageRequest::DEFAULT_PAGE_SIZE && total == 0
    };
    match value {
        CatalogDecoded::Products(p) => first_empty(p.rows.len(), p.page, p.page_size, p.total_entries),
        CatalogDecoded::Options(p) => first_empty(p.rows.len(), p.page, p.page_size, p.total_entries),
        CatalogDecoded::Coupons(list) => list.is_empty(),
        CatalogDecoded::Payments(list) => list.is_empty(),
        _ => false,
    }
}

/// A confirmed create names what it made.
fn check_receipt(answer: CatalogAnswer, receipt: &CatalogReceipt) -> Result<(), String> {
    let made = match answer {
        CatalogAnswer::CreateProduct => receipt.product_id.as_ref().map(|id| is_id(&id.to_string())),
        CatalogAnswer::CreateOption => receipt.option_id.as_ref().map(|id| is_id(&id.to_string())),
        CatalogAnswer::CreateCoupon => receipt.coupon_code.as_ref().map(|code| !code.to_string().is_empty()),
        _ => Some(true),
    };
    match made {
        Some(true) => Ok(()),
        _ => Err(format!("{answer:?} confirmed without the id it made: {receipt:?}")),
    }
}

fn is_id(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Money as decimal text: an optional minus, digits, a dot and digits.
fn is_money(amount: &Amount) -> bool {
    let text = amount.to_string();
    let digits = text.strip_prefix('-').unwrap_or(&text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && all_digits(fraction)
}

/// The value rules of [`check_catalog_answer`] for what a read succeeded with.
fn check_catalog_value(value: &CatalogDecoded) -> Result<(), String> {
    let mut ids: Vec<(String, String)> = Vec::new();
    let mut amounts: Vec<(String, Amount)> = Vec::new();
    let mut product = |p: &Product, at: &str| {
        ids.push((format!("{at}.product_id"), p.product_id.to_string()));
        amounts.push((format!("{at}.price"), p.price));
        for (name, amount) in [
            ("weight", p.weight),
            ("handling", p.handling),
            ("startup_fee", p.startup_fee),
            ("commission_amount", p.commission_amount),
        ] {
            amounts.extend(amount.map(|a| (format!("{at}.{name}"), a)));
        }
        for (i, o) in p.options.iter().enumerate() {
            ids.push((format!("{at}.options[{i}].option_id"), o.option_id.to_string()));
            for (j, v) in o.values.iter().enumerate() {
                amounts.push((format!("{at}.options[{i}].values[{j}].surcharge"), v.surcharge));
            }
        }
    };
    let page = |page: u32, size: u32| {
        if page < 1 || size < 1 { Err(format!("page {page} of size {size}")) } else { Ok(()) }
    };
    match value {
        CatalogDecoded::Products(p) => {
            page(p.page, p.page_size)?;
            p.rows.iter().enumerate().for_each(|(i, row)| product(row, &format!("products[{i}]")));
        }
        CatalogDecoded::Product(p) => product(p, "product"),
        CatalogDecoded::Options(p) => {
            page(p.page, p.page_size)?;
            for (i, o) in p.rows.iter().enumerate() {
                ids.push((format!("options[{i}].option_id"), o.option_id.to_string()));
                for (j, v) in o.values.iter().enumerate() {
                    amounts.push((format!("options[{i}].values[{j}].surcharge"), v.surcharge));
                }
            }
        }
        CatalogDecoded::Option(o) => {
            ids.push(("option.option_id".into(), o.option_id.to_string()));
            amounts.extend(o.values.iter().map(|v| ("option.values[].surcharge".to_owned(), v.surcharge)));
        }
        CatalogDecoded::Coupons(list) => list.iter().for_each(|c| coupon(c, &mut ids, &mut amounts)),
        CatalogDecoded::Coupon(c) => coupon(c, &mut ids, &mut amounts),
        CatalogDecoded::PendingPayment(p) => {
            amounts
                .extend([p.amount, p.payment_fee, p.reserve_held].into_iter().flatten().map(|a| ("payment".into(), a)));
        }
        CatalogDecoded::Payments(list) => {
            for p in list {
                amounts.extend([p.amount, p.reserve_held].into_iter().flatten().map(|a| ("payments[]".into(), a)));
            }
        }
        CatalogDecoded::CompanyInfo(_) | CatalogDecoded::ContactInfo(_) | CatalogDecoded::Receipt(_) => {}
    }
    if let Some((at, id)) = ids.iter().find(|(_, id)| !is_id(id)) {
        return Err(format!("{at} read as {id:?}"));
    }
    if let Some((at, amount)) = amounts.iter().find(|(_, amount)| !is_money(amount)) {
        return Err(format!("{at} read as {amount}"));
    }
    Ok(())
}

fn coupon(c: &Coupon, ids: &mut Vec<(String, String)>, amounts: &mut Vec<(String, Amount)>) {
    ids.extend(c.product_ids.iter().flatten().map(|id| ("coupon.product[].product_id".to_owned(), id.to_string())));
    amounts.extend([c.minimum_purchase, c.value_off].into_iter().flatten().map(|a| ("coupon".to_owned(), a)));
}

/// Whether a write answer may say `response_code` OK: as JSON, exactly (trimmed); as
/// anything else, when `OK` or a character reference that could spell it is in there.
fn may_say_ok(body: &[u8]) -> bool {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => value.get("response_code").and_then(Value::as_str).map(str::trim) == Some("OK"),
        Err(_) => contains(body, b"OK") || contains(body, b"&#"),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// One Payment API fuzz input: byte 0 modulo 16 picks one of [`STATUSES`], the rest is the
/// body. `Err` names the broken rule: success only on a 2xx answer whose `response`
/// says `APPROVED` with an order number; failure only as a refusal or OUTCOME_UNKNOWN.
pub fn check_payment(input: &[u8]) -> Result<(), String> {
    let Some((&selector, body)) = input.split_first() else { return Ok(()) };
    check_payment_answer(STATUSES[usize::from(selector) % STATUSES.len()], body)
}

/// The rules of [`check_payment`] for one answer with any status.
pub fn check_payment_answer(status_code: u16, body: &[u8]) -> Result<(), String> {
    match authorize(status_code, JSON, body) {
        Ok(_) if !(200..300).contains(&status_code) => Err(format!("HTTP {status_code} was read as approved")),
        Ok(authorization) => {
            // Typed like the client's own decode, so that fields it skips are skipped here too
            // (serde_json skips them without a depth limit, while a `Value` stops at 128).
            let probe: ApprovalProbe =
                serde_json::from_slice(body).map_err(|_| "approved an answer that is not JSON")?;
            let code = probe.response.as_ref().and_then(|r| r.response_code.as_ref()).and_then(Value::as_str);
            let code = code.map(str::trim);
            if code != Some("APPROVED") || authorization.order_number.trim().is_empty() {
                return Err(format!(
                    "approved with responseCode {code:?}, order number {:?}",
                    authorization.order_number
                ));
            }
            Ok(())
        }
        Err(Error::OutcomeUnknown { .. } | Error::Payment(_)) => Ok(()),
        Err(Error::UpstreamResponseInvalid { .. }) if StatusCode::from_u16(status_code).is_err() => Ok(()),
        Err(e) => Err(format!("HTTP {status_code} gave {e:?}, neither a refusal nor OUTCOME_UNKNOWN")),
    }
}

/// What [`check_payment_answer`] reads of an approval, independently of the client.
#[derive(serde::Deserialize)]
struct ApprovalProbe {
    #[serde(default)]
    response: Option<ResponseProbe>,
}

#[derive(serde::Deserialize)]
struct ResponseProbe {
    #[serde(default, rename = "responseCode")]
    response_code: Option<Value>,
}

/// Every request message a caller can send, in the order of a fuzz input's first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    GetSale,
    ListSales,
    StreamSales,
    RefundInvoice,
    RefundLineItem,
    Reauthorize,
    StopLineItemRecurring,
    MarkShipped,
    CreateComment,
    Authorize,
}

impl RequestKind {
    pub const ALL: [Self; 10] = [
        Self::GetSale,
        Self::ListSales,
        Self::StreamSales,
        Self::RefundInvoice,
        Self::RefundLineItem,
        Self::Reauthorize,
        Self::StopLineItemRecurring,
        Self::MarkShipped,
        Self::CreateComment,
        Self::Authorize,
    ];

    /// The first byte of a fuzz input of this kind.
    pub fn selector(self) -> u8 {
        Self::ALL.iter().position(|k| *k == self).unwrap_or(0) as u8
    }
}

/// Decodes `encoded` as the message of `kind` with prost (the outer `Err`: not that
/// message), then converts it as its handler does (the inner result).
pub fn convert_request(kind: RequestKind, encoded: &[u8]) -> Result<Result<(), Error>, prost::DecodeError> {
    match kind {
        RequestKind::GetSale => convert::<proto::GetSaleRequest, SaleLookup>(encoded),
        RequestKind::ListSales => convert::<proto::ListSalesRequest, ListSalesQuery>(encoded),
        RequestKind::StreamSales => convert::<proto::StreamSalesRequest, ListSalesQuery>(encoded),
        RequestKind::RefundInvoice => convert::<proto::RefundInvoiceRequest, WriteRequest>(encoded),
        RequestKind::RefundLineItem => convert::<proto::RefundLineItemRequest, WriteRequest>(encoded),
        RequestKind::Reauthorize => convert::<proto::ReauthorizeRequest, WriteRequest>(encoded),
        RequestKind::StopLineItemRecurring => convert::<proto::StopLineItemRecurringRequest, WriteRequest>(encoded),
        RequestKind::MarkShipped => convert::<proto::MarkShippedRequest, WriteRequest>(encoded),
        RequestKind::CreateComment => convert::<proto::CreateCommentRequest, WriteRequest>(encoded),
        RequestKind::Authorize => convert::<proto::AuthorizeRequest, AuthorizationRequest>(encoded),
    }
}

fn convert<M, D>(encoded: &[u8]) -> Result<Result<(), Error>, prost::DecodeError>
where
    M: Message + Default,
    D: for<'a> TryFrom<&'a M, Error = Error>,
{
    let message = M::decode(encoded)?;
    Ok(D::try_from(&message).map(drop))
}

/// Whether a conversion's outcome keeps the edge's promise: the domain value, or
/// INVALID_ARGUMENT naming the offending field (a non-empty field path).
pub fn check_conversion(outcome: &Result<(), Error>) -> Result<(), String> {
    match outcome {
        Ok(()) => Ok(()),
        Err(Error::InvalidField { field, .. }) if is_field_path(field) => Ok(()),
        Err(e) => Err(format!("refused with {e:?}, not INVALID_ARGUMENT naming a field")),
    }
}

/// `billing_address.city`, `line_items.items[0].options[1].name`: what a field path looks like.
fn is_field_path(field: &str) -> bool {
    !field.is_empty() && field.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.[]".contains(&b))
}

/// One request fuzz input: byte 0 modulo 10 picks the [`RequestKind`], the rest is the
/// encoded message. Undecodable bytes are fine (the server answers them before any
/// conversion); a decoded message must convert by [`check_conversion`].
pub fn check_request(input: &[u8]) -> Result<(), String> {
    let Some((&selector, encoded)) = input.split_first() else { return Ok(()) };
    let kind = RequestKind::ALL[usize::from(selector) % RequestKind::ALL.len()];
    match convert_request(kind, encoded) {
        Err(_undecodable) => Ok(()),
        Ok(outcome) => check_conversion(&outcome).map_err(|broken| format!("{kind:?}: {broken}")),
    }
}

/// The INS account posts are checked against: `ins_post`'s fixed test account.
pub const INS_VENDOR_ID: &str = "532001";
/// Its secret word (a test value: no real account's).
pub const INS_SECRET_WORD: &str = "fuzz-ins-secret-word";
/// The most form fields accepted: `ins.max_fields`' default.
pub const INS_MAX_FIELDS: usize = 1000;
/// The cursor the accepted form is read back at.
pub const INS_CURSOR: (u64, u64) = (1_733_030_000_123, 4);

/// A post the receiver would store, as stored and as read back.
#[derive(Debug)]
pub struct InsAccepted {
    /// The form as parsed: the journal's audit copy.
    pub form: RawForm,
    /// The journal key.
    pub key: String,
    /// The form read as the NotificationService serves it, at [`INS_CURSOR`].
    pub notification: proto::Notification,
}

/// A post the receiver refuses before the journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InsRefused {
    /// The log's and the metric's label.
    pub reason: &'static str,
    /// The HTTP status 2Checkout gets.
    pub status: u16,
    /// What the sender is told and the log says.
    pub explanation: String,
}

/// One INS post body, run through what the receiver runs on it before it touches the
/// cache and the journal (field count, form, required fields, vendor, hash: against
/// [`INS_VENDOR_ID`] and [`INS_SECRET_WORD`]), then, when accepted, the stored form's
/// reading as a `proto::Notification`.
pub fn ins_post(body: &[u8]) -> Result<InsAccepted, InsRefused> {
    let secret_word = secrecy::SecretString::from(INS_SECRET_WORD);
    let verified = receiver::verify(body, INS_MAX_FIELDS, INS_VENDOR_ID, &secret_word).map_err(|refusal| {
        InsRefused { reason: refusal.reason(), status: refusal.status().as_u16(), explanation: refusal.explanation() }
    })?;
    let (millis, seq) = INS_CURSOR;
    let entry = JournalEntry { cursor: Cursor::new(millis, seq), form: std::sync::Arc::new(verified.form.clone()) };
    Ok(InsAccepted { form: verified.form, key: verified.key, notification: journal_notification(&entry) })
}

/// The fields each accepted post carries exactly once.
const INS_REQUIRED: [&str; 6] = ["message_type", "message_id", "sale_id", "invoice_id", "vendor_id", "md5_hash"];

/// One INS fuzz input (the whole input is the body). `Err` names the rule broken:
/// - a refusal is one of the body's reasons (never the rate limit, the body's size or
///   time, or the journal), with its status, and an explanation that names neither the
///   secret word nor the expected hash;
/// - an acceptance has at most `ins.max_fields` fields, each required field exactly once
///   and well formed, the account's `vendor_id`, and an `md5_hash` that is the hash of
///   its ids (computed here independently, case-insensitively);
/// - its reading keeps `raw_fields` verbatim (field for field, in order), the ids as
///   posted, amounts empty or decimal text (as posted at invoice level), dates empty or
///   `YYYY-MM-DD`, no "N/A" in a typed text field, times with their text and zone, an
///   invoice exactly for the four invoice-level types, at most one item a posted field.
pub fn check_ins_post(input: &[u8]) -> Result<(), String> {
    let expected_hash = independent_hash(input);
    match ins_post(input) {
        Err(refused) => check_ins_refusal(&refused, expected_hash.as_deref()),
        Ok(accepted) => check_ins_acceptance(input, &accepted, expected_hash.as_deref()),
    }
}

/// The hash a body's first `sale_id` and `invoice_id` sign to for the test account.
fn independent_hash(body: &[u8]) -> Option<String> {
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    let first = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let secret_word = secrecy::SecretString::from(INS_SECRET_WORD);
    Some(receiver::md5_hash(first("sale_id")?, INS_VENDOR_ID, first("invoice_id")?, &secret_word))
}

fn check_ins_refusal(refused: &InsRefused, expected_hash: Option<&str>) -> Result<(), String> {
    let status = match refused.reason {
        "too_many_fields" => 413,
        "malformed_form" | "missing_field" | "repeated_field" | "invalid_field" => 400,
        "wrong_vendor" | "bad_hash" => 403,
        other => return Err(format!("a body alone was refused as {other}")),
    };
    if refused.status != status {
        return Err(format!("{} answered HTTP {}, not {status}", refused.reason, refused.status));
    }
    let explanation = refused.explanation.to_ascii_lowercase();
    if explanation.trim().is_empty() {
        return Err(format!("{} without an explanation", refused.reason));
    }
    if explanation.contains(&INS_SECRET_WORD.to_ascii_lowercase()) {
        return Err(format!("{}: the explanation names the secret word", refused.reason));
    }
    if expected_hash.is_some_and(|hash| explanation.contains(&hash.to_ascii_lowercase())) {
        return Err(format!("{}: the explanation names the expected hash", refused.reason));
    }
    Ok(())
}

fn check_ins_acceptance(body: &[u8], accepted: &InsAccepted, expected_hash: Option<&str>) -> Result<(), String> {
    let form = &accepted.form;
    let pairs = body.split(|&b| b == b'&').filter(|pair| !pair.is_empty()).count();
    if form.len() > INS_MAX_FIELDS || form.len() != pairs {
        return Err(format!("accepted {} fields from {pairs} pairs (at most {INS_MAX_FIELDS})", form.len()));
    }
    for name in INS_REQUIRED {
        let count = form.fields().iter().filter(|(k, _)| k == name).count();
        if count != 1 {
            return Err(format!("accepted with {name} posted {count} times"));
        }
    }
    let get = |name: &str| form.get(name).unwrap_or_default();
    let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if get("message_type").is_empty()
        || !digits(get("message_id"))
        || !digits(get("sale_id"))
        || !digits(get("invoice_id"))
    {
        return Err(format!(
            "accepted ids {:?}",
            (get("message_type"), get("message_id"), get("sale_id"), get("invoice_id"))
        ));
    }
    if get("vendor_id") != INS_VENDOR_ID {
        return Err(format!("accepted vendor_id {:?}", get("vendor_id")));
    }
    if !expected_hash.is_some_and(|hash| hash.eq_ignore_ascii_case(get("md5_hash"))) {
        return Err(format!("accepted md5_hash {:?}, which does not sign its ids", get("md5_hash")));
    }
    if accepted.key != format!("{INS_VENDOR_ID}:{}", get("message_id")) {
        return Err(format!("stored under {:?}", accepted.key));
    }
    check_notification(form, &accepted.notification)
}

/// The rules of a stored form's reading (see [`check_ins_post`]).
pub fn check_notification(form: &RawForm, n: &proto::Notification) -> Result<(), String> {
    let verbatim = n.raw_fields.len() == form.len()
        && n.raw_fields
            .iter()
            .zip(form.fields())
            .all(|(field, (key, value))| field.key == *key && field.value == *value);
    if !verbatim {
        return Err("raw_fields are not the form as posted".to_owned());
    }
    let (millis, seq) = INS_CURSOR;
    if n.cursor != Cursor::new(millis, seq).to_string() {
        return Err(format!("read at cursor {:?}", n.cursor));
    }
    let get = |name: &str| form.get(name).unwrap_or_default();
    for (name, read) in [
        ("message_id", &n.message_id),
        ("sale_id", &n.sale_id),
        ("invoice_id", &n.invoice_id),
        ("vendor_id", &n.vendor_id),
        ("message_type", &n.vendor_message_type),
    ] {
        if read != get(name) {
            return Err(format!("{name} {:?} read as {read:?}", get(name)));
        }
    }
    let kind = n.message_type();
    let invoice_level = matches!(
        kind,
        NotificationType::OrderCreated
            | NotificationType::FraudStatusChanged
            | NotificationType::ShipStatusChanged
            | NotificationType::InvoiceStatusChanged
    );
    if n.invoice.is_some() != invoice_level {
        return Err(format!("{kind:?} read with invoice {}", n.invoice.is_some()));
    }
    if n.recurring != (form.get("recurring") == Some("1")) {
        return Err(format!("recurring {:?} read as {}", form.get("recurring"), n.recurring));
    }
    if let Some(invoice) = &n.invoice {
        for (name, read) in [
            ("invoice_list_amount", &invoice.list_amount),
            ("invoice_usd_amount", &invoice.usd_amount),
            ("invoice_cust_amount", &invoice.customer_amount),
        ] {
            if !read.is_empty() && (read != get(name) || !is_decimal(read)) {
                return Err(format!("{name} {:?} read as {read:?}", get(name)));
            }
        }
        check_date("auth_exp", &invoice.auth_exp)?;
    }
    for (name, time) in [("timestamp", &n.timestamp), ("sale_date_placed", &n.sale_date_placed)] {
        match (form.get(name), time) {
            (None, None) => {}
            (Some(text), Some(time))
                if time.vendor_text == text
                    && time.time_zone == "America/New_York"
                    && (time.time.is_some() || !time.ambiguous)
                    && time.time.is_none_or(|t| t.nanos == 0) => {}
            (text, time) => return Err(format!("{name} {text:?} read as {time:?}")),
        }
    }
    let customer = n.customer.clone().unwrap_or_default();
    let bill = n.billing_address.clone().unwrap_or_default();
    let shipping = n.shipping.clone().unwrap_or_default();
    let ship = shipping.address.clone().unwrap_or_default();
    let typed_texts = [
        &n.message_description,
        &n.vendor_order_id,
        &n.payment_type,
        &n.list_currency,
        &n.customer_currency,
        &customer.first_name,
        &customer.last_name,
        &customer.name,
        &customer.email,
        &customer.phone,
        &customer.ip,
        &customer.ip_country,
        &bill.address_1,
        &bill.city,
        &bill.country_code,
        &ship.address_1,
        &ship.postal_code,
        &shipping.tracking_number,
        &shipping.recipient_name,
    ];
    if typed_texts.iter().any(|text| text.as_str() == "N/A") {
        return Err("\"N/A\" read as a value".to_owned());
    }
    if n.items.len() > NOTIFICATION_MAX_ITEMS || n.items.len() > form.len() {
        return Err(format!("{} items from {} fields", n.items.len(), form.len()));
    }
    for (index, item) in n.items.iter().enumerate() {
        for (name, read) in [
            ("list_amount", &item.list_amount),
            ("usd_amount", &item.usd_amount),
            ("customer_amount", &item.customer_amount),
            ("recurring_list_amount", &item.recurring_list_amount),
        ] {
            if !read.is_empty() && !is_decimal(read) {
                return Err(format!("items[{index}].{name} read as {read:?}"));
            }
        }
        check_date(&format!("items[{index}].recurring_date_next"), &item.recurring_date_next)?;
        if item.installments_billed < 0 || [&item.name, &item.vendor_product_id].iter().any(|t| t.as_str() == "N/A") {
            return Err(format!("items[{index}] read as {item:?}"));
        }
    }
    Ok(())
}

/// An optional minus, digits, optionally a dot and digits; at most the reading's bound.
fn is_decimal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    text.len() <= NOTIFICATION_MAX_AMOUNT_CHARS && all_digits(whole) && all_digits(fraction)
}

fn check_date(name: &str, text: &str) -> Result<(), String> {
    let well_formed = text.len() == 10 && chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok();
    if text.is_empty() || well_formed { Ok(()) } else { Err(format!("{name} read as {text:?}")) }
}

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod regressions;
