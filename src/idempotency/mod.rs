//! At-most-once writes keyed by the caller's `request_id` (AIP-155), as a
//! decorator over the sales ports: the gRPC layer and the 2Checkout client do
//! not know it exists.
//!
//! # What a request id guarantees
//! - The first call with an id runs the write; a retry with the same id and
//!   the same request gets the first outcome, success or vendor error, with
//!   no second upstream call. Concurrent duplicates wait for the one running
//!   and share its outcome. The same id with a different request is
//!   INVALID_ARGUMENT (REQUEST_ID_REUSED).
//! - Only outcomes 2Checkout decided are remembered. A failure before the
//!   write could reach 2Checkout (cannot connect, credentials rejected, the
//!   deadline already passed, the sale lookup failed) is forgotten, so a retry
//!   simply runs again.
//! - The write runs in its own task: a caller that hangs up does not abandon
//!   a write half-way, and its outcome is still recorded for the retry.
//!
//! # Outcome unknown
//! When the write may have reached 2Checkout but its answer was lost
//! (timeout, broken connection, HTTP 5xx, an undecodable answer), the call
//! fails with OUTCOME_UNKNOWN and nothing is retried automatically. Before
//! sending, the gateway read the sale (one detail_sale) as a baseline. A
//! retry with the same id reads the sale again and compares (see
//! `reconcile.rs`):
//! - refunds: a new refund line on the invoice (or linked to the line item)
//!   for this amount in this currency (a full refund: what the baseline showed
//!   as remaining), and a new comment carrying this refund's comment;
//! - stop recurring: the line item's recurring status is stopped;
//! - mark shipped: the invoice is shipped with this tracking number;
//! - comment: one more comment with exactly this text;
//!
//! If the effect is there, the retry succeeds with 2Checkout's usual
//! confirmation and nothing is sent; if there is no trace, the write is sent
//! again. If a refund's place changed in a way that cannot be told apart from
//! it (someone else refunded the same invoice meanwhile, for another amount or
//! with another comment), nothing is sent and the outcome stays unknown, with
//! what was found and directions for a person.
//! Reauthorization leaves no visible trace, so it is sent again: the
//! vendor's once-a-day rule answers TOO_SOON if the first attempt went
//! through. The baseline read also checks that a line item belongs to the
//! sale named with it.
//!
//! # Authorizations
//! [`IdempotentAuthorizations`] gives Authorize the same guarantees. A lost
//! answer cannot be reconciled through detail_sale (the sale id is in the lost
//! answer), so a retry sends again: the card token is single-use, so a second
//! charge is impossible, and if the token turns out consumed the outcome stays
//! unknown, with directions to look the sale up by merchant order id.
//!
//! # Storage
//! Records live in an [`IdempotencyStore`]. [`MemoryIdempotencyStore`] keeps
//! them per replica for the retention window (default 24 h) within a byte
//! budget; [`RedisIdempotencyStore`] keeps them in the Redis every replica
//! shares (`redis.url`), so the guarantees above hold across replicas and
//! restarts. Either way a full store refuses new ids (RESOURCE_EXHAUSTED)
//! rather than forget a live one, and a store that cannot be reached fails
//! closed (UNAVAILABLE): nothing is sent upstream without a record.
//!
//! # Checkpoint before sending
//! The baseline is persisted in the record ([`IdempotencyStore::checkpoint`])
//! before the write is sent. A replica that dies mid-write leaves a record
//! whose lease expires: the next claim takes it over as *outcome unknown*
//! with that baseline and reconciles, never resending blindly. A record
//! without a checkpoint proves nothing was sent, so it runs afresh.
//!
//! # Concurrent duplicates
//! A duplicate waits for the call running its id (on a shared store, by
//! polling with backoff, so no lost message can hang it) and shares its
//! outcome; if its own deadline comes first, it gets ABORTED
//! (REQUEST_IN_PROGRESS) with RetryInfo.

mod catalog;
mod memory;
mod reconcile;
mod redis;

use std::{
    future::Future,
    marker::PhantomData,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tracing::Instrument as _;

pub use self::catalog::{CatalogBaseline, IdempotentCatalogWrites, MAX_BASELINE_PAGES};
pub use self::memory::{MemoryIdempotencyStore, MemoryStoreSettings};
pub use self::redis::RedisIdempotencyStore;

use self::reconcile::{Evidence, evidence, needs_baseline};

use crate::domain::{
    Authorization, AuthorizationRequest, CallContext, Error, ListSalesQuery, PaymentCode, PaymentPort, RequestId, Sale,
    SaleLookup, SaleWrite, SalesPage, SalesPort, SalesWritePort, WriteReceipt, WriteRequest,
};
use crate::telemetry;

/// The sale as detail_sale showed it before an attempt; boxed because it is
/// large and rarely kept (only while an outcome is unknown).
pub type Baseline = Option<Box<Sale>>;

/// Who holds a claim: a shared store ignores a checkpoint or an outcome from
/// a holder whose lease was taken over (it was too slow, and another call now
/// runs the id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner(String);

impl Owner {
    /// The owner of a claim in a per-process store, where no other process competes.
    pub fn local() -> Self {
        Self(String::new())
    }

    /// A new owner, unique across processes and replicas (process id, start time, counter).
    pub fn unique() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        static PROCESS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let process = PROCESS.get_or_init(|| {
            let started =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_nanos());
            format!("{}-{started}", std::process::id())
        });
        Self(format!("{process}-{}", NEXT.fetch_add(1, Ordering::Relaxed)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a caller must do with a request id. `U` is what an attempt whose
/// outcome is unknown left for the next one to reconcile against.
#[derive(Debug)]
pub enum Claim<T, U> {
    /// Run it as `owner`: nobody has (`unknown` is `None`), or the last
    /// attempt's outcome is unknown (`unknown` is what it left behind).
    Run { unknown: Option<U>, owner: Owner },
    /// Another call is running it: wait for a change, then claim again.
    Wait,
    /// It already ran: this is its outcome.
    Settled(Result<T, Error>),
    /// The id belongs to a different request.
    Conflict,
}

/// How an attempt ended, as the store should remember it.
#[derive(Debug)]
pub enum Disposition<U> {
    /// 2Checkout decided: remember the outcome.
    Settled,
    /// It may or may not have happened; a retry reconciles with this.
    Unknown(U),
    /// Nothing reached 2Checkout: forget the id so a retry runs afresh.
    NotExecuted,
}

/// How an attempt ended, with its outcome.
#[derive(Debug)]
pub enum Finish<T, U> {
    Settled(Result<T, Error>),
    Unknown(U),
    NotExecuted,
}

/// Where request ids and their outcomes are kept.
pub trait IdempotencyStore<T, U>: Send + Sync + 'static {
    /// Claims `id` for a request whose canonical form is `fingerprint`. An
    /// error (store full, store unreachable) means: send nothing.
    fn claim(&self, id: &RequestId, fingerprint: &str) -> impl Future<Output = Result<Claim<T, U>, Error>> + Send;
    /// Persists what a retry must reconcile against should this attempt's
    /// outcome be lost, before the write is sent. An error means: do not send.
    fn checkpoint(&self, id: &RequestId, owner: &Owner, left: &U) -> impl Future<Output = Result<(), Error>> + Send;
    /// Records how the claimed attempt ended and wakes the waiters.
    fn finish(&self, id: &RequestId, owner: &Owner, finish: Finish<T, U>) -> impl Future<Output = ()> + Send;
    /// Completes once `id` may no longer be running (a shared store may
    /// complete early: the caller claims again). `waited` counts the waits so
    /// far, for backoff.
    fn changed(&self, id: &RequestId, waited: u32) -> impl Future<Output = ()> + Send;
}

/// The store the gateway runs with: per process, or shared on Redis (`redis.url`).
pub enum IdempotencyBackend<T, U> {
    Memory(MemoryIdempotencyStore<T, U>),
    Redis(RedisIdempotencyStore<T, U>),
}

impl<T, U> IdempotencyStore<T, U> for IdempotencyBackend<T, U>
where
    T: Clone + serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
    U: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    async fn claim(&self, id: &RequestId, fingerprint: &str) -> Result<Claim<T, U>, Error> {
        match self {
            Self::Memory(store) => store.claim(id, fingerprint).await,
            Self::Redis(store) => store.claim(id, fingerprint).await,
        }
    }

    async fn checkpoint(&self, id: &RequestId, owner: &Owner, left: &U) -> Result<(), Error> {
        match self {
            Self::Memory(store) => store.checkpoint(id, owner, left).await,
            Self::Redis(store) => store.checkpoint(id, owner, left).await,
        }
    }

    async fn finish(&self, id: &RequestId, owner: &Owner, finish: Finish<T, U>) {
        match self {
            Self::Memory(store) => store.finish(id, owner, finish).await,
            Self::Redis(store) => store.finish(id, owner, finish).await,
        }
    }

    async fn changed(&self, id: &RequestId, waited: u32) {
        match self {
            Self::Memory(store) => store.changed(id, waited).await,
            Self::Redis(store) => store.changed(id, waited).await,
        }
    }
}

/// What an attempt uses to persist its baseline before sending.
pub struct Checkpoint<S, T, U> {
    store: Arc<S>,
    id: RequestId,
    owner: Owner,
    types: PhantomData<fn() -> (T, U)>,
}

impl<S: IdempotencyStore<T, U>, T, U> Checkpoint<S, T, U> {
    /// Persists `left` as what a takeover reconciles against; only send on `Ok`.
    pub async fn save(&self, left: &U) -> Result<(), Error> {
        self.store.checkpoint(&self.id, &self.owner, left).await
    }
}

/// Counts a write or authorization the store refused; every other outcome is
/// not the store's doing and is left alone.
fn count_refusal<T>(outcome: &Result<T, Error>) {
    if let Err(error @ (Error::IdempotencyStoreUnavailable { store, .. } | Error::IdempotencyStoreFull { store })) =
        outcome
    {
        telemetry::record_idempotency_refusal(error.reason(), store);
    }
}

/// How long before its deadline a waiting duplicate gives up, so its ABORTED
/// reaches it before its own client gives up with DEADLINE_EXCEEDED.
const WAIT_DEADLINE_MARGIN: Duration = Duration::from_millis(100);

/// Runs `attempt` at most once per request id and fingerprint, as the module
/// docs describe: the first caller runs it in its own task (so hanging up
/// does not abandon it), duplicates wait and share the outcome, and the store
/// remembers what `attempt`'s disposition says.
pub async fn at_most_once<T, U, S, F, Fut>(
    store: &Arc<S>,
    id: &RequestId,
    fingerprint: &str,
    deadline: Option<Instant>,
    attempt: F,
) -> Result<T, Error>
where
    T: Clone + Send + 'static,
    U: Send + 'static,
    S: IdempotencyStore<T, U>,
    F: FnOnce(Option<U>, Checkpoint<S, T, U>) -> Fut,
    Fut: Future<Output = (Result<T, Error>, Disposition<U>)> + Send + 'static,
{
    let mut attempt = Some(attempt);
    let mut waited = 0;
    loop {
        let claim = match store.claim(id, fingerprint).await {
            Ok(claim) => claim,
            Err(error) => {
                let refused = Err(error);
                count_refusal(&refused);
                return refused;
            }
        };
        match claim {
            Claim::Conflict => return Err(Error::RequestIdReused { request_id: id.to_string() }),
            Claim::Settled(outcome) => {
                // The audit record of this call says it repeats an earlier outcome.
                crate::audit::note_replay();
                return outcome;
            }
            Claim::Wait => {
                let change = store.changed(id, waited);
                waited = waited.saturating_add(1);
                match deadline {
                    None => change.await,
                    Some(deadline) => {
                        let give_up = deadline.checked_sub(WAIT_DEADLINE_MARGIN).unwrap_or(deadline);
                        if tokio::time::timeout_at(give_up.into(), change).await.is_err() {
                            return Err(Error::RequestInProgress { request_id: id.to_string() });
                        }
                    }
                }
            }
            Claim::Run { unknown, owner } => {
                let Some(attempt) = attempt.take() else {
                    unreachable!("a caller runs at most one attempt: it returns right after")
                };
                let checkpoint =
                    Checkpoint { store: Arc::clone(store), id: id.clone(), owner: owner.clone(), types: PhantomData };
                let run = attempt(unknown, checkpoint);
                let store = Arc::clone(store);
                let id = id.clone();
                // In the caller's span, so the upstream requests stay children of its call.
                let task = tokio::spawn(
                    async move {
                        let (outcome, disposition) = run.await;
                        let finish = match disposition {
                            Disposition::Settled => Finish::Settled(outcome.clone()),
                            Disposition::Unknown(left) => Finish::Unknown(left),
                            Disposition::NotExecuted => Finish::NotExecuted,
                        };
                        store.finish(&id, &owner, finish).await;
                        outcome
                    }
                    .in_current_span(),
                );
                let outcome = task.await.unwrap_or_else(|e| {
                    Err(Error::OutcomeUnknown {
                        detail: format!("the attempt's task ended abnormally: {e}"),
                        timed_out: false,
                        http_status: None,
                    })
                });
                count_refusal(&outcome);
                return outcome;
            }
        }
    }
}

/// The sales ports with at-most-once writes.
pub struct IdempotentWrites<P, S> {
    inner: Arc<P>,
    store: Arc<S>,
}

impl<P, S> IdempotentWrites<P, S> {
    pub fn new(inner: Arc<P>, store: Arc<S>) -> Self {
        Self { inner, store }
    }
}

impl<P: SalesPort, S: Send + Sync + 'static> SalesPort for IdempotentWrites<P, S> {
    fn get_sale(&self, ctx: CallContext, lookup: &SaleLookup) -> impl Future<Output = Result<Sale, Error>> + Send {
        self.inner.get_sale(ctx, lookup)
    }

    fn list_sales(
        &self,
        ctx: CallContext,
        query: &ListSalesQuery,
    ) -> impl Future<Output = Result<SalesPage, Error>> + Send {
        self.inner.list_sales(ctx, query)
    }
}

impl<P: SalesPort + SalesWritePort, S: IdempotencyStore<WriteReceipt, Baseline>> SalesWritePort
    for IdempotentWrites<P, S>
{
    async fn write(&self, ctx: CallContext, request: &WriteRequest) -> Result<WriteReceipt, Error> {
        let fingerprint = request.write.fingerprint();
        let attempt = Attempt { inner: Arc::clone(&self.inner), ctx, request: request.clone() };
        at_most_once(&self.store, &request.request_id, &fingerprint, ctx.deadline, |unknown, checkpoint| {
            attempt.run(unknown, checkpoint)
        })
        .await
    }
}

/// One claimed attempt at a write, run in its own task.
struct Attempt<P> {
    inner: Arc<P>,
    ctx: CallContext,
    request: WriteRequest,
}

impl<P: SalesPort + SalesWritePort> Attempt<P> {
    /// Runs the write (reconciling first when `unknown` holds the baseline
    /// of an attempt whose outcome was lost) and says how to remember it.
    async fn run<S: IdempotencyStore<WriteReceipt, Baseline>>(
        self,
        unknown: Option<Baseline>,
        checkpoint: Checkpoint<S, WriteReceipt, Baseline>,
    ) -> (Result<WriteReceipt, Error>, Disposition<Baseline>) {
        let write = &self.request.write;
        let baseline = match unknown {
            Some(baseline) => match self.reconcile(baseline).await {
                Ok(Reconciled::Done(receipt)) => {
                    tracing::info!(request_id = %self.request.request_id, "the write took effect earlier; not sent again");
                    return (Ok(receipt), Disposition::Settled);
                }
                Ok(Reconciled::NotDone(now)) => now,
                Err((error, baseline)) => return (Err(error), Disposition::Unknown(baseline)),
            },
            None if needs_baseline(write) => match self.inner.get_sale(self.ctx, &write.sale_lookup()).await {
                Ok(sale) => Some(Box::new(sale)),
                Err(error) => return (Err(error), Disposition::NotExecuted),
            },
            None => None,
        };
        if let Some(error) = baseline.as_deref().and_then(|sale| line_item_outside_sale(write, sale)) {
            return (Err(error), Disposition::NotExecuted);
        }
        // Persisted before sending: if this process dies from here on, whoever takes the id
        // over reconciles against this baseline. If it cannot be persisted, nothing is sent
        // (and a reconciliation above showed the write absent, so forgetting the id is safe).
        if let Err(error) = checkpoint.save(&baseline).await {
            return (Err(error), Disposition::NotExecuted);
        }

        let outcome = self.inner.write(self.ctx, &self.request).await;
        let disposition = match &outcome {
            Ok(_) | Err(Error::Vendor(_)) => Disposition::Settled,
            Err(Error::OutcomeUnknown { .. } | Error::UpstreamResponseInvalid { .. }) => Disposition::Unknown(baseline),
            // Never sent (no upstream slot came free in time, among others): a retry runs it.
            Err(Error::UpstreamBusy { .. }) => Disposition::NotExecuted,
            Err(_) => Disposition::NotExecuted,
        };
        (outcome, disposition)
    }

    /// Reads the sale and tells whether the write's effect is already there.
    async fn reconcile(&self, baseline: Baseline) -> Result<Reconciled, (Error, Baseline)> {
        let write = &self.request.write;
        if !needs_baseline(write) {
            return Ok(Reconciled::NotDone(None));
        }
        let now = match self.inner.get_sale(self.ctx, &write.sale_lookup()).await {
            Ok(sale) => sale,
            Err(error) => return Err((error, baseline)),
        };
        match evidence(write, baseline.as_deref(), &now) {
            Evidence::Done => Ok(Reconciled::Done(WriteReceipt { message: write.confirmation().to_owned() })),
            Evidence::Absent => Ok(Reconciled::NotDone(Some(Box::new(now)))),
            // The original baseline stays: a later retry compares against the sale as it was
            // before the first send, not against a sale that may already show this write.
            Evidence::Ambiguous(found) => Err((still_unknown(write, &found), baseline)),
        }
    }
}

enum Reconciled {
    /// The write took effect: this is its receipt.
    Done(WriteReceipt),
    /// It did not: send it, with the sale as read now as the new baseline.
    NotDone(Baseline),
}

/// The outcome of a write whose effect the sale cannot confirm nor rule out,
/// with directions for the person who must decide.
fn still_unknown(write: &SaleWrite, found: &str) -> Error {
    let sale = match write.sale_lookup() {
        SaleLookup::BySale(id) => format!("sale {id}"),
        SaleLookup::ByInvoice(id) => format!("invoice {id}"),
    };
    Error::OutcomeUnknown {
        detail: format!(
            "a retry checked {sale} and could not tell whether this write took effect: {found}. Nothing was sent \
             again. Compare the sale's refund lines and comments with this request (in the 2Checkout console or \
             with GetSale); if it is not there, send it again with a new request_id"
        ),
        timed_out: false,
        http_status: None,
    }
}

fn line_item_outside_sale(write: &SaleWrite, sale: &Sale) -> Option<Error> {
    let (SaleWrite::RefundLineItem { sale_id, line_item_id, .. }
    | SaleWrite::StopLineItemRecurring { sale_id, line_item_id }) = write
    else {
        return None;
    };
    (!sale.line_items().any(|line| line.line_item_id == line_item_id.as_str()))
        .then(|| Error::invalid_field("line_item_id", format!("is not a line item of sale {sale_id}")))
}

/// The Payment API with at-most-once authorizations, by the same rules as
/// writes. After an unknown outcome a retry sends the authorization again:
/// the card token is single-use, so if the first attempt went through, the
/// vendor refuses the second (300) instead of charging twice — and the
/// outcome stays unknown, with directions to find the sale.
pub struct IdempotentAuthorizations<P, S> {
    inner: Arc<P>,
    store: Arc<S>,
}

impl<P, S> IdempotentAuthorizations<P, S> {
    pub fn new(inner: Arc<P>, store: Arc<S>) -> Self {
        Self { inner, store }
    }
}

impl<P: PaymentPort, S: IdempotencyStore<Authorization, ()>> PaymentPort for IdempotentAuthorizations<P, S> {
    async fn authorize(&self, ctx: CallContext, request: &AuthorizationRequest) -> Result<Authorization, Error> {
        let fingerprint = request.fingerprint();
        let inner = Arc::clone(&self.inner);
        let request = request.clone();
        let id = request.request_id.clone();
        at_most_once(&self.store, &id, &fingerprint, ctx.deadline, move |unknown, checkpoint| async move {
            // The authorization leaves nothing to reconcile against; the checkpoint only marks
            // that it may be sent, so a takeover after a crash knows the outcome is unknown.
            if let Err(error) = checkpoint.save(&()).await {
                return (Err(error), Disposition::NotExecuted);
            }
            let outcome = inner.authorize(ctx, &request).await;
            match &outcome {
                Err(Error::Payment(refusal)) if unknown.is_some() && refusal.code == PaymentCode::Unauthorized => (
                    Err(Error::OutcomeUnknown {
                        detail: "the card token was already used, most likely by the first attempt; look the sale up by \
                                 merchant_order_id (its invoices' vendor_order_id) before authorizing again with a new token"
                            .into(),
                        timed_out: false,
                        http_status: Some(refusal.http_status),
                    }),
                    Disposition::Unknown(()),
                ),
                // Nothing was charged: a retry (after a new token or fixed credentials) may run.
                Err(Error::Payment(refusal)) if refusal.code == PaymentCode::Unauthorized => (outcome, Disposition::NotExecuted),
                Ok(_) | Err(Error::Payment(_)) => (outcome, Disposition::Settled),
                Err(Error::OutcomeUnknown { .. } | Error::UpstreamResponseInvalid { .. }) => {
                    (outcome, Disposition::Unknown(()))
                }
                Err(_) => (outcome, Disposition::NotExecuted),
            }
        })
        .await
    }
}
