//! A read-through cache of detail_sale answers, as a decorator over the sales
//! ports: the gRPC layer and the 2Checkout client do not know it exists.
//!
//! # Design
//! - Entries are keyed by the lookup ([`SaleLookup`]: by sale or by invoice)
//!   in a `moka::future::Cache` bounded in approximate bytes and expiring
//!   after a TTL. Concurrent misses on one key make one upstream call
//!   (`try_get_with`); errors are never cached.
//! - Read-your-writes: every write invalidates its sale and invoice *tags*
//!   before it answers, whatever its outcome (an unknown outcome may have
//!   changed the sale). An invalidation stamps the tag with a new epoch; an
//!   entry remembers the epoch its fetch started at, and a hit counts only if
//!   no tag of its sale (the sale id, every invoice id in it) was stamped
//!   later. So a lookup by invoice cannot serve a sale a write by sale id has
//!   changed, nor the reverse, and a fetch that raced a write is never served
//!   after it.
//! - Across replicas, when Redis is configured ([`SharedTags`]): the same
//!   stamps are also kept in Redis, where every replica's hit reads them (one
//!   MGET). A write stamps there before its caller gets the answer, so no
//!   replica serves the sale as it was before that write. A version checked on
//!   every hit has no message to lose (unlike an invalidation broadcast); when
//!   Redis cannot be read in time, the hit becomes a miss: never possibly
//!   stale data.
//! - A caller can ask for fresh data ([`CallContext::fresh`]): the upstream
//!   answer is served and replaces the cached entry.
//! - A hit hands out the entry's own [`SharedSale`] (a reference count, no
//!   copy), and with it the memo the serving edge keeps its encoded answer in
//!   ([`CachedSales::with_memo`] makes it as the entry is stored, so the
//!   memory budget counts it). Entries are immutable and a memo lives inside
//!   its entry, so whatever drops or replaces an entry (an invalidation
//!   found stale, `fresh`, expiry, eviction) drops its encoded form with it:
//!   the freshness rules above decide for both at once.
//! - Every lookup marks its call's span with whether the cache served it, and
//!   [`CacheStats`] feeds the cache metrics ([`crate::telemetry::observe_cache`]).
//!   The dependency runs one way: the cache reports to telemetry (in the
//!   figures telemetry defines, [`CacheStatsSnapshot`]); telemetry never
//!   imports the cache.
//!
//! Without Redis each replica's cache is its own: a write through replica A
//! does not invalidate replica B, which may serve the sale as it was for up to
//! the TTL. Changes made outside the gateway (2Checkout's console) are bounded
//! by the TTL either way.

use std::{
    future::Future,
    sync::{
        Arc, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use moka::notification::RemovalCause;

mod catalog;
mod shared;
mod weigh;
pub use catalog::{CachedCatalog, CatalogCacheSettings};
pub use shared::SharedTags;

pub use crate::telemetry::CacheStatsSnapshot;
use crate::{
    domain::{
        CallContext, Error, InvoiceId, ListSalesQuery, Sale, SaleEviction, SaleId, SaleLookup, SaleWrite, SalesPage,
        SalesPort, SalesWritePort, SharedSale, WriteReceipt, WriteRequest,
    },
    telemetry,
};

/// Cache settings.
#[derive(Clone, Copy, Debug)]
pub struct CacheSettings {
    /// How long an entry may be served.
    pub ttl: Duration,
    /// The memory budget for cached sales, in approximate bytes.
    pub max_bytes: u64,
}

/// Counters of the cache's work, for telemetry.
#[derive(Debug, Default)]
pub struct CacheStats {
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
    expirations: AtomicU64,
}

impl CacheStats {
    /// Counts an entry moka removed: by the byte budget or by its TTL (removals
    /// the cache asked for itself are not evictions).
    fn count_removal(&self, cause: RemovalCause) {
        match cause {
            RemovalCause::Size => {
                self.evictions.fetch_add(1, Ordering::Relaxed);
            }
            RemovalCause::Expired => {
                self.expirations.fetch_add(1, Ordering::Relaxed);
            }
            RemovalCause::Explicit | RemovalCause::Replaced => {}
        }
    }

    /// The counters, with the cache's current size.
    fn snapshot(&self, entries: u64, bytes: u64) -> CacheStatsSnapshot {
        CacheStatsSnapshot {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            expirations: self.expirations.load(Ordering::Relaxed),
            entries,
            bytes,
        }
    }
}

/// What invalidations are tracked by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Tag {
    Sale(String),
    Invoice(String),
    /// A catalog entity or listing ([`catalog`]'s tags).
    Catalog(String),
}

#[derive(Debug)]
struct Entry {
    sale: SharedSale,
    /// The tags of `sale`, made once: every hit checks them.
    tags: Vec<Tag>,
    /// The invalidation epochs when the fetch that produced this entry started.
    fetched_at: Epochs,
}

/// An entry's fetch start on each clock of invalidations.
#[derive(Clone, Copy, Debug)]
struct Epochs {
    /// This process's.
    local: u64,
    /// The replicas' shared one, in Redis (0 without it, or when it could not be read).
    shared: u64,
}

/// Whether an entry may be served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Freshness {
    /// No write touched its sale since its fetch started.
    Current,
    /// A write did.
    Stale,
    /// The shared stamps could not be read: it must not be served.
    Unknown,
}

/// The clock a cache's entries are checked against: a local epoch, the epoch
/// each tag was last stamped at, and (with Redis) the stamps every replica sees.
struct Invalidations {
    /// The epoch of each tag's last invalidation; kept as long as an entry can live.
    invalidated: moka::sync::Cache<Tag, u64>,
    epoch: AtomicU64,
    /// The stamps every replica sees, when Redis is configured.
    shared: Option<SharedTags>,
}

impl Invalidations {
    /// Remembers at most `max_tracked` stamped tags, each for `ttl` (an entry's life).
    fn new(ttl: Duration, max_tracked: u64) -> Self {
        let invalidated = moka::sync::Cache::builder().time_to_live(ttl).max_capacity(max_tracked).build();
        Self { invalidated, epoch: AtomicU64::new(0), shared: None }
    }

    /// The epochs a fetch starting now is stamped with; the replicas' shared
    /// one is read only `with_shared` (0 otherwise, or without Redis).
    async fn now(&self, with_shared: bool) -> Epochs {
        let local = self.epoch.load(Ordering::SeqCst);
        let shared = match &self.shared {
            Some(stamps) if with_shared => stamps.epoch().await,
            _ => 0,
        };
        Epochs { local, shared }
    }

    /// Whether a write stamped any of `tags` since `fetched_at`: on this
    /// replica, then (with `shared`) on any.
    async fn freshness(&self, tags: &[Tag], fetched_at: Epochs, shared: bool) -> Freshness {
        // No write at all since the fetch started (the common case): no tag can have been stamped later.
        let written_since = self.epoch.load(Ordering::SeqCst) != fetched_at.local;
        if written_since
            && tags.iter().any(|tag| self.invalidated.get(tag).is_some_and(|epoch| epoch > fetched_at.local))
        {
            return Freshness::Stale;
        }
        match &self.shared {
            // Boxed, like a miss: only replicas sharing Redis pay for it, and a round trip dwarfs it.
            Some(stamps) if shared => match Box::pin(stamps.stamped_after(tags, fetched_at.shared)).await {
                Some(true) => Freshness::Stale,
                Some(false) => Freshness::Current,
                None => Freshness::Unknown,
            },
            _ => Freshness::Current,
        }
    }

    /// Stamps `tags` here and, with Redis, for every replica: no entry they
    /// name whose fetch started before is served again, anywhere.
    async fn stamp(&self, tags: Vec<Tag>) {
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        for tag in &tags {
            self.invalidated.insert(tag.clone(), epoch);
        }
        if let Some(stamps) = &self.shared {
            stamps.stamp(&tags).await;
        }
    }
}

/// The sales ports with detail_sale answers cached.
pub struct CachedSales<P> {
    inner: Arc<P>,
    entries: moka::future::Cache<SaleLookup, Arc<Entry>>,
    invalidations: Invalidations,
    stats: Arc<CacheStats>,
    /// Makes each fetched sale's memo as it is stored (see the module docs).
    memo: Option<MemoMaker>,
}

/// How the serving edge encodes a sale into its memo ([`SharedSale::memo`]).
pub type MemoMaker = fn(&Sale) -> Vec<u8>;

/// Tags remembered at most: far more sales than are written within one TTL.
const MAX_TRACKED_TAGS: u64 = 1_000_000;

impl<P> CachedSales<P> {
    pub fn new(inner: Arc<P>, settings: CacheSettings) -> Self {
        let stats = Arc::new(CacheStats::default());
        let listener_stats = Arc::clone(&stats);
        let entries = moka::future::Cache::builder()
            .time_to_live(settings.ttl)
            .max_capacity(settings.max_bytes)
            .weigher(|_: &SaleLookup, entry: &Arc<Entry>| approximate_bytes(entry))
            .eviction_listener(move |_, _, cause| listener_stats.count_removal(cause))
            .build();
        let invalidations = Invalidations::new(settings.ttl, MAX_TRACKED_TAGS);
        Self { inner, entries, invalidations, stats, memo: None }
    }

    /// Makes each fetched sale's memo with `make` before the entry is stored,
    /// so its weight counts the memo too; the edge must memoise with the same
    /// function. Without it the edge makes the memo on the first serve,
    /// outside the budget.
    pub fn with_memo(self, make: MemoMaker) -> Self {
        Self { memo: Some(make), ..self }
    }

    /// Makes every write through any replica sharing `tags` evict its sale
    /// from this replica's cache too.
    pub fn with_shared_tags(mut self, tags: SharedTags) -> Self {
        self.invalidations.shared = Some(tags);
        self
    }

    /// The cache's counters and size.
    pub fn stats(&self) -> CacheStatsSnapshot {
        self.stats.snapshot(self.entries.entry_count(), self.entries.weighted_size())
    }

    /// Applies pending evictions and counts (moka does this lazily); tests and
    /// telemetry call it before reading exact figures.
    pub async fn settle(&self) {
        self.entries.run_pending_tasks().await;
    }

    /// Settles `cache` every `period` for as long as it exists: moka counts
    /// entries and notices expiries only when it does its housekeeping, which
    /// otherwise waits for the next lookup, so an idle cache would report stale
    /// figures forever.
    pub async fn keep_settled(cache: Weak<Self>, period: Duration) {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Some(cache) = cache.upgrade() else { return };
            cache.settle().await;
        }
    }

    /// Whether a write touched the entry's sale since its fetch started: on
    /// this replica, then (with `shared`) on any.
    async fn freshness(&self, entry: &Entry, shared: bool) -> Freshness {
        self.invalidations.freshness(&entry.tags, entry.fetched_at, shared).await
    }

    async fn invalidate(&self, write: &SaleWrite) {
        self.invalidate_tags(tags(write)).await;
    }

    /// Stamps `tags` (see [`Invalidations::stamp`]).
    async fn invalidate_tags(&self, tags: Vec<Tag>) {
        self.invalidations.stamp(tags).await;
    }
}

/// The tags an entry of `sale` answers to.
fn sale_tags(sale: &Sale) -> Vec<Tag> {
    std::iter::once(Tag::Sale(sale.sale_id.to_string()))
        .chain(sale.invoices.iter().map(|i| Tag::Invoice(i.invoice_id.to_string())))
        .collect()
}

/// The tags a write touches.
fn tags(write: &SaleWrite) -> Vec<Tag> {
    let mut tags = Vec::with_capacity(2);
    match write {
        SaleWrite::RefundInvoice { target, .. } | SaleWrite::MarkShipped { target, .. } => {
            tags.extend(target.sale_id().map(|id| Tag::Sale(id.to_string())));
            tags.extend(target.invoice_id().map(|id| Tag::Invoice(id.to_string())));
        }
        SaleWrite::RefundLineItem { sale_id, .. }
        | SaleWrite::Reauthorize { sale_id }
        | SaleWrite::StopLineItemRecurring { sale_id, .. }
        | SaleWrite::CreateComment { sale_id, .. } => tags.push(Tag::Sale(sale_id.to_string())),
    }
    tags
}

/// The heap bytes an entry holds, its encoded answer included, as the
/// allocator counts them (see [`weigh`]).
fn approximate_bytes(entry: &Entry) -> u32 {
    let tag_heap = weigh::tag_heap(&entry.tags);
    u32::try_from(weigh::entry_bytes::<SaleLookup, Entry>(&entry.sale, tag_heap)).unwrap_or(u32::MAX)
}

impl<P: SalesPort> CachedSales<P> {
    async fn fetch(&self, ctx: CallContext, lookup: &SaleLookup) -> Result<Arc<Entry>, Error> {
        let fetched_at = self.invalidations.now(true).await;
        let sale = self.inner.get_shared_sale(ctx, lookup).await?;
        if let Some(make) = self.memo {
            sale.memo(make);
        }
        Ok(Arc::new(Entry { tags: sale_tags(sale.sale()), sale, fetched_at }))
    }

    /// A lookup the cache could not serve (a miss, a stale entry, or `fresh`),
    /// answered from upstream and stored.
    async fn fetch_for(&self, ctx: CallContext, lookup: &SaleLookup) -> Result<SharedSale, Error> {
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        telemetry::record_cache_hit(false);
        if ctx.fresh {
            let entry = self.fetch(ctx, lookup).await?;
            self.entries.insert(lookup.clone(), Arc::clone(&entry)).await;
            return Ok(entry.sale.clone());
        }
        // Twice at most: a coalesced fetch that started before a write this
        // caller already saw answered is not good enough, so fetch once more.
        for _ in 0..2 {
            let fetched_here = AtomicBool::new(false);
            let fetch = async {
                fetched_here.store(true, Ordering::Relaxed);
                self.fetch(ctx, lookup).await
            };
            let entry = self.entries.try_get_with(lookup.clone(), fetch).await.map_err(|e| Error::clone(&e))?;
            // A fetch this call made began after the call did, so it reflects
            // every write answered before: another replica's stamps need no
            // reading for it (this replica's are checked as they always were).
            let shared = !fetched_here.load(Ordering::Relaxed);
            if self.freshness(&entry, shared).await == Freshness::Current {
                return Ok(entry.sale.clone());
            }
            self.entries.invalidate(lookup).await;
        }
        // Writes keep landing on this sale: serve it straight from upstream.
        Ok(self.fetch(ctx, lookup).await?.sale.clone())
    }
}

impl<P: SalesPort> SalesPort for CachedSales<P> {
    async fn get_sale(&self, ctx: CallContext, lookup: &SaleLookup) -> Result<Sale, Error> {
        Ok(self.get_shared_sale(ctx, lookup).await?.sale().clone())
    }

    async fn get_shared_sale(&self, ctx: CallContext, lookup: &SaleLookup) -> Result<SharedSale, Error> {
        if !ctx.fresh
            && let Some(entry) = self.entries.get(lookup).await
        {
            if self.freshness(&entry, true).await == Freshness::Current {
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
                telemetry::record_cache_hit(true);
                return Ok(entry.sale.clone());
            }
            // Stale, or unknown (Redis unreadable): fetched anew below.
            self.entries.invalidate(lookup).await;
        }
        // Boxed: a future is moved whole on every call, and the upstream
        // call's state would make a hit's future kilobytes long.
        Box::pin(self.fetch_for(ctx, lookup)).await
    }

    fn list_sales(
        &self,
        ctx: CallContext,
        query: &ListSalesQuery,
    ) -> impl Future<Output = Result<SalesPage, Error>> + Send {
        // Listings are not cached: they span many sales and callers page through them once.
        self.inner.list_sales(ctx, query)
    }
}

impl<P: SalesWritePort> SalesWritePort for CachedSales<P> {
    async fn write(&self, ctx: CallContext, request: &WriteRequest) -> Result<WriteReceipt, Error> {
        let outcome = self.inner.write(ctx, request).await;
        // Whatever the outcome: an unknown one may have changed the sale, and a
        // refusal costs nothing more than one extra miss.
        self.invalidate(&request.write).await;
        outcome
    }
}

/// An accepted INS notification evicts its sale the way a write through the
/// gateway does (the same tags, the same shared stamps), so the next GetSale on
/// any replica reads the sale as 2Checkout now has it.
impl<P: Send + Sync + 'static> SaleEviction for CachedSales<P> {
    async fn evict_sale(&self, sale_id: &SaleId, invoice_id: &InvoiceId) {
        self.invalidate_tags(vec![Tag::Sale(sale_id.to_string()), Tag::Invoice(invoice_id.to_string())]).await;
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::{
        domain::SalesPage,
        grpc::{EncodedGetSaleResponse, encode_sale, proto},
    };

    /// An upstream whose one sale says how many writes it has seen (its
    /// `date_placed`), and which counts its reads.
    #[derive(Default)]
    struct Upstream {
        version: AtomicU64,
        reads: AtomicU64,
    }

    impl SalesPort for Upstream {
        async fn get_sale(&self, _ctx: CallContext, _lookup: &SaleLookup) -> Result<Sale, Error> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            let version = self.version.load(Ordering::SeqCst);
            Ok(serde_json::from_value(serde_json::json!({
                "sale_id": "1", "date_placed": version.to_string(), "comments": [],
                "invoices": [{
                    "invoice_id": "100", "status": {}, "recurring": false, "line_items": [],
                    "usd_total": { "minor_units": 20_000 },
                }],
            }))
            .unwrap())
        }

        async fn list_sales(&self, _ctx: CallContext, _query: &ListSalesQuery) -> Result<SalesPage, Error> {
            unreachable!("no spec here lists")
        }
    }

    impl SalesWritePort for Upstream {
        async fn write(&self, _ctx: CallContext, _request: &WriteRequest) -> Result<WriteReceipt, Error> {
            self.version.fetch_add(1, Ordering::SeqCst);
            Ok(WriteReceipt { message: "done".into() })
        }
    }

    fn cache() -> (CachedSales<Upstream>, Arc<Upstream>) {
        let upstream = Arc::new(Upstream::default());
        let settings = CacheSettings { ttl: Duration::from_secs(3600), max_bytes: 1 << 20 };
        (CachedSales::new(Arc::clone(&upstream), settings).with_memo(encode_sale), upstream)
    }

    fn by_sale() -> SaleLookup {
        SaleLookup::BySale("1".parse().unwrap())
    }

    const FRESH: CallContext = CallContext { deadline: None, fresh: true };

    /// What GetSale answers for `sale`, as a caller decodes it: the sale's version.
    fn answer(sale: &SharedSale) -> String {
        let bytes = EncodedGetSaleResponse::of(sale).encode_to_vec();
        proto::GetSaleResponse::decode(&*bytes).unwrap().sale.unwrap().date_placed
    }

    async fn reauthorize(cache: &CachedSales<Upstream>) {
        let request = WriteRequest {
            request_id: "3f2504e0-4f89-11d3-9a0c-0305e82c3301".parse().unwrap(),
            write: SaleWrite::Reauthorize { sale_id: "1".parse().unwrap() },
        };
        cache.write(CallContext::default(), &request).await.unwrap();
    }

    #[tokio::test]
    async fn a_hit_serves_the_encoded_answer_made_when_the_sale_was_stored() {
        let (cache, upstream) = cache();
        let stored = cache.get_shared_sale(CallContext::default(), &by_sale()).await.unwrap();
        assert!(stored.memo_len() > 0, "made before the first serve");
        let hit = cache.get_shared_sale(CallContext::default(), &by_sale()).await.unwrap();
        assert!(Arc::ptr_eq(&stored.memo(encode_sale), &hit.memo(encode_sale)), "the same bytes, not made again");
        assert_eq!((answer(&hit), upstream.reads.load(Ordering::SeqCst)), ("0".to_owned(), 1));
    }

    #[tokio::test]
    async fn after_a_write_the_next_hit_is_the_new_sale_not_its_old_encoded_answer() {
        let (cache, upstream) = cache();
        let before = cache.get_shared_sale(CallContext::default(), &by_sale()).await.unwrap();
        assert_eq!(answer(&before), "0");
        reauthorize(&cache).await;
        let after = cache.get_shared_sale(CallContext::default(), &by_sale()).await.unwrap();
        assert_eq!((answer(&after), upstream.reads.load(Ordering::SeqCst)), ("1".to_owned(), 2));
        let hit = cache.get_shared_sale(CallContext::default(), &by_sale()).await.unwrap();
        assert_eq!((answer(&hit), upstream.reads.load(Ordering::SeqCst)), ("1".to_owned(), 2));
    }

    #[tokio::test]
    async fn a_fresh_read_bypasses_the_encoded_answer_and_replaces_it() {
        let (cache, upstream) = cache();
        cache.get_shared_sale(CallContext::default(), &by_sale()).await.unwrap();
        // Changed outside the gateway (2Checkout's console): only the TTL or `fresh` sees it.
        upstream.version.store(7, Ordering::SeqCst);
        let cached = cache.get_shared_sale(CallContext::default(), &by_sale()).await.unwrap();
        assert_eq!(answer(&cached), "0");
        let fresh = cache.get_shared_sale(FRESH, &by_sale()).await.unwrap();
        assert_eq!(answer(&fresh), "7");
        let hit = cache.get_shared_sale(CallContext::default(), &by_sale()).await.unwrap();
        assert_eq!((answer(&hit), upstream.reads.load(Ordering::SeqCst)), ("7".to_owned(), 2));
    }

    #[tokio::test]
    async fn an_evicted_sale_is_read_anew_by_sale_and_by_invoice() {
        let (cache, upstream) = cache();
        let by_invoice = SaleLookup::ByInvoice("100".parse().unwrap());
        for lookup in [by_sale(), by_invoice.clone()] {
            cache.get_shared_sale(CallContext::default(), &lookup).await.unwrap();
            cache.get_shared_sale(CallContext::default(), &lookup).await.unwrap();
        }
        assert_eq!((cache.stats().hits, upstream.reads.load(Ordering::SeqCst)), (2, 2));
        // Changed in 2Checkout's console; its notification arrives.
        upstream.version.store(5, Ordering::SeqCst);
        cache.evict_sale(&"1".parse().unwrap(), &"100".parse().unwrap()).await;
        assert_eq!(answer(&cache.get_shared_sale(CallContext::default(), &by_sale()).await.unwrap()), "5");
        assert_eq!(answer(&cache.get_shared_sale(CallContext::default(), &by_invoice).await.unwrap()), "5");
        assert_eq!((cache.stats().hits, upstream.reads.load(Ordering::SeqCst)), (2, 4));
    }

    #[tokio::test]
    async fn evicting_by_the_invoice_alone_reaches_an_entry_cached_by_sale() {
        let (cache, upstream) = cache();
        cache.get_shared_sale(CallContext::default(), &by_sale()).await.unwrap();
        upstream.version.store(6, Ordering::SeqCst);
        // A recurring installment names a new invoice of the sale; a sale id the cache never saw.
        cache.evict_sale(&"2".parse().unwrap(), &"100".parse().unwrap()).await;
        assert_eq!(answer(&cache.get_shared_sale(CallContext::default(), &by_sale()).await.unwrap()), "6");
    }

    #[tokio::test]
    async fn the_memory_budget_counts_the_encoded_answer() {
        let upstream = Arc::new(Upstream::default());
        let settings = CacheSettings { ttl: Duration::from_secs(3600), max_bytes: 1 << 20 };
        let plain = CachedSales::new(Arc::clone(&upstream), settings);
        let with_memo = CachedSales::new(upstream, settings).with_memo(encode_sale);
        plain.get_sale(CallContext::default(), &by_sale()).await.unwrap();
        let sale = with_memo.get_shared_sale(CallContext::default(), &by_sale()).await.unwrap();
        plain.settle().await;
        with_memo.settle().await;
        assert!(sale.memo_len() > 0);
        let memo = u64::try_from(weigh::memo_bytes(sale.memo_len())).unwrap();
        assert_eq!(with_memo.stats().bytes, plain.stats().bytes + memo);
    }
}
