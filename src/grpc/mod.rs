//! The gRPC edge: the generated contract, the SalesService implementation
//! over any [`SalesPort`], and the conversions between the two worlds.
//!
//! A handler does three things and nothing else: convert the request into
//! validated domain values (failing fast, before any upstream call), call the
//! port with the caller's deadline, and convert the answer or the error back.

mod authorization;
mod convert;

pub use authorization::AuthorizationApi;

use std::{
    pin::Pin,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::mpsc;
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::{Request, Response, Status};
use tracing::Instrument as _;

use crate::{
    domain::{CallContext, ListSalesQuery, SaleLookup, SalesPort, SalesWritePort, WriteRequest},
    error::Error,
};

/// The generated messages, servers and clients of `twocheckout.v1`.
pub mod proto {
    tonic::include_proto!("twocheckout.v1");

    /// The encoded descriptors of the contract, with comments, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("twocheckout_v1_descriptor");
}

use proto::sales_service_server::SalesService;

/// SalesService over a sales port.
#[derive(Debug)]
pub struct SalesApi<P> {
    port: Arc<P>,
}

impl<P> SalesApi<P> {
    pub fn new(port: Arc<P>) -> Self {
        Self { port }
    }
}

impl<P: SalesWritePort> SalesApi<P> {
    /// Validates a write request, runs it, and returns 2Checkout's confirmation.
    async fn write<R>(&self, request: Request<R>) -> Result<String, Status>
    where
        for<'a> WriteRequest: TryFrom<&'a R, Error = Error>,
    {
        let ctx = call_context(&request);
        let write = WriteRequest::try_from(request.get_ref())?;
        let receipt =
            self.port.write(ctx, &write).await.map_err(|e| e.with_field_for_parameter(convert::write_field))?;
        Ok(receipt.message)
    }
}

/// The call context of a request: its deadline from the `grpc-timeout` header.
pub(crate) fn call_context<T>(request: &Request<T>) -> CallContext {
    let deadline = request
        .metadata()
        .get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_grpc_timeout)
        .and_then(|timeout| Instant::now().checked_add(timeout));
    CallContext { deadline, fresh: false }
}

/// Parses a `grpc-timeout` value: up to 8 digits and a unit (H, M, S, m, u, n).
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.checked_mul(3600)?),
        "M" => Duration::from_secs(amount.checked_mul(60)?),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

type SalesStream = Pin<Box<dyn Stream<Item = Result<proto::StreamSalesResponse, Status>> + Send>>;

#[tonic::async_trait]
impl<P: SalesPort + SalesWritePort> SalesService for SalesApi<P> {
    async fn get_sale(
        &self,
        request: Request<proto::GetSaleRequest>,
    ) -> Result<Response<proto::GetSaleResponse>, Status> {
        let ctx = CallContext { fresh: request.get_ref().fresh, ..call_context(&request) };
        let lookup = SaleLookup::try_from(request.get_ref())?;
        let sale =
            self.port.get_sale(ctx, &lookup).await.map_err(|e| e.with_field_for_parameter(convert::get_sale_field))?;
        Ok(Response::new(proto::GetSaleResponse { sale: Some(sale.into()) }))
    }

    async fn list_sales(
        &self,
        request: Request<proto::ListSalesRequest>,
    ) -> Result<Response<proto::ListSalesResponse>, Status> {
        let ctx = call_context(&request);
        let query = ListSalesQuery::try_from(request.get_ref())?;
        let page = self
            .port
            .list_sales(ctx, &query)
            .await
            .map_err(|e| e.with_field_for_parameter(convert::list_sales_field))?;
        let page_info = Some((&page).into());
        Ok(Response::new(proto::ListSalesResponse {
            sales: page.sales.into_iter().map(Into::into).collect(),
            page_info,
        }))
    }

    type StreamSalesStream = SalesStream;

    async fn stream_sales(
        &self,
        request: Request<proto::StreamSalesRequest>,
    ) -> Result<Response<Self::StreamSalesStream>, Status> {
        let ctx = call_context(&request);
        let first_page = ListSalesQuery::try_from(request.get_ref())?;
        // One page of buffer: the next page is fetched only once the caller has
        // taken all but a page's worth of rows, so a slow reader slows paging.
        let (tx, rx) = mpsc::channel(first_page.page.page_size as usize);
        // In the call's span: every page's request is a child of the StreamSales call.
        tokio::spawn(walk_pages(Arc::clone(&self.port), ctx, first_page, tx).in_current_span());
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn refund_invoice(
        &self,
        request: Request<proto::RefundInvoiceRequest>,
    ) -> Result<Response<proto::RefundInvoiceResponse>, Status> {
        let message = self.write(request).await?;
        Ok(Response::new(proto::RefundInvoiceResponse { message }))
    }

    async fn refund_line_item(
        &self,
        request: Request<proto::RefundLineItemRequest>,
    ) -> Result<Response<proto::RefundLineItemResponse>, Status> {
        let message = self.write(request).await?;
        Ok(Response::new(proto::RefundLineItemResponse { message }))
    }

    async fn reauthorize(
        &self,
        request: Request<proto::ReauthorizeRequest>,
    ) -> Result<Response<proto::ReauthorizeResponse>, Status> {
        let message = self.write(request).await?;
        Ok(Response::new(proto::ReauthorizeResponse { message }))
    }

    async fn stop_line_item_recurring(
        &self,
        request: Request<proto::StopLineItemRecurringRequest>,
    ) -> Result<Response<proto::StopLineItemRecurringResponse>, Status> {
        let message = self.write(request).await?;
        Ok(Response::new(proto::StopLineItemRecurringResponse { message }))
    }

    async fn mark_shipped(
        &self,
        request: Request<proto::MarkShippedRequest>,
    ) -> Result<Response<proto::MarkShippedResponse>, Status> {
        let message = self.write(request).await?;
        Ok(Response::new(proto::MarkShippedResponse { message }))
    }

    async fn create_comment(
        &self,
        request: Request<proto::CreateCommentRequest>,
    ) -> Result<Response<proto::CreateCommentResponse>, Status> {
        let message = self.write(request).await?;
        Ok(Response::new(proto::CreateCommentResponse { message }))
    }
}

/// Sends every row of every page to `tx`, stopping at the last page, at the
/// first error, or as soon as the caller goes away (even mid-request).
async fn walk_pages<P: SalesPort>(
    port: Arc<P>,
    ctx: CallContext,
    mut query: ListSalesQuery,
    tx: mpsc::Sender<Result<proto::StreamSalesResponse, Status>>,
) {
    loop {
        let page = tokio::select! {
            page = port.list_sales(ctx, &query) => page,
            () = tx.closed() => return,
        };
        let page = match page {
            Ok(page) => page,
            Err(error) => {
                let error: Error = error.with_field_for_parameter(convert::list_sales_field);
                let _ = tx.send(Err(error.into())).await;
                return;
            }
        };
        let total_entries = i32::try_from(page.total_entries).unwrap_or(i32::MAX);
        let has_next = page.has_next_page();
        for sale in page.sales {
            let row = proto::StreamSalesResponse { sale: Some(sale.into()), total_entries };
            if tx.send(Ok(row)).await.is_err() {
                return;
            }
        }
        if !has_next {
            return;
        }
        query.page.page += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_in_every_unit() {
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("2M"), Some(Duration::from_secs(120)));
        assert_eq!(parse_grpc_timeout("3S"), Some(Duration::from_secs(3)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("7u"), Some(Duration::from_micros(7)));
        assert_eq!(parse_grpc_timeout("9n"), Some(Duration::from_nanos(9)));
        for bad in ["", "S", "10", "10x", "-1S", "123456789S", "1.5S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }
}
