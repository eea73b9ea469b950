//! Table locations: parsing `s3://` URIs, and where the next version of a
//! curated table goes. Readers only ever see a location the catalog points
//! at, so a new version always goes somewhere no reader is looking.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::contract::catalog_swap::Layout;
use crate::error::Error;
use crate::names;

/// A prefix in S3, always ending in `/` (a Glue location is a folder).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct S3Prefix {
    pub bucket: String,
    /// Without a leading `/`, with a trailing one (empty for the bucket root).
    pub key: String,
}

impl S3Prefix {
    pub fn parse(field: &str, uri: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::invalid_input(field, format!("{uri:?} is not an S3 location: {why}"));
        let rest = uri
            .strip_prefix("s3://")
            .ok_or_else(|| bad("it must start with s3://"))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        names::check_bucket(bucket).map_err(|why| bad(&why))?;
        if key.contains("//") || key.split('/').any(|s| s == "." || s == "..") {
            return Err(bad("it has empty, '.' or '..' path segments"));
        }
        let key = if key.is_empty() || key.ends_with('/') {
            key.to_string()
        } else {
            format!("{key}/")
        };
        Ok(S3Prefix {
            bucket: bucket.to_string(),
            key,
        })
    }

    pub fn new(bucket: &str, key: &str) -> Self {
        let key = key.trim_matches('/');
        S3Prefix {
            bucket: bucket.to_string(),
            key: if key.is_empty() {
                String::new()
            } else {
                format!("{key}/")
            },
        }
    }

    /// Whether `other` is this prefix or lies below it.
    pub fn contains(&self, other: &S3Prefix) -> bool {
        self.bucket == other.bucket && other.key.starts_with(&self.key)
    }

    /// Whether one of the two contains the other (same, parent or child).
    pub fn overlaps(&self, other: &S3Prefix) -> bool {
        self.contains(other) || other.contains(self)
    }

    pub fn child(&self, segment: &str) -> S3Prefix {
        S3Prefix::new(&self.bucket, &format!("{}{}", self.key, segment.trim_matches('/')))
    }
}

/// Whether an object under a table's location is one of its data files:
/// Athena skips files whose names start with `_` or `.`, and empty objects
/// (folder markers) hold no rows.
pub fn is_data_object(key: &str, size: i64) -> bool {
    let file = key.rsplit('/').next().unwrap_or_default();
    size > 0 && !file.is_empty() && !file.starts_with('_') && !file.starts_with('.')
}

impl fmt::Display for S3Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

impl Serialize for S3Prefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for S3Prefix {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        S3Prefix::parse("location", &text).map_err(serde::de::Error::custom)
    }
}

/// The version folder name for a logical time: `v=20261121T040000Z`
/// (sortable, and unique per run of a day).
pub fn version_segment(logical_time: jiff::Timestamp) -> String {
    format!("v={}", logical_time.strftime("%Y%m%dT%H%M%SZ"))
}

/// Where this run's curated data goes. For blue/green it is the colour that
/// is not live; a table that does not exist yet starts with blue.
pub fn next_location(
    layout: Layout,
    base: &S3Prefix,
    logical_time: jiff::Timestamp,
    live: Option<&S3Prefix>,
) -> Result<S3Prefix, Error> {
    match layout {
        Layout::Versioned => Ok(base.child(&version_segment(logical_time))),
        Layout::BlueGreen => {
            let (blue, green) = (base.child("blue"), base.child("green"));
            match live {
                None => Ok(blue),
                Some(live) if *live == blue => Ok(green),
                Some(live) if *live == green => Ok(blue),
                Some(live) => Err(Error::invalid_input(
                    "layout",
                    format!(
                        "the table is live at {live}, which is neither {blue} nor {green}; \
                         blue/green needs the table to be at one of its colours (or use the versioned layout)"
                    ),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(uri: &str) -> S3Prefix {
        S3Prefix::parse("location", uri).unwrap()
    }

    #[test]
    fn parsing_normalises_the_trailing_slash() {
        assert_eq!(
            p("s3://lake/curated/shop_customers"),
            p("s3://lake/curated/shop_customers/")
        );
        assert_eq!(p("s3://lake").key, "");
        assert_eq!(p("s3://lake/a/b/").to_string(), "s3://lake/a/b/");
    }

    #[test]
    fn malformed_uris_are_refused_naming_the_field() {
        for bad in [
            "lake/a",
            "s3://",
            "s3://Lake/a",
            "s3://lake/a//b",
            "s3://lake/a/../b",
            "https://lake/a",
        ] {
            let err = S3Prefix::parse("new_location", bad).unwrap_err().to_string();
            assert!(
                err.contains("new_location") && err.contains("not an S3 location"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn containment_is_by_whole_segments() {
        let base = p("s3://lake/curated/t/");
        assert!(base.contains(&p("s3://lake/curated/t/v=1/")));
        assert!(!base.contains(&p("s3://lake/curated/t2/")), "t/ does not contain t2/");
        assert!(p("s3://lake/curated/t/v=1/").overlaps(&base));
        assert!(!p("s3://other/curated/t/").overlaps(&base));
    }

    #[test]
    fn versioned_locations_follow_the_logical_time() {
        let base = p("s3://lake/curated/shop_customers/");
        let t: jiff::Timestamp = "2026-11-20T19:00:00Z".parse().unwrap();
        let next = next_location(Layout::Versioned, &base, t, None).unwrap();
        assert_eq!(next.to_string(), "s3://lake/curated/shop_customers/v=20261120T190000Z/");
    }

    #[test]
    fn blue_green_never_writes_into_the_live_colour() {
        let base = p("s3://lake/curated/t/");
        let t = jiff::Timestamp::UNIX_EPOCH;
        let blue = base.child("blue");
        let green = base.child("green");
        assert_eq!(next_location(Layout::BlueGreen, &base, t, None).unwrap(), blue);
        assert_eq!(next_location(Layout::BlueGreen, &base, t, Some(&blue)).unwrap(), green);
        assert_eq!(next_location(Layout::BlueGreen, &base, t, Some(&green)).unwrap(), blue);
        let err = next_location(Layout::BlueGreen, &base, t, Some(&p("s3://lake/elsewhere/"))).unwrap_err();
        assert!(err.to_string().contains("neither"), "{err}");
    }
}
