//! The `tco-gateway` binary as an operator meets it: `--help` and `--version`, start-up
//! errors that name the setting to change, and plain (colourless) output when piped.

use std::{
    io::{BufRead, BufReader, Read},
    net::TcpListener,
    process::{Command, ExitStatus, Stdio},
    sync::mpsc,
    time::Duration,
};

/// Only a guard against a hung child: every wait below ends on the child's own output or exit.
const GUARD: Duration = Duration::from_secs(60);

/// The binary with nothing but `PATH` and `env` in its environment, every port its own.
fn gateway(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tco-gateway"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TCO_SERVER__LISTEN_ADDR", "127.0.0.1:0")
        .env("TCO_SIMULATOR__LISTEN_ADDR", "127.0.0.1:0")
        .env("TCO_INS__LISTEN_ADDR", "127.0.0.1:0")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs the binary until it exits by itself: its status, stdout and stderr.
fn run(args: &[&str], env: &[(&str, &str)]) -> (ExitStatus, String, String) {
    let mut child = gateway(env).args(args).spawn().expect("tco-gateway starts");
    let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut out, mut err) = (String::new(), String::new());
        let _ = stdout.read_to_string(&mut out);
        let _ = stderr.read_to_string(&mut err);
        let _ = tx.send((out, err));
    });
    let Ok((out, err)) = rx.recv_timeout(GUARD) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("tco-gateway {args:?} did not exit");
    };
    (child.wait().expect("exit status"), out, err)
}

/// An address something already listens on (held until the guard drops).
fn taken_address() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (listener, addr)
}

#[test]
fn help_and_version_print_and_exit_0_without_listening() {
    // Both addresses are taken: a gateway that tried to listen would exit with status 1.
    let (_held, addr) = taken_address();
    let env = [("TCO_SERVER__LISTEN_ADDR", addr.as_str()), ("TCO_SIMULATOR__LISTEN_ADDR", addr.as_str())];
    let (status, usage, _) = run(&["--help"], &env);
    assert!(status.success(), "{status}: {usage}");
    assert!(usage.contains("Usage: tco-gateway"), "{usage}");
    for documented in
        ["--config", "TCO_SERVER__LISTEN_ADDR", "TCO_UPSTREAM__MODE", "TCO_SIMULATOR__LISTEN_ADDR", "TCO_REDIS__URL"]
    {
        assert!(usage.contains(documented), "--help does not mention {documented}: {usage}");
    }
    let (status, version, _) = run(&["--version"], &env);
    assert!(status.success(), "{status}: {version}");
    assert_eq!(version.trim(), format!("tco-gateway {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_bind_failure_names_the_address_and_the_setting() {
    let (_held, addr) = taken_address();
    let (status, out, err) = run(&[], &[("TCO_SERVER__LISTEN_ADDR", &addr)]);
    assert!(!status.success(), "{status}");
    let expected = format!("cannot listen on {addr} (server.listen_addr / TCO_SERVER__LISTEN_ADDR)");
    assert!(out.contains(&expected) || err.contains(&expected), "{out}\n{err}");
}

#[test]
fn a_bind_failure_of_the_embedded_simulator_names_its_setting() {
    let (_held, addr) = taken_address();
    let (status, out, err) = run(&[], &[("TCO_SIMULATOR__LISTEN_ADDR", &addr)]);
    assert!(!status.success(), "{status}");
    let expected = format!("cannot listen on {addr} (simulator.listen_addr / TCO_SIMULATOR__LISTEN_ADDR)");
    assert!(out.contains(&expected) || err.contains(&expected), "{out}\n{err}");
}

#[test]
fn upstream_mode_twocheckout_without_credentials_stops_naming_the_variables() {
    let (status, out, err) = run(&[], &[("TCO_UPSTREAM__MODE", "twocheckout")]);
    assert!(!status.success(), "{status}");
    assert!(err.contains("TCO_ADMIN_API__USERNAME") && err.contains("TCO_ADMIN_API__PASSWORD"), "{err}");
    assert!(!out.contains("listening"), "{out}");
}

#[test]
fn the_config_flag_names_a_file_that_must_exist() {
    let (status, _, err) = run(&["--config", "/nonexistent/tco-gateway.toml"], &[]);
    assert!(!status.success(), "{status}");
    assert!(err.contains("configuration file /nonexistent/tco-gateway.toml does not exist"), "{err}");
}

#[test]
fn piped_logs_have_no_colour_codes() {
    let mut child = gateway(&[]).spawn().expect("tco-gateway starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut output = Vec::new();
    while !output.last().is_some_and(|line: &String| line.contains("gRPC server listening")) {
        match lines.recv_timeout(GUARD) {
            Ok(line) => output.push(line),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the gateway never said it was listening: {output:#?}");
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let output = output.join("\n");
    // The WARN line is the one a colouring formatter would paint first.
    assert!(output.contains("WARN") && output.contains("SIMULATED"), "{output}");
    assert!(!output.contains("\x1b["), "{output:?}");
}
