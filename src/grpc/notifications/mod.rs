//! NotificationService over any notification journal: the INS notifications
//! the receiver verified and stored, read back as typed events (`response`)
//! after a validated request (`request`).
//!
//! ListNotifications is a unary call like any other: it reads pages of the
//! journal after the start (or the page token's cursor) within the call's
//! deadline, keeps the entries that pass the filters, and hands back the
//! cursor it reached, from which a watch continues without a gap.
//!
//! WatchNotifications is long-lived, so three things are different:
//! - it does not count against `server.max_concurrent_calls`: once admitted
//!   it takes one of the service's own `max_watches` slots (refusing beyond
//!   with UNAVAILABLE, `TOO_MANY_WATCHES`) and gives its call slot back
//!   (`grpc/overload.rs`, [`CallSlot::release`]), so open watches can never
//!   starve unary calls, and unary load never ends a watch;
//! - it ends on shutdown: the service holds the server's "listener closed"
//!   signal (the `watch::Receiver<bool>` app.rs drains with), and every watch
//!   ends with UNAVAILABLE (`SHUTTING_DOWN`) when it turns true, dropping what
//!   the caller has not read yet, so graceful shutdown never waits on a
//!   watch (the caller resumes from its last resume_cursor on another replica);
//! - it ends as soon as the caller goes away: its rows go through a channel,
//!   and the task reading the journal stops when the channel closes, even
//!   while it waits for the next entry; and it ends with ABORTED
//!   (`STREAM_READER_STALLED`) when the caller takes no row for the stall
//!   timeout (60 s), dropping the rows waiting for it then, so a caller that
//!   stopped reading holds no watch slot.
//!
//! The watch's task marks the journal's `follow()` value seen, reads after
//! its position in batches, and waits for the next change only when a read
//! came back empty; a read that reports a gap (the journal trimmed entries
//! the watch had not read) ends the watch with FAILED_PRECONDITION
//! (`NOTIFICATIONS_EXPIRED`; OUT_OF_RANGE would fit as well, but it is the
//! code `grpc/limits.rs` renames).

mod request;
mod response;

/// The form -> `proto::Notification` reading, for `untrusted::ins_post`.
pub(crate) use self::response::{MAX_AMOUNT_CHARS, MAX_ITEMS, notification};

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, Weak},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use tracing::Instrument as _;

use self::request::{Filter, ListQuery, ListStart, MAX_PAGE_SIZE, MAX_SCAN, WatchQuery};
use super::{
    call_context,
    outlet::{Outlet, millis},
    overload::CallSlot,
    proto,
};
use crate::domain::{Cursor, Error, JournalError, JournalRead, NotificationJournal};

pub use proto::notification_service_server::NotificationServiceServer;

/// How many watches a service runs at once unless told otherwise.
pub const DEFAULT_MAX_WATCHES: u32 = 256;

/// How long a watch waits for its caller to take a row before ending it
/// (ABORTED, `STREAM_READER_STALLED`): a caller that stopped reading must not
/// keep a watch slot, nor a status that shutdown would have to wait for.
pub const DEFAULT_WATCH_STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Journal entries a watch reads at a time.
const WATCH_BATCH: usize = 100;

/// Rows of a watch waiting for its caller: a small buffer, so a slow reader
/// slows the journal reads rather than fill memory.
const WATCH_BUFFER: usize = 16;

/// NotificationService over a journal; see the module docs.
#[derive(Debug)]
pub struct NotificationsApi<J> {
    journal: Arc<J>,
    /// Turns true when the server stops taking calls: every watch ends then.
    shutdown: watch::Receiver<bool>,
    watches: Arc<Semaphore>,
    max_watches: u32,
    stall_timeout: Duration,
}

impl<J> NotificationsApi<J> {
    /// The service over `journal`; its watches end when `shutdown` turns true
    /// (app.rs: the `drained` signal that closes the listener). A dropped
    /// sender ends none.
    pub fn new(journal: Arc<J>, shutdown: watch::Receiver<bool>) -> Self {
        Self::with_max(journal, shutdown, DEFAULT_MAX_WATCHES)
    }

    /// The same service running at most `max_watches` watches at once (at least one).
    pub fn with_max_watches(self, max_watches: u32) -> Self {
        Self { stall_timeout: self.stall_timeout, ..Self::with_max(self.journal, self.shutdown, max_watches) }
    }

    /// The same service ending a watch whose caller took no row for `stall_timeout`.
    pub fn with_stall_timeout(self, stall_timeout: Duration) -> Self {
        Self { stall_timeout, ..self }
    }

    fn with_max(journal: Arc<J>, shutdown: watch::Receiver<bool>, max_watches: u32) -> Self {
        let max_watches = max_watches.max(1);
        let permits = usize::try_from(max_watches).unwrap_or(Semaphore::MAX_PERMITS).min(Semaphore::MAX_PERMITS);
        Self {
            journal,
            shutdown,
            watches: Arc::new(Semaphore::new(permits)),
            max_watches,
            stall_timeout: DEFAULT_WATCH_STALL_TIMEOUT,
        }
    }

    /// How many watches are open now.
    pub fn open_watches(&self) -> usize {
        usize::try_from(self.max_watches).unwrap_or(usize::MAX).saturating_sub(self.watches.available_permits())
    }
}

impl<J: NotificationJournal> NotificationsApi<J> {
    /// One page of a validated listing.
    async fn list_page(&self, query: &ListQuery) -> Result<proto::ListNotificationsResponse, Error> {
        // Only a listing from the oldest kept entry may begin past trimmed ones: it asked for what is kept.
        let tolerate_first_gap = query.start == ListStart::Oldest && query.after == Cursor::ORIGIN;
        let mut position = query.after;
        let mut notifications = Vec::new();
        let mut examined = 0;
        let mut at_end = false;
        while notifications.len() < query.page_size && examined < MAX_SCAN && !at_end {
            // Unfiltered, every entry read is returned; filtered, read ahead in larger batches.
            let limit = if query.filter.is_empty() {
                query.page_size - notifications.len()
            } else {
                MAX_PAGE_SIZE.min(MAX_SCAN - examined)
            };
            let read = self.journal.read_after(position, limit).await.map_err(journal_error)?;
            if read.gap && !(tolerate_first_gap && examined == 0) {
                return Err(Error::NotificationsExpired { after: position.to_string() });
            }
            let count = read.entries.len();
            let before = position;
            at_end = count < limit;
            for entry in read.entries {
                if entry.cursor <= position {
                    continue; // Never twice, whatever a backend returns.
                }
                if notifications.len() == query.page_size {
                    // The rest of the batch belongs to the next page.
                    at_end = false;
                    break;
                }
                position = entry.cursor;
                examined += 1;
                if query.filter.matches(&entry.form) {
                    notifications.push(notification(&entry));
                }
            }
            // A backend answering nothing new must not spin this loop.
            if count == 0 || (position == before && notifications.len() < query.page_size) {
                at_end = true;
            }
        }
        Ok(proto::ListNotificationsResponse {
            notifications,
            next_page_token: if at_end { String::new() } else { query.page_token(position) },
            resume_cursor: position.to_string(),
        })
    }
}

type Row = Result<proto::WatchNotificationsResponse, Status>;
type WatchStream = Pin<Box<dyn Stream<Item = Row> + Send>>;

#[tonic::async_trait]
impl<J: NotificationJournal> proto::notification_service_server::NotificationService for NotificationsApi<J> {
    type WatchNotificationsStream = WatchStream;

    async fn watch_notifications(
        &self,
        request: Request<proto::WatchNotificationsRequest>,
    ) -> Result<Response<Self::WatchNotificationsStream>, Status> {
        let query = WatchQuery::try_from(request.get_ref())?;
        let permit = Arc::clone(&self.watches)
            .try_acquire_owned()
            .map_err(|_| Status::from(Error::TooManyWatches { limit: self.max_watches }))?;
        let start = match query.after {
            Some(cursor) => cursor,
            None => self.journal.head().await.map_err(|e| Status::from(journal_error(e)))?,
        };
        // Admitted: from here the watch counts against `max_watches`, not the calls' limit.
        if let Some(slot) = request.extensions().get::<CallSlot>() {
            slot.release();
        }
        let (tx, rx) = mpsc::channel(WATCH_BUFFER);
        let outlet = Outlet::shared(rx);
        let pump = Pump {
            journal: Arc::clone(&self.journal),
            filter: query.filter,
            tx,
            outlet: Arc::downgrade(&outlet),
            stall_timeout: self.stall_timeout,
            _permit: permit,
        };
        let shutdown = self.shutdown.clone();
        tokio::spawn(pump.run(start, shutdown.clone()).in_current_span());
        Ok(Response::new(Box::pin(WatchRows { outlet, shutdown: Box::pin(shut_down(shutdown)), done: false })))
    }

    async fn list_notifications(
        &self,
        request: Request<proto::ListNotificationsRequest>,
    ) -> Result<Response<proto::ListNotificationsResponse>, Status> {
        let deadline = call_context(&request).deadline;
        let query = ListQuery::try_from(request.get_ref())?;
        let page = self.list_page(&query);
        let page = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline_instant(deadline), page).await.unwrap_or_else(|_| {
                Err(Error::NotificationJournalUnavailable { detail: "no answer within the call's deadline".into() })
            }),
            None => page.await,
        };
        Ok(Response::new(page?))
    }
}

impl Filter {
    /// Whether the filter lets everything through.
    fn is_empty(&self) -> bool {
        *self == Filter::default()
    }
}

fn deadline_instant(deadline: Instant) -> tokio::time::Instant {
    tokio::time::Instant::from_std(deadline)
}

/// The gateway's error for a journal that could not answer.
fn journal_error(error: JournalError) -> Error {
    match error {
        JournalError::Unavailable(detail) => Error::NotificationJournalUnavailable { detail },
    }
}

/// Resolves when `shutdown` turns true; never, when its sender is gone first.
async fn shut_down(mut shutdown: watch::Receiver<bool>) {
    if shutdown.wait_for(|stopped| *stopped).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// A checkpoint: no notification, only where to resume.
fn checkpoint(position: Cursor) -> proto::WatchNotificationsResponse {
    proto::WatchNotificationsResponse { notification: None, resume_cursor: position.to_string() }
}

/// The task of one watch: reads the journal and sends what passes the filter.
struct Pump<J> {
    journal: Arc<J>,
    filter: Filter,
    tx: mpsc::Sender<Row>,
    outlet: Weak<Mutex<Outlet<proto::WatchNotificationsResponse>>>,
    stall_timeout: Duration,
    /// The watch's slot among `max_watches`, for as long as the task runs.
    _permit: OwnedSemaphorePermit,
}

impl<J: NotificationJournal> Pump<J> {
    /// Runs until the caller goes away, the server shuts down, the journal
    /// fails or the caller stops reading; the last two end the stream with
    /// their status at once. The task's end frees the watch's slot.
    async fn run(self, start: Cursor, shutdown: watch::Receiver<bool>) {
        let ended = tokio::select! {
            ended = self.pump(start) => ended,
            () = self.tx.closed() => None,
            // The caller's stream ends itself with SHUTTING_DOWN; the task only stops.
            () = shut_down(shutdown) => None,
        };
        if let Some(error) = ended {
            tracing::info!(reason = error.reason(), "a notification watch ended");
            Outlet::end_early(&self.outlet, Status::from(error));
        }
    }

    /// Sends a row, waiting at most the stall timeout for the caller to make room.
    async fn send(&self, row: proto::WatchNotificationsResponse) -> Result<(), Option<Error>> {
        match tokio::time::timeout(self.stall_timeout, self.tx.send(Ok(row))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(None),
            Err(_) => Err(Some(Error::StreamReaderStalled { stall_timeout_ms: millis(self.stall_timeout) })),
        }
    }

    /// Sends rows until the caller goes away (`None`), the journal fails or
    /// the caller stalls (the error).
    async fn pump(&self, mut position: Cursor) -> Option<Error> {
        let mut follow = self.journal.follow();
        if let Err(end) = self.send(checkpoint(position)).await {
            return end;
        }
        loop {
            follow.borrow_and_update();
            let JournalRead { entries, gap } = match self.journal.read_after(position, WATCH_BATCH).await {
                Ok(read) => read,
                Err(error) => return Some(journal_error(error)),
            };
            if gap {
                return Some(Error::NotificationsExpired { after: position.to_string() });
            }
            let before = position;
            let mut sent = false;
            for entry in entries {
                if entry.cursor <= position {
                    continue; // Never twice, whatever a backend returns.
                }
                position = entry.cursor;
                if self.filter.matches(&entry.form) {
                    let row = proto::WatchNotificationsResponse {
                        notification: Some(notification(&entry)),
                        resume_cursor: position.to_string(),
                    };
                    if let Err(end) = self.send(row).await {
                        return end;
                    }
                    sent = true;
                }
            }
            if position == before {
                // Nothing new (an empty read, or a backend repeating itself): wait for the next entry.
                if follow.changed().await.is_err() {
                    return Some(Error::NotificationJournalUnavailable { detail: "the journal stopped".into() });
                }
            } else if !sent {
                // Nothing matched: tell the caller how far the watch got, so it
                // never resumes from behind the retention for want of a match.
                if let Err(end) = self.send(checkpoint(position)).await {
                    return end;
                }
            }
        }
    }
}

/// The response stream of a watch: the outlet's rows, then its last status;
/// or, as soon as the server shuts down, SHUTTING_DOWN.
struct WatchRows {
    outlet: Arc<Mutex<Outlet<proto::WatchNotificationsResponse>>>,
    shutdown: Pin<Box<dyn Future<Output = ()> + Send>>,
    done: bool,
}

impl Stream for WatchRows {
    type Item = Row;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Row>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.shutdown.as_mut().poll(cx).is_ready() {
            // Whatever the caller has not read is dropped: it resumes from its last resume_cursor.
            self.done = true;
            Outlet::drop_rows(&self.outlet);
            return Poll::Ready(Some(Err(Status::from(Error::ShuttingDown))));
        }
        let next = Outlet::poll_next(&self.outlet, cx);
        // The pump sends only rows: an error is the watch's last status, and after it
        // (or the end) a shutdown has nothing left to end.
        if matches!(next, Poll::Ready(None | Some(Err(_)))) {
            self.done = true;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use tokio_stream::StreamExt as _;

    use super::{proto::notification_service_server::NotificationService as _, *};
    use crate::{domain::RawForm, notifications::journal::MemoryJournal};

    #[tokio::test(start_paused = true)]
    async fn a_caller_that_stops_reading_loses_its_watch_and_its_slot() {
        let journal = Arc::new(MemoryJournal::new(1000, Duration::from_secs(3600)));
        let (_stop, stopped) = watch::channel(false);
        let api = NotificationsApi::new(Arc::clone(&journal), stopped)
            .with_max_watches(1)
            .with_stall_timeout(Duration::from_secs(5));
        let request = Request::new(proto::WatchNotificationsRequest::default());
        let mut stream = api.watch_notifications(request).await.unwrap().into_inner();
        assert!(stream.next().await.unwrap().is_ok(), "the starting checkpoint");
        assert_eq!(api.open_watches(), 1);

        // More than the buffer holds, and the caller reads none of it.
        for n in 0..=WATCH_BUFFER + 1 {
            let form = RawForm::new(vec![("message_type".into(), "ORDER_CREATED".into())]);
            journal.append(&format!("1:{n}"), form).await.unwrap();
        }
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(api.open_watches(), 1, "not stalled yet");
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(api.open_watches(), 0, "the slot is free though the caller never read again");
        let last = stream.next().await.unwrap().unwrap_err();
        assert_eq!(last.code(), tonic::Code::Aborted, "at once: the waiting rows were dropped");
        assert!(stream.next().await.is_none());
    }

    #[tokio::test]
    async fn a_watch_stream_ends_with_shutting_down_even_with_rows_unread() {
        let (tx, rx) = mpsc::channel(4);
        for _ in 0..3 {
            tx.send(Ok(checkpoint(Cursor::ORIGIN))).await.unwrap();
        }
        let (stop, stopped) = watch::channel(false);
        let outlet = Outlet::shared(rx);
        let mut stream = WatchRows { outlet, shutdown: Box::pin(shut_down(stopped)), done: false };
        assert!(tokio_stream::StreamExt::next(&mut stream).await.unwrap().is_ok(), "rows flow until then");
        stop.send(true).unwrap();
        let last = tokio_stream::StreamExt::next(&mut stream).await.unwrap().unwrap_err();
        assert_eq!(last.code(), tonic::Code::Unavailable);
        assert!(tokio_stream::StreamExt::next(&mut stream).await.is_none());
        assert!(tx.is_closed(), "the unread rows are dropped with their channel");
    }
}
