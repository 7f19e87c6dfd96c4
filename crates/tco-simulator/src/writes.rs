//! The write endpoints of the sales section: `refund_invoice`, `refund_lineitem`,
//! `stop_lineitem_recurring`, `mark_shipped`, `create_comment` and `reauth`.
//!
//! Each endpoint checks its parameters in a fixed order and answers the first failure, then hands
//! a rule to [`Store::write`], which runs it on a copy of the sale under the store's write lock
//! and keeps the copy only if the rule succeeds. The rules read "now" from the [`Context`] (the
//! simulator's clock, read once per request), so tests move time with `SimClock::set`. The
//! order of the checks and every message are listed in the simulator's module documentation.
//!
//! A write that the Instant Notification Service reports answers its [`SaleEvent`] beside the
//! API answer ([`Written`]), built from the sale as the write left it; the HTTP layer queues it
//! once the write is complete.

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use super::ins::{MessageType, SaleEvent};
use super::ledger::{self, Amounts, Currency};
use super::params::Params;
use super::records::{
    BillStatus, Billing, Comment, DATE_FORMAT, Invoice, InvoiceStatus, LineItem, Money, RecurringStatus, Sale,
    Shipping, TIMESTAMP_FORMAT,
};
use super::render::ApiError;
use super::sales::{all_digits, flag, numeric_id};
use super::store::{IdSource, LookupError, Store, Target};

/// The longest `comment` / `sale_comment` accepted, in characters.
pub const MAX_COMMENT_CHARS: usize = 5000;
/// The longest `tracking_number` accepted, in characters.
pub const MAX_TRACKING_NUMBER_CHARS: usize = 255;
/// A sale placed longer ago than this can no longer be refunded.
pub const REFUND_WINDOW_DAYS: i64 = 180;
/// Refund categories run from 1 to this.
const LAST_REFUND_CATEGORY: u64 = 17;
/// The category reserved for the vendor's internal use.
const INTERNAL_REFUND_CATEGORY: u64 = 7;

/// A write's answer and what it tells the Instant Notification Service.
#[derive(Debug)]
pub struct Written {
    pub answer: Value,
    pub event: Option<SaleEvent>,
}

/// Who writes, and when.
pub struct Context<'a> {
    /// The simulator clock's reading for this request.
    pub now: DateTime<Utc>,
    /// The API user the request authenticated as; comments carry it.
    pub username: &'a str,
    /// The client's IP address (the TCP peer); comments carry it as `changed_by_ip`.
    pub client_ip: &'a str,
}

impl Context<'_> {
    fn now(&self) -> NaiveDateTime {
        self.now.naive_utc()
    }

    fn today(&self) -> String {
        self.now.format(DATE_FORMAT).to_string()
    }

    fn comment(&self, text: String) -> Comment {
        Comment {
            changed_by_ip: self.client_ip.to_owned(),
            comment: text,
            timestamp: self.now.format(TIMESTAMP_FORMAT).to_string(),
            username: self.username.to_owned(),
        }
    }
}

/// `sales/refund_invoice`: refunds all or part of what remains on one invoice.
pub fn refund_invoice(store: &Store, params: &Params, context: &Context<'_>) -> Result<Written, ApiError> {
    let target = sale_or_invoice(params)?;
    let invoice_id = match target {
        Target::Invoice { invoice_id, .. } => Some(invoice_id),
        _ => None,
    };
    let request = RefundRequest::parse(params, "Amount must be at least 0.01.")?;
    let event = apply(store, target, |sale, ids| {
        let index = match invoice_id {
            Some(invoice_id) => invoice_position(sale, invoice_id)?,
            None if sale.invoices.len() > 1 => {
                return Err(ApiError::rule(
                    "AMBIGUOUS",
                    "Ambiguous request. Multiple invoices on sale. invoice_id parameter required.",
                ));
            }
            None => latest_invoice_position(sale)?,
        };
        if too_old_to_refund(sale, context) {
            return Err(ApiError::rule("TOO_LATE", "Invoice too old to refund."));
        }
        let invoice = &sale.invoices[index];
        let remaining = ledger::invoice_remaining(invoice);
        // The 2020 suites: a second full refund is "more than what is left", not "already
        // refunded" (the 2012-2016 message); see "Fidelity decisions".
        let too_high = || ApiError::rule("TOO_HIGH", "Amount greater than remaining balance on invoice.");
        if remaining.is_zero() {
            return Err(too_high());
        }
        let refund =
            ledger::refund_portion(request.amount, remaining, Amounts::invoice_total(invoice)).ok_or_else(too_high)?;
        // The documented sale links an invoice refund to the invoice's (first) billed line.
        let first_billed = invoice.lineitems.iter().position(|item| !item.is_refund()).ok_or_else(too_high)?;
        let refund_line =
            record_refund(&mut sale.invoices[index], first_billed, refund, refund != remaining, context, ids);
        add_comment(sale, context.comment(refund_comment(&request.comment)));
        Ok(SaleEvent::item(MessageType::RefundIssued, sale, &refund_line, context.now))
    })?;
    success("refund added to invoice", event)
}

/// `sales/refund_lineitem`: refunds all or part of what remains on one billed line.
pub fn refund_lineitem(store: &Store, params: &Params, context: &Context<'_>) -> Result<Written, ApiError> {
    let lineitem_id = required_id(params, "lineitem_id")?;
    let request = RefundRequest::parse(params, "Lineitem amount must be at least 0.01.")?;
    let event = apply(store, Target::LineItem(lineitem_id), |sale, ids| {
        let (invoice_index, line_index) = line_position(sale, lineitem_id)?;
        let invoice = &sale.invoices[invoice_index];
        let line = &invoice.lineitems[line_index];
        if line.is_refund() {
            // Sic: the live API answers this code, not PARAMETER_INVALID.
            return Err(ApiError::rule("INVALID_PARAMETER", "This lineitem cannot be refunded."));
        }
        if too_old_to_refund(sale, context) {
            return Err(ApiError::rule("TOO_LATE", "Invoice too old to refund lineitem."));
        }
        let line_left = ledger::line_remaining(invoice, line);
        let left = line_left.min(ledger::invoice_remaining(invoice));
        // As for refund_invoice: nothing left is "more than what is left" (the 2020 suites).
        let too_high = || ApiError::rule("TOO_HIGH", "Lineitem amount greater than remaining balance on invoice.");
        if left.is_zero() {
            return Err(too_high());
        }
        let refund =
            ledger::refund_portion(request.amount, left, Amounts::invoice_total(invoice)).ok_or_else(too_high)?;
        let refund_line =
            record_refund(&mut sale.invoices[invoice_index], line_index, refund, refund != line_left, context, ids);
        add_comment(sale, context.comment(refund_comment(&request.comment)));
        Ok(SaleEvent::item(MessageType::RefundIssued, sale, &refund_line, context.now))
    })?;
    success("lineitem refunded", event)
}

/// `sales/stop_lineitem_recurring`: stops the recurring billing of one line.
pub fn stop_lineitem_recurring(store: &Store, params: &Params, context: &Context<'_>) -> Result<Written, ApiError> {
    let lineitem_id = required_id(params, "lineitem_id")?;
    let event = apply(store, Target::LineItem(lineitem_id), |sale, _| {
        let (invoice_index, line_index) = line_position(sale, lineitem_id)?;
        let line = &mut sale.invoices[invoice_index].lineitems[line_index];
        if line.billing.recurring_status != Some(RecurringStatus::Active) {
            return Err(ApiError::rule("NOTHING_TO_DO", "Lineitem is not scheduled to recur."));
        }
        line.billing.recurring_status = Some(RecurringStatus::Stopped);
        line.billing.date_next = None;
        // Seeded stopped lines carry the day billing ended; an API stop ends it today.
        line.billing.date_end = Some(context.today());
        let text = format!("[* Sent: Vendor *] Recurring billing stopped for {}", line.product_name);
        add_comment(sale, context.comment(text));
        Ok(SaleEvent::item(MessageType::RecurringStopped, sale, lineitem_id, context.now))
    })?;
    success("Recurring billing stopped for lineitem", event)
}

/// `sales/mark_shipped`: records the shipment of a tangible invoice (the sale's latest invoice
/// when only `sale_id` is given).
pub fn mark_shipped(store: &Store, params: &Params, context: &Context<'_>) -> Result<Written, ApiError> {
    let target = sale_or_invoice(params)?;
    let invoice_id = match target {
        Target::Invoice { invoice_id, .. } => Some(invoice_id),
        _ => None,
    };
    let tracking_number = required(params, "tracking_number")?;
    if tracking_number.chars().count() > MAX_TRACKING_NUMBER_CHARS {
        return Err(ApiError::parameter_invalid("tracking_number"));
    }
    // Validated like every flag; the simulator sends no e-mail.
    flag(params, "cc_customer")?;
    let reauthorize = flag(params, "reauthorize")?;
    let comment = params.get("comment");
    if let Some(comment) = comment {
        check_comment(comment, "comment")?;
    }
    let event = apply(store, target, |sale, ids| {
        let index = match invoice_id {
            Some(invoice_id) => invoice_position(sale, invoice_id)?,
            None => latest_invoice_position(sale)?,
        };
        let customer = sale.customer.clone();
        let invoice = &mut sale.invoices[index];
        let tangible = invoice.lineitems.iter().any(|item| !item.is_refund() && item.is_tangible());
        // The live API answers an intangible sale exactly like one already shipped.
        if !tangible || invoice.date_shipped.is_some() {
            return Err(ApiError::rule("NOTHING_TO_DO", "Sale already marked shipped."));
        }
        let today = context.today();
        invoice.date_shipped = Some(today.clone());
        let shipping = invoice.shipping.get_or_insert_with(|| Shipping::unshipped_to(&customer, ids.allocate()));
        shipping.date_shipped = Some(today);
        shipping.tracking_number = Some(tracking_number.to_owned());
        if reauthorize {
            // Whatever the outcome, the shipment stands; see `try_reauth`.
            try_reauth(sale, context);
        }
        if let Some(comment) = comment {
            add_comment(sale, context.comment(comment.to_owned()));
        }
        let invoice_id = sale.invoices[index].invoice_id.clone();
        Ok(Some(SaleEvent::invoice(MessageType::ShipStatusChanged, sale, &invoice_id, context.now)))
    })?;
    success("Sale marked shipped.", event)
}

/// `sales/create_comment`: adds a comment to a sale.
pub fn create_comment(store: &Store, params: &Params, context: &Context<'_>) -> Result<Written, ApiError> {
    let sale_id = required_id(params, "sale_id")?;
    let text = required(params, "sale_comment")?;
    if text.chars().count() > MAX_COMMENT_CHARS {
        return Err(ApiError::parameter_invalid("sale_comment"));
    }
    // Validated like every flag; the simulator sends no e-mail.
    flag(params, "cc_vendor")?;
    flag(params, "cc_customer")?;
    apply(store, Target::Sale(sale_id), |sale, _| {
        add_comment(sale, context.comment(text.to_owned()));
        Ok(())
    })?;
    success("Created comment successfully.", None)
}

/// The most days `update_lineitem_recurring` moves a next bill date at once (ten years; the
/// simulator's own bound, so a date never overflows).
pub const MAX_RECURRING_SHIFT_DAYS: u64 = 3650;

/// `sales/update_lineitem_recurring` (undocumented; every message and code here is inferred):
/// moves an active recurring line's next bill date forward by `shift` days and/or lowers its
/// recurring price to `price`, adding `comment` to the sale when given.
pub fn update_lineitem_recurring(store: &Store, params: &Params, context: &Context<'_>) -> Result<Written, ApiError> {
    let lineitem_id = required_id(params, "lineitem_id")?;
    let shift = match params.get("shift") {
        None => None,
        Some(text) => match all_digits(text).then(|| text.parse::<u64>().unwrap_or(u64::MAX)) {
            Some(days) if (1..=MAX_RECURRING_SHIFT_DAYS).contains(&days) => Some(days),
            _ => return Err(ApiError::parameter_invalid("shift")),
        },
    };
    let price = match params.get("price") {
        None => None,
        Some(text) => match parse_amount(text) {
            Some(price) if price >= Money::from_cents(1) => Some(price),
            _ => return Err(ApiError::parameter_invalid("price")),
        },
    };
    if shift.is_none() && price.is_none() {
        // One of the two is required; the Ruby library names `shift` first.
        return Err(ApiError::parameter_missing("shift"));
    }
    let comment = params.get("comment");
    if let Some(comment) = comment {
        check_comment(comment, "comment")?;
    }
    apply(store, Target::LineItem(lineitem_id), |sale, _| {
        if sale.customer.pay_method.method.starts_with("paypal") {
            // The Ruby library: "not currently available for PayPal sales".
            return Err(ApiError::rule("FORBIDDEN", "Recurring billing of a PayPal sale cannot be updated."));
        }
        let (invoice_index, line_index) = line_position(sale, lineitem_id)?;
        let line = &mut sale.invoices[invoice_index].lineitems[line_index];
        if line.billing.recurring_status != Some(RecurringStatus::Active) {
            return Err(ApiError::rule("NOTHING_TO_DO", "Lineitem is not scheduled to recur."));
        }
        if let Some(price) = price {
            if price >= line.recurring_price() {
                return Err(ApiError::rule("TOO_HIGH", "New recurring price must be lower than the current one."));
            }
            line.recurring_price = Some(price);
        }
        if let Some(days) = shift {
            let next =
                line.billing.date_next.as_deref().and_then(|day| NaiveDate::parse_from_str(day, DATE_FORMAT).ok());
            // An active line always has a next bill date; one without cannot be moved.
            let moved = next
                .and_then(|day| day.checked_add_days(Days::new(days)))
                .ok_or_else(|| ApiError::rule("NOTHING_TO_DO", "Lineitem is not scheduled to recur."))?;
            line.billing.date_next = Some(moved.format(DATE_FORMAT).to_string());
        }
        if let Some(comment) = comment {
            add_comment(sale, context.comment(comment.to_owned()));
        }
        Ok(())
    })?;
    success("Lineitem recurring billing updated.", None)
}

/// `sales/reauth`: renews the expired payment authorisation of a sale's latest invoice.
pub fn reauth(store: &Store, params: &Params, context: &Context<'_>) -> Result<Written, ApiError> {
    let sale_id = required_id(params, "sale_id")?;
    // The rule always "succeeds" so that a FAILED attempt is kept: it still uses up the day.
    let outcome = apply(store, Target::Sale(sale_id), |sale, _| {
        latest_invoice_position(sale)?;
        Ok(try_reauth(sale, context))
    })?;
    match outcome {
        ReauthOutcome::Renewed => success("Payment reauthorized.", None),
        ReauthOutcome::TooLate => {
            Err(ApiError::rule("TOO_LATE", "Payment is already pending or deposited and cannot be reauthorized."))
        }
        ReauthOutcome::TooSoon => {
            Err(ApiError::rule("TOO_SOON", "Please wait until the next day to reauthorize again."))
        }
        ReauthOutcome::Failed => Err(ApiError::rule("FAILED", "Failed to reauthorize payment.")),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReauthOutcome {
    Renewed,
    TooLate,
    TooSoon,
    Failed,
}

/// One reauthorisation attempt on the sale's latest invoice. Only attempts that reach the
/// processor (renewed or failed) use up the day. An authorisation still valid is renewed like
/// an expired one: the reference documents no refusal for it and the suites accept "OK" (see
/// "Fidelity decisions").
fn try_reauth(sale: &mut Sale, context: &Context<'_>) -> ReauthOutcome {
    let Some(latest) = sale.invoices.last() else {
        return ReauthOutcome::TooLate;
    };
    if matches!(latest.status, InvoiceStatus::Pending | InvoiceStatus::Deposited) {
        return ReauthOutcome::TooLate;
    }
    let today = context.now.date_naive();
    let authorization = &mut sale.authorization;
    if authorization.last_attempt_day == Some(today) {
        return ReauthOutcome::TooSoon;
    }
    authorization.last_attempt_day = Some(today);
    if authorization.fails {
        return ReauthOutcome::Failed;
    }
    authorization.renewed_at = Some(context.now());
    add_comment(sale, context.comment("Payment reauthorized.".to_owned()));
    ReauthOutcome::Renewed
}

/// The validated `amount`/`currency`/`comment`/`category` of a refund.
struct RefundRequest {
    /// `None`: refund everything that remains.
    amount: Option<(Currency, Money)>,
    comment: String,
}

impl RefundRequest {
    /// Checks comment, then category, then amount and currency, answering the first problem.
    /// `currency` is only read when an `amount` is given.
    fn parse(params: &Params, too_low_message: &str) -> Result<RefundRequest, ApiError> {
        let comment = required(params, "comment")?;
        check_comment(comment, "comment")?;
        let category = required(params, "category")?;
        let category = if all_digits(category) { category.parse::<u64>().unwrap_or(u64::MAX) } else { 0 };
        if !(1..=LAST_REFUND_CATEGORY).contains(&category) {
            return Err(ApiError::parameter_invalid("category"));
        }
        if category == INTERNAL_REFUND_CATEGORY {
            return Err(ApiError::rule("FORBIDDEN", "Permission denied to set refund category to 7."));
        }
        let amount = match params.get("amount") {
            None => None,
            Some(text) => {
                let amount = parse_amount(text).ok_or_else(|| ApiError::parameter_invalid("amount"))?;
                let currency = required(params, "currency")?;
                let currency = Currency::parse(currency).ok_or_else(|| ApiError::parameter_invalid("currency"))?;
                if amount < Money::from_cents(1) {
                    return Err(ApiError::rule("TOO_LOW", too_low_message));
                }
                Some((currency, amount))
            }
        };
        Ok(RefundRequest { amount, comment: comment.to_owned() })
    }
}

/// A decimal with at most two decimals (`5`, `5.5`, `5.50`, `-1.00`); a number too large for
/// the cents counter saturates (and is then simply too high).
fn parse_amount(text: &str) -> Option<Money> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (units, fraction) = match unsigned.split_once('.') {
        Some((units, fraction)) if (1..=2).contains(&fraction.len()) && all_digits(fraction) => (units, fraction),
        Some(_) => return None,
        None => (unsigned, ""),
    };
    if !all_digits(units) {
        return None;
    }
    let units = units.parse::<i64>().unwrap_or(i64::MAX);
    let fraction = format!("{fraction:0<2}").parse::<i64>().unwrap_or(0);
    let cents = units.saturating_mul(100).saturating_add(fraction);
    Some(Money::from_cents(if negative { -cents } else { cents }))
}

fn check_comment(comment: &str, name: &str) -> Result<(), ApiError> {
    if comment.chars().count() > MAX_COMMENT_CHARS || comment.contains(['<', '>']) {
        return Err(ApiError::parameter_invalid(name));
    }
    Ok(())
}

fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, ApiError> {
    params.get(name).ok_or_else(|| ApiError::parameter_missing(name))
}

/// A required id: digits only.
fn required_id<'a>(params: &'a Params, name: &str) -> Result<&'a str, ApiError> {
    numeric_id(params, name)?.ok_or_else(|| ApiError::parameter_missing(name))
}

/// `sale_id` and/or `invoice_id`: the invoice when given (within the sale if both are), else the
/// sale. Neither is PARAMETER_MISSING `sale_id`.
fn sale_or_invoice(params: &Params) -> Result<Target<'_>, ApiError> {
    let sale_id = numeric_id(params, "sale_id")?;
    let invoice_id = numeric_id(params, "invoice_id")?;
    match (sale_id, invoice_id) {
        (_, Some(invoice_id)) => Ok(Target::Invoice { invoice_id, sale_id }),
        (Some(sale_id), None) => Ok(Target::Sale(sale_id)),
        (None, None) => Err(ApiError::parameter_missing("sale_id")),
    }
}

/// Runs `rule` through [`Store::write`], turning lookup failures into the vendor's errors: an
/// invoice named by `invoice_id` is "Access denied to invoice.", anything else "to sale.".
fn apply<T>(
    store: &Store,
    target: Target<'_>,
    rule: impl FnOnce(&mut Sale, &mut IdSource) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let forbidden = match target {
        Target::Invoice { .. } => ApiError::access_denied_to_invoice,
        Target::Sale(_) | Target::LineItem(_) => ApiError::access_denied_to_sale,
    };
    store.write(target, rule).map_err(|error| match error {
        LookupError::NotFound => ApiError::record_not_found(),
        LookupError::Forbidden => forbidden(),
    })?
}

fn success(message: &str, event: Option<SaleEvent>) -> Result<Written, ApiError> {
    let answer = json!({ "response_code": "OK", "response_message": message });
    Ok(Written { answer, event })
}

fn invoice_position(sale: &Sale, invoice_id: &str) -> Result<usize, ApiError> {
    sale.invoices.iter().position(|invoice| invoice.invoice_id == invoice_id).ok_or_else(ApiError::record_not_found)
}

/// The sale's latest invoice: invoices are kept in the order they were placed.
fn latest_invoice_position(sale: &Sale) -> Result<usize, ApiError> {
    sale.invoices.len().checked_sub(1).ok_or_else(ApiError::record_not_found)
}

fn line_position(sale: &Sale, lineitem_id: &str) -> Result<(usize, usize), ApiError> {
    sale.invoices
        .iter()
        .enumerate()
        .find_map(|(invoice_index, invoice)| {
            let line_index = invoice.lineitems.iter().position(|item| item.lineitem_id == lineitem_id)?;
            Some((invoice_index, line_index))
        })
        .ok_or_else(ApiError::record_not_found)
}

/// More than 180 days between the sale's placement and now (exactly 180 days is still fine).
fn too_old_to_refund(sale: &Sale, context: &Context<'_>) -> bool {
    sale.placed_at().is_some_and(|placed| context.now() - placed > TimeDelta::days(REFUND_WINDOW_DAYS))
}

fn refund_comment(comment: &str) -> String {
    format!("[* Sent: Vendor *] Refund Issued On Sale: {comment}")
}

/// Adds the refund line the documented sale shows: a copy of the refunded line with status
/// `refund` (its billing too), the refunded amounts, today's dates, `linked_id` pointing at the
/// refunded line and `type` "partial" unless it clears that line. It goes last on the invoice:
/// the suites read the invoice's last line item as the refund (see "Fidelity decisions").
fn record_refund(
    invoice: &mut Invoice,
    refunded_index: usize,
    refund: Amounts,
    partial: bool,
    context: &Context<'_>,
    ids: &mut IdSource,
) -> String {
    let original = invoice.lineitems[refunded_index].clone();
    let refunded_id = original.lineitem_id.clone();
    let today = context.today();
    let lineitem_id = ids.allocate();
    let billing = Billing {
        amount: refund.usd,
        billing_id: ids.allocate(),
        customer_amount: refund.customer,
        date_deposited: Some(today.clone()),
        date_end: None,
        date_fail: None,
        date_next: None,
        date_pending: Some(today.clone()),
        date_start: Some(today),
        lineitem_id: lineitem_id.clone(),
        recurring_status: None,
        status: BillStatus::Refund,
        usd_amount: refund.usd,
        vendor_amount: refund.vendor,
        ..original.billing.clone()
    };
    let refund_id = lineitem_id.clone();
    let line = LineItem {
        billing,
        customer_amount: refund.customer,
        lineitem_id,
        linked_id: Some(refunded_id),
        options: Vec::new(),
        status: BillStatus::Refund,
        kind: partial.then(|| "partial".to_owned()),
        usd_amount: refund.usd,
        vendor_amount: refund.vendor,
        recurring_price: None,
        ..original
    };
    invoice.lineitems.push(line);
    refund_id
}

/// Keeps comments newest first: a new comment goes before every comment not newer than it (so
/// among equal timestamps the latest written comes first).
fn add_comment(sale: &mut Sale, comment: Comment) {
    let position = sale
        .comments
        .iter()
        .position(|existing| existing.timestamp <= comment.timestamp)
        .unwrap_or(sale.comments.len());
    sale.comments.insert(position, comment);
}

#[cfg(test)]
mod tests {
    use super::parse_amount;

    #[test]
    fn amounts_are_decimals_with_at_most_two_decimals() {
        let cents = |text| parse_amount(text).map(|money| money.cents());
        assert_eq!(cents("5"), Some(500));
        assert_eq!(cents("5.5"), Some(550));
        assert_eq!(cents("5.05"), Some(505));
        assert_eq!(cents("0.00"), Some(0));
        assert_eq!(cents("-1.00"), Some(-100));
        assert_eq!(cents("99999999999999999999999"), Some(i64::MAX));
        for bad in ["", "5.", ".5", "5.123", "1,50", "abc", "+5", "1e3", "5.5a", "--1"] {
            assert_eq!(cents(bad), None, "{bad:?}");
        }
    }
}
