//! `cargo bench --bench decode_cost -- json|xml N`: decodes and converts the documented
//! detail_sale answer (the simulator's fixture, sale 4647892238) N times, in the wire format
//! asked, through the same entry point the fuzz targets use (`untrusted::detail_sale`: the
//! answer's classification, the limits, the typed decode and the conversion into the domain
//! Sale). It prints one line and nothing else: it is meant to run under callgrind, twice with
//! different N, so that (instructions(N2) − instructions(N1)) / (N2 − N1) is the cost of one
//! answer with the start-up and the preparation of the bodies subtracted out.

use std::hint::black_box;

use serde_json::Value;
use tco_gateway::untrusted;

/// The vendor's documented example, as the simulator serves it for sale 4647892238.
const DOCUMENTED_SALE_JSON: &str = include_str!("../crates/tco-simulator/src/fixtures/detail_sale_4647892238.json");

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let format = args.next().unwrap_or_else(|| "json".to_owned());
    let rounds: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1_000);
    let value: Value = serde_json::from_str(DOCUMENTED_SALE_JSON).unwrap_or(Value::Null);
    let (content_type, body) = match format.as_str() {
        "json" => (untrusted::JSON, value.to_string()),
        "xml" => (untrusted::XML, to_xml(&value)),
        other => {
            eprintln!("unknown format {other:?}: json or xml");
            std::process::exit(2);
        }
    };
    let mut invoices = 0usize;
    for _ in 0..rounds {
        match untrusted::detail_sale(200, content_type, black_box(body.as_bytes())) {
            Ok(sale) => invoices += black_box(sale).invoices.len(),
            Err(e) => {
                eprintln!("the documented answer did not decode: {e}");
                std::process::exit(1);
            }
        }
    }
    println!("{format}: {rounds} answers of {} bytes decoded ({invoices} invoices)", body.len());
}

/// The answer as the simulator renders XML (`render.rs`, which the simulator does not export):
/// one `<response>` root, keys as elements in order, arrays as the element repeated, `null` as
/// an empty element.
fn to_xml(body: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>");
    if let Value::Object(members) = body {
        for (key, value) in members {
            element(&mut out, key, value);
        }
    }
    out.push_str("</response>\n");
    out
}

fn element(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| element(out, name, item)),
        Value::Null => out.push_str(&format!("<{name}/>")),
        Value::Object(members) => {
            out.push_str(&format!("<{name}>"));
            members.iter().for_each(|(key, value)| element(out, key, value));
            out.push_str(&format!("</{name}>"));
        }
        Value::String(text) => out.push_str(&format!("<{name}>{}</{name}>", quick_xml::escape::escape(text.as_str()))),
        scalar => out.push_str(&format!("<{name}>{scalar}</{name}>")),
    }
}
