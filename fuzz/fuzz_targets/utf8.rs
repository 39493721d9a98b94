//! The `utf8` fuzz target; its invariant and body are
//! `sockette_fuzz::targets::utf8::check`, which the regression tests replay too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sockette_fuzz::targets::utf8::check(data);
});
