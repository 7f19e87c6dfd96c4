//! Turns an answer (a `serde_json::Value`) into an HTTP response in the format the client asked
//! for, and defines the vendor's error bodies.
//!
//! Every endpoint builds its answer as a JSON value; this is the one place that decides how it
//! looks on the wire:
//! - JSON (`Accept` contains `application/json`): the value as is, compact.
//! - XML otherwise (the vendor's default; `text/html` XOXO is not simulated and gets XML too):
//!   `<?xml version="1.0" encoding="UTF-8"?>`, one `<response>` root, object keys as child
//!   elements in order, arrays as the element repeated once per item under the key's name with
//!   no wrapper (an empty array emits nothing), `null` as an empty element `<key/>`, no
//!   attributes, text escaped.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// The representation the client negotiated through `Accept`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// JSON when any `Accept` header mentions `application/json`, whatever else it lists.
    pub fn from_accept<'a>(accept: impl IntoIterator<Item = &'a HeaderValue>) -> Format {
        let wants_json = accept
            .into_iter()
            .any(|value| String::from_utf8_lossy(value.as_bytes()).to_ascii_lowercase().contains("application/json"));
        if wants_json { Format::Json } else { Format::Xml }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Xml => "application/xml",
        }
    }
}

/// One element of the vendor's `errors` array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorItem {
    pub code: &'static str,
    pub message: String,
    pub parameter: Option<String>,
}

/// A failed call: an HTTP status and the `errors` it reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub errors: Vec<ErrorItem>,
}

impl ApiError {
    fn single(status: StatusCode, code: &'static str, message: String, parameter: Option<&str>) -> Self {
        ApiError { status, errors: vec![ErrorItem { code, message, parameter: parameter.map(str::to_owned) }] }
    }

    pub fn parameter_missing(parameter: &str) -> Self {
        Self::single(
            StatusCode::BAD_REQUEST,
            "PARAMETER_MISSING",
            format!("Required parameter missing: {parameter}"),
            Some(parameter),
        )
    }

    pub fn parameter_invalid(parameter: &str) -> Self {
        Self::single(
            StatusCode::BAD_REQUEST,
            "PARAMETER_INVALID",
            format!("Invalid value for parameter: {parameter}"),
            Some(parameter),
        )
    }

    pub fn record_not_found() -> Self {
        Self::single(StatusCode::BAD_REQUEST, "RECORD_NOT_FOUND", "Unable to find record.".to_owned(), None)
    }

    pub fn access_denied_to_sale() -> Self {
        Self::rule("FORBIDDEN", "Access denied to sale.")
    }

    pub fn access_denied_to_invoice() -> Self {
        Self::rule("FORBIDDEN", "Access denied to invoice.")
    }

    /// A method-specific refusal (`TOO_LATE`, `NOTHING_TO_DO`, …): HTTP 400, no `parameter`.
    pub fn rule(code: &'static str, message: &str) -> Self {
        Self::single(StatusCode::BAD_REQUEST, code, message.to_owned(), None)
    }

    pub fn unauthorized() -> Self {
        Self::single(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "Authentication required: invalid or missing API username or password.".to_owned(),
            None,
        )
    }

    pub fn unknown_method(path: &str) -> Self {
        Self::single(StatusCode::NOT_FOUND, "NOT_FOUND", format!("Unknown API method: {path}"), None)
    }

    pub fn method_not_allowed(method: &str) -> Self {
        Self::single(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("HTTP method not supported: {method}"),
            None,
        )
    }

    pub fn internal() -> Self {
        Self::single(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "The simulator failed to build its answer.".to_owned(),
            None,
        )
    }

    pub fn service_unavailable() -> Self {
        Self::single(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "The simulator is shutting down.".to_owned(),
            None,
        )
    }

    pub fn body(&self) -> Value {
        let errors: Vec<Value> = self
            .errors
            .iter()
            .map(|error| {
                let mut item = Map::new();
                item.insert("code".to_owned(), json!(error.code));
                item.insert("message".to_owned(), json!(error.message));
                if let Some(parameter) = &error.parameter {
                    item.insert("parameter".to_owned(), json!(parameter));
                }
                Value::Object(item)
            })
            .collect();
        json!({ "errors": errors })
    }
}

/// The HTTP response for an endpoint's outcome.
pub fn respond(outcome: Result<Value, ApiError>, format: Format) -> Response {
    match outcome {
        Ok(body) => render(StatusCode::OK, &body, format),
        Err(error) => render(error.status, &error.body(), format),
    }
}

pub fn render(status: StatusCode, body: &Value, format: Format) -> Response {
    let text = match format {
        Format::Json => body.to_string(),
        Format::Xml => to_xml(body),
    };
    (status, [(header::CONTENT_TYPE, format.content_type())], text).into_response()
}

pub fn to_xml(body: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>");
    match body {
        Value::Object(members) => write_members(&mut out, members),
        // Endpoints always answer objects; anything else still renders as the root's text.
        other => write_scalar(&mut out, other),
    }
    out.push_str("</response>\n");
    out
}

fn write_members(out: &mut String, members: &Map<String, Value>) {
    for (key, value) in members {
        write_element(out, key, value);
    }
}

fn write_element(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Array(items) => {
            for item in items {
                write_element(out, name, item);
            }
        }
        Value::Null => {
            out.push('<');
            out.push_str(name);
            out.push_str("/>");
        }
        Value::Object(members) => {
            open(out, name);
            write_members(out, members);
            close(out, name);
        }
        scalar => {
            open(out, name);
            write_scalar(out, scalar);
            close(out, name);
        }
    }
}

fn write_scalar(out: &mut String, value: &Value) {
    match value {
        Value::String(text) => out.push_str(&quick_xml::escape::escape(text.as_str())),
        Value::Number(number) => out.push_str(&number.to_string()),
        Value::Bool(flag) => out.push_str(if *flag { "1" } else { "0" }),
        Value::Null | Value::Array(_) | Value::Object(_) => {}
    }
}

fn open(out: &mut String, name: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
}

fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::to_xml;
    use serde_json::json;

    #[test]
    fn xml_repeats_array_items_without_wrapper_and_writes_null_as_empty_element() {
        let body = json!({
            "a": "x & <y>",
            "list": [{"n": "1"}, {"n": "2"}],
            "empty": [],
            "none": null,
            "number": 740
        });
        assert_eq!(
            to_xml(&body),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response><a>x &amp; &lt;y&gt;</a>\
             <list><n>1</n></list><list><n>2</n></list><none/><number>740</number></response>\n"
        );
    }
}
