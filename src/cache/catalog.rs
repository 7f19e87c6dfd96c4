//! A read-through cache of catalog and account reads, as a decorator over the
//! catalog and account ports, built like the sale cache (the parent module).
//!
//! # Design
//! - One `moka::future::Cache` holds every read: a product, an option, a
//!   coupon, each listing page (keyed by its whole query), the coupon list and
//!   the four account reads. It is bounded in approximate bytes and expires
//!   entries after `cache.catalog_ttl`. Concurrent misses on one key make one
//!   upstream call (`try_get_with`); errors are never cached.
//! - [`CallContext::fresh`] bypasses the cache; the upstream answer replaces
//!   the entry.
//! - A catalog write evicts, once its outcome is known (whatever it is: an
//!   unknown outcome may have changed the catalog), what it may have made
//!   stale: its entity and every listing of its kind; an option write also
//!   every product (products nest their options); a product write also every
//!   coupon detail (coupons list their products). Evicting is stamping *tags*
//!   with a new epoch, as in the sale cache: an entry counts only if none of
//!   its tags was stamped after its fetch started, so a fetch that raced a
//!   write is not served after it either.
//! - With Redis ([`SharedTags`]), the stamps are shared, so a write through
//!   one replica evicts on every replica before its caller gets the answer;
//!   stamps that cannot be read make a hit a miss.
//! - Account reads carry no tags: nothing the gateway does writes them, so
//!   only the TTL (or `fresh`) renews them.
//!
//! # Weight
//! An entry weighs the length of its value's JSON (counted, not kept) plus
//! moka's bookkeeping. Catalog values are strings and short numbers, so the
//! JSON is within a small factor of the heap they hold; unlike the sale
//! cache's exact walk it needs no weight per field, and it is computed once
//! per fetch, not per hit.

use std::{
    future::Future,
    io,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use super::{CacheStats, CacheStatsSnapshot, Epochs, Freshness, Invalidations, SharedTags, Tag, weigh};
use crate::{
    domain::{
        AccountPayment, AccountPort, CallContext, CatalogPage, CatalogPort, CatalogReceipt, CatalogWrite,
        CatalogWritePort, CatalogWriteRequest, CompanyInfo, ContactInfo, Coupon, CouponCode, Error, ListOptionsQuery,
        ListProductsQuery, OptionId, PendingPayment, Product, ProductId, ProductOption,
    },
    telemetry,
};

/// Settings of the catalog cache (`cache.catalog_ttl`, `cache.catalog_max_bytes`).
#[derive(Clone, Copy, Debug)]
pub struct CatalogCacheSettings {
    /// How long an entry may be served.
    pub ttl: Duration,
    /// The memory budget, in approximate bytes.
    pub max_bytes: u64,
}

/// What is cached: one key per read (a listing by its whole query).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Product(ProductId),
    Products(ListProductsQuery),
    Option(OptionId),
    Options(ListOptionsQuery),
    Coupon(CouponCode),
    Coupons,
    Company,
    Contact,
    PendingPayment,
    Payments,
}

/// The tag every product listing answers to.
const PRODUCTS: &str = "products";
/// The tag every product detail answers to (an option write changes them all).
const PRODUCT_DETAILS: &str = "product-details";
const OPTIONS: &str = "options";
const COUPONS: &str = "coupons";
/// The tag every coupon detail answers to (a product write may change the products they list).
const COUPON_DETAILS: &str = "coupon-details";

fn tag(name: &str) -> Tag {
    Tag::Catalog(name.to_owned())
}

fn product_tag(id: &ProductId) -> Tag {
    Tag::Catalog(format!("product:{id}"))
}

fn option_tag(id: &OptionId) -> Tag {
    Tag::Catalog(format!("option:{id}"))
}

fn coupon_tag(code: &CouponCode) -> Tag {
    Tag::Catalog(format!("coupon:{code}"))
}

impl Key {
    /// The tags whose stamp makes an entry of this key stale.
    fn tags(&self) -> Vec<Tag> {
        match self {
            Self::Product(id) => vec![product_tag(id), tag(PRODUCT_DETAILS)],
            Self::Products(_) => vec![tag(PRODUCTS)],
            Self::Option(id) => vec![option_tag(id)],
            Self::Options(_) => vec![tag(OPTIONS)],
            Self::Coupon(code) => vec![coupon_tag(code), tag(COUPON_DETAILS)],
            Self::Coupons => vec![tag(COUPONS)],
            // Nothing writes the account: TTL only.
            Self::Company | Self::Contact | Self::PendingPayment | Self::Payments => Vec::new(),
        }
    }
}

/// The tags `write` stamps, given its receipt when it succeeded (a create's new id).
fn write_tags(write: &CatalogWrite, receipt: Option<&CatalogReceipt>) -> Vec<Tag> {
    let mut tags = Vec::new();
    match write {
        CatalogWrite::CreateProduct(_) | CatalogWrite::UpdateProduct { .. } | CatalogWrite::DeleteProduct { .. } => {
            if let CatalogWrite::UpdateProduct { product_id, .. } | CatalogWrite::DeleteProduct { product_id } = write {
                tags.push(product_tag(product_id));
            }
            tags.extend(receipt.and_then(|r| r.product_id.as_ref()).map(product_tag));
            tags.extend([tag(PRODUCTS), tag(COUPON_DETAILS)]);
        }
        CatalogWrite::CreateOption(_) | CatalogWrite::UpdateOption { .. } | CatalogWrite::DeleteOption { .. } => {
            if let CatalogWrite::UpdateOption { option_id, .. } | CatalogWrite::DeleteOption { option_id } = write {
                tags.push(option_tag(option_id));
            }
            tags.extend(receipt.and_then(|r| r.option_id.as_ref()).map(option_tag));
            tags.extend([tag(OPTIONS), tag(PRODUCTS), tag(PRODUCT_DETAILS)]);
        }
        CatalogWrite::CreateCoupon(_) | CatalogWrite::UpdateCoupon(_) | CatalogWrite::DeleteCoupon { .. } => {
            match write {
                CatalogWrite::CreateCoupon(new) => tags.extend(new.code.as_ref().map(coupon_tag)),
                CatalogWrite::UpdateCoupon(update) => {
                    tags.push(coupon_tag(&update.code));
                    tags.extend(update.new_code.as_ref().map(coupon_tag));
                }
                CatalogWrite::DeleteCoupon { code } => tags.push(coupon_tag(code)),
                _ => {}
            }
            tags.extend(receipt.and_then(|r| r.coupon_code.as_ref()).map(coupon_tag));
            tags.push(tag(COUPONS));
        }
    }
    tags
}

/// A cached answer.
#[derive(Clone, Debug, serde::Serialize)]
enum Value {
    Product(Product),
    Products(CatalogPage<Product>),
    Option(ProductOption),
    Options(CatalogPage<ProductOption>),
    Coupon(Coupon),
    Coupons(Vec<Coupon>),
    Company(CompanyInfo),
    Contact(ContactInfo),
    PendingPayment(PendingPayment),
    Payments(Vec<AccountPayment>),
}

#[derive(Debug)]
struct Entry {
    value: Value,
    tags: Vec<Tag>,
    fetched_at: Epochs,
    weight: u32,
}

/// Counts the bytes written to it, keeping none.
struct Counter(usize);

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// An entry's approximate heap bytes (see the module docs).
fn weight(value: &Value, tags: &Vec<Tag>) -> u32 {
    let mut counter = Counter(0);
    // Serializing these plain values into a counter cannot fail; if it did, the budget's
    // share of the entry would read low by its JSON, no more.
    let _ = serde_json::to_writer(&mut counter, value);
    let bytes = counter.0 + weigh::tag_heap(tags) + std::mem::size_of::<Entry>() + weigh::MOKA_BYTES_PER_ENTRY;
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// The catalog and account ports with their reads cached.
pub struct CachedCatalog<P> {
    inner: Arc<P>,
    entries: moka::future::Cache<Key, Arc<Entry>>,
    invalidations: Invalidations,
    stats: Arc<CacheStats>,
}

/// Tags remembered at most: far more entities than are written within one TTL.
const MAX_TRACKED_TAGS: u64 = 100_000;

impl<P> CachedCatalog<P> {
    pub fn new(inner: Arc<P>, settings: CatalogCacheSettings) -> Self {
        let stats = Arc::new(CacheStats::default());
        let listener_stats = Arc::clone(&stats);
        let entries = moka::future::Cache::builder()
            .time_to_live(settings.ttl)
            .max_capacity(settings.max_bytes)
            .weigher(|_: &Key, entry: &Arc<Entry>| entry.weight)
            .eviction_listener(move |_, _, cause| listener_stats.count_removal(cause))
            .build();
        let invalidations = Invalidations::new(settings.ttl, MAX_TRACKED_TAGS);
        Self { inner, entries, invalidations, stats }
    }

    /// Makes every catalog write through any replica sharing `tags` evict here too.
    pub fn with_shared_tags(mut self, tags: SharedTags) -> Self {
        self.invalidations.shared = Some(tags);
        self
    }

    /// The cache's counters and size.
    pub fn stats(&self) -> CacheStatsSnapshot {
        self.stats.snapshot(self.entries.entry_count(), self.entries.weighted_size())
    }

    /// Applies pending evictions and counts (moka does this lazily).
    pub async fn settle(&self) {
        self.entries.run_pending_tasks().await;
    }

    /// Whether a write touched the entry since its fetch started: on this
    /// replica, then (with `shared`) on any.
    async fn freshness(&self, entry: &Entry, shared: bool) -> Freshness {
        // Account reads carry no tags: nothing writes them, only their TTL renews them.
        if entry.tags.is_empty() {
            return Freshness::Current;
        }
        self.invalidations.freshness(&entry.tags, entry.fetched_at, shared).await
    }

    /// Stamps `tags` here and, with Redis, for every replica.
    async fn invalidate(&self, tags: Vec<Tag>) {
        self.invalidations.stamp(tags).await;
    }

    /// Reads `key` upstream with `upstream`, noting the epochs first.
    async fn fetch<Fut>(&self, key: &Key, upstream: &impl Fn() -> Fut) -> Result<Arc<Entry>, Error>
    where
        Fut: Future<Output = Result<Value, Error>> + Send,
    {
        let tags = key.tags();
        let fetched_at = self.invalidations.now(!tags.is_empty()).await;
        let value = upstream().await?;
        let weight = weight(&value, &tags);
        Ok(Arc::new(Entry { value, tags, fetched_at, weight }))
    }

    /// `key`'s value: from the cache when it is current, else from `upstream` (and stored).
    async fn read<Fut>(&self, ctx: CallContext, key: Key, upstream: impl Fn() -> Fut) -> Result<Value, Error>
    where
        Fut: Future<Output = Result<Value, Error>> + Send,
    {
        if !ctx.fresh
            && let Some(entry) = self.entries.get(&key).await
        {
            if self.freshness(&entry, true).await == Freshness::Current {
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
                telemetry::record_cache_hit(true);
                return Ok(entry.value.clone());
            }
            self.entries.invalidate(&key).await;
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        telemetry::record_cache_hit(false);
        if ctx.fresh {
            let entry = self.fetch(&key, &upstream).await?;
            self.entries.insert(key, Arc::clone(&entry)).await;
            return Ok(entry.value.clone());
        }
        // Twice at most, as in the sale cache: a coalesced fetch that started
        // before a write this caller already saw answered is fetched once more.
        for _ in 0..2 {
            let fetched_here = AtomicBool::new(false);
            let fetch = async {
                fetched_here.store(true, Ordering::Relaxed);
                self.fetch(&key, &upstream).await
            };
            let entry = self.entries.try_get_with(key.clone(), fetch).await.map_err(|e| Error::clone(&e))?;
            let shared = !fetched_here.load(Ordering::Relaxed);
            if self.freshness(&entry, shared).await == Freshness::Current {
                return Ok(entry.value.clone());
            }
            self.entries.invalidate(&key).await;
        }
        Ok(self.fetch(&key, &upstream).await?.value.clone())
    }
}

/// Takes a cached value of the kind its key holds. A key is only ever stored
/// with the value its own read fetched, so the other arm cannot happen.
macro_rules! take {
    ($value:expr, $variant:ident) => {
        match $value {
            Value::$variant(value) => Ok(value),
            other => unreachable!("a {} key holds a {:?}", stringify!($variant), other),
        }
    };
}

impl<P: CatalogPort> CatalogPort for CachedCatalog<P> {
    async fn list_products(&self, ctx: CallContext, query: &ListProductsQuery) -> Result<CatalogPage<Product>, Error> {
        let value = Box::pin(self.read(ctx, Key::Products(query.clone()), || async {
            self.inner.list_products(ctx, query).await.map(Value::Products)
        }))
        .await?;
        take!(value, Products)
    }

    async fn get_product(&self, ctx: CallContext, id: &ProductId) -> Result<Product, Error> {
        let value = Box::pin(self.read(ctx, Key::Product(id.clone()), || async {
            self.inner.get_product(ctx, id).await.map(Value::Product)
        }))
        .await?;
        take!(value, Product)
    }

    async fn list_options(
        &self,
        ctx: CallContext,
        query: &ListOptionsQuery,
    ) -> Result<CatalogPage<ProductOption>, Error> {
        let value = Box::pin(self.read(ctx, Key::Options(query.clone()), || async {
            self.inner.list_options(ctx, query).await.map(Value::Options)
        }))
        .await?;
        take!(value, Options)
    }

    async fn get_option(&self, ctx: CallContext, id: &OptionId) -> Result<ProductOption, Error> {
        let value =
            Box::pin(self.read(ctx, Key::Option(id.clone()), || async {
                self.inner.get_option(ctx, id).await.map(Value::Option)
            }))
            .await?;
        take!(value, Option)
    }

    async fn list_coupons(&self, ctx: CallContext) -> Result<Vec<Coupon>, Error> {
        let value =
            Box::pin(self.read(ctx, Key::Coupons, || async { self.inner.list_coupons(ctx).await.map(Value::Coupons) }))
                .await?;
        take!(value, Coupons)
    }

    async fn get_coupon(&self, ctx: CallContext, code: &CouponCode) -> Result<Coupon, Error> {
        let value = Box::pin(self.read(ctx, Key::Coupon(code.clone()), || async {
            self.inner.get_coupon(ctx, code).await.map(Value::Coupon)
        }))
        .await?;
        take!(value, Coupon)
    }
}

impl<P: AccountPort> AccountPort for CachedCatalog<P> {
    async fn company_info(&self, ctx: CallContext) -> Result<CompanyInfo, Error> {
        let value =
            Box::pin(self.read(ctx, Key::Company, || async { self.inner.company_info(ctx).await.map(Value::Company) }))
                .await?;
        take!(value, Company)
    }

    async fn contact_info(&self, ctx: CallContext) -> Result<ContactInfo, Error> {
        let value =
            Box::pin(self.read(ctx, Key::Contact, || async { self.inner.contact_info(ctx).await.map(Value::Contact) }))
                .await?;
        take!(value, Contact)
    }

    async fn pending_payment(&self, ctx: CallContext) -> Result<PendingPayment, Error> {
        let value = Box::pin(self.read(ctx, Key::PendingPayment, || async {
            self.inner.pending_payment(ctx).await.map(Value::PendingPayment)
        }))
        .await?;
        take!(value, PendingPayment)
    }

    async fn list_payments(&self, ctx: CallContext) -> Result<Vec<AccountPayment>, Error> {
        let value = Box::pin(
            self.read(ctx, Key::Payments, || async { self.inner.list_payments(ctx).await.map(Value::Payments) }),
        )
        .await?;
        take!(value, Payments)
    }
}

impl<P: CatalogWritePort> CatalogWritePort for CachedCatalog<P> {
    async fn write_catalog(&self, ctx: CallContext, request: &CatalogWriteRequest) -> Result<CatalogReceipt, Error> {
        let outcome = self.inner.write_catalog(ctx, request).await;
        // Whatever the outcome: an unknown one may have changed the catalog, and a
        // refusal costs nothing more than a few extra misses.
        self.invalidate(write_tags(&request.write, outcome.as_ref().ok())).await;
        outcome
    }
}

#[cfg(test)]
mod tests {
    use std::{
        collections::HashMap,
        sync::{Mutex, atomic::AtomicU64},
    };

    use tokio::sync::Semaphore;

    use super::*;
    use crate::domain::{
        AdminCode, CouponType, NewOption, NewOptionValue, OptionValueChange, PageRequest, ProductFields, Text,
        TextRules, VendorError,
    };

    /// An upstream that counts its reads by key, answers a version that its
    /// writes bump, and can hold its reads at a gate.
    struct Upstream {
        reads: Mutex<HashMap<String, u32>>,
        version: AtomicU64,
        /// Reads wait for a permit when set.
        gate: Option<Semaphore>,
        /// Writes fail with this when set.
        write_error: Mutex<Option<Error>>,
    }

    impl Upstream {
        fn new() -> Self {
            Self { reads: Mutex::default(), version: AtomicU64::new(0), gate: None, write_error: Mutex::default() }
        }

        async fn read(&self, key: &str) -> u64 {
            *self.reads.lock().unwrap().entry(key.to_owned()).or_default() += 1;
            // Read as the request arrives; the answer comes back when the gate lets it.
            let version = self.version.load(Ordering::SeqCst);
            if let Some(gate) = &self.gate {
                gate.acquire().await.unwrap().forget();
            }
            version
        }

        fn reads(&self, key: &str) -> u32 {
            self.reads.lock().unwrap().get(key).copied().unwrap_or(0)
        }
    }

    fn product(id: &ProductId, version: u64) -> Product {
        serde_json::from_value(serde_json::json!({
            "product_id": id, "assigned_product_id": null, "vendor_id": null, "vendor_product_id": null,
            "name": format!("v{version}"), "description": null, "long_description": null,
            "price": { "minor_units": 100 }, "tangible": false, "weight": null, "handling": null,
            "recurring": false, "recurrence": null, "duration": null, "startup_fee": null, "pending_url": null,
            "approved_url": null, "commission": false, "commission_type": null, "commission_amount": null,
            "images": [], "categories": [], "options": [],
        }))
        .unwrap()
    }

    fn option(id: &OptionId, version: u64) -> ProductOption {
        ProductOption { option_id: id.clone(), name: format!("v{version}"), values: Vec::new() }
    }

    fn coupon(code: &CouponCode, version: u64) -> Coupon {
        Coupon {
            code: code.clone(),
            date_expire: format!("2030-01-{:02}", version + 1),
            coupon_type: CouponType::Sale,
            minimum_purchase: None,
            percentage_off: None,
            value_off: None,
            product_ids: Some(Vec::new()),
        }
    }

    fn page<T>(rows: Vec<T>) -> CatalogPage<T> {
        let mut page = CatalogPage::empty(PageRequest { page: 1, page_size: 20 });
        page.rows = rows;
        page
    }

    impl CatalogPort for Upstream {
        async fn list_products(&self, _: CallContext, _: &ListProductsQuery) -> Result<CatalogPage<Product>, Error> {
            let version = self.read("list_products").await;
            Ok(page(vec![product(&"1".parse().unwrap(), version)]))
        }

        async fn get_product(&self, _: CallContext, id: &ProductId) -> Result<Product, Error> {
            let version = self.read(&format!("product {id}")).await;
            if id.as_str() == "404" {
                return Err(Error::Vendor(VendorError {
                    code: AdminCode::RecordNotFound,
                    message: "Unable to find record.".into(),
                    parameter: None,
                    http_status: 400,
                }));
            }
            Ok(product(id, version))
        }

        async fn list_options(
            &self,
            _: CallContext,
            _: &ListOptionsQuery,
        ) -> Result<CatalogPage<ProductOption>, Error> {
            let version = self.read("list_options").await;
            Ok(page(vec![option(&"7".parse().unwrap(), version)]))
        }

        async fn get_option(&self, _: CallContext, id: &OptionId) -> Result<ProductOption, Error> {
            let version = self.read(&format!("option {id}")).await;
            Ok(option(id, version))
        }

        async fn list_coupons(&self, _: CallContext) -> Result<Vec<Coupon>, Error> {
            let version = self.read("list_coupons").await;
            Ok(vec![coupon(&"SAVE".parse().unwrap(), version)])
        }

        async fn get_coupon(&self, _: CallContext, code: &CouponCode) -> Result<Coupon, Error> {
            let version = self.read(&format!("coupon {code}")).await;
            Ok(coupon(code, version))
        }
    }

    impl AccountPort for Upstream {
        async fn company_info(&self, _: CallContext) -> Result<CompanyInfo, Error> {
            let version = self.read("company_info").await;
            Ok(CompanyInfo { vendor_id: version.to_string(), ..CompanyInfo::default() })
        }

        async fn contact_info(&self, _: CallContext) -> Result<ContactInfo, Error> {
            let version = self.read("contact_info").await;
            Ok(ContactInfo { vendor_id: version.to_string(), ..ContactInfo::default() })
        }

        async fn pending_payment(&self, _: CallContext) -> Result<PendingPayment, Error> {
            self.read("pending_payment").await;
            Ok(PendingPayment::default())
        }

        async fn list_payments(&self, _: CallContext) -> Result<Vec<AccountPayment>, Error> {
            self.read("list_payments").await;
            Ok(vec![AccountPayment::default()])
        }
    }

    impl CatalogWritePort for Upstream {
        async fn write_catalog(&self, _: CallContext, _: &CatalogWriteRequest) -> Result<CatalogReceipt, Error> {
            self.version.fetch_add(1, Ordering::SeqCst);
            match self.write_error.lock().unwrap().take() {
                Some(error) => Err(error),
                None => Ok(CatalogReceipt { message: "done".into(), ..CatalogReceipt::default() }),
            }
        }
    }

    const SETTINGS: CatalogCacheSettings = CatalogCacheSettings { ttl: Duration::from_secs(3600), max_bytes: 1 << 20 };
    const CTX: CallContext = CallContext { deadline: None, fresh: false };
    const FRESH: CallContext = CallContext { deadline: None, fresh: true };

    fn cache() -> (CachedCatalog<Upstream>, Arc<Upstream>) {
        let upstream = Arc::new(Upstream::new());
        (CachedCatalog::new(Arc::clone(&upstream), SETTINGS), upstream)
    }

    fn products_query() -> ListProductsQuery {
        ListProductsQuery {
            assigned_product_id: None,
            vendor_product_id: None,
            name: None,
            page: PageRequest { page: 1, page_size: 20 },
            sort_column: None,
            sort_direction: None,
        }
    }

    fn options_query() -> ListOptionsQuery {
        ListOptionsQuery {
            option_name: None,
            option_value_name: None,
            page: PageRequest { page: 1, page_size: 20 },
            sort_column: None,
            sort_direction: None,
        }
    }

    /// Every read the cache serves, in a fixed order, named as the upstream counts them.
    const READS: [&str; 11] = [
        "product 1",
        "product 2",
        "list_products",
        "option 7",
        "list_options",
        "coupon SAVE",
        "list_coupons",
        "company_info",
        "contact_info",
        "pending_payment",
        "list_payments",
    ];

    async fn read_everything(cache: &CachedCatalog<Upstream>) {
        cache.get_product(CTX, &"1".parse().unwrap()).await.unwrap();
        cache.get_product(CTX, &"2".parse().unwrap()).await.unwrap();
        cache.list_products(CTX, &products_query()).await.unwrap();
        cache.get_option(CTX, &"7".parse().unwrap()).await.unwrap();
        cache.list_options(CTX, &options_query()).await.unwrap();
        cache.get_coupon(CTX, &"SAVE".parse().unwrap()).await.unwrap();
        cache.list_coupons(CTX).await.unwrap();
        cache.company_info(CTX).await.unwrap();
        cache.contact_info(CTX).await.unwrap();
        cache.pending_payment(CTX).await.unwrap();
        cache.list_payments(CTX).await.unwrap();
    }

    /// The reads that went upstream again after `write`, with every read cached before it.
    async fn read_again_after(write: CatalogWrite, error: Option<Error>) -> Vec<&'static str> {
        let (cache, upstream) = cache();
        read_everything(&cache).await;
        read_everything(&cache).await;
        assert!(READS.iter().all(|read| upstream.reads(read) == 1), "all cached before the write");
        *upstream.write_error.lock().unwrap() = error;
        let request =
            CatalogWriteRequest { request_id: "3f2504e0-4f89-11d3-9a0c-0305e82c3301".parse().unwrap(), write };
        let _ = cache.write_catalog(CTX, &request).await;
        read_everything(&cache).await;
        READS.into_iter().filter(|read| upstream.reads(read) == 2).collect()
    }

    fn text(value: &str) -> Text {
        Text::required(value, TextRules::line(255)).unwrap()
    }

    #[tokio::test]
    async fn a_second_read_is_served_from_the_cache() {
        let (cache, upstream) = cache();
        read_everything(&cache).await;
        read_everything(&cache).await;
        for read in READS {
            assert_eq!(upstream.reads(read), 1, "{read}");
        }
        assert_eq!((cache.stats().hits, cache.stats().misses), (11, 11));
    }

    #[tokio::test]
    async fn a_fresh_read_goes_upstream_and_replaces_the_entry() {
        let (cache, upstream) = cache();
        let id: ProductId = "1".parse().unwrap();
        assert_eq!(cache.get_product(CTX, &id).await.unwrap().name, "v0");
        // Changed outside the gateway (2Checkout's console): only the TTL or `fresh` sees it.
        upstream.version.store(5, Ordering::SeqCst);
        assert_eq!(cache.get_product(CTX, &id).await.unwrap().name, "v0");
        assert_eq!(cache.get_product(FRESH, &id).await.unwrap().name, "v5");
        assert_eq!(cache.get_product(CTX, &id).await.unwrap().name, "v5");
        assert_eq!(upstream.reads("product 1"), 2);
        // The account too.
        cache.company_info(CTX).await.unwrap();
        assert_eq!(cache.company_info(FRESH).await.unwrap().vendor_id, "5");
        assert_eq!(upstream.reads("company_info"), 2);
    }

    #[tokio::test]
    async fn errors_are_not_cached() {
        let (cache, upstream) = cache();
        let missing: ProductId = "404".parse().unwrap();
        for _ in 0..2 {
            cache.get_product(CTX, &missing).await.unwrap_err();
        }
        assert_eq!(upstream.reads("product 404"), 2);
    }

    #[tokio::test]
    async fn concurrent_misses_on_one_key_make_one_upstream_call() {
        let upstream = Arc::new(Upstream { gate: Some(Semaphore::new(0)), ..Upstream::new() });
        let cache = Arc::new(CachedCatalog::new(Arc::clone(&upstream), SETTINGS));
        let mut readers = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let cache = Arc::clone(&cache);
            readers.spawn(async move { cache.get_product(CTX, &"1".parse().unwrap()).await.unwrap() });
        }
        // Every reader gets its turn to start (one thread: each yield runs all that are ready).
        while upstream.reads("product 1") == 0 {
            tokio::task::yield_now().await;
        }
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        upstream.gate.as_ref().unwrap().add_permits(10);
        while let Some(read) = readers.join_next().await {
            assert_eq!(read.unwrap().name, "v0");
        }
        assert_eq!(upstream.reads("product 1"), 1);
    }

    #[tokio::test]
    async fn a_product_write_evicts_the_product_its_listings_and_coupon_details() {
        let fields = ProductFields { name: Some(text("New")), ..ProductFields::default() };
        let update = CatalogWrite::UpdateProduct { product_id: "1".parse().unwrap(), fields };
        assert_eq!(read_again_after(update, None).await, ["product 1", "list_products", "coupon SAVE"]);
        let delete = CatalogWrite::DeleteProduct { product_id: "2".parse().unwrap() };
        assert_eq!(read_again_after(delete, None).await, ["product 2", "list_products", "coupon SAVE"]);
    }

    #[tokio::test]
    async fn an_option_write_evicts_the_option_its_listings_and_every_product() {
        let update = CatalogWrite::UpdateOption {
            option_id: "7".parse().unwrap(),
            name: text("Volume"),
            change: Some(OptionValueChange::Add(NewOptionValue {
                name: text("Low"),
                surcharge: "1.00".parse().unwrap(),
            })),
        };
        assert_eq!(
            read_again_after(update, None).await,
            ["product 1", "product 2", "list_products", "option 7", "list_options"]
        );
        let create = CatalogWrite::CreateOption(NewOption {
            name: text("Volume"),
            values: vec![NewOptionValue { name: text("Low"), surcharge: "1.00".parse().unwrap() }],
        });
        assert_eq!(read_again_after(create, None).await, ["product 1", "product 2", "list_products", "list_options"]);
    }

    #[tokio::test]
    async fn a_coupon_write_evicts_the_coupon_and_the_coupon_list() {
        let delete = CatalogWrite::DeleteCoupon { code: "SAVE".parse().unwrap() };
        assert_eq!(read_again_after(delete, None).await, ["coupon SAVE", "list_coupons"]);
        let other = CatalogWrite::DeleteCoupon { code: "OTHER".parse().unwrap() };
        assert_eq!(read_again_after(other, None).await, ["list_coupons"]);
    }

    #[tokio::test]
    async fn a_write_whose_outcome_is_unknown_evicts_as_if_it_happened() {
        let delete = CatalogWrite::DeleteCoupon { code: "SAVE".parse().unwrap() };
        let lost = Error::OutcomeUnknown { detail: "timed out".into(), timed_out: true, http_status: None };
        assert_eq!(read_again_after(delete, Some(lost)).await, ["coupon SAVE", "list_coupons"]);
    }

    #[tokio::test]
    async fn a_fetch_that_raced_a_write_is_not_served_after_it() {
        let upstream = Arc::new(Upstream { gate: Some(Semaphore::new(0)), ..Upstream::new() });
        let cache = Arc::new(CachedCatalog::new(Arc::clone(&upstream), SETTINGS));
        let reader = {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move { cache.get_option(CTX, &"7".parse().unwrap()).await.unwrap() })
        };
        while upstream.reads("option 7") == 0 {
            tokio::task::yield_now().await;
        }
        // The write lands while the read is upstream; the read then answers the old option.
        let delete = CatalogWrite::DeleteOption { option_id: "7".parse().unwrap() };
        let request =
            CatalogWriteRequest { request_id: "3f2504e0-4f89-11d3-9a0c-0305e82c3301".parse().unwrap(), write: delete };
        cache.write_catalog(CTX, &request).await.unwrap();
        // The reader finds its answer older than the write and reads again.
        upstream.gate.as_ref().unwrap().add_permits(2);
        assert_eq!(reader.await.unwrap().name, "v1");
        assert_eq!(cache.get_option(CTX, &"7".parse().unwrap()).await.unwrap().name, "v1");
        assert_eq!(upstream.reads("option 7"), 2);
    }

    #[tokio::test]
    async fn the_budget_counts_each_entry() {
        let (cache, _) = cache();
        cache.list_products(CTX, &products_query()).await.unwrap();
        cache.settle().await;
        let one = cache.stats().bytes;
        assert!(one > u64::try_from(weigh::MOKA_BYTES_PER_ENTRY).unwrap(), "{one}");
        let tiny = CachedCatalog::new(Arc::new(Upstream::new()), CatalogCacheSettings { max_bytes: one, ..SETTINGS });
        for page in 1..=3 {
            let query = ListProductsQuery { page: PageRequest { page, page_size: 20 }, ..products_query() };
            tiny.list_products(CTX, &query).await.unwrap();
        }
        tiny.settle().await;
        assert!(tiny.stats().bytes <= one, "within the budget");
    }
}
