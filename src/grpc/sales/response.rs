//! Domain answers into SalesService messages (`From`, infallible): absent
//! values become proto defaults, and every vendor enum keeps its raw text
//! beside the known value.

use super::super::proto;
use crate::domain::{
    self, Amount, BillingStatus, InvoiceStatus, LineItemType, PaymentMethod, RecurringStatus, VendorValue,
};

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

fn money(value: Option<Amount>) -> String {
    value.map(|a| a.to_string()).unwrap_or_default()
}

fn known<T: Copy, P: Into<i32>>(value: &VendorValue<T>, map: impl Fn(T) -> P) -> i32 {
    value.known.map(|v| map(v).into()).unwrap_or(0)
}

fn raw<T>(value: &VendorValue<T>) -> String {
    value.raw.clone().unwrap_or_default()
}

fn billing_status(status: BillingStatus) -> proto::BillingStatus {
    match status {
        BillingStatus::Bill => proto::BillingStatus::Bill,
        BillingStatus::Refund => proto::BillingStatus::Refund,
    }
}

impl From<&domain::Address> for proto::Address {
    fn from(a: &domain::Address) -> Self {
        Self {
            address_id: text(&a.address_id),
            address_1: text(&a.address_1),
            address_2: text(&a.address_2),
            city: text(&a.city),
            state: text(&a.state),
            postal_code: text(&a.postal_code),
            country_code: text(&a.country_code),
            country_name: text(&a.country_name),
        }
    }
}

impl From<domain::Sale> for proto::Sale {
    fn from(s: domain::Sale) -> Self {
        Self::from(&s)
    }
}

/// By reference: a shared sale is encoded straight from the cache's copy.
impl From<&domain::Sale> for proto::Sale {
    fn from(s: &domain::Sale) -> Self {
        Self {
            sale_id: s.sale_id.to_string(),
            date_placed: text(&s.date_placed),
            ip_address: text(&s.ip_address),
            ip_country: text(&s.ip_country),
            recurring_decline: text(&s.recurring_decline),
            ip_detail: s.ip_detail.as_ref().map(|ip| proto::IpDetail {
                address: text(&ip.address),
                city: text(&ip.city),
                region: text(&ip.region),
                country_code: text(&ip.country_code),
            }),
            customer: s.customer.as_ref().map(Into::into),
            invoices: s.invoices.iter().map(Into::into).collect(),
            comments: s
                .comments
                .iter()
                .map(|c| proto::Comment {
                    username: text(&c.username),
                    timestamp: text(&c.timestamp),
                    ip_address: text(&c.ip_address),
                    text: text(&c.text),
                })
                .collect(),
        }
    }
}

impl From<&domain::Customer> for proto::Customer {
    fn from(c: &domain::Customer) -> Self {
        Self {
            customer_id: text(&c.customer_id),
            prefix: text(&c.prefix),
            first_name: text(&c.first_name),
            middle_initial: text(&c.middle_initial),
            last_name: text(&c.last_name),
            cardholder_name: text(&c.cardholder_name),
            email_address: text(&c.email_address),
            phone: text(&c.phone),
            phone_extension: text(&c.phone_extension),
            language: text(&c.language),
            billing_address: Some((&c.billing_address).into()),
            pay_method: c.pay_method.as_ref().map(|p| proto::PayMethod {
                method: known(&p.method, |m| match m {
                    PaymentMethod::CreditCard => proto::PaymentMethod::CreditCard,
                    PaymentMethod::Ach => proto::PaymentMethod::Ach,
                    PaymentMethod::Amex => proto::PaymentMethod::Amex,
                    PaymentMethod::Atmd => proto::PaymentMethod::Atmd,
                    PaymentMethod::BillMeLater => proto::PaymentMethod::BillMeLater,
                    PaymentMethod::FxSource => proto::PaymentMethod::Fxsource,
                    PaymentMethod::PayPal => proto::PaymentMethod::Paypal,
                    PaymentMethod::PayPalPayLater => proto::PaymentMethod::PaypalPayLater,
                    PaymentMethod::Acculynk => proto::PaymentMethod::Acculynk,
                }),
                vendor_method: raw(&p.method),
                first_six_digits: text(&p.first_six_digits),
                last_two_digits: text(&p.last_two_digits),
                avs: text(&p.avs),
                cvv: text(&p.cvv),
            }),
        }
    }
}

impl From<&domain::Invoice> for proto::Invoice {
    fn from(i: &domain::Invoice) -> Self {
        Self {
            invoice_id: i.invoice_id.to_string(),
            sale_id: text(&i.sale_id),
            status: known(&i.status, |s| match s {
                InvoiceStatus::Approved => proto::InvoiceStatus::Approved,
                InvoiceStatus::Pending => proto::InvoiceStatus::Pending,
                InvoiceStatus::Deposited => proto::InvoiceStatus::Deposited,
                InvoiceStatus::Declined => proto::InvoiceStatus::Declined,
            }),
            vendor_status: raw(&i.status),
            usd_total: money(i.usd_total),
            vendor_total: money(i.vendor_total),
            customer_total: money(i.customer_total),
            fees_2co: money(i.fees_2co),
            recurring: i.recurring,
            date_placed: text(&i.date_placed),
            date_shipped: text(&i.date_shipped),
            date_vendor_paid: text(&i.date_vendor_paid),
            referrer: text(&i.referrer),
            vendor_order_id: text(&i.vendor_order_id),
            vendor_id: text(&i.vendor_id),
            line_items: i.line_items.iter().map(Into::into).collect(),
            shipping: i.shipping.as_ref().map(|s| proto::Shipping {
                shipping_id: text(&s.shipping_id),
                date_shipped: text(&s.date_shipped),
                tracking_number: text(&s.tracking_number),
                tracking_url: text(&s.tracking_url),
                shipping_method_id: text(&s.shipping_method_id),
                shipping_method: text(&s.shipping_method),
                recipient_name: text(&s.recipient_name),
                address: Some((&s.address).into()),
            }),
        }
    }
}

impl From<&domain::LineItem> for proto::LineItem {
    fn from(l: &domain::LineItem) -> Self {
        Self {
            line_item_id: l.line_item_id.clone(),
            invoice_id: text(&l.invoice_id),
            sale_id: text(&l.sale_id),
            product_id: text(&l.product_id),
            vendor_product_id: text(&l.vendor_product_id),
            product_name: text(&l.product_name),
            product_description: text(&l.product_description),
            product_price: money(l.product_price),
            product_handling: money(l.product_handling),
            product_startup_fee: money(l.product_startup_fee),
            product_recurrence: text(&l.product_recurrence),
            product_duration: text(&l.product_duration),
            product_tangible: l.product_tangible,
            product_is_cart: text(&l.product_is_cart),
            installment: text(&l.installment),
            r#type: known(&l.line_type, |t| match t {
                LineItemType::Product => proto::LineItemType::Product,
                LineItemType::SignupFee => proto::LineItemType::SignupFee,
                LineItemType::Affiliate => proto::LineItemType::Affiliate,
                LineItemType::Shipping => proto::LineItemType::Shipping,
                LineItemType::Partial => proto::LineItemType::Partial,
                LineItemType::Chargeback => proto::LineItemType::Chargeback,
                LineItemType::Coupon => proto::LineItemType::Coupon,
            }),
            vendor_type: raw(&l.line_type),
            status: known(&l.status, billing_status),
            vendor_status: raw(&l.status),
            usd_amount: money(l.usd_amount),
            vendor_amount: money(l.vendor_amount),
            customer_amount: money(l.customer_amount),
            linked_id: text(&l.linked_id),
            affiliate_vendor_id: text(&l.affiliate_vendor_id),
            options: l
                .options
                .iter()
                .map(|o| proto::LineItemOption {
                    line_item_option_id: text(&o.line_item_option_id),
                    option_name: text(&o.option_name),
                    option_value: text(&o.option_value),
                    usd_surcharge: money(o.usd_surcharge),
                    vendor_surcharge: money(o.vendor_surcharge),
                    customer_surcharge: money(o.customer_surcharge),
                })
                .collect(),
            billing: l.billing.as_ref().map(|b| proto::Billing {
                billing_id: text(&b.billing_id),
                usd_amount: money(b.usd_amount),
                vendor_amount: money(b.vendor_amount),
                customer_amount: money(b.customer_amount),
                customer_id: text(&b.customer_id),
                bill_method: text(&b.bill_method),
                date_next: text(&b.date_next),
                date_start: text(&b.date_start),
                date_end: text(&b.date_end),
                date_fail: text(&b.date_fail),
                date_pending: text(&b.date_pending),
                date_deposited: text(&b.date_deposited),
                recurring_status: known(&b.recurring_status, |s| match s {
                    RecurringStatus::Active => proto::RecurringStatus::Active,
                    RecurringStatus::Stopped => proto::RecurringStatus::Stopped,
                    RecurringStatus::Completed => proto::RecurringStatus::Completed,
                    RecurringStatus::Declined => proto::RecurringStatus::Declined,
                }),
                vendor_recurring_status: raw(&b.recurring_status),
                status: known(&b.status, billing_status),
                vendor_status: raw(&b.status),
            }),
        }
    }
}

impl From<domain::SaleSummary> for proto::SaleSummary {
    fn from(s: domain::SaleSummary) -> Self {
        Self {
            sale_id: s.sale_id.to_string(),
            date_placed: s.date_placed.unwrap_or_default(),
            customer_name: s.customer_name.unwrap_or_default(),
            recurring: s.recurring,
            recurring_declined: s.recurring_declined.unwrap_or_default(),
            decline_code: s.decline_code.unwrap_or_default(),
            usd_total: money(s.usd_total),
        }
    }
}

impl From<&domain::SalesPage> for proto::PageInfo {
    fn from(p: &domain::SalesPage) -> Self {
        let clamp = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
        Self {
            page: clamp(p.page),
            page_size: clamp(p.page_size),
            last_page: clamp(p.last_page),
            total_entries: clamp(p.total_entries),
            first_entry: clamp(p.first_entry),
            last_entry: clamp(p.last_entry),
            has_next_page: p.has_next_page(),
        }
    }
}
