//! Delivery of Instant Notifications: a queue and one background sender task per simulator.
//!
//! Writes hand their [`SaleEvent`]s to [`Notifier::enqueue`] once the write is complete; it
//! numbers the message (`message_id`, one counter for the simulator's seller), signs and encodes
//! it and queues it, without awaiting anything, so notifying can neither delay nor fail the API
//! answer. The sender task posts the messages one at a time in queue order (so in order per
//! sale), form-urlencoded, to the URL set when the message was queued. A connection error, a
//! timeout or a non-2xx answer is logged (message id and type, attempt, status; never the secret
//! word, the body or the URL, which may hold credentials) and retried after a doubling backoff,
//! up to [`RetryPolicy::max_attempts`]; the next message waits meanwhile, as ordered delivery
//! requires. Delivery faults ([`DeliveryFault`]) drop, duplicate, delay or swap messages, like
//! `faults` does for endpoints. [`DeliveryStats`] and the [`DeliveryRecord`] log are the
//! observable state tests wait on.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use tokio::sync::{mpsc, watch};

use super::ins::{self, SaleEvent};

/// How many delivered, dropped or abandoned messages [`Notifier::log`] keeps (oldest go first).
const LOG_KEPT: usize = 256;

/// How a failed delivery is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per delivery, the first included (at least one is always made).
    pub max_attempts: u32,
    /// Wait after the first failed attempt; doubled after each further one.
    pub first_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
    /// How long one attempt may take before it counts as failed.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    /// Six attempts within about eight seconds: enough to ride out a receiver restarting, short
    /// enough that a receiver gone for good does not hold the queue long.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            first_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Something to do to the next messages sent, for tests of a receiver's robustness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryFault {
    /// Lose the next `n` messages: never posted (counted as dropped), their ids never reused.
    Drop(u32),
    /// Post each of the next `n` messages twice, identical (as a resend from the vendor's log).
    Duplicate(u32),
    /// Hold each of the next `times` messages for `delay` (wall clock) before posting it; the
    /// messages behind it wait too.
    Delay { delay: Duration, times: u32 },
    /// Hold the next message until another is queued, post that one first, then the held one.
    SwapNextTwo,
}

/// Counters of the sender, from the simulator's start. A duplicated message counts twice
/// (two deliveries).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    /// Messages queued (signed and numbered).
    pub queued: u64,
    /// POSTs made, retries included.
    pub attempts: u64,
    /// Deliveries the receiver answered with a 2xx.
    pub acknowledged: u64,
    /// Attempts that failed (connection error, timeout or non-2xx).
    pub failed_attempts: u64,
    /// Deliveries given up after the last attempt failed.
    pub abandoned: u64,
    /// Messages lost on purpose by [`DeliveryFault::Drop`].
    pub dropped: u64,
}

/// What finally happened to one delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Acknowledged,
    /// Every attempt failed.
    Abandoned,
    /// Lost on purpose by a fault.
    Dropped,
}

/// One message's delivery, as [`crate::RunningSimulator::delivery_log`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub message_id: u64,
    pub message_type: &'static str,
    pub sale_id: String,
    pub invoice_id: String,
    /// POSTs made for this delivery (0 when dropped).
    pub attempts: u32,
    pub outcome: DeliveryOutcome,
    /// The form fields posted, in order (`md5_hash` included; the secret word never is).
    pub fields: Vec<(String, String)>,
}

/// A message ready to post.
#[derive(Clone, Debug)]
struct Outgoing {
    message_id: u64,
    message_type: &'static str,
    sale_id: String,
    invoice_id: String,
    url: String,
    fields: Vec<(String, String)>,
    body: String,
}

#[derive(Debug, Default)]
struct ArmedFaults {
    drop: u32,
    duplicate: u32,
    delay: Option<(Duration, u32)>,
    swap: bool,
}

enum Action {
    Send,
    Drop,
    Duplicate,
    Delay(Duration),
    Swap,
}

impl ArmedFaults {
    /// The fault the next message suffers, using it up. Drop first (a lost message cannot be
    /// anything else), then swap, delay and duplicate.
    fn take(&mut self) -> Action {
        if self.drop > 0 {
            self.drop -= 1;
            return Action::Drop;
        }
        if std::mem::take(&mut self.swap) {
            return Action::Swap;
        }
        if let Some((delay, times)) = self.delay.take() {
            if times > 1 {
                self.delay = Some((delay, times - 1));
            }
            return Action::Delay(delay);
        }
        if self.duplicate > 0 {
            self.duplicate -= 1;
            return Action::Duplicate;
        }
        Action::Send
    }
}

/// The simulator's INS sender. `Debug` never shows the secret word.
pub struct Notifier {
    vendor_id: String,
    secret_word: String,
    url: Mutex<Option<String>>,
    /// The last `message_id` handed out; locked while queueing so ids follow queue order.
    last_message_id: Mutex<u64>,
    queue: mpsc::UnboundedSender<Outgoing>,
    faults: Mutex<ArmedFaults>,
    stats: watch::Sender<DeliveryStats>,
    log: Mutex<VecDeque<DeliveryRecord>>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("vendor_id", &self.vendor_id)
            .field("secret_word", &"<redacted>")
            // A URL may carry credentials: only whether one is set.
            .field("url_set", &self.url().is_some())
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// A notifier and its sender task, which ends when `shutdown` turns true (or closes);
    /// messages still queued then are not sent. Must be called within a Tokio runtime.
    pub fn start(
        vendor_id: &str,
        secret_word: &str,
        url: Option<String>,
        policy: RetryPolicy,
        shutdown: watch::Receiver<bool>,
    ) -> std::sync::Arc<Notifier> {
        let (queue, receiver) = mpsc::unbounded_channel();
        let notifier = std::sync::Arc::new(Notifier {
            vendor_id: vendor_id.to_owned(),
            secret_word: secret_word.to_owned(),
            url: Mutex::new(url),
            last_message_id: Mutex::new(0),
            queue,
            faults: Mutex::new(ArmedFaults::default()),
            stats: watch::Sender::new(DeliveryStats::default()),
            log: Mutex::new(VecDeque::with_capacity(LOG_KEPT)),
        });
        let client = reqwest::Client::builder().timeout(policy.timeout).build();
        let client = client
            .inspect_err(|error| tracing::error!(%error, "no HTTP client for INS: every delivery will fail"))
            .ok();
        let sender = Sender { notifier: std::sync::Arc::clone(&notifier), client, policy, shutdown };
        tokio::spawn(sender.run(receiver));
        notifier
    }

    pub fn url(&self) -> Option<String> {
        lock(&self.url).clone()
    }

    pub fn set_url(&self, url: Option<String>) {
        *lock(&self.url) = url;
    }

    /// Numbers, signs and queues the event's message. Nothing happens without a URL or for a
    /// demo sale (the documentation: no INS for demo sales).
    pub fn enqueue(&self, event: &SaleEvent) {
        if event.sale.demo {
            return;
        }
        let Some(url) = self.url() else { return };
        let mut last_id = lock(&self.last_message_id);
        let message_id = *last_id + 1;
        let Some(fields) = ins::render(event, message_id, &self.vendor_id, &self.secret_word) else {
            tracing::warn!(message_type = event.message_type.name(), "INS event names nothing in its sale; not sent");
            return;
        };
        let body = serde_urlencoded::to_string(&fields).unwrap_or_default();
        let outgoing = Outgoing {
            message_id,
            message_type: event.message_type.name(),
            sale_id: event.sale.sale_id.clone(),
            invoice_id: event.invoice_id.clone(),
            url,
            fields,
            body,
        };
        if self.queue.send(outgoing).is_ok() {
            *last_id = message_id;
            self.stats.send_modify(|stats| stats.queued += 1);
        }
    }

    pub fn inject_fault(&self, fault: DeliveryFault) {
        let mut faults = lock(&self.faults);
        match fault {
            DeliveryFault::Drop(n) => faults.drop = n,
            DeliveryFault::Duplicate(n) => faults.duplicate = n,
            DeliveryFault::Delay { delay, times } => faults.delay = (times > 0).then_some((delay, times)),
            DeliveryFault::SwapNextTwo => faults.swap = true,
        }
    }

    pub fn clear_faults(&self) {
        *lock(&self.faults) = ArmedFaults::default();
    }

    pub fn stats(&self) -> DeliveryStats {
        *self.stats.borrow()
    }

    pub fn watch_stats(&self) -> watch::Receiver<DeliveryStats> {
        self.stats.subscribe()
    }

    pub fn log(&self) -> Vec<DeliveryRecord> {
        lock(&self.log).iter().cloned().collect()
    }

    fn record(&self, message: &Outgoing, attempts: u32, outcome: DeliveryOutcome) {
        let mut log = lock(&self.log);
        if log.len() == LOG_KEPT {
            log.pop_front();
        }
        log.push_back(DeliveryRecord {
            message_id: message.message_id,
            message_type: message.message_type,
            sale_id: message.sale_id.clone(),
            invoice_id: message.invoice_id.clone(),
            attempts,
            outcome,
            fields: message.fields.clone(),
        });
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every guarded value is replaced whole: a panic elsewhere cannot leave it half-written.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The background task posting queued messages.
struct Sender {
    notifier: std::sync::Arc<Notifier>,
    /// `None` only if the TLS backend could not start; every attempt then fails (and is logged).
    client: Option<reqwest::Client>,
    policy: RetryPolicy,
    shutdown: watch::Receiver<bool>,
}

impl Sender {
    async fn run(mut self, mut receiver: mpsc::UnboundedReceiver<Outgoing>) {
        while let Some(message) = self.next(&mut receiver).await {
            let action = lock(&self.notifier.faults).take();
            match action {
                Action::Send => self.deliver(&message).await,
                Action::Drop => {
                    tracing::info!(message_id = message.message_id, "INS message dropped by a delivery fault");
                    self.notifier.stats.send_modify(|stats| stats.dropped += 1);
                    self.notifier.record(&message, 0, DeliveryOutcome::Dropped);
                }
                Action::Duplicate => {
                    self.deliver(&message).await;
                    self.deliver(&message).await;
                }
                Action::Delay(delay) => {
                    if !self.sleep(delay).await {
                        return;
                    }
                    self.deliver(&message).await;
                }
                Action::Swap => {
                    // The held message goes out after the next one, or alone at shutdown.
                    if let Some(second) = self.next(&mut receiver).await {
                        self.deliver(&second).await;
                    }
                    self.deliver(&message).await;
                }
            }
        }
    }

    /// The next queued message; `None` once the simulator shuts down.
    async fn next(&mut self, receiver: &mut mpsc::UnboundedReceiver<Outgoing>) -> Option<Outgoing> {
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            message = receiver.recv() => message,
            _ = shutdown.wait_for(|stopping| *stopping) => None,
        }
    }

    /// Sleeps `delay`; false when the simulator shuts down meanwhile.
    async fn sleep(&self, delay: Duration) -> bool {
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            () = tokio::time::sleep(delay) => true,
            _ = shutdown.wait_for(|stopping| *stopping) => false,
        }
    }

    /// Posts `message` until acknowledged or out of attempts.
    async fn deliver(&self, message: &Outgoing) {
        let stats = &self.notifier.stats;
        let mut backoff = self.policy.first_backoff;
        let attempts = self.policy.max_attempts.max(1);
        for attempt in 1..=attempts {
            stats.send_modify(|stats| stats.attempts += 1);
            let sent = match &self.client {
                Some(client) => Some(
                    client
                        .post(&message.url)
                        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(message.body.clone())
                        .send()
                        .await,
                ),
                None => None,
            };
            match sent {
                None => tracing::warn!(
                    message_id = message.message_id,
                    message_type = message.message_type,
                    attempt,
                    "INS delivery failed: no HTTP client"
                ),
                Some(Ok(answer)) if answer.status().is_success() => {
                    stats.send_modify(|stats| stats.acknowledged += 1);
                    self.notifier.record(message, attempt, DeliveryOutcome::Acknowledged);
                    tracing::debug!(
                        message_id = message.message_id,
                        message_type = message.message_type,
                        "INS delivered"
                    );
                    return;
                }
                Some(Ok(answer)) => tracing::warn!(
                    message_id = message.message_id,
                    message_type = message.message_type,
                    attempt,
                    status = answer.status().as_u16(),
                    "INS delivery refused by the receiver"
                ),
                Some(Err(error)) => tracing::warn!(
                    message_id = message.message_id,
                    message_type = message.message_type,
                    attempt,
                    error = %error.without_url(),
                    "INS delivery failed"
                ),
            }
            stats.send_modify(|stats| stats.failed_attempts += 1);
            if attempt < attempts {
                if !self.sleep(backoff).await {
                    return;
                }
                backoff = (backoff * 2).min(self.policy.max_backoff);
            }
        }
        tracing::error!(
            message_id = message.message_id,
            message_type = message.message_type,
            attempts,
            "INS delivery abandoned"
        );
        stats.send_modify(|stats| stats.abandoned += 1);
        self.notifier.record(message, attempts, DeliveryOutcome::Abandoned);
    }
}
