//! Regression tests: each input a property test or a fuzz target once failed on, exactly
//! as found, with what it showed.

use super::{check_payment_answer, corpus};

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
