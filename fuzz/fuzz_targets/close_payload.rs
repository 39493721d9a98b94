//! The `close_payload` fuzz target; its invariant and body are
//! `sockette_fuzz::targets::close_payload::check`, which the regression tests replay too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sockette_fuzz::targets::close_payload::check(data);
});
