//! Which request field a vendor parameter stands for, per SalesService
//! method: a vendor refusal names its own parameter, and the caller's
//! BadRequest must name the caller's field.

/// Which request field a vendor parameter of a write stands for.
pub fn write_field(parameter: &str) -> Option<&'static str> {
    Some(match parameter {
        "sale_id" => "sale_id",
        "invoice_id" => "invoice_id",
        "lineitem_id" => "line_item_id",
        "amount" => "amount",
        "currency" => "currency",
        "comment" | "sale_comment" => "comment",
        "category" => "category",
        "tracking_number" => "tracking_number",
        _ => return None,
    })
}

/// Which request field a vendor parameter of GetSale stands for.
pub fn get_sale_field(parameter: &str) -> Option<&'static str> {
    Some(match parameter {
        "sale_id" => "sale_id",
        "invoice_id" => "invoice_id",
        "sale_or_invoice_id" => "lookup",
        _ => return None,
    })
}

/// Which request field a vendor parameter of ListSales / StreamSales stands for.
pub fn list_sales_field(parameter: &str) -> Option<&'static str> {
    Some(match parameter {
        "sale_id" => "filter.sale_id",
        "invoice_id" => "filter.invoice_id",
        "customer_name" => "filter.customer_name",
        "customer_email" => "filter.customer_email",
        "customer_phone" => "filter.customer_phone",
        "vendor_product_id" => "filter.vendor_product_id",
        "ccard_first6" => "filter.ccard_first6",
        "ccard_last2" => "filter.ccard_last2",
        "sale_date_begin" => "filter.sale_date_begin",
        "sale_date_end" => "filter.sale_date_end",
        "declined_recurrings" => "filter.declined_recurrings",
        "active_recurrings" => "filter.active_recurrings",
        "refunded" => "filter.refunded",
        "cur_page" => "page",
        "pagesize" => "page_size",
        "sort_col" => "sort_column",
        "sort_dir" => "sort_direction",
        _ => return None,
    })
}
