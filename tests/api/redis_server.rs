//! A real `redis-server` of the spec's own (the Debian package, found on PATH)
//! on 127.0.0.1, with its data in a directory of its own (append-only file
//! on, so a restart keeps what was written), stopped on drop.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::PATIENCE;

/// A running (or stopped, between [`RedisServer::stop`] and [`RedisServer::restart`]) Redis.
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    config: Vec<(String, String)>,
    child: Option<Child>,
}

/// What redis-server logs when its port was taken between our pick and its bind.
const PORT_TAKEN: &str = "Address already in use";

impl RedisServer {
    /// Starts a Redis with the default configuration (plus persistence).
    pub async fn start() -> RedisServer {
        Self::start_with(&[]).await
    }

    /// Starts a Redis with extra configuration directives, e.g. `("maxmemory", "1mb")`.
    pub async fn start_with(config: &[(&str, &str)]) -> RedisServer {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tco-redis-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let config = config.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let mut server = RedisServer { port: 0, dir, config, child: None };
        // redis-server cannot bind port 0 over TCP: pick a free port, and pick
        // again if another process took it before redis-server bound it.
        for _ in 0..20 {
            server.port = free_port();
            if server.launch().await {
                return server;
            }
        }
        panic!("redis-server found no free port in 20 tries");
    }

    /// `redis://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Shuts the server down cleanly (SIGTERM: the append-only file is flushed) and waits for it to exit.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() {
            assert!(started.elapsed() < PATIENCE, "redis-server did not stop within {PATIENCE:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the server if it runs, and starts it again on the same port with the same data.
    pub async fn restart(&mut self) {
        self.stop().await;
        assert!(self.launch().await, "port {} was taken while Redis was down", self.port);
    }

    /// Starts redis-server on `self.port`; false if the port was taken.
    async fn launch(&mut self) -> bool {
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--protected-mode", "no"])
            .args(["--appendonly", "yes", "--save", "", "--daemonize", "no", "--logfile", ""])
            .arg("--dir")
            .arg(&self.dir);
        for (key, value) in &self.config {
            command.arg(format!("--{key}")).arg(value);
        }
        let mut child = match command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn() {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                panic!("redis-server is not on PATH: the specs need a real Redis; `apt-get install -y redis-server`")
            }
            Err(e) => panic!("cannot start redis-server: {e}"),
        };
        let log = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        for stream in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as _),
        ]
        .into_iter()
        .flatten()
        {
            let log = Arc::clone(&log);
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            }));
        }
        let started = Instant::now();
        loop {
            if ping(self.port).await {
                self.child = Some(child);
                return true;
            }
            if let Some(status) = child.try_wait().unwrap() {
                // Its output may still be on its way: read to the end first.
                for reader in readers.drain(..) {
                    let _ = reader.join();
                }
                let output = log.lock().unwrap().clone();
                if output.contains(PORT_TAKEN) {
                    return false;
                }
                panic!("redis-server exited with {status}:\n{output}");
            }
            assert!(started.elapsed() < PATIENCE, "redis-server never answered PING:\n{}", log.lock().unwrap());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Whether a Redis on `port` answers PING (inline command, RESP answer).
async fn ping(port: u16) -> bool {
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else { return false };
    if stream.write_all(b"PING\r\n").await.is_err() {
        return false;
    }
    let mut answer = [0u8; 7];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), stream.read_exact(&mut answer)).await,
        Ok(Ok(_)) if &answer == b"+PONG\r\n"
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
