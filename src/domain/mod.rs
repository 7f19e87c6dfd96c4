//! The gateway's own model of 2Checkout sales and the ports it is served
//! through: nothing in here knows about gRPC, HTTP or the vendor's wire format.
//!
//! The gRPC layer converts requests into these types at the edge (validating
//! as it goes, so a value of a domain type is always valid), calls a
//! [`SalesPort`], and converts the answer back. The 2Checkout Admin API client
//! implements [`SalesPort`]; later decorators (a cache, say) implement it too
//! and wrap another implementation, so neither side knows they exist.
//!
//! Sales are handed out as [`SharedSale`] where they may be kept and served
//! many times (the cache, the gRPC GetSale): shared, never copied, with an
//! opaque memo the edge keeps its encoded form in.
//!
//! The catalog (products, options, coupons) and the seller account have
//! ports of their own ([`CatalogPort`], [`CatalogWritePort`], [`AccountPort`])
//! built the same way.
//!
//! What can go wrong is [`Error`], with 2Checkout's codes as enums
//! ([`AdminCode`], [`PaymentCode`]); how a gRPC caller sees it is decided at
//! the edge (`crate::grpc::status`). Text and money rules are values
//! ([`Text`], [`Amount::parse`]) so every service applies the same ones.

mod account;
mod authorization;
mod catalog;
mod catalog_fingerprint;
mod error;
mod fingerprint;
mod listing;
mod notification;
mod sale;
mod shared_sale;
mod values;
mod writes;

pub use account::{AccountPayment, AccountPort, CompanyInfo, ContactInfo, PayoutTotals, PendingPayment};
pub use authorization::{
    Authorization, AuthorizationRequest, BillingContact, CardToken, OrderAmount, OrderLine, OrderLineOption,
    OrderLineType, PostalAddress, Recurrence,
};
pub use catalog::{
    CatalogEntity, CatalogPage, CatalogPort, CatalogReceipt, CatalogWrite, CatalogWritePort, CatalogWriteRequest,
    CommissionType, Coupon, CouponCode, CouponProducts, CouponType, CouponUpdate, Discount, ListOptionsQuery,
    ListProductsQuery, MAX_LONG_DESCRIPTION_CHARS, MAX_OPTION_TEXT_CHARS, MAX_PRODUCT_TEXT_CHARS, NewCoupon, NewOption,
    NewOptionValue, NewProduct, OptionSortColumn, OptionValue, OptionValueChange, Product, ProductCategory,
    ProductFields, ProductImage, ProductOption, ProductSortColumn,
};
pub use error::{AdminCode, Error, PaymentCode, PaymentError, PaymentRefusal, VendorError, reason};
pub use listing::{
    EARLIEST_SALE_DATE, LATEST_SALE_DATE, ListSalesQuery, PageRequest, SaleSummary, SalesFilter, SalesPage, SortColumn,
    SortDirection, parse_sale_date,
};
pub use notification::{
    Appended, Cursor, JournalEntry, JournalError, JournalRead, NotificationJournal, RawForm, SaleEviction,
};
pub use sale::{
    Address, Billing, BillingStatus, Comment, Customer, InEachCurrency, Invoice, InvoiceStatus, IpDetail, LineItem,
    LineItemOption, LineItemType, PayMethod, PaymentMethod, RecurringStatus, Refundable, Sale, Shipping, VendorValue,
};
pub use shared_sale::SharedSale;
pub use values::{
    Amount, CategoryId, InvalidValue, InvoiceId, LineItemId, MAX_ECHOED_CHARS, MAX_ID, OptionId, OptionValueId,
    ProductId, SaleId, Sign, Text, TextRules, echo,
};
pub use writes::{
    MAX_COMMENT_CHARS, MAX_TRACKING_NUMBER_CHARS, Refund, RefundAmount, RefundCategory, RefundCurrency, RequestId,
    SaleOrInvoice, SaleWrite, WriteReceipt, WriteRequest,
};

use std::{future::Future, time::Instant};

/// Which sale a lookup is for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SaleLookup {
    /// The whole sale with all its invoices.
    BySale(SaleId),
    /// The sale restricted to one of its invoices.
    ByInvoice(InvoiceId),
}

/// What a port call may know about the call that caused it.
#[derive(Clone, Copy, Debug, Default)]
pub struct CallContext {
    /// The caller's deadline: no upstream work may outlive it.
    pub deadline: Option<Instant>,
    /// The caller wants the upstream's current answer, not a cached one.
    pub fresh: bool,
}

/// Read access to the account's sales.
///
/// Futures are `Send` so a server can drive them from any task (StreamSales
/// pages from a spawned task).
pub trait SalesPort: Send + Sync + 'static {
    /// One sale, whole or restricted to one invoice.
    fn get_sale(&self, ctx: CallContext, lookup: &SaleLookup) -> impl Future<Output = Result<Sale, Error>> + Send;

    /// The same sale as [`get_sale`](Self::get_sale), as a [`SharedSale`]: a
    /// port that keeps sales (the cache) overrides it to hand out the one it
    /// keeps, memo included, instead of a copy; any other port's is its
    /// `get_sale`'s answer, wrapped. A decorator placed outside the cache must
    /// pass both on.
    fn get_shared_sale(
        &self,
        ctx: CallContext,
        lookup: &SaleLookup,
    ) -> impl Future<Output = Result<SharedSale, Error>> + Send {
        let sale = self.get_sale(ctx, lookup);
        async move { sale.await.map(SharedSale::new) }
    }

    /// One page of sale summaries. No match is an empty page, not an error.
    fn list_sales(
        &self,
        ctx: CallContext,
        query: &ListSalesQuery,
    ) -> impl Future<Output = Result<SalesPage, Error>> + Send;
}

/// Writes on the account's sales.
///
/// The 2Checkout client ignores `request_id`; the idempotency decorator
/// (`crate::idempotency`) is what makes a request id mean "at most once".
pub trait SalesWritePort: Send + Sync + 'static {
    /// Performs one write and returns 2Checkout's confirmation.
    fn write(
        &self,
        ctx: CallContext,
        request: &WriteRequest,
    ) -> impl Future<Output = Result<WriteReceipt, Error>> + Send;
}

/// Card authorizations through the Payment API.
pub trait PaymentPort: Send + Sync + 'static {
    /// Authorizes a payment and returns the sale it created.
    fn authorize(
        &self,
        ctx: CallContext,
        request: &AuthorizationRequest,
    ) -> impl Future<Output = Result<Authorization, Error>> + Send;
}
