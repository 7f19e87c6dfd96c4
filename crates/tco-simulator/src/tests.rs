//! End-to-end tests: each starts a real simulator on 127.0.0.1:0 and talks to it with reqwest,
//! asserting against fixed facts of the reference and of the default seed.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, WWW_AUTHENTICATE};
use serde_json::{Value, json};

use super::records::Money;
use super::store::{SaleFilter, SaleLookup, Store};
use super::*;

const USER: &str = "sim-api-user";
const PASSWORD: &str = "sim-api-pass";
const FIXTURE: &str = include_str!("fixtures/detail_sale_4647892238.json");
/// Own-vendor sales with the default configuration: the documented one and 300 generated.
const DEFAULT_TOTAL: usize = 301;

struct Api {
    sim: RunningSimulator,
    http: reqwest::Client,
}

impl Api {
    async fn start() -> Api {
        Api::start_with(SimulatorConfig::default()).await
    }

    async fn start_with(config: SimulatorConfig) -> Api {
        let sim = RunningSimulator::start(config).await.expect("simulator starts");
        Api { sim, http: reqwest::Client::new() }
    }

    fn url(&self, endpoint: &str) -> String {
        format!("{}{endpoint}", self.sim.admin_api_base_url())
    }

    fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> reqwest::RequestBuilder {
        self.http
            .get(self.url(endpoint))
            .query(query)
            .basic_auth(USER, Some(PASSWORD))
            .header(ACCEPT, "application/json")
    }

    async fn json(&self, endpoint: &str, query: &[(&str, &str)]) -> (StatusCode, Value) {
        read_json(self.get(endpoint, query).send().await.expect("request")).await
    }

    async fn detail(&self, query: &[(&str, &str)]) -> (StatusCode, Value) {
        self.json("sales/detail_sale", query).await
    }

    async fn list(&self, query: &[(&str, &str)]) -> (StatusCode, Value) {
        self.json("sales/list_sales", query).await
    }

    /// `total_entries` of a listing, 0 when it answers RECORD_NOT_FOUND.
    async fn total(&self, query: &[(&str, &str)]) -> usize {
        let (status, body) = self.list(query).await;
        if status == StatusCode::BAD_REQUEST {
            assert_eq!(body, record_not_found(), "query {query:?}");
            return 0;
        }
        assert_eq!(status, StatusCode::OK, "query {query:?}: {body}");
        body["page_info"]["total_entries"]
            .as_str()
            .and_then(|total| total.parse().ok())
            .expect("total_entries is a numeric string")
    }

    /// Every row of a listing, walking the pages 100 at a time.
    async fn all_rows(&self, query: &[(&str, &str)]) -> Vec<Value> {
        let mut rows = Vec::new();
        for page in 1.. {
            let page = page.to_string();
            let mut params = query.to_vec();
            params.extend([("pagesize", "100"), ("cur_page", page.as_str())]);
            let (status, body) = self.list(&params).await;
            if status != StatusCode::OK {
                break;
            }
            rows.extend(body["sale_summary"].as_array().cloned().unwrap_or_default());
        }
        rows
    }

    async fn sale(&self, sale_id: &str) -> Value {
        let (status, body) = self.detail(&[("sale_id", sale_id)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["sale"].clone()
    }
}

async fn read_json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.json().await.expect("JSON body");
    (status, body)
}

fn error(code: &str, message: &str, parameter: Option<&str>) -> Value {
    let mut item = json!({ "code": code, "message": message });
    if let Some(parameter) = parameter {
        item["parameter"] = json!(parameter);
    }
    json!({ "errors": [item] })
}

fn record_not_found() -> Value {
    error("RECORD_NOT_FOUND", "Unable to find record.", None)
}

fn invalid(parameter: &str) -> Value {
    error("PARAMETER_INVALID", &format!("Invalid value for parameter: {parameter}"), Some(parameter))
}

fn sale_ids(rows: &[Value]) -> Vec<String> {
    rows.iter().map(|row| row["sale_id"].as_str().unwrap_or_default().to_owned()).collect()
}

fn line_items(sale: &Value) -> Vec<Value> {
    sale["invoices"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|invoice| invoice["lineitems"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// Checks the XML is well formed and returns the names of the root's direct children.
fn xml_root_children(text: &str) -> (String, Vec<String>) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut depth = 0;
    let mut root = String::new();
    let mut children = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(element) => {
                let name = element.name().as_ref().to_owned();
                assert!(element.attributes().next().is_none(), "no attributes");
                match depth {
                    0 => root = name,
                    1 => children.push(name),
                    _ => {}
                }
                depth += 1;
            }
            Event::Empty(element) if depth == 1 => {
                children.push(element.name().as_ref().to_owned());
            }
            Event::End(_) => depth -= 1,
            Event::Eof => break,
            _ => {}
        }
    }
    (root, children)
}

// ---------------------------------------------------------------- detail_sale

#[tokio::test]
async fn documented_sale_detail_equals_the_reference_example_exactly() {
    let api = Api::start().await;
    let (status, body) = api.detail(&[("sale_id", DOCUMENTED_SALE_ID)]).await;
    assert_eq!(status, StatusCode::OK);
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    assert_eq!(body, fixture);
}

#[test]
fn sale_records_round_trip_the_documented_example() {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let sale = seed::documented_sale().expect("fixture parses into the records");
    assert_eq!(serde_json::to_value(&sale).unwrap(), fixture["sale"]);
}

#[test]
fn sale_records_refuse_unknown_keys() {
    let mut sale: Value = serde_json::from_str::<Value>(FIXTURE).unwrap()["sale"].clone();
    sale["surprise"] = json!("x");
    assert!(serde_json::from_value::<records::Sale>(sale).is_err());
}

#[test]
fn money_is_written_with_two_decimals_and_parsed_strictly() {
    assert_eq!(Money::from_cents(153).to_string(), "1.53");
    assert_eq!(Money::from_cents(-5).to_string(), "-0.05");
    assert_eq!("1.53".parse::<Money>().unwrap().cents(), 153);
    for bad in ["1.5", "1", ".53", "1.530", "a.bc", "", "1,53"] {
        assert!(bad.parse::<Money>().is_err(), "{bad}");
    }
}

#[tokio::test]
async fn detail_sale_by_invoice_id_shows_only_that_invoice() {
    let api = Api::start().await;
    let (status, body) = api.detail(&[("invoice_id", DOCUMENTED_INVOICE_IDS[1])]).await;
    assert_eq!(status, StatusCode::OK);
    let invoices = body["sale"]["invoices"].as_array().unwrap();
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0]["invoice_id"], DOCUMENTED_INVOICE_IDS[1]);
    assert_eq!(body["sale"]["sale_id"], DOCUMENTED_SALE_ID);

    let (status, body) =
        api.detail(&[("sale_id", DOCUMENTED_SALE_ID), ("invoice_id", DOCUMENTED_INVOICE_IDS[0])]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["sale"]["invoices"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn detail_sale_with_an_invoice_of_another_sale_is_record_not_found() {
    let api = Api::start().await;
    let (status, body) = api.detail(&[("sale_id", REFUNDED_SALE_ID), ("invoice_id", DOCUMENTED_INVOICE_IDS[0])]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, record_not_found());
}

#[tokio::test]
async fn detail_sale_without_ids_is_parameter_missing_sale_or_invoice_id() {
    let api = Api::start().await;
    for query in [&[][..], &[("sale_id", "")][..]] {
        let (status, body) = api.detail(query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            error("PARAMETER_MISSING", "Required parameter missing: sale_or_invoice_id", Some("sale_or_invoice_id"))
        );
    }
}

#[tokio::test]
async fn detail_sale_with_non_numeric_ids_is_parameter_invalid() {
    let api = Api::start().await;
    let (status, body) = api.detail(&[("sale_id", "12ab")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, invalid("sale_id"));
    let (_, body) = api.detail(&[("invoice_id", "-1")]).await;
    assert_eq!(body, invalid("invoice_id"));
}

#[tokio::test]
async fn detail_sale_of_an_unknown_sale_is_record_not_found() {
    let api = Api::start().await;
    for query in
        [[("sale_id", "1234567890")], [("invoice_id", "1234567890")], [("sale_id", "99999999999999999999999999")]]
    {
        let (status, body) = api.detail(&query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body, record_not_found());
    }
}

#[tokio::test]
async fn detail_sale_of_a_foreign_vendor_sale_is_forbidden() {
    let api = Api::start().await;
    for query in [[("sale_id", FOREIGN_SALE_ID)], [("invoice_id", FOREIGN_INVOICE_ID)]] {
        let (status, body) = api.detail(&query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body, error("FORBIDDEN", "Access denied to sale.", None));
    }
}

#[tokio::test]
async fn detail_sale_in_xml_has_one_root_repeated_arrays_and_empty_nulls() {
    let api = Api::start().await;
    let response = api
        .http
        .get(api.url("sales/detail_sale"))
        .query(&[("sale_id", DOCUMENTED_SALE_ID)])
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/xml");
    let text = response.text().await.unwrap();
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let (root, children) = xml_root_children(&text);
    assert_eq!(root, "response");
    assert_eq!(children, ["response_code", "response_message", "sale"]);
    assert!(text.contains("<response_code>OK</response_code>"));
    assert!(text.contains("<response_message>Sale detail retrieved</response_message>"));
    assert_eq!(text.matches("<invoices>").count(), 2);
    assert_eq!(text.matches("<lineitems>").count(), 4);
    assert_eq!(text.matches("<comments>").count(), 2);
    assert!(!text.contains("<options"), "an empty array emits nothing");
    assert!(text.contains("<address_2/>"));
    assert!(text.contains("<phone_ext></phone_ext>"), "empty string is not null");
    assert!(text.contains("<area_code>740</area_code>"));
    assert!(text.contains("<cardholder_name>Testing  Tester</cardholder_name>"));
}

#[tokio::test]
async fn xml_text_is_escaped() {
    let api = Api::start().await;
    let response = api
        .http
        .get(api.url("sales/detail_sale"))
        .query(&[("sale_id", REFUNDED_SALE_ID)])
        .basic_auth(USER, Some(PASSWORD))
        .header(ACCEPT, "application/xml")
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    xml_root_children(&text);
    // Default seed: sale 0 sold the "Desktop license <single seat>".
    assert!(text.contains("<product_name>Desktop license &lt;single seat&gt;</product_name>"));
}

#[tokio::test]
async fn errors_in_xml_are_http_400_errors_elements() {
    let api = Api::start().await;
    let response = api.http.get(api.url("sales/detail_sale")).basic_auth(USER, Some(PASSWORD)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/xml");
    let text = response.text().await.unwrap();
    assert_eq!(
        text,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response><errors><code>PARAMETER_MISSING</code>\
         <message>Required parameter missing: sale_or_invoice_id</message>\
         <parameter>sale_or_invoice_id</parameter></errors></response>\n"
    );
}

// ---------------------------------------------------------------- transport and auth

#[tokio::test]
async fn requests_without_valid_credentials_get_a_basic_2co_api_challenge() {
    let api = Api::start().await;
    let url = api.url("sales/detail_sale?sale_id=4647892238");
    let attempts = [
        api.http.get(&url),
        api.http.get(&url).basic_auth(USER, Some("wrong")),
        api.http.get(&url).basic_auth("someone", Some(PASSWORD)),
        api.http.get(&url).header(AUTHORIZATION, "Basic !!!not-base64"),
        api.http.get(&url).header(AUTHORIZATION, "Basic c2ltLWFwaS11c2Vy"), // no colon
        api.http.get(&url).header(AUTHORIZATION, "Bearer token"),
        api.http.get(&url).header(AUTHORIZATION, "Basic"),
        api.http.get(&url).header(AUTHORIZATION, &b"Basic \xff\xfe"[..]),
    ];
    for attempt in attempts {
        let response = attempt.header(ACCEPT, "application/json").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[WWW_AUTHENTICATE], "Basic realm=\"2CO API\"");
        let (_, body) = read_json(response).await;
        assert_eq!(body["errors"][0]["code"], "UNAUTHORIZED");
    }
    assert_eq!(api.sim.request_count(Endpoint::DetailSale), 8);
}

#[tokio::test]
async fn json_is_chosen_only_when_accept_mentions_application_json() {
    let api = Api::start().await;
    let request = |accept: &str| {
        api.http
            .get(api.url("sales/detail_sale"))
            .query(&[("sale_id", DOCUMENTED_SALE_ID)])
            .basic_auth(USER, Some(PASSWORD))
            .header(ACCEPT, accept)
            .send()
    };
    let json = request("text/plain, Application/JSON;q=0.9").await.unwrap();
    assert_eq!(json.headers()[CONTENT_TYPE], "application/json");
    let html = request("text/html").await.unwrap();
    assert_eq!(html.headers()[CONTENT_TYPE], "application/xml");
}

fn multipart_body(fields: &[(&str, &str)], boundary: &str) -> String {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    body
}

#[tokio::test]
async fn get_post_form_and_post_multipart_give_the_same_answer() {
    let api = Api::start().await;
    let cases: [(&str, &[(&str, &str)]); 2] = [
        ("sales/detail_sale", &[("sale_id", DOCUMENTED_SALE_ID)]),
        ("sales/list_sales", &[("customer_email", "example.org"), ("sort_col", "usd_total"), ("pagesize", "5")]),
    ];
    for (endpoint, params) in cases {
        let (get_status, by_get) = api.json(endpoint, params).await;
        assert_eq!(get_status, StatusCode::OK);
        let form = api
            .http
            .post(api.url(endpoint))
            .basic_auth(USER, Some(PASSWORD))
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(params).unwrap())
            .send()
            .await
            .unwrap();
        let (form_status, by_form) = read_json(form).await;
        let boundary = "----simboundary42";
        let multipart = api
            .http
            .post(api.url(endpoint))
            .basic_auth(USER, Some(PASSWORD))
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .body(multipart_body(params, boundary))
            .send()
            .await
            .unwrap();
        let (multipart_status, by_multipart) = read_json(multipart).await;
        assert_eq!((form_status, multipart_status), (StatusCode::OK, StatusCode::OK));
        assert_eq!(by_get, by_form, "{endpoint} form");
        assert_eq!(by_get, by_multipart, "{endpoint} multipart");
    }
}

#[tokio::test]
async fn query_and_body_parameters_are_merged() {
    let api = Api::start().await;
    let response = api
        .http
        .post(api.url("sales/list_sales?refunded=1"))
        .basic_auth(USER, Some(PASSWORD))
        .header(ACCEPT, "application/json")
        .form(&[("active_recurrings", "1")])
        .send()
        .await
        .unwrap();
    let (status, body) = read_json(response).await;
    assert_eq!(status, StatusCode::OK);
    let both = api.total(&[("refunded", "1"), ("active_recurrings", "1")]).await;
    assert_eq!(body["page_info"]["total_entries"], both.to_string());
}

#[tokio::test]
async fn an_unreadable_multipart_body_is_parameter_invalid_not_a_crash() {
    let api = Api::start().await;
    let response = api
        .http
        .post(api.url("sales/detail_sale"))
        .basic_auth(USER, Some(PASSWORD))
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "multipart/form-data; boundary=x")
        .body("garbage without any boundary")
        .send()
        .await
        .unwrap();
    let (status, body) = read_json(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, invalid("request_body"));
}

#[tokio::test]
async fn unknown_paths_are_404_with_an_errors_body_and_other_verbs_405() {
    let api = Api::start().await;
    let response = api
        .http
        .get(api.url("sales/no_such_call"))
        .basic_auth(USER, Some(PASSWORD))
        .header(ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    let (status, body) = read_json(response).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["errors"][0]["code"], "NOT_FOUND");

    let response = api
        .http
        .delete(api.url("sales/detail_sale"))
        .basic_auth(USER, Some(PASSWORD))
        .header(ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(api.sim.request_count(Endpoint::DetailSale), 1);
}

// ---------------------------------------------------------------- list_sales

#[tokio::test]
async fn list_sales_first_page_has_the_documented_page_info_shape() {
    let api = Api::start().await;
    let (status, body) = api.list(&[]).await;
    assert_eq!(status, StatusCode::OK);
    let origin = format!("http://{}", api.sim.local_addr());
    let list_url = format!("{origin}/api/sales/list_sales");
    assert_eq!(
        body["page_info"],
        json!({
            "cur_page": "1",
            "first_entry": 1,
            "first_page": 1,
            "first_page_url": format!("{list_url}?cur_page=1"),
            "last_entry": "20",
            "last_page": 16,
            "last_page_url": format!("{list_url}?cur_page=16"),
            "next_page": format!("{list_url}?cur_page=2"),
            "pagesize": "20",
            "previous_page": null,
            "total_entries": "301",
        })
    );
    assert_eq!(body["response_code"], "OK");
    assert_eq!(body["response_message"], "Sales summaries retrieved successfully.");
    let rows = body["sale_summary"].as_array().unwrap();
    assert_eq!(rows.len(), 20);
    // Default order: sale_id DESC, so the last generated sale comes first.
    assert_eq!(rows[0]["sale_id"], "9100299000");
    let keys: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "customer_name",
            "date_placed",
            "decline_code",
            "recurring",
            "recurring_declined",
            "sale_id",
            "sale_url",
            "usd_total"
        ]
    );
}

#[tokio::test]
async fn documented_sale_summary_row_matches_its_detail() {
    let api = Api::start().await;
    let (status, body) = api.list(&[("sale_id", DOCUMENTED_SALE_ID)]).await;
    assert_eq!(status, StatusCode::OK);
    let origin = format!("http://{}", api.sim.local_addr());
    assert_eq!(
        body["sale_summary"],
        json!([{
            "customer_name": "Testing  Tester",
            "date_placed": "2012-02-29",
            "decline_code": null,
            "recurring": "1",
            "recurring_declined": null,
            "sale_id": DOCUMENTED_SALE_ID,
            "sale_url": format!("{origin}/api/sales/detail_sale?sale_id={DOCUMENTED_SALE_ID}"),
            "usd_total": "3.06",
        }])
    );
}

#[tokio::test]
async fn page_urls_use_the_request_host_and_keep_the_other_parameters() {
    let api = Api::start().await;
    let (status, body) = read_json(
        api.get("sales/list_sales", &[("refunded", "1"), ("cur_page", "2"), ("pagesize", "7")])
            .header(HOST, "gateway.test:8443")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let page_info = &body["page_info"];
    let base = "http://gateway.test:8443/api/sales/list_sales";
    assert_eq!(page_info["previous_page"], format!("{base}?cur_page=1&refunded=1&pagesize=7"));
    assert_eq!(page_info["next_page"], format!("{base}?cur_page=3&refunded=1&pagesize=7"));
    assert_eq!(page_info["last_page_url"], format!("{base}?cur_page=8&refunded=1&pagesize=7"));
    assert_eq!(page_info["first_entry"], 8);
    assert_eq!(page_info["last_entry"], "14");
    let sale_url = body["sale_summary"][0]["sale_url"].as_str().unwrap();
    assert!(sale_url.starts_with("http://gateway.test:8443/api/sales/detail_sale?sale_id="));
}

#[tokio::test]
async fn last_page_is_partial_and_a_page_past_it_is_record_not_found() {
    let api = Api::start().await;
    let (status, body) = api.list(&[("cur_page", "16")]).await;
    assert_eq!(status, StatusCode::OK);
    let page_info = &body["page_info"];
    assert_eq!(page_info["first_entry"], 301);
    assert_eq!(page_info["last_entry"], "301");
    assert_eq!(page_info["next_page"], Value::Null);
    assert!(page_info["previous_page"].as_str().unwrap().ends_with("?cur_page=15"));
    assert_eq!(body["sale_summary"].as_array().unwrap().len(), 1);

    for page in ["17", "18446744073709551615", "99999999999999999999999999"] {
        let (status, body) = api.list(&[("cur_page", page)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "page {page}");
        assert_eq!(body, record_not_found());
    }
}

#[tokio::test]
async fn walking_all_pages_yields_every_sale_once() {
    let api = Api::start().await;
    let rows = api.all_rows(&[("sort_col", "date_placed")]).await;
    let mut ids = sale_ids(&rows);
    assert_eq!(ids.len(), DEFAULT_TOTAL);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), DEFAULT_TOTAL);
}

#[tokio::test]
async fn pagesize_and_cur_page_are_validated() {
    let api = Api::start().await;
    for size in ["0", "101", "abc", "-5", "1.5", "99999999999999999999999"] {
        let (status, body) = api.list(&[("pagesize", size)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "pagesize {size}");
        assert_eq!(body, invalid("pagesize"));
    }
    for page in ["0", "x", "-1"] {
        let (_, body) = api.list(&[("cur_page", page)]).await;
        assert_eq!(body, invalid("cur_page"), "cur_page {page}");
    }
    let (status, body) = api.list(&[("pagesize", "100")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["page_info"]["last_page"], 4);
    let (_, body) = api.list(&[("pagesize", "1")]).await;
    assert_eq!(body["page_info"]["last_page"], 301);
}

#[tokio::test]
async fn sort_col_and_sort_dir_are_validated() {
    let api = Api::start().await;
    let (status, body) = api.list(&[("sort_col", "email")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, invalid("sort_col"));
    let (_, body) = api.list(&[("sort_dir", "up")]).await;
    assert_eq!(body, invalid("sort_dir"));
}

fn cents(row: &Value) -> i64 {
    row["usd_total"].as_str().unwrap().parse::<Money>().unwrap().cents()
}

fn id_number(row: &Value) -> u64 {
    row["sale_id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn every_sort_column_orders_rows_with_sale_id_breaking_ties() {
    let api = Api::start().await;

    let rows = api.all_rows(&[]).await;
    assert!(rows.windows(2).all(|w| id_number(&w[0]) > id_number(&w[1])), "default sale_id DESC");

    let rows = api.all_rows(&[("sort_col", "SALE_ID"), ("sort_dir", "asc")]).await;
    assert!(rows.windows(2).all(|w| id_number(&w[0]) < id_number(&w[1])));

    let rows = api.all_rows(&[("sort_col", "usd_total"), ("sort_dir", "ASC")]).await;
    assert!(
        rows.windows(2).all(|w| { (cents(&w[0]), id_number(&w[0])) < (cents(&w[1]), id_number(&w[1])) }),
        "usd_total sorts numerically, not as text"
    );
    // Default seed: a single weekly newsletter issue (1.99) is the cheapest sale, then the
    // documented one (3.06).
    assert_eq!(sale_ids(&rows[..2]), ["9100028000", DOCUMENTED_SALE_ID]);
    assert_eq!(rows[0]["usd_total"], "1.99");

    let rows = api.all_rows(&[("sort_col", "date_placed"), ("sort_dir", "Desc")]).await;
    assert!(rows.windows(2).all(|w| w[0]["date_placed"].as_str() >= w[1]["date_placed"].as_str()));

    let rows = api.all_rows(&[("sort_col", "customer_name"), ("sort_dir", "asc")]).await;
    let names: Vec<String> = rows.iter().map(|row| row["customer_name"].as_str().unwrap().to_lowercase()).collect();
    assert!(names.windows(2).all(|w| w[0] <= w[1]));

    let rows = api.all_rows(&[("sort_col", "recurring"), ("sort_dir", "desc")]).await;
    let flags: Vec<&str> = rows.iter().map(|row| row["recurring"].as_str().unwrap()).collect();
    assert!(flags.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(flags[0], "1");
    let recurring: Vec<&Value> = rows.iter().filter(|row| row["recurring"] == "1").collect();
    assert!(recurring.windows(2).all(|w| id_number(w[0]) > id_number(w[1])), "ties by sale_id");

    let rows = api.all_rows(&[("sort_col", "recurring_declined"), ("sort_dir", "asc")]).await;
    let first_declined = rows.iter().position(|row| !row["recurring_declined"].is_null()).unwrap();
    assert!(rows[..first_declined].iter().all(|row| row["recurring_declined"].is_null()));
    assert!(rows[first_declined..].iter().all(|row| !row["recurring_declined"].is_null()));
    assert_eq!(rows.len() - first_declined, 14);
}

#[tokio::test]
async fn list_with_no_matching_rows_is_http_400_record_not_found() {
    let api = Api::start().await;
    for query in [[("customer_email", "nobody@nowhere.invalid")], [("sale_id", "1")], [("sale_date_end", "2011-12-31")]]
    {
        let (status, body) = api.list(&query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body, record_not_found());
    }
}

#[tokio::test]
async fn the_foreign_vendor_sale_is_invisible_to_list_sales() {
    let api = Api::start().await;
    assert_eq!(api.total(&[("sale_id", FOREIGN_SALE_ID)]).await, 0);
    assert_eq!(api.total(&[("invoice_id", FOREIGN_INVOICE_ID)]).await, 0);
    // The foreign sale carries the documented cardholder name too.
    let rows = api.all_rows(&[("customer_name", "TESTER")]).await;
    assert_eq!(sale_ids(&rows), [DOCUMENTED_SALE_ID]);
    assert!(!sale_ids(&api.all_rows(&[]).await).contains(&FOREIGN_SALE_ID.to_owned()));
}

#[tokio::test]
async fn id_filters_match_exactly() {
    let api = Api::start().await;
    let rows = api.all_rows(&[("sale_id", TANGIBLE_SALE_ID)]).await;
    assert_eq!(sale_ids(&rows), [TANGIBLE_SALE_ID]);
    let rows = api.all_rows(&[("invoice_id", DOCUMENTED_INVOICE_IDS[1])]).await;
    assert_eq!(sale_ids(&rows), [DOCUMENTED_SALE_ID]);
    assert_eq!(api.total(&[("sale_id", "464789223")]).await, 0);
    let (_, body) = api.list(&[("sale_id", "x1")]).await;
    assert_eq!(body, invalid("sale_id"));
    let (_, body) = api.list(&[("invoice_id", "x1")]).await;
    assert_eq!(body, invalid("invoice_id"));
}

#[tokio::test]
async fn customer_name_is_a_case_insensitive_substring_of_at_least_three_chars() {
    let api = Api::start().await;
    let (status, body) = api.list(&[("customer_name", "te")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, invalid("customer_name"));
    assert_eq!(api.total(&[("customer_name", "ANDERSON")]).await, 15);
    assert_eq!(api.total(&[("customer_name", "sting  tes")]).await, 1);
    let rows = api.all_rows(&[("customer_name", "müller")]).await;
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|row| row["customer_name"].as_str().unwrap().contains("Müller")));
}

#[tokio::test]
async fn customer_email_is_a_case_insensitive_substring() {
    let api = Api::start().await;
    assert_eq!(api.total(&[("customer_email", "EXAMPLE.ORG")]).await, 81);
    let rows = api.all_rows(&[("customer_email", "FAKE-company")]).await;
    assert_eq!(sale_ids(&rows), [DOCUMENTED_SALE_ID]);
}

#[tokio::test]
async fn customer_phone_matches_from_the_beginning_only() {
    let api = Api::start().await;
    let rows = api.all_rows(&[("customer_phone", "123465")]).await;
    assert_eq!(sale_ids(&rows), [DOCUMENTED_SALE_ID]);
    assert_eq!(api.total(&[("customer_phone", "23465789")]).await, 0);
    assert_eq!(api.total(&[("customer_phone", "614")]).await, 33);
}

#[tokio::test]
async fn vendor_product_id_is_a_substring_of_any_line_item() {
    let api = Api::start().await;
    let rows = api.all_rows(&[("vendor_product_id", "8646")]).await;
    assert_eq!(sale_ids(&rows), [DOCUMENTED_SALE_ID]);
    assert_eq!(api.total(&[("vendor_product_id", "TEE")]).await, 33);
    assert_eq!(api.total(&[("vendor_product_id", "SAAS")]).await, 93);
    let rows = api.all_rows(&[("vendor_product_id", "MUG")]).await;
    for id in sale_ids(&rows).iter().take(5) {
        let sale = api.sale(id).await;
        assert!(line_items(&sale).iter().any(|item| item["vendor_product_id"] == "MUG-CERAMIC-01"));
    }
}

#[tokio::test]
async fn card_digit_filters_match_exactly_and_are_validated() {
    let api = Api::start().await;
    assert_eq!(api.total(&[("ccard_first6", "400000")]).await, 52);
    assert_eq!(api.total(&[("ccard_last2", "44")]).await, 52);
    let rows = api.all_rows(&[("ccard_first6", "411111"), ("ccard_last2", "11")]).await;
    assert!(sale_ids(&rows).contains(&ACTIVE_RECURRING_SALE_ID.to_owned()));
    for id in sale_ids(&rows).iter().take(5) {
        let pay_method = &api.sale(id).await["customer"]["pay_method"];
        assert_eq!(pay_method["first_six_digits"], "411111");
        assert_eq!(pay_method["last_two_digits"], "11");
    }
    assert_eq!(api.total(&[("ccard_first6", "411111"), ("ccard_last2", "44")]).await, 0);
    let (_, body) = api.list(&[("ccard_first6", "4000")]).await;
    assert_eq!(body, invalid("ccard_first6"));
    let (_, body) = api.list(&[("ccard_last2", "2")]).await;
    assert_eq!(body, invalid("ccard_last2"));
}

#[tokio::test]
async fn sale_date_bounds_are_inclusive_and_validated() {
    let api = Api::start().await;
    let rows = api.all_rows(&[("sale_date_begin", "2012-02-29"), ("sale_date_end", "2012-02-29")]).await;
    assert!(sale_ids(&rows).contains(&DOCUMENTED_SALE_ID.to_owned()));
    assert!(rows.iter().all(|row| row["date_placed"] == "2012-02-29"));
    assert_eq!(api.total(&[("sale_date_begin", "2012-01-01"), ("sale_date_end", "2012-12-31")]).await, 22);
    let since_2025 = api.all_rows(&[("sale_date_begin", "2025-01-01")]).await;
    assert!(!since_2025.is_empty());
    assert!(since_2025.iter().all(|row| row["date_placed"].as_str().unwrap() >= "2025-01-01"));
    for bad in ["2012-2-29", "2012-02-30", "yesterday", "2012/02/29"] {
        let (_, body) = api.list(&[("sale_date_begin", bad)]).await;
        assert_eq!(body, invalid("sale_date_begin"), "{bad}");
        let (_, body) = api.list(&[("sale_date_end", bad)]).await;
        assert_eq!(body, invalid("sale_date_end"), "{bad}");
    }
}

#[tokio::test]
async fn refunded_filter_lists_sales_with_a_refund_line_item() {
    let api = Api::start().await;
    let rows = api.all_rows(&[("refunded", "1")]).await;
    assert_eq!(rows.len(), 51);
    let ids = sale_ids(&rows);
    assert!(ids.contains(&DOCUMENTED_SALE_ID.to_owned()));
    assert!(ids.contains(&REFUNDED_SALE_ID.to_owned()));
    assert!(ids.contains(&COMPLETED_RECURRING_SALE_ID.to_owned()));
    assert!(!ids.contains(&ACTIVE_RECURRING_SALE_ID.to_owned()));
    for id in ids.iter().take(10) {
        let sale = api.sale(id).await;
        assert!(line_items(&sale).iter().any(|item| item["status"] == "refund"), "{id}");
    }
}

#[tokio::test]
async fn active_recurrings_filter_lists_sales_with_an_active_recurring_item() {
    let api = Api::start().await;
    let rows = api.all_rows(&[("active_recurrings", "TRUE")]).await;
    assert_eq!(rows.len(), 61);
    let ids = sale_ids(&rows);
    assert!(ids.contains(&ACTIVE_RECURRING_SALE_ID.to_owned()));
    assert!(ids.contains(&DECLINED_RECURRING_SALE_ID.to_owned()));
    assert!(!ids.contains(&STOPPED_RECURRING_SALE_ID.to_owned()));
    assert!(!ids.contains(&DOCUMENTED_SALE_ID.to_owned()));
    assert!(rows.iter().all(|row| row["recurring"] == "1"));
    for id in ids.iter().take(10) {
        let sale = api.sale(id).await;
        assert!(line_items(&sale).iter().any(|item| item["billing"]["recurring_status"] == "active"), "{id}");
    }
}

#[tokio::test]
async fn declined_recurrings_filter_lists_sales_with_a_recurring_decline() {
    let api = Api::start().await;
    let rows = api.all_rows(&[("declined_recurrings", "yes")]).await;
    assert_eq!(rows.len(), 14);
    assert!(sale_ids(&rows).contains(&DECLINED_RECURRING_SALE_ID.to_owned()));
    for row in &rows {
        assert!(row["recurring_declined"].is_string());
        assert!(row["decline_code"].is_string());
    }
    let sale = api.sale(DECLINED_RECURRING_SALE_ID).await;
    assert_eq!(sale["recurring_decline"], "1");
}

#[tokio::test]
async fn flags_accept_truthy_and_falsy_values_and_refuse_others() {
    let api = Api::start().await;
    for falsy in ["0", "false", "", "No"] {
        assert_eq!(api.total(&[("refunded", falsy)]).await, DEFAULT_TOTAL, "{falsy:?}");
    }
    for flag in ["declined_recurrings", "active_recurrings", "refunded"] {
        let (status, body) = api.list(&[(flag, "maybe")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body, invalid(flag));
    }
    assert_eq!(api.total(&[("active_recurrings", "1"), ("refunded", "1")]).await, 17);
}

#[tokio::test]
async fn usd_total_is_the_sum_of_the_invoices_totals() {
    let api = Api::start().await;
    for id in [COMPLETED_RECURRING_SALE_ID, TANGIBLE_SALE_ID, DOCUMENTED_SALE_ID] {
        let rows = api.all_rows(&[("sale_id", id)]).await;
        let sale = api.sale(id).await;
        let sum: i64 = sale["invoices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|invoice| invoice["usd_total"].as_str().unwrap().parse::<Money>().unwrap().cents())
            .sum();
        assert_eq!(cents(&rows[0]), sum, "{id}");
        assert_eq!(rows[0]["date_placed"], sale["date_placed"].as_str().unwrap()[..10]);
    }
}

// ---------------------------------------------------------------- seeded data

#[test]
fn default_seed_facts_stay_as_documented() {
    let store = Store::seeded(42, 300).unwrap();
    let count = |filter: SaleFilter| store.list_sales(&filter, Default::default()).len();
    assert_eq!(count(SaleFilter::default()), DEFAULT_TOTAL);
    assert_eq!(count(SaleFilter { refunded: true, ..SaleFilter::default() }), 51);
    assert_eq!(count(SaleFilter { active_recurrings: true, ..SaleFilter::default() }), 61);
    assert_eq!(count(SaleFilter { declined_recurrings: true, ..SaleFilter::default() }), 14);
    let first6 = SaleFilter { ccard_first6: Some("400000".into()), ..SaleFilter::default() };
    assert_eq!(count(first6), 52);
    let name = SaleFilter { customer_name: Some("tester".into()), ..SaleFilter::default() };
    assert_eq!(count(name), 1);
}

#[test]
fn same_seed_gives_identical_data_and_another_seed_differs() {
    let render = |seed| serde_json::to_string(&seed::initial_sales(seed, 50).unwrap()).unwrap();
    assert_eq!(render(42), render(42));
    assert_ne!(render(42), render(43));
}

#[test]
fn ids_never_collide_across_sales_invoices_and_line_items() {
    let sales = seed::initial_sales(42, 300).unwrap();
    let mut ids = Vec::new();
    for sale in &sales {
        ids.push(sale.sale_id.clone());
        ids.push(sale.customer.customer_id.clone());
        ids.push(sale.customer.address_id.clone());
        for invoice in &sale.invoices {
            ids.push(invoice.invoice_id.clone());
            for item in &invoice.lineitems {
                ids.push(item.lineitem_id.clone());
                ids.push(item.billing.billing_id.clone());
            }
        }
    }
    // The documented sale shares its customer between billings only through customer_id,
    // which is pushed once per sale here.
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count);
}

#[test]
fn the_fixed_profile_sales_have_their_properties_for_any_seed() {
    for seed in [42, 7, 1_000_003] {
        let store = Store::seeded(seed, 6).unwrap();
        let sale = |id| store.detail_sale(SaleLookup::Sale(id)).unwrap();
        let refunded = sale(REFUNDED_SALE_ID);
        assert!(refunded.is_refunded() && !refunded.is_recurring());
        assert_eq!(refunded.customer.pay_method.first_six_digits.as_deref(), Some("400000"));
        let active = sale(ACTIVE_RECURRING_SALE_ID);
        assert!(active.has_active_recurring() && !active.has_recurring_decline());
        assert!(!active.is_refunded());
        let tangible = sale(TANGIBLE_SALE_ID);
        assert!(tangible.line_items().any(|item| item.product_tangible == "1"));
        assert!(tangible.invoices[0].shipping.is_some());
        let declined = sale(DECLINED_RECURRING_SALE_ID);
        assert!(declined.has_recurring_decline() && declined.has_active_recurring());
        let stopped = sale(STOPPED_RECURRING_SALE_ID);
        assert!(stopped.is_recurring() && !stopped.has_active_recurring());
        assert_eq!(stopped.customer.pay_method.method, "paypal ec");
        let completed = sale(COMPLETED_RECURRING_SALE_ID);
        assert!(completed.is_recurring() && completed.is_refunded());
        assert_eq!(store.detail_sale(SaleLookup::Sale(FOREIGN_SALE_ID)), Err(store::LookupError::Forbidden));
    }
}

/// The ids, dates and amounts the write tests (and the gateway's) rely on, for any seed.
#[test]
fn the_pinned_fixed_profile_sales_have_known_ids_dates_and_amounts_for_any_seed() {
    use records::{InvoiceStatus, RecurringStatus};
    let ids =
        |sale: &records::Sale| -> Vec<String> { sale.line_items().map(|item| item.lineitem_id.clone()).collect() };
    let invoice_ids = |sale: &records::Sale| -> Vec<String> {
        sale.invoices.iter().map(|invoice| invoice.invoice_id.clone()).collect()
    };
    for seed in [42, 7, 1_000_003] {
        let store = Store::seeded(seed, 10).unwrap();
        let sale = |id| store.detail_sale(SaleLookup::Sale(id)).unwrap();

        let active = sale(ACTIVE_RECURRING_SALE_ID);
        assert_eq!(active.date_placed, ACTIVE_RECURRING_SALE_PLACED);
        assert_eq!(invoice_ids(&active), ACTIVE_RECURRING_INVOICE_IDS);
        assert_eq!(ids(&active), [ACTIVE_RECURRING_FIRST_LINEITEM_ID, ACTIVE_RECURRING_LINEITEM_ID]);
        let line = active.line_items().nth(1).unwrap();
        assert_eq!(line.billing.recurring_status, Some(RecurringStatus::Active));
        assert_eq!(line.billing.date_next.as_deref(), Some("2025-11-10"));

        let refundable = sale(REFUNDABLE_SALE_ID);
        assert_eq!(refundable.date_placed, REFUNDABLE_SALE_PLACED);
        assert_eq!(invoice_ids(&refundable), [REFUNDABLE_INVOICE_ID]);
        assert_eq!(ids(&refundable), REFUNDABLE_LINEITEM_IDS);
        let invoice = &refundable.invoices[0];
        assert_eq!(invoice.status, InvoiceStatus::Deposited);
        let totals = [invoice.usd_total, invoice.vendor_total, invoice.customer_total].map(Money::cents);
        assert_eq!(totals, [3498, 3498, 3218]);
        assert!(!refundable.is_refunded() && !refundable.is_recurring());

        let reauthorizable = sale(REAUTHORIZABLE_SALE_ID);
        assert_eq!(reauthorizable.date_placed, REAUTHORIZABLE_SALE_PLACED);
        assert_eq!(invoice_ids(&reauthorizable), [REAUTHORIZABLE_INVOICE_ID]);
        assert_eq!(ids(&reauthorizable), [REAUTHORIZABLE_LINEITEM_ID]);
        assert_eq!(reauthorizable.invoices[0].status, InvoiceStatus::Approved);
        assert!(reauthorizable.invoices[0].shipping.as_ref().is_some_and(|s| s.date_shipped.is_none()));
        assert!(!reauthorizable.authorization.fails);

        let failing = sale(REAUTH_FAILING_SALE_ID);
        assert_eq!(failing.date_placed, REAUTH_FAILING_SALE_PLACED);
        assert_eq!(failing.invoices[0].status, InvoiceStatus::Approved);
        assert!(failing.authorization.fails);

        let unshipped = sale(UNSHIPPED_TANGIBLE_SALE_ID);
        assert_eq!(unshipped.date_placed, UNSHIPPED_TANGIBLE_SALE_PLACED);
        assert_eq!(invoice_ids(&unshipped), [UNSHIPPED_TANGIBLE_INVOICE_ID]);
        assert_eq!(ids(&unshipped), [UNSHIPPED_TANGIBLE_LINEITEM_ID]);
        let invoice = &unshipped.invoices[0];
        assert_eq!(invoice.status, InvoiceStatus::Pending);
        assert!(invoice.date_shipped.is_none());
        let shipping = invoice.shipping.as_ref().unwrap();
        assert!(shipping.date_shipped.is_none() && shipping.tracking_number.is_none());
        assert!(unshipped.line_items().all(|item| item.is_tangible()));
    }
}

// ---------------------------------------------------------------- counters, faults, lifecycle

#[tokio::test]
async fn counters_count_every_request_per_endpoint_whatever_the_outcome() {
    let api = Api::start().await;
    api.detail(&[("sale_id", DOCUMENTED_SALE_ID)]).await;
    api.detail(&[]).await;
    api.http.get(api.url("sales/detail_sale")).send().await.unwrap();
    api.list(&[]).await;
    api.http.get(api.url("sales/unknown")).send().await.unwrap();
    assert_eq!(api.sim.request_count(Endpoint::DetailSale), 3);
    assert_eq!(api.sim.request_count(Endpoint::ListSales), 1);
}

#[tokio::test]
async fn a_delay_fault_slows_the_normal_answer() {
    let api = Api::start().await;
    api.sim.inject_fault(Endpoint::DetailSale, Fault::delay(Duration::from_millis(300)).times(1));
    let started = Instant::now();
    let (status, body) = api.detail(&[("sale_id", DOCUMENTED_SALE_ID)]).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["response_code"], "OK");
    let started = Instant::now();
    api.detail(&[("sale_id", DOCUMENTED_SALE_ID)]).await;
    assert!(started.elapsed() < Duration::from_millis(300), "used up after one request");
}

#[tokio::test]
async fn a_canned_fault_replaces_the_answer_for_the_given_number_of_requests() {
    let api = Api::start().await;
    api.sim.inject_fault(Endpoint::ListSales, Fault::respond(500, "text/plain", "upstream exploded").times(2));
    // Unauthenticated requests are refused before the fault and do not use it up.
    let refused = api.http.get(api.url("sales/list_sales")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    // Another endpoint is unaffected.
    assert_eq!(api.detail(&[("sale_id", DOCUMENTED_SALE_ID)]).await.0, StatusCode::OK);
    for _ in 0..2 {
        let response = api.get("sales/list_sales", &[]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[CONTENT_TYPE], "text/plain");
        assert_eq!(response.text().await.unwrap(), "upstream exploded");
    }
    assert_eq!(api.list(&[]).await.0, StatusCode::OK);
    assert_eq!(api.sim.request_count(Endpoint::ListSales), 4);
}

#[tokio::test]
async fn a_fault_without_times_lasts_until_cleared() {
    let api = Api::start().await;
    api.sim.inject_fault(
        Endpoint::DetailSale,
        Fault::respond(400, "application/json", r#"{"errors":[{"code":"X","message":"y"}]}"#),
    );
    for _ in 0..3 {
        let (status, body) = api.detail(&[("sale_id", DOCUMENTED_SALE_ID)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["errors"][0]["code"], "X");
    }
    api.sim.clear_faults();
    assert_eq!(api.detail(&[("sale_id", DOCUMENTED_SALE_ID)]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn credentials_come_from_the_config() {
    let api = Api::start_with(SimulatorConfig {
        api_username: "other".to_owned(),
        api_password: "secret".to_owned(),
        generated_sales: 0,
        ..SimulatorConfig::default()
    })
    .await;
    let default_credentials = api.detail(&[("sale_id", DOCUMENTED_SALE_ID)]).await.0;
    assert_eq!(default_credentials, StatusCode::UNAUTHORIZED);
    let response = api
        .http
        .get(api.url("sales/list_sales"))
        .basic_auth("other", Some("secret"))
        .header(ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    let (status, body) = read_json(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["page_info"]["total_entries"], "1", "only the documented sale");
    assert!(!format!("{:?}", SimulatorConfig::default()).contains("sim-api-pass"));
}

#[tokio::test]
async fn the_clock_is_shared_and_movable() {
    let api = Api::start().await;
    let before = api.sim.clock().now();
    api.sim.clock().advance(Duration::from_secs(3600 * 24));
    assert!(api.sim.clock().now().signed_duration_since(before).num_hours() >= 24);
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let api = Api::start().await;
    let url = api.url("sales/list_sales");
    assert_eq!(api.list(&[]).await.0, StatusCode::OK);
    api.sim.shutdown().await;
    assert!(reqwest::Client::new().get(&url).send().await.is_err());

    let sim = RunningSimulator::start(SimulatorConfig::default()).await.unwrap();
    let url = format!("{}sales/list_sales", sim.admin_api_base_url());
    assert!(sim.admin_api_base_url().starts_with("http://127.0.0.1:"));
    assert!(sim.admin_api_base_url().ends_with("/api/"));
    drop(sim);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(reqwest::Client::new().get(&url).send().await.is_err());
}

#[tokio::test]
async fn shutdown_ends_a_request_stuck_in_a_long_delay() {
    let api = Api::start().await;
    api.sim.inject_fault(Endpoint::DetailSale, Fault::delay(Duration::from_secs(60)));
    let stuck = tokio::spawn(api.get("sales/detail_sale", &[("sale_id", "1")]).send());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    api.sim.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(3));
    let response = stuck.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn a_post_body_without_content_type_is_read_as_a_form() {
    let api = Api::start().await;
    let response = api
        .http
        .post(api.url("sales/detail_sale"))
        .basic_auth(USER, Some(PASSWORD))
        .header(ACCEPT, "application/json")
        .body(format!("sale_id={DOCUMENTED_SALE_ID}"))
        .send()
        .await
        .unwrap();
    let (status, body) = read_json(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["sale"]["sale_id"], DOCUMENTED_SALE_ID);
}

#[test]
fn the_seeded_data_ends_at_the_documented_instant_after_every_seeded_sale() {
    let documented = chrono::NaiveDateTime::parse_from_str(SEEDED_DATA_AS_OF, "%Y-%m-%d %H:%M:%S").unwrap();
    assert_eq!(seeded_data_end(), documented.and_utc());
    // Text comparison works: every date is `YYYY-MM-DD HH:MM:SS`.
    let latest = seed::initial_sales(42, 300).unwrap().into_iter().map(|sale| sale.date_placed).max().unwrap();
    assert!(latest.as_str() < SEEDED_DATA_AS_OF, "{latest}");
}

#[tokio::test]
async fn the_clock_starts_where_the_configuration_says() {
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc();
    for (clock_start, expected) in [
        (ClockStart::SeededDataEnd, seeded_data_end()),
        (ClockStart::At(at("2030-01-02T03:04:05Z")), at("2030-01-02T03:04:05Z")),
        (ClockStart::RealTime, chrono::Utc::now()),
    ] {
        let api = Api::start_with(SimulatorConfig { clock_start, ..SimulatorConfig::default() }).await;
        let drift = api.sim.clock().now().signed_duration_since(expected).num_seconds();
        assert!((0..60).contains(&drift), "{clock_start:?}: {drift} s off");
    }
}

mod account;
mod catalog;
mod fidelity;
mod notifications;
mod payment_api;
mod write_endpoints;
