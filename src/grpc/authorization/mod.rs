//! AuthorizationService over any [`PaymentPort`]: the request converted
//! (`request`), the port called with the caller's deadline, the approval
//! converted back (`response`); errors become statuses in `crate::grpc::status`.

mod request;
mod response;

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::proto::{self, authorization_service_server::AuthorizationService};
use crate::domain::{AuthorizationRequest, PaymentPort};

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
        let ctx = super::call_context(&request);
        let authorization = AuthorizationRequest::try_from(request.get_ref())?;
        let approved = self.port.authorize(ctx, &authorization).await?;
        Ok(Response::new(approved.into()))
    }
}
