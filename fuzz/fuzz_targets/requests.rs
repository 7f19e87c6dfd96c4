//! Every caller request: byte 0 picks the message type, the rest is decoded with prost as
//! that message and, when it decodes, converted as its handler converts it. Crashes on a
//! panic or on a refusal that is not INVALID_ARGUMENT naming a field (`check_request`).
#![no_main]

use tco_gateway::untrusted::check_request;

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    if let Err(broken) = check_request(input) {
        panic!("{broken}");
    }
});
