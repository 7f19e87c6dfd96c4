//! Request parameters: the query string merged with a form-encoded or multipart body.
//!
//! Two official client libraries POST every call, reads included, so a read endpoint accepts
//! its parameters from either place. When a name appears more than once the later value wins,
//! and the body comes after the query; the name keeps the position of its first appearance so
//! page URLs list parameters in the order the client sent them. An empty value counts as absent.
//!
//! The catalog's multi-valued inputs (`option_id`, `category_id`, a coupon's `product_id`, an
//! option's `option_value_*`) are sent as the same key repeated, so every value is also kept in
//! the order sent, for [`Params::get_all`].

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequest, Multipart};
use axum::http::{Method, Request, header};

use super::render::ApiError;

/// Bodies larger than this are refused; every real call fits in a few hundred bytes.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The pseudo-parameter named in the error when the body itself cannot be read.
const BODY_PARAMETER: &str = "request_body";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
    /// Every pair as sent, repeated names included (query first, then body).
    all: Vec<(String, String)>,
}

impl Params {
    pub async fn from_request(request: Request<Body>) -> Result<Params, ApiError> {
        let mut params = Params::default();
        if let Some(query) = request.uri().query() {
            params.extend(parse_form(query.as_bytes(), "query")?);
        }
        if request.method() != Method::POST {
            return Ok(params);
        }
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).to_ascii_lowercase());
        match content_type.as_deref() {
            Some(kind) if kind.starts_with("multipart/form-data") => {
                let mut multipart = Multipart::from_request(request, &())
                    .await
                    .map_err(|_| ApiError::parameter_invalid(BODY_PARAMETER))?;
                while let Some(field) =
                    multipart.next_field().await.map_err(|_| ApiError::parameter_invalid(BODY_PARAMETER))?
                {
                    let name = field.name().map(str::to_owned);
                    let value = field.text().await.map_err(|_| ApiError::parameter_invalid(BODY_PARAMETER))?;
                    if let Some(name) = name {
                        params.set(name, value);
                    }
                }
            }
            // Some clients POST a form without saying so.
            None => params.extend(read_form_body(request).await?),
            Some(kind) if kind.starts_with("application/x-www-form-urlencoded") => {
                params.extend(read_form_body(request).await?)
            }
            // Other bodies (JSON, XML) are not how the Admin API takes parameters: ignored.
            Some(_) => {}
        }
        Ok(params)
    }

    /// The value of `name`, if present and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }

    /// Every non-empty value of a repeated `name`, in the order sent. PHP's `name[]` and
    /// `name[N]` spellings count as `name` (its `http_build_query` writes arrays that way).
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        let names = |key: &str| {
            key == name
                || key.strip_prefix(name).and_then(|rest| rest.strip_prefix('[')).is_some_and(|rest| {
                    rest.strip_suffix(']').is_some_and(|index| index.bytes().all(|byte| byte.is_ascii_digit()))
                })
        };
        self.all
            .iter()
            .filter(|(key, value)| names(key) && !value.is_empty())
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// All parameters in the order the client sent them.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    pub fn set(&mut self, name: String, value: String) {
        self.all.push((name.clone(), value.clone()));
        match self.pairs.iter_mut().find(|(key, _)| *key == name) {
            Some(existing) => existing.1 = value,
            None => self.pairs.push((name, value)),
        }
    }

    fn extend(&mut self, pairs: Vec<(String, String)>) {
        for (name, value) in pairs {
            self.set(name, value);
        }
    }
}

impl<const N: usize> From<[(&str, &str); N]> for Params {
    fn from(pairs: [(&str, &str); N]) -> Self {
        let mut params = Params::default();
        for (name, value) in pairs {
            params.set(name.to_owned(), value.to_owned());
        }
        params
    }
}

async fn read_form_body(request: Request<Body>) -> Result<Vec<(String, String)>, ApiError> {
    let bytes =
        to_bytes(request.into_body(), MAX_BODY_BYTES).await.map_err(|_| ApiError::parameter_invalid(BODY_PARAMETER))?;
    parse_form(&bytes, BODY_PARAMETER)
}

/// Decodes `a=1&b=2`; invalid UTF-8 and stray `%` are decoded lossily, never refused.
fn parse_form(bytes: &[u8], source: &str) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_bytes(bytes).map_err(|_| ApiError::parameter_invalid(source))
}
