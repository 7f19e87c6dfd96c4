//! AccountService end to end, over the real gateway and the real simulator:
//! each read, the payouts paged, an account without payouts as an empty
//! page, and the INS secret word kept from every answer.

use prost::Message;
use tco_gateway::grpc::proto::{
    GetCompanyInfoRequest, GetContactInfoRequest, GetPendingPaymentRequest, ListPaymentsRequest,
    account_service_client::AccountServiceClient,
};
use tco_simulator::{DEFAULT_SECRET_WORD, Endpoint, SimulatorConfig};
use tonic::{Code, transport::Channel};

use crate::helpers::{TestApp, bad_request_field, expect_error, spawn_app, spawn_gateway, spawn_simulator_with};

fn account(app: &TestApp) -> AccountServiceClient<Channel> {
    AccountServiceClient::new(app.channel.clone())
}

#[tokio::test]
async fn company_and_contact_info_name_the_configured_account() {
    let app = spawn_app().await;
    let mut account = account(&app);
    let seller = SimulatorConfig::default().seller_id;
    let company = account.get_company_info(GetCompanyInfoRequest::default()).await.unwrap().into_inner();
    let company = company.company_info.unwrap();
    assert_eq!(company.vendor_id, seller);
    assert!(!company.currency_code.is_empty());
    let contact = account.get_contact_info(GetContactInfoRequest::default()).await.unwrap().into_inner();
    assert_eq!(contact.contact_info.unwrap().vendor_id, seller);
}

#[tokio::test]
async fn company_info_never_carries_the_ins_secret_word() {
    let app = spawn_app().await;
    let answer = account(&app).get_company_info(GetCompanyInfoRequest { fresh: true }).await.unwrap().into_inner();
    // 2Checkout's answer carries it (the simulator's too); the gateway's, in any field, must not.
    let bytes = answer.encode_to_vec();
    let word = DEFAULT_SECRET_WORD.as_bytes();
    assert!(!bytes.windows(word.len()).any(|w| w == word), "the secret word reached a caller");
    assert_eq!(app.simulator.request_count(Endpoint::DetailCompanyInfo), 1);
}

#[tokio::test]
async fn the_pending_payment_shows_its_money_as_decimal_strings() {
    let app = spawn_app().await;
    let answer = account(&app).get_pending_payment(GetPendingPaymentRequest::default()).await.unwrap().into_inner();
    let pending = answer.pending_payment.unwrap();
    assert_eq!(pending.release_level, "300", "what sandbox accounts answer");
    let decimal = |s: &str| s.split_once('.').is_some_and(|(_, cents)| cents.len() == 2);
    assert!(decimal(&pending.amount), "{pending:?}");
    assert!(pending.totals.is_some());
}

#[tokio::test]
async fn payouts_are_listed_and_paged_by_the_gateway() {
    let app = spawn_app().await;
    let mut account = account(&app);
    let all = account.list_payments(ListPaymentsRequest::default()).await.unwrap().into_inner();
    assert!(!all.payments.is_empty(), "a real account has payouts");
    let total = all.page_info.unwrap().total_entries;
    assert_eq!(usize::try_from(total).unwrap(), all.payments.len());
    let first = account.list_payments(ListPaymentsRequest { page: 1, page_size: 1, fresh: false }).await.unwrap();
    let first = first.into_inner();
    assert_eq!(first.payments.len(), 1);
    assert_eq!(first.payments[0].payment_id, all.payments[0].payment_id);
    let info = first.page_info.unwrap();
    assert_eq!((info.last_page, info.has_next_page), (total, total > 1));
    let status = account.list_payments(ListPaymentsRequest { page_size: 101, ..Default::default() }).await;
    let details = expect_error(&status.unwrap_err(), Code::InvalidArgument, "INVALID_FIELD");
    assert_eq!(bad_request_field(&details), "page_size");
}

#[tokio::test]
async fn an_account_without_payouts_is_an_empty_page_not_an_error() {
    let simulator = spawn_simulator_with(SimulatorConfig { empty_catalog: true, ..SimulatorConfig::default() }).await;
    let app = spawn_gateway(&simulator, &[]).await;
    let answer = account(&app).list_payments(ListPaymentsRequest::default()).await.unwrap().into_inner();
    assert!(answer.payments.is_empty());
    let info = answer.page_info.unwrap();
    assert_eq!((info.total_entries, info.last_page, info.has_next_page), (0, 0, false));
    assert_eq!(simulator.request_count(Endpoint::ListPayments), 1);
}
