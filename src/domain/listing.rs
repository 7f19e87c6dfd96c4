//! Listing sales: the filter, paging and sorting a caller asks for, and the
//! page of summaries that comes back.

use chrono::NaiveDate;

use super::{Amount, InvalidValue, InvoiceId, SaleId, echo};

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

/// The earliest date a sale filter accepts: 2Checkout has taken payments
/// since 2000, so no sale is older.
pub const EARLIEST_SALE_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(date) => date,
    None => panic!("a valid date"),
};

/// The latest date a sale filter accepts. The vendor writes dates as
/// `YYYY-MM-DD`, four-digit years only; the end of the century leaves any
/// real query room and keeps absurd years (`+10000`, `-0001`) away from it.
pub const LATEST_SALE_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2099, 12, 31) {
    Some(date) => date,
    None => panic!("a valid date"),
};

/// A sale date a caller sent: exactly `YYYY-MM-DD` (ten characters, no sign,
/// no five-digit year), a real calendar day, from [`EARLIEST_SALE_DATE`] to
/// [`LATEST_SALE_DATE`].
pub fn parse_sale_date(text: &str) -> Result<NaiveDate, InvalidValue> {
    let shape = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    let date = shape.then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()).flatten();
    let Some(date) = date else {
        return Err(InvalidValue(format!("{} is not a date in YYYY-MM-DD form", echo(text))));
    };
    if !(EARLIEST_SALE_DATE..=LATEST_SALE_DATE).contains(&date) {
        return Err(InvalidValue(format!("must be from {EARLIEST_SALE_DATE} to {LATEST_SALE_DATE}")));
    }
    Ok(date)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sale_dates_are_plain_calendar_days_within_the_documented_range() {
        let parse = |text: &str| parse_sale_date(text).map(|d| d.to_string()).map_err(|e| e.0);
        assert_eq!(parse("2000-01-01"), Ok("2000-01-01".into()));
        assert_eq!(parse("2099-12-31"), Ok("2099-12-31".into()));
        assert_eq!(parse("2024-02-29"), Ok("2024-02-29".into()));
        let out_of_range = Err("must be from 2000-01-01 to 2099-12-31".to_owned());
        assert_eq!(parse("1999-12-31"), out_of_range);
        assert_eq!(parse("2100-01-01"), out_of_range);
        for bad in [
            "+10000-01-01",
            "-0001-01-01",
            "+2024-01-01",
            "2024-1-05",
            "2024-01-5 ",
            " 2024-01-05",
            "2023-02-29",
            "2024/01/05",
            "２０２４-01-05",
            "",
        ] {
            assert_eq!(parse(bad), Err(format!("{bad:?} is not a date in YYYY-MM-DD form")), "{bad:?}");
        }
    }

    #[test]
    fn a_huge_bad_date_is_quoted_only_in_part() {
        let message = parse_sale_date(&"9".repeat(1 << 20)).unwrap_err().0;
        assert_eq!(message, format!("\"{}\"… is not a date in YYYY-MM-DD form", "9".repeat(64)));
    }
}
