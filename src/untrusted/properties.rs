//! Property tests: no upstream answer and no caller request makes the gateway panic, and
//! each outcome keeps the rules of the `check_*` oracles. 256 cases a property by default
//! (proptest's own default); `PROPTEST_CASES=100000 cargo test --lib untrusted::properties`
//! runs them long.

use proptest::prelude::*;
use proptest::sample::{Index, select};
use prost::Message;
use serde_json::Value;

use super::corpus::{ins_body, ins_forms};
use super::{
    AdminAnswer, INS_REQUIRED, JSON, RequestKind, STATUSES, XML, authorize, check_admin, check_admin_answer,
    check_conversion, check_ins_post, check_payment, check_payment_answer, check_request, convert_request, ins_post,
    write,
};
use crate::domain::{AuthorizationRequest, Error, ListSalesQuery, SaleLookup, WriteRequest};
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
