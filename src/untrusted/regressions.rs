//! Regression tests: each input a property test or a fuzz target once failed on, exactly
//! as found, with what it showed.

use super::{
    ACCOUNT_SECRET_WORD, CatalogAnswer, JSON, XML, catalog_answer, check_admin, check_ins_post, check_payment_answer,
    corpus, ins_post,
};

/// Found by `a_real_approval_with_one_hostile_value_is_approved_or_outcome_unknown`, shrunk
/// to objects nested 150 deep (`{"sale":` x 150, `1`, `}` x 150) grafted into a real
/// approval in place of a value the client does not read; here, `validationErrors`. The
/// oracle had re-read the body as a `Value` (which stops at 128 levels) and called the
/// approval unjustified; it now reads only what the client reads. Since the answer depth
/// limit (64 levels, `twocheckout/limits.rs`) the client refuses such a body before decoding
/// it, so it is no approval but OUTCOME_UNKNOWN, and the oracle agrees.
#[test]
fn an_approval_with_an_unknown_field_nested_150_deep_is_outcome_unknown_and_the_oracle_agrees() {
    let deep = format!("{}1{}", r#"{"sale":"#.repeat(150), "}".repeat(150));
    let body = String::from_utf8(corpus::seed("payment_json", "approved_lines_200")).unwrap();
    let body = body.replacen(r#""validationErrors":null"#, &format!(r#""validationErrors":{deep}"#), 1);
    assert!(body.contains(&deep));
    let outcome = super::authorize(200, super::JSON, body.as_bytes());
    assert!(matches!(outcome, Err(crate::domain::Error::OutcomeUnknown { .. })), "{outcome:?}");
    assert_eq!(check_payment_answer(200, body.as_bytes()), Ok(()));
}

/// Found by the `ins_post` fuzz target in its first minute, against a build in which the
/// oracle's proof run had dropped `amount`'s 32-character bound (`grpc/notifications/
/// response.rs`): a signed Test-tab form, mangled, with `item_cust_amount_2` a 61-character
/// decimal, was read as that amount. With the bound the amount reads as empty, and the form
/// (still signed: the hash covers the ids alone) is accepted and read cleanly.
#[test]
fn an_ins_amount_of_61_characters_reads_as_empty() {
    const BODY: &[u8] = b"\
      message_type=FRAUD_STATUS_CHANGED&message_description=Test+Message&timestamp=1005-07-1\
      9+17%3A01%3A19&md5_hash=BBF8684E3B6555DDFE5E418EDA7D1AAD&message_id=1&key_count=68&ven\
      dor_id=532001&sale_id=1&sale_date_placed=2012-06-28+22%3A14%3A23&vendor_order_id=test1\
      23&invoice_id=1&recurring=1&payment_type=paypal+ec&list_currency=USD&cust_currency=USD\
      &auth_exp=N%2FA&invoice_statu\xff\xff\xff\xff\xff\xff\xff\x12s=deposited&fraumer_last_\
      name=Christenson&customer_name=Craig+P+Christenson&customer_email=noreply%402co.com&cu\
      stomer_phone=N%2FA&customer_ip=76.181_street_address2=dddsdsc&bill_city=Columbu&item_u\
      sd_amount_1=0.10&item_cust_amount_1=01=&item_recurrence_3=N%2FA&item_rec_list_amount_3\
      =N%2FA&item_rec_status_0.10&item_type_1=N%2FA&item_duration_1=&item_recurrence_1=N%2FA\
      &itemre_c_list_a0&item_cust_amount_2=0999999999999999999999999999999999999999999999999\
      999999999.10&itembtype_2=bill&item_duration_2=&ic_install_billed_2=4";
    let accepted = ins_post(BODY).unwrap();
    assert!(accepted.notification.items.iter().all(|item| item.customer_amount.len() <= 32));
    assert_eq!(check_ins_post(BODY), Ok(()));
}

/// Found by the `admin_json` fuzz target in its first second: a company info answer (JSON)
/// whose `url` holds the text `<secret_word>…</secret_word>`. The oracle took the XML
/// spelling of a planted secret word in a JSON body for the secret word, and the `url`'s
/// text, read verbatim as it should be, for a leak. A format's spelling now counts only in
/// a body of that format: this is the vendor's own url, and the gateway may show it.
#[test]
fn an_xml_spelled_secret_word_inside_a_json_value_is_that_values_text() {
    let input = concat!(
        "\u{b0}\u{0f}",
        r#"{"response_code":"OK","response_message":"company info retrieved","vendor_company_info":{"#,
        r#""affiliate_url":"http://www.fake-company.com","currency_code":"USD","currency_n,me":"US Dollars","#,
        r#""currency_symbol":"$","demo":"P","pending_rte_category":"Business","site_description":"Fake things","#,
        r#""site_title":"Fake Company","soft_descriptor":"FAKECO","url":"http://www.fake-c<secret_word>"#,
        r#"fuzz-acct-secret-word-5J8Q</secret_word>ompany.com","vendor_id":"22VVVVVVVVVVVV0624102","#,
        r#""vendor_nam!e":"Fake Company"}}"#
    );
    // The selector bytes as found: 0xb0 (sniffed, a status above the sales range), 0x0f.
    let input: Vec<u8> = input.chars().map(|c| c as u32 as u8).collect();
    assert_eq!(&input[..2], &[0xb0, 0x0f]);
    let outcome = catalog_answer(CatalogAnswer::CompanyInfo, 200, JSON, &input[2..]);
    let Ok(super::CatalogDecoded::CompanyInfo(info)) = outcome else { panic!("{outcome:?}") };
    assert!(info.url.is_some_and(|url| url.contains(ACCOUNT_SECRET_WORD)));
    assert_eq!(check_admin(JSON, &input), Ok(()));
}

/// Found by the `admin_xml` fuzz target in the same run, the mirror image: an XML refusal
/// whose `code` holds the text `"secret_word":"…"`, the JSON spelling. The code is the
/// vendor's, echoed in the refusal as it should be; the oracle now reads that spelling in
/// JSON bodies only.
#[test]
fn a_json_spelled_secret_word_inside_an_xml_code_is_that_codes_text() {
    let body = concat!(
        "<?xversion=\" encoding=\"UTF-8\"?>\n<response><errors><code>FORBI\"secret_word\":",
        "\"fuzz-acct-secret-word-5J8Q\"DDEN</code><message>Access denied to product.</message></errors></response>"
    );
    let mut input = vec![b'9', 0x01];
    input.extend_from_slice(body.as_bytes());
    let outcome = catalog_answer(CatalogAnswer::DetailProduct, 400, XML, body.as_bytes());
    assert!(matches!(outcome, Err(crate::domain::Error::Vendor(_))), "{outcome:?}");
    assert_eq!(check_admin(XML, &input), Ok(()));
}

/// Found by `any_amount_text_is_read_as_that_money_or_refused_naming_its_member` in a CI
/// run: a listed product's price `"0 "`. Every other amount in a catalog answer is read
/// without its padding, but the price (and an option value's surcharge) were refused; they
/// now read like the rest, and the oracle, which trims, agrees.
#[test]
fn a_product_price_with_a_trailing_blank_reads_as_that_price() {
    let body = r#"{"response_code":"OK","response_message":"Product information successfully retrieved",
        "page_info":{"cur_page":"1","total_entries":"1","last_entry":1,"first_entry":1,"last_page":1,"pagesize":"20"},
        "products":[{"product_id":"4774388564","vendor_product_id":"","name":"Example","price":"0 ",
        "options":[{"option_id":"4774388601","option_name":"Size","option_values":[
            {"option_value_id":"4774388604","option_value_name":"Large","option_value_surcharge":" 1.50 "}]}]}]}"#;
    let outcome = catalog_answer(CatalogAnswer::ListProducts, 200, JSON, body.as_bytes());
    let Ok(super::CatalogDecoded::Products(page)) = &outcome else { panic!("{outcome:?}") };
    assert_eq!(page.rows[0].price, "0".parse().unwrap());
    assert_eq!(page.rows[0].options[0].values[0].surcharge, "1.50".parse().unwrap());
    assert_eq!(super::check_catalog_answer(CatalogAnswer::ListProducts, 200, JSON, body.as_bytes()), Ok(()));
}
