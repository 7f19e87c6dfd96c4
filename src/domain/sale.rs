//! A sale as detail_sale describes it, in the gateway's own types: money is an
//! [`Amount`], statuses are enums that keep the vendor's raw string, and text
//! the vendor may leave out is an `Option`.

use super::{Amount, InvoiceId, LineItemId, RefundCurrency, SaleId};

/// A vendor enumeration: the value the gateway recognised, if any, and the
/// vendor's raw string. An unknown vendor value is kept, never an error.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VendorValue<T> {
    /// The recognised value; `None` when the vendor sent none or one unknown to the gateway.
    pub known: Option<T>,
    /// The vendor's string as sent; `None` when the vendor sent none.
    pub raw: Option<String>,
}

impl<T> VendorValue<T> {
    /// Recognises `raw` with `recognise` (given the lower-cased, trimmed string).
    pub fn parse(raw: Option<String>, recognise: impl FnOnce(&str) -> Option<T>) -> Self {
        let known = raw.as_deref().and_then(|r| recognise(&r.trim().to_ascii_lowercase()));
        Self { known, raw }
    }
}

/// A sale with its buyer, invoices and comments.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sale {
    pub sale_id: SaleId,
    pub date_placed: Option<String>,
    pub ip_address: Option<String>,
    pub ip_country: Option<String>,
    pub ip_detail: Option<IpDetail>,
    pub recurring_decline: Option<String>,
    pub customer: Option<Customer>,
    pub invoices: Vec<Invoice>,
    pub comments: Vec<Comment>,
}

impl Sale {
    /// Every line of every invoice, in the vendor's order.
    pub fn line_items(&self) -> impl Iterator<Item = &LineItem> {
        self.invoices.iter().flat_map(|invoice| invoice.line_items.iter())
    }

    /// What an invoice refund would act on: the invoice named (`None`: the
    /// sale's only invoice, as the vendor picks it; several is `None`), its
    /// total and what its refund lines leave of it.
    pub fn refundable_invoice(&self, invoice_id: Option<&InvoiceId>) -> Option<Refundable> {
        let mut invoices = self.invoices.iter().filter(|i| invoice_id.is_none_or(|id| &i.invoice_id == id));
        let invoice = invoices.next()?;
        if invoices.next().is_some() {
            return None;
        }
        let charged =
            InEachCurrency { usd: invoice.usd_total, vendor: invoice.vendor_total, customer: invoice.customer_total };
        let refunds: Vec<&LineItem> = invoice.line_items.iter().filter(|l| l.is_refund()).collect();
        Some(Refundable { charged, remaining: charged.less(&refunds) })
    }

    /// What a line refund would act on: the billed line, its amount and what
    /// the refund lines linked to it leave of it. `None` when the sale has no such line.
    pub fn refundable_line(&self, line_item_id: &LineItemId) -> Option<Refundable> {
        let line = self.line_items().find(|l| l.line_item_id == line_item_id.as_str())?;
        let charged = InEachCurrency::of(line);
        let refunds: Vec<&LineItem> = self
            .line_items()
            .filter(|l| l.is_refund() && l.linked_id.as_deref() == Some(line_item_id.as_str()))
            .collect();
        Some(Refundable { charged, remaining: charged.less(&refunds) })
    }
}

/// An amount in each of the three currencies 2Checkout books a sale in; `None`
/// where the vendor did not say (or a sum could not be made).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InEachCurrency {
    pub usd: Option<Amount>,
    pub vendor: Option<Amount>,
    pub customer: Option<Amount>,
}

impl InEachCurrency {
    /// A line's amounts, unsigned (refund lines may carry them signed).
    fn of(line: &LineItem) -> Self {
        Self {
            usd: line.amount_in(RefundCurrency::Usd),
            vendor: line.amount_in(RefundCurrency::Vendor),
            customer: line.amount_in(RefundCurrency::Customer),
        }
    }

    /// The amount in `currency`.
    pub fn get(&self, currency: RefundCurrency) -> Option<Amount> {
        match currency {
            RefundCurrency::Usd => self.usd,
            RefundCurrency::Vendor => self.vendor,
            RefundCurrency::Customer => self.customer,
        }
    }

    /// These amounts less those of `lines`, currency by currency; `None` in a
    /// currency where any of them is unknown.
    fn less(&self, lines: &[&LineItem]) -> Self {
        let less_in = |currency: RefundCurrency| {
            let taken = lines.iter().map(|l| l.amount_in(currency).map(Amount::minor_units)).sum::<Option<i64>>()?;
            Some(Amount::from_minor_units(self.get(currency)?.minor_units().checked_sub(taken)?))
        };
        Self {
            usd: less_in(RefundCurrency::Usd),
            vendor: less_in(RefundCurrency::Vendor),
            customer: less_in(RefundCurrency::Customer),
        }
    }
}

/// What a refund target (an invoice or a billed line) was charged, and what
/// remains of it to refund, in each currency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Refundable {
    pub charged: InEachCurrency,
    pub remaining: InEachCurrency,
}

/// Geolocation of the buyer's IP address.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IpDetail {
    pub address: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub country_code: Option<String>,
}

/// The buyer.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Customer {
    pub customer_id: Option<String>,
    pub prefix: Option<String>,
    pub first_name: Option<String>,
    pub middle_initial: Option<String>,
    pub last_name: Option<String>,
    pub cardholder_name: Option<String>,
    pub email_address: Option<String>,
    pub phone: Option<String>,
    pub phone_extension: Option<String>,
    pub language: Option<String>,
    pub billing_address: Address,
    pub pay_method: Option<PayMethod>,
}

/// A postal address.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Address {
    pub address_id: Option<String>,
    pub address_1: Option<String>,
    pub address_2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country_code: Option<String>,
    pub country_name: Option<String>,
}

/// How the buyer paid; never more of a card number than its first six and last two digits.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PayMethod {
    pub method: VendorValue<PaymentMethod>,
    pub first_six_digits: Option<String>,
    pub last_two_digits: Option<String>,
    pub avs: Option<String>,
    pub cvv: Option<String>,
}

/// Payment methods the vendor documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PaymentMethod {
    CreditCard,
    Ach,
    Amex,
    Atmd,
    BillMeLater,
    FxSource,
    PayPal,
    PayPalPayLater,
    Acculynk,
}

impl PaymentMethod {
    /// Recognises a lower-cased vendor method ("credit card", "paypal ec", "paypal_int", ...).
    pub fn recognise(vendor: &str) -> Option<Self> {
        Some(match vendor.replace(['_', '-'], " ").as_str() {
            "credit card" | "creditcard" | "cc" => Self::CreditCard,
            "ach" => Self::Ach,
            "amex" => Self::Amex,
            "atmd" => Self::Atmd,
            "bill me later" => Self::BillMeLater,
            "fxsource" => Self::FxSource,
            "paypal" | "paypal int" | "paypal ec" => Self::PayPal,
            "paypal pl" => Self::PayPalPayLater,
            "acculynk" => Self::Acculynk,
            _ => return None,
        })
    }
}

/// One invoice of a sale.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Invoice {
    pub invoice_id: InvoiceId,
    pub sale_id: Option<String>,
    pub status: VendorValue<InvoiceStatus>,
    pub usd_total: Option<Amount>,
    pub vendor_total: Option<Amount>,
    pub customer_total: Option<Amount>,
    pub fees_2co: Option<Amount>,
    pub recurring: bool,
    pub date_placed: Option<String>,
    pub date_shipped: Option<String>,
    pub date_vendor_paid: Option<String>,
    pub referrer: Option<String>,
    pub vendor_order_id: Option<String>,
    pub vendor_id: Option<String>,
    pub line_items: Vec<LineItem>,
    pub shipping: Option<Shipping>,
}

/// Invoice statuses the vendor documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum InvoiceStatus {
    Approved,
    Pending,
    Deposited,
    Declined,
}

impl InvoiceStatus {
    /// Recognises a lower-cased vendor status.
    pub fn recognise(vendor: &str) -> Option<Self> {
        Some(match vendor {
            "approved" => Self::Approved,
            "pending" => Self::Pending,
            "deposited" => Self::Deposited,
            "declined" => Self::Declined,
            _ => return None,
        })
    }
}

/// One line of an invoice.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineItem {
    pub line_item_id: String,
    pub invoice_id: Option<String>,
    pub sale_id: Option<String>,
    pub product_id: Option<String>,
    pub vendor_product_id: Option<String>,
    pub product_name: Option<String>,
    pub product_description: Option<String>,
    pub product_price: Option<Amount>,
    pub product_handling: Option<Amount>,
    pub product_startup_fee: Option<Amount>,
    pub product_recurrence: Option<String>,
    pub product_duration: Option<String>,
    pub product_tangible: bool,
    pub product_is_cart: Option<String>,
    pub installment: Option<String>,
    pub line_type: VendorValue<LineItemType>,
    pub status: VendorValue<BillingStatus>,
    pub usd_amount: Option<Amount>,
    pub vendor_amount: Option<Amount>,
    pub customer_amount: Option<Amount>,
    pub linked_id: Option<String>,
    pub affiliate_vendor_id: Option<String>,
    pub options: Vec<LineItemOption>,
    pub billing: Option<Billing>,
}

impl LineItem {
    /// Whether the line records a refund (status `refund`) rather than a charge.
    pub fn is_refund(&self) -> bool {
        self.status.known == Some(BillingStatus::Refund)
    }

    /// The line's amount in a refund currency, unsigned (refund lines may carry it signed).
    pub fn amount_in(&self, currency: RefundCurrency) -> Option<Amount> {
        let amount = match currency {
            RefundCurrency::Usd => self.usd_amount,
            RefundCurrency::Vendor => self.vendor_amount,
            RefundCurrency::Customer => self.customer_amount,
        };
        amount.map(|a| Amount::from_minor_units(a.minor_units().abs()))
    }
}

/// Kinds of line item. The vendor sends no type (null) for a product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LineItemType {
    Product,
    SignupFee,
    Affiliate,
    Shipping,
    Partial,
    Chargeback,
    Coupon,
}

impl LineItemType {
    /// Recognises a lower-cased vendor type.
    pub fn recognise(vendor: &str) -> Option<Self> {
        Some(match vendor.replace(['_', '-'], " ").as_str() {
            "product" => Self::Product,
            "signup fee" | "signup" => Self::SignupFee,
            "affiliate" => Self::Affiliate,
            "shipping" => Self::Shipping,
            "partial" => Self::Partial,
            "chargeback" => Self::Chargeback,
            "coupon" => Self::Coupon,
            _ => return None,
        })
    }

    /// The type of a line the vendor sent: no type at all means a product.
    pub fn from_vendor(raw: Option<String>) -> VendorValue<Self> {
        match raw {
            None => VendorValue { known: Some(Self::Product), raw: None },
            raw => VendorValue::parse(raw, Self::recognise),
        }
    }
}

/// Whether a line or billing record charges or refunds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BillingStatus {
    Bill,
    Refund,
}

impl BillingStatus {
    /// Recognises a lower-cased vendor status.
    pub fn recognise(vendor: &str) -> Option<Self> {
        Some(match vendor {
            "bill" => Self::Bill,
            "refund" => Self::Refund,
            _ => return None,
        })
    }
}

/// A product option chosen on a line item.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineItemOption {
    pub line_item_option_id: Option<String>,
    pub option_name: Option<String>,
    pub option_value: Option<String>,
    pub usd_surcharge: Option<Amount>,
    pub vendor_surcharge: Option<Amount>,
    pub customer_surcharge: Option<Amount>,
}

/// The billing record of a line item.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Billing {
    pub billing_id: Option<String>,
    pub usd_amount: Option<Amount>,
    pub vendor_amount: Option<Amount>,
    pub customer_amount: Option<Amount>,
    pub customer_id: Option<String>,
    pub bill_method: Option<String>,
    pub date_next: Option<String>,
    pub date_start: Option<String>,
    pub date_end: Option<String>,
    pub date_fail: Option<String>,
    pub date_pending: Option<String>,
    pub date_deposited: Option<String>,
    pub recurring_status: VendorValue<RecurringStatus>,
    pub status: VendorValue<BillingStatus>,
}

/// Recurring billing statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RecurringStatus {
    Active,
    Stopped,
    Completed,
    Declined,
}

impl RecurringStatus {
    /// Recognises a lower-cased vendor status.
    pub fn recognise(vendor: &str) -> Option<Self> {
        Some(match vendor {
            "active" => Self::Active,
            "stopped" => Self::Stopped,
            "completed" => Self::Completed,
            "declined" | "fail" | "failed" => Self::Declined,
            _ => return None,
        })
    }
}

/// Shipping details of an invoice.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shipping {
    pub shipping_id: Option<String>,
    pub date_shipped: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub shipping_method_id: Option<String>,
    pub shipping_method: Option<String>,
    pub recipient_name: Option<String>,
    pub address: Address,
}

/// A comment on a sale.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Comment {
    pub username: Option<String>,
    pub timestamp: Option<String>,
    pub ip_address: Option<String>,
    pub text: Option<String>,
}
