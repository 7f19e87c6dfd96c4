//! A real `redis-server` of a spec's own (Debian package `redis-server`,
//! found on PATH) on a free 127.0.0.1 port, with its data in a directory of
//! its own, stopped on drop. No mock of Redis anywhere.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use crate::helpers::PATIENCE;

/// A real `redis-server` of the spec's own, on 127.0.0.1, stopped on drop.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    config: Vec<(String, String)>,
    log: Arc<Mutex<String>>,
}

/// How a start attempt ended.
enum Started {
    Ready(Child),
    PortTaken,
}

impl RedisServer {
    /// A server with persistence on (appendonly) and no memory limit.
    pub async fn start() -> RedisServer {
        Self::start_with(&[]).await
    }

    /// A server with extra configuration directives (`("maxmemory", "1mb")`).
    pub async fn start_with(config: &[(&str, &str)]) -> RedisServer {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tco-redis-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = RedisServer {
            child: None,
            port: 0,
            dir,
            config: config.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            log: Arc::default(),
        };
        // redis-server cannot bind port 0 over TCP: pick a free port, and pick again if
        // someone took it between the pick and the bind.
        for _ in 0..20 {
            server.port = free_port();
            if let Started::Ready(child) = server.spawn().await {
                server.child = Some(child);
                return server;
            }
        }
        panic!("redis-server found no free port in 20 tries:\n{}", server.log());
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Everything the server logged.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Stops the server the way an orchestrator does (SIGTERM: the append-only file is flushed).
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let started = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            assert!(started.elapsed() < PATIENCE, "redis-server did not stop on SIGTERM:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops and starts the server again on the same port with the same data.
    pub async fn restart(&mut self) {
        self.stop().await;
        match self.spawn().await {
            Started::Ready(child) => self.child = Some(child),
            Started::PortTaken => panic!("port {} was taken while redis-server restarted", self.port),
        }
    }

    /// A connection of the spec's own, to look at or prepare the server's state.
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url()).unwrap().get_multiplexed_async_connection().await.unwrap()
    }

    async fn spawn(&self) -> Started {
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"])
            .args(["--logfile", "", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in &self.config {
            command.arg(format!("--{key}")).arg(value);
        }
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "redis-server is not on PATH: the specs need a real Redis. Install it with \
                 `sudo apt-get install -y redis-server` (Debian/Ubuntu)"
            ),
            Err(e) => panic!("cannot start redis-server: {e}"),
        };
        let first_line = self.log.lock().unwrap().len();
        for stream in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as _),
        ]
        .into_iter()
        .flatten()
        {
            // Drained for the server's whole life, so it never blocks on a full pipe.
            let log = Arc::clone(&self.log);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let started = std::time::Instant::now();
        loop {
            let log = self.log.lock().unwrap()[first_line..].to_owned();
            if log.contains("Address already in use") {
                let _ = child.kill();
                let _ = child.wait();
                return Started::PortTaken;
            }
            if log.contains("Ready to accept connections") {
                break;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("redis-server exited with {status}:\n{log}");
            }
            assert!(started.elapsed() < PATIENCE, "redis-server never got ready:\n{log}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let pong: String = redis::cmd("PING").query_async(&mut self.connection().await).await.unwrap();
        assert_eq!(pong, "PONG");
        Started::Ready(child)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
