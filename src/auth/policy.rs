//! The policy file (`auth.policy_file`, TOML): which callers may call which
//! methods, with an optional refund ceiling and rate limit each. Parsed
//! strictly: every mistake is an error naming the file and the line.

use std::{
    collections::{BTreeSet, HashMap},
    path::Path,
    sync::LazyLock,
};

use serde::Deserialize;
use toml::Spanned;

use super::{Identity, RefundCeiling};
use crate::domain::{Amount, Sign};

/// The methods of the services the gateway serves behind the policy, as
/// `package.Service/Method`, read from the generated descriptor so a policy
/// cannot name a method that does not exist (a typo would silently deny).
static KNOWN_METHODS: LazyLock<BTreeSet<String>> = LazyLock::new(|| {
    use prost::Message;
    let Ok(set) = prost_types::FileDescriptorSet::decode(crate::grpc::proto::FILE_DESCRIPTOR_SET) else {
        return BTreeSet::new();
    };
    let mut methods = BTreeSet::new();
    for file in &set.file {
        let package = file.package();
        for service in &file.service {
            for method in &service.method {
                methods.insert(format!("{package}.{}/{}", service.name(), method.name()));
            }
        }
    }
    methods
});

/// Every method a policy may name, `package.Service/Method`.
pub fn known_methods() -> impl Iterator<Item = &'static str> {
    KNOWN_METHODS.iter().map(String::as_str)
}

/// The services a policy may name with `Service/*`.
fn known_services() -> BTreeSet<&'static str> {
    known_methods().filter_map(|method| method.split_once('/').map(|(service, _)| service)).collect()
}

/// Why a policy file cannot be used; always names the file, and the line when
/// the mistake has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {reason}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
pub struct PolicyError {
    pub file: String,
    pub line: Option<usize>,
    pub reason: String,
}

/// A caller's sustained rate and burst, for its token bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Calls per second, sustained (at least 1).
    pub per_second: u32,
    /// Calls at once after a quiet period (at least 1; defaults to `per_second`).
    pub burst: u32,
}

/// A method pattern: `Service/Method` or `Service/*`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum MethodPattern {
    Exact(String),
    AnyOf(String),
}

/// What one caller may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerPolicy {
    methods: Vec<MethodPattern>,
    /// The most one refund may move, when set.
    pub max_refund: Option<RefundCeiling>,
    /// The caller's rate limit, when set; none means no per-caller limit.
    pub rate_limit: Option<RateLimit>,
}

impl CallerPolicy {
    /// Whether `method` (`package.Service/Method`, no leading slash) is allowed.
    pub fn allows(&self, method: &str) -> bool {
        self.methods.iter().any(|pattern| match pattern {
            MethodPattern::Exact(name) => name == method,
            MethodPattern::AnyOf(service) => {
                method.split_once('/').is_some_and(|(called, _)| called == service.as_str())
            }
        })
    }
}

/// The whole policy: callers by identity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    callers: HashMap<Identity, CallerPolicy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    caller: Vec<CallerEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallerEntry {
    identity: Spanned<String>,
    methods: Vec<Spanned<String>>,
    #[serde(default)]
    max_refund: Option<CeilingEntry>,
    #[serde(default)]
    rate_limit: Option<Spanned<RateLimitEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CeilingEntry {
    // A string, never a float: money is exact ("100.00").
    amount: Spanned<String>,
    currency: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitEntry {
    per_second: u32,
    #[serde(default)]
    burst: Option<u32>,
}

impl Policy {
    /// Parses a policy file's contents; `file` names it in errors.
    pub fn parse(text: &str, file: &Path) -> Result<Self, PolicyError> {
        let error = |span: Option<std::ops::Range<usize>>, reason: String| PolicyError {
            file: file.display().to_string(),
            line: span.map(|span| line_of(text, span.start)),
            reason,
        };
        let parsed: PolicyFile = toml::from_str(text).map_err(|e| error(e.span(), e.message().to_owned()))?;
        let mut callers = HashMap::with_capacity(parsed.caller.len());
        for entry in parsed.caller {
            let identity = Identity::parse(entry.identity.get_ref())
                .map_err(|e| error(Some(entry.identity.span()), format!("identity: {e}")))?;
            let mut methods = Vec::with_capacity(entry.methods.len());
            for method in &entry.methods {
                methods.push(parse_method(method.get_ref()).map_err(|reason| error(Some(method.span()), reason))?);
            }
            let max_refund = match entry.max_refund {
                None => None,
                Some(ceiling) => {
                    let amount = Amount::parse(ceiling.amount.get_ref(), Sign::Positive)
                        .map_err(|e| error(Some(ceiling.amount.span()), format!("max_refund.amount {e}")))?;
                    let currency = ceiling.currency.get_ref();
                    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
                        return Err(error(
                            Some(ceiling.currency.span()),
                            format!("max_refund.currency must be an ISO 4217 code like \"USD\", not {currency:?}"),
                        ));
                    }
                    if currency != "USD" {
                        // detail_sale states each amount in USD, in the vendor's currency and in
                        // the buyer's without naming the last two: only a USD ceiling can be
                        // checked against what a refund moves, so any other is refused here
                        // rather than refusing every refund later.
                        return Err(error(
                            Some(ceiling.currency.span()),
                            format!(
                                "max_refund.currency must be \"USD\", not {currency:?}: 2Checkout's sale records \
                                 do not name the vendor's or the buyer's currency, so no other ceiling can be checked"
                            ),
                        ));
                    }
                    Some(RefundCeiling { amount, currency: currency.clone() })
                }
            };
            let rate_limit = match entry.rate_limit {
                None => None,
                Some(limit) => {
                    let span = limit.span();
                    let RateLimitEntry { per_second, burst } = limit.into_inner();
                    let burst = burst.unwrap_or(per_second);
                    if per_second == 0 || burst == 0 {
                        return Err(error(
                            Some(span),
                            "rate_limit.per_second and rate_limit.burst must be at least 1 \
                             (leave rate_limit out for no limit; remove the caller to deny it)"
                                .into(),
                        ));
                    }
                    Some(RateLimit { per_second, burst })
                }
            };
            let span = entry.identity.span();
            let policy = CallerPolicy { methods, max_refund, rate_limit };
            if callers.insert(identity.clone(), policy).is_some() {
                return Err(error(Some(span), format!("identity {identity} appears more than once")));
            }
        }
        Ok(Self { callers })
    }

    /// Parses the policy file's bytes (as [`crate::reload::Reloading`] hands them over).
    pub fn from_bytes(bytes: &[u8], file: &Path) -> Result<Self, PolicyError> {
        let text = std::str::from_utf8(bytes).map_err(|e| PolicyError {
            file: file.display().to_string(),
            line: Some(line_of_bytes(bytes, e.valid_up_to())),
            reason: "not UTF-8 text".into(),
        })?;
        Self::parse(text, file)
    }

    /// What `identity` may do, or `None` when the policy does not know it.
    pub fn caller(&self, identity: &Identity) -> Option<&CallerPolicy> {
        self.callers.get(identity)
    }

    /// How many callers the policy names.
    pub fn len(&self) -> usize {
        self.callers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.callers.is_empty()
    }
}

/// A method pattern as written: `package.Service/Method` or `package.Service/*`,
/// naming a served method or service.
fn parse_method(text: &str) -> Result<MethodPattern, String> {
    let Some((service, method)) = text.split_once('/') else {
        return Err(format!("method {text:?} must be written \"package.Service/Method\" or \"package.Service/*\""));
    };
    if method == "*" {
        if known_services().contains(service) {
            return Ok(MethodPattern::AnyOf(service.to_owned()));
        }
        let services: Vec<_> = known_services().into_iter().collect();
        return Err(format!("unknown service {service:?} in {text:?}; the services are {}", services.join(", ")));
    }
    if KNOWN_METHODS.contains(text) {
        return Ok(MethodPattern::Exact(text.to_owned()));
    }
    Err(format!("unknown method {text:?}; the methods are {}", known_methods().collect::<Vec<_>>().join(", ")))
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    line_of_bytes(text.as_bytes(), offset)
}

fn line_of_bytes(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy, PolicyError> {
        Policy::parse(text, Path::new("policy.toml"))
    }

    const SUPPORT: &str = r#"
[[caller]]
identity = "spiffe://payments.internal/support-tool"
methods = ["twocheckout.v1.SalesService/GetSale", "twocheckout.v1.SalesService/RefundInvoice"]
max_refund = { amount = "100.00", currency = "USD" }

[[caller]]
identity = "batch"
methods = ["twocheckout.v1.SalesService/*"]
rate_limit = { per_second = 50, burst = 100 }
"#;

    #[test]
    fn the_issue_shape_parses_with_ceilings_and_limits() {
        let policy = parse(SUPPORT).unwrap();
        assert_eq!(policy.len(), 2);
        let support = policy.caller(&Identity::parse("spiffe://payments.internal/support-tool").unwrap()).unwrap();
        assert!(support.allows("twocheckout.v1.SalesService/GetSale"));
        assert!(support.allows("twocheckout.v1.SalesService/RefundInvoice"));
        assert!(!support.allows("twocheckout.v1.SalesService/RefundLineItem"));
        assert_eq!(
            support.max_refund,
            Some(RefundCeiling { amount: Amount::from_minor_units(10_000), currency: "USD".into() })
        );
        assert_eq!(support.rate_limit, None);
        let batch = policy.caller(&Identity::parse("batch").unwrap()).unwrap();
        assert!(batch.allows("twocheckout.v1.SalesService/StreamSales"));
        assert!(!batch.allows("twocheckout.v1.AuthorizationService/Authorize"));
        assert_eq!(batch.rate_limit, Some(RateLimit { per_second: 50, burst: 100 }));
        assert!(policy.caller(&Identity::parse("stranger").unwrap()).is_none());
    }

    #[test]
    fn the_burst_defaults_to_the_rate() {
        let text = "[[caller]]\nidentity = \"a\"\nmethods = []\nrate_limit = { per_second = 7 }\n";
        let policy = parse(text).unwrap();
        let limit = policy.caller(&Identity::parse("a").unwrap()).unwrap().rate_limit;
        assert_eq!(limit, Some(RateLimit { per_second: 7, burst: 7 }));
    }

    /// The error for `text`, which must fail, as "line N: reason".
    fn failure(text: &str) -> (Option<usize>, String) {
        let error = parse(text).unwrap_err();
        assert!(error.to_string().starts_with("policy.toml"), "{error}");
        (error.line, error.reason)
    }

    #[test]
    fn mistakes_name_their_line() {
        let head = "[[caller]]\nidentity = \"a\"\n";
        let cases = [
            (format!("{head}methods = [\"twocheckout.v1.SalesService/GetSael\"]\n"), 3, "unknown method"),
            (format!("{head}methods = [\"twocheckout.v1.Sales/*\"]\n"), 3, "unknown service"),
            (format!("{head}methods = [\"GetSale\"]\n"), 3, "must be written"),
            (format!("{head}methods = []\nmax_refund = {{ amount = \"1.001\", currency = \"USD\" }}\n"), 4, "amount"),
            (format!("{head}methods = []\nmax_refund = {{ amount = 100.0, currency = \"USD\" }}\n"), 4, "string"),
            (format!("{head}methods = []\nmax_refund = {{ amount = \"0\", currency = \"USD\" }}\n"), 4, "0.01"),
            (format!("{head}methods = []\nmax_refund = {{ amount = \"5\", currency = \"usd\" }}\n"), 4, "ISO 4217"),
            (
                format!("{head}methods = []\nmax_refund = {{ amount = \"5\", currency = \"EUR\" }}\n"),
                4,
                "must be \"USD\"",
            ),
            (format!("{head}methods = []\nrate_limit = {{ per_second = 0 }}\n"), 4, "at least 1"),
            (format!("{head}methods = []\nmethod = []\n"), 4, "unknown field `method`"),
            (format!("{head}methods = []\n\n[[caller]]\nidentity = \"a\"\nmethods = []\n"), 6, "more than once"),
            ("[[caller]]\nidentity = \"a b\"\nmethods = []\n".to_owned(), 2, "whitespace"),
            ("[[caller]]\nidentity = \"a\"\n".to_owned(), 1, "missing field `methods`"),
            ("[[caller]\n".to_owned(), 1, ""),
            ("[[callers]]\nidentity = \"a\"\nmethods = []\n".to_owned(), 1, "unknown field `callers`"),
        ];
        for (text, line, words) in cases {
            let (found, reason) = failure(&text);
            assert_eq!(found, Some(line), "{text}: {reason}");
            assert!(reason.contains(words), "{text}: {reason}");
        }
    }

    #[test]
    fn an_empty_file_is_a_policy_that_knows_no_one() {
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn the_known_methods_come_from_the_served_contract() {
        let methods: Vec<_> = known_methods().collect();
        assert!(methods.contains(&"twocheckout.v1.SalesService/RefundInvoice"), "{methods:?}");
        assert!(methods.contains(&"twocheckout.v1.AuthorizationService/Authorize"), "{methods:?}");
        for method in ["WatchNotifications", "ListNotifications"] {
            let method = format!("twocheckout.v1.NotificationService/{method}");
            assert!(methods.contains(&method.as_str()), "{methods:?}");
        }
    }

    #[test]
    fn notification_reading_is_granted_like_any_other_method() {
        let policy = parse(
            r#"
[[caller]]
identity = "fulfilment"
methods = ["twocheckout.v1.NotificationService/WatchNotifications"]

[[caller]]
identity = "reconciler"
methods = ["twocheckout.v1.NotificationService/*"]
"#,
        )
        .unwrap();
        let fulfilment = policy.caller(&Identity::parse("fulfilment").unwrap()).unwrap();
        assert!(fulfilment.allows("twocheckout.v1.NotificationService/WatchNotifications"));
        assert!(!fulfilment.allows("twocheckout.v1.NotificationService/ListNotifications"));
        let reconciler = policy.caller(&Identity::parse("reconciler").unwrap()).unwrap();
        assert!(reconciler.allows("twocheckout.v1.NotificationService/ListNotifications"));
        assert!(!reconciler.allows("twocheckout.v1.SalesService/GetSale"));
        let typo =
            "[[caller]]\nidentity = \"x\"\nmethods = [\"twocheckout.v1.NotificationService/WatchNotification\"]\n";
        assert!(parse(typo).unwrap_err().reason.contains("unknown method"), "a typo is refused, not silently denied");
    }
}
