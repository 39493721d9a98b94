//! The `tls_session` fuzz target; its invariant and body are
//! `sockette_fuzz::targets::tls_session::check`, which the regression tests replay too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sockette_fuzz::targets::tls_session::check(data);
});
