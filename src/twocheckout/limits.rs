//! The bounds on what an upstream answer may cost: a byte cap enforced while
//! the body streams in, then a nesting-depth limit and a limit on how many
//! objects (JSON) or elements (XML) it holds: JSON's checked by a scan before
//! anything is built from it, XML's counted by the reader as it decodes (or
//! skips) each element, so that nothing past them is read and what was built
//! before a refusal is bounded by them (`xml.rs`).
//!
//! They exist because the party across the wire (or someone in between) may
//! send anything: a body without end would exhaust memory; a body nested
//! thousands of levels deep would exhaust the stack of any decoder or
//! destructor that recurses once per level; and a body made of tiny objects
//! multiplies in memory (each 3-byte `{}` in a list of invoices decodes into a
//! 720-byte invoice: 1 MiB of them took 250 MB).

use reqwest::header::HeaderMap;

/// How deeply an answer may nest (JSON objects and arrays, XML elements).
///
/// The deepest real answer, a detail_sale, nests about eight levels (`sale` >
/// `invoices` > `[]` > `lineitems` > `[]` > `options` > `[]` > scalar); 64 is
/// eight times that, and low enough that every recursive step after the check
/// (serde's visitors, `Value`'s destructor, the debug log's shape) stays far
/// from the stack's end. serde_json's own limit (128) is not relied upon: XML
/// has none, and one limit for both formats is simpler to state.
pub const MAX_NESTING_DEPTH: usize = 64;

/// How many objects and arrays a JSON answer may hold.
///
/// The largest real answers hold about a hundred (a 100-row list_sales page:
/// 102; the largest seeded detail_sale: 33), and a sale that ran monthly for
/// ten years would hold some 800; 4,096 is five times that. At under 1 KB per
/// decoded object, this keeps any answer's decoded form to a few MB.
pub const MAX_JSON_CONTAINERS: usize = 4_096;

/// How many elements an XML answer may hold (XML spells every value as an
/// element). The 100-row page has 915 and the largest seeded sale 401 (80 per
/// invoice); a sale that ran monthly for ten years would have some 9,600;
/// 16,384 elements keep the intermediate tree and the decoded form to a few MB.
pub const MAX_XML_ELEMENTS: usize = 16_384;

/// Why an answer was refused before decoding, though within the byte cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TooComplex {
    #[error("nested deeper than {MAX_NESTING_DEPTH} levels")]
    Nesting,
    #[error("with more than {MAX_JSON_CONTAINERS} objects and arrays")]
    Containers,
    #[error("with more than {MAX_XML_ELEMENTS} elements")]
    Elements,
}

/// Why a body was not read to its end.
#[derive(Debug)]
pub enum BodyError {
    /// The body is larger than the cap: declared so by its `Content-Length`,
    /// or found so while streaming. Nothing past the cap was buffered.
    TooLarge { cap: usize, declared: Option<u64> },
    /// The connection failed or timed out while reading.
    Transport(reqwest::Error),
}

/// Reads a response body of at most `cap` bytes.
///
/// A `Content-Length` above the cap is refused before a byte of the body is
/// read; without one (chunked, or a lying length), the chunks are counted as
/// they arrive and the read stops at the first chunk that would cross the cap,
/// so the buffer never grows past `cap`. Dropping the response then closes
/// the connection rather than draining the rest.
pub async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, BodyError> {
    let declared = declared_length(response.headers());
    if declared.is_some_and(|length| length > cap as u64) {
        return Err(BodyError::TooLarge { cap, declared });
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(cap as u64) as usize);
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if chunk.len() > cap - body.len() {
            return Err(BodyError::TooLarge { cap, declared });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The `Content-Length` the server declared, if any and readable.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(reqwest::header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// Checks a JSON text against [`MAX_NESTING_DEPTH`] and [`MAX_JSON_CONTAINERS`].
pub fn check_json(body: &[u8]) -> Result<(), TooComplex> {
    json_within(body, MAX_NESTING_DEPTH, MAX_JSON_CONTAINERS)
}

/// Whether a JSON text nests objects and arrays at most `max_depth` levels
/// deep and holds at most `max_containers` of them.
///
/// A single pass over the bytes that allocates nothing and recurses nowhere,
/// so it runs before any decoder builds (or recurses over) anything nested.
/// It does not validate the JSON: brackets inside strings are skipped, and
/// unbalanced or malformed text is left for the decoder to refuse.
fn json_within(body: &[u8], max_depth: usize, max_containers: usize) -> Result<(), TooComplex> {
    let mut depth = 0usize;
    let mut containers = 0usize;
    let mut at = 0usize;
    while let Some(&byte) = body.get(at) {
        at += 1;
        match byte {
            b'"' => at = past_string(body, at),
            b'{' | b'[' => {
                depth += 1;
                containers += 1;
                if depth > max_depth {
                    return Err(TooComplex::Nesting);
                }
                if containers > max_containers {
                    return Err(TooComplex::Containers);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Where the JSON string whose content starts at `at` ends: just past its closing
/// quote (a backslash escapes the byte after it), or the body's end if it never closes.
/// Most of an answer's bytes are in strings, so they are searched for the two bytes
/// that matter rather than looked at one by one.
fn past_string(body: &[u8], mut at: usize) -> usize {
    loop {
        let rest = body.get(at..).unwrap_or_default();
        match memchr::memchr2(b'"', b'\\', rest) {
            None => return body.len(),
            Some(offset) if rest.get(offset) == Some(&b'"') => return at + offset + 1,
            Some(offset) => at += offset + 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(declared: Option<&str>, body: &str) -> reqwest::Response {
        let mut response = http::Response::builder();
        if let Some(length) = declared {
            response = response.header(reqwest::header::CONTENT_LENGTH, length);
        }
        reqwest::Response::from(response.body(body.to_owned()).unwrap())
    }

    #[tokio::test]
    async fn a_declared_length_over_the_cap_is_refused_before_reading_the_body() {
        // The body is tiny: only the declaration can have refused it.
        let refused = read_capped(response(Some("1025"), "{}"), 1024).await;
        assert!(matches!(refused, Err(BodyError::TooLarge { cap: 1024, declared: Some(1025) })), "{refused:?}");
    }

    #[tokio::test]
    async fn a_body_is_read_up_to_the_cap_and_refused_one_byte_past_it() {
        let at_cap = "x".repeat(1024);
        assert_eq!(read_capped(response(None, &at_cap), 1024).await.unwrap().len(), 1024);
        assert_eq!(read_capped(response(Some("1024"), &at_cap), 1024).await.unwrap().len(), 1024);
        let past = "x".repeat(1025);
        assert!(matches!(
            read_capped(response(None, &past), 1024).await,
            Err(BodyError::TooLarge { cap: 1024, declared: None })
        ));
    }

    fn nested(levels: usize) -> String {
        format!("{}{}", "[".repeat(levels), "]".repeat(levels))
    }

    fn within_depth(body: &str, max_depth: usize) -> bool {
        json_within(body.as_bytes(), max_depth, usize::MAX).is_ok()
    }

    #[test]
    fn nesting_up_to_the_limit_is_within_it_and_one_more_level_is_not() {
        assert_eq!(check_json(nested(MAX_NESTING_DEPTH).as_bytes()), Ok(()));
        assert_eq!(check_json(nested(MAX_NESTING_DEPTH + 1).as_bytes()), Err(TooComplex::Nesting));
        assert_eq!(check_json(nested(16_000).as_bytes()), Err(TooComplex::Nesting));
        let objects = format!("{}{}", r#"{"a":"#.repeat(100), "}".repeat(100));
        assert_eq!(check_json(objects.as_bytes()), Err(TooComplex::Nesting));
    }

    #[test]
    fn objects_and_arrays_up_to_the_limit_are_within_it_and_one_more_is_not() {
        let answer = |containers: usize| format!(r#"{{"invoices":[{}]}}"#, vec!["{}"; containers - 2].join(","));
        assert_eq!(check_json(answer(MAX_JSON_CONTAINERS).as_bytes()), Ok(()));
        assert_eq!(check_json(answer(MAX_JSON_CONTAINERS + 1).as_bytes()), Err(TooComplex::Containers));
        let empty_arrays = format!("[{}]", vec!["[]"; MAX_JSON_CONTAINERS].join(","));
        assert_eq!(check_json(empty_arrays.as_bytes()), Err(TooComplex::Containers));
        let scalars = format!(r#"{{"x":[{}]}}"#, vec!["0"; 100_000].join(","));
        assert_eq!(check_json(scalars.as_bytes()), Ok(()), "scalars cost no more than their bytes");
    }

    #[test]
    fn brackets_inside_strings_do_not_count_and_escaped_quotes_do_not_end_them() {
        let deep_in_a_string = format!(r#"{{"comment": "{}"}}"#, "[{".repeat(10_000));
        assert_eq!(check_json(deep_in_a_string.as_bytes()), Ok(()));
        let escaped_quote = format!(r#"{{"a": "\"{}"}}"#, "[".repeat(1_000));
        assert!(within_depth(&escaped_quote, 2));
        let escaped_backslash = format!(r#"{{"a": "\\", "b": {}}}"#, nested(3));
        assert!(!within_depth(&escaped_backslash, 3), "the string ended at the quote after the escaped backslash");
    }

    #[test]
    fn a_real_answer_is_far_within_the_limits() {
        let detail_sale =
            r#"{"response_code":"OK","sale":{"invoices":[{"lineitems":[{"options":[{"option_name":"x"}]}]}]}}"#;
        assert!(within_depth(detail_sale, 8));
    }

    #[test]
    fn unbalanced_closers_never_underflow() {
        assert!(within_depth("]]]]}}}{", 1));
        assert!(!within_depth("]]]]}}}{[", 1));
    }
}
