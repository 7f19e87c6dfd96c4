//! The INS receiver: the HTTP endpoint 2Checkout posts its instant
//! notifications to (`POST /ins`, `application/x-www-form-urlencoded`), on a
//! listener of its own (`ins.listen_addr`).
//!
//! # What a post goes through, in order
//! 1. path and method (axum's router: another path is 404, another method 405);
//! 2. the receiver-wide rate limit (429 with `Retry-After`): one token bucket for
//!    every sender, since 2Checkout posts from addresses nobody can list and a
//!    flood of unsigned posts must not cost unbounded MD5s and journal reads;
//! 3. the body's size (`ins.max_body_bytes`, 413; a declared `Content-Length`
//!    over it is refused unread) and the time to receive it (408);
//! 4. the form's field count (`ins.max_fields`, 413, counted before parsing) and
//!    parsing, keeping every field in posted order with its repeats (the audit copy);
//! 5. the fields the receiver needs: `message_type`, `message_id`, `sale_id`,
//!    `invoice_id` (digits), `vendor_id`, `md5_hash` (32 hex digits), each exactly
//!    once (400 naming the field): a repeated signed field would let the hash
//!    cover one value and a reader see another;
//! 6. `vendor_id` is the configured account (403);
//! 7. `md5_hash` is `UPPER(hex(MD5(sale_id + vendor_id + invoice_id + secret_word)))`
//!    (INS-NOTES), compared as 16 bytes in constant time (403). The posted hex is
//!    read case-insensitively: the digest's 128 bits are the same whatever the case
//!    of its hex digits, 2Checkout documents and sends upper case, and libraries
//!    differ (ActiveMerchant upcases both sides, most compare exact strings), so
//!    being strict about case would refuse a correctly signed message for nothing.
//!    Comparing bytes also means the expected hash never exists as text to be
//!    logged by mistake;
//! 8. the sale is evicted from every replica's cache ([`SaleEviction`]) *before*
//!    the notification is stored: a subscriber that sees the event and then calls
//!    GetSale must get the new state;
//! 9. the form is appended to the journal under `"{vendor_id}:{message_id}"`,
//!    and only then does 2Checkout get `200 OK` (a duplicate too: it was kept the
//!    first time). A journal that cannot store answers 503, so 2Checkout keeps the
//!    message and resends it.
//!
//! Connections are bounded in number and lifetime (`connections`): the port faces
//! the internet. The `Content-Type` is not checked: no source states what
//! 2Checkout sends (INS-NOTES), the body is read as a form whatever it says, and
//! the hash decides.
//!
//! Every refusal logs one WARN line with its reason and the message and sale ids
//! when they are known (and well formed), never the secret word nor the expected
//! hash. Nothing here panics on any input: every field is checked before use.

mod connections;

pub use self::connections::{BoundedListener, CONNECTION_LIFETIME, MAX_CONNECTIONS, Peer};

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use md5::{Digest as _, Md5};
use secrecy::{ExposeSecret as _, SecretString};
use subtle::ConstantTimeEq as _;
use tokio::{net::TcpListener, time::Instant};
use tokio_stream::StreamExt as _;

use crate::{
    auth::{RateLimit, rate::TokenBucket},
    config::{InsAccount, InsSettings},
    domain::{Appended, InvoiceId, NotificationJournal, RawForm, SaleEviction, SaleId},
    telemetry,
};

/// The path 2Checkout posts to.
pub const INS_PATH: &str = "/ins";

/// How long a sender may take to send its (small) body once the headers are in:
/// a real post arrives in one packet or two; a sender that trickles it holds a
/// connection and a task for nothing.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The digits a message id may have (a u64's worth).
const MAX_MESSAGE_ID_DIGITS: usize = 20;

/// What the receiver checks posts against.
#[derive(Clone, Debug)]
pub struct ReceiverSettings {
    /// The account messages must be signed for.
    pub account: InsAccount,
    /// The largest body read, in bytes.
    pub max_body_bytes: usize,
    /// The most form fields accepted.
    pub max_fields: usize,
    /// The receiver-wide rate limit.
    pub rate_limit: RateLimit,
}

impl ReceiverSettings {
    /// From the `ins` settings and the account [`crate::config::Settings::ins_account`] resolved.
    pub fn new(account: InsAccount, ins: &InsSettings) -> Self {
        Self {
            account,
            max_body_bytes: usize::try_from(ins.max_body_bytes).unwrap_or(usize::MAX),
            max_fields: usize::try_from(ins.max_fields).unwrap_or(usize::MAX),
            rate_limit: RateLimit { per_second: ins.rate_limit_per_second, burst: ins.rate_limit_burst },
        }
    }
}

/// The receiver: verifies posts, evicts their sale, stores them in `J`.
pub struct InsReceiver<J, E> {
    journal: Arc<J>,
    eviction: Arc<E>,
    vendor_id: String,
    secret_word: SecretString,
    max_body_bytes: usize,
    max_fields: usize,
    bucket: Mutex<TokenBucket>,
}

impl<J: NotificationJournal, E: SaleEviction> InsReceiver<J, E> {
    pub fn new(journal: Arc<J>, eviction: Arc<E>, settings: ReceiverSettings) -> Self {
        Self {
            journal,
            eviction,
            vendor_id: settings.account.vendor_id,
            secret_word: settings.account.secret_word,
            max_body_bytes: settings.max_body_bytes,
            max_fields: settings.max_fields,
            bucket: Mutex::new(TokenBucket::new(settings.rate_limit, Instant::now())),
        }
    }

    /// `POST /ins` and nothing else.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new().route(INS_PATH, post(receive::<J, E>)).with_state(self)
    }

    /// Runs one post through every check (see the module docs) and answers it.
    async fn handle(&self, request: Request) -> Result<Accepted, Refusal> {
        self.take_token()?;
        let (parts, body) = request.into_parts();
        let body = read_body(&parts.headers, body, self.max_body_bytes).await?;
        let Verified { form, sale_id, invoice_id, key, ids } =
            verify(&body, self.max_fields, &self.vendor_id, &self.secret_word)?;
        self.eviction.evict_sale(&sale_id, &invoice_id).await;
        match self.journal.append(&key, form).await {
            Ok(appended) => Ok(Accepted { appended, ids }),
            Err(error) => Err(Refusal::JournalUnavailable(ids, error.to_string())),
        }
    }

    fn take_token(&self) -> Result<(), Refusal> {
        // A panic while holding the lock cannot leave the bucket half-updated in a harmful way.
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        bucket.try_take(Instant::now()).map_err(Refusal::RateLimited)
    }
}

/// A body that passed every check on its bytes (steps 4 to 7): what the receiver evicts
/// and stores.
#[derive(Debug)]
pub(crate) struct Verified {
    /// The form as posted: the journal's audit copy.
    pub(crate) form: RawForm,
    pub(crate) sale_id: SaleId,
    pub(crate) invoice_id: InvoiceId,
    /// The journal key, `"{vendor_id}:{message_id}"`.
    pub(crate) key: String,
    ids: Ids,
}

/// Steps 4 to 7 of the module docs on a body already read: the field count, the form,
/// the required fields, the vendor and the hash. Everything the receiver does with a
/// body before it touches the cache or the journal (and what `untrusted::ins_post` runs).
pub(crate) fn verify(
    body: &[u8],
    max_fields: usize,
    vendor_id: &str,
    secret_word: &SecretString,
) -> Result<Verified, Refusal> {
    let form = RawForm::new(parse_form(body, max_fields)?);
    let post = Post::from_form(&form)?;
    if post.vendor_id != vendor_id {
        return Err(Refusal::WrongVendor(post.ids()));
    }
    let expected = md5_digest(post.sale_id.as_str(), post.vendor_id, post.invoice_id.as_str(), secret_word);
    if !bool::from(post.md5_hash.ct_eq(&expected)) {
        return Err(Refusal::BadHash(post.ids()));
    }
    let key = format!("{}:{}", post.vendor_id, post.message_id);
    let (ids, sale_id, invoice_id) = (post.ids(), post.sale_id, post.invoice_id);
    Ok(Verified { form, sale_id, invoice_id, key, ids })
}

/// The axum handler: the outcome as an HTTP answer, logged and counted.
async fn receive<J: NotificationJournal, E: SaleEviction>(
    State(receiver): State<Arc<InsReceiver<J, E>>>,
    request: Request,
) -> Response {
    let peer = request.extensions().get::<ConnectInfo<Peer>>().map(|ConnectInfo(Peer(addr))| *addr);
    match receiver.handle(request).await {
        Ok(Accepted { appended, ids }) => {
            let (outcome, cursor) = match appended {
                Appended::New(cursor) => ("accepted", cursor),
                Appended::Duplicate(cursor) => ("duplicate", cursor),
            };
            tracing::info!(
                outcome,
                message_id = ids.message_id,
                sale_id = ids.sale_id,
                %cursor,
                "INS notification received"
            );
            telemetry::record_ins_post(outcome, None);
            (StatusCode::OK, "OK\n").into_response()
        }
        Err(refusal) => {
            let ids = refusal.ids();
            tracing::warn!(
                reason = refusal.reason(),
                message_id = ids.message_id,
                sale_id = ids.sale_id,
                peer = peer.map(tracing::field::display),
                "INS post refused: {}",
                refusal.explanation()
            );
            telemetry::record_ins_post("refused", Some(refusal.reason()));
            refusal.into_response()
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the posts in
/// progress finish (their journal appends included). Connections are bounded in
/// number and lifetime ([`BoundedListener`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(BoundedListener::new(listener), router.into_make_service_with_connect_info::<Peer>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// `md5_hash` as 2Checkout computes it: upper-case hex of
/// `MD5(sale_id + vendor_id + invoice_id + secret_word)`. What a sender (the
/// simulator, a spec) signs with; the receiver compares digests, not this text.
pub fn md5_hash(sale_id: &str, vendor_id: &str, invoice_id: &str, secret_word: &SecretString) -> String {
    md5_digest(sale_id, vendor_id, invoice_id, secret_word).iter().map(|byte| format!("{byte:02X}")).collect()
}

/// The digest `md5_hash` is the hex of.
fn md5_digest(sale_id: &str, vendor_id: &str, invoice_id: &str, secret_word: &SecretString) -> [u8; 16] {
    let mut md5 = Md5::new();
    for part in [sale_id, vendor_id, invoice_id, secret_word.expose_secret()] {
        md5.update(part.as_bytes());
    }
    md5.finalize().into()
}

/// A posted `md5_hash` as 16 bytes: exactly 32 hex digits, either case.
fn parse_hash(text: &str) -> Option<[u8; 16]> {
    let bytes = text.as_bytes();
    if bytes.len() != 32 {
        return None;
    }
    let nibble = |c: u8| char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let mut digest = [0u8; 16];
    for (byte, pair) in digest.iter_mut().zip(bytes.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(digest)
}

/// Reads the whole body, refusing it as soon as it is known to exceed `limit`.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, Refusal> {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(Refusal::TooLarge(limit));
    }
    let read = async {
        let mut stream = body.into_data_stream();
        let mut buffer = Vec::with_capacity(declared.map_or(0, |n| usize::try_from(n).unwrap_or(0)).min(limit));
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| Refusal::Unreadable)?;
            if buffer.len().saturating_add(chunk.len()) > limit {
                return Err(Refusal::TooLarge(limit));
            }
            buffer.extend_from_slice(&chunk);
        }
        Ok(buffer)
    };
    tokio::time::timeout(BODY_TIMEOUT, read).await.map_err(|_| Refusal::SlowBody)?
}

/// The form's fields in posted order, repeats kept; at most `max_fields`, counted
/// on the raw bytes (the pairs `form_urlencoded` would make) before anything is decoded.
fn parse_form(body: &[u8], max_fields: usize) -> Result<Vec<(String, String)>, Refusal> {
    let count = body.split(|&b| b == b'&').filter(|pair| !pair.is_empty()).count();
    if count > max_fields {
        return Err(Refusal::TooManyFields(max_fields));
    }
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).map_err(|_| Refusal::Malformed)
}

/// The fields of a post the receiver acts on, checked.
struct Post<'a> {
    message_id: &'a str,
    sale_id: SaleId,
    invoice_id: InvoiceId,
    vendor_id: &'a str,
    md5_hash: [u8; 16],
}

impl<'a> Post<'a> {
    fn from_form(form: &'a RawForm) -> Result<Self, Refusal> {
        // Known as soon as they read well: refusals further down name them in their log line.
        let mut ids = Ids::default();
        let message_id = form.get("message_id").filter(|id| is_digits(id, MAX_MESSAGE_ID_DIGITS));
        ids.message_id = message_id.map(str::to_owned);
        let sale = form.get("sale_id").and_then(|id| id.parse::<SaleId>().ok());
        ids.sale_id = sale.as_ref().map(SaleId::to_string);
        let field = |name: &'static str| -> Result<&'a str, Refusal> {
            match form.fields().iter().filter(|(key, _)| key == name).count() {
                0 => Err(Refusal::MissingField(name, ids.clone())),
                1 => form.get(name).ok_or_else(|| Refusal::MissingField(name, ids.clone())),
                _ => Err(Refusal::RepeatedField(name, ids.clone())),
            }
        };
        let invalid = |name: &'static str, rule: &'static str| Refusal::InvalidField(name, rule, ids.clone());
        if field("message_type")?.is_empty() {
            return Err(invalid("message_type", "must not be empty"));
        }
        field("message_id")?;
        let message_id = message_id.ok_or_else(|| invalid("message_id", "must be digits"))?;
        field("sale_id")?;
        let sale_id = sale.ok_or_else(|| invalid("sale_id", "must be a positive whole number in digits"))?;
        let invoice_id = field("invoice_id")?
            .parse::<InvoiceId>()
            .map_err(|_| invalid("invoice_id", "must be a positive whole number in digits"))?;
        let vendor_id = field("vendor_id")?;
        let md5_hash = parse_hash(field("md5_hash")?).ok_or_else(|| invalid("md5_hash", "must be 32 hex digits"))?;
        Ok(Self { message_id, sale_id, invoice_id, vendor_id, md5_hash })
    }

    fn ids(&self) -> Ids {
        Ids { message_id: Some(self.message_id.to_owned()), sale_id: Some(self.sale_id.to_string()) }
    }
}

fn is_digits(text: &str, most: usize) -> bool {
    !text.is_empty() && text.len() <= most && text.bytes().all(|b| b.is_ascii_digit())
}

/// The ids a log line names, when the post carried them well formed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ids {
    message_id: Option<String>,
    sale_id: Option<String>,
}

/// A stored (or already stored) notification.
struct Accepted {
    appended: Appended,
    ids: Ids,
}

/// Why a post was not accepted.
#[derive(Debug)]
pub(crate) enum Refusal {
    RateLimited(Duration),
    TooLarge(usize),
    SlowBody,
    Unreadable,
    TooManyFields(usize),
    Malformed,
    MissingField(&'static str, Ids),
    RepeatedField(&'static str, Ids),
    InvalidField(&'static str, &'static str, Ids),
    WrongVendor(Ids),
    BadHash(Ids),
    JournalUnavailable(Ids, String),
}

impl Refusal {
    /// A short, fixed label: the log's `reason` and the metric's.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Refusal::RateLimited(_) => "rate_limited",
            Refusal::TooLarge(_) => "body_too_large",
            Refusal::SlowBody => "body_timeout",
            Refusal::Unreadable => "body_unreadable",
            Refusal::TooManyFields(_) => "too_many_fields",
            Refusal::Malformed => "malformed_form",
            Refusal::MissingField(..) => "missing_field",
            Refusal::RepeatedField(..) => "repeated_field",
            Refusal::InvalidField(..) => "invalid_field",
            Refusal::WrongVendor(_) => "wrong_vendor",
            Refusal::BadHash(_) => "bad_hash",
            Refusal::JournalUnavailable(..) => "journal_unavailable",
        }
    }

    /// What the sender is told and the log line says (never a secret, never the expected hash).
    pub(crate) fn explanation(&self) -> String {
        match self {
            Refusal::RateLimited(wait) => format!("too many notifications; retry in {wait:?}"),
            Refusal::TooLarge(limit) => format!("the body is larger than {limit} bytes"),
            Refusal::SlowBody => format!("the body did not arrive within {BODY_TIMEOUT:?}"),
            Refusal::Unreadable => "the body could not be read".into(),
            Refusal::TooManyFields(limit) => format!("the form has more than {limit} fields"),
            Refusal::Malformed => "the body is not an application/x-www-form-urlencoded form".into(),
            Refusal::MissingField(name, _) => format!("{name} is missing"),
            Refusal::RepeatedField(name, _) => format!("{name} is posted more than once"),
            Refusal::InvalidField(name, rule, _) => format!("{name} {rule}"),
            Refusal::WrongVendor(_) => "vendor_id is not this gateway's seller account".into(),
            Refusal::BadHash(_) => "md5_hash does not match the message and the account's secret word".into(),
            Refusal::JournalUnavailable(_, error) => format!("the notification could not be stored: {error}"),
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Refusal::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Refusal::TooLarge(_) | Refusal::TooManyFields(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::SlowBody => StatusCode::REQUEST_TIMEOUT,
            Refusal::Unreadable
            | Refusal::Malformed
            | Refusal::MissingField(..)
            | Refusal::RepeatedField(..)
            | Refusal::InvalidField(..) => StatusCode::BAD_REQUEST,
            Refusal::WrongVendor(_) | Refusal::BadHash(_) => StatusCode::FORBIDDEN,
            Refusal::JournalUnavailable(..) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn ids(&self) -> Ids {
        match self {
            Refusal::MissingField(_, ids)
            | Refusal::RepeatedField(_, ids)
            | Refusal::InvalidField(_, _, ids)
            | Refusal::WrongVendor(ids)
            | Refusal::BadHash(ids)
            | Refusal::JournalUnavailable(ids, _) => ids.clone(),
            _ => Ids::default(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = (self.status(), format!("{}\n", self.explanation())).into_response();
        if let Refusal::RateLimited(wait) = self {
            // Whole seconds, rounded up (RFC 9110): never "retry now" while the bucket is empty.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use tokio::sync::watch;
    use tower::ServiceExt as _;

    use super::*;
    use crate::domain::{Cursor, JournalError, JournalRead};

    /// The seven vectors of INS-NOTES: (sale_id, vendor_id, invoice_id, secret word, md5_hash).
    const VECTORS: [(&str, &str, &str, &str, &str); 7] = [
        ("4774380224", "1817037", "4774380233", "tango", "566C45D68B75357AD43F9010CFFE8CF5"),
        ("4632527448", "1817037", "4632527490", "tango", "4FB7CD1CD57BBEFCCA462F3DE823C50A"),
        ("4789848870", "1817037", "4789848879", "tango", "827220324C722873694758F38D8D3624"),
        ("4819138002", "1817037", "4343434343", "tango", "A152B3D993B4F97E2E2A41552A4769A8"),
        ("4742525399", "532001", "4759791636", "tango", "2DAE8544FA29CE313DB20582D540F133"),
        (
            "9093727242912",
            "901290261",
            "9093727242921",
            "MzBjODg5YTUtNzcwMS00N2NlLWFkODMtNzQ2YzllZWRjMzBj",
            "F6F69F6039DBF8CC26A5388157685931",
        ),
        ("1", "532001", "1", "tango", "F8A2BBE63476DD04A5EDF4A551AC2AF3"),
    ];

    #[test]
    fn the_official_libraries_hash_vectors_verify() {
        for (sale, vendor, invoice, word, hash) in VECTORS {
            let word = SecretString::from(word);
            assert_eq!(md5_hash(sale, vendor, invoice, &word), hash, "sale {sale}");
            let posted = parse_hash(hash).unwrap();
            assert!(bool::from(posted.ct_eq(&md5_digest(sale, vendor, invoice, &word))));
            let lower = parse_hash(&hash.to_lowercase()).unwrap();
            assert_eq!(lower, posted, "either case reads as the same digest");
        }
    }

    #[test]
    fn vector_4_with_its_last_digit_changed_fails_like_the_java_spec() {
        let (sale, vendor, invoice, word, _) = VECTORS[3];
        let forged = parse_hash("A152B3D993B4F97E2E2A41552A4769A7").unwrap();
        assert!(!bool::from(forged.ct_eq(&md5_digest(sale, vendor, invoice, &SecretString::from(word)))));
    }

    #[test]
    fn a_hash_that_is_not_32_hex_digits_is_not_read() {
        for bad in [
            "",
            "A152",
            "A152B3D993B4F97E2E2A41552A4769A8A",
            "G152B3D993B4F97E2E2A41552A4769A8",
            "é".repeat(16).as_str(),
        ] {
            assert_eq!(parse_hash(bad), None, "{bad:?}");
        }
    }

    /// A journal of the spec's own: a list, deduplicated by key, that can be made unavailable.
    struct ListJournal {
        entries: Mutex<Vec<(String, RawForm)>>,
        down: AtomicBool,
        head: watch::Sender<Cursor>,
        /// What happened, in order, to the journal and the cache (shared with [`Evictions`]).
        events: Events,
    }

    type Events = Arc<Mutex<Vec<&'static str>>>;

    impl ListJournal {
        fn new(events: Events) -> Self {
            Self {
                entries: Mutex::default(),
                down: AtomicBool::new(false),
                head: watch::channel(Cursor::ORIGIN).0,
                events,
            }
        }
    }

    impl ListJournal {
        fn keys(&self) -> Vec<String> {
            self.entries.lock().unwrap().iter().map(|(key, _)| key.clone()).collect()
        }
    }

    impl NotificationJournal for ListJournal {
        async fn append(&self, key: &str, form: RawForm) -> Result<Appended, JournalError> {
            if self.down.load(Ordering::SeqCst) {
                return Err(JournalError::Unavailable("down for the spec".into()));
            }
            self.events.lock().unwrap().push("append");
            let mut entries = self.entries.lock().unwrap();
            if let Some(at) = entries.iter().position(|(k, _)| k == key) {
                return Ok(Appended::Duplicate(Cursor::new(1, at as u64)));
            }
            entries.push((key.to_owned(), form));
            Ok(Appended::New(Cursor::new(1, entries.len() as u64 - 1)))
        }

        async fn read_after(&self, _after: Cursor, _limit: usize) -> Result<JournalRead, JournalError> {
            unreachable!("the receiver never reads")
        }

        async fn head(&self) -> Result<Cursor, JournalError> {
            unreachable!("the receiver never reads")
        }

        fn follow(&self) -> watch::Receiver<Cursor> {
            self.head.subscribe()
        }
    }

    /// Records what was evicted.
    struct Evictions(Mutex<Vec<(String, String)>>, Events);

    impl SaleEviction for Evictions {
        async fn evict_sale(&self, sale_id: &SaleId, invoice_id: &InvoiceId) {
            self.1.lock().unwrap().push("evict");
            self.0.lock().unwrap().push((sale_id.to_string(), invoice_id.to_string()));
        }
    }

    const VENDOR: &str = "1817037";
    const WORD: &str = "tango";

    struct Harness {
        journal: Arc<ListJournal>,
        evictions: Arc<Evictions>,
        router: Router,
    }

    fn harness(max_fields: usize, rate_limit: RateLimit) -> Harness {
        let events = Events::default();
        let journal = Arc::new(ListJournal::new(Arc::clone(&events)));
        let evictions = Arc::new(Evictions(Mutex::default(), events));
        let settings = ReceiverSettings {
            account: InsAccount { vendor_id: VENDOR.into(), secret_word: SecretString::from(WORD) },
            max_body_bytes: 4096,
            max_fields,
            rate_limit,
        };
        let receiver = Arc::new(InsReceiver::new(Arc::clone(&journal), Arc::clone(&evictions), settings));
        Harness { journal, evictions, router: receiver.router() }
    }

    fn roomy() -> Harness {
        harness(100, RateLimit { per_second: 1000, burst: 1000 })
    }

    /// Vector 4 as a REFUND_ISSUED post, with `changes` applied (a `None` value drops the field).
    fn form(changes: &[(&str, Option<&str>)]) -> Vec<(String, String)> {
        let mut fields: Vec<(String, String)> = [
            ("message_type", "REFUND_ISSUED"),
            ("message_id", "3786"),
            ("vendor_id", VENDOR),
            ("sale_id", "4819138002"),
            ("invoice_id", "4343434343"),
            ("md5_hash", "A152B3D993B4F97E2E2A41552A4769A8"),
            ("item_name_1", "Download & more"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        for (key, value) in changes {
            fields.retain(|(k, _)| k != key);
            if let Some(value) = value {
                fields.push(((*key).to_owned(), (*value).to_owned()));
            }
        }
        fields
    }

    async fn post(router: &Router, path: &str, body: String) -> (StatusCode, String) {
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    fn encode(fields: &[(String, String)]) -> String {
        serde_urlencoded::to_string(fields).unwrap()
    }

    #[tokio::test]
    async fn a_signed_post_evicts_its_sale_then_is_stored_verbatim_once() {
        let h = roomy();
        let fields = form(&[]);
        assert_eq!(post(&h.router, INS_PATH, encode(&fields)).await, (StatusCode::OK, "OK\n".into()));
        assert_eq!(h.journal.keys(), ["1817037:3786"]);
        assert_eq!(h.journal.entries.lock().unwrap()[0].1.fields(), fields.as_slice(), "posted order, decoded");
        assert_eq!(*h.evictions.0.lock().unwrap(), [("4819138002".to_owned(), "4343434343".to_owned())]);
        // A subscriber that sees the stored event and calls GetSale must not get the cached sale.
        assert_eq!(*h.journal.events.lock().unwrap(), ["evict", "append"], "evicted before it is stored");
        // 2Checkout resends: answered OK, stored once.
        assert_eq!(post(&h.router, INS_PATH, encode(&fields)).await.0, StatusCode::OK);
        assert_eq!(h.journal.keys().len(), 1);
    }

    #[tokio::test]
    async fn a_lower_case_hash_is_accepted() {
        let h = roomy();
        let fields = form(&[("md5_hash", Some("a152b3d993b4f97e2e2a41552a4769a8"))]);
        assert_eq!(post(&h.router, INS_PATH, encode(&fields)).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn forged_or_foreign_posts_are_refused_and_store_and_evict_nothing() {
        let h = roomy();
        for (changes, status, says) in [
            (&[("md5_hash", Some("A152B3D993B4F97E2E2A41552A4769A7"))][..], StatusCode::FORBIDDEN, "md5_hash"),
            (&[("invoice_id", Some("4343434344"))], StatusCode::FORBIDDEN, "md5_hash"),
            (&[("vendor_id", Some("532001"))], StatusCode::FORBIDDEN, "vendor_id"),
            (&[("sale_id", None)], StatusCode::BAD_REQUEST, "sale_id is missing"),
            (&[("sale_id", Some("48x"))], StatusCode::BAD_REQUEST, "sale_id must be"),
            (&[("message_id", Some("-1"))], StatusCode::BAD_REQUEST, "message_id must be digits"),
            (&[("message_type", None)], StatusCode::BAD_REQUEST, "message_type is missing"),
            (&[("md5_hash", Some("A152"))], StatusCode::BAD_REQUEST, "md5_hash must be 32 hex digits"),
        ] {
            let (got, text) = post(&h.router, INS_PATH, encode(&form(changes))).await;
            assert_eq!(got, status, "{changes:?}: {text}");
            assert!(text.contains(says), "{changes:?}: {text}");
        }
        let mut repeated = form(&[]);
        repeated.push(("sale_id".into(), "1".into()));
        let (got, text) = post(&h.router, INS_PATH, encode(&repeated)).await;
        assert_eq!((got, text.as_str()), (StatusCode::BAD_REQUEST, "sale_id is posted more than once\n"));
        assert!(h.journal.keys().is_empty());
        assert!(h.evictions.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn bodies_and_forms_beyond_the_bounds_are_refused_unparsed() {
        let h = harness(7, RateLimit { per_second: 1000, burst: 1000 });
        assert_eq!(post(&h.router, INS_PATH, encode(&form(&[]))).await.0, StatusCode::OK, "seven fields is the bound");
        let eight = form(&[("extra", Some("1"))]);
        assert_eq!(post(&h.router, INS_PATH, encode(&eight)).await.0, StatusCode::PAYLOAD_TOO_LARGE);
        let big = form(&[("item_name_1", Some(&"x".repeat(5000)))]);
        assert_eq!(post(&h.router, INS_PATH, encode(&big)).await.0, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(post(&h.router, INS_PATH, "%%%&&&=".into()).await.0, StatusCode::BAD_REQUEST);
        assert_eq!(h.journal.keys().len(), 1);
    }

    #[tokio::test]
    async fn other_paths_and_methods_are_not_served() {
        let h = roomy();
        assert_eq!(post(&h.router, "/ins/", encode(&form(&[]))).await.0, StatusCode::NOT_FOUND);
        assert_eq!(post(&h.router, "/", encode(&form(&[]))).await.0, StatusCode::NOT_FOUND);
        let get = Request::get(INS_PATH).body(Body::empty()).unwrap();
        assert_eq!(h.router.clone().oneshot(get).await.unwrap().status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[tokio::test(start_paused = true)]
    async fn beyond_the_burst_posts_are_told_when_to_retry() {
        let h = harness(100, RateLimit { per_second: 1, burst: 2 });
        for _ in 0..2 {
            assert_eq!(post(&h.router, INS_PATH, encode(&form(&[]))).await.0, StatusCode::OK);
        }
        let request = Request::post(INS_PATH).body(Body::from(encode(&form(&[])))).unwrap();
        let response = h.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(post(&h.router, INS_PATH, encode(&form(&[]))).await.0, StatusCode::OK);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_never_finishes_is_cut_off_after_the_timeout() {
        let h = roomy();
        let trickle = tokio_stream::once(Ok::<_, std::io::Error>(bytes::Bytes::from("message_type=REFUND_ISSUED&")))
            .chain(tokio_stream::pending());
        let request = Request::post(INS_PATH).body(Body::from_stream(trickle)).unwrap();
        let response = h.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        assert!(h.journal.keys().is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { failure_persistence: None, ..Default::default() })]

        /// Arbitrary bytes, and forms made of the fields the receiver reads with arbitrary
        /// values (never signed: no guess finds an MD5), are answered with a 4xx refusal:
        /// never a panic, never a 5xx, and nothing is stored.
        #[test]
        fn no_body_makes_the_receiver_panic_or_store_what_it_refused(
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            fields in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "message_type", "message_id", "sale_id", "invoice_id", "vendor_id", "md5_hash", "x",
                    ]),
                    proptest::prelude::any::<String>(),
                ),
                0..10,
            ),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let h = harness(8, RateLimit { per_second: 1000, burst: 1000 });
                let fields: Vec<(String, String)> = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                for body in [raw.clone(), encode(&fields).into_bytes()] {
                    let request = Request::post(INS_PATH).body(Body::from(body)).unwrap();
                    let status = h.router.clone().oneshot(request).await.unwrap().status();
                    proptest::prop_assert!(
                        [StatusCode::BAD_REQUEST, StatusCode::FORBIDDEN, StatusCode::PAYLOAD_TOO_LARGE]
                            .contains(&status),
                        "{status}"
                    );
                }
                proptest::prop_assert!(h.journal.keys().is_empty());
                Ok(())
            })?;
        }
    }

    #[tokio::test]
    async fn a_journal_that_cannot_store_gets_503_so_2checkout_resends() {
        let h = roomy();
        h.journal.down.store(true, Ordering::SeqCst);
        assert_eq!(post(&h.router, INS_PATH, encode(&form(&[]))).await.0, StatusCode::SERVICE_UNAVAILABLE);
        h.journal.down.store(false, Ordering::SeqCst);
        assert_eq!(post(&h.router, INS_PATH, encode(&form(&[]))).await.0, StatusCode::OK);
        assert_eq!(h.journal.keys().len(), 1);
    }
}
