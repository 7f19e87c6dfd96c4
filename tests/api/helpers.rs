//! `spawn_app()` and friends: start the real parts and hand out clients.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use figment::{Figment, providers::Serialized};
use tco_gateway::{
    app::{Application, Journal, Sales},
    config::Settings,
    grpc::proto::{BillingStatus, LineItem, Sale, sales_service_client::SalesServiceClient},
};
use tco_simulator::{RunningSimulator, SimulatorConfig};
use tonic::{Code, Status, transport::Channel};
use tonic_types::{ErrorDetails, StatusExt};

/// A running gateway in front of a running simulator.
pub struct TestApp {
    pub addr: SocketAddr,
    /// The gateway's sales ports, for its cache figures.
    pub ports: Arc<Sales>,
    /// The gateway's notification journal, to see what its INS receiver stored.
    pub journal: Arc<Journal>,
    /// Where its INS receiver listens, when it runs (`ins.secret_word` set, or simulator mode).
    pub ins_addr: Option<SocketAddr>,
    pub sales: SalesServiceClient<Channel>,
    pub channel: Channel,
    pub simulator: Arc<RunningSimulator>,
}

/// The simulator with its default (deterministic) data.
pub async fn spawn_simulator() -> Arc<RunningSimulator> {
    spawn_simulator_with(SimulatorConfig::default()).await
}

pub async fn spawn_simulator_with(config: SimulatorConfig) -> Arc<RunningSimulator> {
    Arc::new(RunningSimulator::start(config).await.expect("simulator starts"))
}

/// A gateway configured against `simulator` as if it were the real 2Checkout
/// (credentials set), with extra settings as `key = value` pairs.
pub async fn spawn_gateway(simulator: &Arc<RunningSimulator>, overrides: &[(&str, &str)]) -> TestApp {
    let defaults = SimulatorConfig::default();
    let mut settings = admin_settings(simulator);
    settings.extend([
        ("payment_api.base_url", simulator.payment_api_base_url()),
        ("payment_api.seller_id", defaults.seller_id.clone()),
        ("payment_api.private_key", defaults.private_key.clone()),
    ]);
    settings.extend(overrides.iter().map(|(k, v)| (*k, (*v).to_owned())));
    spawn_with_settings(&settings, Arc::clone(simulator)).await
}

/// A gateway with Admin API credentials but no Payment API ones.
pub async fn spawn_gateway_without_payment_api(simulator: &Arc<RunningSimulator>) -> TestApp {
    spawn_with_settings(&admin_settings(simulator), Arc::clone(simulator)).await
}

fn admin_settings(simulator: &RunningSimulator) -> Vec<(&'static str, String)> {
    let defaults = SimulatorConfig::default();
    vec![
        ("server.listen_addr", "127.0.0.1:0".into()),
        // Never the fixed default: specs run side by side.
        ("ins.listen_addr", "127.0.0.1:0".into()),
        ("admin_api.base_url", simulator.admin_api_base_url()),
        ("admin_api.username", defaults.api_username.clone()),
        ("admin_api.password", defaults.api_password.clone()),
    ]
}

/// Builds and runs a gateway from settings pairs.
async fn spawn_with_settings(settings: &[(&str, String)], simulator: Arc<RunningSimulator>) -> TestApp {
    let mut figment = Figment::new();
    for (key, value) in settings {
        // Byte budgets and counts as numbers, the way the environment provider reads them.
        const NUMERIC: [&str; 9] = [
            "max_bytes",
            "max_concurrent_calls",
            "max_concurrent_requests",
            "max_pages",
            "max_body_bytes",
            "max_fields",
            "rate_limit_per_second",
            "rate_limit_burst",
            "memory_capacity",
        ];
        figment = match value.parse::<u64>() {
            Ok(number) if NUMERIC.iter().any(|suffix| key.ends_with(suffix)) => {
                figment.merge(Serialized::global(key, number))
            }
            // Switches as booleans, the way the environment provider reads them.
            _ if matches!(value.as_str(), "true" | "false") => figment.merge(Serialized::global(key, value == "true")),
            _ => figment.merge(Serialized::global(key, value)),
        };
    }
    let settings = Settings::from_figment(figment).expect("valid test settings");
    let app = Application::build(settings).await.expect("gateway builds");
    let addr = app.local_addr();
    let ports = app.sales();
    let (journal, ins_addr) = (app.journal(), app.ins_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    let channel = connect(addr).await;
    TestApp { addr, ports, journal, ins_addr, sales: SalesServiceClient::new(channel.clone()), channel, simulator }
}

/// A gateway (JSON wire format) in front of a fresh simulator.
pub async fn spawn_app() -> TestApp {
    spawn_gateway(&spawn_simulator().await, &[]).await
}

pub async fn connect(addr: SocketAddr) -> Channel {
    connect_with_window(addr, None).await
}

/// A channel whose HTTP/2 stream window is `window` bytes: how much the
/// server may send before this client reads.
pub async fn connect_with_window(addr: SocketAddr, window: Option<u32>) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("valid uri")
        .connect_timeout(Duration::from_secs(5))
        .initial_stream_window_size(window)
        .connect()
        .await
        .expect("gateway accepts connections")
}

/// A caller's deadline long enough that what the gateway keeps back from it
/// (a tenth, 500 ms here) dwarfs any scheduling delay on a loaded machine: a
/// spec that lets the gateway cut an upstream request then gets the gateway's
/// own status, never its own client's timer (CANCELLED).
pub const GENEROUS_DEADLINE: Duration = Duration::from_secs(5);

/// A fault delay no spec waits out: the request ends only when the gateway cuts it.
pub const NEVER: Duration = Duration::from_secs(600);

/// How long a spec waits for something that should happen promptly, only so
/// that a broken gateway fails the spec instead of hanging it.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Waits until `condition` holds, checking every 10 ms; fails the spec with
/// `what` after [`PATIENCE`].
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !condition() {
        assert!(started.elapsed() < PATIENCE, "waited {PATIENCE:?} for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// An address that refuses connections for as long as the returned socket
/// lives: bound (so no one else gets the port) but not listening.
pub fn refusing_addr() -> (tokio::net::TcpSocket, SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.bind("127.0.0.1:0".parse().unwrap()).expect("a free port");
    let addr = socket.local_addr().expect("a bound address");
    (socket, addr)
}

/// A request with a deadline, as a caller's stub sends it (its own timer included).
pub fn with_deadline<T>(message: T, deadline: Duration) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(deadline);
    request
}

/// The status's `google.rpc` details, after checking its code and ErrorInfo reason.
pub fn expect_error(status: &Status, code: Code, reason: &str) -> ErrorDetails {
    assert_eq!(status.code(), code, "unexpected status: {status:?}");
    let details = status.get_error_details();
    let info = details.error_info().unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!(info.reason, reason, "{status:?}");
    assert_eq!(info.domain, tco_gateway::grpc::status::ERROR_DOMAIN);
    details
}

/// The field a BadRequest names (exactly one violation expected).
pub fn bad_request_field(details: &ErrorDetails) -> String {
    let bad_request = details.bad_request().expect("BadRequest detail");
    assert_eq!(bad_request.field_violations.len(), 1, "{bad_request:?}");
    bad_request.field_violations[0].field.clone()
}

/// A fresh, valid request id for a write.
pub fn new_request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) as u128;
    // A version-4-shaped UUID whose low bits count: unique within a test run.
    uuid::Uuid::from_u128(0x7e57_0000_0000_4000_8000_0000_0000_0000 | n).to_string()
}

/// Moves the simulator's clock to `days` days after a sale was placed
/// ("YYYY-MM-DD HH:MM:SS", UTC).
pub fn set_clock_after(simulator: &RunningSimulator, placed: &str, days: i64) {
    let placed =
        chrono::NaiveDateTime::parse_from_str(placed, "%Y-%m-%d %H:%M:%S").expect("a placement time").and_utc();
    simulator.clock().set(placed + chrono::TimeDelta::days(days));
}

/// The real `tco-gateway` binary, configured by environment variables the way
/// a deployment configures it, with everything it prints kept for inspection.
pub struct GatewayProcess {
    pub child: std::process::Child,
    pub channel: Channel,
    addr: SocketAddr,
    output: Arc<std::sync::Mutex<String>>,
}

/// Starts the binary against `simulator` as if it were the real 2Checkout
/// (both APIs' credentials set), plus `env`; returns once it listens, with a
/// plaintext channel to it that connects on first use.
///
/// The child binds port 0 and the address comes from its own `gRPC server
/// listening` log line (so no port is picked here for it to take later,
/// which another process could take first). A log filter in `env` is
/// widened by that one line's target, so it shows whatever the spec asks for.
pub async fn spawn_gateway_process(simulator: &RunningSimulator, env: &[(&str, String)]) -> GatewayProcess {
    use std::process::{Command, Stdio};

    let defaults = SimulatorConfig::default();
    let mut command = Command::new(env!("CARGO_BIN_EXE_tco-gateway"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TCO_SERVER__LISTEN_ADDR", "127.0.0.1:0")
        .env("TCO_INS__LISTEN_ADDR", "127.0.0.1:0")
        .env("TCO_ADMIN_API__BASE_URL", simulator.admin_api_base_url())
        .env("TCO_ADMIN_API__USERNAME", &defaults.api_username)
        .env("TCO_ADMIN_API__PASSWORD", &defaults.api_password)
        .env("TCO_PAYMENT_API__BASE_URL", simulator.payment_api_base_url())
        .env("TCO_PAYMENT_API__SELLER_ID", &defaults.seller_id)
        .env("TCO_PAYMENT_API__PRIVATE_KEY", &defaults.private_key)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        match *key {
            // `trace`: widens that target whatever the filter, never narrows it.
            "TCO_LOG__FILTER" | "RUST_LOG" => command.env(key, format!("{value},{LISTENING_LINE_TARGET}=trace")),
            _ => command.env(key, value),
        };
    }
    let mut child = command.spawn().expect("the gateway binary starts");
    let output = Arc::new(std::sync::Mutex::new(String::new()));
    for stream in [
        child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child.stderr.take().map(|s| Box::new(s) as _),
    ]
    .into_iter()
    .flatten()
    {
        let output = Arc::clone(&output);
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stream).lines().map_while(Result::ok) {
                let mut output = output.lock().unwrap();
                output.push_str(&line);
                output.push('\n');
            }
        });
    }
    let started = std::time::Instant::now();
    let addr = loop {
        // A wildcard listener (0.0.0.0) is reached on loopback.
        let loopback = |line: &str| loopback_addr_in(&line.replace("0.0.0.0:", "127.0.0.1:"));
        let listening = output.lock().unwrap().lines().find(|l| l.contains(LISTENING_LINE)).map(loopback);
        if let Some(addr) = listening {
            break addr.unwrap_or_else(|| panic!("no address in the {LISTENING_LINE:?} line"));
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the gateway exited with {status}:\n{}", output.lock().unwrap());
        }
        assert!(started.elapsed() < PATIENCE, "the gateway never listened:\n{}", output.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // Lazy: the gateway may serve TLS, which the spec then connects to itself.
    let channel = Channel::from_shared(format!("http://{addr}")).expect("valid uri").connect_lazy();
    GatewayProcess { child, channel, addr, output }
}

/// What the gateway logs (at INFO, from [`LISTENING_LINE_TARGET`]) once it serves.
const LISTENING_LINE: &str = "gRPC server listening";
const LISTENING_LINE_TARGET: &str = "tco_gateway::app";

/// The first `127.0.0.1:port` in a log line, whatever its format (text, JSON, colours).
pub fn loopback_addr_in(line: &str) -> Option<SocketAddr> {
    const HOST: &str = "127.0.0.1:";
    let port = &line[line.find(HOST)? + HOST.len()..];
    let digits = port.find(|c: char| !c.is_ascii_digit()).unwrap_or(port.len());
    format!("{HOST}{}", &port[..digits]).parse().ok()
}

impl GatewayProcess {
    /// The address the process listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Everything the process printed so far (stdout and stderr).
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits until the process has printed a line containing `text`, and returns that line.
    pub async fn wait_for_line(&self, text: &str) -> String {
        let started = std::time::Instant::now();
        loop {
            if let Some(line) = self.output.lock().unwrap().lines().find(|l| l.contains(text)) {
                return line.to_owned();
            }
            assert!(started.elapsed() < PATIENCE, "no line with {text:?} within {PATIENCE:?}:\n{}", self.output());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Sends SIGTERM, as Kubernetes does to stop a pod.
    pub fn terminate(&self) {
        let kill = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(kill.success());
    }

    /// Waits for the process to exit, failing the test after `limit`.
    pub async fn exit_status(&mut self, limit: Duration) -> std::process::ExitStatus {
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < limit, "the gateway did not exit within {limit:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The refund lines of a sale (status `refund`), in the order 2Checkout lists them.
pub fn refund_lines(sale: &Sale) -> Vec<&LineItem> {
    sale.invoices.iter().flat_map(|i| &i.line_items).filter(|l| l.status() == BillingStatus::Refund).collect()
}

/// How many hold the gateway's sales ports when no stream is running. Each
/// StreamSales walk holds them too while it runs, so the count shows whether
/// a walk has ended. (The cache's housekeeping holds them for an instant once
/// a second: the smallest of a few samples leaves it out.)
pub async fn idle_holders(app: &TestApp) -> usize {
    let mut fewest = usize::MAX;
    for _ in 0..5 {
        fewest = fewest.min(Arc::strong_count(&app.ports));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    fewest
}

pub async fn until_the_walk_ends(app: &TestApp, idle: usize) {
    eventually("the walk to end", || Arc::strong_count(&app.ports) <= idle).await;
}
