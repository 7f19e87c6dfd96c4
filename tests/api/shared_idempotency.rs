//! Exactly once across replicas and restarts: gateways sharing their
//! idempotency records in a real Redis (`redis.url`), over real processes
//! where a process matters (restarts, SIGKILL), against one simulator whose
//! request counters and ledger are the truth.

use std::{sync::Arc, time::Duration};

use tco_gateway::grpc::proto::{
    GetSaleRequest, RefundInvoiceRequest, authorization_service_client::AuthorizationServiceClient,
    get_sale_request::Lookup, sales_service_client::SalesServiceClient,
};
use tco_simulator::{APPROVING_CARD, Endpoint, Fault, REFUNDABLE_SALE_ID, REFUNDABLE_SALE_PLACED, RunningSimulator};
use tonic::{Code, transport::Channel};

use crate::{
    authorize::{authorize_total, token},
    helpers::{
        GatewayProcess, NEVER, PATIENCE, TestApp, eventually, expect_error, loopback_addr_in, refund_lines,
        refusing_addr, set_clock_after, spawn_gateway, spawn_gateway_process, spawn_simulator, with_deadline,
    },
    redis_server::RedisServer,
    writes::refund_of,
};

/// A simulator whose clock lets the refundable sale be refunded.
async fn refundable_simulator() -> Arc<RunningSimulator> {
    let simulator = spawn_simulator().await;
    set_clock_after(&simulator, REFUNDABLE_SALE_PLACED, 10);
    simulator
}

/// An in-process gateway on `simulator` sharing its records in `redis`.
async fn gateway(simulator: &Arc<RunningSimulator>, redis: &RedisServer) -> TestApp {
    spawn_gateway(simulator, &[("redis.url", &redis.url())]).await
}

/// The gateway binary on `simulator`, configured by environment with `redis`'s URL.
async fn gateway_process(simulator: &RunningSimulator, redis: &RedisServer, env: &[(&str, &str)]) -> GatewayProcess {
    let mut all = vec![("TCO_REDIS__URL", redis.url())];
    all.extend(env.iter().map(|(k, v)| (*k, (*v).to_owned())));
    spawn_gateway_process(simulator, &all).await
}

fn sales(channel: &Channel) -> SalesServiceClient<Channel> {
    SalesServiceClient::new(channel.clone())
}

/// The refund lines on the refundable sale, as 2Checkout has them now: the ledger.
async fn refunds_in_ledger(channel: &Channel) -> usize {
    let request = GetSaleRequest { lookup: Some(Lookup::SaleId(REFUNDABLE_SALE_ID.into())), fresh: true };
    let sale = sales(channel).get_sale(request).await.unwrap().into_inner().sale.unwrap();
    refund_lines(&sale).len()
}

async fn refund(channel: &Channel, request: &RefundInvoiceRequest) -> Result<String, tonic::Status> {
    let request = with_deadline(request.clone(), PATIENCE);
    sales(channel).refund_invoice(request).await.map(|r| r.into_inner().message)
}

#[tokio::test]
async fn two_gateways_on_one_simulator_refund_once_for_one_request_id() {
    let redis = RedisServer::start().await;
    let simulator = refundable_simulator().await;
    let (first, second) =
        (gateway_process(&simulator, &redis, &[]).await, gateway_process(&simulator, &redis, &[]).await);
    // Slow enough that the duplicates on both replicas arrive while the first is in flight.
    simulator.inject_fault(Endpoint::RefundInvoice, Fault::delay(Duration::from_millis(300)));
    let request = refund_of(REFUNDABLE_SALE_ID, "2.00");
    // The issue's measurement: 50 concurrent duplicates, here split over two replicas.
    let calls: Vec<_> = (0..50)
        .map(|n| {
            let channel = if n % 2 == 0 { first.channel.clone() } else { second.channel.clone() };
            let request = request.clone();
            tokio::spawn(async move { refund(&channel, &request).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), "refund added to invoice");
    }
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 1);
    simulator.clear_faults();
    assert_eq!(refunds_in_ledger(&first.channel).await, 1);
}

#[tokio::test]
async fn the_same_request_id_for_another_request_on_another_replica_is_request_id_reused() {
    let redis = RedisServer::start().await;
    let simulator = refundable_simulator().await;
    let (first, second) = (gateway(&simulator, &redis).await, gateway(&simulator, &redis).await);
    let request = refund_of(REFUNDABLE_SALE_ID, "2.00");
    refund(&first.channel, &request).await.unwrap();
    let other = RefundInvoiceRequest { amount: "3.00".into(), ..request };
    let status = refund(&second.channel, &other).await.unwrap_err();
    expect_error(&status, Code::InvalidArgument, "REQUEST_ID_REUSED");
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 1);
}

#[tokio::test]
async fn a_gateway_restarted_between_tries_replays_the_first_outcome() {
    let redis = RedisServer::start().await;
    let simulator = refundable_simulator().await;
    // A rolling deploy's restart, without the wait for load balancers.
    let env = [("TCO_SERVER__DRAIN_PERIOD", "0s")];
    let mut gateway = gateway_process(&simulator, &redis, &env).await;
    let request = refund_of(REFUNDABLE_SALE_ID, "2.00");
    let first = refund(&gateway.channel, &request).await.unwrap();
    for _restart in 0..2 {
        gateway.terminate();
        gateway.exit_status(PATIENCE).await;
        gateway = gateway_process(&simulator, &redis, &env).await;
        assert_eq!(refund(&gateway.channel, &request).await.unwrap(), first);
    }
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 1);
    assert_eq!(refunds_in_ledger(&gateway.channel).await, 1);
}

#[tokio::test]
async fn a_gateway_killed_after_2checkout_refunded_is_reconciled_on_retry_never_refunding_twice() {
    let redis = RedisServer::start().await;
    let simulator = refundable_simulator().await;
    // The lease outlives one upstream request (6 s here, the window in which the gateway
    // is killed) by the store's margins: the retry below waits for it to expire, then
    // takes the id over.
    let env = [("TCO_ADMIN_API__REQUEST_TIMEOUT", "6s"), ("TCO_LOG__FILTER", "info")];
    let mut doomed = gateway_process(&simulator, &redis, &env).await;
    // Reads the ledger while the doomed gateway's refund hangs.
    let witness = gateway(&simulator, &redis).await;
    // 2Checkout applies the refund, then its answer never comes.
    simulator.inject_fault(Endpoint::RefundInvoice, Fault::delay_after_processing(NEVER));
    let request = refund_of(REFUNDABLE_SALE_ID, "2.00");
    let in_flight = {
        let (channel, request) = (doomed.channel.clone(), request.clone());
        tokio::spawn(async move { refund(&channel, &request).await })
    };
    eventually("2Checkout received the refund", || simulator.request_count(Endpoint::RefundInvoice) == 1).await;
    let started = std::time::Instant::now();
    while refunds_in_ledger(&witness.channel).await == 0 {
        assert!(started.elapsed() < PATIENCE, "2Checkout never applied the refund");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    doomed.child.kill().unwrap(); // SIGKILL: no outcome recorded, no clean-up.
    doomed.exit_status(PATIENCE).await;
    assert!(in_flight.await.unwrap().is_err(), "the killed gateway cannot have answered");
    simulator.clear_faults();

    let restarted = gateway_process(&simulator, &redis, &env).await;
    assert_eq!(refund(&restarted.channel, &request).await.unwrap(), "refund added to invoice");
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 1, "never sent again");
    assert_eq!(refunds_in_ledger(&restarted.channel).await, 1);
    restarted.wait_for_line("taking over a request id whose owner stopped after checkpointing").await;
}

#[tokio::test]
async fn outcomes_survive_a_redis_restart() {
    let mut redis = RedisServer::start().await;
    let simulator = refundable_simulator().await;
    let app = gateway(&simulator, &redis).await;
    let request = refund_of(REFUNDABLE_SALE_ID, "2.00");
    let first = refund(&app.channel, &request).await.unwrap();
    redis.restart().await;
    // The gateway's connection broke with the restart: until it has reconnected, writes
    // fail closed. Then the record, read back from the append-only file, answers.
    let started = std::time::Instant::now();
    let retry = loop {
        match refund(&app.channel, &request).await {
            Err(status) if status.code() == Code::Unavailable => {
                expect_error(&status, Code::Unavailable, "IDEMPOTENCY_STORE_UNAVAILABLE");
                assert!(started.elapsed() < PATIENCE, "the gateway never reconnected to Redis");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            other => break other,
        }
    };
    assert_eq!(retry.unwrap(), first);
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 1);
}

#[tokio::test]
async fn with_redis_down_writes_and_authorize_are_unavailable_and_nothing_goes_upstream_while_reads_work() {
    let mut redis = RedisServer::start().await;
    let simulator = refundable_simulator().await;
    let app = gateway(&simulator, &redis).await;
    let card = token(&simulator, APPROVING_CARD).await;
    redis.stop().await;

    let status = refund(&app.channel, &refund_of(REFUNDABLE_SALE_ID, "2.00")).await.unwrap_err();
    let details = expect_error(&status, Code::Unavailable, "IDEMPOTENCY_STORE_UNAVAILABLE");
    assert_eq!(details.error_info().unwrap().metadata.get("store").map(String::as_str), Some("redis"));
    assert!(details.retry_info().is_some(), "{status:?}");
    let status = AuthorizationServiceClient::new(app.channel.clone())
        .authorize(with_deadline(authorize_total(card, "12.34"), PATIENCE))
        .await
        .unwrap_err();
    expect_error(&status, Code::Unavailable, "IDEMPOTENCY_STORE_UNAVAILABLE");
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 0);
    assert_eq!(simulator.request_count(Endpoint::Authorize), 0);
    assert_eq!(refunds_in_ledger(&app.channel).await, 0, "reads still work");
}

#[tokio::test]
async fn authorize_retried_on_a_second_gateway_creates_one_order_and_a_new_token_under_its_id_none() {
    let redis = RedisServer::start().await;
    let simulator = spawn_simulator().await;
    let (first, second) = (gateway(&simulator, &redis).await, gateway(&simulator, &redis).await);
    let request = authorize_total(token(&simulator, APPROVING_CARD).await, "12.34");
    let order = AuthorizationServiceClient::new(first.channel.clone()).authorize(request.clone()).await.unwrap();
    let again = AuthorizationServiceClient::new(second.channel.clone()).authorize(request.clone()).await.unwrap();
    assert_eq!(again.into_inner(), order.into_inner());
    // The token is part of the request (its digest is in the fingerprint): a new one under the
    // same id is another request, refused before anything is charged.
    let new_token =
        tco_gateway::grpc::proto::AuthorizeRequest { token: token(&simulator, APPROVING_CARD).await, ..request };
    let status = AuthorizationServiceClient::new(second.channel.clone()).authorize(new_token).await.unwrap_err();
    expect_error(&status, Code::InvalidArgument, "REQUEST_ID_REUSED");
    assert_eq!(simulator.request_count(Endpoint::Authorize), 1);
}

#[tokio::test]
async fn a_duplicate_that_cannot_wait_for_the_other_replica_is_aborted_with_retry_info() {
    let redis = RedisServer::start().await;
    let simulator = refundable_simulator().await;
    let (first, second) = (gateway(&simulator, &redis).await, gateway(&simulator, &redis).await);
    simulator.inject_fault(Endpoint::RefundInvoice, Fault::delay(Duration::from_secs(3)));
    let request = refund_of(REFUNDABLE_SALE_ID, "2.00");
    let owner = {
        let (channel, request) = (first.channel.clone(), request.clone());
        tokio::spawn(async move { refund(&channel, &request).await })
    };
    eventually("the first call reached 2Checkout", || simulator.request_count(Endpoint::RefundInvoice) == 1).await;
    let status = sales(&second.channel)
        .refund_invoice(with_deadline(request.clone(), Duration::from_millis(500)))
        .await
        .unwrap_err();
    let details = expect_error(&status, Code::Aborted, "REQUEST_IN_PROGRESS");
    assert!(details.retry_info().is_some(), "{status:?}");
    let first_outcome = owner.await.unwrap().unwrap();
    assert_eq!(refund(&second.channel, &request).await.unwrap(), first_outcome);
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 1);
}

#[tokio::test]
async fn a_flood_that_fills_redis_is_refused_with_resource_exhausted_and_never_refunds_twice() {
    let redis = RedisServer::start_with(&[("maxmemory-policy", "noeviction")]).await;
    // A little room above what an empty Redis uses: a few dozen writes, whose baselines
    // (the whole sale, checkpointed before each refund) take most of it.
    let mut connection = redis.connection().await;
    let info: String = redis::cmd("INFO").arg("memory").query_async(&mut connection).await.unwrap();
    let used: u64 = info.lines().find_map(|l| l.strip_prefix("used_memory:")).unwrap().trim().parse().unwrap();
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(used + 512 * 1024)
        .query_async(&mut connection)
        .await
        .unwrap();
    let simulator = refundable_simulator().await;
    let app = gateway(&simulator, &redis).await;
    flood_until_full_then_retry_everything(&app, &simulator).await;
}

#[tokio::test]
async fn a_flood_that_fills_the_memory_store_is_refused_with_resource_exhausted_and_never_refunds_twice() {
    let simulator = refundable_simulator().await;
    // Room for a few dozen records: the budget, not moka, decides, and nothing live is evicted.
    let app = spawn_gateway(&simulator, &[("idempotency.max_bytes", "24000")]).await;
    flood_until_full_then_retry_everything(&app, &simulator).await;
}

/// Refunds a cent at a time under new request ids, eight at once, until the store refuses
/// one (RESOURCE_EXHAUSTED, before 2Checkout sees it), then retries every accepted one:
/// each is replayed, none refunded twice.
async fn flood_until_full_then_retry_everything(app: &TestApp, simulator: &RunningSimulator) {
    let (mut accepted, mut refused) = (Vec::new(), 0);
    for wave in 0..100 {
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let (channel, request) = (app.channel.clone(), refund_of(REFUNDABLE_SALE_ID, "0.01"));
                tokio::spawn(async move { (refund(&channel, &request).await, request) })
            })
            .collect();
        for call in calls {
            match call.await.unwrap() {
                (Ok(_), request) => accepted.push(request),
                (Err(status), _) => {
                    let details = expect_error(&status, Code::ResourceExhausted, "IDEMPOTENCY_STORE_FULL");
                    assert!(details.retry_info().is_some(), "{status:?}");
                    refused += 1;
                }
            }
        }
        if refused > 0 {
            assert!(wave > 0, "the store was full before the flood: {} accepted, {refused} refused", accepted.len());
            break;
        }
    }
    assert!(refused > 0, "the flood never filled the store ({} accepted)", accepted.len());
    let sent = simulator.request_count(Endpoint::RefundInvoice);
    assert_eq!(sent, accepted.len() as u64, "a refused write reached 2Checkout");

    for request in &accepted {
        assert_eq!(refund(&app.channel, request).await.unwrap(), "refund added to invoice");
    }
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), sent, "a retry refunded twice");
    assert_eq!(refunds_in_ledger(&app.channel).await, accepted.len());
}

#[tokio::test]
async fn a_gateway_starts_with_redis_unreachable_serves_reads_refuses_writes_counts_them_and_never_logs_the_password() {
    let simulator = refundable_simulator().await;
    let (_socket, refusing) = refusing_addr();
    let env = [
        ("TCO_REDIS__URL", format!("redis://:s3cr3t-pw@{refusing}")),
        ("OTEL_METRICS_EXPORTER", "prometheus".to_owned()),
        ("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1".to_owned()),
        ("OTEL_EXPORTER_PROMETHEUS_PORT", "0".to_owned()),
    ];
    let gateway = spawn_gateway_process(&simulator, &env).await;
    assert_eq!(refunds_in_ledger(&gateway.channel).await, 0, "reads work");
    let status = refund(&gateway.channel, &refund_of(REFUNDABLE_SALE_ID, "2.00")).await.unwrap_err();
    expect_error(&status, Code::Unavailable, "IDEMPOTENCY_STORE_UNAVAILABLE");
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 0);
    gateway.wait_for_line("the idempotency store is unavailable").await;
    assert!(!gateway.output().contains("s3cr3t-pw"), "{}", gateway.output());

    let announced = gateway.wait_for_line("telemetry export configured").await;
    let port = loopback_addr_in(&announced).unwrap().port();
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap().text().await.unwrap();
    let refusals = text
        .lines()
        .find(|l| l.starts_with("tco_idempotency_refusals_total{") && l.contains("IDEMPOTENCY_STORE_UNAVAILABLE"))
        .unwrap_or_else(|| panic!("no refusal counted in\n{text}"));
    assert!(refusals.contains(r#"store="redis""#) && refusals.ends_with(" 1"), "{refusals}");
}

#[tokio::test]
async fn a_record_in_another_format_version_is_never_guessed_at() {
    let redis = RedisServer::start().await;
    let simulator = refundable_simulator().await;
    let app = gateway(&simulator, &redis).await;
    let request = refund_of(REFUNDABLE_SALE_ID, "2.00");
    // As a later gateway version might have written it.
    let key = format!("tco:idem:write:{{{}}}", request.request_id);
    let () = redis::cmd("HSET")
        .arg(&key)
        .arg(&["v", "2", "state", "settled", "outcome", "{}"])
        .query_async(&mut redis.connection().await)
        .await
        .unwrap();
    let status = refund(&app.channel, &request).await.unwrap_err();
    expect_error(&status, Code::Unavailable, "IDEMPOTENCY_STORE_UNAVAILABLE");
    assert_eq!(simulator.request_count(Endpoint::RefundInvoice), 0);
}
