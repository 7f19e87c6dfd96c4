//! Exactly-once catalog writes and coherent catalog caches across replicas:
//! two decorator stacks as the gateway composes them (`app::Catalog`: the
//! cache over the at-most-once writes over the Admin API client), sharing one
//! real `redis-server` (idempotency records in namespace `catalog`, cache
//! stamps), over real HTTP against one real simulator whose request counters
//! and catalog are the truth. The simulator loses answers the way a network
//! does: it applies the write, then never answers.

use std::{sync::Arc, time::Duration};

use chrono::NaiveDate;
use secrecy::SecretString;
use tco_gateway::{
    app::Catalog,
    cache::{CachedCatalog, CatalogCacheSettings, SharedTags},
    config::{DEFAULT_ADMIN_API_MAX_BODY_BYTES, RedisSettings, WireFormat},
    domain::{
        AdminCode, CallContext, CatalogPort, CatalogWrite, CatalogWritePort, CatalogWriteRequest, CouponType, Error,
        ListProductsQuery, NewCoupon, NewProduct, PageRequest, ProductFields, RequestId, Text, TextRules,
    },
    idempotency::{IdempotencyBackend, IdempotentCatalogWrites, RedisIdempotencyStore},
    shared_state,
    twocheckout::{AdminApiClient, AdminApiConfig},
};
use tco_simulator::{Endpoint, Fault, RunningSimulator, SimulatorConfig};

use crate::{
    helpers::{NEVER, spawn_simulator},
    redis_server::RedisServer,
};

/// Short, so a lost answer becomes OUTCOME_UNKNOWN quickly; the simulator never answers at all.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// One replica's catalog stack, built as `Application::build` builds it, on `redis`.
async fn replica(simulator: &RunningSimulator, redis: &RedisServer) -> Catalog {
    let defaults = SimulatorConfig::default();
    let client = AdminApiClient::new(AdminApiConfig {
        base_url: simulator.admin_api_base_url().parse().unwrap(),
        username: defaults.api_username,
        password: SecretString::from(defaults.api_password),
        wire_format: WireFormat::Json,
        connect_timeout: Duration::from_secs(5),
        request_timeout: REQUEST_TIMEOUT,
        max_body_bytes: usize::try_from(DEFAULT_ADMIN_API_MAX_BODY_BYTES).unwrap(),
        max_concurrent_requests: 4,
    })
    .unwrap();
    let settings = RedisSettings { url: Some(SecretString::from(redis.url())) };
    let connection = shared_state::connect(&settings).await.unwrap().unwrap();
    let store = RedisIdempotencyStore::new(connection.clone(), "catalog", Duration::from_secs(3600), REQUEST_TIMEOUT);
    let writes = IdempotentCatalogWrites::new(Arc::new(client), Arc::new(IdempotencyBackend::Redis(store)));
    let ttl = Duration::from_secs(3600);
    CachedCatalog::new(Arc::new(writes), CatalogCacheSettings { ttl, max_bytes: 1 << 20 })
        .with_shared_tags(SharedTags::new(connection, ttl, REQUEST_TIMEOUT))
}

const CTX: CallContext = CallContext { deadline: None, fresh: false };
const FRESH: CallContext = CallContext { deadline: None, fresh: true };

fn request(id: &str, write: CatalogWrite) -> CatalogWriteRequest {
    CatalogWriteRequest { request_id: id.parse::<RequestId>().unwrap(), write }
}

fn create_product(name: &str) -> CatalogWrite {
    let text = |value: &str| Text::required(value, TextRules::line(255)).unwrap();
    let fields = ProductFields { name: Some(text(name)), price: Some("4.99".parse().unwrap()), ..Default::default() };
    CatalogWrite::CreateProduct(NewProduct::new(fields).unwrap())
}

fn named(name: &str) -> ListProductsQuery {
    ListProductsQuery {
        assigned_product_id: None,
        vendor_product_id: None,
        name: Some(name.into()),
        page: PageRequest { page: 1, page_size: 100 },
        sort_column: None,
        sort_direction: None,
    }
}

fn assert_unknown(outcome: Result<impl std::fmt::Debug, Error>) {
    assert!(matches!(outcome, Err(Error::OutcomeUnknown { .. })), "{outcome:?}");
}

#[tokio::test]
async fn a_lost_product_create_retried_on_another_replica_is_found_not_created_twice() {
    let redis = RedisServer::start().await;
    let simulator = spawn_simulator().await;
    let (a, b) = (replica(&simulator, &redis).await, replica(&simulator, &redis).await);
    // Replica B has the (empty) listing cached before the write.
    assert!(b.list_products(CTX, &named("Spec Widget")).await.unwrap().rows.is_empty());

    // 2Checkout creates the product, then its answer never comes.
    simulator.inject_fault(Endpoint::CreateProduct, Fault::delay_after_processing(NEVER).times(1));
    let create = request("8a4c1f00-0000-4000-8000-000000000001", create_product("Spec Widget"));
    assert_unknown(a.write_catalog(CTX, &create).await);
    assert_eq!(simulator.request_count(Endpoint::CreateProduct), 1);

    let receipt = b.write_catalog(CTX, &create).await.unwrap();
    assert_eq!(receipt.message, "Product successfully created.");
    assert_eq!(simulator.request_count(Endpoint::CreateProduct), 1, "never sent again");
    let listed = b.list_products(FRESH, &named("Spec Widget")).await.unwrap().rows;
    assert_eq!(listed.len(), 1, "one product: {listed:?}");
    assert_eq!(Some(&listed[0].product_id), receipt.product_id.as_ref());
    // The retry's outcome is now the record's, on either replica, without another call.
    assert_eq!(a.write_catalog(CTX, &create).await.unwrap(), receipt);
    assert_eq!(simulator.request_count(Endpoint::CreateProduct), 1);
}

#[tokio::test]
async fn a_write_through_one_replica_evicts_the_other_replicas_cached_reads() {
    let redis = RedisServer::start().await;
    let simulator = spawn_simulator().await;
    let (a, b) = (replica(&simulator, &redis).await, replica(&simulator, &redis).await);
    assert!(b.list_products(CTX, &named("Spec Gadget")).await.unwrap().rows.is_empty());
    let reads = simulator.request_count(Endpoint::ListProducts);
    assert!(b.list_products(CTX, &named("Spec Gadget")).await.unwrap().rows.is_empty());
    assert_eq!(simulator.request_count(Endpoint::ListProducts), reads, "served from B's cache");

    let create = request("8a4c1f00-0000-4000-8000-000000000002", create_product("Spec Gadget"));
    let receipt = a.write_catalog(CTX, &create).await.unwrap();
    let listed = b.list_products(CTX, &named("Spec Gadget")).await.unwrap().rows;
    assert_eq!(listed.iter().map(|p| Some(&p.product_id)).collect::<Vec<_>>(), [receipt.product_id.as_ref()]);
}

#[tokio::test]
async fn a_lost_coupon_delete_retried_on_another_replica_succeeds_though_the_coupon_is_gone() {
    let redis = RedisServer::start().await;
    let simulator = spawn_simulator().await;
    let (a, b) = (replica(&simulator, &redis).await, replica(&simulator, &redis).await);
    let code = "SAVEJUNE".parse().unwrap();
    b.get_coupon(CTX, &code).await.unwrap();

    simulator.inject_fault(Endpoint::DeleteCoupon, Fault::delay_after_processing(NEVER).times(1));
    let delete = request("8a4c1f00-0000-4000-8000-000000000003", CatalogWrite::DeleteCoupon { code: code.clone() });
    assert_unknown(a.write_catalog(CTX, &delete).await);
    // Gone on every replica, though the write's outcome is unknown: 2Checkout answers an unknown coupon FORBIDDEN.
    let gone = b.get_coupon(CTX, &code).await;
    assert!(matches!(&gone, Err(Error::Vendor(e)) if e.code == AdminCode::Forbidden), "{gone:?}");

    let receipt = b.write_catalog(CTX, &delete).await.unwrap();
    assert_eq!(receipt.message, "Coupon successfully deleted.");
    assert_eq!(simulator.request_count(Endpoint::DeleteCoupon), 2, "a delete leaves nothing to compare: resent");
}

#[tokio::test]
async fn a_create_that_never_reached_2checkout_is_sent_again_and_happens_once() {
    let redis = RedisServer::start().await;
    let simulator = spawn_simulator().await;
    let (a, b) = (replica(&simulator, &redis).await, replica(&simulator, &redis).await);
    // A proxy's 502: the endpoint never ran, but the gateway cannot know that.
    simulator.inject_fault(Endpoint::CreateCoupon, Fault::respond(502, "text/html", "<h1>Bad Gateway</h1>").times(1));
    let create = request(
        "8a4c1f00-0000-4000-8000-000000000004",
        CatalogWrite::CreateCoupon(NewCoupon {
            code: None,
            date_expire: NaiveDate::from_ymd_opt(2031, 3, 4).unwrap(),
            coupon_type: CouponType::Shipping,
            discount: None,
            minimum_purchase: None,
            products: None,
        }),
    );
    let before = b.list_coupons(FRESH).await.unwrap().len();
    assert_unknown(a.write_catalog(CTX, &create).await);
    let receipt = b.write_catalog(CTX, &create).await.unwrap();
    assert_eq!(receipt.message, "Coupon successfully created");
    assert_eq!(simulator.request_count(Endpoint::CreateCoupon), 2);
    let coupons = b.list_coupons(CTX).await.unwrap();
    assert_eq!(coupons.len(), before + 1);
    assert!(coupons.iter().any(|c| Some(&c.code) == receipt.coupon_code.as_ref()));
}

#[tokio::test]
async fn the_same_request_id_for_another_write_on_another_replica_is_refused() {
    let redis = RedisServer::start().await;
    let simulator = spawn_simulator().await;
    let (a, b) = (replica(&simulator, &redis).await, replica(&simulator, &redis).await);
    let id = "8a4c1f00-0000-4000-8000-000000000005";
    a.write_catalog(CTX, &request(id, create_product("Spec One"))).await.unwrap();
    let reused = b.write_catalog(CTX, &request(id, create_product("Spec Two"))).await;
    assert!(matches!(reused, Err(Error::RequestIdReused { .. })), "{reused:?}");
    assert_eq!(simulator.request_count(Endpoint::CreateProduct), 1);
}
