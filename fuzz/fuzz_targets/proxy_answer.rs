//! The `proxy_answer` fuzz target; its invariant and body are
//! `sockette_fuzz::targets::proxy_answer::check`, which the regression tests replay too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sockette_fuzz::targets::proxy_answer::check(data);
});
