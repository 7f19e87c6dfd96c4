//! The simulator's in-memory sales store.
//!
//! Sales are kept as typed [`Sale`] records behind one lock, indexed by sale, invoice and line
//! item id. Readers get clones, so a handler never holds the lock while it renders or sleeps.
//!
//! Writes go through [`Store::write`]: it finds the sale a [`Target`] names, refuses another
//! vendor's, and runs the endpoint's rule on a copy of the record under the write lock; the copy
//! replaces the record only if the rule succeeds. A rule that fails half-way therefore leaves
//! nothing behind, and two writes to one sale never interleave (two refunds cannot both spend the
//! same remaining balance). The write is complete when `write` returns, before the HTTP layer
//! sends (or delays) the answer.
//!
//! The Payment API adds whole sales with [`Store::insert`], using the same id source as the
//! writes, and [`Store::settle_captures`] performs their automatic capture 48 hours later.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::NaiveDateTime;

use super::records::{DATE_FORMAT, Extra, InvoiceStatus, Money, Sale, TIMESTAMP_FORMAT};
use super::seed::{self, FixtureError};

pub struct Store {
    own_vendor_id: String,
    data: RwLock<StoreData>,
}

struct StoreData {
    sales: Vec<Sale>,
    index_by_sale_id: HashMap<String, usize>,
    index_by_invoice_id: HashMap<String, usize>,
    index_by_lineitem_id: HashMap<String, usize>,
    /// The next id a write hands out (see [`IdSource`]).
    next_id: u64,
    /// Sales (by index) whose automatic capture is still to come (`Sale::capture_at`).
    pending_captures: Vec<usize>,
}

impl StoreData {
    /// Indexes sale `index`'s invoices and line items (again, after a write added some).
    fn index_sale(&mut self, index: usize) {
        let Some(sale) = self.sales.get(index) else {
            return;
        };
        self.index_by_sale_id.insert(sale.sale_id.clone(), index);
        for invoice in &sale.invoices {
            self.index_by_invoice_id.insert(invoice.invoice_id.clone(), index);
            for item in &invoice.lineitems {
                self.index_by_lineitem_id.insert(item.lineitem_id.clone(), index);
            }
        }
    }
}

/// What a write endpoint names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    Sale(&'a str),
    /// An invoice; with `sale_id`, it must belong to that sale (else not found).
    Invoice {
        invoice_id: &'a str,
        sale_id: Option<&'a str>,
    },
    LineItem(&'a str),
}

/// Hands out ids for the records a write creates (refund line items, their billings, shipments).
///
/// Seeded ids follow per-sale rules (`sale id + 3k` for generated sales); ids created later start
/// just above the highest seeded id and grow by one, so they never collide with any seeded id nor
/// with each other, whatever the seed and the number of generated sales.
#[derive(Debug)]
pub struct IdSource {
    next: u64,
}

impl IdSource {
    pub fn allocate(&mut self) -> String {
        let id = self.next;
        self.next = self.next.saturating_add(1);
        id.to_string()
    }
}

/// Every numeric id a sale holds, for [`IdSource`]'s starting point.
fn ids_of(sale: &Sale) -> impl Iterator<Item = &str> {
    let customer = [sale.sale_id.as_str(), sale.customer.customer_id.as_str(), sale.customer.address_id.as_str()];
    let invoices = sale.invoices.iter().flat_map(|invoice| {
        let shipping = invoice.shipping.iter().map(|shipping| shipping.shipping_id.as_str());
        let lines = invoice.lineitems.iter().flat_map(|item| {
            let options = item.options.iter().map(|option| option.lineitem_option_id.as_str());
            [item.lineitem_id.as_str(), item.billing.billing_id.as_str()].into_iter().chain(options)
        });
        std::iter::once(invoice.invoice_id.as_str()).chain(shipping).chain(lines)
    });
    customer.into_iter().chain(invoices)
}

/// A sale the automatic capture deposited: the record afterwards, when the capture was due and
/// the invoices it changed.
#[derive(Clone, Debug)]
pub struct Captured {
    pub sale: Sale,
    pub at: NaiveDateTime,
    pub invoice_ids: Vec<String>,
}

/// How `detail_sale` names the sale it wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaleLookup<'a> {
    /// The whole sale, all invoices.
    Sale(&'a str),
    /// Only this invoice, inside its sale.
    Invoice(&'a str),
    /// Only this invoice, which must belong to this sale.
    SaleAndInvoice { sale_id: &'a str, invoice_id: &'a str },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("no such sale or invoice")]
    NotFound,
    #[error("the sale belongs to another vendor")]
    Forbidden,
}

/// The store's side of a payout: see [`Store::payout_totals`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PayoutTotals {
    pub sales: Money,
    pub refunds: Money,
    pub fees: Money,
}

/// `list_sales` filters, already validated and normalised. `None`/`false` means "no filter".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SaleFilter {
    pub sale_id: Option<String>,
    pub invoice_id: Option<String>,
    /// Compared case-insensitively as a substring of the cardholder name.
    pub customer_name: Option<String>,
    /// Compared case-insensitively as a substring of the e-mail address.
    pub customer_email: Option<String>,
    /// Must match the beginning of the phone number.
    pub customer_phone: Option<String>,
    /// Substring of any line item's vendor product id (case-sensitive).
    pub vendor_product_id: Option<String>,
    pub ccard_first6: Option<String>,
    pub ccard_last2: Option<String>,
    /// Inclusive bounds on the sale's date, as `YYYY-MM-DD`.
    pub date_begin: Option<String>,
    pub date_end: Option<String>,
    pub declined_recurrings: bool,
    pub active_recurrings: bool,
    pub refunded: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortColumn {
    SaleId,
    DatePlaced,
    CustomerName,
    Recurring,
    RecurringDeclined,
    UsdTotal,
}

impl SortColumn {
    pub const ALL: [SortColumn; 6] = [
        SortColumn::SaleId,
        SortColumn::DatePlaced,
        SortColumn::CustomerName,
        SortColumn::Recurring,
        SortColumn::RecurringDeclined,
        SortColumn::UsdTotal,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SortColumn::SaleId => "sale_id",
            SortColumn::DatePlaced => "date_placed",
            SortColumn::CustomerName => "customer_name",
            SortColumn::Recurring => "recurring",
            SortColumn::RecurringDeclined => "recurring_declined",
            SortColumn::UsdTotal => "usd_total",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortDirection {
    Ascending,
    Descending,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortOrder {
    pub column: SortColumn,
    pub direction: SortDirection,
}

impl Default for SortOrder {
    /// Newest sale ids first.
    fn default() -> Self {
        SortOrder { column: SortColumn::SaleId, direction: SortDirection::Descending }
    }
}

/// One `sale_summary` row, before rendering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaleSummary {
    pub sale_id: String,
    /// Full `YYYY-MM-DD HH:MM:SS`; rows show the date part only.
    pub date_placed: String,
    pub customer_name: String,
    pub recurring: bool,
    pub recurring_declined: Option<String>,
    pub decline_code: Option<String>,
    pub usd_total: Money,
}

impl SaleSummary {
    fn of(sale: &Sale) -> Self {
        SaleSummary {
            sale_id: sale.sale_id.clone(),
            date_placed: sale.date_placed.clone(),
            customer_name: sale.customer.cardholder_name.clone(),
            recurring: sale.is_recurring(),
            recurring_declined: sale.latest_decline.as_ref().map(|decline| decline.date_declined.clone()),
            decline_code: sale.latest_decline.as_ref().map(|decline| decline.decline_code.clone()),
            usd_total: sale.usd_total(),
        }
    }

    fn sale_id_number(&self) -> u64 {
        self.sale_id.parse().unwrap_or(u64::MAX)
    }

    fn compare_by(&self, other: &Self, column: SortColumn) -> Ordering {
        match column {
            SortColumn::SaleId => Ordering::Equal,
            SortColumn::DatePlaced => self.date_placed.cmp(&other.date_placed),
            SortColumn::CustomerName => self.customer_name.to_lowercase().cmp(&other.customer_name.to_lowercase()),
            SortColumn::Recurring => self.recurring.cmp(&other.recurring),
            // `None` orders before any date, like SQL NULLs in ascending order.
            SortColumn::RecurringDeclined => self.recurring_declined.cmp(&other.recurring_declined),
            SortColumn::UsdTotal => self.usd_total.cmp(&other.usd_total),
        }
        .then_with(|| self.sale_id_number().cmp(&other.sale_id_number()))
    }
}

impl Store {
    pub fn new(sales: Vec<Sale>, own_vendor_id: &str) -> Self {
        let highest_id = sales.iter().flat_map(ids_of).filter_map(|id| id.parse::<u64>().ok()).max().unwrap_or(0);
        let mut data = StoreData {
            sales,
            index_by_sale_id: HashMap::new(),
            index_by_invoice_id: HashMap::new(),
            index_by_lineitem_id: HashMap::new(),
            next_id: highest_id.saturating_add(1),
            pending_captures: Vec::new(),
        };
        for index in 0..data.sales.len() {
            data.index_sale(index);
        }
        Store { own_vendor_id: own_vendor_id.to_owned(), data: RwLock::new(data) }
    }

    /// The documented sale, `generated_sales` generated ones and the foreign-vendor sale.
    pub fn seeded(seed: u64, generated_sales: usize) -> Result<Self, FixtureError> {
        Ok(Store::new(seed::initial_sales(seed, generated_sales)?, seed::OWN_VENDOR_ID))
    }

    /// The sale as `detail_sale` shows it: all invoices for a sale lookup, only the requested
    /// one for an invoice lookup.
    pub fn detail_sale(&self, lookup: SaleLookup<'_>) -> Result<Sale, LookupError> {
        let data = self.read();
        let (index, only_invoice) = match lookup {
            SaleLookup::Sale(sale_id) => (data.index_by_sale_id.get(sale_id), None),
            SaleLookup::Invoice(invoice_id) => (data.index_by_invoice_id.get(invoice_id), Some(invoice_id)),
            SaleLookup::SaleAndInvoice { sale_id, invoice_id } => {
                let by_invoice = data.index_by_invoice_id.get(invoice_id);
                let same_sale = by_invoice.is_some() && by_invoice == data.index_by_sale_id.get(sale_id);
                (by_invoice.filter(|_| same_sale), Some(invoice_id))
            }
        };
        let sale = index.and_then(|&index| data.sales.get(index)).ok_or(LookupError::NotFound)?;
        if sale.vendor_id() != Some(self.own_vendor_id.as_str()) {
            return Err(LookupError::Forbidden);
        }
        let mut sale = sale.clone();
        if let Some(invoice_id) = only_invoice {
            sale.invoices.retain(|invoice| invoice.invoice_id == invoice_id);
        }
        Ok(sale)
    }

    /// Every own-vendor sale matching `filter`, sorted by `order` with ties broken by sale id
    /// in the same direction, so pages never overlap or skip a row.
    pub fn list_sales(&self, filter: &SaleFilter, order: SortOrder) -> Vec<SaleSummary> {
        let data = self.read();
        let mut rows: Vec<SaleSummary> = data
            .sales
            .iter()
            .filter(|sale| sale.vendor_id() == Some(self.own_vendor_id.as_str()))
            .filter(|sale| matches(sale, filter))
            .map(SaleSummary::of)
            .collect();
        drop(data);
        rows.sort_by(|a, b| {
            let ascending = a.compare_by(b, order.column);
            match order.direction {
                SortDirection::Ascending => ascending,
                SortDirection::Descending => ascending.reverse(),
            }
        });
        rows
    }

    /// Runs `rule` on the sale `target` names and keeps its changes if it succeeds (see the
    /// module documentation). The outer error says the target was not found or is another
    /// vendor's; the inner result is the rule's own.
    pub fn write<T, E>(
        &self,
        target: Target<'_>,
        rule: impl FnOnce(&mut Sale, &mut IdSource) -> Result<T, E>,
    ) -> Result<Result<T, E>, LookupError> {
        let mut data = self.write_lock();
        let index = match target {
            Target::Sale(sale_id) => data.index_by_sale_id.get(sale_id),
            Target::Invoice { invoice_id, sale_id } => {
                let by_invoice = data.index_by_invoice_id.get(invoice_id);
                match sale_id {
                    Some(sale_id) if by_invoice != data.index_by_sale_id.get(sale_id) => None,
                    _ => by_invoice,
                }
            }
            Target::LineItem(lineitem_id) => data.index_by_lineitem_id.get(lineitem_id),
        }
        .copied()
        .ok_or(LookupError::NotFound)?;
        let sale = data.sales.get(index).ok_or(LookupError::NotFound)?;
        if sale.vendor_id() != Some(self.own_vendor_id.as_str()) {
            return Err(LookupError::Forbidden);
        }
        let mut draft = sale.clone();
        let mut ids = IdSource { next: data.next_id };
        let outcome = rule(&mut draft, &mut ids);
        if outcome.is_ok() {
            data.sales[index] = draft;
            data.next_id = ids.next;
            data.index_sale(index);
        }
        Ok(outcome)
    }

    /// Adds a sale that `build` makes with ids from the same source writes use (so they never
    /// collide with seeded or written ids), indexes it and returns a copy.
    pub fn insert(&self, build: impl FnOnce(&mut IdSource) -> Sale) -> Sale {
        let mut data = self.write_lock();
        let mut ids = IdSource { next: data.next_id };
        let sale = build(&mut ids);
        data.next_id = ids.next;
        data.sales.push(sale.clone());
        let index = data.sales.len() - 1;
        data.index_sale(index);
        if sale.capture_at.is_some() {
            data.pending_captures.push(index);
        }
        sale
    }

    /// Performs the automatic capture of every Payment API sale whose time has come by `now`:
    /// its `approved` invoices become `deposited` (see `payment`). Cheap when nothing is due, so
    /// the HTTP layer calls it before every Admin API request (and a background task when the
    /// clock passes a due time). Returns each captured sale as it is afterwards, with when its
    /// capture was due and the invoices it deposited, for the notifications.
    pub fn settle_captures(&self, now: NaiveDateTime) -> Vec<Captured> {
        let is_due = |data: &StoreData, index: usize| {
            data.sales.get(index).and_then(|sale| sale.capture_at).is_some_and(|due| due <= now)
        };
        {
            let data = self.read();
            if !data.pending_captures.iter().any(|&index| is_due(&data, index)) {
                return Vec::new();
            }
        }
        let mut data = self.write_lock();
        let (due, waiting): (Vec<usize>, Vec<usize>) =
            data.pending_captures.iter().partition(|&&index| is_due(&data, index));
        data.pending_captures = waiting;
        let mut captured = Vec::new();
        for index in due {
            if let Some(sale) = data.sales.get_mut(index)
                && let Some((at, invoice_ids)) = capture(sale)
            {
                captured.push(Captured { sale: sale.clone(), at, invoice_ids });
            }
        }
        captured
    }

    /// A copy of the own-vendor sale holding line `lineitem_id`.
    pub fn sale_of_lineitem(&self, lineitem_id: &str) -> Option<Sale> {
        let data = self.read();
        let sale = data.index_by_lineitem_id.get(lineitem_id).and_then(|&index| data.sales.get(index))?;
        (sale.vendor_id() == Some(self.own_vendor_id.as_str())).then(|| sale.clone())
    }

    /// The earliest capture still to come, if any.
    pub fn next_capture_due(&self) -> Option<NaiveDateTime> {
        let data = self.read();
        data.pending_captures.iter().filter_map(|&index| data.sales.get(index).and_then(|sale| sale.capture_at)).min()
    }

    /// What the own vendor's sales brought and gave back between two days (`YYYY-MM-DD`,
    /// inclusive; `None`: no end), in the vendor's currency, as a payout counts it: the
    /// `vendor_total` and `fees_2co` of every `pending` or `deposited` invoice placed in the
    /// period (an authorised, not captured, or declined invoice pays nothing out yet), and the
    /// `vendor_amount` of every refund line dated (its billing's `date_start`) in the period,
    /// whatever sale it refunds.
    pub fn payout_totals(&self, first_day: &str, last_day: Option<&str>) -> PayoutTotals {
        let within = |day: &str| day >= first_day && last_day.is_none_or(|last| day <= last);
        let data = self.read();
        let mut totals = PayoutTotals::default();
        for sale in data.sales.iter().filter(|sale| sale.vendor_id() == Some(self.own_vendor_id.as_str())) {
            for invoice in &sale.invoices {
                let placed = invoice.date_placed.get(..10).unwrap_or(&invoice.date_placed);
                if matches!(invoice.status, InvoiceStatus::Pending | InvoiceStatus::Deposited) && within(placed) {
                    totals.sales = totals.sales.saturating_add(invoice.vendor_total);
                    totals.fees = totals.fees.saturating_add(invoice.fees_2co);
                }
                let refunded: Money = invoice
                    .lineitems
                    .iter()
                    .filter(|item| item.is_refund() && item.billing.date_start.as_deref().is_some_and(within))
                    .map(|item| item.vendor_amount)
                    .sum();
                totals.refunds = totals.refunds.saturating_add(refunded);
            }
        }
        totals
    }

    /// Makes the processor accept or refuse the sale's reauthorisations from now on.
    #[cfg(test)]
    pub fn set_reauth_failure(&self, sale_id: &str, fails: bool) {
        let mut data = self.write_lock();
        if let Some(&index) = data.index_by_sale_id.get(sale_id) {
            data.sales[index].authorization.fails = fails;
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, StoreData> {
        // Writers replace whole values; a panic in one cannot leave a half-written record worth
        // refusing every later request for.
        self.data.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_lock(&self) -> RwLockWriteGuard<'_, StoreData> {
        // Same reasoning as `read`: a rule works on a copy, so a panic leaves the store intact.
        self.data.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The capture and deposit the reference promises within 48 hours of an authorization: the
/// sale's `approved` invoices become `deposited`, their bills pending since placement and
/// deposited on the capture's day. Returns when it was due and the invoices deposited.
fn capture(sale: &mut Sale) -> Option<(NaiveDateTime, Vec<String>)> {
    let due = sale.capture_at.take()?;
    let mut deposited_ids = Vec::new();
    let deposited = due.format(DATE_FORMAT).to_string();
    for invoice in sale.invoices.iter_mut().filter(|invoice| invoice.status == InvoiceStatus::Approved) {
        invoice.status = InvoiceStatus::Deposited;
        // A Payment API invoice's `timestamp` follows its last status change.
        if !invoice.timestamp.is_absent() {
            invoice.timestamp = Extra::Value(due.format(TIMESTAMP_FORMAT).to_string());
        }
        deposited_ids.push(invoice.invoice_id.clone());
        let placed = invoice.date_placed.get(..10).unwrap_or(&invoice.date_placed).to_owned();
        for item in invoice.lineitems.iter_mut().filter(|item| !item.is_refund()) {
            item.billing.date_pending = Some(placed.clone());
            item.billing.date_deposited = Some(deposited.clone());
        }
    }
    Some((due, deposited_ids))
}

fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

fn matches(sale: &Sale, filter: &SaleFilter) -> bool {
    let customer = &sale.customer;
    let pay_method = &customer.pay_method;
    let day = sale.date_placed_day();
    filter.sale_id.as_ref().is_none_or(|id| *id == sale.sale_id)
        && filter.invoice_id.as_ref().is_none_or(|id| sale.invoices.iter().any(|invoice| invoice.invoice_id == *id))
        && filter.customer_name.as_ref().is_none_or(|name| contains_ignoring_case(&customer.cardholder_name, name))
        && filter.customer_email.as_ref().is_none_or(|email| contains_ignoring_case(&customer.email_address, email))
        && filter.customer_phone.as_ref().is_none_or(|phone| customer.phone.starts_with(phone.as_str()))
        && filter
            .vendor_product_id
            .as_ref()
            .is_none_or(|wanted| sale.line_items().any(|item| item.vendor_product_id.contains(wanted.as_str())))
        && filter.ccard_first6.as_ref().is_none_or(|digits| pay_method.first_six_digits.as_ref() == Some(digits))
        && filter.ccard_last2.as_ref().is_none_or(|digits| pay_method.last_two_digits.as_ref() == Some(digits))
        && filter.date_begin.as_deref().is_none_or(|begin| day >= begin)
        && filter.date_end.as_deref().is_none_or(|end| day <= end)
        && (!filter.declined_recurrings || sale.has_recurring_decline())
        && (!filter.active_recurrings || sale.has_active_recurring())
        && (!filter.refunded || sale.is_refunded())
}
