//! The INS receiver over real HTTP: 2Checkout's form posts to `/ins` on the
//! gateway's own INS listener, verified by `md5_hash` and `vendor_id`, bounded,
//! stored once in the journal, and evicting the sale from every replica's cache.
//!
//! Every gateway here is configured as for real 2Checkout (against the
//! simulator) with `ins.secret_word`; its vendor is the simulator's seller id
//! (`payment_api.seller_id`, the default `ins.vendor_id`).

use std::sync::Arc;

use reqwest::StatusCode;
use secrecy::SecretString;
use tco_gateway::{
    domain::{Cursor, NotificationJournal as _},
    grpc::proto::{GetSaleRequest, get_sale_request::Lookup},
    notifications::receiver::{INS_PATH, md5_hash},
};
use tco_simulator::{DEFAULT_SELLER_ID, DOCUMENTED_INVOICE_IDS, DOCUMENTED_SALE_ID, Endpoint, RunningSimulator};

use crate::{
    helpers::{TestApp, loopback_addr_in, spawn_gateway, spawn_gateway_process, spawn_simulator},
    redis_server::RedisServer,
};

const SECRET_WORD: &str = "tango";

/// A gateway whose INS receiver verifies with [`SECRET_WORD`], plus `overrides`.
async fn receiving_gateway(simulator: &Arc<RunningSimulator>, overrides: &[(&str, &str)]) -> TestApp {
    let mut settings = vec![("ins.secret_word", SECRET_WORD), ("cache.ttl", "1h")];
    settings.extend_from_slice(overrides);
    spawn_gateway(simulator, &settings).await
}

/// A REFUND_ISSUED for the documented sale, signed as 2Checkout signs it for
/// `vendor_id` with `secret_word`.
fn notification(message_id: &str, vendor_id: &str, secret_word: &str) -> Vec<(String, String)> {
    let (sale, invoice) = (DOCUMENTED_SALE_ID, DOCUMENTED_INVOICE_IDS[0]);
    let hash = md5_hash(sale, vendor_id, invoice, &SecretString::from(secret_word));
    [
        ("message_type", "REFUND_ISSUED"),
        ("message_description", "Refund issued"),
        ("timestamp", "2026-03-31 17:01:19"),
        ("md5_hash", &hash),
        ("message_id", message_id),
        ("key_count", "9"),
        ("vendor_id", vendor_id),
        ("sale_id", sale),
        ("invoice_id", invoice),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

fn signed(message_id: &str) -> Vec<(String, String)> {
    notification(message_id, DEFAULT_SELLER_ID, SECRET_WORD)
}

/// Posts `fields` as a form to `path` on `app`'s receiver: the status and the body.
async fn post(app: &TestApp, path: &str, fields: &[(String, String)]) -> (StatusCode, String) {
    post_body(app, path, serde_urlencoded::to_string(fields).unwrap()).await
}

async fn post_body(app: &TestApp, path: &str, body: String) -> (StatusCode, String) {
    let addr = app.ins_addr.expect("the INS receiver runs");
    let response = reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("the receiver answers");
    (response.status(), response.text().await.unwrap())
}

/// The `message_id` of every notification the gateway's journal holds, oldest first.
async fn stored(app: &TestApp) -> Vec<String> {
    let read = app.journal.read_after(Cursor::ORIGIN, 1000).await.unwrap();
    read.entries.iter().map(|entry| entry.form.get("message_id").unwrap_or_default().to_owned()).collect()
}

async fn get_documented_sale(app: &TestApp) {
    let request = GetSaleRequest { lookup: Some(Lookup::SaleId(DOCUMENTED_SALE_ID.into())), fresh: false };
    app.sales.clone().get_sale(request).await.expect("GetSale");
}

fn details(simulator: &RunningSimulator) -> u64 {
    simulator.request_count(Endpoint::DetailSale)
}

#[tokio::test]
async fn a_correctly_signed_post_is_answered_ok_and_stored_once_verbatim() {
    let app = receiving_gateway(&spawn_simulator().await, &[]).await;
    let fields = signed("3786");
    assert_eq!(post(&app, INS_PATH, &fields).await, (StatusCode::OK, "OK\n".to_owned()));
    let read = app.journal.read_after(Cursor::ORIGIN, 10).await.unwrap();
    assert_eq!(read.entries.len(), 1);
    assert_eq!(read.entries[0].form.fields(), fields.as_slice(), "every field, in posted order");
}

#[tokio::test]
async fn a_duplicate_delivery_is_answered_ok_and_stored_once() {
    let app = receiving_gateway(&spawn_simulator().await, &[]).await;
    for _ in 0..3 {
        assert_eq!(post(&app, INS_PATH, &signed("3786")).await.0, StatusCode::OK);
    }
    assert_eq!(post(&app, INS_PATH, &signed("3787")).await.0, StatusCode::OK);
    assert_eq!(stored(&app).await, ["3786", "3787"]);
}

#[tokio::test]
async fn forged_hash_is_refused_and_stores_nothing() {
    let app = receiving_gateway(&spawn_simulator().await, &[]).await;
    let forged = notification("3786", DEFAULT_SELLER_ID, "not-the-secret-word");
    let (status, text) = post(&app, INS_PATH, &forged).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains("md5_hash"), "{text}");
    assert!(stored(&app).await.is_empty());
}

#[tokio::test]
async fn a_post_for_another_vendor_is_refused_and_stores_nothing_even_when_signed_for_it() {
    let app = receiving_gateway(&spawn_simulator().await, &[]).await;
    let (status, text) = post(&app, INS_PATH, &notification("3786", "532001", SECRET_WORD)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains("vendor_id"), "{text}");
    assert!(stored(&app).await.is_empty());
}

#[tokio::test]
async fn a_missing_sale_id_is_a_400_naming_it() {
    let app = receiving_gateway(&spawn_simulator().await, &[]).await;
    let mut fields = signed("3786");
    fields.retain(|(key, _)| key != "sale_id");
    let (status, text) = post(&app, INS_PATH, &fields).await;
    assert_eq!((status, text.as_str()), (StatusCode::BAD_REQUEST, "sale_id is missing\n"));
    assert!(stored(&app).await.is_empty());
}

#[tokio::test]
async fn oversized_bodies_and_too_many_fields_are_refused() {
    let app =
        receiving_gateway(&spawn_simulator().await, &[("ins.max_body_bytes", "4096"), ("ins.max_fields", "60")]).await;
    let mut big = signed("1");
    big.push(("item_name_1".into(), "x".repeat(5000)));
    assert_eq!(post(&app, INS_PATH, &big).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    let mut many = signed("2");
    many.extend((0..52).map(|n| (format!("extra_{n}"), "1".to_owned())));
    assert_eq!(many.len(), 61);
    assert_eq!(post(&app, INS_PATH, &many).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    many.pop();
    assert_eq!(post(&app, INS_PATH, &many).await.0, StatusCode::OK, "60 fields is the bound");
    assert_eq!(stored(&app).await, ["2"]);
}

#[tokio::test]
async fn only_post_on_the_ins_path_is_served() {
    let app = receiving_gateway(&spawn_simulator().await, &[]).await;
    assert_eq!(post(&app, "/notifications", &signed("1")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(post(&app, "/ins/extra", &signed("1")).await.0, StatusCode::NOT_FOUND);
    let addr = app.ins_addr.unwrap();
    let get = reqwest::get(format!("http://{addr}{INS_PATH}")).await.unwrap();
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(stored(&app).await.is_empty());
}

#[tokio::test]
async fn without_a_secret_word_the_receiver_does_not_start() {
    let app = spawn_gateway(&spawn_simulator().await, &[]).await;
    assert_eq!(app.ins_addr, None);
}

#[tokio::test]
async fn an_accepted_notification_evicts_the_cached_sale() {
    let simulator = spawn_simulator().await;
    let app = receiving_gateway(&simulator, &[]).await;
    get_documented_sale(&app).await;
    get_documented_sale(&app).await;
    assert_eq!((details(&simulator), app.ports.stats().hits), (1, 1), "cached");

    // Refused notifications evict nothing.
    post(&app, INS_PATH, &notification("1", DEFAULT_SELLER_ID, "forged")).await;
    get_documented_sale(&app).await;
    assert_eq!((details(&simulator), app.ports.stats().hits), (1, 2));

    assert_eq!(post(&app, INS_PATH, &signed("2")).await.0, StatusCode::OK);
    get_documented_sale(&app).await;
    assert_eq!((details(&simulator), app.ports.stats().hits), (2, 2), "read anew from 2Checkout");
    get_documented_sale(&app).await;
    assert_eq!((details(&simulator), app.ports.stats().hits), (2, 3), "and cached again");
}

#[tokio::test]
async fn with_redis_a_notification_received_by_one_replica_evicts_the_sale_and_is_kept_once_for_all() {
    let redis = RedisServer::start().await;
    let simulator = spawn_simulator().await;
    let url = redis.url();
    let receiving = receiving_gateway(&simulator, &[("redis.url", &url)]).await;
    let other = receiving_gateway(&simulator, &[("redis.url", &url)]).await;
    get_documented_sale(&other).await;
    get_documented_sale(&other).await;
    assert_eq!((details(&simulator), other.ports.stats().hits), (1, 1), "cached on the other replica");

    assert_eq!(post(&receiving, INS_PATH, &signed("7")).await.0, StatusCode::OK);
    get_documented_sale(&other).await;
    assert_eq!((details(&simulator), other.ports.stats().hits), (2, 1), "the other replica read it anew");

    // One journal for both: 2Checkout's resend reaching the other replica is a duplicate there.
    assert_eq!(stored(&other).await, ["7"]);
    assert_eq!(post(&other, INS_PATH, &signed("7")).await.0, StatusCode::OK);
    assert_eq!(stored(&receiving).await, ["7"]);
}

#[tokio::test]
async fn a_refused_post_is_logged_and_counted_without_the_secret_word_or_the_expected_hash() {
    const WORD: &str = "s3cr3t-w0rd-never-logged";
    let simulator = spawn_simulator().await;
    let env = [
        ("TCO_INS__SECRET_WORD", WORD.to_owned()),
        ("TCO_LOG__FILTER", "info".to_owned()),
        ("OTEL_METRICS_EXPORTER", "prometheus".to_owned()),
        ("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1".to_owned()),
        ("OTEL_EXPORTER_PROMETHEUS_PORT", "0".to_owned()),
    ];
    let gateway = spawn_gateway_process(&simulator, &env).await;
    let listening = gateway.wait_for_line("INS receiver listening").await;
    let addr = loopback_addr_in(&listening).expect("the receiver's address");
    let client = reqwest::Client::new();
    let send = |fields: Vec<(String, String)>| client.post(format!("http://{addr}{INS_PATH}")).form(&fields).send();

    let forged = notification("41", DEFAULT_SELLER_ID, "guessed");
    assert_eq!(send(forged).await.unwrap().status(), StatusCode::FORBIDDEN);
    let line = gateway.wait_for_line("INS post refused").await;
    assert!(line.contains("bad_hash") && line.contains("41") && line.contains(DOCUMENTED_SALE_ID), "{line}");
    assert_eq!(send(notification("42", DEFAULT_SELLER_ID, WORD)).await.unwrap().status(), StatusCode::OK);
    gateway.wait_for_line("INS notification received").await;

    let expected =
        md5_hash(DOCUMENTED_SALE_ID, DEFAULT_SELLER_ID, DOCUMENTED_INVOICE_IDS[0], &SecretString::from(WORD));
    let logged = gateway.output();
    assert!(!logged.contains(WORD), "the secret word was logged:\n{logged}");
    assert!(!logged.to_uppercase().contains(&expected), "the expected hash was logged:\n{logged}");

    let announced = gateway.wait_for_line("telemetry export configured").await;
    let port = loopback_addr_in(&announced).unwrap().port();
    let metrics = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap().text().await.unwrap();
    let count = |outcome: &str, reason: Option<&str>| {
        metrics.lines().any(|l| {
            l.starts_with("tco_ins_posts_total{")
                && l.contains(&format!("outcome=\"{outcome}\""))
                && reason.is_none_or(|r| l.contains(&format!("reason=\"{r}\"")))
                && l.ends_with(" 1")
        })
    };
    assert!(count("refused", Some("bad_hash")) && count("accepted", None), "{metrics}");
}

#[tokio::test]
async fn while_the_shared_journal_is_down_posts_get_503_so_2checkout_resends_them() {
    let mut redis = RedisServer::start().await;
    let app = receiving_gateway(&spawn_simulator().await, &[("redis.url", &redis.url())]).await;
    redis.stop().await;
    let (status, text) = post(&app, INS_PATH, &signed("9")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");

    redis.restart().await;
    // The resend, once Redis is back (its connection reconnects on the first failed command).
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..50 {
        status = post(&app, INS_PATH, &signed("9")).await.0;
        if status == StatusCode::OK {
            break;
        }
    }
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored(&app).await, ["9"]);
}
