//! TLS on the gRPC listener, over real TLS connections: calls, client
//! certificates (mTLS) and the identity in them, certificate and client-CA
//! reload without a restart, start-up errors, the plaintext health listener,
//! and the refusal to serve a non-loopback address without TLS and a policy.

use std::time::Duration;

use rcgen::SanType;
use tco_gateway::{
    grpc::proto::{GetSaleRequest, get_sale_request::Lookup, sales_service_client::SalesServiceClient},
    reload::Reloading,
    transport::{
        incoming::{self, ListenerSettings},
        tls::TlsFiles,
    },
};
use tco_simulator::DOCUMENTED_SALE_ID;
use tokio_stream::StreamExt;
use tonic::{Code, transport::Channel, transport::server::Connected};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

use crate::{
    certs::{Issued, TestCa, TlsDir, build_gateway, serial_of, served_certificate, spawn_gateway_with, tls_channel},
    helpers::{GatewayProcess, PATIENCE, connect, spawn_gateway_process, spawn_simulator},
};

/// Files are re-read this often in these specs (the default is 10 s).
const RELOAD: &str = "50ms";

fn get_documented_sale() -> GetSaleRequest {
    GetSaleRequest { lookup: Some(Lookup::SaleId(DOCUMENTED_SALE_ID.into())), fresh: false }
}

async fn get_sale(channel: &Channel) -> Result<(), tonic::Status> {
    SalesServiceClient::new(channel.clone()).get_sale(get_documented_sale()).await.map(|_| ())
}

/// Polls `check` (each try a new connection) until it holds, failing the spec after [`PATIENCE`].
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    while !check().await {
        assert!(started.elapsed() < PATIENCE, "waited {PATIENCE:?} for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The call got no answer at all: the connection failed under it (tonic's own status).
fn assert_transport_failure(status: &tonic::Status) {
    assert!(matches!(status.code(), Code::Unavailable | Code::Unknown), "{status:?}");
    assert!(format!("{status:?}").contains("transport error"), "an answer, not a failed connection: {status:?}");
}

fn with(mut settings: Vec<(&'static str, String)>, more: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    settings.extend(more.iter().map(|(k, v)| (*k, (*v).to_owned())));
    settings
}

#[tokio::test]
async fn a_call_over_tls_is_served_and_a_plaintext_caller_gets_nothing() {
    let simulator = spawn_simulator().await;
    let ca = TestCa::new("server CA");
    let dir = TlsDir::new(&ca, &ca.server(), None);
    let gateway = spawn_gateway_with(&simulator, &dir.settings(false)).await;

    let tls = tls_channel(gateway.addr, &ca, None).await.unwrap();
    get_sale(&tls.channel).await.expect("GetSale over TLS");

    let plaintext = Channel::from_shared(format!("http://{}", gateway.addr)).unwrap().connect().await;
    if let Ok(channel) = plaintext {
        let status = get_sale(&channel).await.expect_err("a plaintext call on the TLS port");
        assert_transport_failure(&status);
    }
}

#[tokio::test]
async fn with_a_client_ca_a_certificate_it_signed_is_accepted_and_no_certificate_still_connects() {
    let simulator = spawn_simulator().await;
    let (ca, client_ca) = (TestCa::new("server CA"), TestCa::new("client CA"));
    let dir = TlsDir::new(&ca, &ca.server(), Some(&client_ca));
    let gateway = spawn_gateway_with(&simulator, &dir.settings(true)).await;

    let client = client_ca.client("support-tool", vec![]);
    let mtls = tls_channel(gateway.addr, &ca, Some(&client)).await.unwrap();
    get_sale(&mtls.channel).await.expect("GetSale with a client certificate");

    // Identifying with a bearer token instead is the auth layer's business: TLS lets it through.
    let anonymous = tls_channel(gateway.addr, &ca, None).await.unwrap();
    get_sale(&anonymous.channel).await.expect("GetSale without a client certificate");
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_fails_the_handshake() {
    let simulator = spawn_simulator().await;
    let (ca, client_ca, stranger) = (TestCa::new("server CA"), TestCa::new("client CA"), TestCa::new("other CA"));
    let dir = TlsDir::new(&ca, &ca.server(), Some(&client_ca));
    let gateway = spawn_gateway_with(&simulator, &dir.settings(true)).await;

    let forged = stranger.client("support-tool", vec![]);
    // TLS 1.3: the client may think the handshake done before the server checks its certificate,
    // so the refusal shows on connecting or on the first call, never as an answer.
    match tls_channel(gateway.addr, &ca, Some(&forged)).await {
        Err(_) => {}
        Ok(channel) => {
            let status = get_sale(&channel.channel).await.expect_err("a call with a certificate of another CA");
            assert_transport_failure(&status);
            assert!(format!("{status:?}").contains("UnknownCA"), "not the server's refusal: {status:?}");
        }
    }
}

#[tokio::test]
async fn the_identity_in_a_client_certificate_comes_with_its_connection() {
    let (ca, client_ca) = (TestCa::new("server CA"), TestCa::new("client CA"));
    let dir = TlsDir::new(&ca, &ca.server(), Some(&client_ca));
    let files = TlsFiles {
        cert_file: dir.file("cert.pem"),
        key_file: dir.file("key.pem"),
        client_ca_file: Some(dir.file("client-ca.pem")),
    };
    let contents: Vec<Vec<u8>> = files.paths().iter().map(|path| std::fs::read(path).unwrap()).collect();
    let config = files.server_config(&contents).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut connections = incoming::accept(
        listener,
        ListenerSettings {
            tls: Some(Reloading::fixed(config)),
            handshake_timeout: PATIENCE,
            max_concurrent_handshakes: 8,
            idle_timeout: PATIENCE,
        },
    );

    let spiffe = client_ca.client(
        "support-tool",
        vec![
            SanType::DnsName("support.payments.internal".try_into().unwrap()),
            SanType::URI("spiffe://payments.internal/support-tool".try_into().unwrap()),
        ],
    );
    for (client, expected) in [
        (Some(&spiffe), Some("spiffe://payments.internal/support-tool")),
        (Some(&client_ca.client("reporting", vec![])), Some("reporting")),
        (None, None),
    ] {
        let config = crate::certs::client_config(&ca, client);
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let _client = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.unwrap();
        let connection = tokio::time::timeout(PATIENCE, connections.next()).await.unwrap().unwrap().unwrap();
        let info = connection.connect_info();
        assert_eq!(info.certificate_identity().map(|i| i.as_str()), expected);
        assert!(info.remote_addr().is_some_and(|a| a.ip().is_loopback()));
    }
}

#[tokio::test]
async fn a_replaced_certificate_is_served_to_new_connections_while_open_ones_keep_working() {
    let simulator = spawn_simulator().await;
    let ca = TestCa::new("server CA");
    let (first, second) = (ca.server(), ca.server());
    let dir = TlsDir::new(&ca, &first, None);
    let gateway =
        spawn_gateway_with(&simulator, &with(dir.settings(false), &[("server.reload_interval", RELOAD)])).await;
    let open = tls_channel(gateway.addr, &ca, None).await.unwrap();
    get_sale(&open.channel).await.unwrap();
    assert_eq!(serial_of(&open.served.lock().unwrap()[0]), first.serial());

    dir.write_server(&second);
    until("the new certificate on a new connection", || async {
        serial_of(&served_certificate(gateway.addr, &ca).await.unwrap()) == second.serial()
    })
    .await;

    get_sale(&open.channel).await.expect("the open connection still serves");
    assert_eq!(open.connections(), 1, "the open connection was not replaced");
}

#[tokio::test]
async fn a_bad_new_certificate_keeps_the_old_one_and_says_why() {
    let simulator = spawn_simulator().await;
    let ca = TestCa::new("server CA");
    let first = ca.server();
    let dir = TlsDir::new(&ca, &first, None);
    let env: Vec<(&str, String)> = vec![
        ("TCO_SERVER__TLS__CERT_FILE", dir.file("cert.pem").display().to_string()),
        ("TCO_SERVER__TLS__KEY_FILE", dir.file("key.pem").display().to_string()),
        ("TCO_SERVER__RELOAD_INTERVAL", RELOAD.into()),
    ];
    let gateway: GatewayProcess = spawn_gateway_process(&simulator, &env).await;

    std::fs::write(dir.file("cert.pem"), "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
        .unwrap();
    let warning = gateway.wait_for_line("keeping the previous version").await;
    assert!(warning.contains("server.tls.cert_file") && warning.contains("cert.pem"), "{warning}");
    let served = served_certificate(gateway.addr(), &ca).await.expect("still serving TLS");
    assert_eq!(serial_of(&served), first.serial());
}

/// Whether a GetSale on a new connection presenting `client` is served.
async fn calls_with(addr: std::net::SocketAddr, ca: &TestCa, client: &Issued) -> bool {
    match tls_channel(addr, ca, Some(client)).await {
        Ok(channel) => get_sale(&channel.channel).await.is_ok(),
        Err(_) => false,
    }
}

#[tokio::test]
async fn a_replaced_client_ca_decides_new_handshakes() {
    let simulator = spawn_simulator().await;
    let (ca, old_ca, new_ca) = (TestCa::new("server CA"), TestCa::new("old client CA"), TestCa::new("new client CA"));
    let dir = TlsDir::new(&ca, &ca.server(), Some(&old_ca));
    let gateway =
        spawn_gateway_with(&simulator, &with(dir.settings(true), &[("server.reload_interval", RELOAD)])).await;
    let (old_client, new_client) = (old_ca.client("old-tool", vec![]), new_ca.client("new-tool", vec![]));
    let addr = gateway.addr;
    assert!(calls_with(addr, &ca, &old_client).await);
    assert!(!calls_with(addr, &ca, &new_client).await);

    dir.write_client_ca(&new_ca);
    until("a certificate of the new client CA is accepted", || calls_with(addr, &ca, &new_client)).await;
    assert!(!calls_with(addr, &ca, &old_client).await, "the old client CA no longer vouches");
}

#[tokio::test]
async fn a_bad_certificate_or_key_at_start_stops_start_up_naming_the_setting_and_the_file() {
    let simulator = spawn_simulator().await;
    let ca = TestCa::new("server CA");
    let (server, other) = (ca.server(), ca.server());
    let dir = TlsDir::new(&ca, &server, None);

    std::fs::write(dir.file("key.pem"), &other.key_pem).unwrap();
    let error = build_gateway(&simulator, &dir.settings(false)).await.err().expect("a mismatched key is refused");
    assert!(error.contains("server.tls.key_file") && error.contains("key.pem"), "{error}");

    std::fs::write(dir.file("key.pem"), &server.key_pem).unwrap();
    std::fs::write(dir.file("cert.pem"), "not PEM at all").unwrap();
    let error = build_gateway(&simulator, &dir.settings(false)).await.err().expect("a file without a certificate");
    assert!(error.contains("server.tls.cert_file") && error.contains("cert.pem"), "{error}");

    let missing = with(dir.settings(false), &[]);
    let missing: Vec<_> = missing
        .into_iter()
        .map(|(k, v)| if k == "server.tls.cert_file" { (k, format!("{v}.missing")) } else { (k, v) })
        .collect();
    let error = build_gateway(&simulator, &missing).await.err().expect("a missing certificate file");
    assert!(error.contains("server.tls.cert_file") && error.contains("cert.pem.missing"), "{error}");
}

#[tokio::test]
async fn the_health_listener_answers_serving_in_plaintext_while_the_main_port_requires_tls() {
    let simulator = spawn_simulator().await;
    let ca = TestCa::new("server CA");
    let dir = TlsDir::new(&ca, &ca.server(), Some(&TestCa::new("client CA")));
    let gateway =
        spawn_gateway_with(&simulator, &with(dir.settings(true), &[("server.health_listen_addr", "127.0.0.1:0")]))
            .await;
    let health_addr = gateway.health_addr.expect("a health listener");

    let mut health = HealthClient::new(connect(health_addr).await);
    for service in ["", "twocheckout.v1.SalesService"] {
        let answer = health.check(HealthCheckRequest { service: service.into() }).await.unwrap().into_inner();
        assert_eq!(answer.status(), ServingStatus::Serving, "{service:?}");
    }
    let status = SalesServiceClient::new(connect(health_addr).await)
        .get_sale(get_documented_sale())
        .await
        .expect_err("only health on the health listener");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");

    let plaintext = Channel::from_shared(format!("http://{}", gateway.addr)).unwrap().connect().await;
    if let Ok(channel) = plaintext {
        let status = HealthClient::new(channel).check(HealthCheckRequest::default()).await.expect_err("TLS only");
        assert_transport_failure(&status);
    }
}

#[tokio::test]
async fn a_non_loopback_address_without_tls_and_a_policy_refuses_to_start_unless_insecure() {
    let simulator = spawn_simulator().await;
    let everywhere = ("TCO_SERVER__LISTEN_ADDR", "0.0.0.0:0".to_owned());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tco-gateway"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TCO_ADMIN_API__BASE_URL", simulator.admin_api_base_url())
        .env("TCO_ADMIN_API__USERNAME", "user")
        .env("TCO_ADMIN_API__PASSWORD", "password")
        .env(everywhere.0, &everywhere.1)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Waits on its exit; one that serves instead is killed and fails the spec.
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the gateway started on 0.0.0.0 without TLS, a policy or server.insecure");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success(), "{:?}", output.status);
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    for setting in ["server.listen_addr", "server.tls.cert_file", "auth.policy_file", "TCO_SERVER__INSECURE"] {
        assert!(said.contains(setting), "{setting} not named in: {said}");
    }

    let gateway = spawn_gateway_process(&simulator, &[everywhere, ("TCO_SERVER__INSECURE", "true".into())]).await;
    let warning = gateway.wait_for_line("server.insecure is set").await;
    assert!(warning.contains("WARN"), "{warning}");
    get_sale(&connect(gateway.addr()).await).await.expect("served, plaintext, as asked");
}

#[tokio::test]
async fn zero_setup_serves_plaintext_on_loopback_and_warns_about_it() {
    let simulator = spawn_simulator().await;
    let gateway = spawn_gateway_process(&simulator, &[]).await;
    let warning = gateway.wait_for_line("serving on loopback without TLS").await;
    assert!(warning.contains("WARN") && warning.contains("auth.policy_file"), "{warning}");
    get_sale(&connect(gateway.addr()).await).await.expect("served");
}

#[tokio::test]
async fn over_mtls_the_policy_knows_the_caller_by_its_certificate() {
    let simulator = spawn_simulator().await;
    let (ca, client_ca) = (TestCa::new("server CA"), TestCa::new("client CA"));
    let dir = TlsDir::new(&ca, &ca.server(), Some(&client_ca));
    let policy = dir.file("policy.toml");
    std::fs::write(
        &policy,
        "[[caller]]\nidentity = \"spiffe://payments.internal/support-tool\"\n\
         methods = [\"twocheckout.v1.SalesService/GetSale\"]\n",
    )
    .unwrap();
    let settings = with(dir.settings(true), &[("auth.policy_file", policy.to_str().unwrap())]);
    let gateway = spawn_gateway_with(&simulator, &settings).await;

    let support_tool = client_ca.client(
        "support-tool",
        vec![
            SanType::DnsName("support.payments.internal".try_into().unwrap()),
            SanType::URI("spiffe://payments.internal/support-tool".try_into().unwrap()),
        ],
    );
    let known = tls_channel(gateway.addr, &ca, Some(&support_tool)).await.unwrap();
    get_sale(&known.channel).await.expect("the SPIFFE ID in its certificate may call GetSale");
    let listing = SalesServiceClient::new(known.channel.clone())
        .list_sales(tco_gateway::grpc::proto::ListSalesRequest::default())
        .await
        .expect_err("ListSales is not in its methods");
    assert_eq!(listing.code(), Code::PermissionDenied, "{listing:?}");

    let stranger = tls_channel(gateway.addr, &ca, Some(&client_ca.client("reporting", vec![]))).await.unwrap();
    let status = get_sale(&stranger.channel).await.expect_err("a CN the policy does not know");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    let anonymous = tls_channel(gateway.addr, &ca, None).await.unwrap();
    let status = get_sale(&anonymous.channel).await.expect_err("neither a certificate nor a token");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
}
