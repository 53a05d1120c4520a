//! Sizes and durations as people write them: `"64K"`, `"1M"`, `4096`,
//! `"2ms"`, `"250us"`.
//!
//! Sizes are bytes; the suffixes `K`, `M` and `G` are binary (KiB, MiB, GiB).
//! Durations need a unit (`ns`, `us`, `ms`, `s`) and are converted to counter
//! ticks later, where a duration that is not a whole number of ticks is an
//! error rather than a silent rounding.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// A size in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Size(pub u64);

/// A duration in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub u64);

/// Parses `"64K"`, `"1M"`, `"4096"`, `"0x1000"`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, multiplier) = match text.as_bytes().last() {
        Some(b'K' | b'k') => (&text[..text.len() - 1], 1u64 << 10),
        Some(b'M' | b'm') => (&text[..text.len() - 1], 1u64 << 20),
        Some(b'G' | b'g') => (&text[..text.len() - 1], 1u64 << 30),
        _ => (text, 1),
    };
    let digits = digits.trim().replace('_', "");
    let value = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => digits.parse::<u64>(),
    }
    .map_err(|_| format!("`{text}` is not a size (write bytes, or a number with K, M or G)"))?;
    value.checked_mul(multiplier).ok_or_else(|| format!("`{text}` is too large"))
}

/// Parses `"10ms"`, `"250us"`, `"1s"`, `"500ns"`.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '_')).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let digits = digits.replace('_', "");
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (write a whole number with ns, us, ms or s)"))?;
    let multiplier = match unit.trim() {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "" => return Err(format!("`{text}` has no unit (write ns, us, ms or s)")),
        other => return Err(format!("`{other}` is not a time unit (write ns, us, ms or s)")),
    };
    value.checked_mul(multiplier).ok_or_else(|| format!("`{text}` is too long"))
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Size, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = Size;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a size such as 4096, \"64K\" or \"1M\"")
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Size, E> {
                u64::try_from(value).map(Size).map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Size, E> {
                Ok(Size(value))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Size, E> {
                parse_size(text).map(Size).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(SizeVisitor)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = Duration;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a duration such as \"2ms\" or \"250us\"")
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Duration, E> {
                Err(E::custom("a duration needs a unit: write \"2ms\", \"250us\", ..."))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
                parse_duration(text).map(Duration).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(DurationVisitor)
    }
}

/// Formats a byte count for people: `64 KiB`, `1 MiB`, `100 B`.
pub fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("0x1000"), Ok(4096));
        assert_eq!(parse_size("4_096"), Ok(4096));
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("99999999999999G").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10ms"), Ok(10_000_000));
        assert_eq!(parse_duration("250us"), Ok(250_000));
        assert_eq!(parse_duration("1s"), Ok(1_000_000_000));
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(parse_duration("10min").unwrap_err().contains("not a time unit"));
        assert!(parse_duration("1.5ms").is_err());
    }

    #[test]
    fn human() {
        assert_eq!(human_size(65536), "64 KiB");
        assert_eq!(human_size(100), "100 B");
        assert_eq!(human_size(3 << 20), "3 MiB");
    }
}
