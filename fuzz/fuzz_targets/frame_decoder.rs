//! The `frame_decoder` fuzz target; its invariant and body are
//! `sockette_fuzz::targets::frame_decoder::check`, which the regression tests replay too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sockette_fuzz::targets::frame_decoder::check(data);
});
