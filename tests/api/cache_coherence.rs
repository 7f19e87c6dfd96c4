//! Read-your-writes on every replica: with `redis.url` set, a write through one
//! gateway evicts the sale from every other gateway's cache before its caller
//! gets the answer; a hit that cannot read Redis goes upstream; without Redis,
//! each replica keeps its own cache until the TTL, as before.
//!
//! Every gateway here caches for an hour, so nothing but coherence can explain
//! a replica showing a write.

use tco_gateway::grpc::proto::{CreateCommentRequest, GetSaleRequest, Sale, get_sale_request::Lookup};
use tco_simulator::{
    DOCUMENTED_SALE_ID, Endpoint, REFUNDABLE_INVOICE_ID, REFUNDABLE_SALE_ID, REFUNDABLE_SALE_PLACED, RunningSimulator,
};

use crate::{
    helpers::{PATIENCE, TestApp, new_request_id, refund_lines, set_clock_after, spawn_gateway, spawn_simulator},
    redis_server::RedisServer,
    writes::refund_of,
};

const LONG_TTL: (&str, &str) = ("cache.ttl", "1h");

/// Two replicas sharing `redis` (or, without it, nothing) in front of one simulator.
async fn replicas(simulator: &std::sync::Arc<RunningSimulator>, redis: Option<&RedisServer>) -> (TestApp, TestApp) {
    let url = redis.map(RedisServer::url);
    let mut settings = vec![LONG_TTL];
    if let Some(url) = &url {
        settings.push(("redis.url", url));
    }
    (spawn_gateway(simulator, &settings).await, spawn_gateway(simulator, &settings).await)
}

async fn get(app: &TestApp, lookup: Lookup) -> Sale {
    let request = GetSaleRequest { lookup: Some(lookup), fresh: false };
    app.sales.clone().get_sale(request).await.expect("GetSale").into_inner().sale.unwrap()
}

fn by_sale(id: &str) -> Lookup {
    Lookup::SaleId(id.into())
}

fn by_invoice(id: &str) -> Lookup {
    Lookup::InvoiceId(id.into())
}

fn details(simulator: &RunningSimulator) -> u64 {
    simulator.request_count(Endpoint::DetailSale)
}

fn refund_count(sale: &Sale) -> usize {
    refund_lines(sale).len()
}

async fn comment(app: &TestApp, text: &str) {
    let request = CreateCommentRequest {
        request_id: new_request_id(),
        sale_id: DOCUMENTED_SALE_ID.into(),
        comment: text.into(),
        ..Default::default()
    };
    app.sales.clone().create_comment(request).await.expect("CreateComment");
}

/// Reads the sale through `app` twice and checks the second read was a cache hit.
async fn cache_documented_sale(app: &TestApp) -> Sale {
    let sale = get(app, by_sale(DOCUMENTED_SALE_ID)).await;
    let calls = details(&app.simulator);
    assert_eq!(get(app, by_sale(DOCUMENTED_SALE_ID)).await, sale);
    assert_eq!(details(&app.simulator), calls, "cached on this replica");
    sale
}

#[tokio::test]
async fn a_refund_through_one_replica_is_read_back_at_once_through_another() {
    let redis = RedisServer::start().await;
    let simulator = spawn_simulator().await;
    set_clock_after(&simulator, REFUNDABLE_SALE_PLACED, 10);
    let (a, b) = replicas(&simulator, Some(&redis)).await;

    // B caches the sale under both of its keys.
    for _ in 0..2 {
        assert_eq!(refund_count(&get(&b, by_sale(REFUNDABLE_SALE_ID)).await), 0);
        assert_eq!(refund_count(&get(&b, by_invoice(REFUNDABLE_INVOICE_ID)).await), 0);
    }
    assert_eq!(details(&simulator), 2, "the second reads were hits");

    a.sales.clone().refund_invoice(refund_of(REFUNDABLE_SALE_ID, "1.00")).await.unwrap();

    assert_eq!(refund_count(&get(&b, by_sale(REFUNDABLE_SALE_ID)).await), 1, "by sale id, on the other replica");
    assert_eq!(refund_count(&get(&b, by_invoice(REFUNDABLE_INVOICE_ID)).await), 1, "by invoice id too");
    let calls = details(&simulator);
    assert_eq!(refund_count(&get(&b, by_sale(REFUNDABLE_SALE_ID)).await), 1);
    assert_eq!(details(&simulator), calls, "and cached again once read");

    // The other way round, by invoice id.
    get(&a, by_invoice(REFUNDABLE_INVOICE_ID)).await;
    let request = tco_gateway::grpc::proto::RefundInvoiceRequest {
        sale_id: String::new(),
        invoice_id: REFUNDABLE_INVOICE_ID.into(),
        ..refund_of(REFUNDABLE_SALE_ID, "2.00")
    };
    b.sales.clone().refund_invoice(request).await.unwrap();
    assert_eq!(refund_count(&get(&a, by_invoice(REFUNDABLE_INVOICE_ID)).await), 2);
    assert_eq!(refund_count(&get(&a, by_sale(REFUNDABLE_SALE_ID)).await), 2);
}

#[tokio::test]
async fn without_redis_another_replica_serves_its_cached_sale_until_the_ttl() {
    let simulator = spawn_simulator().await;
    let (a, b) = replicas(&simulator, None).await;
    let before = cache_documented_sale(&b).await;
    comment(&a, "Written on A").await;
    assert_eq!(get(&b, by_sale(DOCUMENTED_SALE_ID)).await, before, "per-replica caches, as documented");
    assert_eq!(get(&a, by_sale(DOCUMENTED_SALE_ID)).await.comments.len(), before.comments.len() + 1);
}

#[tokio::test]
async fn a_hit_that_cannot_read_redis_is_served_from_upstream() {
    let mut redis = RedisServer::start().await;
    let simulator = spawn_simulator().await;
    let (a, b) = replicas(&simulator, Some(&redis)).await;
    let before = cache_documented_sale(&b).await;

    redis.stop().await;
    // A change B's cache cannot know of: made through a replica without Redis.
    let elsewhere = spawn_gateway(&simulator, &[]).await;
    comment(&elsewhere, "Written while Redis was down").await;

    for read in 1..=2 {
        let calls = details(&simulator);
        let sale = get(&b, by_sale(DOCUMENTED_SALE_ID)).await;
        assert_eq!(sale.comments.len(), before.comments.len() + 1, "read {read}: the sale as 2Checkout has it now");
        assert_eq!(details(&simulator), calls + 1, "read {read}: from upstream, not the cache");
    }

    // Redis back (its connections broken by the restart): coherence resumes
    // with the first write, which must not be lost to a reconnection.
    redis.restart().await;
    let started = std::time::Instant::now();
    loop {
        let calls = details(&simulator);
        get(&b, by_sale(DOCUMENTED_SALE_ID)).await;
        if details(&simulator) == calls {
            break; // B reads Redis again: served from its cache
        }
        assert!(started.elapsed() < PATIENCE, "B never served from its cache again after Redis came back");
    }
    comment(&a, "Written after Redis came back").await;
    let sale = get(&b, by_sale(DOCUMENTED_SALE_ID)).await;
    assert_eq!(sale.comments.len(), before.comments.len() + 2, "{:?}", sale.comments);
}

/// A stamp after Redis lost its data (FLUSHALL here; a restart without
/// persistence or a failover elsewhere) must still be later than the epochs
/// entries recorded before: epochs never fall below Redis's clock.
#[tokio::test]
async fn a_write_after_redis_lost_its_data_still_evicts_on_every_replica() {
    let redis = RedisServer::start().await;
    let simulator = spawn_simulator().await;
    let (a, b) = replicas(&simulator, Some(&redis)).await;
    comment(&a, "Before the loss").await;
    let before = cache_documented_sale(&b).await;

    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("FLUSHALL").query_async(&mut connection).await.unwrap();

    comment(&a, "After the loss").await;
    let after = get(&b, by_sale(DOCUMENTED_SALE_ID)).await;
    assert_eq!(after.comments.len(), before.comments.len() + 1, "{:?}", after.comments);
}
