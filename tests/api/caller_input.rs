//! Odd caller input, end to end: invisible "required" text, dates and ids
//! outside the vendor's range, huge values, malformed protobuf, oversized
//! messages and metadata. Each is a status on that call, naming the field
//! where there is one, and nothing reaches the simulator.
//!
//! What the generated client cannot send (bytes that are not protobuf, a
//! forged length prefix, one HTTP/2 connection watched across calls) goes
//! through a raw HTTP/2 client ([`RawGrpc`]).

use std::net::SocketAddr;

use bytes::{BufMut, Bytes, BytesMut};
use prost::Message;
use tco_gateway::grpc::proto::{
    CreateCommentRequest, GetSaleRequest, ListSalesRequest, MarkShippedRequest, RefundInvoiceRequest,
    RefundLineItemRequest, SalesFilter, get_sale_request::Lookup,
};
use tco_simulator::{DOCUMENTED_SALE_ID, Endpoint, REFUNDABLE_SALE_ID, RunningSimulator};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::{
    helpers::{TestApp, bad_request_field, expect_error, new_request_id, spawn_app},
    writes::refund_of,
};

/// Every request the simulator has received, on any endpoint.
fn upstream_requests(simulator: &RunningSimulator) -> u64 {
    Endpoint::ALL.iter().map(|&endpoint| simulator.request_count(endpoint)).sum()
}

fn by_sale(id: &str) -> GetSaleRequest {
    GetSaleRequest { lookup: Some(Lookup::SaleId(id.into())), fresh: false }
}

fn comment_on(sale_id: &str, text: &str) -> CreateCommentRequest {
    CreateCommentRequest {
        request_id: new_request_id(),
        sale_id: sale_id.into(),
        comment: text.into(),
        ..Default::default()
    }
}

/// Asserts INVALID_ARGUMENT with a BadRequest naming `field`.
fn assert_invalid(status: &Status, field: &str) {
    let details = expect_error(status, Code::InvalidArgument, "INVALID_FIELD");
    assert_eq!(bad_request_field(&details), field, "{status:?}");
}

/// Values that look like something but show nothing.
const INVISIBLE: [&str; 6] = ["\u{200B}", "\u{FEFF}", "\u{2060}", " \u{200B} ", "\u{200C}\u{200D}", "\u{3164}\u{a0}"];

#[tokio::test]
async fn a_required_comment_of_invisible_characters_is_refused_and_nothing_is_sent() {
    let app = spawn_app().await;
    let mut sales = app.sales.clone();
    for text in INVISIBLE {
        let refund = RefundInvoiceRequest { comment: text.into(), ..refund_of(REFUNDABLE_SALE_ID, "") };
        assert_invalid(&sales.refund_invoice(refund).await.unwrap_err(), "comment");
        let comment = comment_on(DOCUMENTED_SALE_ID, text);
        assert_invalid(&sales.create_comment(comment).await.unwrap_err(), "comment");
        let shipped = MarkShippedRequest {
            request_id: new_request_id(),
            sale_id: DOCUMENTED_SALE_ID.into(),
            tracking_number: text.into(),
            ..Default::default()
        };
        assert_invalid(&sales.mark_shipped(shipped).await.unwrap_err(), "tracking_number");
    }
    // Visible text with an invisible character inside is refused too, not cleaned.
    let refund =
        RefundInvoiceRequest { comment: "\u{FEFF}Refund approved".into(), ..refund_of(REFUNDABLE_SALE_ID, "") };
    let status = sales.refund_invoice(refund).await.unwrap_err();
    assert_invalid(&status, "comment");
    assert!(status.message().contains("invisible characters"), "{}", status.message());
    assert_eq!(upstream_requests(&app.simulator), 0);
}

#[tokio::test]
async fn dates_outside_the_documented_range_are_refused_before_listing() {
    let app = spawn_app().await;
    let list = |filter: SalesFilter| ListSalesRequest { filter: Some(filter), ..Default::default() };
    for date in ["+10000-01-01", "-0001-01-01", "1999-12-31", "2100-01-01", "0000-01-01", "2024-1-5"] {
        let begin = SalesFilter { sale_date_begin: date.into(), ..Default::default() };
        assert_invalid(&app.sales.clone().list_sales(list(begin)).await.unwrap_err(), "filter.sale_date_begin");
        let end = SalesFilter { sale_date_end: date.into(), ..Default::default() };
        assert_invalid(&app.sales.clone().list_sales(list(end)).await.unwrap_err(), "filter.sale_date_end");
    }
    assert_eq!(upstream_requests(&app.simulator), 0);
    let edges =
        SalesFilter { sale_date_begin: "2000-01-01".into(), sale_date_end: "2099-12-31".into(), ..Default::default() };
    app.sales.clone().list_sales(list(edges)).await.expect("the range's own edges are accepted");
    assert_eq!(app.simulator.request_count(Endpoint::ListSales), 1);
}

/// Ids no vendor record can have: zero, signed, beyond 64 bits, not decimal digits.
const BAD_IDS: [&str; 8] =
    ["0", "000", "+1", "-1", "9223372036854775808", "18446744073709551616", "\u{661}\u{662}", "12 "];

#[tokio::test]
async fn ids_outside_the_vendors_range_are_refused_before_any_call() {
    let app = spawn_app().await;
    let mut sales = app.sales.clone();
    for id in BAD_IDS {
        assert_invalid(&sales.get_sale(by_sale(id)).await.unwrap_err(), "sale_id");
        let by_invoice = GetSaleRequest { lookup: Some(Lookup::InvoiceId(id.into())), fresh: false };
        assert_invalid(&sales.get_sale(by_invoice).await.unwrap_err(), "invoice_id");
        let refund = RefundInvoiceRequest { sale_id: String::new(), invoice_id: id.into(), ..refund_of("", "") };
        assert_invalid(&sales.refund_invoice(refund).await.unwrap_err(), "invoice_id");
        let line = RefundLineItemRequest {
            request_id: new_request_id(),
            sale_id: REFUNDABLE_SALE_ID.into(),
            line_item_id: id.into(),
            comment: "Buyer deserved a refund.".into(),
            category: 13,
            ..Default::default()
        };
        assert_invalid(&sales.refund_line_item(line).await.unwrap_err(), "line_item_id");
        let filter = SalesFilter { sale_id: id.into(), ..Default::default() };
        let list = ListSalesRequest { filter: Some(filter), ..Default::default() };
        assert_invalid(&sales.list_sales(list).await.unwrap_err(), "filter.sale_id");
    }
    assert_eq!(upstream_requests(&app.simulator), 0);
    // The largest 64-bit id is still an id: it reaches the vendor, which does not know it.
    let status = sales.get_sale(by_sale("9223372036854775807")).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn an_error_quotes_at_most_64_characters_of_a_huge_value() {
    let app = spawn_app().await;
    let huge = format!("2024-{}", "é".repeat(256 * 1024));
    let filter = SalesFilter { sale_date_begin: huge.clone(), ..Default::default() };
    let status = app
        .sales
        .clone()
        .list_sales(ListSalesRequest { filter: Some(filter), ..Default::default() })
        .await
        .unwrap_err();
    assert_invalid(&status, "filter.sale_date_begin");
    let quoted: String = huge.chars().take(64).collect();
    let expected = format!("{quoted:?}… is not a date in YYYY-MM-DD form");
    assert_eq!(status.message(), format!("invalid filter.sale_date_begin: {expected}"));
    let details = status.get_error_details();
    assert_eq!(details.bad_request().unwrap().field_violations[0].description, expected);
    // Ids and free text never quote the value at all.
    let comment = comment_on(DOCUMENTED_SALE_ID, &"x".repeat(512 * 1024));
    let status = app.sales.clone().create_comment(comment).await.unwrap_err();
    assert_invalid(&status, "comment");
    assert!(status.message().len() < 200, "{}", status.message());
    assert_eq!(upstream_requests(&app.simulator), 0);
}

#[tokio::test]
async fn an_oversized_message_is_resource_exhausted_and_sends_nothing() {
    let app = spawn_app().await;
    // 2 MiB of comment: over the 1 MiB message limit, sent by the generated client.
    let comment = comment_on(DOCUMENTED_SALE_ID, &"x".repeat(2 << 20));
    let status = app.sales.clone().create_comment(comment).await.unwrap_err();
    let details = expect_error(&status, Code::ResourceExhausted, "REQUEST_TOO_LARGE");
    assert_eq!(details.error_info().unwrap().metadata["limitBytes"], "1048576");
    assert_eq!(status.message(), "the request's message is larger than the gateway accepts (1048576 bytes)");

    // A forged length prefix: refused from the prefix alone, before any buffering.
    let mut raw = RawGrpc::connect(app.addr).await;
    let mut frame = BytesMut::new();
    frame.put_u8(0);
    frame.put_u32(u32::MAX);
    frame.put_slice(b"not nearly four gigabytes");
    let answer = raw.call(GET_SALE, &[], frame.freeze()).await;
    expect_error(&answer.status(), Code::ResourceExhausted, "REQUEST_TOO_LARGE");
    // Just at the limit is still a message: this one decodes and is refused on its field.
    let at_limit = comment_on(DOCUMENTED_SALE_ID, "");
    let mut body = at_limit.encode_to_vec();
    body.extend(unknown_field_padding(1024 * 1024 - body.len()));
    let answer = raw.call(CREATE_COMMENT, &[], grpc_frame(&body)).await;
    assert_invalid(&answer.status(), "comment");
    assert_eq!(upstream_requests(&app.simulator), 0);
}

/// Protobuf bytes that cannot be a request: each is a status on its call.
fn malformed_messages() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("field number 0", vec![0x00, 0x01]),
        ("wire type 7", vec![0x0f]),
        ("wire type 6", vec![0x0e, 0x00]),
        ("truncated varint", vec![0x08, 0xff]),
        ("varint of eleven bytes", [vec![0x08], vec![0xff; 10], vec![0x01]].concat()),
        ("length past the end", vec![0x0a, 0x05, b'1']),
        ("length beyond usize", [vec![0x0a], vec![0xff; 9], vec![0x01]].concat()),
        ("string not UTF-8", vec![0x0a, 0x02, 0xc3, 0x28]),
        ("string as a varint", vec![0x0a_u8 & !0x07, 0x01]),
        ("end group without start", vec![0x0c]),
        ("unterminated group", vec![0x0b, 0x08, 0x01]),
        ("fixed64 cut short", vec![0x09, 0x01, 0x02]),
        ("fixed32 cut short", vec![0x0d, 0x01]),
        ("random bytes", vec![0xde, 0xad, 0xbe, 0xef, 0xff, 0xff]),
    ]
}

#[tokio::test]
async fn malformed_protobuf_is_invalid_argument_and_sends_nothing() {
    let app = spawn_app().await;
    let mut raw = RawGrpc::connect(app.addr).await;
    for method in [GET_SALE, LIST_SALES, REFUND_INVOICE, CREATE_COMMENT, AUTHORIZE] {
        for (what, bytes) in malformed_messages() {
            let status = raw.call(method, &[], grpc_frame(&bytes)).await.status();
            assert_eq!(status.code(), Code::InvalidArgument, "{method} with {what}: {status:?}");
            let details = status.get_error_details();
            assert_eq!(details.error_info().unwrap().reason, "MALFORMED_REQUEST", "{method} with {what}");
            assert!(status.message().starts_with("the request message is not valid protobuf"), "{what}");
        }
    }
    // Framing a message cannot be read from: cut short, or flagged with no known compression.
    let truncated = Bytes::from_static(&[0, 0, 0, 0, 10, 0x0a, 0x01]);
    let odd_flag = Bytes::from_static(&[2, 0, 0, 0, 0]);
    for (what, frame) in [("a truncated frame", truncated), ("compression flag 2", odd_flag)] {
        let status = raw.call(GET_SALE, &[], frame).await.status();
        assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
        assert_eq!(status.get_error_details().error_info().unwrap().reason, "MALFORMED_REQUEST", "{what}");
    }
    assert_eq!(upstream_requests(&app.simulator), 0);
    // The connection that carried all of that still serves.
    let answer = raw.call(GET_SALE, &[], grpc_frame(&by_sale(DOCUMENTED_SALE_ID).encode_to_vec())).await;
    assert_eq!(answer.status().code(), Code::Ok);
}

#[tokio::test]
async fn oversized_metadata_is_a_status_on_that_call_and_the_connection_keeps_serving() {
    let app = spawn_app().await;
    let mut raw = RawGrpc::connect(app.addr).await;
    // Fresh, so that every call that gets through reaches the simulator and is counted.
    let fresh = GetSaleRequest { fresh: true, ..by_sale(DOCUMENTED_SALE_ID) };
    let get_documented = grpc_frame(&fresh.encode_to_vec());
    for size in [9 * 1024, 16 * 1024, 64 * 1024, 900 * 1024] {
        let answer = raw.call(GET_SALE, &metadata_of(size), get_documented.clone()).await;
        let details = expect_error(&answer.status(), Code::ResourceExhausted, "REQUEST_TOO_LARGE");
        assert_eq!(details.error_info().unwrap().metadata["limitBytes"], "8192", "{size} bytes");
        let next = raw.call(GET_SALE, &[], get_documented.clone()).await;
        assert_eq!(next.status().code(), Code::Ok, "the call after {size} bytes of metadata, same connection");
    }
    assert_eq!(app.simulator.request_count(Endpoint::DetailSale), 4, "only the ordinary calls reached 2Checkout");

    // Over the HTTP/2 header-list limit (1 MiB) h2 answers by itself, with a refusal of that
    // stream: still a status on the call, and the connection stays up.
    let answer = raw.call(GET_SALE, &metadata_of(1100 * 1024), get_documented.clone()).await;
    assert_ne!(answer.status().code(), Code::Ok);
    let next = raw.call(GET_SALE, &[], get_documented.clone()).await;
    assert_eq!(next.status().code(), Code::Ok, "the connection survived");
    assert_eq!(app.simulator.request_count(Endpoint::DetailSale), 5);

    // Within the budget, metadata is just metadata.
    let answer = raw.call(GET_SALE, &metadata_of(6 * 1024), get_documented).await;
    assert_eq!(answer.status().code(), Code::Ok);
}

#[tokio::test]
async fn the_generated_client_gets_resource_exhausted_for_oversized_metadata() {
    let app: TestApp = spawn_app().await;
    let mut request = tonic::Request::new(by_sale(DOCUMENTED_SALE_ID));
    request.metadata_mut().insert("x-padding", "p".repeat(16 * 1024).parse().unwrap());
    let status = app.sales.clone().get_sale(request).await.unwrap_err();
    expect_error(&status, Code::ResourceExhausted, "REQUEST_TOO_LARGE");
    assert_eq!(upstream_requests(&app.simulator), 0);
    app.sales.clone().get_sale(by_sale(DOCUMENTED_SALE_ID)).await.expect("the channel still serves");
}

const GET_SALE: &str = "/twocheckout.v1.SalesService/GetSale";
const LIST_SALES: &str = "/twocheckout.v1.SalesService/ListSales";
const REFUND_INVOICE: &str = "/twocheckout.v1.SalesService/RefundInvoice";
const CREATE_COMMENT: &str = "/twocheckout.v1.SalesService/CreateComment";
const AUTHORIZE: &str = "/twocheckout.v1.AuthorizationService/Authorize";

/// `message` in gRPC's length-prefixed framing, uncompressed.
fn grpc_frame(message: &[u8]) -> Bytes {
    let mut frame = BytesMut::with_capacity(5 + message.len());
    frame.put_u8(0);
    frame.put_u32(u32::try_from(message.len()).unwrap());
    frame.put_slice(message);
    frame.freeze()
}

/// An unknown length-delimited field (number 1000) of exactly `total` encoded
/// bytes (at most 2 MiB): valid protobuf that every message skips.
fn unknown_field_padding(total: usize) -> Vec<u8> {
    // Field 1000, wire type 2; then the length as a three-byte varint, so the size comes out exact.
    let length = total - 5;
    assert!(length >> 14 > 0 && length < 1 << 21);
    let mut field =
        vec![0xc2, 0x3e, (length & 0x7f) as u8 | 0x80, ((length >> 7) & 0x7f) as u8 | 0x80, (length >> 14) as u8];
    field.resize(total, b'p');
    field
}

/// Metadata of about `bytes` bytes as HTTP/2 counts it, in 1 KiB entries.
fn metadata_of(bytes: usize) -> Vec<(String, String)> {
    (0..bytes / 1024).map(|i| (format!("x-pad-{i:05}"), "p".repeat(1024 - 32 - 11))).collect()
}

/// One HTTP/2 connection to the gateway, for gRPC calls built by hand.
struct RawGrpc {
    send: h2::client::SendRequest<Bytes>,
    authority: SocketAddr,
}

/// A raw call's outcome.
struct RawAnswer {
    status: Status,
}

impl RawAnswer {
    fn status(&self) -> Status {
        self.status.clone()
    }
}

impl RawGrpc {
    async fn connect(addr: SocketAddr) -> Self {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (send, connection) = h2::client::handshake(tcp).await.unwrap();
        tokio::spawn(connection);
        Self { send, authority: addr }
    }

    /// One unary call on this connection; panics if the connection is gone (GOAWAY).
    /// The status comes from `grpc-status` in the headers or trailers; an answer without
    /// one (h2's own 431, a reset stream) is UNKNOWN, the way tonic's client sees it.
    async fn call(&mut self, method: &str, metadata: &[(String, String)], body: Bytes) -> RawAnswer {
        let mut request = http::Request::builder()
            .method("POST")
            .uri(format!("http://{}{method}", self.authority))
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        for (name, value) in metadata {
            request = request.header(name, value);
        }
        self.send = self.send.clone().ready().await.expect("the connection is still up");
        let (response, mut stream) = self.send.send_request(request.body(()).unwrap(), false).unwrap();
        // The server may answer (and end the stream) before it reads the body.
        let _ = stream.send_data(body, true);
        let response = match response.await {
            Ok(response) => response,
            Err(error) => {
                assert!(!error.is_go_away(), "the connection was torn down: {error}");
                return RawAnswer { status: Status::unknown(format!("stream refused: {error}")) };
            }
        };
        let http_status = response.status();
        let mut headers = response.headers().clone();
        let mut body = response.into_body();
        while let Some(Ok(chunk)) = body.data().await {
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        if let Ok(Some(trailers)) = body.trailers().await {
            headers.extend(trailers);
        }
        let status = Status::from_header_map(&headers)
            .unwrap_or_else(|| Status::unknown(format!("HTTP {http_status} without grpc-status")));
        RawAnswer { status }
    }
}
