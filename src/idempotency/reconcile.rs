//! Reading a write's effect off detail_sale after its answer was lost: the
//! sale as read before sending (the baseline) against the sale as read now.
//!
//! Three answers, not two. [`Evidence::Done`] needs a trace that only this
//! request explains; [`Evidence::Absent`] needs the sale untouched where the
//! write would have left its trace, so sending is safe; everything in between
//! (someone else refunded the same invoice meanwhile, an amount that does not
//! add up) is [`Evidence::Ambiguous`], and the outcome stays unknown with
//! directions for a person. A wrong "absent" would refund twice and a wrong
//! "done" would report a refund that never happened: neither is a guess the
//! gateway may make.
//!
//! What identifies a refund: a refund line (status `refund`) that was not in
//! the baseline, on the refunded invoice (linked to the line item for a line
//! refund), for the amount asked in the currency asked — or, for a full
//! refund, for what the baseline showed as remaining — and a new comment
//! carrying the refund's comment (2Checkout records a refund as the comment
//! "Refund Issued On Sale: <comment>").

use std::collections::HashSet;

use crate::domain::{Amount, LineItem, RecurringStatus, Refund, RefundCurrency, Sale, SaleWrite};

/// What the sale says about a write whose answer was lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// The write took effect, and nothing else explains what the sale shows.
    Done,
    /// No trace of the write: sending it is safe.
    Absent,
    /// The sale changed where the write would show, in a way that cannot be told
    /// apart from it: what was found, for the caller's directions.
    Ambiguous(String),
}

/// Whether a write leaves a trace in detail_sale the gateway can look for.
pub fn needs_baseline(write: &SaleWrite) -> bool {
    !matches!(write, SaleWrite::Reauthorize { .. })
}

/// What `now` shows of `write` compared with `before` (the baseline; `None`
/// only when there was nothing to read before, which no refund has).
pub fn evidence(write: &SaleWrite, before: Option<&Sale>, now: &Sale) -> Evidence {
    let done_or_absent = |done: bool| if done { Evidence::Done } else { Evidence::Absent };
    match write {
        SaleWrite::RefundInvoice { target, refund } => {
            let on_target = |line: &LineItem| {
                target.invoice_id().is_none_or(|invoice| line.invoice_id.as_deref() == Some(invoice.as_str()))
            };
            let remaining =
                before.and_then(|sale| sale.refundable_invoice(target.invoice_id())).and_then(|r| r.remaining.vendor);
            refund_evidence(refund, before, now, &on_target, remaining)
        }
        SaleWrite::RefundLineItem { line_item_id, refund, .. } => {
            let linked = |line: &LineItem| line.linked_id.as_deref() == Some(line_item_id.as_str());
            let remaining = before.and_then(|sale| sale.refundable_line(line_item_id)).and_then(|r| r.remaining.vendor);
            refund_evidence(refund, before, now, &linked, remaining)
        }
        SaleWrite::StopLineItemRecurring { line_item_id, .. } => done_or_absent(now.line_items().any(|line| {
            line.line_item_id == line_item_id.as_str()
                && line.billing.as_ref().is_some_and(|b| b.recurring_status.known == Some(RecurringStatus::Stopped))
        })),
        SaleWrite::MarkShipped { target, tracking_number, .. } => {
            let invoice = match target.invoice_id() {
                Some(id) => now.invoices.iter().find(|i| &i.invoice_id == id),
                None => now.invoices.last(),
            };
            done_or_absent(invoice.is_some_and(|i| {
                i.date_shipped.is_some()
                    && i.shipping
                        .as_ref()
                        .is_some_and(|s| s.tracking_number.as_deref() == Some(tracking_number.as_str()))
            }))
        }
        SaleWrite::CreateComment { text, .. } => {
            let same = |sale: Option<&Sale>| count_comments(sale, |c| c == text.as_str());
            done_or_absent(same(Some(now)) > same(before))
        }
        SaleWrite::Reauthorize { .. } => Evidence::Absent,
    }
}

/// The refund rule of the module docs. `on_target` picks the refund lines this
/// refund would add; `remaining` is what a full refund would take (vendor currency).
fn refund_evidence(
    refund: &Refund,
    before: Option<&Sale>,
    now: &Sale,
    on_target: &dyn Fn(&LineItem) -> bool,
    remaining: Option<Amount>,
) -> Evidence {
    let known: HashSet<&str> = before
        .into_iter()
        .flat_map(Sale::line_items)
        .filter(|line| line.is_refund())
        .map(|line| line.line_item_id.as_str())
        .collect();
    let new_lines: Vec<&LineItem> = now
        .line_items()
        .filter(|line| line.is_refund() && on_target(line) && !known.contains(line.line_item_id.as_str()))
        .collect();
    let expected = match refund.amount {
        Some(asked) => Some((asked.amount, asked.currency)),
        None => remaining.map(|left| (left, RefundCurrency::Vendor)),
    };
    let matching = new_lines
        .iter()
        .filter(|line| expected.is_some_and(|(amount, currency)| line.amount_in(currency) == Some(amount)))
        .count();
    let comment = refund.comment.as_str();
    let with_comment = |sale: Option<&Sale>| count_comments(sale, |c| c.contains(comment));
    let comment_added = with_comment(Some(now)) > with_comment(before);

    match (new_lines.len(), matching, comment_added) {
        (0, _, false) => Evidence::Absent,
        (_, 1, true) => Evidence::Done,
        (found, matching, comment_added) => {
            let asked = match expected {
                Some((amount, currency)) => format!("{amount} ({})", currency.as_vendor_str()),
                None => "the remaining balance, which the sale read before sending did not show".to_owned(),
            };
            let ids: Vec<&str> = new_lines.iter().map(|l| l.line_item_id.as_str()).collect();
            Evidence::Ambiguous(format!(
                "since this refund was first sent, the sale gained {found} refund line(s) where it would show \
                 ({}), {matching} of them for {asked}, and {} comment carrying its comment; that cannot be told \
                 apart from this refund",
                if ids.is_empty() { "none".to_owned() } else { ids.join(", ") },
                if comment_added { "a new" } else { "no new" },
            ))
        }
    }
}

fn count_comments(sale: Option<&Sale>, matches: impl Fn(&str) -> bool) -> usize {
    sale.map_or(0, |s| s.comments.iter().filter_map(|c| c.text.as_deref()).filter(|c| matches(c)).count())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        BillingStatus, Comment, Invoice, InvoiceId, LineItemId, RefundAmount, RefundCategory, SaleId, SaleOrInvoice,
        Text, TextRules, VendorValue,
    };

    const COMMENT: &str = "Buyer deserved a refund.";

    fn amount(text: &str) -> Amount {
        text.parse().unwrap()
    }

    fn line(id: &str, status: BillingStatus, vendor_amount: &str, linked_id: Option<&str>) -> LineItem {
        LineItem {
            line_item_id: id.into(),
            invoice_id: Some("100".into()),
            sale_id: Some("1".into()),
            product_id: None,
            vendor_product_id: None,
            product_name: None,
            product_description: None,
            product_price: None,
            product_handling: None,
            product_startup_fee: None,
            product_recurrence: None,
            product_duration: None,
            product_tangible: false,
            product_is_cart: None,
            installment: None,
            line_type: VendorValue { known: None, raw: None },
            status: VendorValue { known: Some(status), raw: None },
            // USD at twice the vendor's currency, so a match in the wrong currency shows.
            usd_amount: Some(Amount::from_minor_units(amount(vendor_amount).minor_units() * 2)),
            vendor_amount: Some(amount(vendor_amount)),
            customer_amount: Some(amount(vendor_amount)),
            linked_id: linked_id.map(Into::into),
            affiliate_vendor_id: None,
            options: Vec::new(),
            billing: None,
        }
    }

    /// Sale 1 with invoice 100 (total 30.00): billed lines 11 (10.00) and 12 (20.00).
    fn sale() -> Sale {
        Sale {
            sale_id: "1".parse::<SaleId>().unwrap(),
            date_placed: None,
            ip_address: None,
            ip_country: None,
            ip_detail: None,
            recurring_decline: None,
            customer: None,
            invoices: vec![Invoice {
                invoice_id: "100".parse::<InvoiceId>().unwrap(),
                sale_id: Some("1".into()),
                status: VendorValue { known: None, raw: None },
                usd_total: Some(amount("60.00")),
                vendor_total: Some(amount("30.00")),
                customer_total: Some(amount("30.00")),
                fees_2co: None,
                recurring: false,
                date_placed: None,
                date_shipped: None,
                date_vendor_paid: None,
                referrer: None,
                vendor_order_id: None,
                vendor_id: None,
                line_items: vec![
                    line("11", BillingStatus::Bill, "10.00", None),
                    line("12", BillingStatus::Bill, "20.00", None),
                ],
                shipping: None,
            }],
            comments: Vec::new(),
        }
    }

    /// `sale` after a refund by 2Checkout: a refund line and its comment.
    fn refunded(mut sale: Sale, id: &str, vendor_amount: &str, linked_id: &str, comment: &str) -> Sale {
        sale.invoices[0].line_items.push(line(id, BillingStatus::Refund, vendor_amount, Some(linked_id)));
        sale.comments.push(Comment {
            text: Some(format!("[* Sent: Vendor *] Refund Issued On Sale: {comment}")),
            ..Comment::default()
        });
        sale
    }

    fn refund(amount_asked: Option<(&str, RefundCurrency)>) -> Refund {
        Refund {
            amount: amount_asked.map(|(a, currency)| RefundAmount { amount: amount(a), currency }),
            comment: Text::parse(COMMENT, TextRules::line(5000)).unwrap().unwrap(),
            category: RefundCategory::try_from(5).unwrap(),
        }
    }

    fn refund_invoice(amount_asked: Option<(&str, RefundCurrency)>) -> SaleWrite {
        SaleWrite::RefundInvoice {
            target: SaleOrInvoice::new(None, Some("100".parse::<InvoiceId>().unwrap())).unwrap(),
            refund: refund(amount_asked),
        }
    }

    fn refund_line(amount_asked: Option<(&str, RefundCurrency)>) -> SaleWrite {
        SaleWrite::RefundLineItem {
            sale_id: "1".parse::<SaleId>().unwrap(),
            line_item_id: "12".parse::<LineItemId>().unwrap(),
            refund: refund(amount_asked),
        }
    }

    fn is_ambiguous(evidence: &Evidence) -> bool {
        matches!(evidence, Evidence::Ambiguous(_))
    }

    #[test]
    fn a_new_refund_line_for_the_amount_and_currency_asked_with_its_comment_is_done() {
        let write = refund_invoice(Some(("7.00", RefundCurrency::Vendor)));
        let now = refunded(sale(), "900", "7.00", "11", COMMENT);
        assert_eq!(evidence(&write, Some(&sale()), &now), Evidence::Done);
        let in_usd = refund_invoice(Some(("14.00", RefundCurrency::Usd)));
        assert_eq!(evidence(&in_usd, Some(&sale()), &now), Evidence::Done);
    }

    #[test]
    fn an_untouched_sale_is_absent_so_the_refund_may_be_sent() {
        let write = refund_invoice(Some(("7.00", RefundCurrency::Vendor)));
        assert_eq!(evidence(&write, Some(&sale()), &sale()), Evidence::Absent);
        let before = refunded(sale(), "900", "7.00", "11", COMMENT);
        assert_eq!(evidence(&write, Some(&before), &before), Evidence::Absent, "an earlier refund is not this one");
    }

    #[test]
    fn a_foreign_refund_of_another_amount_is_ambiguous_never_done() {
        let write = refund_invoice(Some(("7.00", RefundCurrency::Vendor)));
        let now = refunded(sale(), "900", "3.00", "11", "Goodwill gesture");
        let found = evidence(&write, Some(&sale()), &now);
        assert!(is_ambiguous(&found), "{found:?}");
    }

    #[test]
    fn the_same_amount_in_another_currency_or_without_this_comment_is_ambiguous() {
        let write = refund_invoice(Some(("7.00", RefundCurrency::Usd)));
        let now = refunded(sale(), "900", "7.00", "11", COMMENT);
        assert!(is_ambiguous(&evidence(&write, Some(&sale()), &now)), "7.00 vendor is 14.00 USD");
        let write = refund_invoice(Some(("7.00", RefundCurrency::Vendor)));
        let now = refunded(sale(), "900", "7.00", "11", "Someone else's reason");
        assert!(is_ambiguous(&evidence(&write, Some(&sale()), &now)));
    }

    #[test]
    fn two_indistinguishable_new_refunds_are_ambiguous() {
        let write = refund_invoice(Some(("7.00", RefundCurrency::Vendor)));
        let now = refunded(refunded(sale(), "900", "7.00", "11", COMMENT), "901", "7.00", "11", COMMENT);
        assert!(is_ambiguous(&evidence(&write, Some(&sale()), &now)));
    }

    #[test]
    fn this_refund_beside_a_foreign_one_is_done() {
        let write = refund_invoice(Some(("7.00", RefundCurrency::Vendor)));
        let now = refunded(refunded(sale(), "900", "3.00", "11", "Goodwill"), "901", "7.00", "11", COMMENT);
        assert_eq!(evidence(&write, Some(&sale()), &now), Evidence::Done);
    }

    #[test]
    fn a_comment_without_a_refund_line_is_ambiguous_not_absent() {
        let write = refund_invoice(Some(("7.00", RefundCurrency::Vendor)));
        let mut now = sale();
        now.comments.push(Comment { text: Some(format!("Refund Issued On Sale: {COMMENT}")), ..Comment::default() });
        assert!(is_ambiguous(&evidence(&write, Some(&sale()), &now)));
    }

    #[test]
    fn a_full_refund_matches_what_remained_in_the_baseline() {
        let write = refund_invoice(None);
        let before = refunded(sale(), "900", "5.00", "11", "Earlier");
        let now = refunded(before.clone(), "901", "25.00", "11", COMMENT);
        assert_eq!(evidence(&write, Some(&before), &now), Evidence::Done);
        // A foreign partial refund landed first and this full refund took the rest: 2Checkout
        // would show 22.00, not the 25.00 the baseline left, so it cannot be told apart.
        let now = refunded(refunded(before.clone(), "901", "3.00", "11", "Foreign"), "902", "22.00", "11", COMMENT);
        assert!(is_ambiguous(&evidence(&write, Some(&before), &now)));
    }

    #[test]
    fn what_remains_to_refund_is_known_in_each_currency_of_the_invoice_and_of_a_line() {
        // Sale::refundable_* (shared with the refund ceilings): USD is twice the vendor's currency here.
        let sale = refunded(refunded(sale(), "900", "4.00", "12", "Earlier"), "901", "1.00", "11", "Earlier");
        let invoice = sale.refundable_invoice(None).unwrap();
        assert_eq!(invoice.charged.usd, Some(amount("60.00")));
        assert_eq!(invoice.remaining.usd, Some(amount("50.00")), "60.00 less 8.00 and 2.00");
        assert_eq!(invoice.remaining.vendor, Some(amount("25.00")));
        assert_eq!(invoice.remaining.get(RefundCurrency::Customer), Some(amount("25.00")));
        let line = sale.refundable_line(&"12".parse().unwrap()).unwrap();
        assert_eq!((line.charged.usd, line.remaining.usd), (Some(amount("40.00")), Some(amount("32.00"))));
        assert!(sale.refundable_line(&"13".parse().unwrap()).is_none(), "no such line");
        assert!(sale.refundable_invoice(Some(&"101".parse().unwrap())).is_none(), "no such invoice");
        let mut unknown = sale.clone();
        unknown.invoices[0].line_items[2].usd_amount = None;
        assert_eq!(unknown.refundable_invoice(None).unwrap().remaining.usd, None, "a refund line without USD");
    }

    #[test]
    fn a_line_refund_looks_only_at_refunds_linked_to_its_line() {
        let write = refund_line(Some(("4.00", RefundCurrency::Vendor)));
        let other_line = refunded(sale(), "900", "4.00", "11", "Another line's refund");
        assert_eq!(evidence(&write, Some(&sale()), &other_line), Evidence::Absent);
        let on_line = refunded(sale(), "900", "4.00", "12", COMMENT);
        assert_eq!(evidence(&write, Some(&sale()), &on_line), Evidence::Done);
        let full = refund_line(None);
        let before = refunded(sale(), "900", "4.00", "12", "Earlier");
        let now = refunded(before.clone(), "901", "16.00", "12", COMMENT);
        assert_eq!(evidence(&full, Some(&before), &now), Evidence::Done);
    }
}
