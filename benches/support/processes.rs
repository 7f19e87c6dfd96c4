//! The real binaries for the load benches (`stuck_streams`, `upstream_fanout`):
//! the `tco-simulator` binary, counting the requests it logs, and the
//! `tco-gateway` binary in front of it, each reporting the port it bound,
//! with the figures the benches read from `/proc` (Linux only).
//!
//! The simulator binary is taken from `TCO_SIMULATOR_BIN`, else from beside
//! the gateway binary (`cargo build -p tco-simulator` with the same profile);
//! `TCO_GATEWAY_BIN` measures another build of the gateway (e.g. main's).

use std::{
    io::BufRead as _,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tco_simulator::SimulatorConfig;

/// Kills the process when dropped.
pub struct Process {
    pub child: Child,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// A figure from `/proc/<pid>/status`, in KiB (`VmRSS:`, `VmHWM:`).
    pub fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_default();
        line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).unwrap_or(0)
    }

    /// The resident set in MiB.
    pub fn rss_mib(&self) -> f64 {
        self.status_kib("VmRSS:") as f64 / 1024.0
    }
}

/// Spawns `command` with its stdout piped through `on_line`; returns the first line
/// containing `ready` (within 30 s).
fn spawn_reporting(
    mut command: Command,
    ready: &'static str,
    on_line: impl Fn(&str) + Send + 'static,
) -> (Process, String) {
    command.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (found, found_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut found = Some(found);
        for line in stdout.lines().map_while(Result::ok) {
            on_line(&line);
            if line.contains(ready)
                && let Some(found) = found.take()
            {
                let _ = found.send(line);
            }
        }
    });
    let line = found_rx.recv_timeout(Duration::from_secs(30)).expect("the binary reports its port");
    (Process { child }, line)
}

/// The port in the first `127.0.0.1:PORT` of a log line.
fn port_in(line: &str) -> u16 {
    let at = line.find("127.0.0.1:").expect("an address in the line") + "127.0.0.1:".len();
    line[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
}

/// The gateway binary under test.
pub fn gateway_binary() -> PathBuf {
    std::env::var_os("TCO_GATEWAY_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_tco-gateway")), PathBuf::from)
}

/// The running simulator binary and how many list_sales and detail_sale requests it has logged.
pub struct Simulator {
    pub process: Process,
    pub port: u16,
    pub list_sales: Arc<AtomicU64>,
    pub detail_sale: Arc<AtomicU64>,
}

impl Simulator {
    /// Starts the binary with `sales` generated sales on a port of its choosing.
    pub fn start(sales: usize) -> Self {
        let binary = std::env::var_os("TCO_SIMULATOR_BIN").map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_tco-gateway")).with_file_name("tco-simulator"),
            PathBuf::from,
        );
        assert!(
            binary.is_file(),
            "{} is missing: build it with `cargo build -p tco-simulator` (same profile) or set TCO_SIMULATOR_BIN",
            binary.display()
        );
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("TCO_SIM_ADDR", "127.0.0.1:0")
            .env("TCO_SIM_SALES", sales.to_string())
            // Its debug line per request is how the bench counts upstream calls.
            .env("RUST_LOG", "info,tco_simulator=debug");
        let (list_sales, detail_sale) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (lists, details) = (Arc::clone(&list_sales), Arc::clone(&detail_sale));
        let (process, line) = spawn_reporting(command, "simulator listening", move |line| {
            if line.contains(" request") {
                if line.contains("sales/list_sales") {
                    lists.fetch_add(1, Ordering::Relaxed);
                } else if line.contains("sales/detail_sale") {
                    details.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        Self { process, port: port_in(&line), list_sales, detail_sale }
    }

    pub fn list_sales_calls(&self) -> u64 {
        self.list_sales.load(Ordering::Relaxed)
    }

    pub fn detail_sale_calls(&self) -> u64 {
        self.detail_sale.load(Ordering::Relaxed)
    }

    /// Established TCP connections to the simulator's port, from `/proc/net/tcp`
    /// (the gateway is the only client of the simulator).
    pub fn established_connections(&self) -> usize {
        let port = format!(":{:04X}", self.port);
        let tcp = std::fs::read_to_string(format!("/proc/{}/net/tcp", self.process.child.id())).unwrap_or_default();
        tcp.lines()
            .skip(1)
            .filter(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                // local, remote, state: a client's end has the simulator's port as its remote.
                fields.len() > 3 && fields[2].ends_with(&port) && fields[3] == "01"
            })
            .count()
    }
}

/// The running gateway binary and the port it serves on.
pub struct Gateway {
    pub process: Process,
    pub port: u16,
}

impl Gateway {
    /// Starts the gateway against `simulator` as if it were 2Checkout, plus `env`.
    pub fn start(simulator: &Simulator, env: &[(&str, &str)]) -> Self {
        let defaults = SimulatorConfig::default();
        let mut command = Command::new(gateway_binary());
        command
            .env_clear()
            .env("TCO_SERVER__LISTEN_ADDR", "127.0.0.1:0")
            .env("TCO_LOG__FILTER", "error,tco_gateway::app=info")
            .env("TCO_ADMIN_API__BASE_URL", format!("http://127.0.0.1:{}/api/", simulator.port))
            .env("TCO_ADMIN_API__USERNAME", defaults.api_username)
            .env("TCO_ADMIN_API__PASSWORD", defaults.api_password)
            .envs(env.iter().copied());
        let (process, line) = spawn_reporting(command, "gRPC server listening", |_| {});
        Self { process, port: port_in(&line) }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}
