//! AuthorizationService over any [`PaymentPort`]: the request converted
//! (`request`), the port called with the caller's deadline, the approval
//! converted back (`response`); errors become statuses in `crate::grpc::status`.

mod request;
mod response;

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::proto::{self, authorization_service_server::AuthorizationService};
use crate::{
    audit::{self, PendingAudit},
    domain::{Authorization, AuthorizationRequest, OrderAmount, PaymentPort},
};

/// The method as the policy file and the audit trail name it.
const AUTHORIZE: &str = "twocheckout.v1.AuthorizationService/Authorize";

/// AuthorizationService over a payment port.
#[derive(Debug)]
pub struct AuthorizationApi<P> {
    port: Arc<P>,
}

impl<P> AuthorizationApi<P> {
    pub fn new(port: Arc<P>) -> Self {
        Self { port }
    }
}

#[tonic::async_trait]
impl<P: PaymentPort> AuthorizationService for AuthorizationApi<P> {
    async fn authorize(
        &self,
        request: Request<proto::AuthorizeRequest>,
    ) -> Result<Response<proto::AuthorizeResponse>, Status> {
        let mut audit = PendingAudit::begin(&request, audit::Kind::Authorization, AUTHORIZE);
        audit.set_raw_request_id(&request.get_ref().request_id);
        let outcome = audit.replay_watch().run(self.audited_authorize(&request, &mut audit)).await;
        audit.finish(&outcome);
        outcome.map(|approved| Response::new(approved.into()))
    }
}

impl<P: PaymentPort> AuthorizationApi<P> {
    /// Validates and runs an authorization, filling in its audit record: the
    /// total and currency (never the card token or the buyer's details) and,
    /// once approved, the sale and invoice ids.
    async fn audited_authorize(
        &self,
        request: &Request<proto::AuthorizeRequest>,
        audit: &mut PendingAudit,
    ) -> Result<Authorization, Status> {
        let ctx = super::call_context(request);
        let authorization = AuthorizationRequest::try_from(request.get_ref())?;
        let record = audit.record();
        record.request_id = Some(authorization.request_id.to_string());
        record.currency = Some(authorization.currency.to_owned());
        record.demo = Some(authorization.demo);
        if let OrderAmount::Total(total) = &authorization.amount {
            record.amount = Some(*total);
        }
        let approved = self.port.authorize(ctx, &authorization).await?;
        let record = audit.record();
        record.sale_id = Some(approved.order_number.clone()).filter(|id| is_vendor_id(id));
        record.invoice_id = Some(approved.transaction_id.clone()).filter(|id| is_vendor_id(id));
        record.amount = record.amount.or(approved.total);
        Ok(approved)
    }
}

/// Whether a vendor's answer holds a plausible id (digits), fit for the audit trail.
fn is_vendor_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audited_method_is_the_services_own() {
        let service = proto::authorization_service_server::SERVICE_NAME;
        assert_eq!(AUTHORIZE, format!("{service}/Authorize"));
    }
}
