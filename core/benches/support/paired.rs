//! Paired measurements (shared/BENCHMARKING.md): every competitor of a row runs
//! back to back inside each repetition, in an order rotated per repetition, and
//! each ratio is the median of the per-repetition ratios, with its spread.

#![allow(dead_code, unreachable_pub)] // helpers shared by bench binaries, each using a part

use std::time::{Duration, Instant};

/// One competitor: runs one batch and returns `(units done, checksum)`; the
/// bench compares the checksum with what the batch must give.
pub struct Runner<'a> {
    pub name: &'static str,
    pub run: Box<dyn FnMut() -> (u64, u64) + 'a>,
}

impl<'a> Runner<'a> {
    pub fn new(name: &'static str, run: impl FnMut() -> (u64, u64) + 'a) -> Self {
        Runner {
            name,
            run: Box::new(run),
        }
    }
}

/// How long each competitor runs in each repetition, and how many repetitions.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub per_run: Duration,
    pub repetitions: usize,
}

impl Plan {
    /// `--quick`: short runs for checking direction while developing.
    pub fn from_args() -> Plan {
        if std::env::args().any(|a| a == "--quick") {
            Plan {
                per_run: Duration::from_millis(15),
                repetitions: 5,
            }
        } else {
            Plan {
                per_run: Duration::from_millis(80),
                repetitions: 11,
            }
        }
    }
}

/// Rates (units per second) of each competitor, one per repetition.
pub struct Rates {
    pub names: Vec<&'static str>,
    /// `rates[competitor][repetition]`.
    pub rates: Vec<Vec<f64>>,
}

/// Runs the competitors. `expected` is what one batch must return: a
/// competitor that did less (or other) work aborts the bench.
///
/// `SOCKETTE_BENCH_ONLY=name` runs that competitor alone (to profile it).
pub fn measure(plan: Plan, expected: (u64, u64), runners: &mut [Runner<'_>]) -> Rates {
    if let Ok(only) = std::env::var("SOCKETTE_BENCH_ONLY") {
        for r in runners.iter_mut().filter(|r| r.name != only) {
            r.run = Box::new(move || expected);
        }
    }
    for r in runners.iter_mut() {
        // Warm-up, not counted; checked like every other batch.
        let got = (r.run)();
        assert_eq!(got, expected, "{}: wrong result", r.name);
    }
    let n = runners.len();
    let mut rates = vec![Vec::with_capacity(plan.repetitions); n];
    for rep in 0..plan.repetitions {
        for k in 0..n {
            let i = (k + rep) % n;
            let r = &mut runners[i];
            let mut units = 0u64;
            let start = Instant::now();
            let mut elapsed;
            loop {
                let got = (r.run)();
                assert_eq!(got, expected, "{}: wrong result", r.name);
                units += got.0;
                elapsed = start.elapsed();
                if elapsed >= plan.per_run {
                    break;
                }
            }
            rates[i].push(units as f64 / elapsed.as_secs_f64());
        }
    }
    Rates {
        names: runners.iter().map(|r| r.name).collect(),
        rates,
    }
}

impl Rates {
    fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| *n == name)
    }

    /// The median rate of a competitor.
    pub fn median(&self, name: &str) -> Option<f64> {
        self.index(name).map(|i| median(&self.rates[i]))
    }

    /// The median and the spread ((max - min) / median) of `a / b` taken in
    /// each repetition.
    pub fn ratio(&self, a: &str, b: &str) -> Option<(f64, f64)> {
        let (a, b) = (self.index(a)?, self.index(b)?);
        let ratios: Vec<f64> = self.rates[a]
            .iter()
            .zip(&self.rates[b])
            .map(|(x, y)| x / y)
            .collect();
        let m = median(&ratios);
        let max = ratios.iter().cloned().fold(f64::MIN, f64::max);
        let min = ratios.iter().cloned().fold(f64::MAX, f64::min);
        Some((m, (max - min) / m))
    }

    /// `a / b` as a table cell: `1.23x (±8%)`.
    pub fn ratio_cell(&self, a: &str, b: &str) -> String {
        match self.ratio(a, b) {
            Some((m, spread)) => format!("{m:.2}x ({:.0}%)", spread * 100.0),
            None => "-".into(),
        }
    }
}

pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
