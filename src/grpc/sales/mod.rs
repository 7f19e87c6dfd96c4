//! SalesService over any sales port: each handler converts the request
//! (`request`), calls the port with the caller's deadline, and converts the
//! answer (`response`) or the error (`crate::grpc::status`, naming the
//! request field behind a vendor parameter through `fields`).
//!
//! GetSale answers with the sale's encoded memo (`encoded`): the port hands
//! out a [`SharedSale`](crate::domain::SharedSale), and the Sale message is
//! encoded once per cached sale, not once per call. The server that runs this
//! service is generated for that answer type ([`served`], build.rs); the
//! messages and callers are the ordinary `proto` ones.
//!
//! StreamSales walks the pages in a task of its own ([`walk_pages`]), bounded
//! by [`StreamLimits`] (`stream_sales.*`); each bound ends the stream with its
//! own status and stops the paging at once:
//! - `max_pages` pages sent and more to come: RESOURCE_EXHAUSTED
//!   (`STREAM_PAGE_LIMIT`), after every row of those pages;
//! - `max_duration` since the call began: DEADLINE_EXCEEDED
//!   (`STREAM_DURATION_LIMIT`), a page request in flight abandoned;
//! - no row taken by the caller for `stall_timeout`: ABORTED
//!   (`STREAM_READER_STALLED`), and the rows waiting for it are dropped then,
//!   not when the caller finally reads or leaves.
//!
//! A walk cut short by its duration or a stalled reader also gives back its
//! call's slot among the admitted calls (`grpc/overload.rs`) at once: a caller
//! that never reads again would otherwise hold it for as long as it stays connected.

mod ceiling;
mod encoded;
mod fields;
mod request;
mod response;

pub use encoded::{EncodedGetSaleResponse, encode_sale};

/// The SalesService server the gateway runs: the generated one, with GetSale
/// answering [`EncodedGetSaleResponse`] (build.rs, second pass). Same service
/// name, paths and wire messages as `proto::sales_service_server`, which the
/// benchmarks' bare servers use.
pub mod served {
    include!(concat!(env!("OUT_DIR"), "/served/twocheckout.v1.rs"));
}

use std::{
    pin::Pin,
    sync::{Arc, Mutex, Weak},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use tokio::sync::mpsc;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use tracing::Instrument as _;

use super::{
    call_context, caller_timeout,
    outlet::{Outlet, millis},
    overload::CallSlot,
    proto,
    status::to_status,
};
use crate::{
    audit::{self, PendingAudit},
    auth::RefundCeiling,
    config::StreamSalesSettings,
    domain::{
        CallContext, Error, ListSalesQuery, Refund, SaleLookup, SaleWrite, SalesPort, SalesWritePort, WriteRequest,
    },
};

/// The bounds of one StreamSales call (the `stream_sales.*` settings; see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamLimits {
    pub max_duration: Duration,
    pub max_pages: u32,
    pub stall_timeout: Duration,
}

impl From<&StreamSalesSettings> for StreamLimits {
    fn from(settings: &StreamSalesSettings) -> Self {
        Self {
            max_duration: settings.max_duration,
            max_pages: settings.max_pages,
            stall_timeout: settings.stall_timeout,
        }
    }
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self::from(&StreamSalesSettings::default())
    }
}

/// SalesService over a sales port.
#[derive(Debug)]
pub struct SalesApi<P> {
    port: Arc<P>,
    stream_limits: StreamLimits,
}

impl<P> SalesApi<P> {
    pub fn new(port: Arc<P>) -> Self {
        Self { port, stream_limits: StreamLimits::default() }
    }

    /// The same service with these StreamSales bounds.
    pub fn with_stream_limits(self, stream_limits: StreamLimits) -> Self {
        Self { stream_limits, ..self }
    }
}

impl<P: SalesPort + SalesWritePort> SalesApi<P> {
    /// Validates a write request, checks a refund against the caller's
    /// ceiling, runs it, and returns 2Checkout's confirmation; the audit trail
    /// gets one record of it, whatever the outcome.
    async fn write<R: AuditedWrite>(&self, request: Request<R>) -> Result<String, Status>
    where
        for<'a> WriteRequest: TryFrom<&'a R, Error = Error>,
    {
        let mut audit = PendingAudit::begin(&request, audit::Kind::Write, R::METHOD);
        audit.set_raw_request_id(request.get_ref().raw_request_id());
        let outcome = audit.replay_watch().run(self.audited_write(&request, &mut audit)).await;
        audit.finish(&outcome);
        outcome
    }

    async fn audited_write<R>(&self, request: &Request<R>, audit: &mut PendingAudit) -> Result<String, Status>
    where
        for<'a> WriteRequest: TryFrom<&'a R, Error = Error>,
    {
        let ctx = call_context(request);
        let write = WriteRequest::try_from(request.get_ref())?;
        audit.record().describe_write(&write);
        if let Some(ceiling) = request.extensions().get::<RefundCeiling>() {
            self.check_ceiling(ctx, ceiling, &write.write).await?;
        }
        let receipt = self.port.write(ctx, &write).await.map_err(|e| to_status(e, fields::write_field))?;
        Ok(receipt.message)
    }

    /// Refuses a refund over `ceiling` before anything is sent, reading the
    /// sale (fresh, past the cache) when the request alone cannot tell.
    async fn check_ceiling(&self, ctx: CallContext, ceiling: &RefundCeiling, write: &SaleWrite) -> Result<(), Status> {
        let refund: &Refund = match write {
            SaleWrite::RefundInvoice { refund, .. } | SaleWrite::RefundLineItem { refund, .. } => refund,
            _ => return Ok(()),
        };
        let target = match ceiling::needs(ceiling, refund) {
            ceiling::Needs::Nothing => None,
            ceiling::Needs::Sale => {
                let fresh = CallContext { fresh: true, ..ctx };
                let shared = self
                    .port
                    .get_shared_sale(fresh, &write.sale_lookup())
                    .await
                    .map_err(|e| to_status(e, fields::write_field))?;
                let sale = shared.sale();
                match write {
                    SaleWrite::RefundInvoice { target, .. } => sale.refundable_invoice(target.invoice_id()),
                    SaleWrite::RefundLineItem { line_item_id, .. } => sale.refundable_line(line_item_id),
                    _ => None,
                }
            }
        };
        ceiling::check(ceiling, refund, target.as_ref()).map_err(Status::from)
    }
}

/// A write request as the audit trail names it: its method, and its raw
/// request id (recorded even when the request fails validation, if valid).
trait AuditedWrite {
    const METHOD: &'static str;
    fn raw_request_id(&self) -> &str;
}

macro_rules! audited_writes {
    ($($message:ident => $method:literal,)+) => {$(
        impl AuditedWrite for proto::$message {
            const METHOD: &'static str = concat!("twocheckout.v1.SalesService/", $method);
            fn raw_request_id(&self) -> &str {
                &self.request_id
            }
        }
    )+};
}

audited_writes! {
    RefundInvoiceRequest => "RefundInvoice",
    RefundLineItemRequest => "RefundLineItem",
    ReauthorizeRequest => "Reauthorize",
    StopLineItemRecurringRequest => "StopLineItemRecurring",
    MarkShippedRequest => "MarkShipped",
    CreateCommentRequest => "CreateComment",
}

type SalesStream = Pin<Box<dyn Stream<Item = Result<proto::StreamSalesResponse, Status>> + Send>>;

#[tonic::async_trait]
impl<P: SalesPort + SalesWritePort> served::sales_service_server::SalesService for SalesApi<P> {
    async fn get_sale(
        &self,
        request: Request<proto::GetSaleRequest>,
    ) -> Result<Response<EncodedGetSaleResponse>, Status> {
        let ctx = CallContext { fresh: request.get_ref().fresh, ..call_context(&request) };
        let lookup = SaleLookup::try_from(request.get_ref())?;
        let sale = self.port.get_shared_sale(ctx, &lookup).await.map_err(|e| to_status(e, fields::get_sale_field))?;
        Ok(Response::new(EncodedGetSaleResponse::of(&sale)))
    }

    async fn list_sales(
        &self,
        request: Request<proto::ListSalesRequest>,
    ) -> Result<Response<proto::ListSalesResponse>, Status> {
        let ctx = call_context(&request);
        let query = ListSalesQuery::try_from(request.get_ref())?;
        let page = self.port.list_sales(ctx, &query).await.map_err(|e| to_status(e, fields::list_sales_field))?;
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
        // Not `call_context`: the default deadline bounds one call's work, and a walk
        // is bounded by `stream_sales.max_duration` instead. Each page request still
        // gets the caller's deadline, when it sent one, or the upstream request timeout.
        let deadline = caller_timeout(&request).and_then(|timeout| Instant::now().checked_add(timeout));
        let ctx = CallContext { deadline, fresh: false };
        let first_page = ListSalesQuery::try_from(request.get_ref())?;
        // One page of buffer: the next page is fetched only once the caller has
        // taken all but a page's worth of rows, so a slow reader slows paging.
        let (tx, rx) = mpsc::channel(first_page.page.page_size as usize);
        let outlet = Outlet::shared(rx);
        let slot = request.extensions().get::<CallSlot>().cloned();
        let walk = Walk { ctx, limits: self.stream_limits, tx, outlet: Arc::downgrade(&outlet), slot };
        // In the call's span: every page's request is a child of the StreamSales call.
        tokio::spawn(walk.run(Arc::clone(&self.port), first_page).in_current_span());
        Ok(Response::new(Box::pin(RowStream { outlet })))
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

type Row = Result<proto::StreamSalesResponse, Status>;

/// The response stream: the outlet's rows, then its last status, if any.
struct RowStream {
    outlet: Arc<Mutex<Outlet<proto::StreamSalesResponse>>>,
}

impl Stream for RowStream {
    type Item = Row;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Row>> {
        Outlet::poll_next(&self.outlet, cx)
    }
}

/// One StreamSales walk: its context, its bounds and where its rows go.
struct Walk {
    ctx: CallContext,
    limits: StreamLimits,
    tx: mpsc::Sender<Row>,
    outlet: Weak<Mutex<Outlet<proto::StreamSalesResponse>>>,
    /// The call's slot among the admitted calls (`grpc/overload.rs`), when it has one.
    slot: Option<CallSlot>,
}

impl Walk {
    /// Walks the pages until the end, an error, the caller leaving or a bound;
    /// a bound that ends the walk before the caller took every row (the
    /// duration, a stalled reader) drops those rows and ends the stream with
    /// its status at once.
    async fn run<P: SalesPort>(self, port: Arc<P>, first_page: ListSalesQuery) {
        let max_duration = self.limits.max_duration;
        let cut = tokio::select! {
            cut = walk_pages(&*port, self.ctx, first_page, self.limits, &self.tx) => cut,
            () = tokio::time::sleep(max_duration) => {
                Some(Error::StreamDurationLimit { max_duration_ms: millis(max_duration) })
            }
        };
        let Some(error) = cut else { return };
        tracing::info!(reason = error.reason(), "StreamSales ended by its bound; its buffered rows are dropped");
        // The walk's work is over: a caller that never reads again must not keep the slot.
        if let Some(slot) = &self.slot {
            slot.release();
        }
        Outlet::end_early(&self.outlet, to_status(error, fields::list_sales_field));
    }
}

/// Sends every row of every page to `tx`, stopping at the last page, at the
/// first error, at `max_pages` (its status after the rows), or as soon as the
/// caller goes away (even mid-request); returns the error that must cut the
/// stream short when the caller took no row for `stall_timeout`.
async fn walk_pages<P: SalesPort>(
    port: &P,
    ctx: CallContext,
    mut query: ListSalesQuery,
    limits: StreamLimits,
    tx: &mpsc::Sender<Row>,
) -> Option<Error> {
    let stall_timeout = limits.stall_timeout;
    let stalled = || Some(Error::StreamReaderStalled { stall_timeout_ms: millis(stall_timeout) });
    // Nothing else in flight for this stream: a status after the last row is sent in order.
    let send = |row: Row| tokio::time::timeout(stall_timeout, tx.send(row));
    let mut pages = 0;
    loop {
        let page = tokio::select! {
            page = port.list_sales(ctx, &query) => page,
            () = tx.closed() => return None,
        };
        pages += 1;
        let page = match page {
            Ok(page) => page,
            Err(error) => {
                return send(Err(to_status(error, fields::list_sales_field))).await.is_err().then(stalled).flatten();
            }
        };
        let total_entries = i32::try_from(page.total_entries).unwrap_or(i32::MAX);
        let has_next = page.has_next_page();
        for sale in page.sales {
            let row = proto::StreamSalesResponse { sale: Some(sale.into()), total_entries };
            match send(Ok(row)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return None,
                Err(_) => return stalled(),
            }
        }
        if !has_next {
            return None;
        }
        if pages >= limits.max_pages {
            let limit = Error::StreamPageLimit { max_pages: limits.max_pages };
            return send(Err(to_status(limit, fields::list_sales_field))).await.is_err().then(stalled).flatten();
        }
        query.page.page += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tonic::Code;
    use tonic_types::StatusExt as _;

    use super::{served::sales_service_server::SalesService as _, *};
    use crate::domain::{Amount, Sale, SalesPage, WriteReceipt};

    #[test]
    fn audited_methods_are_the_services_own() {
        let methods = [
            <proto::RefundInvoiceRequest as AuditedWrite>::METHOD,
            <proto::RefundLineItemRequest as AuditedWrite>::METHOD,
            <proto::ReauthorizeRequest as AuditedWrite>::METHOD,
            <proto::StopLineItemRecurringRequest as AuditedWrite>::METHOD,
            <proto::MarkShippedRequest as AuditedWrite>::METHOD,
            <proto::CreateCommentRequest as AuditedWrite>::METHOD,
        ];
        for method in methods {
            let service = proto::sales_service_server::SERVICE_NAME;
            assert!(method.strip_prefix(service).is_some_and(|m| m.starts_with('/')), "{method}");
        }
    }

    /// A sales port that serves one sale and records what it was asked.
    struct FakePort {
        sale: Sale,
        /// Each read's `fresh` flag.
        reads: Mutex<Vec<bool>>,
        writes: Mutex<Vec<WriteRequest>>,
    }

    impl SalesPort for FakePort {
        async fn get_sale(&self, ctx: CallContext, _lookup: &SaleLookup) -> Result<Sale, Error> {
            self.reads.lock().unwrap().push(ctx.fresh);
            Ok(self.sale.clone())
        }

        async fn list_sales(&self, _ctx: CallContext, _query: &ListSalesQuery) -> Result<SalesPage, Error> {
            unreachable!("no spec here lists")
        }
    }

    impl SalesWritePort for FakePort {
        async fn write(&self, _ctx: CallContext, request: &WriteRequest) -> Result<WriteReceipt, Error> {
            self.writes.lock().unwrap().push(request.clone());
            Ok(WriteReceipt { message: request.write.confirmation().to_owned() })
        }
    }

    /// Sale 1, invoice 100: 200.00 USD = 100.00 in the vendor's currency; line 11
    /// (all of it), of which a refund line took 40.00 USD (20.00 vendor).
    fn sale() -> Sale {
        let amount = |cents: i64| serde_json::json!({ "minor_units": cents });
        let line = |id: &str, status: &str, usd: i64, linked: Option<&str>| {
            serde_json::json!({
                "line_item_id": id, "invoice_id": "100", "product_tangible": false, "line_type": {},
                "status": { "known": status }, "usd_amount": amount(usd), "vendor_amount": amount(usd / 2),
                "customer_amount": amount(usd / 2), "linked_id": linked, "options": [],
            })
        };
        serde_json::from_value(serde_json::json!({
            "sale_id": "1", "comments": [],
            "invoices": [{
                "invoice_id": "100", "status": {}, "recurring": false,
                "usd_total": amount(20_000), "vendor_total": amount(10_000), "customer_total": amount(10_000),
                "line_items": [line("11", "Bill", 20_000, None), line("12", "Refund", -4_000, Some("11"))],
            }],
        }))
        .unwrap()
    }

    fn api() -> (SalesApi<FakePort>, Arc<FakePort>) {
        let port = Arc::new(FakePort { sale: sale(), reads: Mutex::default(), writes: Mutex::default() });
        (SalesApi::new(Arc::clone(&port)), port)
    }

    fn with_ceiling<T>(message: T, limit: Option<&str>) -> Request<T> {
        let mut request = Request::new(message);
        if let Some(limit) = limit {
            let amount: Amount = limit.parse().unwrap();
            request.extensions_mut().insert(RefundCeiling { amount, currency: "USD".into() });
        }
        request
    }

    fn refund_invoice(amount: &str, currency: proto::RefundCurrency) -> proto::RefundInvoiceRequest {
        proto::RefundInvoiceRequest {
            request_id: "3f2504e0-4f89-11d3-9a0c-0305e82c3301".into(),
            sale_id: "1".into(),
            amount: amount.into(),
            currency: currency.into(),
            comment: "Refund.".into(),
            category: 5,
            ..Default::default()
        }
    }

    fn reason(status: &Status) -> String {
        status.get_error_details().error_info().map(|i| i.reason.clone()).unwrap_or_default()
    }

    #[tokio::test]
    async fn without_a_ceiling_a_refund_is_sent_without_an_extra_read() {
        let (api, port) = api();
        api.refund_invoice(with_ceiling(refund_invoice("", proto::RefundCurrency::Unspecified), None)).await.unwrap();
        assert_eq!((port.reads.lock().unwrap().len(), port.writes.lock().unwrap().len()), (0, 1));
    }

    #[tokio::test]
    async fn a_usd_refund_over_the_ceiling_is_refused_before_anything_is_read_or_sent() {
        let (api, port) = api();
        let request = with_ceiling(refund_invoice("100.01", proto::RefundCurrency::Usd), Some("100.00"));
        let status = api.refund_invoice(request).await.unwrap_err();
        assert_eq!((status.code(), reason(&status)), (Code::PermissionDenied, "REFUND_OVER_CEILING".to_owned()));
        assert!(status.message().contains("100.00 USD"), "{status:?}");
        let info = status.get_error_details().error_info().cloned().unwrap();
        assert_eq!((info.metadata["limit"].as_str(), info.metadata["amount"].as_str()), ("100.00 USD", "100.01 USD"));
        assert_eq!((port.reads.lock().unwrap().len(), port.writes.lock().unwrap().len()), (0, 0));
        let request = with_ceiling(refund_invoice("100.00", proto::RefundCurrency::Usd), Some("100.00"));
        api.refund_invoice(request).await.unwrap();
        assert_eq!(port.writes.lock().unwrap().len(), 1, "equal to the ceiling is allowed");
    }

    #[tokio::test]
    async fn a_full_refund_is_checked_against_what_remains_read_fresh() {
        let (api, port) = api();
        // 160.00 USD remain.
        let full = || refund_invoice("", proto::RefundCurrency::Unspecified);
        let status = api.refund_invoice(with_ceiling(full(), Some("159.99"))).await.unwrap_err();
        assert_eq!(reason(&status), "REFUND_OVER_CEILING");
        assert_eq!(status.get_error_details().error_info().unwrap().metadata["amount"], "160.00 USD");
        assert!(port.writes.lock().unwrap().is_empty());
        api.refund_invoice(with_ceiling(full(), Some("160.00"))).await.unwrap();
        assert_eq!(*port.reads.lock().unwrap(), [true, true], "read past the cache");
        assert_eq!(port.writes.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_line_refund_in_the_vendors_currency_is_converted_at_the_sales_rate() {
        let (api, port) = api();
        let line = |amount: &str| proto::RefundLineItemRequest {
            request_id: "3f2504e0-4f89-11d3-9a0c-0305e82c3301".into(),
            sale_id: "1".into(),
            line_item_id: "11".into(),
            amount: amount.into(),
            currency: proto::RefundCurrency::Vendor.into(),
            comment: "Refund.".into(),
            category: 5,
        };
        // 50.01 vendor = 100.02 USD.
        let status = api.refund_line_item(with_ceiling(line("50.01"), Some("100.00"))).await.unwrap_err();
        assert_eq!(reason(&status), "REFUND_OVER_CEILING");
        api.refund_line_item(with_ceiling(line("50.00"), Some("100.00"))).await.unwrap();
        assert_eq!(port.writes.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_refund_whose_target_the_sale_does_not_show_is_refused_as_unverifiable() {
        let (api, port) = api();
        let request = proto::RefundInvoiceRequest {
            invoice_id: "999".into(),
            ..refund_invoice("", proto::RefundCurrency::Unspecified)
        };
        let status = api.refund_invoice(with_ceiling(request, Some("100.00"))).await.unwrap_err();
        assert_eq!((status.code(), reason(&status)), (Code::PermissionDenied, "REFUND_AMOUNT_UNVERIFIABLE".to_owned()));
        assert!(port.writes.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_ceiling_does_not_touch_other_writes() {
        let (api, port) = api();
        let comment = proto::CreateCommentRequest {
            request_id: "3f2504e0-4f89-11d3-9a0c-0305e82c3301".into(),
            sale_id: "1".into(),
            comment: "Called the buyer.".into(),
            ..Default::default()
        };
        api.create_comment(with_ceiling(comment, Some("0.01"))).await.unwrap();
        assert_eq!((port.reads.lock().unwrap().len(), port.writes.lock().unwrap().len()), (0, 1));
    }
}
