//! Instant notifications end to end: the simulator's INS posts, signed as
//! 2Checkout signs them, reach the gateway's receiver over real HTTP and come
//! out of `WatchNotifications` / `ListNotifications` as typed events over real
//! gRPC, with the in-memory journal and with a real Redis shared by replicas.

use std::sync::Arc;

use tco_gateway::grpc::proto::{
    ListNotificationsRequest, Notification, NotificationType, WatchNotificationsRequest, WatchNotificationsResponse,
    list_notifications_request::Start, notification_service_client::NotificationServiceClient,
    sales_service_client::SalesServiceClient,
};
use tco_simulator::{
    DEFAULT_SECRET_WORD, DEFAULT_SELLER_ID, DeliveryFault, REFUNDABLE_INVOICE_ID, REFUNDABLE_SALE_ID,
    REFUNDABLE_SALE_PLACED, RunningSimulator,
};
use tonic::{Streaming, transport::Channel};

use crate::{
    helpers::{
        PATIENCE, TestApp, loopback_addr_in, set_clock_after, spawn_gateway, spawn_gateway_process, spawn_simulator,
    },
    redis_server::RedisServer,
    writes::refund_of,
};

/// A gateway whose receiver takes the simulator's account's notifications, and
/// the simulator posting them to it.
async fn notified_gateway(simulator: &Arc<RunningSimulator>, redis_url: Option<&str>) -> TestApp {
    let mut overrides = vec![("ins.secret_word", DEFAULT_SECRET_WORD), ("ins.vendor_id", DEFAULT_SELLER_ID)];
    overrides.extend(redis_url.map(|url| ("redis.url", url)));
    let app = spawn_gateway(simulator, &overrides).await;
    let receiver = app.ins_addr.expect("the receiver runs with a secret word");
    simulator.set_notify_url(Some(format!("http://{receiver}/ins")));
    app
}

/// A second replica: the same settings, not the simulator's target.
async fn replica(simulator: &Arc<RunningSimulator>, redis_url: &str) -> TestApp {
    spawn_gateway(
        simulator,
        &[("ins.secret_word", DEFAULT_SECRET_WORD), ("ins.vendor_id", DEFAULT_SELLER_ID), ("redis.url", redis_url)],
    )
    .await
}

fn notifications(app: &TestApp) -> NotificationServiceClient<Channel> {
    NotificationServiceClient::new(app.channel.clone())
}

/// Refunds of the refundable sale only.
fn refunds_of_the_refundable_sale() -> WatchNotificationsRequest {
    WatchNotificationsRequest {
        message_types: vec![NotificationType::RefundIssued.into()],
        sale_id: REFUNDABLE_SALE_ID.into(),
        ..Default::default()
    }
}

/// A watch, returned once its first message (the checkpoint it starts from) arrived: from
/// then on, nothing stored later can be missed by it.
async fn watch(app: &TestApp, request: WatchNotificationsRequest) -> (Streaming<WatchNotificationsResponse>, String) {
    let mut stream = notifications(app).watch_notifications(request).await.expect("a watch").into_inner();
    let checkpoint = next_message(&mut stream).await;
    assert!(checkpoint.notification.is_none(), "a watch opens with a checkpoint");
    (stream, checkpoint.resume_cursor)
}

async fn next_message(stream: &mut Streaming<WatchNotificationsResponse>) -> WatchNotificationsResponse {
    tokio::time::timeout(PATIENCE, stream.message())
        .await
        .expect("a watch message within the specs' patience")
        .expect("the watch is healthy")
        .expect("the watch is open")
}

/// The next notification of a watch, skipping checkpoints.
async fn next_notification(stream: &mut Streaming<WatchNotificationsResponse>) -> Notification {
    loop {
        if let Some(notification) = next_message(stream).await.notification {
            return notification;
        }
    }
}

/// Every notification about the refundable sale the journal holds, listed page by page.
async fn listed_refunds(app: &TestApp) -> Vec<Notification> {
    listed_refunds_through(notifications(app)).await
}

async fn listed_refunds_through(mut client: NotificationServiceClient<Channel>) -> Vec<Notification> {
    let (mut all, mut page_token) = (Vec::new(), String::new());
    loop {
        let page = client
            .list_notifications(ListNotificationsRequest {
                message_types: vec![NotificationType::RefundIssued.into()],
                sale_id: REFUNDABLE_SALE_ID.into(),
                page_token,
                ..Default::default()
            })
            .await
            .expect("a page")
            .into_inner();
        all.extend(page.notifications);
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
}

/// Until the simulator has delivered (and had acknowledged) everything it queued.
async fn until_delivered(simulator: &RunningSimulator) {
    let mut deliveries = simulator.watch_deliveries();
    tokio::time::timeout(
        PATIENCE,
        deliveries.wait_for(|stats| stats.queued > 0 && stats.acknowledged + stats.dropped >= stats.queued),
    )
    .await
    .expect("every queued notification delivered within the specs' patience")
    .expect("the simulator's sender runs");
}

async fn refund(app: &TestApp, amount: &str) {
    app.sales.clone().refund_invoice(refund_of(REFUNDABLE_SALE_ID, amount)).await.expect("the refund");
}

#[tokio::test]
async fn a_refund_through_the_gateway_yields_one_refund_issued_with_its_amounts() {
    let simulator = spawn_simulator().await;
    set_clock_after(&simulator, REFUNDABLE_SALE_PLACED, 10);
    let app = notified_gateway(&simulator, None).await;
    let (mut events, _) = watch(&app, refunds_of_the_refundable_sale()).await;

    refund(&app, "4.99").await;

    let event = next_notification(&mut events).await;
    assert_eq!(event.message_type(), NotificationType::RefundIssued);
    assert_eq!((event.sale_id.as_str(), event.invoice_id.as_str()), (REFUNDABLE_SALE_ID, REFUNDABLE_INVOICE_ID));
    assert_eq!(event.vendor_id, DEFAULT_SELLER_ID);
    assert_eq!(event.items.len(), 1, "an item-level message is about one item");
    let item = &event.items[0];
    assert_eq!((item.usd_amount.as_str(), item.list_amount.as_str()), ("4.99", "4.99"));
    assert_eq!(item.vendor_item_type, "refund");
    assert!(event.raw_fields.iter().any(|field| field.key == "md5_hash"), "the audit copy is the form as posted");

    until_delivered(&simulator).await;
    let listed = listed_refunds(&app).await;
    assert_eq!(listed.len(), 1, "one refund, one REFUND_ISSUED: {listed:?}");
    assert_eq!(listed[0].cursor, event.cursor);
}

#[tokio::test]
async fn a_delivery_the_simulator_duplicates_is_one_event() {
    let simulator = spawn_simulator().await;
    set_clock_after(&simulator, REFUNDABLE_SALE_PLACED, 10);
    let app = notified_gateway(&simulator, None).await;
    simulator.inject_delivery_fault(DeliveryFault::Duplicate(1));

    refund(&app, "1.00").await;

    until_delivered(&simulator).await;
    assert!(simulator.delivery_stats().attempts >= 2, "the simulator posted the message twice");
    assert_eq!(listed_refunds(&app).await.len(), 1);
}

#[tokio::test]
async fn with_redis_a_second_replica_sees_the_event_and_a_restart_loses_none() {
    let redis = RedisServer::start().await;
    let simulator = spawn_simulator().await;
    set_clock_after(&simulator, REFUNDABLE_SALE_PLACED, 10);
    let receiving = notified_gateway(&simulator, Some(&redis.url())).await;
    let other = replica(&simulator, &redis.url()).await;
    let (mut elsewhere, _) = watch(&other, refunds_of_the_refundable_sale()).await;

    refund(&receiving, "2.50").await;

    let event = next_notification(&mut elsewhere).await;
    assert_eq!(event.items[0].usd_amount, "2.50", "the replica that did not receive the post streams it");
    drop(receiving);
    let restarted = replica(&simulator, &redis.url()).await;
    let kept = listed_refunds(&restarted).await;
    assert_eq!(kept.iter().map(|n| n.cursor.as_str()).collect::<Vec<_>>(), [event.cursor.as_str()]);
}

#[tokio::test]
async fn a_watcher_resuming_from_its_cursor_on_another_replica_sees_no_gap_and_no_duplicate() {
    let redis = RedisServer::start().await;
    let simulator = spawn_simulator().await;
    set_clock_after(&simulator, REFUNDABLE_SALE_PLACED, 10);
    let receiving = notified_gateway(&simulator, Some(&redis.url())).await;
    let other = replica(&simulator, &redis.url()).await;
    let (mut first_watch, _) = watch(&receiving, refunds_of_the_refundable_sale()).await;

    refund(&receiving, "1.00").await;
    let seen = next_notification(&mut first_watch).await;
    drop(first_watch);
    // Missed while disconnected.
    refund(&receiving, "2.00").await;
    refund(&receiving, "3.00").await;
    until_delivered(&simulator).await;

    let resumed = WatchNotificationsRequest { cursor: seen.cursor.clone(), ..refunds_of_the_refundable_sale() };
    let (mut second_watch, start) = watch(&other, resumed).await;
    assert_eq!(start, seen.cursor, "the watch starts right after the cursor it was given");
    let missed = [next_notification(&mut second_watch).await, next_notification(&mut second_watch).await];
    let amounts: Vec<&str> = missed.iter().map(|n| n.items[0].usd_amount.as_str()).collect();
    assert_eq!(amounts, ["2.00", "3.00"], "in order, without the one already seen");

    // Nothing else is pending: a new refund is the very next event.
    refund(&receiving, "4.00").await;
    assert_eq!(next_notification(&mut second_watch).await.items[0].usd_amount, "4.00");
}

#[tokio::test]
async fn a_listing_since_a_time_and_a_listing_after_a_cursor_agree() {
    let simulator = spawn_simulator().await;
    set_clock_after(&simulator, REFUNDABLE_SALE_PLACED, 10);
    let app = notified_gateway(&simulator, None).await;
    refund(&app, "1.00").await;
    refund(&app, "2.00").await;
    until_delivered(&simulator).await;
    let all = listed_refunds(&app).await;
    assert_eq!(all.len(), 2);

    let after_first = notifications(&app)
        .list_notifications(ListNotificationsRequest {
            start: Some(Start::Cursor(all[0].cursor.clone())),
            sale_id: REFUNDABLE_SALE_ID.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after_first.notifications.iter().map(|n| &n.cursor).collect::<Vec<_>>(), [&all[1].cursor]);
    let since = notifications(&app)
        .list_notifications(ListNotificationsRequest {
            start: Some(Start::ReceivedAfter(all[1].received_time.unwrap())),
            sale_id: REFUNDABLE_SALE_ID.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(since.notifications.first().map(|n| &n.cursor), Some(&all[1].cursor));
}

#[tokio::test]
async fn with_redis_an_accepted_notification_survives_a_restart_of_the_gateway_process() {
    let redis = RedisServer::start().await;
    let simulator = spawn_simulator().await;
    set_clock_after(&simulator, REFUNDABLE_SALE_PLACED, 10);
    let env = [
        ("TCO_REDIS__URL", redis.url()),
        ("TCO_INS__SECRET_WORD", DEFAULT_SECRET_WORD.to_owned()),
        ("TCO_SERVER__DRAIN_PERIOD", "0s".to_owned()),
    ];
    let mut before = spawn_gateway_process(&simulator, &env).await;
    let receiver = loopback_addr_in(&before.wait_for_line("INS receiver listening").await).expect("its address");
    simulator.set_notify_url(Some(format!("http://{receiver}/ins")));
    SalesServiceClient::new(before.channel.clone())
        .refund_invoice(refund_of(REFUNDABLE_SALE_ID, "3.00"))
        .await
        .expect("the refund");
    // Acknowledged means stored: the receiver answers 2xx only after the journal has it.
    until_delivered(&simulator).await;
    before.terminate();
    assert!(before.exit_status(PATIENCE).await.success());

    let after = spawn_gateway_process(&simulator, &env).await;
    let kept = listed_refunds_through(NotificationServiceClient::new(after.channel.clone())).await;
    let amounts: Vec<&str> = kept.iter().map(|n| n.items[0].usd_amount.as_str()).collect();
    assert_eq!(amounts, ["3.00"], "the restarted gateway streams what the old one accepted");
}
