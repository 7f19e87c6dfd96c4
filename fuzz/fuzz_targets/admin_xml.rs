//! Admin API answers declared as XML (or, with bit 7 of the first byte, with no content
//! type): byte 0 picks detail_sale, list_sales or a write and the HTTP status, the rest is
//! the body; or byte 0 (above the sales range) picks the status and byte 1 one of the
//! catalog and account answers (every products/* and acct/* call), the rest being the
//! body. Crashes on a panic or on an outcome `check_admin` refuses.
#![no_main]

use tco_gateway::untrusted::{XML, check_admin};

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    if let Err(broken) = check_admin(XML, input) {
        panic!("{broken}");
    }
});
