//! Specs of the `tco-simulator` binary as another client would run it: a real process,
//! configured by `TCO_SIM_*` variables, on a port it picks and reports.

// Test code: a failed unwrap is a failed spec, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use serde_json::Value;
use tco_simulator::{REFUNDABLE_SALE_ID, REFUNDABLE_SALE_PLACED};

const BINARY: &str = env!("CARGO_BIN_EXE_tco-simulator");
/// Only a guard against a hung child: every wait below ends on the child's own output.
const GUARD: Duration = Duration::from_secs(60);

/// A running `tco-simulator`, killed on drop, with the address it reported and its output so far.
struct SimulatorProcess {
    child: Child,
    addr: SocketAddr,
    lines: Receiver<String>,
    output: Vec<String>,
}

impl SimulatorProcess {
    /// Starts the binary on 127.0.0.1:0 and waits for the line that reports the bound address.
    fn spawn(env: &[(&str, &str)]) -> SimulatorProcess {
        let mut child = command(env)
            .env("TCO_SIM_ADDR", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tco-simulator starts");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut output = Vec::new();
        loop {
            let Ok(line) = lines.recv_timeout(GUARD) else {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no listen_addr line in {output:#?}");
            };
            output.push(line);
            if let Some(addr) = listen_addr(output.last().map_or("", String::as_str)) {
                return SimulatorProcess { child, addr, lines, output };
            }
        }
    }

    /// Every line written so far.
    fn output(&mut self) -> String {
        self.output.extend(self.lines.try_iter());
        self.output.join("\n")
    }

    async fn refund(&self, sale_id: &str) -> Value {
        reqwest::Client::new()
            .post(format!("http://{}/api/sales/refund_invoice", self.addr))
            .basic_auth("sim-api-user", Some("sim-api-pass"))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[("sale_id", sale_id), ("comment", "Customer asked"), ("category", "5")])
            .send()
            .await
            .expect("the simulator answers")
            .json()
            .await
            .expect("a JSON answer")
    }
}

impl Drop for SimulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary with a clean `TCO_SIM_*` environment plus `env`.
fn command(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BINARY);
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("TCO_SIM_")) {
        command.env_remove(name);
    }
    command.env("RUST_LOG", "info").envs(env.iter().copied());
    command
}

/// The `listen_addr=` field of the simulator's "listening" log line.
fn listen_addr(line: &str) -> Option<SocketAddr> {
    let value = line.split_once("listen_addr=")?.1.split_whitespace().next()?;
    value.parse().ok()
}

/// Runs the binary to its end (it must end by itself) and returns what it did.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut child = command(env)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tco-simulator starts");
    let (tx, rx) = mpsc::channel();
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    std::thread::spawn(move || {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let _ = stdout.read_to_end(&mut out);
        let _ = stderr.read_to_end(&mut err);
        let _ = tx.send((out, err));
    });
    let Ok((stdout, stderr)) = rx.recv_timeout(GUARD) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("tco-simulator {args:?} did not exit");
    };
    let status = child.wait().expect("exit status");
    Output { status, stdout, stderr }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn with_tco_sim_now_at_the_end_of_the_seeded_data_a_seeded_sale_refunds() {
    let simulator = SimulatorProcess::spawn(&[("TCO_SIM_NOW", "2026-04-01T00:00:00Z")]);
    let answer = simulator.refund(REFUNDABLE_SALE_ID).await;
    assert_eq!(answer["response_code"], "OK", "{answer}");
}

#[tokio::test]
async fn tco_sim_now_sets_the_clock_the_refund_limit_is_judged_by() {
    // 199 days after the sale was placed: past the 180-day limit.
    assert!(REFUNDABLE_SALE_PLACED.starts_with("2025-11-14"), "{REFUNDABLE_SALE_PLACED}");
    let simulator = SimulatorProcess::spawn(&[("TCO_SIM_NOW", "2026-06-01T00:00:00Z")]);
    let answer = simulator.refund(REFUNDABLE_SALE_ID).await;
    assert_eq!(answer["errors"][0]["code"], "TOO_LATE", "{answer}");
}

#[tokio::test]
async fn without_tco_sim_now_the_clock_starts_where_the_seeded_data_ends() {
    let mut simulator = SimulatorProcess::spawn(&[]);
    let answer = simulator.refund(REFUNDABLE_SALE_ID).await;
    assert_eq!(answer["response_code"], "OK", "{answer}");
    let output = simulator.output();
    assert!(output.contains("now=2026-04-01T00:00"), "{output}");
}

#[test]
fn an_invalid_tco_sim_now_exits_2_naming_the_variable() {
    let output = run(&[], &[("TCO_SIM_NOW", "yesterday"), ("TCO_SIM_ADDR", "127.0.0.1:0")]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("TCO_SIM_NOW") && stderr.contains("RFC 3339"), "{stderr}");
}

#[test]
fn an_invalid_notify_url_exits_2_naming_the_variable() {
    let output =
        run(&[], &[("TCO_SIM_NOTIFY_URL", "ftp://user:hunter2@example.com/ins"), ("TCO_SIM_ADDR", "127.0.0.1:0")]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("TCO_SIM_NOTIFY_URL"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the URL's credentials stay out of the message: {stderr}");
}

#[tokio::test]
async fn with_tco_sim_notify_url_a_refund_is_notified_signed_with_tco_sim_secret_word() {
    let (sender, mut posts) = tokio::sync::mpsc::unbounded_channel::<String>();
    let app = axum::Router::new().route(
        "/ins",
        axum::routing::post(move |body: String| {
            let _ = sender.send(body);
            async {}
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/ins", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let simulator = SimulatorProcess::spawn(&[("TCO_SIM_NOTIFY_URL", &url), ("TCO_SIM_SECRET_WORD", "mellon")]);
    simulator.refund(REFUNDABLE_SALE_ID).await;
    let body = tokio::time::timeout(std::time::Duration::from_secs(20), posts.recv()).await.unwrap().unwrap();
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap();
    let field = |name: &str| form.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap();
    assert_eq!(field("message_type"), "REFUND_ISSUED");
    assert_eq!(field("sale_id"), REFUNDABLE_SALE_ID);
    let expected = tco_simulator::md5_hash(&field("sale_id"), &field("vendor_id"), &field("invoice_id"), "mellon");
    assert_eq!(field("md5_hash"), expected);
}

#[test]
fn help_and_version_print_and_exit_0_without_listening() {
    // The address is taken: a simulator that tried to listen would fail with status 1.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let help = run(&["--help"], &[("TCO_SIM_ADDR", &addr)]);
    assert!(help.status.success(), "{help:?}");
    let usage = text(&help.stdout);
    assert!(usage.contains("Usage: tco-simulator"), "{usage}");
    for documented in [
        "TCO_SIM_ADDR",
        "TCO_SIM_NOW",
        "TCO_SIM_SALES",
        "TCO_SIM_SEED",
        "TCO_SIM_NOTIFY_URL",
        "TCO_SIM_SECRET_WORD",
        "--notify-url",
    ] {
        assert!(usage.contains(documented), "--help does not document {documented}: {usage}");
    }
    let version = run(&["--version"], &[("TCO_SIM_ADDR", &addr)]);
    assert!(version.status.success(), "{version:?}");
    assert_eq!(text(&version.stdout).trim(), format!("tco-simulator {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_bind_failure_names_the_address_and_the_variable() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = run(&[], &[("TCO_SIM_ADDR", &addr)]);
    assert!(!output.status.success(), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(stderr.contains(&format!("cannot listen on {addr} (TCO_SIM_ADDR)")), "{stderr}");
}

#[tokio::test]
async fn piped_output_has_no_colour_codes() {
    let mut simulator = SimulatorProcess::spawn(&[]);
    simulator.refund(REFUNDABLE_SALE_ID).await;
    let output = simulator.output();
    assert!(output.contains("INFO"), "{output}");
    assert!(!output.contains("\x1b["), "{output:?}");
}
