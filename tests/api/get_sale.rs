//! GetSale: the documented sale, by sale and by invoice, in both wire formats.

use tco_gateway::grpc::proto::{
    BillingStatus, GetSaleRequest, InvoiceStatus, LineItemType, PaymentMethod, RecurringStatus, Sale,
    get_sale_request::Lookup,
};
use tco_simulator::{DOCUMENTED_INVOICE_IDS, DOCUMENTED_SALE_ID, Endpoint};

use crate::helpers::{TestApp, spawn_app, spawn_gateway, spawn_simulator};

async fn get(app: &TestApp, lookup: Lookup) -> Sale {
    let mut sales = app.sales.clone();
    sales
        .get_sale(GetSaleRequest { lookup: Some(lookup), fresh: false })
        .await
        .expect("GetSale succeeds")
        .into_inner()
        .sale
        .unwrap()
}

#[tokio::test]
async fn get_sale_by_sale_id_returns_the_documented_sale_whole() {
    let app = spawn_app().await;
    let sale = get(&app, Lookup::SaleId(DOCUMENTED_SALE_ID.into())).await;

    assert_eq!(sale.sale_id, "4647892238");
    assert_eq!(sale.date_placed, "2012-02-29 13:29:28");
    assert_eq!(sale.ip_address, "66.194.132.135");
    assert_eq!(sale.ip_country, "United States");
    let ip = sale.ip_detail.as_ref().unwrap();
    assert_eq!((ip.city.as_str(), ip.region.as_str(), ip.country_code.as_str()), ("Galena", "OH", "US"));

    let customer = sale.customer.as_ref().unwrap();
    assert_eq!(customer.cardholder_name, "Testing  Tester");
    assert_eq!(customer.email_address, "api_user@fake-company.com");
    assert_eq!(customer.customer_id, "4647892244");
    assert_eq!(customer.phone, "123465789");
    assert_eq!(customer.phone_extension, "", "an empty vendor string is absent");
    assert_eq!(customer.middle_initial, "");
    let address = customer.billing_address.as_ref().unwrap();
    assert_eq!(
        (address.address_1.as_str(), address.city.as_str(), address.state.as_str()),
        ("123 test st", "test", "OH")
    );
    assert_eq!((address.postal_code.as_str(), address.country_code.as_str()), ("43123", "USA"));
    let pay = customer.pay_method.as_ref().unwrap();
    assert_eq!(pay.method(), PaymentMethod::Paypal);
    assert_eq!(pay.vendor_method, "paypal ec");
    assert_eq!(pay.first_six_digits, "");

    assert_eq!(sale.invoices.len(), 2);
    let ids: Vec<_> = sale.invoices.iter().map(|i| i.invoice_id.as_str()).collect();
    assert_eq!(ids, DOCUMENTED_INVOICE_IDS);
    let first = &sale.invoices[0];
    assert_eq!(first.status(), InvoiceStatus::Deposited);
    assert_eq!(first.vendor_status, "deposited");
    assert_eq!(
        (first.usd_total.as_str(), first.vendor_total.as_str(), first.fees_2co.as_str()),
        ("1.53", "1.00", "0.54")
    );
    assert!(first.recurring);
    assert_eq!(first.vendor_order_id, "1");
    assert!(first.shipping.is_none());

    assert_eq!(first.line_items.len(), 2);
    let billed = &first.line_items[0];
    assert_eq!(billed.line_item_id, "4647892301");
    assert_eq!(billed.r#type(), LineItemType::Product);
    assert_eq!(billed.status(), BillingStatus::Bill);
    assert_eq!((billed.product_price.as_str(), billed.usd_amount.as_str()), ("1.00", "1.53"));
    assert_eq!((billed.product_recurrence.as_str(), billed.product_duration.as_str()), ("1 Month", "Forever"));
    assert!(!billed.product_tangible);
    let billing = billed.billing.as_ref().unwrap();
    assert_eq!(billing.billing_id, "4647892307");
    assert_eq!(billing.recurring_status(), RecurringStatus::Completed);
    assert_eq!(billing.bill_method, "paypal_int");
    let refund = &first.line_items[1];
    assert_eq!(refund.status(), BillingStatus::Refund);
    assert_eq!(refund.linked_id, "4647892301");

    let stopped = &sale.invoices[1].line_items[0];
    assert_eq!(stopped.billing.as_ref().unwrap().recurring_status(), RecurringStatus::Stopped);

    assert_eq!(sale.comments.len(), 2);
    assert_eq!(sale.comments[0].text, "[* Sent: Vendor *] Refund Issued On Sale: test sale");
    assert_eq!(sale.comments[0].username, "api_user");
    assert_eq!(sale.comments[0].ip_address, "192.168.0.1");
}

#[tokio::test]
async fn get_sale_by_invoice_id_returns_the_sale_with_only_that_invoice() {
    let app = spawn_app().await;
    let sale = get(&app, Lookup::InvoiceId(DOCUMENTED_INVOICE_IDS[1].into())).await;
    assert_eq!(sale.sale_id, DOCUMENTED_SALE_ID);
    assert_eq!(sale.invoices.len(), 1);
    assert_eq!(sale.invoices[0].invoice_id, DOCUMENTED_INVOICE_IDS[1]);
    assert_eq!(app.simulator.request_count(Endpoint::DetailSale), 1);
}

#[tokio::test]
async fn the_same_sale_decodes_to_the_same_value_from_json_and_from_xml() {
    let simulator = spawn_simulator().await;
    let json = spawn_gateway(&simulator, &[("admin_api.wire_format", "json")]).await;
    let xml = spawn_gateway(&simulator, &[("admin_api.wire_format", "xml")]).await;
    for lookup in [
        Lookup::SaleId(DOCUMENTED_SALE_ID.into()),
        Lookup::InvoiceId(DOCUMENTED_INVOICE_IDS[0].into()),
        Lookup::InvoiceId(DOCUMENTED_INVOICE_IDS[1].into()),
    ] {
        let from_json = get(&json, lookup.clone()).await;
        let from_xml = get(&xml, lookup).await;
        assert_eq!(from_json, from_xml);
    }
}

#[tokio::test]
async fn generated_sales_decode_identically_from_both_formats_too() {
    use tco_gateway::grpc::proto::ListSalesRequest;
    let simulator = spawn_simulator().await;
    let json = spawn_gateway(&simulator, &[]).await;
    let xml = spawn_gateway(&simulator, &[("admin_api.wire_format", "xml")]).await;
    let mut sales = json.sales.clone();
    let page =
        sales.list_sales(ListSalesRequest { page_size: 30, ..Default::default() }).await.unwrap().into_inner().sales;
    assert_eq!(page.len(), 30);
    let mut xml_sales = xml.sales.clone();
    let xml_page = xml_sales
        .list_sales(ListSalesRequest { page_size: 30, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .sales;
    assert_eq!(page, xml_page, "listing decodes the same from both formats");
    for summary in page {
        let lookup = Lookup::SaleId(summary.sale_id.clone());
        assert_eq!(get(&json, lookup.clone()).await, get(&xml, lookup).await, "sale {}", summary.sale_id);
    }
}
