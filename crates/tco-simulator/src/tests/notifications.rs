//! End-to-end tests of the Instant Notifications: a real simulator posts to a tiny axum receiver
//! on 127.0.0.1:0 that records every form and answers a scripted status. Tests wait on the
//! receiver's count or the simulator's delivery counters, never on the wall clock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use chrono::{DateTime, NaiveDateTime, Utc};
use tokio::sync::watch;

use super::*;

type Form = Vec<(String, String)>;

/// What the receiver saw and what it answers next.
#[derive(Default)]
struct Inbox {
    forms: Mutex<Vec<Form>>,
    /// Statuses for the next posts, in order; 200 once empty.
    script: Mutex<VecDeque<u16>>,
    count: Option<watch::Sender<usize>>,
}

struct Receiver {
    url: String,
    inbox: Arc<Inbox>,
    count: watch::Receiver<usize>,
}

impl Receiver {
    async fn start() -> Receiver {
        Receiver::answering(&[]).await
    }

    /// A receiver answering `statuses` to its first posts, then 200.
    async fn answering(statuses: &[u16]) -> Receiver {
        let (sender, count) = watch::channel(0);
        let inbox = Arc::new(Inbox {
            script: Mutex::new(statuses.iter().copied().collect()),
            count: Some(sender),
            ..Inbox::default()
        });
        let app = axum::Router::new().route("/ins", axum::routing::post(receive)).with_state(Arc::clone(&inbox));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/ins", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, inbox, count }
    }

    /// Waits until `n` posts arrived and returns all of them.
    async fn posts(&mut self, n: usize) -> Vec<Form> {
        tokio::time::timeout(Duration::from_secs(20), self.count.wait_for(|count| *count >= n))
            .await
            .unwrap_or_else(|_| panic!("{n} posts never arrived; got {:?}", self.inbox.forms.lock().unwrap()))
            .unwrap();
        self.inbox.forms.lock().unwrap().clone()
    }

    fn received(&self) -> usize {
        self.inbox.forms.lock().unwrap().len()
    }
}

async fn receive(State(inbox): State<Arc<Inbox>>, headers: axum::http::HeaderMap, body: String) -> AxumStatus {
    assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
    let form: Form = serde_urlencoded::from_str(&body).expect("a form-urlencoded body");
    let status = inbox.script.lock().unwrap().pop_front().unwrap_or(200);
    let mut forms = inbox.forms.lock().unwrap();
    forms.push(form);
    if let Some(count) = &inbox.count {
        count.send_replace(forms.len());
    }
    AxumStatus::from_u16(status).unwrap()
}

fn field<'a>(form: &'a Form, name: &str) -> &'a str {
    form.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str()).unwrap_or_else(|| {
        panic!("no {name} in {form:?}");
    })
}

fn has(form: &Form, name: &str) -> bool {
    form.iter().any(|(key, _)| key == name)
}

fn types(forms: &[Form]) -> Vec<&str> {
    forms.iter().map(|form| field(form, "message_type")).collect()
}

/// The documented verification: UPPER(hex(MD5(sale_id + vendor_id + invoice_id + secret))),
/// hashing the posted vendor_id (one family) which must also be the configured seller id (the
/// other family).
fn assert_signed(form: &Form) {
    assert_eq!(field(form, "vendor_id"), DEFAULT_SELLER_ID, "vendor_id is the account's seller id");
    let expected = md5_hash(field(form, "sale_id"), DEFAULT_SELLER_ID, field(form, "invoice_id"), DEFAULT_SECRET_WORD);
    assert_eq!(field(form, "md5_hash"), expected);
    assert!(expected.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
}

/// key_count is the number of keys posted, itself included, and each key appears once.
fn assert_key_count(form: &Form, expected: usize) {
    assert_eq!(form.len(), expected, "{form:?}");
    assert_eq!(field(form, "key_count"), expected.to_string());
    let mut keys: Vec<&str> = form.iter().map(|(key, _)| key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), form.len(), "duplicate keys");
}

const HEADER: [&str; 15] = [
    "message_type",
    "message_description",
    "timestamp",
    "md5_hash",
    "message_id",
    "key_count",
    "vendor_id",
    "sale_id",
    "sale_date_placed",
    "vendor_order_id",
    "invoice_id",
    "recurring",
    "payment_type",
    "list_currency",
    "cust_currency",
];
const INVOICE_LEVEL: [&str; 6] =
    ["auth_exp", "invoice_status", "fraud_status", "invoice_list_amount", "invoice_usd_amount", "invoice_cust_amount"];
const BUYER: [&str; 22] = [
    "customer_first_name",
    "customer_last_name",
    "customer_name",
    "customer_email",
    "customer_phone",
    "customer_ip",
    "customer_ip_country",
    "bill_street_address",
    "bill_street_address2",
    "bill_city",
    "bill_state",
    "bill_postal_code",
    "bill_country",
    "ship_status",
    "ship_tracking_number",
    "ship_name",
    "ship_street_address",
    "ship_street_address2",
    "ship_city",
    "ship_state",
    "ship_postal_code",
    "ship_country",
];
const ITEM: [&str; 12] = [
    "item_name",
    "item_id",
    "item_list_amount",
    "item_usd_amount",
    "item_cust_amount",
    "item_type",
    "item_duration",
    "item_recurrence",
    "item_rec_list_amount",
    "item_rec_status",
    "item_rec_date_next",
    "item_rec_install_billed",
];

/// The documented key set of a message with `items` items.
fn documented_keys(invoice_level: bool, items: usize) -> Vec<String> {
    let mut keys: Vec<String> = HEADER.iter().map(|key| (*key).to_owned()).collect();
    if invoice_level {
        keys.extend(INVOICE_LEVEL.iter().map(|key| (*key).to_owned()));
    }
    keys.extend(BUYER.iter().map(|key| (*key).to_owned()));
    keys.push("item_count".to_owned());
    for n in 1..=items {
        keys.extend(ITEM.iter().map(|key| format!("{key}_{n}")));
    }
    keys
}

fn keys(form: &Form) -> Vec<String> {
    form.iter().map(|(key, _)| key.clone()).collect()
}

fn at(text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("a timestamp").and_utc()
}

/// Retries fast, so a spec about retries takes milliseconds.
fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        first_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        timeout: Duration::from_secs(5),
    }
}

async fn simulator_notifying(receiver: &Receiver) -> Api {
    Api::start_with(SimulatorConfig {
        notify_url: Some(receiver.url.clone()),
        notify_retry: quick_retries(),
        clock_start: ClockStart::SeededDataEnd,
        generated_sales: 10,
        ..SimulatorConfig::default()
    })
    .await
}

impl Api {
    async fn form(&self, endpoint: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let request =
            self.http.post(self.url(endpoint)).basic_auth(USER, Some(PASSWORD)).header(ACCEPT, "application/json");
        read_json(request.form(form).send().await.expect("request")).await
    }

    async fn payment(&self, service: &str, body: &Value) -> Value {
        let url = format!("{}{DEFAULT_SELLER_ID}/rs/{service}", self.sim.payment_api_base_url());
        let (status, answer) = read_json(self.http.post(url).json(body).send().await.expect("request")).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer["response"].clone()
    }

    /// Tokenizes the approving card and authorizes `lines` (`demo` as given); the sale id.
    async fn buy(&self, lines: Value, demo: bool) -> String {
        let card = json!({
            "sellerId": DEFAULT_SELLER_ID, "publishableKey": DEFAULT_PUBLISHABLE_KEY,
            "ccNo": APPROVING_CARD, "expMonth": "12", "expYear": "2030", "cvv": "123",
        });
        let token = self.payment("tokenService", &card).await["token"]["token"].as_str().unwrap().to_owned();
        let order = json!({
            "sellerId": DEFAULT_SELLER_ID, "privateKey": DEFAULT_PRIVATE_KEY, "merchantOrderId": "order-77",
            "token": token, "currency": "USD", "lineItems": lines, "demo": demo,
            "billingAddr": {
                "name": "Craig P Christenson", "addrLine1": "123 Test St", "city": "Columbus", "state": "OH",
                "zipCode": "43123", "country": "USA", "email": "noreply@2co.com", "phoneNumber": "555-555-5555",
            },
        });
        self.payment("authService", &order).await["orderNumber"].as_str().unwrap().to_owned()
    }

    async fn ship_unshipped_tangible_sale(&self) {
        let form = [("invoice_id", UNSHIPPED_TANGIBLE_INVOICE_ID), ("tracking_number", "ZG7893748973")];
        let (status, body) = self.form("sales/mark_shipped", &form).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

fn two_lines() -> Value {
    json!([
        { "type": "product", "name": "Download", "productId": "ebook1", "price": "0.10", "tangible": "N",
          "recurrence": "1 Week", "duration": "Forever" },
        { "type": "product", "name": "Mug", "productId": "mug-1", "price": "12.50", "tangible": "Y" },
    ])
}

#[tokio::test]
async fn an_authorization_notifies_order_created_and_fraud_pass_then_invoice_deposited_at_capture() {
    let mut receiver = Receiver::start().await;
    let api = simulator_notifying(&receiver).await;
    // 12:00 UTC on 1 April 2026 is 08:00 EDT.
    api.sim.clock().set(at("2026-04-01 12:00:00"));
    let sale_id = api.buy(two_lines(), false).await;

    let forms = receiver.posts(2).await;
    assert_eq!(types(&forms), ["ORDER_CREATED", "FRAUD_STATUS_CHANGED"]);
    for (form, message_id) in forms.iter().zip(["1", "2"]) {
        assert_eq!(keys(form), documented_keys(true, 2), "invoice level, every item, in documented order");
        assert_key_count(form, 44 + 12 * 2);
        assert_signed(form);
        assert_eq!(field(form, "message_id"), message_id);
        assert_eq!(field(form, "sale_id"), sale_id);
        assert_eq!(field(form, "invoice_status"), "approved");
        assert_eq!(field(form, "fraud_status"), "pass");
        assert!(field(form, "timestamp").starts_with("2026-04-01 08:00:"), "{form:?}");
        assert!(field(form, "sale_date_placed").starts_with("2026-04-01 08:00:"));
        assert_eq!(field(form, "auth_exp"), "2026-04-08");
        assert_eq!(field(form, "vendor_order_id"), "order-77");
        assert_eq!(field(form, "recurring"), "1");
        assert_eq!(field(form, "payment_type"), "credit card");
        assert_eq!(field(form, "invoice_list_amount"), "12.60");
        assert_eq!(field(form, "customer_name"), "Craig P Christenson");
        assert_eq!(field(form, "customer_phone"), "5555555555");
        assert_eq!(field(form, "bill_country"), "USA");
        assert_eq!(field(form, "ship_status"), "not_shipped");
        assert_eq!(field(form, "item_id_1"), "ebook1");
        assert_eq!(field(form, "item_type_1"), "bill");
        assert_eq!(field(form, "item_recurrence_1"), "1 Week");
        assert_eq!(field(form, "item_duration_1"), "Forever");
        assert_eq!(field(form, "item_rec_status_1"), "live");
        assert_eq!(field(form, "item_rec_date_next_1"), "2026-04-08");
        assert_eq!(field(form, "item_rec_install_billed_1"), "1");
        assert_eq!(field(form, "item_list_amount_2"), "12.50");
        assert_eq!(field(form, "item_recurrence_2"), "");
    }
    assert_eq!(field(&forms[0], "message_description"), "New order created");

    // The capture 48 hours later deposits the invoice; moving the clock past it sends the rest.
    assert_eq!(receiver.received(), 2, "nothing more before the capture");
    api.sim.clock().advance(Duration::from_secs(49 * 3600));
    let forms = receiver.posts(3).await;
    let deposited = &forms[2];
    assert_eq!(field(deposited, "message_type"), "INVOICE_STATUS_CHANGED");
    assert_eq!(field(deposited, "invoice_status"), "deposited");
    assert_eq!(field(deposited, "message_id"), "3");
    assert_key_count(deposited, 68);
    assert_signed(deposited);
    // Dated when the capture was due: 48 hours after placement, in Eastern time.
    assert!(field(deposited, "timestamp").starts_with("2026-04-03 08:00:"), "{deposited:?}");
    let (_, detail) = api.detail(&[("sale_id", sale_id.as_str())]).await;
    assert_eq!(detail["sale"]["invoices"][0]["status"], "deposited");
}

#[tokio::test]
async fn a_line_refund_notifies_refund_issued_for_the_refund_item_with_the_refunded_amount() {
    let mut receiver = Receiver::start().await;
    let api = simulator_notifying(&receiver).await;
    let form = [
        ("lineitem_id", REFUNDABLE_LINEITEM_IDS[0]),
        ("amount", "5.00"),
        ("currency", "usd"),
        ("category", "5"),
        ("comment", "partial"),
    ];
    let (status, body) = api.form("sales/refund_lineitem", &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let forms = receiver.posts(1).await;
    let refund = &forms[0];
    assert_eq!(field(refund, "message_type"), "REFUND_ISSUED");
    assert_eq!(field(refund, "message_description"), "Refund issued");
    assert_eq!(keys(refund), documented_keys(false, 1), "item level: no invoice fields, one item");
    assert_key_count(refund, 50);
    assert_signed(refund);
    assert_eq!(field(refund, "sale_id"), REFUNDABLE_SALE_ID);
    assert_eq!(field(refund, "invoice_id"), REFUNDABLE_INVOICE_ID);
    assert_eq!(field(refund, "item_type_1"), "refund");
    assert_eq!(field(refund, "item_id_1"), "EBOOK-RUST-01");
    assert_eq!(field(refund, "item_usd_amount_1"), "5.00");
    assert_eq!(field(refund, "item_list_amount_1"), "5.00");
    // The buyer's currency is 92 % of USD on this invoice: 5.00 × 32.18 / 34.98 = 4.60.
    assert_eq!(field(refund, "item_cust_amount_1"), "4.60");
    assert!(!has(refund, "invoice_status"));
}

#[tokio::test]
async fn an_invoice_refund_notifies_what_was_left() {
    let mut receiver = Receiver::start().await;
    let api = simulator_notifying(&receiver).await;
    let form = [("invoice_id", REFUNDABLE_INVOICE_ID), ("category", "5"), ("comment", "all of it")];
    let (status, body) = api.form("sales/refund_invoice", &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let forms = receiver.posts(1).await;
    assert_eq!(field(&forms[0], "message_type"), "REFUND_ISSUED");
    assert_eq!(field(&forms[0], "item_type_1"), "refund");
    assert_eq!(field(&forms[0], "item_usd_amount_1"), "34.98");
    assert_eq!(field(&forms[0], "item_cust_amount_1"), "32.18");
}

#[tokio::test]
async fn shipping_and_stopping_notify_their_invoice_and_their_item() {
    let mut receiver = Receiver::start().await;
    let api = simulator_notifying(&receiver).await;
    api.ship_unshipped_tangible_sale().await;
    let (status, body) =
        api.form("sales/stop_lineitem_recurring", &[("lineitem_id", ACTIVE_RECURRING_LINEITEM_ID)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let forms = receiver.posts(2).await;
    let shipped = &forms[0];
    assert_eq!(field(shipped, "message_type"), "SHIP_STATUS_CHANGED");
    assert_eq!(field(shipped, "ship_status"), "shipped");
    assert_eq!(field(shipped, "ship_tracking_number"), "ZG7893748973");
    assert_eq!(field(shipped, "invoice_id"), UNSHIPPED_TANGIBLE_INVOICE_ID);
    assert_key_count(shipped, 56);
    assert_signed(shipped);

    let stopped = &forms[1];
    assert_eq!(field(stopped, "message_type"), "RECURRING_STOPPED");
    assert_eq!(field(stopped, "sale_id"), ACTIVE_RECURRING_SALE_ID);
    assert_eq!(field(stopped, "invoice_id"), ACTIVE_RECURRING_INVOICE_IDS[1]);
    assert_eq!(field(stopped, "item_rec_status_1"), "canceled");
    assert_eq!(field(stopped, "item_rec_date_next_1"), "");
    assert_eq!(field(stopped, "item_id_1"), "SAAS-PRO-M");
    assert_key_count(stopped, 50);
    assert_signed(stopped);
}

#[tokio::test]
async fn recurring_notifications_nothing_triggers_are_sent_on_request() {
    let mut receiver = Receiver::start().await;
    let api = simulator_notifying(&receiver).await;
    api.sim.send_recurring_notification(RecurringNotice::InstallmentSuccess, ACTIVE_RECURRING_LINEITEM_ID).unwrap();
    let forms = receiver.posts(1).await;
    assert_eq!(field(&forms[0], "message_type"), "RECURRING_INSTALLMENT_SUCCESS");
    assert_eq!(field(&forms[0], "message_description"), "Recurring installment successfully billed");
    assert_eq!(field(&forms[0], "item_rec_status_1"), "live");
    assert_key_count(&forms[0], 50);
    assert_eq!(
        api.sim.send_recurring_notification(RecurringNotice::Complete, "1"),
        Err(NoSuchLineItem),
        "an unknown line is refused"
    );
}

#[tokio::test]
async fn a_demo_sale_notifies_nothing() {
    let mut receiver = Receiver::start().await;
    let api = simulator_notifying(&receiver).await;
    api.buy(two_lines(), true).await;
    // Queueing happens before the answer, so nothing queued now means nothing will be.
    assert_eq!(api.sim.delivery_stats().queued, 0);
    // A later message is the first the receiver ever sees.
    api.ship_unshipped_tangible_sale().await;
    let forms = receiver.posts(1).await;
    assert_eq!(types(&forms), ["SHIP_STATUS_CHANGED"]);
    assert_eq!(field(&forms[0], "message_id"), "1");
}

#[tokio::test]
async fn without_a_notify_url_nothing_is_sent_until_one_is_set() {
    let mut receiver = Receiver::start().await;
    let api = Api::start_with(SimulatorConfig {
        clock_start: ClockStart::SeededDataEnd,
        generated_sales: 10,
        notify_retry: quick_retries(),
        ..SimulatorConfig::default()
    })
    .await;
    let stop = [("lineitem_id", ACTIVE_RECURRING_LINEITEM_ID)];
    assert_eq!(api.form("sales/stop_lineitem_recurring", &stop).await.0, StatusCode::OK);
    assert_eq!(api.sim.delivery_stats(), DeliveryStats::default());

    api.sim.set_notify_url(Some(receiver.url.clone()));
    assert_eq!(api.sim.notify_url().as_deref(), Some(receiver.url.as_str()));
    api.ship_unshipped_tangible_sale().await;
    let forms = receiver.posts(1).await;
    assert_eq!(types(&forms), ["SHIP_STATUS_CHANGED"]);
    assert_eq!(field(&forms[0], "message_id"), "1");
}

#[tokio::test]
async fn a_refused_delivery_is_retried_until_acknowledged() {
    let mut receiver = Receiver::answering(&[500, 500]).await;
    let api = simulator_notifying(&receiver).await;
    let mut deliveries = api.sim.watch_deliveries();
    api.ship_unshipped_tangible_sale().await;

    let forms = receiver.posts(3).await;
    assert_eq!(forms[0], forms[2], "the same message each time");
    let stats = *deliveries.wait_for(|stats| stats.acknowledged == 1).await.unwrap();
    assert_eq!(
        stats,
        DeliveryStats { queued: 1, attempts: 3, acknowledged: 1, failed_attempts: 2, abandoned: 0, dropped: 0 }
    );
    let log = api.sim.delivery_log();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].attempts, log[0].outcome), (3, DeliveryOutcome::Acknowledged));
    assert_eq!(log[0].fields, forms[2]);
}

#[tokio::test]
async fn a_delivery_failing_every_attempt_is_abandoned_and_the_next_one_still_goes() {
    let mut receiver = Receiver::answering(&[503, 503, 503, 503]).await;
    let api = simulator_notifying(&receiver).await;
    let mut deliveries = api.sim.watch_deliveries();
    api.ship_unshipped_tangible_sale().await;
    api.sim.send_recurring_notification(RecurringNotice::Restarted, ACTIVE_RECURRING_LINEITEM_ID).unwrap();

    let forms = receiver.posts(5).await;
    assert_eq!(types(&forms)[4], "RECURRING_RESTARTED");
    let stats = *deliveries.wait_for(|stats| stats.acknowledged == 1).await.unwrap();
    assert_eq!((stats.abandoned, stats.failed_attempts, stats.attempts), (1, 4, 5));
    let outcomes: Vec<_> = api.sim.delivery_log().iter().map(|record| record.outcome).collect();
    assert_eq!(outcomes, [DeliveryOutcome::Abandoned, DeliveryOutcome::Acknowledged]);
}

#[tokio::test]
async fn a_drop_fault_loses_the_next_message_for_good() {
    let mut receiver = Receiver::start().await;
    let api = simulator_notifying(&receiver).await;
    api.sim.inject_delivery_fault(DeliveryFault::Drop(1));
    api.ship_unshipped_tangible_sale().await;
    api.sim.send_recurring_notification(RecurringNotice::InstallmentFailed, ACTIVE_RECURRING_LINEITEM_ID).unwrap();

    let forms = receiver.posts(1).await;
    assert_eq!(types(&forms), ["RECURRING_INSTALLMENT_FAILED"]);
    assert_eq!(field(&forms[0], "message_id"), "2", "the lost message's id is not reused");
    let stats = *api.sim.watch_deliveries().wait_for(|stats| stats.acknowledged == 1).await.unwrap();
    assert_eq!((stats.dropped, stats.queued), (1, 2));
    assert_eq!(receiver.received(), 1);
}

#[tokio::test]
async fn a_duplicate_fault_posts_the_same_message_twice() {
    let mut receiver = Receiver::start().await;
    let api = simulator_notifying(&receiver).await;
    api.sim.inject_delivery_fault(DeliveryFault::Duplicate(1));
    api.ship_unshipped_tangible_sale().await;
    api.sim.send_recurring_notification(RecurringNotice::Complete, ACTIVE_RECURRING_LINEITEM_ID).unwrap();

    let forms = receiver.posts(3).await;
    assert_eq!(types(&forms), ["SHIP_STATUS_CHANGED", "SHIP_STATUS_CHANGED", "RECURRING_COMPLETE"]);
    assert_eq!(forms[0], forms[1]);
}

#[tokio::test]
async fn a_swap_fault_delivers_the_next_two_messages_in_reverse_order() {
    let mut receiver = Receiver::start().await;
    let api = simulator_notifying(&receiver).await;
    api.sim.inject_delivery_fault(DeliveryFault::SwapNextTwo);
    api.ship_unshipped_tangible_sale().await;
    api.sim.send_recurring_notification(RecurringNotice::Complete, ACTIVE_RECURRING_LINEITEM_ID).unwrap();
    api.sim.send_recurring_notification(RecurringNotice::Restarted, ACTIVE_RECURRING_LINEITEM_ID).unwrap();

    let forms = receiver.posts(3).await;
    assert_eq!(types(&forms), ["RECURRING_COMPLETE", "SHIP_STATUS_CHANGED", "RECURRING_RESTARTED"]);
    let ids: Vec<&str> = forms.iter().map(|form| field(form, "message_id")).collect();
    assert_eq!(ids, ["2", "1", "3"]);
}

#[tokio::test]
async fn a_delay_fault_holds_the_message_for_the_delay() {
    let mut receiver = Receiver::start().await;
    let api = simulator_notifying(&receiver).await;
    let delay = Duration::from_millis(300);
    api.sim.inject_delivery_fault(DeliveryFault::Delay { delay, times: 1 });
    let started = std::time::Instant::now();
    api.ship_unshipped_tangible_sale().await;
    receiver.posts(1).await;
    // A lower bound only: however slow the machine, the message cannot arrive early.
    assert!(started.elapsed() >= delay, "held for the whole delay");
}

#[tokio::test]
async fn the_api_answer_never_waits_for_a_delivery() {
    let receiver = Receiver::start().await;
    let api = simulator_notifying(&receiver).await;
    api.sim.inject_delivery_fault(DeliveryFault::Delay { delay: Duration::from_secs(3600), times: 1 });
    // Answered although the message is held for an hour.
    api.ship_unshipped_tangible_sale().await;
    let stats = api.sim.delivery_stats();
    assert_eq!((stats.queued, stats.acknowledged), (1, 0));
    assert_eq!(receiver.received(), 0);
}

#[test]
fn the_secret_word_is_hidden_from_debug() {
    let config = SimulatorConfig { secret_word: "s3cr3t-w0rd".to_owned(), ..SimulatorConfig::default() };
    let shown = format!("{config:?}");
    assert!(!shown.contains("s3cr3t-w0rd"), "{shown}");
    assert_eq!(SimulatorConfig::default().secret_word, DEFAULT_SECRET_WORD);
}
