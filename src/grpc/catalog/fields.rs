//! Which request field a vendor parameter stands for, per CatalogService
//! method: a vendor refusal names its own parameter, and the caller's
//! BadRequest must name the caller's field. The same vendor parameter means
//! different fields in different calls (`product_id` is the product itself
//! in a product write and one of `product_ids` in a coupon write), hence one
//! function per kind of call.

/// ListProducts.
pub fn list_products_field(parameter: &str) -> Option<&'static str> {
    Some(match parameter {
        "assigned_product_id" => "filter.assigned_product_id",
        "vendor_product_id" => "filter.vendor_product_id",
        "name" => "filter.name",
        "cur_page" => "page",
        "pagesize" => "page_size",
        "sort_col" => "sort_column",
        "sort_dir" => "sort_direction",
        _ => return None,
    })
}

/// ListOptions.
pub fn list_options_field(parameter: &str) -> Option<&'static str> {
    Some(match parameter {
        "option_name" => "filter.option_name",
        "option_value_name" => "filter.option_value_name",
        "cur_page" => "page",
        "pagesize" => "page_size",
        "sort_col" => "sort_column",
        "sort_dir" => "sort_direction",
        _ => return None,
    })
}

/// ListCoupons (the vendor's listing takes no parameter the caller sets).
pub fn list_coupons_field(_parameter: &str) -> Option<&'static str> {
    None
}

/// GetProduct, CreateProduct, UpdateProduct, DeleteProduct: the vendor's
/// parameter names are the request's, except the repeated ids.
pub fn product_field(parameter: &str) -> Option<&'static str> {
    Some(match parameter {
        "product_id" => "product_id",
        "name" => "name",
        "price" => "price",
        "vendor_product_id" => "vendor_product_id",
        "description" => "description",
        "long_description" => "long_description",
        "pending_url" => "pending_url",
        "approved_url" => "approved_url",
        "tangible" => "tangible",
        "weight" => "weight",
        "handling" => "handling",
        "recurring" => "recurring",
        "startup_fee" => "startup_fee",
        "recurrence" => "recurrence",
        "duration" => "duration",
        "commission" => "commission",
        "commission_type" => "commission_type",
        "commission_amount" => "commission_amount",
        "option_id" => "option_ids",
        "category_id" => "category_ids",
        _ => return None,
    })
}

/// GetOption, DeleteOption.
pub fn option_field(parameter: &str) -> Option<&'static str> {
    Some(match parameter {
        "option_id" => "option_id",
        _ => return None,
    })
}

/// CreateOption.
pub fn create_option_field(parameter: &str) -> Option<&'static str> {
    Some(match parameter {
        "option_name" => "name",
        "option_value_name" | "option_value_surcharge" => "values",
        _ => return None,
    })
}

/// UpdateOption: the value parameters belong to whichever change was sent;
/// the BadRequest names the oneof.
pub fn update_option_field(parameter: &str) -> Option<&'static str> {
    Some(match parameter {
        "option_id" => "option_id",
        "option_name" => "name",
        "option_value_id" => "change_value.option_value_id",
        "option_value_name" | "option_value_surcharge" => "value_change",
        _ => return None,
    })
}

/// GetCoupon, CreateCoupon, UpdateCoupon, DeleteCoupon.
pub fn coupon_field(parameter: &str) -> Option<&'static str> {
    Some(match parameter {
        "coupon_code" => "coupon_code",
        "new_code" => "new_code",
        "date_expire" => "date_expire",
        "type" => "type",
        "percentage_off" => "percentage_off",
        "value_off" => "value_off",
        "minimum_purchase" => "minimum_purchase",
        "product_id" => "product_ids",
        "select_all" => "select_all",
        _ => return None,
    })
}
