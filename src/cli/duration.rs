//! Durations on the command line, in the Kubernetes (Go) style: `90s`,
//! `30m`, `1h30m`, `250ms`, `1.5s`. Parsed by jiff's "friendly" format,
//! which also takes spaced and long forms (`1h 30m`, `2 minutes`); negative
//! durations and bare numbers (other than `0`) are refused, as Go refuses them.

use std::time::Duration;

use jiff::fmt::friendly::SpanParser;

const HINT: &str = "use a number with a unit: 90s, 30m, 1h30m, 250ms";

pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(format!("{text:?} has no unit ({HINT})"));
    }
    static PARSER: SpanParser = SpanParser::new();
    let signed = PARSER.parse_duration(text).map_err(|e| format!("{text:?} is not a duration ({HINT}): {e}"))?;
    Duration::try_from(signed).map_err(|_| format!("{text:?} is negative; a duration here must not be"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_style_durations() {
        assert_eq!(parse("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        let bare = parse("7").unwrap_err();
        assert!(bare.contains("no unit"), "{bare}");
        let unknown = parse("5 parsecs").unwrap_err();
        assert!(unknown.contains("is not a duration") && unknown.contains("1h30m"), "{unknown}");
        assert!(parse("m").is_err());
        assert!(parse("").is_err());
        assert!(parse("-5s").unwrap_err().contains("negative"));
    }
}
