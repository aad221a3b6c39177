//! Per-object error backoff: 1 s doubling to 5 min, with jitter, reset on
//! success. kube's controller has none built in (kube-rs/kube#1916).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kube::runtime::reflector::ObjectRef;
use rand::Rng;

const FIRST: Duration = Duration::from_secs(1);
const MAX: Duration = Duration::from_secs(300);

/// Objects currently failing, keyed by `kind/namespace/name`.
#[derive(Debug, Default)]
pub struct Backoffs {
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoffs {
    pub fn key<K: kube::Resource<DynamicType = ()>>(object: &K) -> String {
        ObjectRef::from_obj(object).to_string()
    }

    /// Records one more failure and says how long to wait before the next try.
    pub fn next_delay(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let count = failures.entry(key.to_owned()).or_insert(0);
        *count += 1;
        delay_for(*count)
    }

    pub fn reset(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    pub fn in_backoff(&self) -> usize {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// `FIRST * 2^(n-1)`, capped, then between 80 % and 100 % of that.
fn delay_for(failures: u32) -> Duration {
    let ceiling = FIRST.saturating_mul(1 << failures.saturating_sub(1).min(20)).min(MAX);
    ceiling.mul_f64(rand::rng().random_range(0.8..=1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_caps_and_resets() {
        let backoffs = Backoffs::default();
        let delays: Vec<Duration> = (0..12).map(|_| backoffs.next_delay("a")).collect();
        for (i, delay) in delays.iter().enumerate() {
            let ceiling = (FIRST * 2u32.pow(i as u32)).min(MAX);
            assert!(*delay <= ceiling && *delay >= ceiling.mul_f64(0.8), "{i}: {delay:?}");
        }
        assert_eq!(backoffs.in_backoff(), 1);
        backoffs.reset("a");
        assert_eq!(backoffs.in_backoff(), 0);
        assert!(backoffs.next_delay("a") <= FIRST);
    }
}
