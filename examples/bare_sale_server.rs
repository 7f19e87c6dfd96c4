//! The floor a cached GetSale is measured against (scripts/perf-harness.sh): a bare tonic server,
//! in a process of its own, answering every GetSale with the answer the gateway gave once
//! (`--response FILE`, the encoded GetSaleResponse), and nothing else.
//!
//! `--encoding message` answers with the decoded `GetSaleResponse` through tonic's prost codec, as
//! any tonic service would: one clone and one prost encode per call. `--encoding bytes` answers
//! with the same bytes pre-encoded, through a codec whose message type is `Bytes`: no encode at
//! all, the cheapest answer tonic can give. Both bind 127.0.0.1:0 and print
//! `bare server listening on 127.0.0.1:PORT` once they listen.
//!
//! Same allocator as the gateway binary (jemalloc), so instruction counts compare code, not mallocs.

use std::{
    convert::Infallible,
    future::{Ready, ready},
    pin::Pin,
    process::ExitCode,
    task::{Context, Poll},
};

use bytes::{BufMut as _, Bytes};
use prost::Message as _;
use tco_gateway::grpc::proto::{
    self, GetSaleRequest, GetSaleResponse,
    sales_service_server::{SalesService, SalesServiceServer},
};
use tokio_stream::Stream;
use tonic::{
    Request, Response, Status,
    codec::{Codec, EncodeBuf, Encoder},
    server::{NamedService, UnaryService},
};

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bare_sale_server: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), String> {
    const USAGE: &str = "usage: bare_sale_server --response FILE --encoding message|bytes";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value_of = |flag: &str| args.iter().position(|a| a == flag).and_then(|at| args.get(at + 1)).cloned();
    let response_file = value_of("--response").ok_or(USAGE)?;
    let encoding = value_of("--encoding").ok_or(USAGE)?;
    let answer = Bytes::from(std::fs::read(&response_file).map_err(|e| format!("cannot read {response_file}: {e}"))?);
    let decoded =
        GetSaleResponse::decode(answer.clone()).map_err(|e| format!("{response_file}: not a GetSaleResponse: {e}"))?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tonic::transport::Server::builder();
    let incoming = tco_gateway::app::incoming(listener);
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let serving = match encoding.as_str() {
        "message" => {
            let mut server = server;
            let router = server.add_service(SalesServiceServer::new(BareSales(decoded)));
            println!("bare server listening on {addr} (GetSaleResponse message)");
            router.serve_with_incoming_shutdown(incoming, stop).await
        }
        "bytes" => {
            let mut server = server;
            let router = server.add_service(PreEncodedGetSale(answer));
            println!("bare server listening on {addr} (pre-encoded bytes)");
            router.serve_with_incoming_shutdown(incoming, stop).await
        }
        other => return Err(format!("unknown --encoding {other:?}; {USAGE}")),
    };
    serving.map_err(|e| e.to_string())
}

/// Answers GetSale with a clone of one response message; every other method is unimplemented.
struct BareSales(GetSaleResponse);

type Rows = Pin<Box<dyn Stream<Item = Result<proto::StreamSalesResponse, Status>> + Send>>;

fn not_here<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented("the bare server answers GetSale only"))
}

#[tonic::async_trait]
impl SalesService for BareSales {
    async fn get_sale(&self, _: Request<GetSaleRequest>) -> Result<Response<GetSaleResponse>, Status> {
        Ok(Response::new(self.0.clone()))
    }
    async fn list_sales(
        &self,
        _: Request<proto::ListSalesRequest>,
    ) -> Result<Response<proto::ListSalesResponse>, Status> {
        not_here()
    }
    type StreamSalesStream = Rows;
    async fn stream_sales(&self, _: Request<proto::StreamSalesRequest>) -> Result<Response<Rows>, Status> {
        not_here()
    }
    async fn refund_invoice(
        &self,
        _: Request<proto::RefundInvoiceRequest>,
    ) -> Result<Response<proto::RefundInvoiceResponse>, Status> {
        not_here()
    }
    async fn refund_line_item(
        &self,
        _: Request<proto::RefundLineItemRequest>,
    ) -> Result<Response<proto::RefundLineItemResponse>, Status> {
        not_here()
    }
    async fn reauthorize(
        &self,
        _: Request<proto::ReauthorizeRequest>,
    ) -> Result<Response<proto::ReauthorizeResponse>, Status> {
        not_here()
    }
    async fn stop_line_item_recurring(
        &self,
        _: Request<proto::StopLineItemRecurringRequest>,
    ) -> Result<Response<proto::StopLineItemRecurringResponse>, Status> {
        not_here()
    }
    async fn mark_shipped(
        &self,
        _: Request<proto::MarkShippedRequest>,
    ) -> Result<Response<proto::MarkShippedResponse>, Status> {
        not_here()
    }
    async fn create_comment(
        &self,
        _: Request<proto::CreateCommentRequest>,
    ) -> Result<Response<proto::CreateCommentResponse>, Status> {
        not_here()
    }
}

/// The SalesService route answering GetSale with shared, already encoded bytes (tonic's own
/// framing and trailers around them); any other path is UNIMPLEMENTED.
#[derive(Clone)]
struct PreEncodedGetSale(Bytes);

impl NamedService for PreEncodedGetSale {
    const NAME: &'static str = "twocheckout.v1.SalesService";
}

type ServiceFuture = Pin<Box<dyn Future<Output = Result<http::Response<tonic::body::Body>, Infallible>> + Send>>;

impl<B> tower::Service<http::Request<B>> for PreEncodedGetSale
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = ServiceFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() != "/twocheckout.v1.SalesService/GetSale" {
            return Box::pin(ready(Ok(Status::unimplemented("the bare server answers GetSale only").into_http())));
        }
        let answer = CannedAnswer(self.0.clone());
        Box::pin(async move { Ok(tonic::server::Grpc::new(PassThrough).unary(answer, request).await) })
    }
}

/// The unary handler: a reference-counted clone of the bytes.
struct CannedAnswer(Bytes);

impl UnaryService<GetSaleRequest> for CannedAnswer {
    type Response = Bytes;
    type Future = Ready<Result<Response<Bytes>, Status>>;

    fn call(&mut self, _: Request<GetSaleRequest>) -> Self::Future {
        ready(Ok(Response::new(self.0.clone())))
    }
}

/// Decodes requests with prost, writes answers as the bytes they already are.
#[derive(Default)]
struct PassThrough;

impl Codec for PassThrough {
    type Encode = Bytes;
    type Decode = GetSaleRequest;
    type Encoder = BytesEncoder;
    type Decoder = tonic_prost::ProstDecoder<GetSaleRequest>;

    fn encoder(&mut self) -> BytesEncoder {
        BytesEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        tonic_prost::ProstDecoder::default()
    }
}

struct BytesEncoder;

impl Encoder for BytesEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}
