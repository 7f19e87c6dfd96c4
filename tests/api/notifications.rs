//! NotificationService through a real tonic server on 127.0.0.1:0 and a real
//! client, over an in-test journal (the contract's `NotificationJournal`, kept
//! in a Vec with a clock the spec sets): watching from now and resuming after
//! a cursor without gap or duplicate, filters, paging with tokens and the
//! cursor a watch resumes from, the edge's refusals, the gap, and how a watch
//! ends (shutdown, caller gone, the bound on open watches).

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tco_gateway::{
    domain::{Appended, Cursor, JournalEntry, JournalError, JournalRead, NotificationJournal, RawForm},
    grpc::{
        NotificationServiceServer, NotificationsApi,
        overload::OverloadLayer,
        proto::{
            ListNotificationsRequest, ListNotificationsResponse, NotificationType, WatchNotificationsRequest,
            WatchNotificationsResponse, list_notifications_request::Start,
            notification_service_client::NotificationServiceClient,
        },
    },
    notifications::journal::MemoryJournal,
};
use tokio::{sync::watch, task::JoinHandle};
use tokio_stream::{StreamExt as _, wrappers::TcpListenerStream};
use tonic::{Code, Streaming, transport::Channel};

use crate::helpers::{bad_request_field, connect, expect_error};

/// A journal in a Vec: cursors from a clock the spec moves, trimming on demand,
/// and a switch that makes every read fail.
struct TestJournal {
    state: Mutex<State>,
    head: watch::Sender<Cursor>,
}

#[derive(Default)]
struct State {
    entries: Vec<JournalEntry>,
    /// Entries up to here were trimmed (older than the retention).
    trimmed_through: Option<Cursor>,
    millis: u64,
    unavailable: bool,
}

impl TestJournal {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State { millis: 1_733_030_000_000, ..State::default() }),
            head: watch::Sender::new(Cursor::ORIGIN),
        })
    }

    /// Stores a notification of `message_type` about `sale_id`, one millisecond after the last.
    fn post(&self, message_type: &str, sale_id: &str) -> Cursor {
        let fields = vec![
            ("message_type".to_owned(), message_type.to_owned()),
            ("sale_id".to_owned(), sale_id.to_owned()),
            ("invoice_id".to_owned(), "9".to_owned()),
        ];
        let mut state = self.state.lock().unwrap();
        state.millis += 1;
        let cursor = Cursor::new(state.millis, 0);
        state.entries.push(JournalEntry { cursor, form: Arc::new(RawForm::new(fields)) });
        drop(state);
        self.head.send_replace(cursor);
        cursor
    }

    fn set_clock(&self, millis: u64) {
        self.state.lock().unwrap().millis = millis;
    }

    /// Trims every entry up to and including `cursor`.
    fn trim_through(&self, cursor: Cursor) {
        let mut state = self.state.lock().unwrap();
        state.entries.retain(|entry| entry.cursor > cursor);
        state.trimmed_through = Some(cursor);
    }

    fn set_unavailable(&self, unavailable: bool) {
        self.state.lock().unwrap().unavailable = unavailable;
    }
}

impl NotificationJournal for TestJournal {
    async fn append(&self, _key: &str, _form: RawForm) -> Result<Appended, JournalError> {
        unreachable!("the service only reads")
    }

    async fn read_after(&self, after: Cursor, limit: usize) -> Result<JournalRead, JournalError> {
        let state = self.state.lock().unwrap();
        if state.unavailable {
            return Err(JournalError::Unavailable("connection refused".into()));
        }
        let entries = state.entries.iter().filter(|e| e.cursor > after).take(limit).cloned().collect();
        Ok(JournalRead { entries, gap: state.trimmed_through.is_some_and(|trimmed| after < trimmed) })
    }

    async fn head(&self) -> Result<Cursor, JournalError> {
        Ok(*self.head.borrow())
    }

    fn follow(&self) -> watch::Receiver<Cursor> {
        self.head.subscribe()
    }
}

/// A NotificationService on 127.0.0.1:0 with its client, journal and shutdown switch.
struct Served<J = TestJournal> {
    client: NotificationServiceClient<Channel>,
    journal: Arc<J>,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
}

async fn serve(max_watches: u32, max_concurrent_calls: Option<u32>) -> Served {
    serve_over(TestJournal::new(), max_watches, max_concurrent_calls).await
}

async fn serve_over<J: NotificationJournal>(
    journal: Arc<J>,
    max_watches: u32,
    max_concurrent_calls: Option<u32>,
) -> Served<J> {
    let (stop, stopped) = watch::channel(false);
    let api = NotificationsApi::new(Arc::clone(&journal), stopped.clone()).with_max_watches(max_watches);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let mut shutdown = stopped;
    let graceful = async move {
        let _ = shutdown.wait_for(|stopped| *stopped).await;
    };
    let router = tonic::transport::Server::builder()
        .layer(OverloadLayer::new(max_concurrent_calls.unwrap_or(1024)))
        .add_service(NotificationServiceServer::new(api));
    let server = tokio::spawn(async move {
        router.serve_with_incoming_shutdown(TcpListenerStream::new(listener), graceful).await.unwrap();
    });
    Served { client: NotificationServiceClient::new(connect(addr).await), journal, stop, server }
}

async fn watch(
    client: &mut NotificationServiceClient<Channel>,
    request: WatchNotificationsRequest,
) -> Streaming<WatchNotificationsResponse> {
    client.watch_notifications(request).await.unwrap().into_inner()
}

async fn next(stream: &mut Streaming<WatchNotificationsResponse>) -> WatchNotificationsResponse {
    tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("a message in time").unwrap().unwrap()
}

/// The status that ends a stream, whatever rows come before it.
async fn end_status(stream: &mut Streaming<WatchNotificationsResponse>) -> tonic::Status {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("the end in time") {
            Some(Ok(_)) => continue,
            Some(Err(status)) => return status,
            None => panic!("the stream ended without a status"),
        }
    }
}

/// The next message that carries a notification (checkpoints skipped), as (cursor, type, sale).
async fn next_notification(stream: &mut Streaming<WatchNotificationsResponse>) -> (String, NotificationType, String) {
    loop {
        let message = next(stream).await;
        if let Some(n) = message.notification {
            assert_eq!(message.resume_cursor, n.cursor);
            return (n.cursor.clone(), n.message_type(), n.sale_id);
        }
    }
}

fn from(cursor: Cursor) -> WatchNotificationsRequest {
    WatchNotificationsRequest { cursor: cursor.to_string(), ..Default::default() }
}

#[tokio::test]
async fn a_watch_from_now_sees_only_later_entries_and_starts_with_where_it_stands() {
    let mut served = serve(8, None).await;
    let before = served.journal.post("ORDER_CREATED", "1");
    let mut stream = watch(&mut served.client, WatchNotificationsRequest::default()).await;
    let first = next(&mut stream).await;
    assert!(first.notification.is_none(), "the first message is a checkpoint");
    assert_eq!(first.resume_cursor, before.to_string(), "from now: after the newest entry");

    let later = served.journal.post("FRAUD_STATUS_CHANGED", "1");
    let (cursor, kind, sale) = next_notification(&mut stream).await;
    assert_eq!((cursor, kind, sale), (later.to_string(), NotificationType::FraudStatusChanged, "1".to_owned()));
}

#[tokio::test]
async fn a_reconnect_after_the_last_cursor_sees_no_gap_and_no_duplicate() {
    let mut served = serve(8, None).await;
    let mut stream = watch(&mut served.client, WatchNotificationsRequest::default()).await;
    next(&mut stream).await;
    let first = served.journal.post("ORDER_CREATED", "1");
    let (last_seen, ..) = next_notification(&mut stream).await;
    assert_eq!(last_seen, first.to_string());
    drop(stream);

    // While the caller is away.
    let missed: Vec<_> = (0..3).map(|_| served.journal.post("INVOICE_STATUS_CHANGED", "1").to_string()).collect();
    let mut stream =
        watch(&mut served.client, WatchNotificationsRequest { cursor: last_seen, ..Default::default() }).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(next_notification(&mut stream).await.0);
    }
    assert_eq!(seen, missed, "every missed entry once, in journal order");
    let live = served.journal.post("SHIP_STATUS_CHANGED", "1");
    assert_eq!(next_notification(&mut stream).await.0, live.to_string(), "then live ones");
}

#[tokio::test]
async fn a_watch_filters_by_type_and_sale_and_still_moves_its_resume_cursor() {
    let mut served = serve(8, None).await;
    let start = served.journal.post("ORDER_CREATED", "7");
    served.journal.post("REFUND_ISSUED", "8");
    let wanted = served.journal.post("REFUND_ISSUED", "7");
    let request = WatchNotificationsRequest {
        cursor: start.to_string(),
        message_types: vec![NotificationType::RefundIssued as i32],
        sale_id: "7".into(),
    };
    let mut stream = watch(&mut served.client, request).await;
    assert_eq!(next_notification(&mut stream).await, (wanted.to_string(), NotificationType::RefundIssued, "7".into()));

    // Entries that do not match still move the cursor a caller would resume from.
    let unmatched = served.journal.post("ORDER_CREATED", "7");
    let checkpoint = next(&mut stream).await;
    assert!(checkpoint.notification.is_none());
    assert_eq!(checkpoint.resume_cursor, unmatched.to_string());
}

async fn list(
    client: &mut NotificationServiceClient<Channel>,
    request: ListNotificationsRequest,
) -> ListNotificationsResponse {
    client.list_notifications(request).await.unwrap().into_inner()
}

#[tokio::test]
async fn a_listing_pages_through_everything_and_hands_back_where_a_watch_resumes() {
    let mut served = serve(8, None).await;
    let posted: Vec<_> =
        (0..25).map(|i| served.journal.post("ORDER_CREATED", &(i + 1).to_string()).to_string()).collect();
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    let last = loop {
        let page = list(
            &mut served.client,
            ListNotificationsRequest { page_size: 10, page_token: token, ..Default::default() },
        )
        .await;
        pages += 1;
        seen.extend(page.notifications.iter().map(|n| n.cursor.clone()));
        if page.next_page_token.is_empty() {
            break page;
        }
        token = page.next_page_token;
    };
    assert_eq!(seen, posted);
    assert_eq!(pages, 3);
    assert_eq!(last.resume_cursor, posted[24]);

    let newer = served.journal.post("REFUND_ISSUED", "3");
    let mut stream =
        watch(&mut served.client, WatchNotificationsRequest { cursor: last.resume_cursor, ..Default::default() }).await;
    assert_eq!(
        next_notification(&mut stream).await.0,
        newer.to_string(),
        "the watch continues right after the listing"
    );

    let filtered = ListNotificationsRequest {
        message_types: vec![NotificationType::RefundIssued as i32],
        sale_id: "3".into(),
        ..Default::default()
    };
    let page = list(&mut served.client, filtered).await;
    assert_eq!(page.notifications.iter().map(|n| n.cursor.clone()).collect::<Vec<_>>(), [newer.to_string()]);
    assert_eq!(page.resume_cursor, newer.to_string());
}

#[tokio::test]
async fn received_after_lists_what_arrived_from_that_millisecond_on() {
    let mut served = serve(8, None).await;
    served.journal.set_clock(1_000_000);
    served.journal.post("ORDER_CREATED", "1"); // at 1_000_001 ms
    served.journal.set_clock(2_000_000);
    let at_two = served.journal.post("ORDER_CREATED", "2"); // 2_000_001 ms
    let after = served.journal.post("ORDER_CREATED", "3");
    let since = prost_types::Timestamp { seconds: 2000, nanos: 1_000_000 };
    let page = list(
        &mut served.client,
        ListNotificationsRequest { start: Some(Start::ReceivedAfter(since)), ..Default::default() },
    )
    .await;
    let cursors: Vec<_> = page.notifications.iter().map(|n| n.cursor.clone()).collect();
    assert_eq!(cursors, [at_two.to_string(), after.to_string()]);
    assert_eq!(page.notifications[0].received_time, Some(since), "received_time is the cursor's millisecond");
}

#[tokio::test]
async fn bad_cursors_tokens_sizes_and_filters_are_invalid_argument_naming_the_field() {
    let mut served = serve(8, None).await;
    let client = &mut served.client;
    let cases = [
        (
            client
                .list_notifications(ListNotificationsRequest {
                    start: Some(Start::Cursor("yesterday".into())),
                    ..Default::default()
                })
                .await,
            "cursor",
        ),
        (
            client
                .list_notifications(ListNotificationsRequest { page_token: "not-a-token".into(), ..Default::default() })
                .await,
            "page_token",
        ),
        (
            client.list_notifications(ListNotificationsRequest { page_size: 1001, ..Default::default() }).await,
            "page_size",
        ),
        (
            client.list_notifications(ListNotificationsRequest { page_size: -1, ..Default::default() }).await,
            "page_size",
        ),
        (
            client.list_notifications(ListNotificationsRequest { sale_id: "12a".into(), ..Default::default() }).await,
            "sale_id",
        ),
        (
            client.list_notifications(ListNotificationsRequest { message_types: vec![42], ..Default::default() }).await,
            "message_types[0]",
        ),
    ];
    for (result, field) in cases {
        let status = result.unwrap_err();
        let details = expect_error(&status, Code::InvalidArgument, "INVALID_FIELD");
        assert_eq!(bad_request_field(&details), field, "{status:?}");
    }
    for (request, field) in [
        (WatchNotificationsRequest { cursor: "1-2-3".into(), ..Default::default() }, "cursor"),
        (WatchNotificationsRequest { sale_id: "-1".into(), ..Default::default() }, "sale_id"),
        (WatchNotificationsRequest { message_types: vec![0], ..Default::default() }, "message_types[0]"),
    ] {
        let status = client.watch_notifications(request).await.unwrap_err();
        let details = expect_error(&status, Code::InvalidArgument, "INVALID_FIELD");
        assert_eq!(bad_request_field(&details), field, "{status:?}");
    }

    // A token is bound to its listing (AIP-158).
    served.journal.post("ORDER_CREATED", "1");
    served.journal.post("ORDER_CREATED", "2");
    let page = list(&mut served.client, ListNotificationsRequest { page_size: 1, ..Default::default() }).await;
    let other =
        ListNotificationsRequest { page_token: page.next_page_token, sale_id: "2".into(), ..Default::default() };
    let status = served.client.list_notifications(other).await.unwrap_err();
    assert_eq!(bad_request_field(&expect_error(&status, Code::InvalidArgument, "INVALID_FIELD")), "page_token");
}

#[tokio::test]
async fn a_cursor_older_than_the_retention_is_failed_precondition_and_the_oldest_kept_still_lists() {
    let mut served = serve(8, None).await;
    let old = served.journal.post("ORDER_CREATED", "1");
    let trimmed = served.journal.post("ORDER_CREATED", "2");
    let kept = served.journal.post("ORDER_CREATED", "3");
    served.journal.trim_through(trimmed);

    let request = ListNotificationsRequest { start: Some(Start::Cursor(old.to_string())), ..Default::default() };
    let status = served.client.list_notifications(request).await.unwrap_err();
    let details = expect_error(&status, Code::FailedPrecondition, "NOTIFICATIONS_EXPIRED");
    assert_eq!(details.error_info().unwrap().metadata["cursor"], old.to_string());

    let mut stream = watch(&mut served.client, from(old)).await;
    let status = end_status(&mut stream).await;
    expect_error(&status, Code::FailedPrecondition, "NOTIFICATIONS_EXPIRED");

    let page = list(&mut served.client, ListNotificationsRequest::default()).await;
    assert_eq!(page.notifications.iter().map(|n| n.cursor.clone()).collect::<Vec<_>>(), [kept.to_string()]);
    let request = ListNotificationsRequest { start: Some(Start::Cursor(trimmed.to_string())), ..Default::default() };
    assert_eq!(list(&mut served.client, request).await.notifications.len(), 1, "right at the edge is no gap");
}

#[tokio::test]
async fn an_unreachable_journal_is_unavailable_with_retry_info_and_ends_a_watch() {
    let mut served = serve(8, None).await;
    served.journal.set_unavailable(true);
    let status = served.client.list_notifications(ListNotificationsRequest::default()).await.unwrap_err();
    let details = expect_error(&status, Code::Unavailable, "NOTIFICATION_JOURNAL_UNAVAILABLE");
    assert!(details.retry_info().is_some());

    // A watch that loses its journal ends with the same status, to be resumed.
    served.journal.set_unavailable(false);
    let mut stream = watch(&mut served.client, WatchNotificationsRequest::default()).await;
    next(&mut stream).await;
    served.journal.set_unavailable(true);
    served.journal.post("ORDER_CREATED", "1");
    let status = end_status(&mut stream).await;
    expect_error(&status, Code::Unavailable, "NOTIFICATION_JOURNAL_UNAVAILABLE");
}

#[tokio::test]
async fn shutdown_ends_every_watch_so_graceful_shutdown_completes() {
    let mut served = serve(8, None).await;
    let mut stream = watch(&mut served.client, WatchNotificationsRequest::default()).await;
    next(&mut stream).await;
    served.stop.send(true).unwrap();
    let status = end_status(&mut stream).await;
    let details = expect_error(&status, Code::Unavailable, "SHUTTING_DOWN");
    assert!(details.retry_info().is_some());
    tokio::time::timeout(Duration::from_secs(10), served.server).await.expect("the server stopped").unwrap();
}

#[tokio::test]
async fn watches_have_their_own_bound_and_leave_the_call_slots_to_unary_calls() {
    // One call slot in all: an open watch must not hold it.
    let mut served = serve(1, Some(1)).await;
    let mut first = watch(&mut served.client, WatchNotificationsRequest::default()).await;
    next(&mut first).await;
    list(&mut served.client, ListNotificationsRequest::default()).await;

    let status = served.client.watch_notifications(WatchNotificationsRequest::default()).await.unwrap_err();
    let details = expect_error(&status, Code::Unavailable, "TOO_MANY_WATCHES");
    assert_eq!(details.error_info().unwrap().metadata["limit"], "1");

    // The caller going away ends its watch and frees its slot.
    drop(first);
    let mut admitted = None;
    for _ in 0..500 {
        match served.client.watch_notifications(WatchNotificationsRequest::default()).await {
            Ok(stream) => {
                admitted = Some(stream.into_inner());
                break;
            }
            Err(status) => {
                expect_error(&status, Code::Unavailable, "TOO_MANY_WATCHES");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    let mut second = admitted.expect("a slot came free once the first caller left");
    assert!(next(&mut second).await.notification.is_none());
}

#[tokio::test]
async fn a_watched_notification_arrives_typed_with_its_raw_form() {
    let mut served = serve(8, None).await;
    let mut stream = watch(&mut served.client, WatchNotificationsRequest::default()).await;
    next(&mut stream).await;
    served.journal.post("SOMETHING_NEW", "5");
    let n = next(&mut stream).await.notification.unwrap();
    assert_eq!((n.message_type(), n.vendor_message_type.as_str()), (NotificationType::Unspecified, "SOMETHING_NEW"));
    assert_eq!(n.invoice_id, "9");
    assert_eq!(n.raw_fields.len(), 3);
    assert!(n.timestamp.is_none(), "not posted");
}

#[tokio::test]
async fn over_the_in_memory_journal_a_watch_resumes_and_a_listing_reports_what_capacity_trimmed() {
    let served = serve_over(Arc::new(MemoryJournal::new(3, Duration::from_secs(3600))), 8, None).await;
    let mut client = served.client.clone();
    let post = |n: u32| {
        let journal = Arc::clone(&served.journal);
        async move {
            let form = RawForm::new(vec![
                ("message_type".into(), "RECURRING_INSTALLMENT_SUCCESS".into()),
                ("message_id".into(), n.to_string()),
                ("sale_id".into(), "4742525399".into()),
            ]);
            journal.append(&format!("532001:{n}"), form).await.unwrap().cursor()
        }
    };
    let mut stream = watch(&mut client, WatchNotificationsRequest::default()).await;
    next(&mut stream).await;
    let first = post(1).await;
    assert_eq!(next_notification(&mut stream).await.0, first.to_string());
    drop(stream);
    for n in 2..=5 {
        post(n).await;
    }

    // Capacity 3: entries 1 and 2 are gone, so resuming after entry 1 would miss entry 2.
    let status = client
        .list_notifications(ListNotificationsRequest {
            start: Some(Start::Cursor(first.to_string())),
            ..Default::default()
        })
        .await
        .unwrap_err();
    expect_error(&status, Code::FailedPrecondition, "NOTIFICATIONS_EXPIRED");
    let kept = list(&mut client, ListNotificationsRequest::default()).await;
    let ids: Vec<_> = kept.notifications.iter().map(|n| n.message_id.clone()).collect();
    assert_eq!(ids, ["3", "4", "5"]);

    let mut stream =
        watch(&mut client, WatchNotificationsRequest { cursor: kept.resume_cursor, ..Default::default() }).await;
    let sixth = post(6).await;
    assert_eq!(next_notification(&mut stream).await.0, sixth.to_string());
}
