//! Writes on a sale, as validated commands: a value of [`SaleWrite`] always
//! satisfies the vendor's documented rules (ids numeric, refund comment
//! present and clean, category allowed, amount positive with a currency), so
//! nothing invalid ever reaches 2Checkout.

use std::{fmt, str::FromStr};

use super::{Amount, InvalidValue, InvoiceId, LineItemId, SaleId, SaleLookup, Text, fingerprint::Fingerprint};

/// The longest comment the vendor accepts (refunds, shipping, sale comments).
pub const MAX_COMMENT_CHARS: usize = 5000;
/// The longest tracking number the gateway sends.
pub const MAX_TRACKING_NUMBER_CHARS: usize = 255;

/// A caller-chosen request id (AIP-155): a UUID, kept in canonical lower-case form.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(String);

impl RequestId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for RequestId {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(InvalidValue("is required: a UUID that identifies this request across retries".into()));
        }
        let uuid = uuid::Uuid::parse_str(s).map_err(|_| InvalidValue("must be a UUID".into()))?;
        if uuid.is_nil() {
            return Err(InvalidValue("must not be the nil UUID".into()));
        }
        Ok(Self(uuid.hyphenated().to_string()))
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A refund category the vendor accepts from merchants: 1 to 17, except 7
/// (reserved for 2Checkout's internal use).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RefundCategory(u8);

impl RefundCategory {
    /// The vendor's category number.
    pub fn number(self) -> u8 {
        self.0
    }
}

impl TryFrom<i32> for RefundCategory {
    type Error = InvalidValue;

    fn try_from(n: i32) -> Result<Self, InvalidValue> {
        match n {
            0 => Err(InvalidValue("is required".into())),
            7 => Err(InvalidValue("category 7 is for 2Checkout's internal use only".into())),
            1..=17 => Ok(Self(n as u8)),
            _ => Err(InvalidValue(format!("{n} is not a refund category (1 to 17, except 7)"))),
        }
    }
}

/// The currency a refund amount is expressed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RefundCurrency {
    Usd,
    Vendor,
    Customer,
}

impl RefundCurrency {
    /// The vendor's parameter value.
    pub fn as_vendor_str(self) -> &'static str {
        match self {
            Self::Usd => "usd",
            Self::Vendor => "vendor",
            Self::Customer => "customer",
        }
    }
}

/// A partial refund: at least 0.01 ([`Sign::Positive`](super::Sign)) in a stated currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RefundAmount {
    pub amount: Amount,
    pub currency: RefundCurrency,
}

/// What every refund carries.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Refund {
    /// `None` refunds the whole remaining balance.
    pub amount: Option<RefundAmount>,
    /// Required, at most [`MAX_COMMENT_CHARS`], no `<` or `>`.
    pub comment: Text,
    pub category: RefundCategory,
}

/// A sale, an invoice, or an invoice of a given sale: at least one is set.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SaleOrInvoice {
    sale_id: Option<SaleId>,
    invoice_id: Option<InvoiceId>,
}

impl SaleOrInvoice {
    /// `None` when neither id is given.
    pub fn new(sale_id: Option<SaleId>, invoice_id: Option<InvoiceId>) -> Option<Self> {
        (sale_id.is_some() || invoice_id.is_some()).then_some(Self { sale_id, invoice_id })
    }

    pub fn sale_id(&self) -> Option<&SaleId> {
        self.sale_id.as_ref()
    }

    pub fn invoice_id(&self) -> Option<&InvoiceId> {
        self.invoice_id.as_ref()
    }

    /// The detail_sale lookup that shows this target.
    pub fn lookup(&self) -> SaleLookup {
        match (&self.sale_id, &self.invoice_id) {
            (Some(sale), _) => SaleLookup::BySale(sale.clone()),
            (None, Some(invoice)) => SaleLookup::ByInvoice(invoice.clone()),
            (None, None) => unreachable!("SaleOrInvoice::new refuses neither"),
        }
    }
}

/// One write on a sale.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SaleWrite {
    RefundInvoice {
        target: SaleOrInvoice,
        refund: Refund,
    },
    RefundLineItem {
        sale_id: SaleId,
        line_item_id: LineItemId,
        refund: Refund,
    },
    Reauthorize {
        sale_id: SaleId,
    },
    StopLineItemRecurring {
        sale_id: SaleId,
        line_item_id: LineItemId,
    },
    MarkShipped {
        target: SaleOrInvoice,
        tracking_number: Text,
        notify_customer: bool,
        reauthorize: bool,
        comment: Option<Text>,
    },
    CreateComment {
        sale_id: SaleId,
        text: Text,
        notify_vendor: bool,
        notify_customer: bool,
    },
}

impl SaleWrite {
    /// The sale the write touches, as detail_sale finds it.
    pub fn sale_lookup(&self) -> SaleLookup {
        match self {
            Self::RefundInvoice { target, .. } | Self::MarkShipped { target, .. } => target.lookup(),
            Self::RefundLineItem { sale_id, .. }
            | Self::Reauthorize { sale_id }
            | Self::StopLineItemRecurring { sale_id, .. }
            | Self::CreateComment { sale_id, .. } => SaleLookup::BySale(sale_id.clone()),
        }
    }

    /// The confirmation 2Checkout answers this write with. The gateway gives it
    /// itself when it finds, after a lost answer, that the write took effect.
    pub fn confirmation(&self) -> &'static str {
        match self {
            Self::RefundInvoice { .. } => "refund added to invoice",
            Self::RefundLineItem { .. } => "lineitem refunded",
            Self::Reauthorize { .. } => "Payment reauthorized.",
            Self::StopLineItemRecurring { .. } => "Recurring billing stopped for lineitem",
            Self::MarkShipped { .. } => "Sale marked shipped.",
            Self::CreateComment { .. } => "Created comment successfully.",
        }
    }

    /// The canonical encoding of this write, every field included (see
    /// `domain::fingerprint`): equal for equal writes, different for any difference.
    pub fn fingerprint(&self) -> String {
        match self {
            Self::RefundInvoice { target, refund } => {
                refund_fields(sale_or_invoice(Fingerprint::new("refund_invoice"), target), refund)
            }
            Self::RefundLineItem { sale_id, line_item_id, refund } => refund_fields(
                Fingerprint::new("refund_line_item")
                    .text("sale_id", sale_id.as_str())
                    .text("line_item_id", line_item_id.as_str()),
                refund,
            ),
            Self::Reauthorize { sale_id } => Fingerprint::new("reauthorize").text("sale_id", sale_id.as_str()),
            Self::StopLineItemRecurring { sale_id, line_item_id } => Fingerprint::new("stop_line_item_recurring")
                .text("sale_id", sale_id.as_str())
                .text("line_item_id", line_item_id.as_str()),
            Self::MarkShipped { target, tracking_number, notify_customer, reauthorize, comment } => {
                sale_or_invoice(Fingerprint::new("mark_shipped"), target)
                    .text("tracking_number", tracking_number.as_str())
                    .flag("notify_customer", *notify_customer)
                    .flag("reauthorize", *reauthorize)
                    .optional("comment", comment.as_ref().map(Text::as_str))
            }
            Self::CreateComment { sale_id, text, notify_vendor, notify_customer } => Fingerprint::new("create_comment")
                .text("sale_id", sale_id.as_str())
                .text("text", text.as_str())
                .flag("notify_vendor", *notify_vendor)
                .flag("notify_customer", *notify_customer),
        }
        .finish()
    }
}

fn sale_or_invoice(fingerprint: Fingerprint, target: &SaleOrInvoice) -> Fingerprint {
    fingerprint
        .optional("sale_id", target.sale_id().map(SaleId::as_str))
        .optional("invoice_id", target.invoice_id().map(InvoiceId::as_str))
}

fn refund_fields(fingerprint: Fingerprint, refund: &Refund) -> Fingerprint {
    fingerprint
        .optional("amount", refund.amount.map(|a| a.amount.to_string()).as_deref())
        .optional("currency", refund.amount.map(|a| a.currency.as_vendor_str()))
        .text("comment", refund.comment.as_str())
        .number("category", refund.category.number())
}

/// A write with the caller's request id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WriteRequest {
    pub request_id: RequestId,
    pub write: SaleWrite,
}

/// 2Checkout's confirmation of a write.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WriteReceipt {
    /// The vendor's `response_message`, e.g. "refund added to invoice".
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TextRules;

    fn text(value: &str) -> Text {
        Text::required(value, TextRules::line(MAX_COMMENT_CHARS)).unwrap()
    }

    #[test]
    fn request_ids_are_uuids_in_canonical_form() {
        let id: RequestId = "3F2504E0-4F89-11D3-9A0C-0305E82C3301".parse().unwrap();
        assert_eq!(id.as_str(), "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
        for bad in ["", "not-a-uuid", "00000000-0000-0000-0000-000000000000", "3f2504e04f8911d39a0c0305e82c33"] {
            assert!(bad.parse::<RequestId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refund_categories_are_1_to_17_but_not_7() {
        for n in (1..=17).filter(|n| *n != 7) {
            assert_eq!(RefundCategory::try_from(n).unwrap().number() as i32, n);
        }
        for bad in [0, 7, 18, -1] {
            assert!(RefundCategory::try_from(bad).is_err(), "{bad}");
        }
    }

    fn refund() -> SaleWrite {
        SaleWrite::RefundInvoice {
            target: SaleOrInvoice::new(Some("4647892238".parse().unwrap()), None).unwrap(),
            refund: Refund {
                amount: Some(RefundAmount { amount: "1.50".parse().unwrap(), currency: RefundCurrency::Usd }),
                comment: text("Buyer deserved a refund."),
                category: RefundCategory::try_from(13).unwrap(),
            },
        }
    }

    #[test]
    fn equal_writes_have_equal_fingerprints() {
        assert_eq!(refund().fingerprint(), refund().fingerprint());
    }

    #[test]
    fn any_change_changes_the_fingerprint() {
        let SaleWrite::RefundInvoice { target, refund: base } = refund() else { unreachable!() };
        let with = |f: fn(&mut Refund)| {
            let mut changed = base.clone();
            f(&mut changed);
            SaleWrite::RefundInvoice { target: target.clone(), refund: changed }.fingerprint()
        };
        let variants = [
            refund().fingerprint(),
            with(|r| r.comment = text("Buyer deserved a refund!")),
            with(|r| r.category = RefundCategory::try_from(5).unwrap()),
            with(|r| r.amount = None),
            with(|r| r.amount = r.amount.map(|a| RefundAmount { amount: Amount::from_minor_units(151), ..a })),
            with(|r| r.amount = r.amount.map(|a| RefundAmount { currency: RefundCurrency::Vendor, ..a })),
            SaleWrite::RefundInvoice {
                target: SaleOrInvoice::new(Some("4647892238".parse().unwrap()), Some("1".parse().unwrap())).unwrap(),
                refund: base.clone(),
            }
            .fingerprint(),
            // The same ids in another kind of write.
            SaleWrite::RefundLineItem {
                sale_id: "4647892238".parse().unwrap(),
                line_item_id: "1".parse().unwrap(),
                refund: base.clone(),
            }
            .fingerprint(),
        ];
        for (i, a) in variants.iter().enumerate() {
            for b in &variants[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let ship = |comment: Option<&str>, notify_customer, reauthorize| {
            SaleWrite::MarkShipped {
                target: target.clone(),
                tracking_number: text("1Z999"),
                notify_customer,
                reauthorize,
                comment: comment.map(text),
            }
            .fingerprint()
        };
        let ships = [
            ship(None, false, false),
            ship(Some("Sent."), false, false),
            ship(None, true, false),
            ship(None, false, true),
        ];
        for (i, a) in ships.iter().enumerate() {
            for b in &ships[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn the_fingerprint_format_is_stable() {
        // A change here changes what the idempotency store compares: existing
        // records would answer REQUEST_ID_REUSED to honest retries.
        assert_eq!(
            refund().fingerprint(),
            "kind=14:refund_invoice;sale_id=10:4647892238;invoice_id-;amount=4:1.50;currency=3:usd;\
             comment=24:Buyer deserved a refund.;category=2:13;"
        );
    }
}
