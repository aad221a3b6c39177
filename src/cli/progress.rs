//! Progress of a long `sync` on stderr: objects done of the total, the rate,
//! and an ETA that respects ZPA's write limit (at 10 writes per 10 s, 1,000
//! new objects take about 17 minutes however fast the rest is). On a
//! terminal one line is rewritten in place; otherwise (CI logs, pipes) a
//! plain line is printed at every tenth of the way and at the end.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::zpa::RateLimits;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// One line rewritten in place (stderr is a terminal).
    Terminal,
    /// Plain lines.
    Lines,
    /// Nothing.
    Off,
}

pub struct Progress {
    style: Style,
    total: usize,
    done: usize,
    writes: u64,
    started: Instant,
    /// Seconds per write at the tenant's write limit.
    write_interval: f64,
    /// The last tenth a plain line was printed for.
    last_tenth: usize,
    out: Box<dyn Write + Send + Sync>,
}

impl Progress {
    pub fn new(style: Style, total: usize, limits: &RateLimits, out: Box<dyn Write + Send + Sync>) -> Self {
        let write_interval = limits.window.as_secs_f64() / f64::from(limits.writes.max(1));
        Self { style, total, done: 0, writes: 0, started: Instant::now(), write_interval, last_tenth: 0, out }
    }

    /// One more object done, after `writes` writes to ZPA.
    pub fn advance(&mut self, writes: u64) {
        self.done += 1;
        self.writes += writes;
        let line = self.line(self.started.elapsed());
        match self.style {
            Style::Off => {}
            Style::Terminal => {
                let _ = write!(self.out, "\r\x1b[2K{line}");
                if self.done >= self.total {
                    let _ = writeln!(self.out);
                }
                let _ = self.out.flush();
            }
            Style::Lines => {
                let tenth = (self.done * 10).checked_div(self.total).unwrap_or(10);
                if tenth > self.last_tenth || self.done >= self.total {
                    self.last_tenth = tenth;
                    let _ = writeln!(self.out, "progress: {line}");
                }
            }
        }
    }

    /// `12/40 objects (30%), 1.2 objects/s, ETA 28s`.
    pub fn line(&self, elapsed: Duration) -> String {
        let (done, total) = (self.done, self.total);
        let percent = (done * 100).checked_div(total).unwrap_or(100);
        let seconds = elapsed.as_secs_f64().max(0.001);
        let rate = done as f64 / seconds;
        let remaining = total.saturating_sub(done);
        // Each object left costs at least what each so far did; its writes
        // (one per object until one is seen) cannot beat the write limit.
        let per_object = if done == 0 { 0.0 } else { seconds / done as f64 };
        let writes_per_object = if done == 0 { 1.0 } else { self.writes as f64 / done as f64 };
        let eta = remaining as f64 * per_object.max(writes_per_object * self.write_interval);
        let eta = if remaining == 0 { "done".to_owned() } else { format!("ETA {}", short(eta)) };
        format!("{done}/{total} objects ({percent}%), {rate:.1} objects/s, {eta}")
    }
}

/// `17m`, `1h 05m`, `42s`.
fn short(seconds: f64) -> String {
    let seconds = seconds.round() as u64;
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h{:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn eta_follows_the_write_limit() {
        let mut progress = Progress::new(Style::Off, 1000, &RateLimits::default(), Box::new(std::io::sink()));
        // Nothing done yet: one write per object at 10 per 10 s, about 17 minutes.
        assert!(progress.line(Duration::ZERO).ends_with("ETA 16m40s"), "{}", progress.line(Duration::ZERO));
        progress.advance(1);
        // Fast so far (the limiter's burst), but the limit still holds.
        assert!(progress.line(Duration::from_millis(10)).ends_with("ETA 16m39s"));
        // Slower than the limit: the observed pace wins.
        assert!(progress.line(Duration::from_secs(2)).ends_with("ETA 33m18s"));
    }

    #[test]
    fn plain_lines_at_each_tenth_and_the_end() {
        let captured = Captured::default();
        let mut progress = Progress::new(Style::Lines, 3, &RateLimits::default(), Box::new(captured.clone()));
        for _ in 0..3 {
            progress.advance(0);
        }
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("progress: 1/3 objects (33%)"), "{text}");
        assert!(lines[2].starts_with("progress: 3/3 objects (100%)") && lines[2].ends_with("done"), "{text}");
        assert!(!text.contains('\r') && !text.contains('\x1b'), "no terminal control in plain lines");
    }
}
