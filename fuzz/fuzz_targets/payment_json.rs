//! Payment API answers to an authorization: byte 0 picks the HTTP status, the rest is the
//! body. Crashes on a panic or on an outcome `check_payment` refuses.
#![no_main]

use tco_gateway::untrusted::check_payment;

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    if let Err(broken) = check_payment(input) {
        panic!("{broken}");
    }
});
