//! What a hostile answer costs in memory: the peak RSS growth of the real
//! gateway binary while 2Checkout (a stand-in HTTP server in this process)
//! answers with
//! - a 300 MB body, streamed without a `Content-Length`, to GetSale (Admin API)
//!   and to Authorize (Payment API);
//! - a JSON array answer just under the Admin API's cap, to 8 concurrent GetSale
//!   calls (the cap is set to 1 MiB, the default, and to 8 MiB, the former fixed cap);
//! - 1 MiB of `{}` in a list of invoices (each one a whole invoice to decode),
//!   and 1 MiB of empty XML elements to 8 concurrent calls;
//! - a 1 MB body nested as deep as it goes, in JSON and in XML, to GetSale.
//!
//! Each scenario gets a fresh gateway process (so its high-water mark is that
//! scenario's alone): one warm-up call, then `VmHWM` from `/proc/<pid>/status`
//! as the baseline, then the scenario, then `VmHWM` and `VmRSS` again. The
//! figure is the growth of the high-water mark. A process that dies (a stack
//! overflow) is reported as such.
//!
//! Run with `cargo bench --bench rss_hostile_answers` (Linux only: it reads /proc).
//! `TCO_GATEWAY_BIN=/path/to/tco-gateway` measures another build of the binary,
//! e.g. one of the main branch, for a before/after comparison.

// Test code: a failed unwrap is a failed measurement, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    convert::Infallible,
    io::BufRead as _,
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, body::Body, extract::State, http::header, response::Response};
use tco_gateway::grpc::proto::{
    AuthorizeRequest, BillingAddress, Currency, GetSaleRequest,
    authorization_service_client::AuthorizationServiceClient, authorize_request::Amount, get_sale_request::Lookup,
    sales_service_client::SalesServiceClient,
};
use tonic::transport::Channel;

const MIB: usize = 1024 * 1024;

/// What the stand-in answers to every request.
#[derive(Clone, Copy, Debug)]
enum Hostile {
    /// A small, valid detail_sale: the warm-up.
    Small,
    /// A JSON answer of this many bytes, streamed in 64 KiB chunks without a `Content-Length`.
    Huge(usize),
    /// `{"x":[0,0,…]}` of this many bytes, with its `Content-Length`.
    Array(usize),
    /// `{"sale":{"invoices":[{},{},…]}}` of this many bytes: each 3-byte `{}` is a whole invoice to decode.
    EmptyInvoices(usize),
    /// `<response><x/><x/>…</response>` of this many bytes: the most elements XML can pack.
    XmlElements(usize),
    /// A JSON answer nested as deep as fits in this many bytes.
    DeepJson(usize),
    /// An XML answer nested as deep as fits in this many bytes.
    DeepXml(usize),
}

type Mode = Arc<Mutex<Hostile>>;

async fn answer(State(mode): State<Mode>) -> Response {
    let mode = *mode.lock().unwrap();
    let (content_type, body) = match mode {
        Hostile::Small => ("application/json", Body::from(r#"{"response_code":"OK","sale":{"sale_id":"1"}}"#)),
        Hostile::Huge(bytes) => {
            let chunk = vec![b'x'; 64 * 1024];
            let start = br#"{"response_code":"OK","padding":""#.to_vec();
            let chunks = std::iter::once(start).chain(std::iter::repeat_n(chunk, bytes / (64 * 1024)));
            ("application/json", Body::from_stream(tokio_stream::iter(chunks.map(Ok::<_, Infallible>))))
        }
        Hostile::Array(bytes) => {
            let elements = (bytes - r#"{"x":[0]}"#.len()) / 2;
            ("application/json", Body::from(format!(r#"{{"x":[0{}]}}"#, ",0".repeat(elements))))
        }
        Hostile::EmptyInvoices(bytes) => {
            let invoices = (bytes - r#"{"sale":{"invoices":[{}]}}"#.len()) / 3;
            ("application/json", Body::from(format!(r#"{{"sale":{{"invoices":[{{}}{}]}}}}"#, ",{}".repeat(invoices))))
        }
        Hostile::XmlElements(bytes) => {
            let elements = (bytes - "<response></response>".len()) / "<x/>".len();
            ("application/xml", Body::from(format!("<response>{}</response>", "<x/>".repeat(elements))))
        }
        Hostile::DeepJson(bytes) => {
            let levels = bytes / 2;
            ("application/json", Body::from(format!("{}{}", "[".repeat(levels), "]".repeat(levels))))
        }
        Hostile::DeepXml(bytes) => {
            let levels = bytes / "<x></x>".len();
            ("application/xml", Body::from(format!("{}{}", "<x>".repeat(levels), "</x>".repeat(levels))))
        }
    };
    let mut response = Response::new(body);
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
    response
}

async fn stand_in(mode: Mode) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new().fallback(answer).with_state(mode);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

struct Gateway {
    child: Child,
    channel: Channel,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Gateway {
    /// Starts the binary against the stand-in; returns once it accepts calls on the port it reports.
    async fn start(upstream: SocketAddr, env: &[(&str, String)]) -> Self {
        let binary = std::env::var("TCO_GATEWAY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_tco-gateway").to_owned());
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("TCO_SERVER__LISTEN_ADDR", "127.0.0.1:0")
            .env("TCO_LOG__FILTER", "error,tco_gateway::app=info")
            .env("TCO_ADMIN_API__BASE_URL", format!("http://{upstream}/api/"))
            .env("TCO_ADMIN_API__USERNAME", "user")
            .env("TCO_ADMIN_API__PASSWORD", "password")
            .env("TCO_ADMIN_API__REQUEST_TIMEOUT", "120s")
            .env("TCO_PAYMENT_API__BASE_URL", format!("http://{upstream}/checkout/api/1/"))
            .env("TCO_PAYMENT_API__SELLER_ID", "901248156")
            .env("TCO_PAYMENT_API__PRIVATE_KEY", "3508079E-5383-44D4-BF69-DC619C0D9811")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command.spawn().expect("the gateway binary starts");
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let (found, listening) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in stdout.lines().map_while(Result::ok) {
                if line.contains("gRPC server listening")
                    && let Some(found) = found.take()
                {
                    let _ = found.send(line);
                }
            }
        });
        let line = tokio::time::timeout(Duration::from_secs(20), listening).await.unwrap().unwrap();
        let port = &line[line.find("127.0.0.1:").unwrap() + "127.0.0.1:".len()..];
        let port: String = port.chars().take_while(char::is_ascii_digit).collect();
        let channel = Channel::from_shared(format!("http://127.0.0.1:{port}")).unwrap().connect().await.unwrap();
        Self { child, channel }
    }

    /// A figure from `/proc/<pid>/status`, in KiB; `None` once the process is gone.
    fn status_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

async fn get_sale(channel: Channel) -> Result<(), tonic::Status> {
    let request = GetSaleRequest { lookup: Some(Lookup::SaleId("4647892238".into())), fresh: true };
    SalesServiceClient::new(channel).get_sale(request).await.map(drop)
}

async fn authorize(channel: Channel) -> Result<(), tonic::Status> {
    let request = AuthorizeRequest {
        request_id: uuid_like(),
        merchant_order_id: "order-1".into(),
        token: "MjFiYzIzYjAtYjE4YS00ZmI0LTg4YzYtNDIzMTBlMjc0MDlk".into(),
        currency: Currency::Usd.into(),
        amount: Some(Amount::Total("25.00".into())),
        billing_address: Some(BillingAddress {
            name: "Testing Tester".into(),
            address_line_1: "123 Test St".into(),
            city: "Columbus".into(),
            state: "Ohio".into(),
            zip_code: "43123".into(),
            country: "USA".into(),
            email: "example@2co.com".into(),
            phone_number: "5555555555".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    AuthorizationServiceClient::new(channel).authorize(request).await.map(drop)
}

/// A fresh AIP-155 request id (a UUID v4 from the clock and a counter: no randomness needed here).
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", nanos as u32, n & 0xffff, n & 0xfff, nanos & 0xfff, nanos >> 16)
}

/// Which call a scenario makes, and how many at once.
#[derive(Clone, Copy)]
enum Call {
    GetSale(usize),
    Authorize,
}

async fn measure(name: &str, mode: &Mode, upstream: SocketAddr, body: Hostile, call: Call, env: &[(&str, String)]) {
    *mode.lock().unwrap() = Hostile::Small;
    let mut gateway = Gateway::start(upstream, env).await;
    let _ = get_sale(gateway.channel.clone()).await;
    let _ = authorize(gateway.channel.clone()).await;
    let baseline = gateway.status_kib("VmHWM:").unwrap();
    *mode.lock().unwrap() = body;
    let mut calls = tokio::task::JoinSet::new();
    match call {
        Call::GetSale(concurrent) => {
            for _ in 0..concurrent {
                calls.spawn(get_sale(gateway.channel.clone()));
            }
        }
        Call::Authorize => {
            calls.spawn(authorize(gateway.channel.clone()));
        }
    }
    let mut outcomes = Vec::new();
    while let Some(done) = calls.join_next().await {
        outcomes.push(outcome(done.unwrap()));
    }
    let (hwm, rss) = (gateway.status_kib("VmHWM:"), gateway.status_kib("VmRSS:"));
    let alive = gateway.alive();
    outcomes.sort();
    outcomes.dedup();
    match (alive, hwm, rss) {
        (true, Some(hwm), Some(rss)) => println!(
            "{name:<48} peak RSS growth {:>7.1} MB   (baseline {:>5.1} MB, peak {:>6.1} MB, now {:>6.1} MB)   -> {}",
            (hwm.saturating_sub(baseline)) as f64 / 1024.0,
            baseline as f64 / 1024.0,
            hwm as f64 / 1024.0,
            rss as f64 / 1024.0,
            outcomes.join(", ")
        ),
        _ => println!("{name:<48} THE GATEWAY PROCESS DIED   -> {}", outcomes.join(", ")),
    }
}

fn outcome(result: Result<(), tonic::Status>) -> String {
    match result {
        Ok(()) => "OK".into(),
        Err(status) => {
            let reason = tonic_types::StatusExt::get_error_details(&status)
                .error_info()
                .map(|info| info.reason.clone())
                .unwrap_or_default();
            format!("{:?} {reason}", status.code())
        }
    }
}

#[tokio::main]
async fn main() {
    // `cargo test --benches` runs each bench binary with `--list`: there is nothing to list.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mode: Mode = Arc::new(Mutex::new(Hostile::Small));
    let upstream = stand_in(Arc::clone(&mode)).await;
    let cap = |key: &'static str, bytes: usize| vec![(key, bytes.to_string())];
    let admin_cap = "TCO_ADMIN_API__MAX_BODY_BYTES";
    let big = 300 * 1000 * 1000;
    println!(
        "binary: {}",
        std::env::var("TCO_GATEWAY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_tco-gateway").into())
    );
    measure("300 MB answer to GetSale (default cap)", &mode, upstream, Hostile::Huge(big), Call::GetSale(1), &[]).await;
    measure("300 MB answer to Authorize (default cap)", &mode, upstream, Hostile::Huge(big), Call::Authorize, &[])
        .await;
    let array = Hostile::Array(MIB - 64);
    measure(
        "1 MiB JSON array x8 concurrent (cap 1 MiB)",
        &mode,
        upstream,
        array,
        Call::GetSale(8),
        &cap(admin_cap, MIB),
    )
    .await;
    let array = Hostile::Array(8 * MIB - 64);
    let eight = cap(admin_cap, 8 * MIB);
    measure("8 MiB JSON array x1 (cap 8 MiB)", &mode, upstream, array, Call::GetSale(1), &eight).await;
    measure("8 MiB JSON array x8 concurrent (cap 8 MiB)", &mode, upstream, array, Call::GetSale(8), &eight).await;
    let invoices = Hostile::EmptyInvoices(MIB - 64);
    measure(
        "1 MiB of empty invoices {} x1 (cap 1 MiB)",
        &mode,
        upstream,
        invoices,
        Call::GetSale(1),
        &cap(admin_cap, MIB),
    )
    .await;
    let elements = Hostile::XmlElements(MIB - 64);
    measure(
        "1 MiB of XML elements x8 concurrent (cap 1 MiB)",
        &mode,
        upstream,
        elements,
        Call::GetSale(8),
        &cap(admin_cap, MIB),
    )
    .await;
    measure("1 MB nested JSON to GetSale", &mode, upstream, Hostile::DeepJson(1_000_000), Call::GetSale(1), &[]).await;
    measure("1 MB nested XML to GetSale", &mode, upstream, Hostile::DeepXml(1_000_000), Call::GetSale(1), &[]).await;
}
