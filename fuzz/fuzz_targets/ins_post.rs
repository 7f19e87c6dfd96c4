//! INS receiver posts: the whole input is the body 2Checkout would post. Runs the
//! receiver's checks on it (field count, form, required fields, vendor, hash against the
//! fixed test account), then the accepted form's reading as a `proto::Notification`.
//! The signed seeds stay signed under most mutations (the hash covers only the ids), so
//! the fuzzer reaches the reading. Crashes on a panic or on an outcome `check_ins_post`
//! refuses.
#![no_main]

use tco_gateway::untrusted::check_ins_post;

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    if let Err(broken) = check_ins_post(input) {
        panic!("{broken}");
    }
});
