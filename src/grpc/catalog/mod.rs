//! CatalogService over any catalog port: each handler converts the request
//! (`request`), calls the port with the caller's deadline, and converts the
//! answer (`response`) or the error (`crate::grpc::status`, naming the
//! request field behind a vendor parameter through `fields`).
//!
//! Writes are audited like SalesService's (`crate::audit`: who, which
//! method, the request id, how it ended), and run in a replay watch so a
//! record says when the idempotency store answered instead of 2Checkout.
//! Listings the vendor answers whole (coupons) are paged here
//! ([`super::page_of`]), so every listing of the contract pages the same way.

mod fields;
mod request;
mod response;

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{call_context, page_info, page_of, proto, status::to_status};
use crate::{
    audit::{self, PendingAudit},
    domain::{
        CallContext, CatalogPort, CatalogReceipt, CatalogWritePort, CatalogWriteRequest, Error, ListOptionsQuery,
        ListProductsQuery,
    },
};
use response::ReceiptIds;

/// The generated server, for the gateway's listener.
pub use proto::catalog_service_server::CatalogServiceServer;

/// CatalogService over a catalog port.
#[derive(Debug)]
pub struct CatalogApi<P> {
    port: Arc<P>,
}

impl<P> CatalogApi<P> {
    pub fn new(port: Arc<P>) -> Self {
        Self { port }
    }
}

/// A write request as the audit trail and the error mapping name it.
trait CatalogWriteMessage {
    /// `package.Service/Method`.
    const METHOD: &'static str;
    /// The request field behind a vendor parameter of this call.
    const FIELDS: fn(&str) -> Option<&'static str>;
    fn raw_request_id(&self) -> &str;
}

macro_rules! catalog_writes {
    ($($message:ident => $method:literal, $fields:path;)+) => {$(
        impl CatalogWriteMessage for proto::$message {
            const METHOD: &'static str = concat!("twocheckout.v1.CatalogService/", $method);
            const FIELDS: fn(&str) -> Option<&'static str> = $fields;
            fn raw_request_id(&self) -> &str {
                &self.request_id
            }
        }
    )+};
}

catalog_writes! {
    CreateProductRequest => "CreateProduct", fields::product_field;
    UpdateProductRequest => "UpdateProduct", fields::product_field;
    DeleteProductRequest => "DeleteProduct", fields::product_field;
    CreateOptionRequest => "CreateOption", fields::create_option_field;
    UpdateOptionRequest => "UpdateOption", fields::update_option_field;
    DeleteOptionRequest => "DeleteOption", fields::option_field;
    CreateCouponRequest => "CreateCoupon", fields::coupon_field;
    UpdateCouponRequest => "UpdateCoupon", fields::coupon_field;
    DeleteCouponRequest => "DeleteCoupon", fields::coupon_field;
}

/// The context of a read: the caller's deadline, and `fresh` as asked.
fn read_context<T>(request: &Request<T>, fresh: bool) -> CallContext {
    CallContext { fresh, ..call_context(request) }
}

impl<P: CatalogPort + CatalogWritePort> CatalogApi<P> {
    /// Validates a write, runs it and returns 2Checkout's receipt; the audit
    /// trail gets one record of it, whatever the outcome.
    async fn write<R: CatalogWriteMessage>(&self, request: Request<R>) -> Result<CatalogReceipt, Status>
    where
        for<'a> CatalogWriteRequest: TryFrom<&'a R, Error = Error>,
    {
        let mut audit = PendingAudit::begin(&request, audit::Kind::Write, R::METHOD);
        audit.set_raw_request_id(request.get_ref().raw_request_id());
        let outcome = audit.replay_watch().run(self.audited_write(&request)).await;
        audit.finish(&outcome);
        outcome
    }

    async fn audited_write<R: CatalogWriteMessage>(&self, request: &Request<R>) -> Result<CatalogReceipt, Status>
    where
        for<'a> CatalogWriteRequest: TryFrom<&'a R, Error = Error>,
    {
        let ctx = call_context(request);
        let write = CatalogWriteRequest::try_from(request.get_ref())?;
        self.port.write_catalog(ctx, &write).await.map_err(|e| to_status(e, R::FIELDS))
    }
}

#[tonic::async_trait]
impl<P: CatalogPort + CatalogWritePort> proto::catalog_service_server::CatalogService for CatalogApi<P> {
    async fn list_products(
        &self,
        request: Request<proto::ListProductsRequest>,
    ) -> Result<Response<proto::ListProductsResponse>, Status> {
        let ctx = read_context(&request, request.get_ref().fresh);
        let query = ListProductsQuery::try_from(request.get_ref())?;
        let page = self.port.list_products(ctx, &query).await.map_err(|e| to_status(e, fields::list_products_field))?;
        let page_info = Some(page_info(&page));
        Ok(Response::new(proto::ListProductsResponse {
            products: page.rows.into_iter().map(Into::into).collect(),
            page_info,
        }))
    }

    async fn get_product(
        &self,
        request: Request<proto::GetProductRequest>,
    ) -> Result<Response<proto::GetProductResponse>, Status> {
        let ctx = read_context(&request, request.get_ref().fresh);
        let id = request::product_id(request.get_ref())?;
        let product = self.port.get_product(ctx, &id).await.map_err(|e| to_status(e, fields::product_field))?;
        Ok(Response::new(proto::GetProductResponse { product: Some(product.into()) }))
    }

    async fn create_product(
        &self,
        request: Request<proto::CreateProductRequest>,
    ) -> Result<Response<proto::CreateProductResponse>, Status> {
        let receipt = self.write(request).await?;
        let ids = ReceiptIds::from(&receipt);
        Ok(Response::new(proto::CreateProductResponse {
            message: receipt.message,
            product_id: ids.product_id,
            assigned_product_id: ids.assigned_product_id,
        }))
    }

    async fn update_product(
        &self,
        request: Request<proto::UpdateProductRequest>,
    ) -> Result<Response<proto::UpdateProductResponse>, Status> {
        let receipt = self.write(request).await?;
        let ids = ReceiptIds::from(&receipt);
        Ok(Response::new(proto::UpdateProductResponse {
            message: receipt.message,
            product_id: ids.product_id,
            assigned_product_id: ids.assigned_product_id,
        }))
    }

    async fn delete_product(
        &self,
        request: Request<proto::DeleteProductRequest>,
    ) -> Result<Response<proto::DeleteProductResponse>, Status> {
        let receipt = self.write(request).await?;
        Ok(Response::new(proto::DeleteProductResponse { message: receipt.message }))
    }

    async fn list_options(
        &self,
        request: Request<proto::ListOptionsRequest>,
    ) -> Result<Response<proto::ListOptionsResponse>, Status> {
        let ctx = read_context(&request, request.get_ref().fresh);
        let query = ListOptionsQuery::try_from(request.get_ref())?;
        let page = self.port.list_options(ctx, &query).await.map_err(|e| to_status(e, fields::list_options_field))?;
        let page_info = Some(page_info(&page));
        Ok(Response::new(proto::ListOptionsResponse {
            options: page.rows.into_iter().map(Into::into).collect(),
            page_info,
        }))
    }

    async fn get_option(
        &self,
        request: Request<proto::GetOptionRequest>,
    ) -> Result<Response<proto::GetOptionResponse>, Status> {
        let ctx = read_context(&request, request.get_ref().fresh);
        let id = request::option_id(request.get_ref())?;
        let option = self.port.get_option(ctx, &id).await.map_err(|e| to_status(e, fields::option_field))?;
        Ok(Response::new(proto::GetOptionResponse { option: Some(option.into()) }))
    }

    async fn create_option(
        &self,
        request: Request<proto::CreateOptionRequest>,
    ) -> Result<Response<proto::CreateOptionResponse>, Status> {
        let receipt = self.write(request).await?;
        let ids = ReceiptIds::from(&receipt);
        Ok(Response::new(proto::CreateOptionResponse { message: receipt.message, option_id: ids.option_id }))
    }

    async fn update_option(
        &self,
        request: Request<proto::UpdateOptionRequest>,
    ) -> Result<Response<proto::UpdateOptionResponse>, Status> {
        let receipt = self.write(request).await?;
        Ok(Response::new(proto::UpdateOptionResponse { message: receipt.message }))
    }

    async fn delete_option(
        &self,
        request: Request<proto::DeleteOptionRequest>,
    ) -> Result<Response<proto::DeleteOptionResponse>, Status> {
        let receipt = self.write(request).await?;
        Ok(Response::new(proto::DeleteOptionResponse { message: receipt.message }))
    }

    async fn list_coupons(
        &self,
        request: Request<proto::ListCouponsRequest>,
    ) -> Result<Response<proto::ListCouponsResponse>, Status> {
        let ctx = read_context(&request, request.get_ref().fresh);
        let page = request::coupons_page(request.get_ref())?;
        let coupons = self.port.list_coupons(ctx).await.map_err(|e| to_status(e, fields::list_coupons_field))?;
        let page = page_of(coupons, page);
        let page_info = Some(page_info(&page));
        Ok(Response::new(proto::ListCouponsResponse {
            coupons: page.rows.into_iter().map(Into::into).collect(),
            page_info,
        }))
    }

    async fn get_coupon(
        &self,
        request: Request<proto::GetCouponRequest>,
    ) -> Result<Response<proto::GetCouponResponse>, Status> {
        let ctx = read_context(&request, request.get_ref().fresh);
        let code = request::get_coupon_code(request.get_ref())?;
        let coupon = self.port.get_coupon(ctx, &code).await.map_err(|e| to_status(e, fields::coupon_field))?;
        Ok(Response::new(proto::GetCouponResponse { coupon: Some(coupon.into()) }))
    }

    async fn create_coupon(
        &self,
        request: Request<proto::CreateCouponRequest>,
    ) -> Result<Response<proto::CreateCouponResponse>, Status> {
        let given = request.get_ref().coupon_code.clone();
        let receipt = self.write(request).await?;
        let answered = ReceiptIds::from(&receipt).coupon_code;
        // A code the caller chose is the coupon's code even if the vendor does not echo it.
        let coupon_code = if answered.is_empty() { given } else { answered };
        Ok(Response::new(proto::CreateCouponResponse { message: receipt.message, coupon_code }))
    }

    async fn update_coupon(
        &self,
        request: Request<proto::UpdateCouponRequest>,
    ) -> Result<Response<proto::UpdateCouponResponse>, Status> {
        let receipt = self.write(request).await?;
        let ids = ReceiptIds::from(&receipt);
        Ok(Response::new(proto::UpdateCouponResponse { message: receipt.message, coupon_code: ids.coupon_code }))
    }

    async fn delete_coupon(
        &self,
        request: Request<proto::DeleteCouponRequest>,
    ) -> Result<Response<proto::DeleteCouponResponse>, Status> {
        let receipt = self.write(request).await?;
        Ok(Response::new(proto::DeleteCouponResponse { message: receipt.message }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tonic::Code;
    use tonic_types::StatusExt as _;

    use super::{proto::catalog_service_server::CatalogService as _, *};
    use crate::domain::{
        AdminCode, CatalogPage, Coupon, CouponCode, CouponType, OptionId, Product, ProductId, ProductOption,
        VendorError,
    };

    const REQUEST_ID: &str = "6f1c1d3e-58a4-4b7e-9a55-0d6c4b1f7a10";

    /// A catalog port that records what it was asked and answers from a script.
    #[derive(Default)]
    struct FakePort {
        reads: Mutex<Vec<(&'static str, bool)>>,
        writes: Mutex<Vec<CatalogWriteRequest>>,
        coupons: Vec<Coupon>,
        refuse: Option<(&'static str, Option<&'static str>)>,
    }

    impl FakePort {
        fn read(&self, what: &'static str, ctx: CallContext) -> Result<(), Error> {
            self.reads.lock().unwrap().push((what, ctx.fresh));
            self.refusal()
        }

        fn refusal(&self) -> Result<(), Error> {
            match self.refuse {
                None => Ok(()),
                Some((code, parameter)) => Err(Error::Vendor(VendorError {
                    code: AdminCode::parse(code),
                    message: format!("refused: {code}"),
                    parameter: parameter.map(Into::into),
                    http_status: 400,
                })),
            }
        }
    }

    impl CatalogPort for FakePort {
        async fn list_products(
            &self,
            ctx: CallContext,
            query: &ListProductsQuery,
        ) -> Result<CatalogPage<Product>, Error> {
            self.read("list_products", ctx)?;
            Ok(CatalogPage::empty(query.page))
        }

        async fn get_product(&self, ctx: CallContext, _id: &ProductId) -> Result<Product, Error> {
            self.read("get_product", ctx)?;
            unreachable!("no spec here reads a product that exists")
        }

        async fn list_options(
            &self,
            ctx: CallContext,
            query: &ListOptionsQuery,
        ) -> Result<CatalogPage<ProductOption>, Error> {
            self.read("list_options", ctx)?;
            Ok(CatalogPage::empty(query.page))
        }

        async fn get_option(&self, ctx: CallContext, _id: &OptionId) -> Result<ProductOption, Error> {
            self.read("get_option", ctx)?;
            unreachable!("no spec here reads an option that exists")
        }

        async fn list_coupons(&self, ctx: CallContext) -> Result<Vec<Coupon>, Error> {
            self.read("list_coupons", ctx)?;
            Ok(self.coupons.clone())
        }

        async fn get_coupon(&self, ctx: CallContext, _code: &CouponCode) -> Result<Coupon, Error> {
            self.read("get_coupon", ctx)?;
            unreachable!("no spec here reads a coupon that exists")
        }
    }

    impl CatalogWritePort for FakePort {
        async fn write_catalog(
            &self,
            _ctx: CallContext,
            request: &CatalogWriteRequest,
        ) -> Result<CatalogReceipt, Error> {
            self.writes.lock().unwrap().push(request.clone());
            self.refusal()?;
            Ok(CatalogReceipt {
                message: "Product successfully created.".into(),
                product_id: Some("4635212971".parse().unwrap()),
                assigned_product_id: Some("2559".into()),
                ..CatalogReceipt::default()
            })
        }
    }

    fn api(port: FakePort) -> (CatalogApi<FakePort>, Arc<FakePort>) {
        let port = Arc::new(port);
        (CatalogApi::new(Arc::clone(&port)), port)
    }

    fn field(status: &Status) -> String {
        let details = status.get_error_details();
        let violations = details.bad_request().map(|b| b.field_violations.clone()).unwrap_or_default();
        violations.first().map(|v| v.field.clone()).unwrap_or_default()
    }

    #[tokio::test]
    async fn a_create_answers_the_vendors_message_and_ids() {
        let (api, port) = api(FakePort::default());
        let request = proto::CreateProductRequest {
            request_id: REQUEST_ID.into(),
            name: "Example Product".into(),
            price: "1.00".into(),
            ..Default::default()
        };
        let answer = api.create_product(Request::new(request)).await.unwrap().into_inner();
        assert_eq!(answer.message, "Product successfully created.");
        assert_eq!((answer.product_id.as_str(), answer.assigned_product_id.as_str()), ("4635212971", "2559"));
        assert_eq!(port.writes.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_invalid_write_is_refused_before_anything_is_sent() {
        let (api, port) = api(FakePort::default());
        let request =
            proto::CreateProductRequest { request_id: REQUEST_ID.into(), price: "1.00".into(), ..Default::default() };
        let status = api.create_product(Request::new(request)).await.unwrap_err();
        assert_eq!((status.code(), field(&status)), (Code::InvalidArgument, "name".to_owned()));
        assert!(port.writes.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_vendor_refusal_names_the_callers_field_not_the_vendors_parameter() {
        let (coupons, _) =
            api(FakePort { refuse: Some(("PARAMETER_INVALID", Some("product_id"))), ..FakePort::default() });
        let request = proto::CreateCouponRequest {
            request_id: REQUEST_ID.into(),
            date_expire: "2030-01-01".into(),
            r#type: proto::CouponType::Product.into(),
            product_ids: vec!["1".into()],
            ..Default::default()
        };
        let status = coupons.create_coupon(Request::new(request)).await.unwrap_err();
        assert_eq!((status.code(), field(&status)), (Code::InvalidArgument, "product_ids".to_owned()));
        let (products, _) =
            api(FakePort { refuse: Some(("PARAMETER_INVALID", Some("option_id"))), ..FakePort::default() });
        let request = proto::CreateProductRequest {
            request_id: REQUEST_ID.into(),
            name: "Example Product".into(),
            price: "1.00".into(),
            option_ids: vec!["9".into()],
            ..Default::default()
        };
        let status = products.create_product(Request::new(request)).await.unwrap_err();
        assert_eq!(field(&status), "option_ids");
    }

    #[tokio::test]
    async fn an_unknown_coupon_is_permission_denied_like_the_live_api() {
        let (api, _) = api(FakePort { refuse: Some(("FORBIDDEN", None)), ..FakePort::default() });
        let request = proto::GetCouponRequest { coupon_code: "42".into(), fresh: false };
        let status = api.get_coupon(Request::new(request)).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        assert_eq!(status.get_error_details().error_info().unwrap().reason, "FORBIDDEN");
    }

    #[tokio::test]
    async fn an_unknown_product_is_not_found() {
        let (api, _) = api(FakePort { refuse: Some(("RECORD_NOT_FOUND", None)), ..FakePort::default() });
        let status = api
            .get_product(Request::new(proto::GetProductRequest { product_id: "1".into(), fresh: false }))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
    }

    #[tokio::test]
    async fn fresh_reaches_the_port_and_reads_default_to_cached() {
        let (api, port) = api(FakePort::default());
        api.list_products(Request::new(proto::ListProductsRequest { fresh: true, ..Default::default() }))
            .await
            .unwrap();
        api.list_options(Request::new(proto::ListOptionsRequest::default())).await.unwrap();
        assert_eq!(*port.reads.lock().unwrap(), [("list_products", true), ("list_options", false)]);
    }

    #[tokio::test]
    async fn an_empty_listing_is_an_empty_page() {
        let (api, _) = api(FakePort::default());
        let answer = api.list_products(Request::new(proto::ListProductsRequest::default())).await.unwrap().into_inner();
        assert!(answer.products.is_empty());
        let info = answer.page_info.unwrap();
        assert_eq!((info.page, info.page_size, info.total_entries, info.has_next_page), (1, 20, 0, false));
    }

    #[tokio::test]
    async fn coupons_are_paged_by_the_gateway() {
        let coupon = |code: &str| Coupon {
            code: code.parse().unwrap(),
            date_expire: "3000-02-25".into(),
            coupon_type: CouponType::Shipping,
            minimum_purchase: None,
            percentage_off: None,
            value_off: None,
            product_ids: None,
        };
        let (api, _) = api(FakePort { coupons: vec![coupon("A"), coupon("B"), coupon("C")], ..FakePort::default() });
        let request = proto::ListCouponsRequest { page: 2, page_size: 2, fresh: false };
        let answer = api.list_coupons(Request::new(request)).await.unwrap().into_inner();
        assert_eq!(answer.coupons.iter().map(|c| c.coupon_code.as_str()).collect::<Vec<_>>(), ["C"]);
        let info = answer.page_info.unwrap();
        assert_eq!((info.total_entries, info.last_page, info.first_entry, info.has_next_page), (3, 2, 3, false));
    }

    #[test]
    fn audited_methods_are_the_services_own() {
        let service = proto::catalog_service_server::SERVICE_NAME;
        for method in [
            <proto::CreateProductRequest as CatalogWriteMessage>::METHOD,
            <proto::UpdateProductRequest as CatalogWriteMessage>::METHOD,
            <proto::DeleteProductRequest as CatalogWriteMessage>::METHOD,
            <proto::CreateOptionRequest as CatalogWriteMessage>::METHOD,
            <proto::UpdateOptionRequest as CatalogWriteMessage>::METHOD,
            <proto::DeleteOptionRequest as CatalogWriteMessage>::METHOD,
            <proto::CreateCouponRequest as CatalogWriteMessage>::METHOD,
            <proto::UpdateCouponRequest as CatalogWriteMessage>::METHOD,
            <proto::DeleteCouponRequest as CatalogWriteMessage>::METHOD,
        ] {
            assert!(method.strip_prefix(service).is_some_and(|m| m.starts_with('/')), "{method}");
            assert!(
                crate::auth::policy::known_methods().any(|known| known == method),
                "{method} unknown to the policy"
            );
        }
    }
}
