//! Property tests: no upstream answer and no caller request makes the gateway panic, and
//! each outcome keeps the rules of the `check_*` oracles. 256 cases a property by default
//! (proptest's own default); `PROPTEST_CASES=100000 cargo test --lib untrusted::properties`
//! runs them long.

use proptest::prelude::*;
use proptest::sample::{Index, select};
use prost::Message;
use serde_json::{Value, json};

use super::corpus::{catalog_examples, company_info, ins_body, ins_forms, xml_of};
use super::{
    ACCOUNT_SECRET_WORD, AdminAnswer, CatalogAnswer, CatalogDecoded, INS_REQUIRED, JSON, RequestKind, STATUSES, XML,
    authorize, catalog_answer, check_admin, check_admin_answer, check_catalog_answer, check_conversion, check_ins_post,
    check_payment, check_payment_answer, check_request, convert_request, ins_post, write,
};
use crate::domain::{
    Amount, AuthorizationRequest, CouponCode, Error, ListSalesQuery, OptionId, ProductId, SaleLookup, WriteRequest,
};
use crate::grpc::proto;

/// Failures are shrunk and reported; each becomes a named regression test in `regressions`
/// rather than a file proptest would write into the source tree.
fn config() -> ProptestConfig {
    ProptestConfig { failure_persistence: None, ..ProptestConfig::default() }
}

/// Text a decoder or a validator may trip on.
const ODD_TEXT: &[&str] = &[
    "",
    " ",
    "\t\r\n",
    "\u{200B}",
    "\u{FEFF}",
    "\u{0}",
    "\u{7F}",
    "\u{10FFFF}",
    "\u{202E}abc",
    "é",
    "🙂",
    "ǅ",
    "OK",
    " OK ",
    "ok",
    "APPROVED",
    "0",
    "-0",
    "-1",
    "+1",
    "00000000000000000001",
    "1e400",
    "-1e400",
    "NaN",
    "inf",
    "0x10",
    "1_000",
    "0.001",
    "0.005",
    "99999999.99",
    "100000000.00",
    "-99999999.99",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "123456789012345678901234567890",
    "१२३",
    "１２３",
    "2024-02-30",
    "2024-13-01",
    "+10000-01-01",
    "-0001-01-01",
    "0000-00-00",
    "2024-01-01T00:00:00Z",
    "2024-1-1",
    "<x>",
    "a<b",
    "&amp;",
    "\"quoted\"",
    "1 Month",
    "Forever",
    "0 Week",
    "USA",
    "CHN",
    "a@b",
];

fn odd_text() -> impl Strategy<Value = String> {
    prop_oneof![
        select(ODD_TEXT).prop_map(str::to_owned),
        any::<String>(),
        "\\PC{0,24}",
        (0usize..3, 250usize..260).prop_map(|(unit, n)| ["a", "é", "\u{200B}"][unit].repeat(n)),
    ]
}

fn digits() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[0-9]{1,21}", 1 => odd_text()]
}

fn amount() -> impl Strategy<Value = String> {
    prop_oneof![4 => "-?[0-9]{0,10}(\\.[0-9]{0,3})?", 1 => odd_text()]
}

fn date() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[+-]?[0-9]{1,6}-[0-9]{1,2}-[0-9]{1,2}", 1 => odd_text(), 1 => Just(String::new())]
}

fn enum_value() -> impl Strategy<Value = i32> {
    prop_oneof![4 => -1i32..12, 1 => any::<i32>(), 1 => 80i32..100]
}

fn comment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => odd_text(),
        1 => (0usize..2, 4990usize..5010).prop_map(|(unit, n)| ["a", "é"][unit].repeat(n)),
    ]
}

fn request_id() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just("6f1c1d3e-58a4-4b7e-9a55-0d6c4b1f7a10".to_owned()),
        1 => "[0-9a-fA-F-]{0,40}",
        1 => odd_text(),
    ]
}

// ------------------------------------------------------------------ upstream answers

/// A JSON value as text, hostile where it can be: odd scalars, numbers no type holds,
/// strings where objects belong, and nesting.
fn hostile_json() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        select(
            &[
                "null",
                "true",
                "false",
                "0",
                "-0",
                "1e400",
                "-1e400",
                "1.5e-400",
                "18446744073709551616",
                "-9223372036854775809",
                "123456789012345678901234567890.123",
                "0.1",
                "[]",
                "{}",
                "\"\""
            ][..]
        )
        .prop_map(str::to_owned),
        odd_text().prop_map(|text| Value::String(text).to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| Value::from(n).to_string()),
    ];
    let tree = leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec((key(), inner), 0..4).prop_map(|fields| {
                let fields: Vec<String> =
                    fields.into_iter().map(|(k, v)| format!("{}:{v}", Value::String(k))).collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    });
    prop_oneof![4 => tree, 1 => deep_json()]
}

/// The names the decoders look for, so that hostile values land where they are read.
const KEYS: &[&str] = &[
    "sale",
    "sale_id",
    "invoices",
    "invoice_id",
    "lineitems",
    "lineitem_id",
    "usd_total",
    "customer_total",
    "vendor_total",
    "date_placed",
    "recurring",
    "errors",
    "code",
    "message",
    "parameter",
    "sale_summary",
    "page_info",
    "cur_page",
    "pagesize",
    "last_page",
    "total_entries",
    "response_code",
    "response_message",
    "response",
    "responseCode",
    "orderNumber",
    "total",
    "lineItems",
    "price",
    "quantity",
    "options",
    "exception",
    "errorCode",
    "errorMsg",
    "billingAddr",
    "comments",
    "customer",
    "status",
    "products",
    "product",
    "product_id",
    "options",
    "option",
    "option_id",
    "option_values",
    "option_value_surcharge",
    "coupon",
    "coupon_code",
    "minimum_purchase",
    "vendor_company_info",
    "vendor_contact_info",
    "secret_word",
    "vendor_id",
    "payment",
    "payments",
    "amount",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![4 => select(KEYS).prop_map(str::to_owned), 1 => odd_text()]
}

/// Arrays or objects nested up to a few hundred levels (serde_json refuses past 128).
fn deep_json() -> impl Strategy<Value = String> {
    (1usize..400, any::<bool>(), select(KEYS)).prop_map(|(depth, arrays, key)| {
        if arrays {
            format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
        } else {
            format!("{}1{}", format!("{{\"{key}\":").repeat(depth), "}".repeat(depth))
        }
    })
}

/// A stand-in for a JSON value, replaced by hostile text once the document is serialised.
const HOLE: &str = "\u{1}HOLE\u{1}";

/// `document` with the value at one of its paths (chosen by `at`) replaced by `fragment`.
fn graft_json(document: &Value, at: Index, fragment: &str) -> Vec<u8> {
    let mut paths = Vec::new();
    collect_paths(document, String::new(), &mut paths);
    let path = at.get(&paths);
    let mut grafted = document.clone();
    if let Some(slot) = grafted.pointer_mut(path) {
        *slot = Value::String(HOLE.to_owned());
    }
    grafted.to_string().replacen(&Value::String(HOLE.to_owned()).to_string(), fragment, 1).into_bytes()
}

fn collect_paths(value: &Value, here: String, paths: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (k, v) in fields {
                collect_paths(v, format!("{here}/{}", k.replace('~', "~0").replace('/', "~1")), paths);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_paths(v, format!("{here}/{i}"), paths);
            }
        }
        _ => {}
    }
    paths.push(here);
}

fn corpus_json(target: &str, seed: &str) -> Value {
    serde_json::from_slice(&super::corpus::seed(target, seed)).unwrap()
}

/// Real answers to start from: (which answer, the document).
fn real_json_answers() -> Vec<(AdminAnswer, Value)> {
    vec![
        (
            AdminAnswer::DetailSale,
            serde_json::from_str(include_str!("../../crates/tco-simulator/src/fixtures/detail_sale_4647892238.json"))
                .unwrap(),
        ),
        (AdminAnswer::DetailSale, corpus_json("admin_json", "detail_sale_recurring_200")),
        (AdminAnswer::ListSales, corpus_json("admin_json", "list_sales_page_200")),
        (AdminAnswer::Write, corpus_json("admin_json", "write_ok_comment_200")),
        (AdminAnswer::Write, corpus_json("admin_json", "write_refused_refund_400")),
    ]
}

fn real_xml_answers() -> Vec<(AdminAnswer, String)> {
    let xml = |seed| String::from_utf8(super::corpus::seed("admin_xml", seed)).unwrap();
    vec![
        (AdminAnswer::DetailSale, xml("detail_sale_documented_200")),
        (AdminAnswer::ListSales, xml("list_sales_page_200")),
        (AdminAnswer::Write, xml("write_ok_comment_200")),
        (AdminAnswer::DetailSale, xml("detail_sale_unknown_400")),
    ]
}

fn status_code() -> impl Strategy<Value = u16> {
    prop_oneof![3 => select(&STATUSES[..]), 1 => 100u16..1000, 1 => any::<u16>()]
}

fn content_type() -> impl Strategy<Value = &'static str> {
    select(
        &[
            JSON,
            XML,
            "",
            "text/html",
            "application/problem+json",
            "application/atom+xml",
            "APPLICATION/JSON;x=y",
            "text/xml",
        ][..],
    )
}

/// An XML fragment for where text or an element stands: raw text, references, markup,
/// nesting up to a few hundred levels.
fn hostile_xml() -> impl Strategy<Value = String> {
    prop_oneof![
        odd_text(),
        odd_text().prop_map(|t| t.replace('&', "&amp;").replace('<', "&lt;")),
        select(
            &[
                "&#0;",
                "&#x110000;",
                "&#55296;",
                "&#79;&#75;",
                "&amp;",
                "&bogus;",
                "&",
                "]]>",
                "<![CDATA[OK]]>",
                "<![CDATA[",
                "<!-- c -->",
                "<?pi x?>",
                "<a b='c'>1</a>",
                "<a/><a/>",
                "<a><b>1</b><b/></a>",
                "</x>",
                "<x>",
                "<!DOCTYPE r [<!ENTITY e 'x'>]>",
                "&e;",
                "<sale_id>1</sale_id><sale_id>2</sale_id>",
                "<errors><code/></errors>"
            ][..]
        )
        .prop_map(str::to_owned),
        (1usize..400, select(KEYS)).prop_map(|(depth, name)| format!(
            "{}1{}",
            format!("<{name}>").repeat(depth),
            format!("</{name}>").repeat(depth)
        )),
    ]
}

/// `document` with its `at`-th text node (or, without one, its start) replaced by `fragment`.
fn graft_xml(document: &str, at: Index, fragment: &str) -> Vec<u8> {
    let mut texts = Vec::new();
    let mut start = None;
    for (i, c) in document.char_indices() {
        match c {
            '>' => start = Some(i + 1),
            '<' => {
                if let Some(s) = start.take() {
                    texts.push(s..i);
                }
            }
            _ => {}
        }
    }
    let range = if texts.is_empty() { 0..0 } else { at.get(&texts).clone() };
    let mut grafted = document.to_owned();
    grafted.replace_range(range, fragment);
    grafted.into_bytes()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_with_any_status_and_content_type_are_read_or_refused_cleanly(
        status in status_code(),
        content_type in content_type(),
        body in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        for answer in AdminAnswer::ALL {
            prop_assert_eq!(check_admin_answer(answer, status, content_type, &body), Ok(()));
        }
        for answer in CatalogAnswer::ALL {
            prop_assert_eq!(check_catalog_answer(answer, status, content_type, &body), Ok(()));
        }
        prop_assert_eq!(check_payment_answer(status, &body), Ok(()));
    }

    #[test]
    fn framed_fuzz_inputs_keep_the_rules(input in prop::collection::vec(any::<u8>(), 0..400)) {
        prop_assert_eq!(check_admin(JSON, &input), Ok(()));
        prop_assert_eq!(check_admin(XML, &input), Ok(()));
        prop_assert_eq!(check_payment(&input), Ok(()));
        prop_assert_eq!(check_request(&input), Ok(()));
    }

    #[test]
    fn real_json_answers_with_one_hostile_value_are_read_or_refused_cleanly(
        which in any::<Index>(),
        at in any::<Index>(),
        fragment in hostile_json(),
        status in select(&[200u16, 200, 400, 403][..]),
        sniffed in any::<bool>(),
    ) {
        let answers = real_json_answers();
        let (answer, document) = which.get(&answers);
        let body = graft_json(document, at, &fragment);
        let content_type = if sniffed { "" } else { JSON };
        prop_assert_eq!(check_admin_answer(*answer, status, content_type, &body), Ok(()));
    }

    #[test]
    fn real_xml_answers_with_one_hostile_fragment_are_read_or_refused_cleanly(
        which in any::<Index>(),
        at in any::<Index>(),
        fragment in hostile_xml(),
        status in select(&[200u16, 200, 400, 403][..]),
    ) {
        let answers = real_xml_answers();
        let (answer, document) = which.get(&answers);
        let body = graft_xml(document, at, &fragment);
        prop_assert_eq!(check_admin_answer(*answer, status, XML, &body), Ok(()));
    }

    #[test]
    fn a_real_xml_answer_with_one_byte_changed_is_read_or_refused_cleanly(
        which in any::<Index>(),
        at in any::<Index>(),
        byte in any::<u8>(),
    ) {
        let answers = real_xml_answers();
        let (answer, document) = which.get(&answers);
        let mut body = document.clone().into_bytes();
        let position = at.index(body.len());
        body[position] = byte;
        prop_assert_eq!(check_admin_answer(*answer, 200, XML, &body), Ok(()));
    }

    #[test]
    fn whole_bodies_nested_hundreds_deep_are_refused_cleanly(
        json in deep_json(),
        xml in hostile_xml(),
        status in status_code(),
    ) {
        for answer in AdminAnswer::ALL {
            prop_assert_eq!(check_admin_answer(answer, status, JSON, json.as_bytes()), Ok(()));
            let xml = format!("<response>{xml}</response>");
            prop_assert_eq!(check_admin_answer(answer, status, XML, xml.as_bytes()), Ok(()));
        }
        prop_assert_eq!(check_payment_answer(status, json.as_bytes()), Ok(()));
    }

    #[test]
    fn a_write_succeeds_exactly_when_response_code_says_ok(
        code in hostile_json(),
        message in odd_text(),
        xml in any::<bool>(),
    ) {
        let (body, says_ok) = if xml {
            let code = code.trim_matches('"');
            let message = message.replace('&', "&amp;").replace('<', "&lt;");
            let body = format!(
                "<response><response_code>{code}</response_code>\
                 <response_message>{message}</response_message></response>"
            );
            (body, code.trim() == "OK")
        } else {
            let body = format!("{{\"response_code\":{code},\"response_message\":{}}}", Value::String(message));
            let code = serde_json::from_str::<Value>(&code).ok();
            (body, code.as_ref().and_then(Value::as_str).map(str::trim) == Some("OK"))
        };
        let outcome = write(200, if xml { XML } else { JSON }, body.as_bytes());
        if says_ok {
            prop_assert!(outcome.is_ok(), "{} gave {:?}", body, outcome);
        } else {
            prop_assert!(matches!(outcome, Err(Error::OutcomeUnknown { .. })), "{} gave {:?}", body, outcome);
        }
    }

    #[test]
    fn an_authorization_is_approved_exactly_when_response_code_says_approved_with_an_order_number(
        code in hostile_json(),
        order_number in prop_oneof![Just("9093717691800".to_owned()), odd_text()],
        status in select(&[200u16, 201, 400][..]),
    ) {
        let mut document = corpus_json("payment_json", "approved_total_200");
        document["response"]["orderNumber"] = Value::String(order_number.clone());
        let body = document.to_string().replacen("\"responseCode\":\"APPROVED\"", &format!("\"responseCode\":{code}"), 1);
        let code = serde_json::from_str::<Value>(&code).ok();
        let approves = code.as_ref().and_then(Value::as_str).map(str::trim) == Some("APPROVED")
            && !order_number.trim().is_empty()
            && status != 400;
        let outcome = authorize(status, JSON, body.as_bytes());
        if approves {
            prop_assert!(outcome.is_ok(), "{} gave {:?}", body, outcome);
        } else {
            prop_assert!(matches!(outcome, Err(Error::OutcomeUnknown { .. })), "{} gave {:?}", body, outcome);
        }
    }

    #[test]
    fn a_real_approval_with_one_hostile_value_is_approved_or_outcome_unknown(
        at in any::<Index>(),
        fragment in hostile_json(),
        status in select(&[200u16, 201, 400, 500][..]),
    ) {
        let document = corpus_json("payment_json", "approved_lines_200");
        let body = graft_json(&document, at, &fragment);
        prop_assert_eq!(check_payment_answer(status, &body), Ok(()));
    }
}

// ------------------------------------------------------------------ catalog and account answers

/// The listings, whose "nothing" is HTTP 400 RECORD_NOT_FOUND.
const LISTINGS: [CatalogAnswer; 4] =
    [CatalogAnswer::ListProducts, CatalogAnswer::ListOptions, CatalogAnswer::ListCoupons, CatalogAnswer::ListPayments];

/// The writes, with the member naming what each makes or echoes (the deletes and
/// update_option answer none: any member is ignored).
const WRITES: [(CatalogAnswer, &str); 9] = [
    (CatalogAnswer::CreateProduct, "product_id"),
    (CatalogAnswer::UpdateProduct, "product_id"),
    (CatalogAnswer::DeleteProduct, "product_id"),
    (CatalogAnswer::CreateOption, "option_id"),
    (CatalogAnswer::UpdateOption, "option_id"),
    (CatalogAnswer::DeleteOption, "option_id"),
    (CatalogAnswer::CreateCoupon, "coupon_code"),
    (CatalogAnswer::UpdateCoupon, "coupon_code"),
    (CatalogAnswer::DeleteCoupon, "coupon_code"),
];

/// Where the amounts of the example answers are, with their seed name and member name.
const AMOUNTS: [(&str, &str, &str); 7] = [
    ("catalog_list_products", "/products/0/price", "price"),
    ("catalog_detail_product", "/product/weight", "weight"),
    ("catalog_detail_product", "/product/options/0/option_values/1/option_value_surcharge", "option_value_surcharge"),
    ("catalog_detail_option", "/option/0/option_values/2/option_value_surcharge", "option_value_surcharge"),
    ("catalog_detail_coupon", "/coupon/minimum_purchase", "minimum_purchase"),
    ("acct_pending_payment", "/payment/amount", "amount"),
    ("acct_list_payments", "/payments/0/reserve_held", "reserve_held"),
];

/// The one amount [`AMOUNTS`] names, as read (`None`: read as absent).
fn amount_at(decoded: &CatalogDecoded, pointer: &str) -> Option<Amount> {
    match decoded {
        CatalogDecoded::Products(page) => Some(page.rows[0].price),
        CatalogDecoded::Product(p) if pointer.contains("options") => Some(p.options[0].values[1].surcharge),
        CatalogDecoded::Product(p) => p.weight,
        CatalogDecoded::Option(o) => Some(o.values[2].surcharge),
        CatalogDecoded::Coupon(c) => c.minimum_purchase,
        CatalogDecoded::PendingPayment(p) => p.amount,
        CatalogDecoded::Payments(list) => list[0].reserve_held,
        _ => None,
    }
}

fn example(name: &str) -> (CatalogAnswer, u16, Value) {
    let found = catalog_examples().into_iter().find(|(n, ..)| *n == name);
    let (_, answer, status, body) = found.unwrap_or_else(|| panic!("no example {name}"));
    (answer, status, body)
}

fn detail_of(outcome: &Result<CatalogDecoded, Error>) -> Option<&str> {
    match outcome {
        Err(Error::UpstreamResponseInvalid { detail, .. }) => Some(detail),
        _ => None,
    }
}

/// What the vendor's spellings of "absent" are, to the wire decode: "", null, "null".
fn is_absent(text: &str) -> bool {
    text.is_empty() || text == "null"
}

/// A generated product, well formed: (product_id, name, price, tangible, option value surcharges).
type GeneratedProduct = (String, String, String, bool, Vec<Vec<String>>);

fn well_formed_product() -> impl Strategy<Value = GeneratedProduct> {
    let surcharge = "[0-9]{1,5}\\.[0-9]{2}";
    (
        "[1-9][0-9]{0,12}",
        "[A-Za-z0-9][A-Za-z0-9 &<>']{0,28}[A-Za-z0-9]",
        "[0-9]{1,6}\\.[0-9]{2}",
        any::<bool>(),
        prop::collection::vec(prop::collection::vec(surcharge, 1..4), 0..3),
    )
}

fn product_json((id, name, price, tangible, options): &GeneratedProduct) -> Value {
    let options: Vec<Value> = options
        .iter()
        .enumerate()
        .map(|(i, values)| {
            let values: Vec<Value> = values
                .iter()
                .enumerate()
                .map(|(j, surcharge)| {
                    json!({"option_value_id": format!("{}", 4000 + j), "option_value_name": format!("v{j}"),
                           "option_value_surcharge": surcharge})
                })
                .collect();
            json!({"option_id": format!("{}", 100 + i), "option_name": format!("o{i}"), "option_values": values})
        })
        .collect();
    json!({"product_id": id, "name": name, "price": price, "tangible": if *tangible { "1" } else { "0" },
           "weight": null, "images": [], "categories": [], "options": options})
}

/// A company info answer with `secret` as its secret word, the member placed `at` one of
/// the places a vendor could put it, and `vendor_id` as given (`None`: left out).
fn company_info_with(secret: &str, at: usize, vendor_id: Option<Value>, name: &str) -> Value {
    let mut body = company_info();
    let info = &mut body["vendor_company_info"];
    if let Some(fields) = info.as_object_mut() {
        fields.remove("secret_word");
        fields.insert("vendor_name".into(), Value::String(name.to_owned()));
        match vendor_id {
            Some(id) => fields.insert("vendor_id".into(), id),
            None => fields.remove("vendor_id"),
        };
    }
    match at % 4 {
        0 => info["secret_word"] = json!(secret),
        1 => body["secret_word"] = json!(secret),
        2 => info["site"] = json!({"secret_word": secret}),
        _ => {
            info["secret_word"] = json!(secret);
            body["vendor_contact_info"] = json!({"vendor_id": "1", "secret_word": secret});
        }
    }
    body
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn real_catalog_json_answers_with_one_hostile_value_are_read_or_refused_cleanly(
        which in any::<Index>(),
        at in any::<Index>(),
        fragment in hostile_json(),
        status in select(&[200u16, 200, 400, 403][..]),
        sniffed in any::<bool>(),
    ) {
        let examples = catalog_examples();
        let (_, answer, _, document) = which.get(&examples);
        let body = graft_json(document, at, &fragment);
        let content_type = if sniffed { "" } else { JSON };
        prop_assert_eq!(check_catalog_answer(*answer, status, content_type, &body), Ok(()));
    }

    #[test]
    fn real_catalog_xml_answers_with_one_hostile_fragment_are_read_or_refused_cleanly(
        which in any::<Index>(),
        at in any::<Index>(),
        fragment in hostile_xml(),
        status in select(&[200u16, 200, 400, 403][..]),
    ) {
        let examples = catalog_examples();
        let (_, answer, _, document) = which.get(&examples);
        let body = graft_xml(&xml_of(document), at, &fragment);
        prop_assert_eq!(check_catalog_answer(*answer, status, XML, &body), Ok(()));
    }

    #[test]
    fn a_real_catalog_answer_with_one_byte_changed_is_read_or_refused_cleanly(
        which in any::<Index>(),
        at in any::<Index>(),
        byte in any::<u8>(),
        xml in any::<bool>(),
    ) {
        let examples = catalog_examples();
        let (_, answer, status, document) = which.get(&examples);
        let mut body = if xml { xml_of(document) } else { document.to_string() }.into_bytes();
        let position = at.index(body.len());
        body[position] = byte;
        prop_assert_eq!(check_catalog_answer(*answer, *status, if xml { XML } else { JSON }, &body), Ok(()));
    }

    #[test]
    fn whole_catalog_bodies_nested_hundreds_deep_are_refused_cleanly(
        json in deep_json(),
        xml in hostile_xml(),
        status in status_code(),
        answer in select(&CatalogAnswer::ALL[..]),
    ) {
        prop_assert_eq!(check_catalog_answer(answer, status, JSON, json.as_bytes()), Ok(()));
        let xml = format!("<response>{xml}</response>");
        prop_assert_eq!(check_catalog_answer(answer, status, XML, xml.as_bytes()), Ok(()));
    }

    #[test]
    fn well_formed_products_are_read_as_sent_and_alike_in_json_and_in_xml(
        products in prop::collection::vec(well_formed_product(), 1..4),
    ) {
        let rows: Vec<Value> = products.iter().map(product_json).collect();
        let body = json!({"response_code": "OK", "products": rows});
        let from_json = catalog_answer(CatalogAnswer::ListProducts, 200, JSON, body.to_string().as_bytes());
        let from_xml = catalog_answer(CatalogAnswer::ListProducts, 200, XML, xml_of(&body).as_bytes());
        prop_assert_eq!(format!("{:?}", from_json), format!("{:?}", from_xml));
        let Ok(CatalogDecoded::Products(page)) = from_json else {
            return Err(TestCaseError::fail(format!("{body} gave {from_json:?}")));
        };
        prop_assert_eq!(page.rows.len(), products.len());
        prop_assert_eq!(page.total_entries as usize, products.len());
        for (row, (id, name, price, tangible, options)) in page.rows.iter().zip(&products) {
            prop_assert_eq!(row.product_id.to_string(), id.clone());
            prop_assert_eq!(&row.name, name);
            prop_assert_eq!(row.price, price.parse::<Amount>().unwrap());
            prop_assert_eq!(row.tangible, *tangible);
            let surcharges: Vec<Vec<Amount>> = row.options.iter().map(|o| o.values.iter().map(|v| v.surcharge).collect()).collect();
            let sent: Vec<Vec<Amount>> =
                options.iter().map(|values| values.iter().map(|v| v.parse().unwrap()).collect()).collect();
            prop_assert_eq!(surcharges, sent);
        }
        prop_assert_eq!(check_catalog_answer(CatalogAnswer::ListProducts, 200, JSON, body.to_string().as_bytes()), Ok(()));
    }

    #[test]
    fn any_amount_text_is_read_as_that_money_or_refused_naming_its_member(
        which in select(&AMOUNTS[..]),
        text in prop_oneof![amount(), "-?[0-9]{9,30}(\\.[0-9]{0,6})?", odd_text()],
    ) {
        let (name, pointer, member) = which;
        let (answer, status, mut document) = example(name);
        *document.pointer_mut(pointer).unwrap() = Value::String(text.clone());
        let body = document.to_string();
        let outcome = catalog_answer(answer, status, JSON, body.as_bytes());
        let expected = text.trim().parse::<Amount>().ok();
        match &outcome {
            Ok(decoded) => {
                let read = amount_at(decoded, pointer);
                prop_assert!(read == expected || (read.is_none() && is_absent(&text)), "{:?} read as {:?}", text, read);
            }
            Err(_) => {
                let detail = detail_of(&outcome).unwrap_or_default();
                prop_assert!(expected.is_none(), "{:?} refused: {:?}", text, outcome);
                prop_assert!(detail.starts_with(answer.endpoint()) && detail.contains(member), "{}", detail);
            }
        }
        prop_assert_eq!(check_catalog_answer(answer, status, JSON, body.as_bytes()), Ok(()));
    }

    #[test]
    fn any_id_text_is_read_as_that_id_or_refused_naming_its_member(
        which in 0usize..3,
        text in prop_oneof![digits(), "-?[0-9]{1,25}", odd_text()],
    ) {
        let (name, pointer, member) = [
            ("catalog_list_products", "/products/1/product_id", "product_id"),
            ("catalog_detail_option", "/option/0/option_id", "option_id"),
            ("catalog_detail_coupon", "/coupon/product/0/product_id", "product_id"),
        ][which];
        let (answer, status, mut document) = example(name);
        *document.pointer_mut(pointer).unwrap() = Value::String(text.clone());
        let body = document.to_string();
        let outcome = catalog_answer(answer, status, JSON, body.as_bytes());
        let valid = !is_absent(&text) && match which {
            1 => text.parse::<OptionId>().is_ok(),
            _ => text.parse::<ProductId>().is_ok(),
        };
        match &outcome {
            Ok(CatalogDecoded::Products(page)) => prop_assert_eq!(Some(page.rows[1].product_id.to_string()), text.parse::<ProductId>().ok().map(|id| id.to_string())),
            Ok(CatalogDecoded::Option(option)) => prop_assert_eq!(Some(option.option_id.to_string()), text.parse::<OptionId>().ok().map(|id| id.to_string())),
            // "0" (and no id at all) is the vendor's "tied to no product".
            Ok(CatalogDecoded::Coupon(coupon)) => {
                let none = is_absent(&text) || text.trim() == "0";
                let expected: Vec<String> = if none { vec![] } else { text.parse::<ProductId>().map(|id| id.to_string()).into_iter().collect() };
                let read: Vec<String> = coupon.product_ids.iter().flatten().map(ToString::to_string).collect();
                prop_assert!((valid || none) && read == expected, "{:?} read as {:?}", text, coupon);
            }
            Ok(other) => prop_assert!(false, "{:?}", other),
            Err(_) => {
                let detail = detail_of(&outcome).unwrap_or_default();
                prop_assert!(!valid, "{:?} refused: {:?}", text, outcome);
                prop_assert!(detail.starts_with(answer.endpoint()) && detail.contains(member), "{}", detail);
            }
        }
        prop_assert_eq!(check_catalog_answer(answer, status, JSON, body.as_bytes()), Ok(()));
    }

    #[test]
    fn a_listings_record_not_found_is_an_empty_page_in_json_and_in_xml(
        answer in select(&LISTINGS[..]),
        status in select(&[400u16, 404, 200][..]),
        message in "[A-Za-z .]{0,40}",
        xml in any::<bool>(),
    ) {
        let body = json!({"errors": [{"code": "RECORD_NOT_FOUND", "message": message}]});
        let text = if xml { xml_of(&body) } else { body.to_string() };
        let outcome = catalog_answer(answer, status, if xml { XML } else { JSON }, text.as_bytes());
        let empty = outcome.as_ref().map(super::is_first_empty_page).unwrap_or(false);
        prop_assert!(empty, "{} gave {:?}", text, outcome);
        prop_assert_eq!(check_catalog_answer(answer, status, if xml { XML } else { JSON }, text.as_bytes()), Ok(()));
        // Anywhere else it stays the vendor's error: only a listing is "nothing found".
        let detail = catalog_answer(CatalogAnswer::DetailProduct, status, if xml { XML } else { JSON }, text.as_bytes());
        prop_assert!(matches!(detail, Err(Error::Vendor(_))), "{:?}", detail);
    }

    #[test]
    fn a_company_info_shows_its_secret_word_nowhere_whatever_the_answer_holds(
        secret in "[A-Za-z0-9_-]{16,40}",
        at in any::<usize>(),
        vendor_id in prop_oneof![
            3 => Just(Some(json!("901248204"))),
            1 => Just(None),
            1 => Just(Some(json!({"id": 1}))),
            1 => Just(Some(json!(""))),
        ],
        name in "[A-Za-z0-9 ]{0,20}",
        xml in any::<bool>(),
    ) {
        for secret in [secret.as_str(), ACCOUNT_SECRET_WORD] {
            let document = company_info_with(secret, at, vendor_id.clone(), &name);
            let (content_type, body) = if xml { (XML, xml_of(&document)) } else { (JSON, document.to_string()) };
            let outcome = catalog_answer(CatalogAnswer::CompanyInfo, 200, content_type, body.as_bytes());
            let shown = match &outcome {
                Ok(value) => format!("{value:?} {value:#?}"),
                Err(e) => format!("{e:?} {e}"),
            };
            prop_assert!(!shown.contains(secret), "{} shows the secret word: {}", body, shown);
            let valid_vendor = vendor_id.as_ref().is_some_and(|id| id == &json!("901248204"));
            prop_assert_eq!(outcome.is_ok(), valid_vendor, "{} gave {:?}", body, outcome);
            prop_assert_eq!(check_catalog_answer(CatalogAnswer::CompanyInfo, 200, content_type, body.as_bytes()), Ok(()));
        }
    }

    #[test]
    fn a_catalog_write_succeeds_exactly_when_response_code_says_ok_and_a_create_names_what_it_made(
        which in select(&WRITES[..]),
        code in prop_oneof![3 => Just("\"OK\"".to_owned()), 1 => hostile_json()],
        id in prop_oneof![Just(None), prop::option::of(digits()), prop::option::of(odd_text())],
        status in select(&[200u16, 200, 201, 400, 500][..]),
    ) {
        let (answer, member) = which;
        let mut body = format!("{{\"response_code\":{code},\"response_message\":\"Done\"");
        if let Some(id) = &id {
            body.push_str(&format!(",\"{member}\":{}", Value::String(id.clone())));
        }
        body.push('}');
        let says_ok = serde_json::from_str::<Value>(&code).ok().as_ref().and_then(Value::as_str).map(str::trim)
            == Some("OK");
        let present = id.as_deref().filter(|id| !is_absent(id));
        let valid = |id: &str| match member {
            "product_id" => id.parse::<ProductId>().is_ok(),
            "option_id" => id.parse::<OptionId>().is_ok(),
            _ => id.parse::<CouponCode>().is_ok(),
        };
        let ids_fine = match answer {
            CatalogAnswer::CreateProduct | CatalogAnswer::CreateOption | CatalogAnswer::CreateCoupon => {
                present.is_some_and(valid)
            }
            CatalogAnswer::UpdateProduct | CatalogAnswer::UpdateCoupon => present.is_none_or(valid),
            _ => true,
        };
        let outcome = catalog_answer(answer, status, JSON, body.as_bytes());
        if says_ok && ids_fine && status < 300 {
            prop_assert!(matches!(outcome, Ok(CatalogDecoded::Receipt(_))), "{} gave {:?}", body, outcome);
        } else {
            prop_assert!(matches!(outcome, Err(Error::OutcomeUnknown { .. })), "{} gave {:?}", body, outcome);
        }
        prop_assert_eq!(check_catalog_answer(answer, status, JSON, body.as_bytes()), Ok(()));
    }
}

// ------------------------------------------------------------------ caller requests

fn filter() -> impl Strategy<Value = Option<proto::SalesFilter>> {
    let texts = (digits(), digits(), odd_text(), odd_text(), odd_text(), odd_text());
    let cards = (digits(), digits(), date(), date(), any::<[bool; 3]>());
    prop::option::of((texts, cards).prop_map(
        |(
            (sale_id, invoice_id, customer_name, customer_email, customer_phone, vendor_product_id),
            (
                ccard_first6,
                ccard_last2,
                sale_date_begin,
                sale_date_end,
                [declined_recurrings, active_recurrings, refunded],
            ),
        )| {
            proto::SalesFilter {
                sale_id,
                invoice_id,
                customer_name,
                customer_email,
                customer_phone,
                vendor_product_id,
                ccard_first6,
                ccard_last2,
                sale_date_begin,
                sale_date_end,
                declined_recurrings,
                active_recurrings,
                refunded,
            }
        },
    ))
}

fn page_number() -> impl Strategy<Value = i32> {
    prop_oneof![3 => -2i32..120, 1 => any::<i32>()]
}

fn order_line() -> impl Strategy<Value = proto::OrderLineItem> {
    let option = (odd_text(), odd_text(), amount()).prop_map(|(name, value, surcharge)| proto::OrderLineOption {
        name,
        value,
        surcharge,
    });
    let head = (
        enum_value(),
        odd_text(),
        prop::option::of(prop_oneof![-2i32..1002, any::<i32>()]),
        amount(),
        prop::option::of(any::<bool>()),
    );
    let tail = (odd_text(), odd_text(), odd_text(), amount(), prop::collection::vec(option, 0..3));
    (head, tail).prop_map(
        |((r#type, name, quantity, price, tangible), (product_id, recurrence, duration, startup_fee, options))| {
            proto::OrderLineItem {
                r#type,
                name,
                quantity,
                price,
                tangible,
                product_id,
                recurrence,
                duration,
                startup_fee,
                options,
            }
        },
    )
}

fn billing_address() -> impl Strategy<Value = Option<proto::BillingAddress>> {
    let a = (odd_text(), odd_text(), odd_text(), odd_text(), odd_text());
    let b = (odd_text(), odd_text(), odd_text(), odd_text(), odd_text());
    prop::option::of((a, b).prop_map(
        |(
            (name, address_line_1, address_line_2, city, state),
            (zip_code, country, email, phone_number, phone_extension),
        )| {
            proto::BillingAddress {
                name,
                address_line_1,
                address_line_2,
                city,
                state,
                zip_code,
                country,
                email,
                phone_number,
                phone_extension,
            }
        },
    ))
}

fn shipping_address() -> impl Strategy<Value = Option<proto::ShippingAddress>> {
    let fields = (odd_text(), odd_text(), odd_text(), odd_text(), odd_text(), odd_text(), odd_text());
    prop::option::of(fields.prop_map(|(name, address_line_1, address_line_2, city, state, zip_code, country)| {
        proto::ShippingAddress { name, address_line_1, address_line_2, city, state, zip_code, country }
    }))
}

fn authorize_request() -> impl Strategy<Value = proto::AuthorizeRequest> {
    let amount = prop::option::of(prop_oneof![
        amount().prop_map(proto::authorize_request::Amount::Total),
        prop::collection::vec(order_line(), 0..4)
            .prop_map(|items| proto::authorize_request::Amount::LineItems(proto::OrderLineItems { items })),
    ]);
    let head = (request_id(), odd_text(), prop_oneof![Just("MjFiYzIzYjA".to_owned()), odd_text()], enum_value());
    (head, amount, billing_address(), shipping_address(), any::<bool>()).prop_map(
        |((request_id, merchant_order_id, token, currency), amount, billing_address, shipping_address, demo)| {
            proto::AuthorizeRequest {
                request_id,
                merchant_order_id,
                token,
                currency,
                amount,
                billing_address,
                shipping_address,
                demo,
            }
        },
    )
}

/// Converts `message` directly and after a protobuf round trip: both keep the edge's
/// promise (a value, or INVALID_ARGUMENT naming a field) and agree.
fn converts_cleanly<M, D>(kind: RequestKind, message: &M) -> Result<(), TestCaseError>
where
    M: Message + Default,
    D: for<'a> TryFrom<&'a M, Error = Error>,
{
    let direct = D::try_from(message).map(drop);
    prop_assert_eq!(check_conversion(&direct), Ok(()));
    let decoded = convert_request(kind, &message.encode_to_vec()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(direct.is_ok(), decoded.is_ok());
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_get_sale_request_converts_or_names_its_field(
        lookup in prop::option::of((any::<bool>(), digits())),
        fresh in any::<bool>(),
    ) {
        use proto::get_sale_request::Lookup;
        let lookup = lookup.map(|(by_sale, id)| if by_sale { Lookup::SaleId(id) } else { Lookup::InvoiceId(id) });
        converts_cleanly::<_, SaleLookup>(RequestKind::GetSale, &proto::GetSaleRequest { lookup, fresh })?;
    }

    #[test]
    fn any_listing_request_converts_or_names_its_field(
        filter in filter(),
        page in page_number(),
        page_size in page_number(),
        sort_column in enum_value(),
        sort_direction in enum_value(),
    ) {
        let list = proto::ListSalesRequest { filter: filter.clone(), page, page_size, sort_column, sort_direction };
        converts_cleanly::<_, ListSalesQuery>(RequestKind::ListSales, &list)?;
        let stream = proto::StreamSalesRequest { filter, page_size, sort_column, sort_direction };
        converts_cleanly::<_, ListSalesQuery>(RequestKind::StreamSales, &stream)?;
    }

    #[test]
    fn any_refund_request_converts_or_names_its_field(
        request_id in request_id(), sale_id in digits(), invoice_id in digits(), amount in amount(),
        currency in enum_value(), comment in comment(), category in enum_value(),
    ) {
        let invoice = proto::RefundInvoiceRequest {
            request_id: request_id.clone(), sale_id: sale_id.clone(), invoice_id: invoice_id.clone(),
            amount: amount.clone(), currency, comment: comment.clone(), category,
        };
        converts_cleanly::<_, WriteRequest>(RequestKind::RefundInvoice, &invoice)?;
        let line = proto::RefundLineItemRequest {
            request_id, sale_id, line_item_id: invoice_id, amount, currency, comment, category,
        };
        converts_cleanly::<_, WriteRequest>(RequestKind::RefundLineItem, &line)?;
    }

    #[test]
    fn any_other_write_request_converts_or_names_its_field(
        request_id in request_id(),
        sale_id in digits(),
        other_id in digits(),
        text in comment(),
        tracking in odd_text(),
        flags in any::<[bool; 2]>(),
    ) {
        converts_cleanly::<_, WriteRequest>(
            RequestKind::Reauthorize,
            &proto::ReauthorizeRequest { request_id: request_id.clone(), sale_id: sale_id.clone() },
        )?;
        converts_cleanly::<_, WriteRequest>(
            RequestKind::StopLineItemRecurring,
            &proto::StopLineItemRecurringRequest {
                request_id: request_id.clone(),
                sale_id: sale_id.clone(),
                line_item_id: other_id.clone(),
            },
        )?;
        converts_cleanly::<_, WriteRequest>(
            RequestKind::MarkShipped,
            &proto::MarkShippedRequest {
                request_id: request_id.clone(),
                sale_id: sale_id.clone(),
                invoice_id: other_id,
                tracking_number: tracking,
                notify_customer: flags[0], reauthorize: flags[1], comment: text.clone(),
            },
        )?;
        converts_cleanly::<_, WriteRequest>(
            RequestKind::CreateComment,
            &proto::CreateCommentRequest {
                request_id, sale_id, comment: text, notify_vendor: flags[0], notify_customer: flags[1],
            },
        )?;
    }

    #[test]
    fn any_authorize_request_converts_or_names_its_field(request in authorize_request()) {
        converts_cleanly::<_, AuthorizationRequest>(RequestKind::Authorize, &request)?;
    }

    #[test]
    fn arbitrary_bytes_as_any_request_decode_or_not_and_convert_cleanly(
        kind in select(&RequestKind::ALL[..]),
        encoded in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        if let Ok(outcome) = convert_request(kind, &encoded) {
            prop_assert_eq!(check_conversion(&outcome), Ok(()));
        }
    }
}

// ------------------------------------------------------------------ INS posts

/// The seed forms the receiver accepts (signed for the test account).
fn signed_ins_forms() -> Vec<Vec<(String, String)>> {
    ins_forms().into_iter().filter(|(_, _, accepted)| *accepted).map(|(_, fields, _)| fields).collect()
}

/// Values the reading may trip on: amounts, dates and times just off, "N/A", odd text.
fn ins_value() -> impl Strategy<Value = String> {
    prop_oneof![
        select(
            &[
                "N/A",
                "-",
                ".",
                "1.",
                ".5",
                "-.5",
                "--1",
                "1e3",
                "0x10",
                "１２",
                "+1.00",
                "1,00",
                " 1.00",
                "99999999999999999999999999999999",
                "999999999999999999999999999999999",
                "2012-02-30",
                "2012-2-3",
                "+12012-01-01",
                "2013-03-10 02:30:00",
                "2012-11-04 01:30:00",
                "2012-11-04 01:30:00 EST",
                "2012-11-04 01:30:00 EDT",
                "2013-07-19 17:01:19 UTC",
                "9999-12-31 23:59:60",
                "4294967296",
                "-1",
                "live",
                "cancelled",
                "refund",
                "ORDER_CREATED",
                "REFUND_ISSUED",
            ][..]
        )
        .prop_map(str::to_owned),
        amount(),
        date(),
        odd_text(),
    ]
}

/// Keys a form may carry beyond the documented ones: item numbers near and past the bound.
fn ins_key() -> impl Strategy<Value = String> {
    prop_oneof![
        "item_[a-z_]{0,16}_[0-9]{1,5}",
        select(
            &["item_name_1000", "item_name_1001", "item__0", "item_", "item_1", "item_rec_status_18446744073709551616"]
                [..]
        )
        .prop_map(str::to_owned),
        "[a-z_]{1,20}",
        odd_text(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_as_an_ins_post_are_accepted_or_refused_cleanly(
        body in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        prop_assert_eq!(check_ins_post(&body), Ok(()));
    }

    #[test]
    fn a_signed_ins_form_with_one_value_changed_is_read_cleanly(
        which in any::<Index>(),
        at in any::<Index>(),
        value in ins_value(),
    ) {
        let forms = signed_ins_forms();
        let mut fields = which.get(&forms).clone();
        let position = at.index(fields.len());
        fields[position].1 = value;
        let body = ins_body(&fields);
        prop_assert_eq!(check_ins_post(&body), Ok(()));
        // The hash covers the ids alone: any other field's value is the vendor's to choose.
        if !INS_REQUIRED.contains(&fields[position].0.as_str()) {
            prop_assert!(ins_post(&body).is_ok(), "{:?} refused", fields[position]);
        }
    }

    #[test]
    fn a_signed_ins_form_with_any_amount_reads_it_as_decimal_text_or_empty(
        which in any::<Index>(),
        key in select(&[
            "invoice_list_amount", "invoice_usd_amount", "invoice_cust_amount", "item_list_amount_1",
            "item_usd_amount_2", "item_cust_amount_1", "item_rec_list_amount_2",
        ][..]),
        value in prop_oneof![amount(), "-?[0-9]{20,40}(\\.[0-9]{0,12})?", ins_value()],
    ) {
        let forms = signed_ins_forms();
        let mut fields = which.get(&forms).clone();
        fields.retain(|(k, _)| k != key);
        fields.push((key.to_owned(), value));
        let body = ins_body(&fields);
        prop_assert_eq!(check_ins_post(&body), Ok(()));
        prop_assert!(ins_post(&body).is_ok());
    }

    #[test]
    fn a_signed_ins_form_with_extra_fields_is_read_cleanly(
        which in any::<Index>(),
        extra in prop::collection::vec((ins_key(), ins_value()), 1..8),
    ) {
        let forms = signed_ins_forms();
        let mut fields = which.get(&forms).clone();
        let signed = extra.iter().any(|(key, _)| INS_REQUIRED.contains(&key.as_str()));
        fields.extend(extra);
        let body = ins_body(&fields);
        prop_assert_eq!(check_ins_post(&body), Ok(()));
        if !signed {
            prop_assert!(ins_post(&body).is_ok());
        }
    }

    #[test]
    fn a_signed_ins_body_with_one_byte_changed_is_accepted_or_refused_cleanly(
        which in any::<Index>(),
        at in any::<Index>(),
        byte in any::<u8>(),
    ) {
        let forms = signed_ins_forms();
        let mut body = ins_body(which.get::<Vec<(String, String)>>(&forms));
        let position = at.index(body.len());
        body[position] = byte;
        prop_assert_eq!(check_ins_post(&body), Ok(()));
    }
}
