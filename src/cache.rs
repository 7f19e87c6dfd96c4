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

mod shared;
mod weigh;
pub use shared::SharedTags;

pub use crate::telemetry::CacheStatsSnapshot;
use crate::{
    domain::{
        CallContext, Error, ListSalesQuery, Sale, SaleLookup, SaleWrite, SalesPage, SalesPort, SalesWritePort,
        WriteReceipt, WriteRequest,
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

/// What invalidations are tracked by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Tag {
    Sale(String),
    Invoice(String),
}

#[derive(Debug)]
struct Entry {
    sale: Sale,
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

/// The sales ports with detail_sale answers cached.
pub struct CachedSales<P> {
    inner: Arc<P>,
    entries: moka::future::Cache<SaleLookup, Arc<Entry>>,
    /// The epoch of each tag's last invalidation; kept as long as an entry can live.
    invalidated: moka::sync::Cache<Tag, u64>,
    epoch: AtomicU64,
    /// The stamps every replica sees, when Redis is configured.
    shared: Option<SharedTags>,
    stats: Arc<CacheStats>,
}

/// Tags remembered at most: far more sales than are written within one TTL.
const MAX_TRACKED_TAGS: u64 = 1_000_000;

impl<P> CachedSales<P> {
    pub fn new(inner: Arc<P>, settings: CacheSettings) -> Self {
        let stats = Arc::new(CacheStats::default());
        let listener_stats = Arc::clone(&stats);
        let entries = moka::future::Cache::builder()
            .time_to_live(settings.ttl)
            .max_capacity(settings.max_bytes)
            .weigher(|_: &SaleLookup, entry: &Arc<Entry>| approximate_bytes(&entry.sale))
            .eviction_listener(move |_, _, cause| match cause {
                RemovalCause::Size => {
                    listener_stats.evictions.fetch_add(1, Ordering::Relaxed);
                }
                RemovalCause::Expired => {
                    listener_stats.expirations.fetch_add(1, Ordering::Relaxed);
                }
                RemovalCause::Explicit | RemovalCause::Replaced => {}
            })
            .build();
        let invalidated =
            moka::sync::Cache::builder().time_to_live(settings.ttl).max_capacity(MAX_TRACKED_TAGS).build();
        Self { inner, entries, invalidated, epoch: AtomicU64::new(0), shared: None, stats }
    }

    /// Makes every write through any replica sharing `tags` evict its sale
    /// from this replica's cache too.
    pub fn with_shared_tags(self, tags: SharedTags) -> Self {
        Self { shared: Some(tags), ..self }
    }

    /// The cache's counters and size.
    pub fn stats(&self) -> CacheStatsSnapshot {
        CacheStatsSnapshot {
            hits: self.stats.hits.load(Ordering::Relaxed),
            misses: self.stats.misses.load(Ordering::Relaxed),
            evictions: self.stats.evictions.load(Ordering::Relaxed),
            expirations: self.stats.expirations.load(Ordering::Relaxed),
            entries: self.entries.entry_count(),
            bytes: self.entries.weighted_size(),
        }
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
        let tags = sale_tags(&entry.sale);
        if tags.iter().any(|tag| self.invalidated.get(tag).is_some_and(|epoch| epoch > entry.fetched_at.local)) {
            return Freshness::Stale;
        }
        match &self.shared {
            Some(stamps) if shared => match stamps.stamped_after(&tags, entry.fetched_at.shared).await {
                Some(true) => Freshness::Stale,
                Some(false) => Freshness::Current,
                None => Freshness::Unknown,
            },
            _ => Freshness::Current,
        }
    }

    async fn invalidate(&self, write: &SaleWrite) {
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        let tags = tags(write);
        for tag in &tags {
            self.invalidated.insert(tag.clone(), epoch);
        }
        if let Some(stamps) = &self.shared {
            stamps.stamp(&tags).await;
        }
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

/// The heap bytes an entry of `sale` holds, as the allocator counts them
/// (see [`weigh`]).
fn approximate_bytes(sale: &Sale) -> u32 {
    u32::try_from(weigh::entry_bytes::<SaleLookup, Entry>(sale)).unwrap_or(u32::MAX)
}

impl<P: SalesPort> CachedSales<P> {
    async fn fetch(&self, ctx: CallContext, lookup: &SaleLookup) -> Result<Arc<Entry>, Error> {
        let local = self.epoch.load(Ordering::SeqCst);
        let shared = match &self.shared {
            Some(stamps) => stamps.epoch().await,
            None => 0,
        };
        let fetched_at = Epochs { local, shared };
        let sale = self.inner.get_sale(ctx, lookup).await?;
        Ok(Arc::new(Entry { sale, fetched_at }))
    }
}

impl<P: SalesPort> SalesPort for CachedSales<P> {
    async fn get_sale(&self, ctx: CallContext, lookup: &SaleLookup) -> Result<Sale, Error> {
        if ctx.fresh {
            self.stats.misses.fetch_add(1, Ordering::Relaxed);
            telemetry::record_cache_hit(false);
            let entry = self.fetch(ctx, lookup).await?;
            self.entries.insert(lookup.clone(), Arc::clone(&entry)).await;
            return Ok(entry.sale.clone());
        }
        if let Some(entry) = self.entries.get(lookup).await {
            if self.freshness(&entry, true).await == Freshness::Current {
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
                telemetry::record_cache_hit(true);
                return Ok(entry.sale.clone());
            }
            // Stale, or unknown (Redis unreadable): fetched anew below.
            self.entries.invalidate(lookup).await;
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        telemetry::record_cache_hit(false);
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
