//! Real INS posts kept as test fixtures, written once for every module's
//! tests that read, verify or fuzz them.

/// The 2012 live FRAUD_STATUS_CHANGED post (ActiveMerchant's copy): invoice
/// level, two items, 68 keys, signed by account 532001's secret word.
pub(crate) fn fraud_status_changed() -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = [
        ("message_type", "FRAUD_STATUS_CHANGED"),
        ("message_description", "Fraud status changed"),
        ("timestamp", "2013-07-19 17:01:19"),
        ("md5_hash", "2DAE8544FA29CE313DB20582D540F133"),
        ("message_id", "3786"),
        ("key_count", "68"),
        ("vendor_id", "532001"),
        ("sale_id", "4742525399"),
        ("sale_date_placed", "2012-06-28 22:14:23"),
        ("vendor_order_id", "test123"),
        ("invoice_id", "4759791636"),
        ("recurring", "1"),
        ("payment_type", "paypal ec"),
        ("list_currency", "USD"),
        ("cust_currency", "USD"),
        ("auth_exp", "2012-07-26"),
        ("invoice_status", "deposited"),
        ("fraud_status", "pass"),
        ("invoice_list_amount", "0.20"),
        ("invoice_usd_amount", "0.20"),
        ("invoice_cust_amount", "0.20"),
        ("customer_first_name", "Craig"),
        ("customer_last_name", "Christenson"),
        ("customer_name", "Craig P Christenson"),
        ("customer_email", "noreply@2co.com"),
        ("customer_phone", "5555555555"),
        ("customer_ip", "76.181.175.91"),
        ("customer_ip_country", "United States"),
        ("bill_street_address", "123 Test St"),
        ("bill_street_address2", "dddsdsc"),
        ("bill_city", "Columbus"),
        ("bill_state", "OH"),
        ("bill_postal_code", "43123"),
        ("bill_country", "USA"),
        ("ship_status", ""),
        ("ship_tracking_number", ""),
        ("ship_name", "Craig Christenson"),
        ("ship_street_address", "123 Test st"),
        ("ship_street_address2", ""),
        ("ship_city", "Columbus"),
        ("ship_state", "OH"),
        ("ship_postal_code", "43228"),
        ("ship_country", "USA"),
        ("item_count", "2"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for n in 1..=2 {
        for (field, value) in [
            ("item_name", "Download"),
            ("item_id", "ebook1"),
            ("item_list_amount", "0.10"),
            ("item_usd_amount", "0.10"),
            ("item_cust_amount", "0.10"),
            ("item_type", "bill"),
            ("item_duration", ""),
            ("item_recurrence", "1 Week"),
            ("item_rec_list_amount", "0.10"),
            ("item_rec_status", "live"),
            ("item_rec_date_next", "2012-07-26"),
            ("item_rec_install_billed", "4"),
        ] {
            fields.push((format!("{field}_{n}"), value.to_owned()));
        }
    }
    fields
}
