//! At-most-once catalog writes (products, options, coupons) keyed by the
//! caller's `request_id`: the guarantees, stores and retention of the sales
//! writes (see the parent module), with what a catalog write leaves behind to
//! reconcile against.
//!
//! # Outcome unknown
//! When a write's answer is lost, a retry with the same id decides by kind:
//! - a create reconciles against a baseline read before sending
//!   ([`CatalogBaseline`]): a product create, the ids of the products with its
//!   name (list_products filtered by name, every page up to a bound); an
//!   option create, the ids of the options with its name (list_options
//!   filtered by option_name); a coupon create with a code, whether
//!   detail_coupon found that code; without a code, every coupon's code
//!   (list_coupons). A retry reads the same again: one new entry that matches
//!   the request means the create happened, and the retry answers the vendor's
//!   usual confirmation with the new id, sending nothing; no new entry means
//!   it did not, and it is sent; anything else (two new products with that
//!   name, a new one with another price) stays OUTCOME_UNKNOWN, with what to
//!   look up in the detail.
//! - an update is sent again: setting the same values twice is harmless.
//! - a delete is sent again; RECORD_NOT_FOUND (FORBIDDEN for a coupon, which
//!   is how 2Checkout answers an unknown code) means the first attempt deleted
//!   it, and the retry succeeds with the usual confirmation.
//!
//! Every attempt persists its baseline ([`Checkpoint::save`]) before sending,
//! so a replica that dies mid-write leaves a record the next claim reconciles
//! rather than resends blindly; nothing is sent without a record.

use std::{collections::BTreeSet, future::Future, sync::Arc};

use super::{Checkpoint, Disposition, IdempotencyStore, at_most_once};
use crate::domain::{
    AccountPayment, AccountPort, AdminCode, CallContext, CatalogPage, CatalogPort, CatalogReceipt, CatalogWrite,
    CatalogWritePort, CatalogWriteRequest, CompanyInfo, ContactInfo, Coupon, CouponCode, Error, ListOptionsQuery,
    ListProductsQuery, NewCoupon, NewOption, NewProduct, OptionId, PageRequest, PendingPayment, Product, ProductId,
    ProductOption, echo,
};

/// How many pages of [`PageRequest::MAX_PAGE_SIZE`] a baseline reads at most
/// (products or options sharing one name); past that it is incomplete, and a
/// lost create's retry cannot rule anything out.
pub const MAX_BASELINE_PAGES: u32 = 10;

/// What a create's retry reconciles against after a lost answer, read before
/// sending. Kept in the idempotency record (JSON), so its shape is part of
/// the record format.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CatalogBaseline {
    /// An update or a delete: nothing to compare, it is sent again.
    Resend,
    /// The products with the created product's name.
    Products { ids: BTreeSet<ProductId>, complete: bool },
    /// The options with the created option's name.
    Options { ids: BTreeSet<OptionId>, complete: bool },
    /// Whether detail_coupon found the created coupon's code.
    CouponCode { existed: bool },
    /// Every coupon's code (a create without a code).
    Coupons { codes: BTreeSet<CouponCode> },
}

/// The catalog and account ports with at-most-once catalog writes; reads pass through.
pub struct IdempotentCatalogWrites<P, S> {
    inner: Arc<P>,
    store: Arc<S>,
}

impl<P, S> IdempotentCatalogWrites<P, S> {
    pub fn new(inner: Arc<P>, store: Arc<S>) -> Self {
        Self { inner, store }
    }
}

impl<P: CatalogPort, S: Send + Sync + 'static> CatalogPort for IdempotentCatalogWrites<P, S> {
    fn list_products(
        &self,
        ctx: CallContext,
        query: &ListProductsQuery,
    ) -> impl Future<Output = Result<CatalogPage<Product>, Error>> + Send {
        self.inner.list_products(ctx, query)
    }

    fn get_product(&self, ctx: CallContext, id: &ProductId) -> impl Future<Output = Result<Product, Error>> + Send {
        self.inner.get_product(ctx, id)
    }

    fn list_options(
        &self,
        ctx: CallContext,
        query: &ListOptionsQuery,
    ) -> impl Future<Output = Result<CatalogPage<ProductOption>, Error>> + Send {
        self.inner.list_options(ctx, query)
    }

    fn get_option(&self, ctx: CallContext, id: &OptionId) -> impl Future<Output = Result<ProductOption, Error>> + Send {
        self.inner.get_option(ctx, id)
    }

    fn list_coupons(&self, ctx: CallContext) -> impl Future<Output = Result<Vec<Coupon>, Error>> + Send {
        self.inner.list_coupons(ctx)
    }

    fn get_coupon(&self, ctx: CallContext, code: &CouponCode) -> impl Future<Output = Result<Coupon, Error>> + Send {
        self.inner.get_coupon(ctx, code)
    }
}

impl<P: AccountPort, S: Send + Sync + 'static> AccountPort for IdempotentCatalogWrites<P, S> {
    fn company_info(&self, ctx: CallContext) -> impl Future<Output = Result<CompanyInfo, Error>> + Send {
        self.inner.company_info(ctx)
    }

    fn contact_info(&self, ctx: CallContext) -> impl Future<Output = Result<ContactInfo, Error>> + Send {
        self.inner.contact_info(ctx)
    }

    fn pending_payment(&self, ctx: CallContext) -> impl Future<Output = Result<PendingPayment, Error>> + Send {
        self.inner.pending_payment(ctx)
    }

    fn list_payments(&self, ctx: CallContext) -> impl Future<Output = Result<Vec<AccountPayment>, Error>> + Send {
        self.inner.list_payments(ctx)
    }
}

impl<P: CatalogPort + CatalogWritePort, S: IdempotencyStore<CatalogReceipt, CatalogBaseline>> CatalogWritePort
    for IdempotentCatalogWrites<P, S>
{
    async fn write_catalog(&self, ctx: CallContext, request: &CatalogWriteRequest) -> Result<CatalogReceipt, Error> {
        let fingerprint = request.write.fingerprint();
        let attempt = Attempt { inner: Arc::clone(&self.inner), ctx, request: request.clone() };
        at_most_once(&self.store, &request.request_id, &fingerprint, ctx.deadline, |unknown, checkpoint| {
            attempt.run(unknown, checkpoint)
        })
        .await
    }
}

/// One claimed attempt at a catalog write, run in its own task.
struct Attempt<P> {
    inner: Arc<P>,
    ctx: CallContext,
    request: CatalogWriteRequest,
}

/// What a retry after a lost answer found.
enum Reconciled {
    /// The create took effect: its receipt.
    Done(CatalogReceipt),
    /// It did not: send it, with this baseline (read now).
    NotDone(CatalogBaseline),
    /// Nothing to compare (an update or a delete): send it again, still after an unknown outcome.
    Resend(CatalogBaseline),
}

impl<P: CatalogPort + CatalogWritePort> Attempt<P> {
    /// Runs the write (reconciling first when `unknown` holds the baseline
    /// of an attempt whose outcome was lost) and says how to remember it.
    async fn run<S: IdempotencyStore<CatalogReceipt, CatalogBaseline>>(
        self,
        unknown: Option<CatalogBaseline>,
        checkpoint: Checkpoint<S, CatalogReceipt, CatalogBaseline>,
    ) -> (Result<CatalogReceipt, Error>, Disposition<CatalogBaseline>) {
        let write = &self.request.write;
        // After a lost answer, whether the write is proven absent (a create's
        // reconciliation) or may already have happened (an update or delete resent).
        let (baseline, maybe_done) = match unknown {
            Some(baseline) => match self.reconcile(baseline).await {
                Ok(Reconciled::Done(receipt)) => {
                    tracing::info!(request_id = %self.request.request_id, "the catalog write took effect earlier; not sent again");
                    return (Ok(receipt), Disposition::Settled);
                }
                Ok(Reconciled::NotDone(now)) => (now, false),
                Ok(Reconciled::Resend(baseline)) => (baseline, true),
                Err((error, baseline)) => return (Err(error), Disposition::Unknown(baseline)),
            },
            None => match self.baseline().await {
                Ok(baseline) => (baseline, false),
                Err(error) => return (Err(error), Disposition::NotExecuted),
            },
        };
        // A failure below that proves nothing was sent forgets the id, unless an
        // earlier attempt may have done the write: then the outcome stays unknown,
        // so a later retry still treats a delete's RECORD_NOT_FOUND as success.
        let not_sent = |baseline: CatalogBaseline| {
            if maybe_done { Disposition::Unknown(baseline) } else { Disposition::NotExecuted }
        };
        if let Err(error) = checkpoint.save(&baseline).await {
            return (Err(error), not_sent(baseline));
        }

        let outcome = self.inner.write_catalog(self.ctx, &self.request).await;
        match outcome {
            Err(Error::Vendor(refusal)) if maybe_done && already_deleted(write, refusal.code.clone()) => {
                tracing::info!(request_id = %self.request.request_id, "the delete took effect earlier");
                (
                    Ok(CatalogReceipt { message: deleted(write).to_owned(), ..CatalogReceipt::default() }),
                    Disposition::Settled,
                )
            }
            Ok(_) | Err(Error::Vendor(_)) => (outcome, Disposition::Settled),
            Err(Error::OutcomeUnknown { .. } | Error::UpstreamResponseInvalid { .. }) => {
                (outcome, Disposition::Unknown(baseline))
            }
            // Never sent (cannot connect, no upstream slot in time, among others).
            Err(_) => (outcome, not_sent(baseline)),
        }
    }

    /// What a retry would compare against, read before the first send.
    async fn baseline(&self) -> Result<CatalogBaseline, Error> {
        match &self.request.write {
            CatalogWrite::CreateProduct(product) => {
                let (products, complete) = self.products_named(product).await?;
                Ok(CatalogBaseline::Products { ids: products.into_iter().map(|p| p.product_id).collect(), complete })
            }
            CatalogWrite::CreateOption(option) => {
                let (options, complete) = self.options_named(option).await?;
                Ok(CatalogBaseline::Options { ids: options.into_iter().map(|o| o.option_id).collect(), complete })
            }
            CatalogWrite::CreateCoupon(coupon) => match &coupon.code {
                Some(code) => Ok(CatalogBaseline::CouponCode { existed: self.coupon(code).await?.is_some() }),
                None => {
                    let coupons = self.inner.list_coupons(self.ctx).await?;
                    Ok(CatalogBaseline::Coupons { codes: coupons.into_iter().map(|c| c.code).collect() })
                }
            },
            _ => Ok(CatalogBaseline::Resend),
        }
    }

    /// Reads the catalog again and tells whether a lost create took effect;
    /// an update or a delete is resent.
    async fn reconcile(&self, baseline: CatalogBaseline) -> Result<Reconciled, (Error, CatalogBaseline)> {
        let found = match (&self.request.write, &baseline) {
            (CatalogWrite::CreateProduct(product), CatalogBaseline::Products { ids, complete }) => {
                let (now, now_complete) = self.products_named(product).await.map_err(|e| (e, baseline.clone()))?;
                let fresh: Vec<&Product> = now.iter().filter(|p| !ids.contains(&p.product_id)).collect();
                let matching: Vec<&&Product> = fresh.iter().filter(|p| product_matches(product, p)).collect();
                match (fresh.len(), matching.as_slice()) {
                    (0, _) if *complete && now_complete => Found::Absent(CatalogBaseline::Products {
                        ids: now.into_iter().map(|p| p.product_id).collect(),
                        complete: true,
                    }),
                    (1, [created]) => Found::Done(CatalogReceipt {
                        message: PRODUCT_CREATED.to_owned(),
                        product_id: Some(created.product_id.clone()),
                        assigned_product_id: created.assigned_product_id.clone(),
                        ..CatalogReceipt::default()
                    }),
                    (count, _) => Found::Ambiguous(format!(
                        "{count} product(s) named {} appeared since the first attempt ({} like this request){}. \
                         List the products with this name (ListProducts, or the 2Checkout console) and compare",
                        echo(product.fields().name.as_ref().map(|n| n.as_str()).unwrap_or_default()),
                        matching.len(),
                        if *complete && now_complete { "" } else { ", and there are too many with this name to tell" },
                    )),
                }
            }
            (CatalogWrite::CreateOption(option), CatalogBaseline::Options { ids, complete }) => {
                let (now, now_complete) = self.options_named(option).await.map_err(|e| (e, baseline.clone()))?;
                let fresh: Vec<&ProductOption> = now.iter().filter(|o| !ids.contains(&o.option_id)).collect();
                let matching: Vec<&&ProductOption> = fresh.iter().filter(|o| option_matches(option, o)).collect();
                match (fresh.len(), matching.as_slice()) {
                    (0, _) if *complete && now_complete => Found::Absent(CatalogBaseline::Options {
                        ids: now.into_iter().map(|o| o.option_id).collect(),
                        complete: true,
                    }),
                    (1, [created]) => Found::Done(CatalogReceipt {
                        message: OPTION_CREATED.to_owned(),
                        option_id: Some(created.option_id.clone()),
                        ..CatalogReceipt::default()
                    }),
                    (count, _) => Found::Ambiguous(format!(
                        "{count} option(s) named {} appeared since the first attempt ({} with this request's values). \
                         List the options with this name (ListOptions, or the 2Checkout console) and compare",
                        echo(option.name.as_str()),
                        matching.len(),
                    )),
                }
            }
            (CatalogWrite::CreateCoupon(coupon), CatalogBaseline::CouponCode { existed }) => {
                let Some(code) = &coupon.code else {
                    return Err((mismatch(), baseline));
                };
                let now = self.coupon(code).await.map_err(|e| (e, baseline.clone()))?;
                match now {
                    // It was there before: this create could only be refused; the vendor says so again.
                    _ if *existed => Found::Absent(baseline.clone()),
                    None => Found::Absent(baseline.clone()),
                    Some(found) if coupon_matches(coupon, &found) => Found::Done(coupon_created(code.clone())),
                    Some(_) => Found::Ambiguous(format!(
                        "coupon {code} now exists, with another type or expiry date than this request's. Look it up \
                         (GetCoupon, or the 2Checkout console) and compare"
                    )),
                }
            }
            (CatalogWrite::CreateCoupon(coupon), CatalogBaseline::Coupons { codes }) => {
                let now = self.inner.list_coupons(self.ctx).await.map_err(|e| (e, baseline.clone()))?;
                let fresh: Vec<&Coupon> = now.iter().filter(|c| !codes.contains(&c.code)).collect();
                let matching: Vec<&&Coupon> = fresh.iter().filter(|c| coupon_matches(coupon, c)).collect();
                match matching.as_slice() {
                    [] => Found::Absent(CatalogBaseline::Coupons { codes: now.into_iter().map(|c| c.code).collect() }),
                    [created] => Found::Done(coupon_created(created.code.clone())),
                    _ => Found::Ambiguous(format!(
                        "{} new coupons of type {} expiring {} appeared since the first attempt ({}). List the coupons \
                         (ListCoupons, or the 2Checkout console) and compare",
                        matching.len(),
                        coupon.coupon_type.as_vendor_str(),
                        coupon.date_expire,
                        matching.iter().map(|c| c.code.as_str()).collect::<Vec<_>>().join(", "),
                    )),
                }
            }
            (CatalogWrite::CreateProduct(_) | CatalogWrite::CreateOption(_) | CatalogWrite::CreateCoupon(_), _) => {
                return Err((mismatch(), baseline));
            }
            // Updates set the same values again; deletes are resent and their "not found" read as done.
            _ => return Ok(Reconciled::Resend(baseline)),
        };
        match found {
            Found::Done(receipt) => Ok(Reconciled::Done(receipt)),
            Found::Absent(now) => Ok(Reconciled::NotDone(now)),
            // The first baseline stays: a later retry compares against the catalog before the first send.
            Found::Ambiguous(found) => Err((still_unknown(&found), baseline)),
        }
    }

    /// The products named like `product` (every page, up to the bound), and whether that was all of them.
    async fn products_named(&self, product: &NewProduct) -> Result<(Vec<Product>, bool), Error> {
        let name = product.fields().name.as_ref().map(|n| n.as_str().to_owned());
        let mut rows = Vec::new();
        for page in 1..=MAX_BASELINE_PAGES {
            let query = ListProductsQuery {
                assigned_product_id: None,
                vendor_product_id: None,
                name: name.clone(),
                page: PageRequest { page, page_size: PageRequest::MAX_PAGE_SIZE },
                sort_column: None,
                sort_direction: None,
            };
            let listed = self.inner.list_products(self.ctx, &query).await?;
            let more = listed.has_next_page();
            // The vendor's filter may match more loosely than equality.
            rows.extend(listed.rows.into_iter().filter(|p| Some(&p.name) == name.as_ref()));
            if !more {
                return Ok((rows, true));
            }
        }
        Ok((rows, false))
    }

    /// The options named like `option` (every page, up to the bound), and whether that was all of them.
    async fn options_named(&self, option: &NewOption) -> Result<(Vec<ProductOption>, bool), Error> {
        let name = option.name.as_str();
        let mut rows = Vec::new();
        for page in 1..=MAX_BASELINE_PAGES {
            let query = ListOptionsQuery {
                option_name: Some(name.to_owned()),
                option_value_name: None,
                page: PageRequest { page, page_size: PageRequest::MAX_PAGE_SIZE },
                sort_column: None,
                sort_direction: None,
            };
            let listed = self.inner.list_options(self.ctx, &query).await?;
            let more = listed.has_next_page();
            rows.extend(listed.rows.into_iter().filter(|o| o.name == name));
            if !more {
                return Ok((rows, true));
            }
        }
        Ok((rows, false))
    }

    /// The coupon with `code`, `None` when 2Checkout knows none (it answers FORBIDDEN, or RECORD_NOT_FOUND).
    async fn coupon(&self, code: &CouponCode) -> Result<Option<Coupon>, Error> {
        match self.inner.get_coupon(self.ctx, code).await {
            Ok(coupon) => Ok(Some(coupon)),
            Err(Error::Vendor(refusal)) if matches!(refusal.code, AdminCode::Forbidden | AdminCode::RecordNotFound) => {
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }
}

enum Found {
    Done(CatalogReceipt),
    Absent(CatalogBaseline),
    Ambiguous(String),
}

/// 2Checkout's confirmations, which a retry gives itself when it finds the
/// write done (the eras the simulator follows: see the catalog notes).
const PRODUCT_CREATED: &str = "Product successfully created.";
const OPTION_CREATED: &str = "Option created successfully";
const COUPON_CREATED: &str = "Coupon successfully created";

fn coupon_created(code: CouponCode) -> CatalogReceipt {
    CatalogReceipt { message: COUPON_CREATED.to_owned(), coupon_code: Some(code), ..CatalogReceipt::default() }
}

/// The confirmation of a delete (the others never reach here).
fn deleted(write: &CatalogWrite) -> &'static str {
    match write {
        CatalogWrite::DeleteProduct { .. } => "Product successfully deleted.",
        CatalogWrite::DeleteOption { .. } => "Option deleted successfully",
        _ => "Coupon successfully deleted.",
    }
}

/// Whether `code` answering a resent delete means the first attempt deleted
/// it: the thing is gone. 2Checkout answers an unknown coupon with FORBIDDEN.
fn already_deleted(write: &CatalogWrite, code: AdminCode) -> bool {
    match write {
        CatalogWrite::DeleteProduct { .. } | CatalogWrite::DeleteOption { .. } => code == AdminCode::RecordNotFound,
        CatalogWrite::DeleteCoupon { .. } => matches!(code, AdminCode::RecordNotFound | AdminCode::Forbidden),
        _ => false,
    }
}

/// Whether a product that appeared is the one `product` creates: its
/// vendor_product_id and price, when the request set them.
fn product_matches(product: &NewProduct, found: &Product) -> bool {
    let fields = product.fields();
    fields.vendor_product_id.as_ref().map(|id| id.as_str()) == found.vendor_product_id.as_deref()
        && fields.price.is_none_or(|price| price == found.price)
}

/// Whether an option that appeared carries `option`'s values, in order.
fn option_matches(option: &NewOption, found: &ProductOption) -> bool {
    option.values.len() == found.values.len()
        && option
            .values
            .iter()
            .zip(&found.values)
            .all(|(asked, found)| asked.name.as_str() == found.name && asked.surcharge == found.surcharge)
}

/// Whether a coupon that appeared is the one `coupon` creates: its type and expiry date.
fn coupon_matches(coupon: &NewCoupon, found: &Coupon) -> bool {
    found.coupon_type == coupon.coupon_type && found.date_expire == coupon.date_expire.to_string()
}

/// A record whose baseline does not fit its write: never written by this
/// version (the fingerprint ties a record to its write kind), so not guessed at.
fn mismatch() -> Error {
    still_unknown("the record of the first attempt holds no baseline for this kind of write")
}

/// The outcome of a create its retry can neither confirm nor rule out, with
/// directions for the person who must decide.
fn still_unknown(found: &str) -> Error {
    Error::OutcomeUnknown {
        detail: format!(
            "a retry could not tell whether this catalog write took effect: {found}. Nothing was sent again; if it \
             is not there, send it again with a new request_id"
        ),
        timed_out: false,
        http_status: None,
    }
}

#[cfg(test)]
mod tests {
    use std::{
        collections::BTreeMap,
        sync::{
            Mutex,
            atomic::{AtomicU32, Ordering},
        },
        time::Duration,
    };

    use chrono::NaiveDate;

    use super::*;
    use crate::{
        domain::{Amount, CouponType, NewOptionValue, ProductFields, RequestId, Text, TextRules, VendorError},
        idempotency::{Claim, Finish, MemoryIdempotencyStore, MemoryStoreSettings, Owner},
    };

    /// When the fake loses the answer to the next write.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Lose {
        /// The write happened; its answer never arrives.
        AfterDoing,
        /// The request never arrived; neither did an answer.
        BeforeDoing,
    }

    /// A catalog in memory that counts the writes it receives, and can lose an answer.
    #[derive(Default)]
    struct Fake {
        catalog: Mutex<Catalog>,
        writes: AtomicU32,
        lose: Mutex<Option<Lose>>,
    }

    #[derive(Default)]
    struct Catalog {
        products: BTreeMap<ProductId, Product>,
        options: BTreeMap<OptionId, ProductOption>,
        coupons: BTreeMap<CouponCode, Coupon>,
        next_id: u64,
    }

    impl Catalog {
        fn next_id(&mut self) -> String {
            self.next_id += 1;
            (1000 + self.next_id).to_string()
        }
    }

    fn vendor(code: AdminCode, message: &str) -> Error {
        Error::Vendor(VendorError { code, message: message.into(), parameter: None, http_status: 400 })
    }

    fn product(id: &str, name: &str, price: &str) -> Product {
        serde_json::from_value(serde_json::json!({
            "product_id": id, "assigned_product_id": "1", "vendor_id": null, "vendor_product_id": null,
            "name": name, "description": null, "long_description": null,
            "price": price.parse::<Amount>().unwrap(), "tangible": false, "weight": null, "handling": null,
            "recurring": false, "recurrence": null, "duration": null, "startup_fee": null, "pending_url": null,
            "approved_url": null, "commission": false, "commission_type": null, "commission_amount": null,
            "images": [], "categories": [], "options": [],
        }))
        .unwrap()
    }

    fn page<T>(rows: Vec<T>) -> CatalogPage<T> {
        let total = u32::try_from(rows.len()).unwrap();
        CatalogPage {
            page: 1,
            page_size: 100,
            last_page: u32::from(total > 0),
            total_entries: total,
            first_entry: u32::from(total > 0),
            last_entry: total,
            rows,
        }
    }

    impl CatalogPort for Fake {
        async fn list_products(
            &self,
            _: CallContext,
            query: &ListProductsQuery,
        ) -> Result<CatalogPage<Product>, Error> {
            let catalog = self.catalog.lock().unwrap();
            let rows = catalog.products.values().filter(|p| query.name.as_ref().is_none_or(|n| &p.name == n));
            Ok(page(rows.cloned().collect()))
        }

        async fn get_product(&self, _: CallContext, id: &ProductId) -> Result<Product, Error> {
            let catalog = self.catalog.lock().unwrap();
            catalog.products.get(id).cloned().ok_or_else(|| vendor(AdminCode::RecordNotFound, "Unable to find record."))
        }

        async fn list_options(
            &self,
            _: CallContext,
            query: &ListOptionsQuery,
        ) -> Result<CatalogPage<ProductOption>, Error> {
            let catalog = self.catalog.lock().unwrap();
            let rows = catalog.options.values().filter(|o| query.option_name.as_ref().is_none_or(|n| &o.name == n));
            Ok(page(rows.cloned().collect()))
        }

        async fn get_option(&self, _: CallContext, id: &OptionId) -> Result<ProductOption, Error> {
            let catalog = self.catalog.lock().unwrap();
            catalog.options.get(id).cloned().ok_or_else(|| vendor(AdminCode::RecordNotFound, "Unable to find record."))
        }

        async fn list_coupons(&self, _: CallContext) -> Result<Vec<Coupon>, Error> {
            Ok(self.catalog.lock().unwrap().coupons.values().cloned().collect())
        }

        async fn get_coupon(&self, _: CallContext, code: &CouponCode) -> Result<Coupon, Error> {
            let catalog = self.catalog.lock().unwrap();
            catalog.coupons.get(code).cloned().ok_or_else(|| vendor(AdminCode::Forbidden, "Access denied to coupon."))
        }
    }

    impl CatalogWritePort for Fake {
        async fn write_catalog(&self, _: CallContext, request: &CatalogWriteRequest) -> Result<CatalogReceipt, Error> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            let lose = self.lose.lock().unwrap().take();
            let lost = || Error::OutcomeUnknown { detail: "timed out".into(), timed_out: true, http_status: None };
            if lose == Some(Lose::BeforeDoing) {
                return Err(lost());
            }
            let receipt = self.apply(&request.write);
            if lose == Some(Lose::AfterDoing) {
                return Err(lost());
            }
            receipt
        }
    }

    impl Fake {
        fn apply(&self, write: &CatalogWrite) -> Result<CatalogReceipt, Error> {
            let mut catalog = self.catalog.lock().unwrap();
            let receipt = |message: &str| CatalogReceipt { message: message.into(), ..CatalogReceipt::default() };
            let not_found = || vendor(AdminCode::RecordNotFound, "Unable to find record.");
            match write {
                CatalogWrite::CreateProduct(new) => {
                    let id: ProductId = catalog.next_id().parse().unwrap();
                    let fields = new.fields();
                    let price = fields.price.unwrap().to_string();
                    let created = product(id.as_str(), fields.name.as_ref().unwrap().as_str(), &price);
                    catalog.products.insert(id.clone(), created);
                    Ok(CatalogReceipt { product_id: Some(id), ..receipt(PRODUCT_CREATED) })
                }
                CatalogWrite::UpdateProduct { product_id, fields } => {
                    let product = catalog.products.get_mut(product_id).ok_or_else(not_found)?;
                    if let Some(name) = &fields.name {
                        product.name = name.as_str().to_owned();
                    }
                    Ok(CatalogReceipt {
                        product_id: Some(product_id.clone()),
                        ..receipt("Product successfully updated")
                    })
                }
                CatalogWrite::DeleteProduct { product_id } => {
                    catalog.products.remove(product_id).ok_or_else(not_found)?;
                    Ok(receipt("Product successfully deleted."))
                }
                CatalogWrite::CreateOption(new) => {
                    let id: OptionId = catalog.next_id().parse().unwrap();
                    let values = new
                        .values
                        .iter()
                        .map(|v| crate::domain::OptionValue {
                            value_id: "1".parse().unwrap(),
                            name: v.name.as_str().to_owned(),
                            surcharge: v.surcharge,
                        })
                        .collect();
                    catalog.options.insert(
                        id.clone(),
                        ProductOption { option_id: id.clone(), name: new.name.as_str().into(), values },
                    );
                    Ok(CatalogReceipt { option_id: Some(id), ..receipt(OPTION_CREATED) })
                }
                CatalogWrite::DeleteOption { option_id } => {
                    catalog.options.remove(option_id).ok_or_else(not_found)?;
                    Ok(receipt("Option deleted successfully"))
                }
                CatalogWrite::CreateCoupon(new) => {
                    let code: CouponCode = match &new.code {
                        Some(code) => code.clone(),
                        None => format!("GEN{}", catalog.next_id()).parse().unwrap(),
                    };
                    catalog.coupons.insert(
                        code.clone(),
                        Coupon {
                            code: code.clone(),
                            date_expire: new.date_expire.to_string(),
                            coupon_type: new.coupon_type.clone(),
                            minimum_purchase: None,
                            percentage_off: None,
                            value_off: None,
                            product_ids: None,
                        },
                    );
                    Ok(coupon_created(code))
                }
                CatalogWrite::DeleteCoupon { code } => {
                    catalog
                        .coupons
                        .remove(code)
                        .ok_or_else(|| vendor(AdminCode::Forbidden, "Access denied to coupon."))?;
                    Ok(receipt("Coupon successfully deleted."))
                }
                _ => Ok(receipt("done")),
            }
        }

        fn lose_next(&self, lose: Lose) {
            *self.lose.lock().unwrap() = Some(lose);
        }

        fn writes(&self) -> u32 {
            self.writes.load(Ordering::SeqCst)
        }
    }

    type Writes = IdempotentCatalogWrites<Fake, MemoryIdempotencyStore<CatalogReceipt, CatalogBaseline>>;

    fn writes() -> (Writes, Arc<Fake>) {
        let fake = Arc::new(Fake::default());
        let store =
            MemoryIdempotencyStore::new(MemoryStoreSettings { retention: Duration::from_secs(60), max_bytes: 1 << 20 });
        (IdempotentCatalogWrites::new(Arc::clone(&fake), Arc::new(store)), fake)
    }

    fn text(value: &str) -> Text {
        Text::required(value, TextRules::line(255)).unwrap()
    }

    const ID: &str = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";

    fn request(write: CatalogWrite) -> CatalogWriteRequest {
        CatalogWriteRequest { request_id: ID.parse::<RequestId>().unwrap(), write }
    }

    fn create_product(name: &str) -> CatalogWriteRequest {
        let fields =
            ProductFields { name: Some(text(name)), price: Some("1.00".parse().unwrap()), ..Default::default() };
        request(CatalogWrite::CreateProduct(NewProduct::new(fields).unwrap()))
    }

    fn create_coupon(code: Option<&str>) -> CatalogWriteRequest {
        request(CatalogWrite::CreateCoupon(NewCoupon {
            code: code.map(|c| c.parse().unwrap()),
            date_expire: NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
            coupon_type: CouponType::Shipping,
            discount: None,
            minimum_purchase: None,
            products: None,
        }))
    }

    const CTX: CallContext = CallContext { deadline: None, fresh: false };

    #[tokio::test]
    async fn a_retry_gets_the_first_outcome_without_a_second_upstream_call() {
        let (writes, fake) = writes();
        let first = writes.write_catalog(CTX, &create_product("Widget")).await.unwrap();
        let again = writes.write_catalog(CTX, &create_product("Widget")).await.unwrap();
        assert_eq!(first, again);
        assert_eq!(first.message, "Product successfully created.");
        assert_eq!((fake.writes(), fake.catalog.lock().unwrap().products.len()), (1, 1));
    }

    #[tokio::test]
    async fn a_vendor_refusal_is_the_outcome_a_retry_gets_too() {
        let (writes, fake) = writes();
        let delete = request(CatalogWrite::DeleteProduct { product_id: "77".parse().unwrap() });
        let first = writes.write_catalog(CTX, &delete).await.unwrap_err();
        assert!(matches!(&first, Error::Vendor(e) if e.code == AdminCode::RecordNotFound), "{first:?}");
        assert_eq!(writes.write_catalog(CTX, &delete).await.unwrap_err(), first);
        assert_eq!(fake.writes(), 1);
    }

    #[tokio::test]
    async fn another_request_under_the_same_id_is_request_id_reused() {
        let (writes, fake) = writes();
        writes.write_catalog(CTX, &create_product("Widget")).await.unwrap();
        let reused = writes.write_catalog(CTX, &create_product("Gadget")).await.unwrap_err();
        assert!(matches!(reused, Error::RequestIdReused { .. }), "{reused:?}");
        assert_eq!(fake.writes(), 1);
    }

    #[tokio::test]
    async fn a_lost_create_the_catalog_shows_is_answered_from_it_without_sending_again() {
        let (writes, fake) = writes();
        // Another product of the same name, there before: the baseline holds it.
        fake.catalog.lock().unwrap().products.insert("5".parse().unwrap(), product("5", "Widget", "1.00"));
        fake.lose_next(Lose::AfterDoing);
        let lost = writes.write_catalog(CTX, &create_product("Widget")).await.unwrap_err();
        assert!(matches!(lost, Error::OutcomeUnknown { .. }), "{lost:?}");
        let retry = writes.write_catalog(CTX, &create_product("Widget")).await.unwrap();
        assert_eq!(retry.message, "Product successfully created.");
        assert_eq!(retry.product_id, Some("1001".parse().unwrap()));
        assert_eq!((fake.writes(), fake.catalog.lock().unwrap().products.len()), (1, 2));
    }

    #[tokio::test]
    async fn a_lost_create_that_left_no_trace_is_sent_again() {
        let (writes, fake) = writes();
        fake.lose_next(Lose::BeforeDoing);
        writes.write_catalog(CTX, &create_product("Widget")).await.unwrap_err();
        let retry = writes.write_catalog(CTX, &create_product("Widget")).await.unwrap();
        assert_eq!(retry.product_id, Some("1001".parse().unwrap()));
        assert_eq!((fake.writes(), fake.catalog.lock().unwrap().products.len()), (2, 1));
    }

    #[tokio::test]
    async fn two_new_products_of_the_name_leave_the_outcome_unknown_with_directions() {
        let (writes, fake) = writes();
        fake.lose_next(Lose::AfterDoing);
        writes.write_catalog(CTX, &create_product("Widget")).await.unwrap_err();
        // Someone else created one more of the same name meanwhile.
        fake.catalog.lock().unwrap().products.insert("6".parse().unwrap(), product("6", "Widget", "1.00"));
        let Error::OutcomeUnknown { detail, .. } =
            writes.write_catalog(CTX, &create_product("Widget")).await.unwrap_err()
        else {
            panic!("still unknown")
        };
        assert!(detail.contains("2 product(s) named \"Widget\"") && detail.contains("ListProducts"), "{detail}");
        assert_eq!(fake.writes(), 1);
    }

    #[tokio::test]
    async fn a_lost_option_create_is_found_by_its_name_and_values() {
        let (writes, fake) = writes();
        let create = request(CatalogWrite::CreateOption(NewOption {
            name: text("Volume"),
            values: vec![NewOptionValue { name: text("Low"), surcharge: "1.00".parse().unwrap() }],
        }));
        fake.lose_next(Lose::AfterDoing);
        writes.write_catalog(CTX, &create).await.unwrap_err();
        let retry = writes.write_catalog(CTX, &create).await.unwrap();
        assert_eq!(
            (retry.message.as_str(), retry.option_id),
            ("Option created successfully", Some("1001".parse().unwrap()))
        );
        assert_eq!(fake.writes(), 1);
    }

    #[tokio::test]
    async fn a_lost_coupon_create_is_found_by_its_code_or_among_the_new_codes() {
        for code in [Some("SAVE10"), None] {
            let (writes, fake) = writes();
            fake.lose_next(Lose::AfterDoing);
            writes.write_catalog(CTX, &create_coupon(code)).await.unwrap_err();
            let retry = writes.write_catalog(CTX, &create_coupon(code)).await.unwrap();
            let expected = code.unwrap_or("GEN1001");
            assert_eq!(retry.coupon_code.as_ref().map(CouponCode::as_str), Some(expected), "{code:?}");
            assert_eq!(retry.message, "Coupon successfully created");
            assert_eq!(fake.writes(), 1, "{code:?}");
        }
    }

    #[tokio::test]
    async fn a_lost_delete_is_resent_and_record_not_found_then_means_it_was_deleted() {
        let (writes, fake) = writes();
        fake.catalog.lock().unwrap().products.insert("5".parse().unwrap(), product("5", "Widget", "1.00"));
        let delete = request(CatalogWrite::DeleteProduct { product_id: "5".parse().unwrap() });
        fake.lose_next(Lose::AfterDoing);
        writes.write_catalog(CTX, &delete).await.unwrap_err();
        let retry = writes.write_catalog(CTX, &delete).await.unwrap();
        assert_eq!(retry.message, "Product successfully deleted.");
        assert_eq!(fake.writes(), 2, "resent: a delete leaves nothing to compare");
        // And that success is what a further retry gets.
        assert_eq!(writes.write_catalog(CTX, &delete).await.unwrap(), retry);
    }

    #[tokio::test]
    async fn a_lost_coupon_delete_answered_forbidden_on_retry_was_deleted() {
        let (writes, fake) = writes();
        writes.write_catalog(CTX, &create_coupon(Some("SAVE10"))).await.unwrap();
        let delete = CatalogWriteRequest {
            request_id: "3f2504e0-4f89-11d3-9a0c-0305e82c3302".parse().unwrap(),
            write: CatalogWrite::DeleteCoupon { code: "SAVE10".parse().unwrap() },
        };
        fake.lose_next(Lose::AfterDoing);
        writes.write_catalog(CTX, &delete).await.unwrap_err();
        assert_eq!(writes.write_catalog(CTX, &delete).await.unwrap().message, "Coupon successfully deleted.");
    }

    #[tokio::test]
    async fn a_first_delete_of_a_missing_coupon_is_the_vendors_refusal() {
        let (writes, _) = writes();
        let delete = request(CatalogWrite::DeleteCoupon { code: "NOPE".parse().unwrap() });
        let refused = writes.write_catalog(CTX, &delete).await.unwrap_err();
        assert!(matches!(&refused, Error::Vendor(e) if e.code == AdminCode::Forbidden), "{refused:?}");
    }

    /// A store that cannot be reached.
    struct Down;

    impl IdempotencyStore<CatalogReceipt, CatalogBaseline> for Down {
        async fn claim(&self, _: &RequestId, _: &str) -> Result<Claim<CatalogReceipt, CatalogBaseline>, Error> {
            Err(Error::IdempotencyStoreUnavailable { store: "redis".into(), detail: "down".into() })
        }
        async fn checkpoint(&self, _: &RequestId, _: &Owner, _: &CatalogBaseline) -> Result<(), Error> {
            unreachable!("never claimed")
        }
        async fn finish(&self, _: &RequestId, _: &Owner, _: Finish<CatalogReceipt, CatalogBaseline>) {}
        async fn changed(&self, _: &RequestId, _: u32) {}
    }

    #[tokio::test]
    async fn nothing_is_sent_without_a_record() {
        let fake = Arc::new(Fake::default());
        let writes = IdempotentCatalogWrites::new(Arc::clone(&fake), Arc::new(Down));
        let refused = writes.write_catalog(CTX, &create_product("Widget")).await.unwrap_err();
        assert!(matches!(refused, Error::IdempotencyStoreUnavailable { .. }), "{refused:?}");
        assert_eq!(fake.writes(), 0);
    }

    #[test]
    fn the_baseline_json_is_stable() {
        // Kept in the shared store's records: a change here is a format change.
        let baseline = CatalogBaseline::Products { ids: ["5".parse().unwrap()].into(), complete: true };
        assert_eq!(serde_json::to_string(&baseline).unwrap(), r#"{"kind":"products","ids":["5"],"complete":true}"#);
    }
}
