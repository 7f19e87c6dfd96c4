//! Listing sales: the filter, paging and sorting a caller asks for, and the
//! page of summaries that comes back.

use chrono::NaiveDate;

use super::{Amount, InvoiceId, SaleId};

/// Which sales to list; every criterion is optional and they combine with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SalesFilter {
    pub sale_id: Option<SaleId>,
    pub invoice_id: Option<InvoiceId>,
    /// At least 3 characters (the vendor refuses fewer).
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub customer_phone: Option<String>,
    pub vendor_product_id: Option<String>,
    /// Exactly 6 digits.
    pub ccard_first6: Option<String>,
    /// Exactly 2 digits.
    pub ccard_last2: Option<String>,
    pub sale_date_begin: Option<NaiveDate>,
    pub sale_date_end: Option<NaiveDate>,
    pub declined_recurrings: bool,
    pub active_recurrings: bool,
    pub refunded: bool,
}

/// Columns the vendor sorts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortColumn {
    SaleId,
    DatePlaced,
    CustomerName,
    Recurring,
    RecurringDeclined,
    UsdTotal,
}

/// Sort directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortDirection {
    Ascending,
    Descending,
}

/// A page of a listing: `page` from 1, `page_size` from 1 to [`PageRequest::MAX_PAGE_SIZE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageRequest {
    pub page: u32,
    pub page_size: u32,
}

impl PageRequest {
    /// The vendor's page size when none is given.
    pub const DEFAULT_PAGE_SIZE: u32 = 20;
    /// The largest page the vendor serves.
    pub const MAX_PAGE_SIZE: u32 = 100;
}

/// One list_sales call.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ListSalesQuery {
    pub filter: SalesFilter,
    pub page: PageRequest,
    /// `None` leaves the order to the vendor.
    pub sort_column: Option<SortColumn>,
    /// `None` leaves the direction to the vendor.
    pub sort_direction: Option<SortDirection>,
}

/// One row of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaleSummary {
    pub sale_id: SaleId,
    pub date_placed: Option<String>,
    pub customer_name: Option<String>,
    pub recurring: bool,
    pub recurring_declined: Option<String>,
    pub decline_code: Option<String>,
    pub usd_total: Option<Amount>,
}

/// A page of summaries and where it stands in the whole listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SalesPage {
    pub sales: Vec<SaleSummary>,
    pub page: u32,
    pub page_size: u32,
    /// 0 when nothing matched.
    pub last_page: u32,
    pub total_entries: u32,
    /// 1-based position of the first row; 0 for an empty page.
    pub first_entry: u32,
    /// 1-based position of the last row; 0 for an empty page.
    pub last_entry: u32,
}

impl SalesPage {
    /// The page the vendor answers with "no rows" (its HTTP 400 RECORD_NOT_FOUND quirk).
    pub fn empty(page: PageRequest) -> Self {
        Self {
            sales: Vec::new(),
            page: page.page,
            page_size: page.page_size,
            last_page: 0,
            total_entries: 0,
            first_entry: 0,
            last_entry: 0,
        }
    }

    /// True when a later page exists.
    pub fn has_next_page(&self) -> bool {
        self.page < self.last_page
    }
}
