//! Throwaway CAs and certificates for the TLS specs, made in-process (rcgen);
//! the files the gateway reads them from; a TLS gRPC client that records the
//! certificate each of its connections was served; and in-process gateways
//! built from settings, or the error start-up gives.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType};
use rustls::{
    ClientConfig, RootCertStore,
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName},
};
use tco_simulator::{RunningSimulator, SimulatorConfig};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint};

/// A certificate authority of its own.
pub struct TestCa {
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
}

/// A certificate and its key, as PEM and DER.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl Issued {
    /// The certificate's serial number, as the gateway served it.
    pub fn serial(&self) -> Vec<u8> {
        serial_of(&self.der)
    }
}

/// The serial number of a DER certificate.
pub fn serial_of(der: &[u8]) -> Vec<u8> {
    use x509_cert::{Certificate, der::Decode};
    Certificate::from_der(der).unwrap().tbs_certificate().serial_number().as_bytes().to_vec()
}

/// Distinct serials for every certificate this run makes.
fn next_serial() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().unwrap();
        let certificate = params.self_signed(&key).unwrap();
        Self { pem: certificate.pem(), der: certificate.der().clone(), issuer: Issuer::new(params, key) }
    }

    /// A server certificate for `localhost` and 127.0.0.1.
    pub fn server(&self) -> Issued {
        self.issue("tco-gateway", vec![SanType::DnsName("localhost".try_into().unwrap())])
    }

    /// A client certificate with these names.
    pub fn client(&self, common_name: &str, sans: Vec<SanType>) -> Issued {
        self.issue(common_name, sans)
    }

    fn issue(&self, common_name: &str, sans: Vec<SanType>) -> Issued {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.subject_alt_names = sans;
        params.serial_number = Some(next_serial().into());
        let key = KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &self.issuer).unwrap();
        Issued {
            cert_pem: certificate.pem(),
            key_pem: key.serialize_pem(),
            der: certificate.der().clone(),
            key_der: key.serialize_der(),
        }
    }
}

/// A directory of TLS files for one gateway, removed when dropped.
pub struct TlsDir {
    pub path: PathBuf,
}

impl TlsDir {
    pub fn new(ca: &TestCa, server: &Issued, client_ca: Option<&TestCa>) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "tco-tls-spec-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        let dir = Self { path };
        dir.write_server(server);
        std::fs::write(dir.file("ca.pem"), &ca.pem).unwrap();
        if let Some(client_ca) = client_ca {
            dir.write_client_ca(client_ca);
        }
        dir
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Replaces the server's certificate and key (each file replaced whole, by rename).
    pub fn write_server(&self, server: &Issued) {
        replace(&self.file("cert.pem"), &server.cert_pem);
        replace(&self.file("key.pem"), &server.key_pem);
    }

    pub fn write_client_ca(&self, client_ca: &TestCa) {
        replace(&self.file("client-ca.pem"), &client_ca.pem);
    }

    /// The gateway settings for these files, as `(key, value)` pairs.
    pub fn settings(&self, mtls: bool) -> Vec<(&'static str, String)> {
        let mut settings = vec![
            ("server.tls.cert_file", self.file("cert.pem").display().to_string()),
            ("server.tls.key_file", self.file("key.pem").display().to_string()),
        ];
        if mtls {
            settings.push(("server.tls.client_ca_file", self.file("client-ca.pem").display().to_string()));
        }
        settings
    }
}

impl Drop for TlsDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn replace(path: &Path, contents: &str) {
    let staged = path.with_extension("staged");
    std::fs::write(&staged, contents).unwrap();
    std::fs::rename(staged, path).unwrap();
}

/// A rustls client that trusts `ca`, presenting `client` if given, speaking h2.
pub fn client_config(ca: &TestCa, client: Option<&Issued>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.der.clone()).unwrap();
    let builder = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match client {
        Some(client) => {
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(client.key_der.clone()));
            builder.with_client_auth_cert(vec![client.der.clone()], key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

/// A TLS connection's handshake to `addr`, and the certificate the server presented.
pub async fn served_certificate(addr: SocketAddr, ca: &TestCa) -> Result<CertificateDer<'static>, std::io::Error> {
    let tcp = TcpStream::connect(addr).await?;
    let stream = TlsConnector::from(client_config(ca, None)).connect(localhost(), tcp).await?;
    let served = stream.get_ref().1.peer_certificates().and_then(|chain| chain.first().cloned());
    served.ok_or_else(|| std::io::Error::other("no certificate served"))
}

fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").unwrap()
}

/// A gRPC channel over TLS (one connection, made now), and every certificate the
/// server presented to it, one per connection it made.
pub struct TlsChannel {
    pub channel: Channel,
    pub served: Arc<Mutex<Vec<CertificateDer<'static>>>>,
}

impl TlsChannel {
    /// How many connections the channel has made.
    pub fn connections(&self) -> usize {
        self.served.lock().unwrap().len()
    }
}

/// Connects over TLS, trusting `ca`, presenting `client` if given.
pub async fn tls_channel(
    addr: SocketAddr,
    ca: &TestCa,
    client: Option<&Issued>,
) -> Result<TlsChannel, tonic::transport::Error> {
    let config = client_config(ca, client);
    let served = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&served);
    let connector = tower::service_fn(move |_: http::Uri| {
        let (config, recorded) = (Arc::clone(&config), Arc::clone(&recorded));
        async move {
            let tcp = TcpStream::connect(addr).await?;
            tcp.set_nodelay(true)?;
            let stream = TlsConnector::from(config).connect(localhost(), tcp).await?;
            if let Some(leaf) = stream.get_ref().1.peer_certificates().and_then(|chain| chain.first()) {
                recorded.lock().unwrap().push(leaf.clone());
            }
            Ok::<_, std::io::Error>(TokioIo::new(stream))
        }
    });
    let channel = Endpoint::from_static("http://localhost")
        .connect_timeout(Duration::from_secs(5))
        .connect_with_connector(connector)
        .await?;
    Ok(TlsChannel { channel, served })
}

/// Builds a gateway in front of `simulator` (as the real 2Checkout) with these settings on
/// top; the error is what start-up would say.
pub async fn build_gateway(
    simulator: &RunningSimulator,
    settings: &[(&str, String)],
) -> Result<tco_gateway::app::Application, String> {
    use figment::{Figment, providers::Serialized};

    let defaults = SimulatorConfig::default();
    let mut figment = Figment::new()
        .merge(Serialized::global("server.listen_addr", "127.0.0.1:0"))
        .merge(Serialized::global("admin_api.base_url", simulator.admin_api_base_url()))
        .merge(Serialized::global("admin_api.username", &defaults.api_username))
        .merge(Serialized::global("admin_api.password", &defaults.api_password));
    for (key, value) in settings {
        // Numbers and switches as such, the way the environment provider reads them.
        figment = match (value.parse::<u64>(), value.parse::<bool>()) {
            (Ok(number), _) => figment.merge(Serialized::global(key, number)),
            (_, Ok(switch)) => figment.merge(Serialized::global(key, switch)),
            _ => figment.merge(Serialized::global(key, value)),
        };
    }
    let settings = tco_gateway::config::Settings::from_figment(figment).map_err(|e| e.to_string())?;
    tco_gateway::app::Application::build(settings).await.map_err(|e| e.to_string())
}

/// A running in-process gateway's addresses.
pub struct RunningGateway {
    pub addr: SocketAddr,
    pub health_addr: Option<SocketAddr>,
}

/// Builds and runs a gateway (see [`build_gateway`]).
pub async fn spawn_gateway_with(simulator: &RunningSimulator, settings: &[(&str, String)]) -> RunningGateway {
    let app = build_gateway(simulator, settings).await.expect("the gateway builds");
    let running = RunningGateway { addr: app.local_addr(), health_addr: app.health_addr() };
    tokio::spawn(app.run_until(std::future::pending()));
    running
}
