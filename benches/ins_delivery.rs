//! INS ingest and delivery: how many signed notifications a second the
//! receiver accepts (verified, evicted, journaled, answered 200) under
//! concurrent senders, and how long from a POST leaving the sender until a
//! `WatchNotifications` subscriber holds the typed event (p50 / p99). Two
//! gateways on one simulator, one with the in-memory journal and one with the
//! Redis stream of a real `redis-server`, measured in alternating rounds so
//! drift on this shared machine hits both alike.
//!
//! Run with `cargo bench --bench ins_delivery`; needs `redis-server` on PATH
//! (`apt-get install -y redis-server`).

// Test code: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::SocketAddr,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use figment::{Figment, providers::Serialized};
use md5::{Digest as _, Md5};
use tco_gateway::{
    app::Application,
    config::Settings,
    grpc::proto::{WatchNotificationsRequest, notification_service_client::NotificationServiceClient},
};
use tco_simulator::{RunningSimulator, SimulatorConfig};
use tokio_stream::StreamExt as _;
use tonic::transport::Channel;

// The end-to-end specs' Redis; it waits on the specs' patience.
#[path = "../tests/api/redis_server.rs"]
#[allow(dead_code)]
mod redis_server;
mod helpers {
    pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(20);
}
#[allow(dead_code)]
mod support;

const SECRET_WORD: &str = "bench-secret-word";
const VENDOR_ID: &str = "901290261";
const POSTS: usize = 2_000;
const SENDERS: usize = 16;
const ROUNDS: usize = 3;

/// Message ids unique across rounds and gateways (the Redis journal outlives a round).
static NEXT_MESSAGE_ID: AtomicU64 = AtomicU64::new(1);

struct Gateway {
    ins: SocketAddr,
    notifications: NotificationServiceClient<Channel>,
}

async fn gateway(simulator: &RunningSimulator, redis_url: Option<&str>) -> Gateway {
    let defaults = SimulatorConfig::default();
    let mut figment = Figment::new()
        .merge(Serialized::global("server.listen_addr", "127.0.0.1:0"))
        .merge(Serialized::global("admin_api.base_url", simulator.admin_api_base_url()))
        .merge(Serialized::global("admin_api.username", defaults.api_username.clone()))
        .merge(Serialized::global("admin_api.password", defaults.api_password.clone()))
        .merge(Serialized::global("ins.listen_addr", "127.0.0.1:0"))
        .merge(Serialized::global("ins.secret_word", SECRET_WORD))
        .merge(Serialized::global("ins.vendor_id", VENDOR_ID))
        // The receiver's own rate limit would be the figure otherwise.
        .merge(Serialized::global("ins.rate_limit_per_second", 1_000_000u32))
        .merge(Serialized::global("ins.rate_limit_burst", 1_000_000u32));
    if let Some(url) = redis_url {
        figment = figment.merge(Serialized::global("redis.url", url));
    }
    let app = Application::build(Settings::from_figment(figment).unwrap()).await.unwrap();
    let (addr, ins) = (app.local_addr(), app.ins_addr().expect("the receiver runs with a secret word"));
    tokio::spawn(app.run_until(std::future::pending()));
    let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    Gateway { ins, notifications: NotificationServiceClient::new(channel) }
}

/// A REFUND_ISSUED form as 2Checkout posts it (item level, 50 keys), signed.
fn refund_issued(message_id: u64) -> String {
    let (sale_id, invoice_id) = ("9093727242912", "9093727242921");
    let hash = Md5::digest(format!("{sale_id}{VENDOR_ID}{invoice_id}{SECRET_WORD}"));
    let md5_hash: String = hash.iter().map(|byte| format!("{byte:02X}")).collect();
    let message_id = message_id.to_string();
    let fields: Vec<(&str, &str)> = vec![
        ("message_type", "REFUND_ISSUED"),
        ("message_description", "Refund issued"),
        ("timestamp", "2026-11-30 10:15:00"),
        ("md5_hash", &md5_hash),
        ("message_id", &message_id),
        ("key_count", "50"),
        ("vendor_id", VENDOR_ID),
        ("sale_id", sale_id),
        ("sale_date_placed", "2026-11-29 09:00:00"),
        ("vendor_order_id", "bench-1"),
        ("invoice_id", invoice_id),
        ("recurring", "0"),
        ("payment_type", "credit card"),
        ("list_currency", "USD"),
        ("cust_currency", "USD"),
        ("customer_first_name", "Ada"),
        ("customer_last_name", "Lovelace"),
        ("customer_name", "Ada Lovelace"),
        ("customer_email", "ada@example.com"),
        ("customer_phone", "5555555555"),
        ("customer_ip", "192.0.2.1"),
        ("customer_ip_country", "United States"),
        ("bill_street_address", "123 Test St"),
        ("bill_street_address2", ""),
        ("bill_city", "Columbus"),
        ("bill_state", "OH"),
        ("bill_postal_code", "43123"),
        ("bill_country", "USA"),
        ("ship_status", ""),
        ("ship_tracking_number", ""),
        ("ship_name", ""),
        ("ship_street_address", ""),
        ("ship_street_address2", ""),
        ("ship_city", ""),
        ("ship_state", ""),
        ("ship_postal_code", ""),
        ("ship_country", ""),
        ("item_count", "1"),
        ("item_name_1", "Download"),
        ("item_id_1", "ebook1"),
        ("item_list_amount_1", "5.00"),
        ("item_usd_amount_1", "5.00"),
        ("item_cust_amount_1", "5.00"),
        ("item_type_1", "refund"),
        ("item_duration_1", ""),
        ("item_recurrence_1", ""),
        ("item_rec_list_amount_1", ""),
        ("item_rec_status_1", ""),
        ("item_rec_date_next_1", ""),
        ("item_rec_install_billed_1", ""),
    ];
    serde_urlencoded::to_string(fields).unwrap()
}

/// One round: a subscriber watching from now, `POSTS` posts from `SENDERS`
/// concurrent senders. Returns accepted posts a second and each post's
/// delivery latency.
async fn round(gateway: &Gateway, http: &reqwest::Client) -> (f64, Vec<Duration>) {
    let first = NEXT_MESSAGE_ID.fetch_add(POSTS as u64, Ordering::Relaxed);
    let sent: Arc<Vec<OnceLock<Instant>>> = Arc::new((0..POSTS).map(|_| OnceLock::new()).collect());
    let mut events = gateway
        .notifications
        .clone()
        .watch_notifications(WatchNotificationsRequest::default())
        .await
        .unwrap()
        .into_inner();
    // The first message, a checkpoint, says where the watch starts: before every post below.
    let checkpoint = events.next().await.expect("a checkpoint").unwrap();
    assert!(checkpoint.notification.is_none());
    let subscriber = {
        let sent = Arc::clone(&sent);
        tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(POSTS);
            while latencies.len() < POSTS {
                let event = events.next().await.expect("the watch stays open").unwrap();
                let Some(notification) = event.notification else { continue };
                let index = notification.message_id.parse::<u64>().unwrap() - first;
                let posted_at = sent[usize::try_from(index).unwrap()].get().expect("posted before delivered");
                latencies.push(posted_at.elapsed());
            }
            latencies
        })
    };
    let url = format!("http://{}/ins", gateway.ins);
    let started = Instant::now();
    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let (http, url, sent) = (http.clone(), url.clone(), Arc::clone(&sent));
            tokio::spawn(async move {
                for index in (sender..POSTS).step_by(SENDERS) {
                    let body = refund_issued(first + index as u64);
                    sent[index].set(Instant::now()).unwrap();
                    let answer = http
                        .post(&url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert!(answer.status().is_success(), "{}", answer.status());
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }
    let ingest = POSTS as f64 / started.elapsed().as_secs_f64();
    (ingest, subscriber.await.unwrap())
}

fn quantile(latencies: &mut [Duration], q: f64) -> Duration {
    latencies.sort();
    latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)]
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[tokio::main]
async fn main() {
    if support::asked_for_list() {
        return;
    }
    let redis = redis_server::RedisServer::start().await;
    let simulator = RunningSimulator::start(SimulatorConfig::default()).await.unwrap();
    let memory = gateway(&simulator, None).await;
    let shared = gateway(&simulator, Some(&redis.url())).await;
    let http = reqwest::Client::new();
    println!(
        "release build, {POSTS} signed REFUND_ISSUED posts a round from {SENDERS} concurrent senders (HTTP/1.1 keep-alive), \
         one subscriber watching; {ROUNDS} alternating rounds after a warm-up round each"
    );
    round(&memory, &http).await;
    round(&shared, &http).await;
    let mut results = [(Vec::new(), Vec::new()), (Vec::new(), Vec::new())];
    for _ in 0..ROUNDS {
        for (gateway, result) in [&memory, &shared].into_iter().zip(results.iter_mut()) {
            let (ingest, latencies) = round(gateway, &http).await;
            result.0.push(ingest);
            result.1.extend(latencies);
        }
    }
    for (label, (ingest, mut latencies)) in ["in-memory journal", "Redis stream journal"].into_iter().zip(results) {
        let (p50, p99) = (quantile(&mut latencies, 0.50), quantile(&mut latencies, 0.99));
        println!(
            "  {label:<22} ingest {:>8.0} posts/s (median of rounds)   delivery p50 {:>8.1} µs   p99 {:>8.1} µs",
            median(ingest),
            micros(p50),
            micros(p99)
        );
    }
}
