//! Keeps every measurement of the run so the bench can print ratios at its end
//! (criterion reports each benchmark alone).

#![allow(dead_code, unreachable_pub)] // helpers shared by bench binaries, each using a part

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Total time and units (messages or bytes) per benchmark id, over all samples.
static RESULTS: Mutex<BTreeMap<String, (Duration, u64)>> = Mutex::new(BTreeMap::new());

/// Adds `units` done in `elapsed` to benchmark `id`.
pub fn record(id: &str, elapsed: Duration, units: u64) {
    let mut results = RESULTS.lock().unwrap();
    let entry = results.entry(id.to_string()).or_default();
    entry.0 += elapsed;
    entry.1 += units;
}

/// Units per second of benchmark `id`, if it ran.
pub fn rate(id: &str) -> Option<f64> {
    let results = RESULTS.lock().unwrap();
    let (elapsed, units) = results.get(id)?;
    Some(*units as f64 / elapsed.as_secs_f64())
}

/// A rate in human units (`M msg/s`, `GB/s`, ...).
pub fn human(rate: f64, unit: &str) -> String {
    if rate >= 1e9 {
        format!("{:.2} G{unit}/s", rate / 1e9)
    } else if rate >= 1e6 {
        format!("{:.2} M{unit}/s", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.2} k{unit}/s", rate / 1e3)
    } else {
        format!("{rate:.1} {unit}/s")
    }
}

/// `a / b` as text, or `-` when either is missing.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "-".into(),
    }
}

/// Formats an optional rate.
pub fn show(rate: Option<f64>, unit: &str) -> String {
    rate.map_or("-".into(), |r| human(r, unit))
}
