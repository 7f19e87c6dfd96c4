//! SalesService requests into validated domain values (`TryFrom`), failing
//! with INVALID_ARGUMENT naming the proto field, before anything is sent.

use chrono::NaiveDate;

use super::super::{optional_text, proto, required_text};
use crate::domain::{
    self, Amount, Error, LineItemId, ListSalesQuery, MAX_COMMENT_CHARS, MAX_TRACKING_NUMBER_CHARS, PageRequest, Refund,
    RefundAmount, RefundCategory, RefundCurrency, RequestId, SaleId, SaleLookup, SaleOrInvoice, SaleWrite, SalesFilter,
    Sign, SortColumn, SortDirection, TextRules, WriteRequest,
};

/// A free-text filter: one line, at most 255 characters (far above any real
/// name, e-mail or product id; it keeps absurd input away from the upstream).
const FILTER: TextRules = TextRules::line(255);

impl TryFrom<&proto::GetSaleRequest> for SaleLookup {
    type Error = Error;

    fn try_from(request: &proto::GetSaleRequest) -> Result<Self, Error> {
        use proto::get_sale_request::Lookup;
        match &request.lookup {
            Some(Lookup::SaleId(id)) => Ok(Self::BySale(id.parse().map_err(|e| Error::invalid_field("sale_id", e))?)),
            Some(Lookup::InvoiceId(id)) => {
                Ok(Self::ByInvoice(id.parse().map_err(|e| Error::invalid_field("invoice_id", e))?))
            }
            None => Err(Error::invalid_field("lookup", "set either sale_id or invoice_id")),
        }
    }
}

impl TryFrom<&proto::ListSalesRequest> for ListSalesQuery {
    type Error = Error;

    fn try_from(request: &proto::ListSalesRequest) -> Result<Self, Error> {
        let page = match request.page {
            0 => 1,
            p if p > 0 => p as u32,
            _ => return Err(Error::invalid_field("page", "must be 1 or more (0 means 1)")),
        };
        Ok(Self {
            filter: sales_filter(request.filter.as_ref())?,
            page: PageRequest {
                page,
                page_size: page_size("page_size", request.page_size, PageRequest::DEFAULT_PAGE_SIZE)?,
            },
            sort_column: sort_column("sort_column", request.sort_column)?,
            sort_direction: sort_direction("sort_direction", request.sort_direction)?,
        })
    }
}

/// A validated StreamSales request: the first page's query; later pages differ only in page number.
impl TryFrom<&proto::StreamSalesRequest> for ListSalesQuery {
    type Error = Error;

    fn try_from(request: &proto::StreamSalesRequest) -> Result<Self, Error> {
        Ok(Self {
            filter: sales_filter(request.filter.as_ref())?,
            // Streaming callers want everything: the largest page costs the fewest round trips.
            page: PageRequest {
                page: 1,
                page_size: page_size("page_size", request.page_size, PageRequest::MAX_PAGE_SIZE)?,
            },
            sort_column: sort_column("sort_column", request.sort_column)?,
            sort_direction: sort_direction("sort_direction", request.sort_direction)?,
        })
    }
}

fn page_size(field: &str, requested: i32, default: u32) -> Result<u32, Error> {
    match requested {
        0 => Ok(default),
        n if (1..=PageRequest::MAX_PAGE_SIZE as i32).contains(&n) => Ok(n as u32),
        _ => Err(Error::invalid_field(
            field,
            format!("must be between 1 and {} (0 means the default)", PageRequest::MAX_PAGE_SIZE),
        )),
    }
}

fn sort_column(field: &str, raw: i32) -> Result<Option<SortColumn>, Error> {
    use proto::SortColumn as P;
    Ok(match P::try_from(raw).map_err(|_| Error::invalid_field(field, format!("{raw} is not a SortColumn")))? {
        P::Unspecified => None,
        P::SaleId => Some(SortColumn::SaleId),
        P::DatePlaced => Some(SortColumn::DatePlaced),
        P::CustomerName => Some(SortColumn::CustomerName),
        P::Recurring => Some(SortColumn::Recurring),
        P::RecurringDeclined => Some(SortColumn::RecurringDeclined),
        P::UsdTotal => Some(SortColumn::UsdTotal),
    })
}

fn sort_direction(field: &str, raw: i32) -> Result<Option<SortDirection>, Error> {
    use proto::SortDirection as P;
    Ok(match P::try_from(raw).map_err(|_| Error::invalid_field(field, format!("{raw} is not a SortDirection")))? {
        P::Unspecified => None,
        P::Ascending => Some(SortDirection::Ascending),
        P::Descending => Some(SortDirection::Descending),
    })
}

fn sales_filter(filter: Option<&proto::SalesFilter>) -> Result<SalesFilter, Error> {
    let Some(f) = filter else { return Ok(SalesFilter::default()) };
    // Empty means "no filter"; whitespace alone would filter on nothing visible, so it is refused.
    let text = |name: &str, value: &str| -> Result<Option<String>, Error> {
        if value.is_empty() {
            return Ok(None);
        }
        let field = format!("filter.{name}");
        match optional_text(&field, value, FILTER)? {
            Some(text) => Ok(Some(text.into_string())),
            None => Err(Error::invalid_field(field, "must not be only whitespace")),
        }
    };
    let digits = |name: &str, value: &str, len: usize| -> Result<Option<String>, Error> {
        if value.is_empty() {
            return Ok(None);
        }
        if value.len() != len || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid_field(format!("filter.{name}"), format!("must be exactly {len} digits")));
        }
        Ok(Some(value.to_owned()))
    };
    let date = |name: &str, value: &str| -> Result<Option<NaiveDate>, Error> {
        if value.is_empty() {
            return Ok(None);
        }
        domain::parse_sale_date(value).map(Some).map_err(|e| Error::invalid_field(format!("filter.{name}"), e))
    };
    let customer_name = text("customer_name", &f.customer_name)?;
    if let Some(name) = &customer_name
        && name.trim().chars().count() < 3
    {
        return Err(Error::invalid_field("filter.customer_name", "must be at least 3 characters"));
    }
    let customer_phone = text("customer_phone", &f.customer_phone)?;
    if let Some(phone) = &customer_phone
        && !phone.bytes().all(|b| b.is_ascii_digit() || b"+-() .".contains(&b))
    {
        return Err(Error::invalid_field("filter.customer_phone", "must contain only digits, spaces and + - ( ) ."));
    }
    let sale_date_begin = date("sale_date_begin", &f.sale_date_begin)?;
    let sale_date_end = date("sale_date_end", &f.sale_date_end)?;
    if let (Some(begin), Some(end)) = (sale_date_begin, sale_date_end)
        && end < begin
    {
        return Err(Error::invalid_field("filter.sale_date_end", "must not be before filter.sale_date_begin"));
    }
    Ok(SalesFilter {
        sale_id: optional_id("filter.sale_id", &f.sale_id)?,
        invoice_id: optional_id("filter.invoice_id", &f.invoice_id)?,
        customer_name,
        customer_email: text("customer_email", &f.customer_email)?,
        customer_phone,
        vendor_product_id: text("vendor_product_id", &f.vendor_product_id)?,
        ccard_first6: digits("ccard_first6", &f.ccard_first6, 6)?,
        ccard_last2: digits("ccard_last2", &f.ccard_last2, 2)?,
        sale_date_begin,
        sale_date_end,
        declined_recurrings: f.declined_recurrings,
        active_recurrings: f.active_recurrings,
        refunded: f.refunded,
    })
}

fn optional_id<T: std::str::FromStr<Err = domain::InvalidValue>>(field: &str, raw: &str) -> Result<Option<T>, Error> {
    if raw.is_empty() { Ok(None) } else { raw.parse().map(Some).map_err(|e| Error::invalid_field(field, e)) }
}

fn required_id<T: std::str::FromStr<Err = domain::InvalidValue>>(field: &str, raw: &str) -> Result<T, Error> {
    optional_id(field, raw)?.ok_or_else(|| Error::invalid_field(field, "is required"))
}

fn request_id(raw: &str) -> Result<RequestId, Error> {
    raw.parse().map_err(|e| Error::invalid_field("request_id", e))
}

fn sale_or_invoice(sale_id: &str, invoice_id: &str) -> Result<SaleOrInvoice, Error> {
    SaleOrInvoice::new(optional_id("sale_id", sale_id)?, optional_id("invoice_id", invoice_id)?)
        .ok_or_else(|| Error::invalid_field("sale_id", "set sale_id, invoice_id or both"))
}

/// A comment on a sale: it may span lines.
const COMMENT: TextRules = TextRules { max_chars: MAX_COMMENT_CHARS, forbid_angle_brackets: false, line_breaks: true };
/// What the vendor accepts in refund and shipping comments and tracking numbers.
const REFUND_COMMENT: TextRules = COMMENT.without_angle_brackets();
const TRACKING_NUMBER: TextRules =
    TextRules { max_chars: MAX_TRACKING_NUMBER_CHARS, forbid_angle_brackets: true, line_breaks: true };

fn refund(amount: &str, currency: i32, comment: &str, category: i32) -> Result<Refund, Error> {
    use proto::RefundCurrency as P;
    let currency = match P::try_from(currency)
        .map_err(|_| Error::invalid_field("currency", format!("{currency} is not a RefundCurrency")))?
    {
        P::Unspecified => None,
        P::Usd => Some(RefundCurrency::Usd),
        P::Vendor => Some(RefundCurrency::Vendor),
        P::Customer => Some(RefundCurrency::Customer),
    };
    let amount = match (amount.is_empty(), currency) {
        (true, None) => None,
        // A currency alone would silently turn a meant-partial refund into a full one.
        (true, Some(_)) => {
            return Err(Error::invalid_field(
                "amount",
                "is required when currency is set (leave both empty to refund the whole remaining balance)",
            ));
        }
        (false, None) => return Err(Error::invalid_field("currency", "is required when amount is set")),
        (false, Some(currency)) => {
            let amount = Amount::parse(amount, Sign::Positive).map_err(|e| Error::invalid_field("amount", e))?;
            Some(RefundAmount { amount, currency })
        }
    };
    let category = RefundCategory::try_from(category).map_err(|e| Error::invalid_field("category", e))?;
    let comment = required_text("comment", comment, REFUND_COMMENT)?;
    Ok(Refund { amount, comment, category })
}

impl TryFrom<&proto::RefundInvoiceRequest> for WriteRequest {
    type Error = Error;

    fn try_from(r: &proto::RefundInvoiceRequest) -> Result<Self, Error> {
        Ok(Self {
            request_id: request_id(&r.request_id)?,
            write: SaleWrite::RefundInvoice {
                target: sale_or_invoice(&r.sale_id, &r.invoice_id)?,
                refund: refund(&r.amount, r.currency, &r.comment, r.category)?,
            },
        })
    }
}

impl TryFrom<&proto::RefundLineItemRequest> for WriteRequest {
    type Error = Error;

    fn try_from(r: &proto::RefundLineItemRequest) -> Result<Self, Error> {
        Ok(Self {
            request_id: request_id(&r.request_id)?,
            write: SaleWrite::RefundLineItem {
                sale_id: required_id::<SaleId>("sale_id", &r.sale_id)?,
                line_item_id: required_id::<LineItemId>("line_item_id", &r.line_item_id)?,
                refund: refund(&r.amount, r.currency, &r.comment, r.category)?,
            },
        })
    }
}

impl TryFrom<&proto::ReauthorizeRequest> for WriteRequest {
    type Error = Error;

    fn try_from(r: &proto::ReauthorizeRequest) -> Result<Self, Error> {
        Ok(Self {
            request_id: request_id(&r.request_id)?,
            write: SaleWrite::Reauthorize { sale_id: required_id("sale_id", &r.sale_id)? },
        })
    }
}

impl TryFrom<&proto::StopLineItemRecurringRequest> for WriteRequest {
    type Error = Error;

    fn try_from(r: &proto::StopLineItemRecurringRequest) -> Result<Self, Error> {
        Ok(Self {
            request_id: request_id(&r.request_id)?,
            write: SaleWrite::StopLineItemRecurring {
                sale_id: required_id("sale_id", &r.sale_id)?,
                line_item_id: required_id("line_item_id", &r.line_item_id)?,
            },
        })
    }
}

impl TryFrom<&proto::MarkShippedRequest> for WriteRequest {
    type Error = Error;

    fn try_from(r: &proto::MarkShippedRequest) -> Result<Self, Error> {
        Ok(Self {
            request_id: request_id(&r.request_id)?,
            write: SaleWrite::MarkShipped {
                target: sale_or_invoice(&r.sale_id, &r.invoice_id)?,
                tracking_number: required_text("tracking_number", &r.tracking_number, TRACKING_NUMBER)?,
                notify_customer: r.notify_customer,
                reauthorize: r.reauthorize,
                comment: optional_text("comment", &r.comment, REFUND_COMMENT)?,
            },
        })
    }
}

impl TryFrom<&proto::CreateCommentRequest> for WriteRequest {
    type Error = Error;

    fn try_from(r: &proto::CreateCommentRequest) -> Result<Self, Error> {
        Ok(Self {
            request_id: request_id(&r.request_id)?,
            write: SaleWrite::CreateComment {
                sale_id: required_id("sale_id", &r.sale_id)?,
                text: required_text("comment", &r.comment, COMMENT)?,
                notify_vendor: r.notify_vendor,
                notify_customer: r.notify_customer,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(f: impl FnOnce(&mut proto::ListSalesRequest)) -> Result<ListSalesQuery, Error> {
        let mut request = proto::ListSalesRequest { filter: Some(proto::SalesFilter::default()), ..Default::default() };
        f(&mut request);
        ListSalesQuery::try_from(&request)
    }

    fn field_of(result: Result<ListSalesQuery, Error>) -> String {
        match result {
            Err(Error::InvalidField { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_page_one_of_twenty_in_vendor_order() {
        let q = list(|_| {}).unwrap();
        assert_eq!(q.page, PageRequest { page: 1, page_size: 20 });
        assert_eq!((q.sort_column, q.sort_direction), (None, None));
    }

    #[test]
    fn each_invalid_list_field_is_named() {
        assert_eq!(field_of(list(|r| r.page_size = 101)), "page_size");
        assert_eq!(field_of(list(|r| r.page_size = -1)), "page_size");
        assert_eq!(field_of(list(|r| r.page = -3)), "page");
        assert_eq!(field_of(list(|r| r.sort_column = 42)), "sort_column");
        assert_eq!(field_of(list(|r| r.sort_direction = 9)), "sort_direction");
        let filter = |f: fn(&mut proto::SalesFilter)| list(move |r| f(r.filter.as_mut().unwrap()));
        assert_eq!(field_of(filter(|f| f.customer_name = "ab".into())), "filter.customer_name");
        assert_eq!(field_of(filter(|f| f.sale_id = "12x".into())), "filter.sale_id");
        assert_eq!(field_of(filter(|f| f.invoice_id = "-1".into())), "filter.invoice_id");
        assert_eq!(field_of(filter(|f| f.ccard_first6 = "4111".into())), "filter.ccard_first6");
        assert_eq!(field_of(filter(|f| f.ccard_last2 = "1a".into())), "filter.ccard_last2");
        assert_eq!(field_of(filter(|f| f.sale_date_begin = "2024-02-30".into())), "filter.sale_date_begin");
        assert_eq!(field_of(filter(|f| f.sale_date_end = "yesterday".into())), "filter.sale_date_end");
        assert_eq!(field_of(filter(|f| f.customer_phone = "call me".into())), "filter.customer_phone");
        assert_eq!(field_of(filter(|f| f.customer_email = "x".repeat(256))), "filter.customer_email");
        assert_eq!(field_of(filter(|f| f.customer_email = "a\nb".into())), "filter.customer_email");
        assert_eq!(field_of(filter(|f| f.vendor_product_id = "   ".into())), "filter.vendor_product_id");
        assert_eq!(
            field_of(filter(|f| {
                f.sale_date_begin = "2024-05-01".into();
                f.sale_date_end = "2024-04-01".into();
            })),
            "filter.sale_date_end"
        );
    }

    #[test]
    fn get_sale_needs_exactly_one_numeric_id() {
        use proto::get_sale_request::Lookup;
        let lookup = |l| SaleLookup::try_from(&proto::GetSaleRequest { lookup: l, fresh: false });
        assert!(matches!(lookup(None), Err(Error::InvalidField { field, .. }) if field == "lookup"));
        assert!(
            matches!(lookup(Some(Lookup::SaleId("".into()))), Err(Error::InvalidField { field, .. }) if field == "sale_id")
        );
        assert!(
            matches!(lookup(Some(Lookup::InvoiceId("4a".into()))), Err(Error::InvalidField { field, .. }) if field == "invoice_id")
        );
        assert!(matches!(lookup(Some(Lookup::SaleId("4647892238".into()))), Ok(SaleLookup::BySale(_))));
    }

    fn refund_request(f: impl FnOnce(&mut proto::RefundInvoiceRequest)) -> Result<WriteRequest, Error> {
        let mut request = proto::RefundInvoiceRequest {
            request_id: "6f1c1d3e-58a4-4b7e-9a55-0d6c4b1f7a10".into(),
            sale_id: "4647892238".into(),
            comment: "Buyer deserved a refund.".into(),
            category: proto::RefundCategory::ServiceRefundedAtMerchantsRequest.into(),
            ..Default::default()
        };
        f(&mut request);
        WriteRequest::try_from(&request)
    }

    fn invalid(result: Result<WriteRequest, Error>) -> String {
        match result {
            Err(Error::InvalidField { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn a_refund_without_amount_refunds_the_remainder() {
        let request = refund_request(|_| {}).unwrap();
        let SaleWrite::RefundInvoice { refund, .. } = request.write else { panic!() };
        assert_eq!(refund.amount, None);
        assert_eq!(refund.category.number(), 13);
    }

    #[test]
    fn each_invalid_refund_field_is_named() {
        assert_eq!(invalid(refund_request(|r| r.request_id = String::new())), "request_id");
        assert_eq!(invalid(refund_request(|r| r.request_id = "123".into())), "request_id");
        assert_eq!(invalid(refund_request(|r| r.sale_id = String::new())), "sale_id");
        assert_eq!(invalid(refund_request(|r| r.invoice_id = "12a".into())), "invoice_id");
        assert_eq!(invalid(refund_request(|r| r.comment = String::new())), "comment");
        assert_eq!(invalid(refund_request(|r| r.comment = "x".repeat(5001))), "comment");
        assert_eq!(invalid(refund_request(|r| r.comment = "<b>no</b>".into())), "comment");
        assert_eq!(invalid(refund_request(|r| r.category = 0)), "category");
        assert_eq!(invalid(refund_request(|r| r.category = 7)), "category");
        assert_eq!(invalid(refund_request(|r| r.category = 18)), "category");
        assert_eq!(invalid(refund_request(|r| r.amount = "1.00".into())), "currency");
        assert_eq!(invalid(refund_request(|r| r.currency = proto::RefundCurrency::Usd.into())), "amount");
        let with = |amount: &'static str| {
            refund_request(move |r| {
                r.amount = amount.into();
                r.currency = proto::RefundCurrency::Vendor.into();
            })
        };
        for bad in ["0.00", "0.001", "-1.00", "1e2", "100000000.00", "abc"] {
            assert_eq!(invalid(with(bad)), "amount", "{bad}");
        }
        assert!(with("0.01").is_ok());
        assert!(refund_request(|r| r.comment = "x".repeat(5000)).is_ok());
        // Comments may span lines; other control characters are refused.
        assert!(refund_request(|r| r.comment = "Line one.\r\n\tLine two.".into()).is_ok());
        assert_eq!(invalid(refund_request(|r| r.comment = "bell\u{7}".into())), "comment");
    }

    #[test]
    fn shipping_and_comment_limits_are_enforced() {
        let ship = |f: fn(&mut proto::MarkShippedRequest)| {
            let mut r = proto::MarkShippedRequest {
                request_id: "6f1c1d3e-58a4-4b7e-9a55-0d6c4b1f7a10".into(),
                sale_id: "1".into(),
                tracking_number: "1Z999".into(),
                ..Default::default()
            };
            f(&mut r);
            WriteRequest::try_from(&r)
        };
        assert!(ship(|_| {}).is_ok());
        assert_eq!(invalid(ship(|r| r.tracking_number = String::new())), "tracking_number");
        assert_eq!(invalid(ship(|r| r.tracking_number = "9".repeat(256))), "tracking_number");
        assert_eq!(invalid(ship(|r| r.comment = "a > b".into())), "comment");
        assert_eq!(invalid(ship(|r| r.sale_id = String::new())), "sale_id");
        let comment = |text: String| {
            WriteRequest::try_from(&proto::CreateCommentRequest {
                request_id: "6f1c1d3e-58a4-4b7e-9a55-0d6c4b1f7a10".into(),
                sale_id: "1".into(),
                comment: text,
                ..Default::default()
            })
        };
        assert_eq!(invalid(comment(String::new())), "comment");
        assert_eq!(invalid(comment("x".repeat(5001))), "comment");
        assert!(comment("Called the buyer <3".into()).is_ok());
        let stop = WriteRequest::try_from(&proto::StopLineItemRecurringRequest {
            request_id: "6f1c1d3e-58a4-4b7e-9a55-0d6c4b1f7a10".into(),
            sale_id: "1".into(),
            line_item_id: String::new(),
        });
        assert_eq!(invalid(stop), "line_item_id");
    }

    #[test]
    fn streaming_defaults_to_the_largest_page() {
        let q = ListSalesQuery::try_from(&proto::StreamSalesRequest::default()).unwrap();
        assert_eq!(q.page.page_size, PageRequest::MAX_PAGE_SIZE);
    }
}
