//! AccountService over any account port: reads only, each with the caller's
//! deadline and `fresh` as asked; errors through `crate::grpc::status` (no
//! request field stands behind a vendor parameter here: the calls take none).
//! ListPayments is paged here ([`super::page_of`]): 2Checkout answers every
//! payout at once.

mod request;
mod response;

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{call_context, page_info, page_of, proto, status::to_status};
use crate::domain::{AccountPort, CallContext};

/// The generated server, for the gateway's listener.
pub use proto::account_service_server::AccountServiceServer;

/// AccountService over an account port.
#[derive(Debug)]
pub struct AccountApi<P> {
    port: Arc<P>,
}

impl<P> AccountApi<P> {
    pub fn new(port: Arc<P>) -> Self {
        Self { port }
    }
}

/// No account call has a parameter a caller sets.
fn no_field(_parameter: &str) -> Option<&'static str> {
    None
}

fn read_context<T>(request: &Request<T>, fresh: bool) -> CallContext {
    CallContext { fresh, ..call_context(request) }
}

#[tonic::async_trait]
impl<P: AccountPort> proto::account_service_server::AccountService for AccountApi<P> {
    async fn get_company_info(
        &self,
        request: Request<proto::GetCompanyInfoRequest>,
    ) -> Result<Response<proto::GetCompanyInfoResponse>, Status> {
        let ctx = read_context(&request, request.get_ref().fresh);
        let info = self.port.company_info(ctx).await.map_err(|e| to_status(e, no_field))?;
        Ok(Response::new(proto::GetCompanyInfoResponse { company_info: Some(info.into()) }))
    }

    async fn get_contact_info(
        &self,
        request: Request<proto::GetContactInfoRequest>,
    ) -> Result<Response<proto::GetContactInfoResponse>, Status> {
        let ctx = read_context(&request, request.get_ref().fresh);
        let info = self.port.contact_info(ctx).await.map_err(|e| to_status(e, no_field))?;
        Ok(Response::new(proto::GetContactInfoResponse { contact_info: Some(info.into()) }))
    }

    async fn get_pending_payment(
        &self,
        request: Request<proto::GetPendingPaymentRequest>,
    ) -> Result<Response<proto::GetPendingPaymentResponse>, Status> {
        let ctx = read_context(&request, request.get_ref().fresh);
        let payment = self.port.pending_payment(ctx).await.map_err(|e| to_status(e, no_field))?;
        Ok(Response::new(proto::GetPendingPaymentResponse { pending_payment: Some(payment.into()) }))
    }

    async fn list_payments(
        &self,
        request: Request<proto::ListPaymentsRequest>,
    ) -> Result<Response<proto::ListPaymentsResponse>, Status> {
        let ctx = read_context(&request, request.get_ref().fresh);
        let page = request::payments_page(request.get_ref())?;
        let payments = self.port.list_payments(ctx).await.map_err(|e| to_status(e, no_field))?;
        let page = page_of(payments, page);
        let page_info = Some(page_info(&page));
        Ok(Response::new(proto::ListPaymentsResponse {
            payments: page.rows.into_iter().map(Into::into).collect(),
            page_info,
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::{proto::account_service_server::AccountService as _, *};
    use crate::domain::{AccountPayment, CompanyInfo, ContactInfo, Error, PendingPayment};

    #[derive(Default)]
    struct FakePort {
        fresh: Mutex<Vec<bool>>,
        payouts: usize,
    }

    impl AccountPort for FakePort {
        async fn company_info(&self, ctx: CallContext) -> Result<CompanyInfo, Error> {
            self.fresh.lock().unwrap().push(ctx.fresh);
            Ok(CompanyInfo { vendor_id: "901248204".into(), ..Default::default() })
        }

        async fn contact_info(&self, ctx: CallContext) -> Result<ContactInfo, Error> {
            self.fresh.lock().unwrap().push(ctx.fresh);
            Ok(ContactInfo { vendor_id: "901248204".into(), ..Default::default() })
        }

        async fn pending_payment(&self, ctx: CallContext) -> Result<PendingPayment, Error> {
            self.fresh.lock().unwrap().push(ctx.fresh);
            Ok(PendingPayment { release_level: Some("300".into()), ..Default::default() })
        }

        async fn list_payments(&self, ctx: CallContext) -> Result<Vec<AccountPayment>, Error> {
            self.fresh.lock().unwrap().push(ctx.fresh);
            Ok((0..self.payouts)
                .map(|n| AccountPayment { payment_id: format!("46815653{n:02}"), ..Default::default() })
                .collect())
        }
    }

    #[tokio::test]
    async fn each_read_answers_with_the_callers_fresh_flag() {
        let port = Arc::new(FakePort { payouts: 1, ..FakePort::default() });
        let api = AccountApi::new(Arc::clone(&port));
        let company = api.get_company_info(Request::new(proto::GetCompanyInfoRequest { fresh: true })).await.unwrap();
        assert_eq!(company.into_inner().company_info.unwrap().vendor_id, "901248204");
        let contact = api.get_contact_info(Request::new(proto::GetContactInfoRequest::default())).await.unwrap();
        assert_eq!(contact.into_inner().contact_info.unwrap().vendor_id, "901248204");
        let pending = api.get_pending_payment(Request::new(proto::GetPendingPaymentRequest::default())).await.unwrap();
        assert_eq!(pending.into_inner().pending_payment.unwrap().release_level, "300");
        assert_eq!(*port.fresh.lock().unwrap(), [true, false, false]);
    }

    #[tokio::test]
    async fn payouts_are_paged_and_none_is_an_empty_page() {
        let api = AccountApi::new(Arc::new(FakePort { payouts: 3, ..FakePort::default() }));
        let request = proto::ListPaymentsRequest { page: 1, page_size: 2, fresh: false };
        let answer = api.list_payments(Request::new(request)).await.unwrap().into_inner();
        assert_eq!(answer.payments.len(), 2);
        assert!(answer.page_info.unwrap().has_next_page);
        let none = AccountApi::new(Arc::new(FakePort::default()));
        let answer = none.list_payments(Request::new(proto::ListPaymentsRequest::default())).await.unwrap();
        let answer = answer.into_inner();
        assert!(answer.payments.is_empty());
        assert_eq!(answer.page_info.unwrap().total_entries, 0);
    }
}
