//! CatalogService end to end, over the real gateway and the real simulator:
//! every RPC, each read back through the gateway after a write, every
//! documented error with the status callers get, the empty catalog as empty
//! pages, and validation at the edge with nothing sent to 2Checkout.

use tco_gateway::grpc::proto::{
    CouponType, CreateCouponRequest, CreateOptionRequest, CreateProductRequest, DeleteCouponRequest,
    DeleteOptionRequest, DeleteProductRequest, GetCouponRequest, GetOptionRequest, GetProductRequest, IdList,
    ListCouponsRequest, ListOptionsRequest, ListProductsRequest, NewOptionValue, OptionValueChange, ProductsFilter,
    UpdateCouponRequest, UpdateOptionRequest, UpdateProductRequest, catalog_service_client::CatalogServiceClient,
    create_coupon_request, update_option_request::ValueChange,
};
use tco_simulator::{Endpoint, FOREIGN_OPTION_ID, FOREIGN_PRODUCT_ID, SimulatorConfig};
use tonic::{Code, transport::Channel};

use crate::helpers::{
    TestApp, bad_request_field, expect_error, new_request_id, spawn_app, spawn_gateway, spawn_simulator_with,
};

fn catalog(app: &TestApp) -> CatalogServiceClient<Channel> {
    CatalogServiceClient::new(app.channel.clone())
}

fn new_product(name: &str, price: &str) -> CreateProductRequest {
    CreateProductRequest { request_id: new_request_id(), name: name.into(), price: price.into(), ..Default::default() }
}

fn get_product(product_id: &str) -> GetProductRequest {
    // Fresh: a spec reads what 2Checkout holds, never what the gateway cached.
    GetProductRequest { product_id: product_id.into(), fresh: true }
}

#[tokio::test]
async fn a_created_product_reads_back_lists_updates_partially_and_deletes() {
    let app = spawn_app().await;
    let mut catalog = catalog(&app);
    let request = CreateProductRequest {
        vendor_product_id: "spec-1".into(),
        description: "A product made by a spec".into(),
        ..new_product("Spec Product", "9.99")
    };
    let created = catalog.create_product(request).await.unwrap().into_inner();
    assert_eq!(created.message, "Product successfully created.");
    assert!(!created.product_id.is_empty());

    let product = catalog.get_product(get_product(&created.product_id)).await.unwrap().into_inner().product.unwrap();
    assert_eq!((product.name.as_str(), product.price.as_str()), ("Spec Product", "9.99"));
    assert_eq!(product.vendor_product_id, "spec-1");

    let filter = ProductsFilter { name: "Spec Product".into(), ..Default::default() };
    let listed = catalog
        .list_products(ListProductsRequest { filter: Some(filter), fresh: true, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.products.iter().map(|p| p.product_id.as_str()).collect::<Vec<_>>(),
        [created.product_id.as_str()]
    );
    assert_eq!(listed.page_info.unwrap().total_entries, 1);

    let update = UpdateProductRequest {
        request_id: new_request_id(),
        product_id: created.product_id.clone(),
        price: Some("12.50".into()),
        ..Default::default()
    };
    let updated = catalog.update_product(update).await.unwrap().into_inner();
    assert_eq!(updated.message, "Product successfully updated");
    assert_eq!(updated.product_id, created.product_id);
    let product = catalog.get_product(get_product(&created.product_id)).await.unwrap().into_inner().product.unwrap();
    assert_eq!(product.price, "12.50");
    assert_eq!(product.name, "Spec Product", "a partial update leaves the rest alone");

    let delete = DeleteProductRequest { request_id: new_request_id(), product_id: created.product_id.clone() };
    assert_eq!(catalog.delete_product(delete).await.unwrap().into_inner().message, "Product successfully deleted.");
    let status = catalog.get_product(get_product(&created.product_id)).await.unwrap_err();
    expect_error(&status, Code::NotFound, "RECORD_NOT_FOUND");
}

#[tokio::test]
async fn a_product_gets_options_assigned_and_they_read_back_nested() {
    let app = spawn_app().await;
    let mut catalog = catalog(&app);
    let option = catalog
        .create_option(CreateOptionRequest {
            request_id: new_request_id(),
            name: "Volume".into(),
            values: vec![
                NewOptionValue { name: "Low".into(), surcharge: "1.00".into() },
                NewOptionValue { name: "High".into(), surcharge: "2.50".into() },
            ],
        })
        .await
        .unwrap()
        .into_inner();
    let created = catalog.create_product(new_product("With options", "5.00")).await.unwrap().into_inner();
    let update = UpdateProductRequest {
        request_id: new_request_id(),
        product_id: created.product_id.clone(),
        option_ids: Some(IdList { ids: vec![option.option_id.clone()] }),
        ..Default::default()
    };
    catalog.update_product(update).await.unwrap();
    let product = catalog.get_product(get_product(&created.product_id)).await.unwrap().into_inner().product.unwrap();
    assert_eq!(product.options.len(), 1);
    assert_eq!(product.options[0].option_id, option.option_id);
    let surcharges: Vec<_> = product.options[0].values.iter().map(|v| v.surcharge.as_str()).collect();
    assert_eq!(surcharges, ["1.00", "2.50"]);
}

#[tokio::test]
async fn listings_are_paged_like_list_sales() {
    let app = spawn_app().await;
    let mut catalog = catalog(&app);
    let page = catalog.list_products(ListProductsRequest { page_size: 2, ..Default::default() }).await.unwrap();
    let page = page.into_inner();
    assert_eq!(page.products.len(), 2, "the official suites ask for a page of 2 and get 2");
    let info = page.page_info.unwrap();
    assert_eq!((info.page, info.page_size, info.first_entry, info.last_entry), (1, 2, 1, 2));
    assert!(info.has_next_page && info.total_entries > 2);

    let second = catalog.list_products(ListProductsRequest { page: 2, page_size: 2, ..Default::default() }).await;
    let second = second.unwrap().into_inner();
    assert_ne!(second.products[0].product_id, page.products[0].product_id);

    let options = catalog.list_options(ListOptionsRequest { page_size: 2, ..Default::default() }).await.unwrap();
    assert_eq!(options.into_inner().options.len(), 2);
    let coupons = catalog.list_coupons(ListCouponsRequest { page_size: 2, ..Default::default() }).await.unwrap();
    let coupons = coupons.into_inner();
    assert_eq!(coupons.coupons.len(), 2);
    assert!(coupons.page_info.unwrap().has_next_page);
    assert!(coupons.coupons.iter().all(|c| c.products.is_none()), "a listing does not say which products");
}

#[tokio::test]
async fn an_unknown_product_or_option_is_not_found() {
    let app = spawn_app().await;
    let mut catalog = catalog(&app);
    let status = catalog.get_product(get_product("1234567")).await.unwrap_err();
    expect_error(&status, Code::NotFound, "RECORD_NOT_FOUND");
    let status = catalog.get_option(GetOptionRequest { option_id: "1234567".into(), fresh: true }).await.unwrap_err();
    expect_error(&status, Code::NotFound, "RECORD_NOT_FOUND");
    let delete = DeleteProductRequest { request_id: new_request_id(), product_id: "1234567".into() };
    let status = catalog.delete_product(delete).await.unwrap_err();
    expect_error(&status, Code::NotFound, "RECORD_NOT_FOUND");
    let delete = DeleteOptionRequest { request_id: new_request_id(), option_id: "1234567".into() };
    let status = catalog.delete_option(delete).await.unwrap_err();
    expect_error(&status, Code::NotFound, "RECORD_NOT_FOUND");
}

#[tokio::test]
async fn another_accounts_product_or_option_is_permission_denied() {
    let app = spawn_app().await;
    let mut catalog = catalog(&app);
    let status = catalog.get_product(get_product(FOREIGN_PRODUCT_ID)).await.unwrap_err();
    expect_error(&status, Code::PermissionDenied, "FORBIDDEN");
    let status = catalog.get_option(GetOptionRequest { option_id: FOREIGN_OPTION_ID.into(), fresh: true }).await;
    expect_error(&status.unwrap_err(), Code::PermissionDenied, "FORBIDDEN");
}

#[tokio::test]
async fn an_unknown_coupon_is_permission_denied_like_the_live_api() {
    let app = spawn_app().await;
    let mut catalog = catalog(&app);
    let status = catalog.get_coupon(GetCouponRequest { coupon_code: "42".into(), fresh: true }).await.unwrap_err();
    let details = expect_error(&status, Code::PermissionDenied, "FORBIDDEN");
    assert_eq!(details.error_info().unwrap().metadata["vendorCode"], "FORBIDDEN");
}

#[tokio::test]
async fn an_option_is_created_renamed_given_values_and_deleted() {
    let app = spawn_app().await;
    let mut catalog = catalog(&app);
    let created = catalog
        .create_option(CreateOptionRequest {
            request_id: new_request_id(),
            name: "Size".into(),
            values: vec![NewOptionValue { name: "Small".into(), surcharge: "0.00".into() }],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.message, "Option created successfully");
    let get = || GetOptionRequest { option_id: created.option_id.clone(), fresh: true };
    let option = catalog.get_option(get()).await.unwrap().into_inner().option.unwrap();
    assert_eq!((option.name.as_str(), option.values.len()), ("Size", 1));

    let add = UpdateOptionRequest {
        request_id: new_request_id(),
        option_id: created.option_id.clone(),
        name: "Sizes".into(),
        value_change: Some(ValueChange::AddValue(NewOptionValue { name: "Large".into(), surcharge: "3.00".into() })),
    };
    assert_eq!(catalog.update_option(add).await.unwrap().into_inner().message, "Option updated successfully");
    let option = catalog.get_option(get()).await.unwrap().into_inner().option.unwrap();
    assert_eq!(option.name, "Sizes");
    let large = option.values.iter().find(|v| v.name == "Large").expect("the added value");
    assert_eq!(large.surcharge, "3.00");

    let change = UpdateOptionRequest {
        request_id: new_request_id(),
        option_id: created.option_id.clone(),
        name: "Sizes".into(),
        value_change: Some(ValueChange::ChangeValue(OptionValueChange {
            option_value_id: large.option_value_id.clone(),
            name: "Huge".into(),
            surcharge: "4.00".into(),
        })),
    };
    catalog.update_option(change).await.unwrap();
    let option = catalog.get_option(get()).await.unwrap().into_inner().option.unwrap();
    assert!(option.values.iter().any(|v| v.name == "Huge" && v.surcharge == "4.00"), "{option:?}");

    let delete = DeleteOptionRequest { request_id: new_request_id(), option_id: created.option_id.clone() };
    assert_eq!(catalog.delete_option(delete).await.unwrap().into_inner().message, "Option deleted successfully");
    expect_error(&catalog.get_option(get()).await.unwrap_err(), Code::NotFound, "RECORD_NOT_FOUND");
}

#[tokio::test]
async fn a_value_of_another_option_is_refused_naming_the_field() {
    let app = spawn_app().await;
    let mut catalog = catalog(&app);
    let make = |name: &str| CreateOptionRequest {
        request_id: new_request_id(),
        name: name.into(),
        values: vec![NewOptionValue { name: "One".into(), surcharge: "1.00".into() }],
    };
    let first = catalog.create_option(make("First")).await.unwrap().into_inner();
    let second = catalog.create_option(make("Second")).await.unwrap().into_inner();
    let second_option = catalog.get_option(GetOptionRequest { option_id: second.option_id, fresh: true }).await;
    let foreign_value = second_option.unwrap().into_inner().option.unwrap().values[0].option_value_id.clone();
    let change = UpdateOptionRequest {
        request_id: new_request_id(),
        option_id: first.option_id,
        name: "First".into(),
        value_change: Some(ValueChange::ChangeValue(OptionValueChange {
            option_value_id: foreign_value,
            name: "Two".into(),
            surcharge: "2.00".into(),
        })),
    };
    let status = catalog.update_option(change).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(status.message(), "Specified option_value_id does not belong to specifed option_id.");
    let details = tonic_types::StatusExt::get_error_details(&status);
    assert_eq!(bad_request_field(&details), "change_value.option_value_id");
}

#[tokio::test]
async fn a_coupon_is_created_read_updated_listed_and_deleted() {
    let app = spawn_app().await;
    let mut catalog = catalog(&app);
    let create = CreateCouponRequest {
        request_id: new_request_id(),
        coupon_code: "SPEC10".into(),
        date_expire: "2030-12-31".into(),
        r#type: CouponType::Sale.into(),
        discount: Some(create_coupon_request::Discount::ValueOff("1.00".into())),
        minimum_purchase: "5.00".into(),
        ..Default::default()
    };
    let created = catalog.create_coupon(create).await.unwrap().into_inner();
    assert_eq!((created.message.as_str(), created.coupon_code.as_str()), ("Coupon successfully created", "SPEC10"));
    let get = || GetCouponRequest { coupon_code: "SPEC10".into(), fresh: true };
    let coupon = catalog.get_coupon(get()).await.unwrap().into_inner().coupon.unwrap();
    assert_eq!((coupon.r#type(), coupon.vendor_type.as_str()), (CouponType::Sale, "sale"));
    assert_eq!((coupon.value_off.as_str(), coupon.minimum_purchase.as_str()), ("1.00", "5.00"));
    assert!(coupon.products.is_some(), "a detail says which products");

    let update = UpdateCouponRequest {
        request_id: new_request_id(),
        coupon_code: "SPEC10".into(),
        date_expire: Some("2031-01-02".into()),
        ..Default::default()
    };
    assert_eq!(catalog.update_coupon(update).await.unwrap().into_inner().message, "Coupon updated successfully");
    let coupon = catalog.get_coupon(get()).await.unwrap().into_inner().coupon.unwrap();
    assert_eq!((coupon.date_expire.as_str(), coupon.value_off.as_str()), ("2031-01-02", "1.00"));

    let all = catalog.list_coupons(ListCouponsRequest { page_size: 100, fresh: true, ..Default::default() }).await;
    assert!(all.unwrap().into_inner().coupons.iter().any(|c| c.coupon_code == "SPEC10"));

    let delete = DeleteCouponRequest { request_id: new_request_id(), coupon_code: "SPEC10".into() };
    assert_eq!(catalog.delete_coupon(delete).await.unwrap().into_inner().message, "Coupon successfully deleted.");
    expect_error(&catalog.get_coupon(get()).await.unwrap_err(), Code::PermissionDenied, "FORBIDDEN");
}

#[tokio::test]
async fn a_coupon_without_a_code_gets_one_from_2checkout() {
    let app = spawn_app().await;
    let mut catalog = catalog(&app);
    let create = CreateCouponRequest {
        request_id: new_request_id(),
        date_expire: "2030-01-01".into(),
        r#type: CouponType::Shipping.into(),
        minimum_purchase: "1.00".into(),
        ..Default::default()
    };
    let created = catalog.create_coupon(create).await.unwrap().into_inner();
    assert!(!created.coupon_code.is_empty());
    let get = GetCouponRequest { coupon_code: created.coupon_code.clone(), fresh: true };
    let coupon = catalog.get_coupon(get).await.unwrap().into_inner().coupon.unwrap();
    assert_eq!((coupon.r#type(), coupon.date_expire.as_str()), (CouponType::Shipping, "2030-01-01"));
}

#[tokio::test]
async fn an_empty_catalog_lists_as_empty_pages_not_errors() {
    let simulator = spawn_simulator_with(SimulatorConfig { empty_catalog: true, ..SimulatorConfig::default() }).await;
    let app = spawn_gateway(&simulator, &[]).await;
    let mut catalog = catalog(&app);
    let products = catalog.list_products(ListProductsRequest::default()).await.unwrap().into_inner();
    assert!(products.products.is_empty());
    let info = products.page_info.unwrap();
    assert_eq!((info.page, info.page_size, info.total_entries, info.last_page), (1, 20, 0, 0));
    let options = catalog.list_options(ListOptionsRequest::default()).await.unwrap().into_inner();
    assert!(options.options.is_empty() && options.page_info.unwrap().total_entries == 0);
    let coupons = catalog.list_coupons(ListCouponsRequest::default()).await.unwrap().into_inner();
    assert!(coupons.coupons.is_empty() && coupons.page_info.unwrap().total_entries == 0);
    // 2Checkout was asked, and answered "nothing" its own way: HTTP 400 RECORD_NOT_FOUND.
    assert_eq!(simulator.request_count(Endpoint::ListProducts), 1);
    assert_eq!(simulator.request_count(Endpoint::ListCoupons), 1);
}

#[tokio::test]
async fn invalid_requests_are_refused_naming_the_field_before_2checkout_is_called() {
    let app = spawn_app().await;
    let mut catalog = catalog(&app);
    let field = |status: tonic::Status| {
        let details = expect_error(&status, Code::InvalidArgument, "INVALID_FIELD");
        bad_request_field(&details)
    };
    let create = |f: fn(&mut CreateProductRequest)| {
        let mut request = new_product("Spec Product", "1.00");
        f(&mut request);
        request
    };
    for (request, expected) in [
        (create(|r| r.price = "-1.00".into()), "price"),
        (create(|r| r.price = "1.005".into()), "price"),
        (create(|r| r.name = String::new()), "name"),
        (create(|r| r.request_id = "not-a-uuid".into()), "request_id"),
        (create(|r| r.recurrence = "monthly".into()), "recurrence"),
        (create(|r| r.duration = "0 Year".into()), "duration"),
        (create(|r| r.option_ids = vec!["4x".into()]), "option_ids[0]"),
    ] {
        assert_eq!(field(catalog.create_product(request).await.unwrap_err()), expected);
    }
    let update = UpdateProductRequest {
        request_id: new_request_id(),
        product_id: "1".into(),
        name: Some(String::new()),
        ..Default::default()
    };
    assert_eq!(field(catalog.update_product(update).await.unwrap_err()), "name");
    let coupon = |f: fn(&mut CreateCouponRequest)| {
        let mut request = CreateCouponRequest {
            request_id: new_request_id(),
            date_expire: "2030-01-01".into(),
            r#type: CouponType::Sale.into(),
            ..Default::default()
        };
        f(&mut request);
        request
    };
    for (request, expected) in [
        (coupon(|r| r.date_expire = "2030-02-30".into()), "date_expire"),
        (coupon(|r| r.r#type = CouponType::Unspecified.into()), "type"),
        (coupon(|r| r.discount = Some(create_coupon_request::Discount::PercentageOff(101))), "percentage_off"),
        (coupon(|r| r.discount = Some(create_coupon_request::Discount::ValueOff("0".into()))), "value_off"),
        (coupon(|r| r.coupon_code = "no spaces".into()), "coupon_code"),
    ] {
        assert_eq!(field(catalog.create_coupon(request).await.unwrap_err()), expected);
    }
    let page = ListProductsRequest { page_size: 101, ..Default::default() };
    assert_eq!(field(catalog.list_products(page).await.unwrap_err()), "page_size");
    let get = GetProductRequest { product_id: "12a".into(), fresh: false };
    assert_eq!(field(catalog.get_product(get).await.unwrap_err()), "product_id");
    for endpoint in [Endpoint::CreateProduct, Endpoint::UpdateProduct, Endpoint::CreateCoupon, Endpoint::ListProducts] {
        assert_eq!(app.simulator.request_count(endpoint), 0, "{endpoint:?} was called");
    }
}

#[tokio::test]
async fn a_retried_create_with_the_same_request_id_creates_once() {
    let app = spawn_app().await;
    let mut catalog = catalog(&app);
    let request = new_product("Created Once", "3.00");
    let first = catalog.create_product(request.clone()).await.unwrap().into_inner();
    let again = catalog.create_product(request).await.unwrap().into_inner();
    assert_eq!(again.product_id, first.product_id);
    assert_eq!(again.message, first.message);
    assert_eq!(app.simulator.request_count(Endpoint::CreateProduct), 1);
}

#[tokio::test]
async fn the_same_request_id_with_a_different_request_is_invalid_argument() {
    let app = spawn_app().await;
    let mut catalog = catalog(&app);
    let request = new_product("First Of Two", "3.00");
    catalog.create_product(request.clone()).await.unwrap();
    let changed = CreateProductRequest { price: "4.00".into(), ..request };
    let status = catalog.create_product(changed).await.unwrap_err();
    let details = expect_error(&status, Code::InvalidArgument, "REQUEST_ID_REUSED");
    assert_eq!(bad_request_field(&details), "request_id");
    assert_eq!(app.simulator.request_count(Endpoint::CreateProduct), 1);
}

#[tokio::test]
async fn reads_are_cached_fresh_reads_past_and_a_write_evicts_what_it_changed() {
    let app = spawn_app().await;
    let mut catalog = catalog(&app);
    let created = catalog.create_product(new_product("Cached Product", "7.00")).await.unwrap().into_inner();
    let cached = || GetProductRequest { product_id: created.product_id.clone(), fresh: false };
    let reads = || app.simulator.request_count(Endpoint::DetailProduct);
    catalog.get_product(cached()).await.unwrap();
    catalog.get_product(cached()).await.unwrap();
    assert_eq!(reads(), 1, "the second read came from the cache");
    catalog.get_product(get_product(&created.product_id)).await.unwrap();
    assert_eq!(reads(), 2, "fresh reads 2Checkout");

    let update = UpdateProductRequest {
        request_id: new_request_id(),
        product_id: created.product_id.clone(),
        name: Some("Renamed Product".into()),
        ..Default::default()
    };
    catalog.update_product(update).await.unwrap();
    let product = catalog.get_product(cached()).await.unwrap().into_inner().product.unwrap();
    assert_eq!(product.name, "Renamed Product", "the write evicted the cached product");
}
