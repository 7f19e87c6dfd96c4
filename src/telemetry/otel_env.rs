//! Which OpenTelemetry exports to run, read from the standard `OTEL_*`
//! environment variables, so the gateway is configured like any other OTel
//! service (and the Helm chart only sets environment variables).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

/// The exports this process runs; everything off unless asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtelSettings {
    /// Spans go to an OTLP/gRPC collector.
    pub otlp_traces: bool,
    /// Metrics go to an OTLP/gRPC collector.
    pub otlp_metrics: bool,
    /// Metrics are served for scraping at this address, path `/metrics`.
    pub prometheus: Option<SocketAddr>,
}

/// A setting this build cannot honour; refusing to start beats silently exporting nothing.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum OtelEnvError {
    #[error("{var}={value:?} is not supported by tco-gateway (supported: {supported})")]
    Unsupported { var: &'static str, value: String, supported: String },
    #[error("{var}={value:?} is not a valid {what}")]
    Invalid { var: &'static str, value: String, what: &'static str },
}

/// The Prometheus exporter's defaults from the OpenTelemetry specification.
const PROMETHEUS_DEFAULT_HOST: &str = "localhost";
const PROMETHEUS_DEFAULT_PORT: u16 = 9464;

impl OtelSettings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, OtelEnvError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    ///
    /// Export is **off by default**: unlike the specification's default of
    /// `otlp`, the gateway exports a signal only when an OTLP endpoint is
    /// configured or the signal's exporter is named explicitly, because a
    /// gateway that dials `localhost:4317` on every pod unasked is noise.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, OtelEnvError> {
        let value = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        if value("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Ok(Self { otlp_traces: false, otlp_metrics: false, prometheus: None });
        }
        let any_endpoint = value("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
        let traces = exporters(value("OTEL_TRACES_EXPORTER"), "OTEL_TRACES_EXPORTER", &["otlp"])?;
        let metrics = exporters(value("OTEL_METRICS_EXPORTER"), "OTEL_METRICS_EXPORTER", &["otlp", "prometheus"])?;
        let wanted = |named: &Option<Vec<String>>, endpoint_var: &str| match named {
            Some(list) => list.iter().any(|e| e == "otlp"),
            None => any_endpoint || value(endpoint_var).is_some(),
        };
        let otlp_traces = wanted(&traces, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        let otlp_metrics = wanted(&metrics, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
        // This build carries the gRPC transport only (the one the Collector and every
        // major vendor accept); an HTTP endpoint given with it would fail on every export.
        for (var, used) in [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", otlp_traces || otlp_metrics),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", otlp_traces),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", otlp_metrics),
        ] {
            if let Some(protocol) = value(var).filter(|p| used && p != "grpc") {
                return Err(OtelEnvError::Unsupported { var, value: protocol, supported: "grpc".into() });
            }
        }
        let prometheus = match metrics.as_ref().is_some_and(|list| list.iter().any(|e| e == "prometheus")) {
            false => None,
            true => {
                let host = value("OTEL_EXPORTER_PROMETHEUS_HOST").unwrap_or_else(|| PROMETHEUS_DEFAULT_HOST.into());
                let port = match value("OTEL_EXPORTER_PROMETHEUS_PORT") {
                    None => PROMETHEUS_DEFAULT_PORT,
                    Some(port) => port.parse().map_err(|_| OtelEnvError::Invalid {
                        var: "OTEL_EXPORTER_PROMETHEUS_PORT",
                        value: port,
                        what: "port number",
                    })?,
                };
                Some(resolve(&host, port)?)
            }
        };
        Ok(Self { otlp_traces, otlp_metrics, prometheus })
    }

    /// Whether anything is exported at all.
    pub fn exports_anything(&self) -> bool {
        self.otlp_traces || self.otlp_metrics || self.prometheus.is_some()
    }
}

/// A comma-separated exporter list; `none` alone turns the signal off.
fn exporters(
    value: Option<String>,
    var: &'static str,
    supported: &'static [&'static str],
) -> Result<Option<Vec<String>>, OtelEnvError> {
    let Some(value) = value else { return Ok(None) };
    let names: Vec<String> =
        value.split(',').map(|n| n.trim().to_ascii_lowercase()).filter(|n| !n.is_empty()).collect();
    if names.iter().any(|n| n == "none") {
        return Ok(Some(Vec::new()));
    }
    if let Some(unknown) = names.iter().find(|n| !supported.contains(&n.as_str())) {
        let supported = format!("{}, none", supported.join(", "));
        return Err(OtelEnvError::Unsupported { var, value: unknown.clone(), supported });
    }
    Ok(Some(names))
}

/// The scrape address: `0.0.0.0`/`::` for every interface (the chart's choice), a host name otherwise.
fn resolve(host: &str, port: u16) -> Result<SocketAddr, OtelEnvError> {
    let invalid = || OtelEnvError::Invalid {
        var: "OTEL_EXPORTER_PROMETHEUS_HOST",
        value: host.to_owned(),
        what: "host to listen on",
    };
    if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    if host.eq_ignore_ascii_case("localhost") {
        // Loopback without depending on the resolver: the spec's default must always work.
        return Ok(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port));
    }
    (host, port).to_socket_addrs().map_err(|_| invalid())?.next().ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<OtelSettings, OtelEnvError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        OtelSettings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn nothing_is_exported_without_configuration() {
        let off = settings(&[]).unwrap();
        assert_eq!(off, OtelSettings { otlp_traces: false, otlp_metrics: false, prometheus: None });
        assert!(!off.exports_anything());
    }

    #[test]
    fn an_otlp_endpoint_turns_on_both_signals() {
        let on = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")]).unwrap();
        assert!(on.otlp_traces && on.otlp_metrics && on.prometheus.is_none());
    }

    #[test]
    fn a_signal_specific_endpoint_turns_on_that_signal_only() {
        let traces = settings(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4317")]).unwrap();
        assert!(traces.otlp_traces && !traces.otlp_metrics);
    }

    #[test]
    fn exporter_none_wins_over_an_endpoint() {
        let vars = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"), ("OTEL_TRACES_EXPORTER", "none")];
        let s = settings(&vars).unwrap();
        assert!(!s.otlp_traces && s.otlp_metrics);
    }

    #[test]
    fn sdk_disabled_turns_everything_off() {
        let vars = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"), ("OTEL_SDK_DISABLED", "true")];
        assert!(!settings(&vars).unwrap().exports_anything());
    }

    #[test]
    fn prometheus_listens_where_the_standard_variables_say() {
        let s = settings(&[("OTEL_METRICS_EXPORTER", "prometheus")]).unwrap();
        assert_eq!(s.prometheus, Some("127.0.0.1:9464".parse().unwrap()));
        assert!(!s.otlp_metrics, "naming prometheus alone does not also start OTLP");
        let vars = [
            ("OTEL_METRICS_EXPORTER", "otlp,prometheus"),
            ("OTEL_EXPORTER_PROMETHEUS_HOST", "0.0.0.0"),
            ("OTEL_EXPORTER_PROMETHEUS_PORT", "9100"),
        ];
        let s = settings(&vars).unwrap();
        assert_eq!(s.prometheus, Some("0.0.0.0:9100".parse().unwrap()));
        assert!(s.otlp_metrics);
    }

    #[test]
    fn unsupported_values_are_refused_by_name() {
        let err = settings(&[("OTEL_TRACES_EXPORTER", "zipkin")]).unwrap_err();
        assert!(err.to_string().contains("OTEL_TRACES_EXPORTER=\"zipkin\""), "{err}");
        let vars = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")];
        assert!(matches!(settings(&vars), Err(OtelEnvError::Unsupported { var: "OTEL_EXPORTER_OTLP_PROTOCOL", .. })));
        let vars = [("OTEL_METRICS_EXPORTER", "prometheus"), ("OTEL_EXPORTER_PROMETHEUS_PORT", "http")];
        assert!(matches!(settings(&vars), Err(OtelEnvError::Invalid { .. })));
    }

    #[test]
    fn a_protocol_for_an_unused_exporter_is_no_error() {
        assert!(settings(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]).is_ok());
    }
}
