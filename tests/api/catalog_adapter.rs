//! The Admin API client's catalog and account calls (`products/*`, `acct/*`),
//! driven directly against the real simulator over real HTTP, once in each
//! wire format: every kind listed, read, created, updated and deleted, the
//! account read, and an empty account's lists read as empty pages (the vendor
//! answers them HTTP 400 RECORD_NOT_FOUND).
//!
//! The gRPC services have their own specs (`catalog.rs`, `account.rs`); these
//! pin the adapter itself: the forms it sends are the ones the simulator
//! (following the official clients) accepts, and what it decodes from both
//! formats is the same.

use std::{sync::Arc, time::Duration};

use chrono::NaiveDate;
use secrecy::SecretString;
use tco_gateway::{
    config::{DEFAULT_ADMIN_API_MAX_BODY_BYTES, WireFormat},
    domain::{
        AccountPort, AdminCode, Amount, CallContext, CatalogPort, CatalogReceipt, CatalogWrite, CatalogWritePort,
        CatalogWriteRequest, CouponCode, CouponType, CouponUpdate, Error, ListOptionsQuery, ListProductsQuery,
        NewCoupon, NewOption, NewOptionValue, NewProduct, OptionId, OptionValueChange, PageRequest, ProductFields,
        ProductId, ProductSortColumn, RequestId, SortDirection, Text, TextRules,
    },
    twocheckout::{AdminApiClient, AdminApiConfig},
};
use tco_simulator::{RunningSimulator, SimulatorConfig};

use crate::helpers::spawn_simulator_with;

const FORMATS: [WireFormat; 2] = [WireFormat::Json, WireFormat::Xml];
/// The simulator's seeded catalog (catalog_seed.rs): the product the .NET documentation lists
/// first, "API product" with two options, the option the PHP suite reads back, and another
/// vendor's product.
const DOCUMENTED_PRODUCT: &str = "4774387610";
const API_PRODUCT: &str = "9000000114";
const SIZE_OPTION: &str = "4774404362";
const FOREIGN_PRODUCT: &str = "8000000101";
const SEEDED_COUPONS: [&str; 4] = ["7EBHJFP", "COUPON", "FREESHIPPING", "SAVEJUNE"];

fn client(simulator: &RunningSimulator, wire_format: WireFormat) -> AdminApiClient {
    let defaults = SimulatorConfig::default();
    AdminApiClient::new(AdminApiConfig {
        base_url: simulator.admin_api_base_url().parse().unwrap(),
        username: defaults.api_username,
        password: SecretString::from(defaults.api_password),
        wire_format,
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(15),
        max_body_bytes: usize::try_from(DEFAULT_ADMIN_API_MAX_BODY_BYTES).unwrap(),
        max_concurrent_requests: 4,
    })
    .unwrap()
}

/// A simulator per format: the catalog is stateful, and each format's walk starts from the seed.
async fn simulators(config: impl Fn() -> SimulatorConfig) -> Vec<(WireFormat, Arc<RunningSimulator>, AdminApiClient)> {
    let mut running = Vec::new();
    for format in FORMATS {
        let simulator = spawn_simulator_with(config()).await;
        let client = client(&simulator, format);
        running.push((format, simulator, client));
    }
    running
}

fn ctx() -> CallContext {
    CallContext::default()
}

fn text(value: &str) -> Text {
    Text::required(value, TextRules::line(255)).unwrap()
}

fn money(value: &str) -> Amount {
    value.parse().unwrap()
}

fn request(write: CatalogWrite) -> CatalogWriteRequest {
    // The bare client ignores the request id (the idempotency decorator gives it meaning).
    CatalogWriteRequest { request_id: "6f1c2a9e-0000-4000-8000-000000000019".parse::<RequestId>().unwrap(), write }
}

fn vendor_code(error: Error) -> AdminCode {
    match error {
        Error::Vendor(vendor) => vendor.code,
        other => panic!("expected the vendor's refusal, got {other:?}"),
    }
}

fn page(page: u32, page_size: u32) -> PageRequest {
    PageRequest { page, page_size }
}

fn products_query(name: Option<&str>, asked: PageRequest) -> ListProductsQuery {
    ListProductsQuery {
        assigned_product_id: None,
        vendor_product_id: None,
        name: name.map(str::to_owned),
        page: asked,
        sort_column: Some(ProductSortColumn::ProductId),
        sort_direction: Some(SortDirection::Ascending),
    }
}

#[tokio::test]
async fn products_are_listed_read_created_updated_and_deleted_in_both_formats() {
    for (format, _simulator, client) in simulators(SimulatorConfig::default).await {
        let first = client.list_products(ctx(), &products_query(None, page(1, 5))).await.unwrap();
        assert_eq!((first.rows.len(), first.page, first.page_size), (5, 1, 5), "{format:?}");
        assert!(first.total_entries > 5 && first.has_next_page(), "{format:?}: {first:?}");
        let second = client.list_products(ctx(), &products_query(None, page(2, 5))).await.unwrap();
        assert!(second.rows.iter().all(|p| !first.rows.contains(p)), "{format:?}: pages do not overlap");

        let documented = client.get_product(ctx(), &DOCUMENTED_PRODUCT.parse().unwrap()).await.unwrap();
        assert_eq!(documented.name, "Test Product", "{format:?}");
        let api_product = client.get_product(ctx(), &API_PRODUCT.parse().unwrap()).await.unwrap();
        assert_eq!((api_product.name.as_str(), api_product.price), ("API product", money("10.00")), "{format:?}");
        let option_names: Vec<_> = api_product.options.iter().map(|o| o.name.as_str()).collect();
        assert!(option_names.contains(&"extra benefit") && option_names.contains(&"decibels"), "{option_names:?}");

        let name = format!("Adapter spec product {format:?}");
        let created = client
            .write_catalog(
                ctx(),
                &request(CatalogWrite::CreateProduct(
                    NewProduct::new(ProductFields {
                        name: Some(text(&name)),
                        price: Some(money("1.50")),
                        vendor_product_id: Some(text("ADAPTER-1")),
                        tangible: Some(true),
                        weight: Some(money("1.5")),
                        handling: Some(money("1")),
                        option_ids: Some(vec![SIZE_OPTION.parse().unwrap()]),
                        category_ids: Some(vec!["21".parse().unwrap(), "7".parse().unwrap()]),
                        ..ProductFields::default()
                    })
                    .unwrap(),
                )),
            )
            .await
            .unwrap();
        assert_eq!(created.message, "Product successfully created.", "{format:?}");
        let product_id = created.product_id.clone().expect("the new product's id");
        assert!(created.assigned_product_id.is_some(), "{format:?}: {created:?}");

        let read = client.get_product(ctx(), &product_id).await.unwrap();
        assert_eq!((read.name.as_str(), read.price, read.tangible), (name.as_str(), money("1.50"), true), "{format:?}");
        assert_eq!((read.weight, read.handling), (Some(money("1.50")), Some(money("1.00"))));
        assert_eq!(read.options.iter().map(|o| o.option_id.as_str()).collect::<Vec<_>>(), [SIZE_OPTION]);
        let mut categories: Vec<_> = read.categories.iter().map(|c| c.category_id.as_str()).collect();
        categories.sort_unstable();
        assert_eq!(categories, ["21", "7"], "{format:?}: both repeated category_id values arrived");
        let found = client.list_products(ctx(), &products_query(Some(&name), page(1, 20))).await.unwrap();
        assert_eq!(found.rows.iter().map(|p| &p.product_id).collect::<Vec<_>>(), [&product_id], "{format:?}");

        let renamed = format!("{name} renamed");
        let updated = client
            .write_catalog(
                ctx(),
                &request(CatalogWrite::UpdateProduct {
                    product_id: product_id.clone(),
                    fields: ProductFields { name: Some(text(&renamed)), ..ProductFields::default() },
                }),
            )
            .await
            .unwrap();
        assert_eq!(updated.message, "Product successfully updated", "{format:?}");
        assert_eq!(updated.product_id.as_ref(), Some(&product_id));
        let read = client.get_product(ctx(), &product_id).await.unwrap();
        assert_eq!((read.name.as_str(), read.price), (renamed.as_str(), money("1.50")), "{format:?}: a partial update");

        let deleted = client
            .write_catalog(ctx(), &request(CatalogWrite::DeleteProduct { product_id: product_id.clone() }))
            .await
            .unwrap();
        assert_eq!(
            deleted,
            CatalogReceipt { message: "Product successfully deleted.".into(), ..CatalogReceipt::default() },
            "{format:?}"
        );
        let gone = client.get_product(ctx(), &product_id).await.unwrap_err();
        assert_eq!(vendor_code(gone), AdminCode::RecordNotFound, "{format:?}");
        let foreign = client.get_product(ctx(), &FOREIGN_PRODUCT.parse().unwrap()).await.unwrap_err();
        assert_eq!(vendor_code(foreign), AdminCode::Forbidden, "{format:?}");
    }
}

#[tokio::test]
async fn options_are_listed_read_created_updated_and_deleted_in_both_formats() {
    for (format, _simulator, client) in simulators(SimulatorConfig::default).await {
        let options_query = |name: Option<&str>, asked| ListOptionsQuery {
            option_name: name.map(str::to_owned),
            option_value_name: None,
            page: asked,
            sort_column: None,
            sort_direction: None,
        };
        let listed = client.list_options(ctx(), &options_query(None, page(1, 3))).await.unwrap();
        assert_eq!(listed.rows.len(), 3, "{format:?}");
        assert!(listed.total_entries > 3, "{format:?}: {listed:?}");

        let size = client.get_option(ctx(), &SIZE_OPTION.parse().unwrap()).await.unwrap();
        assert_eq!(size.name, "Size", "{format:?}");
        assert_eq!(size.values.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["S", "M", "L", "XL"]);

        let name = format!("Adapter spec option {format:?}");
        let created = client
            .write_catalog(
                ctx(),
                &request(CatalogWrite::CreateOption(NewOption {
                    name: text(&name),
                    values: vec![
                        NewOptionValue { name: text("Low"), surcharge: money("1") },
                        NewOptionValue { name: text("High"), surcharge: money("2.5") },
                    ],
                })),
            )
            .await
            .unwrap();
        assert_eq!(created.message, "Option created successfully", "{format:?}");
        let option_id: OptionId = created.option_id.expect("the new option's id");
        let read = client.get_option(ctx(), &option_id).await.unwrap();
        let values: Vec<_> = read.values.iter().map(|v| (v.name.as_str(), v.surcharge)).collect();
        assert_eq!(values, [("Low", money("1.00")), ("High", money("2.50"))], "{format:?}: names pair with surcharges");
        let found = client.list_options(ctx(), &options_query(Some(&name), page(1, 20))).await.unwrap();
        assert_eq!(found.rows, std::slice::from_ref(&read), "{format:?}: the list and the detail agree");

        let updated = client
            .write_catalog(
                ctx(),
                &request(CatalogWrite::UpdateOption {
                    option_id: option_id.clone(),
                    name: text(&format!("{name} renamed")),
                    change: Some(OptionValueChange::Change {
                        value_id: read.values[0].value_id.clone(),
                        name: text("Lowest"),
                        surcharge: money("0.5"),
                    }),
                }),
            )
            .await
            .unwrap();
        assert_eq!(updated.message, "Option updated successfully", "{format:?}");
        let changed = client.get_option(ctx(), &option_id).await.unwrap();
        assert!(changed.name.ends_with("renamed"), "{format:?}");
        assert_eq!((changed.values[0].name.as_str(), changed.values[0].surcharge), ("Lowest", money("0.50")));

        let deleted = client
            .write_catalog(ctx(), &request(CatalogWrite::DeleteOption { option_id: option_id.clone() }))
            .await
            .unwrap();
        assert_eq!(deleted.message, "Option deleted successfully", "{format:?}");
        let gone = client.get_option(ctx(), &option_id).await.unwrap_err();
        assert_eq!(vendor_code(gone), AdminCode::RecordNotFound, "{format:?}");
    }
}

#[tokio::test]
async fn coupons_are_listed_read_created_updated_and_deleted_in_both_formats() {
    for (format, _simulator, client) in simulators(SimulatorConfig::default).await {
        let listed = client.list_coupons(ctx()).await.unwrap();
        assert_eq!(listed.iter().map(|c| c.code.as_str()).collect::<Vec<_>>(), SEEDED_COUPONS, "{format:?}");
        let save_june = client.get_coupon(ctx(), &"SAVEJUNE".parse().unwrap()).await.unwrap();
        let listed_june = listed.iter().find(|c| c.code.as_str() == "SAVEJUNE").unwrap();
        assert_eq!(
            (&save_june.date_expire, &save_june.coupon_type, save_june.value_off),
            (&listed_june.date_expire, &listed_june.coupon_type, listed_june.value_off),
            "{format:?}: the detail is the list entry plus its products"
        );
        assert!(save_june.product_ids.is_some() && listed_june.product_ids.is_none(), "{format:?}");

        let created = client
            .write_catalog(
                ctx(),
                &request(CatalogWrite::CreateCoupon(NewCoupon {
                    code: None,
                    date_expire: NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
                    coupon_type: CouponType::Shipping,
                    discount: None,
                    minimum_purchase: Some(money("1")),
                    products: None,
                })),
            )
            .await
            .unwrap();
        assert_eq!(created.message, "Coupon successfully created", "{format:?}");
        let code: CouponCode = created.coupon_code.expect("the generated code");
        let read = client.get_coupon(ctx(), &code).await.unwrap();
        assert_eq!((read.date_expire.as_str(), &read.coupon_type), ("2030-01-01", &CouponType::Shipping), "{format:?}");
        assert_eq!((read.minimum_purchase, read.product_ids.as_deref()), (Some(money("1.00")), Some(&[][..])));

        let updated = client
            .write_catalog(
                ctx(),
                &request(CatalogWrite::UpdateCoupon(CouponUpdate {
                    code: code.clone(),
                    new_code: None,
                    date_expire: Some(NaiveDate::from_ymd_opt(2030, 1, 2).unwrap()),
                    coupon_type: None,
                    discount: None,
                    minimum_purchase: None,
                    products: None,
                })),
            )
            .await
            .unwrap();
        assert_eq!(updated.message, "Coupon updated successfully", "{format:?}");
        assert_eq!(client.get_coupon(ctx(), &code).await.unwrap().date_expire, "2030-01-02", "{format:?}");

        let deleted =
            client.write_catalog(ctx(), &request(CatalogWrite::DeleteCoupon { code: code.clone() })).await.unwrap();
        assert_eq!(deleted.message, "Coupon successfully deleted.", "{format:?}");
        // The live API answers an unknown coupon FORBIDDEN, not RECORD_NOT_FOUND (the Perl suite).
        let gone = client.get_coupon(ctx(), &code).await.unwrap_err();
        assert_eq!(vendor_code(gone), AdminCode::Forbidden, "{format:?}");
        assert_eq!(client.list_coupons(ctx()).await.unwrap(), listed, "{format:?}");
    }
}

#[tokio::test]
async fn the_account_is_read_in_both_formats_without_its_secret_word() {
    const SECRET: &str = "adapter-spec-secret-word";
    let config = || SimulatorConfig { secret_word: SECRET.to_owned(), ..SimulatorConfig::default() };
    for (format, _simulator, client) in simulators(config).await {
        let seller_id = SimulatorConfig::default().seller_id;
        let company = client.company_info(ctx()).await.unwrap();
        assert_eq!(company.vendor_id, seller_id, "{format:?}");
        let shown = format!("{company:?} {}", serde_json::to_string(&company).unwrap());
        assert!(!shown.contains(SECRET), "{format:?}: the secret word was read: {shown}");
        let contact = client.contact_info(ctx()).await.unwrap();
        assert_eq!(contact.vendor_id, seller_id, "{format:?}");
        let pending = client.pending_payment(ctx()).await.unwrap();
        assert!(pending.release_level.is_some(), "{format:?}: {pending:?}");
        let payments = client.list_payments(ctx()).await.unwrap();
        assert!(!payments.is_empty(), "{format:?}: the seeded account has payouts");
        assert!(payments.iter().all(|p| !p.payment_id.is_empty()), "{format:?}");
    }
}

#[tokio::test]
async fn an_empty_account_lists_empty_pages_though_the_vendor_answers_400_record_not_found() {
    let config = || SimulatorConfig { empty_catalog: true, ..SimulatorConfig::default() };
    for (format, _simulator, client) in simulators(config).await {
        let asked = page(2, 7);
        let products = client.list_products(ctx(), &products_query(None, asked)).await.unwrap();
        assert_eq!(products, tco_gateway::domain::CatalogPage::empty(asked), "{format:?}");
        let options_query = ListOptionsQuery {
            option_name: None,
            option_value_name: None,
            page: asked,
            sort_column: None,
            sort_direction: None,
        };
        assert!(client.list_options(ctx(), &options_query).await.unwrap().rows.is_empty(), "{format:?}");
        assert!(client.list_coupons(ctx()).await.unwrap().is_empty(), "{format:?}");
        assert!(client.list_payments(ctx()).await.unwrap().is_empty(), "{format:?}");
        // A detail of nothing is still the vendor's refusal, not an empty record.
        let missing = client.get_product(ctx(), &DOCUMENTED_PRODUCT.parse::<ProductId>().unwrap()).await.unwrap_err();
        assert_eq!(vendor_code(missing), AdminCode::RecordNotFound, "{format:?}");
    }
}
