//! The listener's TLS: a rustls server configuration loaded from PEM files
//! (certificate chain, key, optional client CA for mTLS), and the caller's
//! identity read from a verified client certificate.
//!
//! The whole configuration is rebuilt when a file changes (`crate::reload`),
//! and each new connection takes the current one: open connections keep the
//! certificate they shook hands with.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use rustls::{
    RootCertStore, ServerConfig,
    crypto::CryptoProvider,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::WebPkiClientVerifier,
};
use x509_cert::{
    Certificate,
    der::Decode,
    ext::pkix::{SubjectAltName, name::GeneralName},
};

use crate::auth::Identity;

/// ALPN: gRPC is HTTP/2 only, and gRPC clients (grpc-go among them) require the server to say so.
const ALPN_H2: &[u8] = b"h2";

/// Why the TLS files do not make a server configuration; names the setting and the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting} ({file}): {reason}")]
pub struct TlsFileError {
    pub setting: &'static str,
    pub file: String,
    pub reason: String,
}

/// Where the TLS files are, as configured (`server.tls.*`).
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub client_ca_file: Option<PathBuf>,
}

impl TlsFiles {
    /// The files in the order [`TlsFiles::server_config`] takes their contents.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.settings_and_paths().map(|(_, path)| path.clone()).collect()
    }

    /// Each file with the setting that names it, in the order of [`TlsFiles::paths`].
    pub fn settings_and_paths(&self) -> impl Iterator<Item = (&'static str, &PathBuf)> {
        [("server.tls.cert_file", &self.cert_file), ("server.tls.key_file", &self.key_file)]
            .into_iter()
            .chain(self.client_ca_file.as_ref().map(|path| ("server.tls.client_ca_file", path)))
    }

    /// Builds the server configuration from the files' contents, given in the order of
    /// [`TlsFiles::paths`]: the certificate chain, the key, then the client CA (if any).
    pub fn server_config(&self, contents: &[Vec<u8>]) -> Result<ServerConfig, TlsFileError> {
        let [cert_pem, key_pem, rest @ ..] = contents else {
            return Err(self.error("server.tls.cert_file", &self.cert_file, "the file contents are missing".into()));
        };
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.error("server.tls.cert_file", &self.cert_file, format!("not PEM certificates: {e}")))?;
        if chain.is_empty() {
            return Err(self.error("server.tls.cert_file", &self.cert_file, "holds no PEM certificate".into()));
        }
        // The error says what is wrong, never the key itself.
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| self.error("server.tls.key_file", &self.key_file, format!("not a PEM private key: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| self.error("server.tls.cert_file", &self.cert_file, e.to_string()))?;
        let builder = match (&self.client_ca_file, rest) {
            (Some(ca_file), [ca_pem, ..]) => {
                builder.with_client_cert_verifier(client_verifier(ca_file, ca_pem, provider)?)
            }
            _ => builder.with_no_client_auth(),
        };
        let mut config = builder.with_single_cert(chain, key).map_err(|e| {
            self.error("server.tls.key_file", &self.key_file, format!("does not go with server.tls.cert_file: {e}"))
        })?;
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        Ok(config)
    }

    fn error(&self, setting: &'static str, file: &Path, reason: String) -> TlsFileError {
        TlsFileError { setting, file: file.display().to_string(), reason }
    }
}

/// Client certificates are optional (a caller may bring a bearer token instead), but one
/// that is presented must chain to the client CA, or the handshake fails.
fn client_verifier(
    ca_file: &Path,
    ca_pem: &[u8],
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsFileError> {
    let error = |reason: String| TlsFileError {
        setting: "server.tls.client_ca_file",
        file: ca_file.display().to_string(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(ca_pem) {
        let certificate = certificate.map_err(|e| error(format!("not PEM certificates: {e}")))?;
        roots.add(certificate).map_err(|e| error(format!("not a usable CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(error("holds no PEM certificate".into()));
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .allow_unauthenticated()
        .build()
        .map_err(|e| error(e.to_string()))
}

/// The caller's identity in a (verified) client certificate: its SPIFFE ID (a `spiffe://`
/// URI SAN) if it has one, else its first DNS SAN, else its subject's common name. `None`
/// when it has none of them, or none that is a valid [`Identity`].
pub fn certificate_identity(certificate: &[u8]) -> Option<Identity> {
    let certificate = Certificate::from_der(certificate).ok()?;
    let tbs = certificate.tbs_certificate();
    let names = match tbs.get_extension::<SubjectAltName>() {
        Ok(Some((_critical, SubjectAltName(names)))) => names,
        _ => Vec::new(),
    };
    let spiffe = names.iter().find_map(|name| match name {
        GeneralName::UniformResourceIdentifier(uri) if uri.as_str().starts_with("spiffe://") => Some(uri.as_str()),
        _ => None,
    });
    let dns = || {
        names.iter().find_map(|name| match name {
            GeneralName::DnsName(dns) => Some(dns.as_str()),
            _ => None,
        })
    };
    if let Some(name) = spiffe.or_else(dns) {
        return Identity::parse(name).ok();
    }
    let common_name = tbs.subject().common_name().ok()??;
    Identity::parse(&common_name.value()).ok()
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, DnType, KeyPair, SanType};

    use super::*;

    fn certificate(common_name: Option<&str>, sans: Vec<SanType>) -> Vec<u8> {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        if let Some(common_name) = common_name {
            params.distinguished_name.push(DnType::CommonName, common_name);
        }
        params.subject_alt_names = sans;
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    fn uri(value: &str) -> SanType {
        SanType::URI(value.try_into().unwrap())
    }

    fn dns(value: &str) -> SanType {
        SanType::DnsName(value.try_into().unwrap())
    }

    fn identity_of(certificate: &[u8]) -> Option<String> {
        certificate_identity(certificate).map(|identity| identity.as_str().to_owned())
    }

    #[test]
    fn a_spiffe_id_comes_first_then_the_first_dns_name_then_the_common_name() {
        let all = certificate(
            Some("support-tool"),
            vec![dns("support.payments.internal"), uri("spiffe://payments.internal/support-tool")],
        );
        assert_eq!(identity_of(&all).as_deref(), Some("spiffe://payments.internal/support-tool"));

        let dns_and_cn =
            certificate(Some("support-tool"), vec![dns("support.payments.internal"), dns("other.payments.internal")]);
        assert_eq!(identity_of(&dns_and_cn).as_deref(), Some("support.payments.internal"));

        let cn_only = certificate(Some("support-tool"), vec![]);
        assert_eq!(identity_of(&cn_only).as_deref(), Some("support-tool"));
    }

    #[test]
    fn a_uri_that_is_not_a_spiffe_id_is_no_identity() {
        let web_uri = certificate(Some("support-tool"), vec![uri("https://payments.internal/support-tool")]);
        assert_eq!(identity_of(&web_uri).as_deref(), Some("support-tool"));
    }

    #[test]
    fn a_certificate_without_any_name_or_with_an_unusable_one_has_no_identity() {
        assert_eq!(identity_of(&certificate(None, vec![])), None);
        assert_eq!(identity_of(&certificate(Some("two words"), vec![])), None);
        assert_eq!(identity_of(b"not a certificate"), None);
    }
}
