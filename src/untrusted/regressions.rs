//! Regression tests: each input a property test or a fuzz target once failed on, exactly
//! as found, with what it showed.

use super::{check_payment_answer, corpus};

/// Found by `a_real_approval_with_one_hostile_value_is_approved_or_outcome_unknown`, shrunk
/// to objects nested 150 deep (`{"sale":` x 150, `1`, `}` x 150) grafted into a real
/// approval in place of a value the client does not read; here, `validationErrors`. The client
/// skips fields it does not know without a depth limit (serde_json skips them without
/// recursing), so the approval stands; the oracle had re-read the body as a `Value`, which
/// stops at 128 levels, and called the approval unjustified. The oracle now reads only
/// what the client reads.
#[test]
fn an_approval_with_an_unknown_field_nested_150_deep_is_still_an_approval() {
    let deep = format!("{}1{}", r#"{"sale":"#.repeat(150), "}".repeat(150));
    let body = String::from_utf8(corpus::seed("payment_json", "approved_lines_200")).unwrap();
    let body = body.replacen(r#""validationErrors":null"#, &format!(r#""validationErrors":{deep}"#), 1);
    assert!(body.contains(&deep));
    assert!(super::authorize(200, super::JSON, body.as_bytes()).is_ok());
    assert_eq!(check_payment_answer(200, body.as_bytes()), Ok(()));
}
