//! Start-up configuration from environment variables. Every variable is read
//! and checked at once, so a misconfigured function fails its first invocation
//! with one error listing every problem, instead of one problem per deploy.
//!
//! The README's variable table documents [`VARIABLES`]; a test keeps the two
//! in step.

use jiff::tz::TimeZone;

use crate::contract::masking_policy::TableFormat;
use crate::contract::snapshot_export::SourceKind;
use crate::cost::Prices;
use crate::error::Error;
use crate::logical_time::parse_time_zone;
use crate::names;

/// A documented environment variable: name, default (None = required) and meaning.
pub struct Variable {
    pub name: &'static str,
    pub default: Option<&'static str>,
    pub meaning: &'static str,
}

pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "SNAPLAKE_BUCKET",
        default: None,
        meaning: "S3 bucket holding exports, curated tables, plans and task tokens",
    },
    Variable {
        name: "SNAPLAKE_TIME_ZONE",
        default: Some("Asia/Tokyo"),
        meaning: "IANA zone in which a run's logical day is counted",
    },
    Variable {
        name: "SNAPLAKE_EXPORT_PREFIX",
        default: Some("exports"),
        meaning: "key prefix under which RDS writes exports",
    },
    Variable {
        name: "SNAPLAKE_CURATED_PREFIX",
        default: Some("curated"),
        meaning: "key prefix of the curated (masked) table versions",
    },
    Variable {
        name: "SNAPLAKE_CONTROL_PREFIX",
        default: Some("_snaplake"),
        meaning: "key prefix for plans and task tokens (never queried)",
    },
    Variable {
        name: "SNAPLAKE_EXPORT_ID_PREFIX",
        default: Some("snaplake"),
        meaning: "first part of every export id, the module's `name` (3 to 20 lowercase letters, digits and single hyphens, a letter first)",
    },
    Variable {
        name: "SNAPLAKE_RAW_DATABASE",
        default: Some("snaplake_raw"),
        meaning: "Glue database of the raw (restricted) tables",
    },
    Variable {
        name: "SNAPLAKE_CURATED_DATABASE",
        default: Some("snaplake_curated"),
        meaning: "Glue database of the curated tables analysts query",
    },
    Variable {
        name: "SNAPLAKE_ATHENA_WORKGROUP",
        default: Some("snaplake"),
        meaning: "Athena workgroup the queries run in",
    },
    Variable {
        name: "SNAPLAKE_HASH_SALT_SECRET",
        default: Some(""),
        meaning: "query-runner only: the Secrets Manager secret (ARN or name) holding the salt of the `hash_salted` rule; read once at start-up, never logged",
    },
    Variable {
        name: "SNAPLAKE_CURATED_KMS_KEY",
        default: Some(""),
        meaning: "catalog-swap: the curated KMS key (ARN) the run manifests under `<control prefix>/runs/` are written with, so operators read them with curated rights; unset, the bucket's default key",
    },
    Variable {
        name: "SNAPLAKE_POLICY_DIGEST",
        default: Some(""),
        meaning: "the SHA-256 of the masking policy the deployment pins (stored at `<control prefix>/policy/<digest>.json`); runs cannot use another",
    },
    Variable {
        name: "SNAPLAKE_SOURCE_ID",
        default: Some(""),
        meaning: "the cluster or instance the deployment exports; a run naming another is refused",
    },
    Variable {
        name: "SNAPLAKE_SOURCE_KIND",
        default: Some(""),
        meaning: "`cluster` or `instance`: the kind of source the deployment exports; a run naming another is refused",
    },
    Variable {
        name: "SNAPLAKE_EXPORT_ROLE_ARN",
        default: Some(""),
        meaning: "the role RDS writes exports as; a run naming another is refused",
    },
    Variable {
        name: "SNAPLAKE_EXPORT_KMS_KEY",
        default: Some(""),
        meaning: "the ARN of the KMS key exports are encrypted with (the raw key); a run or an export naming another is refused",
    },
    Variable {
        name: "SNAPLAKE_LOCAL_ONLY_INPUT_POLICY",
        default: Some(""),
        meaning: "local tests only: `allow` lets a run without a pinned policy mask with its input's; never set by the Terraform module",
    },
    Variable {
        name: "SNAPLAKE_PRICES",
        default: Some(""),
        meaning: "catalog-swap: the prices a run's cost is figured with, as JSON naming only the prices to change (the module's `prices`); unset, us-east-1's list prices",
    },
    Variable {
        name: "SNAPLAKE_LINEAGE",
        default: Some(""),
        meaning: "snapshot-export and catalog-swap: `glue` posts each run's OpenLineage events to the Glue Data Catalog's lineage (PostLineageEvent); unset, they are only written beside the run's manifest",
    },
    Variable {
        name: "SNAPLAKE_TABLE_FORMAT",
        default: Some("hive"),
        meaning: "catalog-swap: how curated tables are published: `hive` (the table repointed at each day's folder) or `iceberg` (each day one Apache Iceberg snapshot of the same table, yesterday readable by time travel)",
    },
    Variable {
        name: "SNAPLAKE_KEEP_VERSIONS",
        default: Some("4"),
        meaning: "curated versions kept per table (2 to 1000: the live one and the one before)",
    },
];

#[derive(Debug, Clone)]
pub struct Config {
    pub bucket: String,
    pub time_zone: TimeZone,
    pub export_prefix: String,
    pub curated_prefix: String,
    pub control_prefix: String,
    pub export_id_prefix: String,
    pub raw_database: String,
    pub curated_database: String,
    pub athena_workgroup: String,
    pub keep_versions: u32,
    /// The secret holding the salt of `hash_salted`, if any.
    pub hash_salt_secret: Option<String>,
    /// The key run manifests are written with (`SNAPLAKE_CURATED_KMS_KEY`).
    pub curated_kms_key: Option<String>,
    /// What the deployment pins: a run's input may only repeat these.
    pub policy_digest: Option<String>,
    pub pinned_source_id: Option<String>,
    pub pinned_source_kind: Option<SourceKind>,
    pub pinned_export_role_arn: Option<String>,
    /// A key ARN (checked here).
    pub pinned_export_kms_key: Option<String>,
    /// What a run's cost is figured with (`SNAPLAKE_PRICES`).
    pub prices: Prices,
    /// Local tests only (`SNAPLAKE_LOCAL_ONLY_INPUT_POLICY=allow`): with no
    /// pinned policy, a run masks with its input's. Otherwise no pin, no run.
    pub local_only_input_policy: bool,
    /// Whether runs post their lineage to the Glue Data Catalog (`SNAPLAKE_LINEAGE=glue`).
    pub lineage_to_glue: bool,
    /// How curated tables are published (`SNAPLAKE_TABLE_FORMAT`).
    pub table_format: TableFormat,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads through `lookup` (the environment, or a map in tests). Empty
    /// values count as unset, as Terraform writes unset optional variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut problems = Vec::new();
        let mut get = |name: &str| -> String {
            let spec = VARIABLES
                .iter()
                .find(|v| v.name == name)
                .expect("variable is documented");
            match lookup(name).filter(|v| !v.trim().is_empty()) {
                Some(value) => value.trim().to_string(),
                None => match spec.default {
                    Some(default) => default.to_string(),
                    None => {
                        problems.push(format!("{name} is not set: {}", spec.meaning));
                        String::new()
                    }
                },
            }
        };
        let bucket = get("SNAPLAKE_BUCKET");
        let time_zone = get("SNAPLAKE_TIME_ZONE");
        let export_prefix = get("SNAPLAKE_EXPORT_PREFIX");
        let curated_prefix = get("SNAPLAKE_CURATED_PREFIX");
        let control_prefix = get("SNAPLAKE_CONTROL_PREFIX");
        let export_id_prefix = get("SNAPLAKE_EXPORT_ID_PREFIX");
        let raw_database = get("SNAPLAKE_RAW_DATABASE");
        let curated_database = get("SNAPLAKE_CURATED_DATABASE");
        let athena_workgroup = get("SNAPLAKE_ATHENA_WORKGROUP");
        let keep_versions = get("SNAPLAKE_KEEP_VERSIONS");
        let hash_salt_secret = Some(get("SNAPLAKE_HASH_SALT_SECRET")).filter(|s| !s.is_empty());
        let curated_kms_key = Some(get("SNAPLAKE_CURATED_KMS_KEY")).filter(|s| !s.is_empty());
        let policy_digest = Some(get("SNAPLAKE_POLICY_DIGEST")).filter(|s| !s.is_empty());
        let pinned_source_id = Some(get("SNAPLAKE_SOURCE_ID")).filter(|s| !s.is_empty());
        let pinned_source_kind = Some(get("SNAPLAKE_SOURCE_KIND")).filter(|s| !s.is_empty());
        let pinned_export_role_arn = Some(get("SNAPLAKE_EXPORT_ROLE_ARN")).filter(|s| !s.is_empty());
        let pinned_export_kms_key = Some(get("SNAPLAKE_EXPORT_KMS_KEY")).filter(|s| !s.is_empty());
        let local_only_input_policy = get("SNAPLAKE_LOCAL_ONLY_INPUT_POLICY");
        let prices = get("SNAPLAKE_PRICES");
        let lineage = get("SNAPLAKE_LINEAGE");
        let table_format = get("SNAPLAKE_TABLE_FORMAT");

        let mut check = |name: &str, value: &str, result: Result<(), String>| {
            // An unset bucket is already reported as missing.
            if let Err(reason) = result
                && (!value.is_empty() || name != "SNAPLAKE_BUCKET")
            {
                problems.push(format!("{name}={value:?}: {reason}"));
            }
        };
        check("SNAPLAKE_BUCKET", &bucket, names::check_bucket(&bucket));
        for (name, value) in [
            ("SNAPLAKE_EXPORT_PREFIX", &export_prefix),
            ("SNAPLAKE_CURATED_PREFIX", &curated_prefix),
            ("SNAPLAKE_CONTROL_PREFIX", &control_prefix),
        ] {
            check(name, value, names::check_key_prefix(value));
        }
        check(
            "SNAPLAKE_EXPORT_ID_PREFIX",
            &export_id_prefix,
            crate::export_id::check_prefix(&export_id_prefix),
        );
        check(
            "SNAPLAKE_RAW_DATABASE",
            &raw_database,
            names::check_glue_name(&raw_database),
        );
        check(
            "SNAPLAKE_CURATED_DATABASE",
            &curated_database,
            names::check_glue_name(&curated_database),
        );
        check(
            "SNAPLAKE_ATHENA_WORKGROUP",
            &athena_workgroup,
            names::check_workgroup(&athena_workgroup),
        );
        if let Some(d) = &policy_digest
            && let Err(reason) = check_digest("SNAPLAKE_POLICY_DIGEST", d)
        {
            problems.push(format!("SNAPLAKE_POLICY_DIGEST={d:?}: {reason}"));
        }
        let pinned_source_kind = match pinned_source_kind.as_deref().map(SourceKind::parse) {
            Some(Err(reason)) => {
                problems.push(format!(
                    "SNAPLAKE_SOURCE_KIND={:?}: {reason}",
                    pinned_source_kind.unwrap_or_default()
                ));
                None
            }
            Some(Ok(kind)) => Some(kind),
            None => None,
        };
        if let Some(key) = &pinned_export_kms_key
            && let Err(reason) = names::check_kms_key_arn(key)
        {
            problems.push(format!("SNAPLAKE_EXPORT_KMS_KEY={key:?}: {reason}"));
        }
        if !["", "allow"].contains(&local_only_input_policy.as_str()) {
            problems.push(format!(
                "SNAPLAKE_LOCAL_ONLY_INPUT_POLICY={local_only_input_policy:?}: leave it unset (or `allow` in local tests)"
            ));
        }
        if !["", "glue"].contains(&lineage.as_str()) {
            problems.push(format!(
                "SNAPLAKE_LINEAGE={lineage:?}: `glue` to post runs' lineage to the Glue Data Catalog, or unset"
            ));
        }
        let format = match table_format.as_str() {
            "" | "hive" => Some(TableFormat::Hive),
            "iceberg" => Some(TableFormat::Iceberg),
            _ => {
                problems.push(format!(
                    "SNAPLAKE_TABLE_FORMAT={table_format:?}: `hive` (the default) or `iceberg`"
                ));
                None
            }
        };
        let keep = keep_versions.parse::<u32>().ok().filter(|n| (2..=1000).contains(n));
        if keep.is_none() {
            problems.push(format!(
                "SNAPLAKE_KEEP_VERSIONS={keep_versions:?}: must be a whole number from 2 to 1000"
            ));
        }
        let prices = Prices::parse(&prices)
            .map_err(|reason| problems.push(format!("SNAPLAKE_PRICES={prices:?}: {reason}")))
            .ok();
        let zone = parse_time_zone("SNAPLAKE_TIME_ZONE", &time_zone)
            .map_err(|e| problems.push(e.to_string()))
            .ok();

        if !problems.is_empty() {
            return Err(Error::Config { problems });
        }
        Ok(Config {
            bucket,
            time_zone: zone.expect("checked above"),
            export_prefix: export_prefix.trim_matches('/').to_string(),
            curated_prefix: curated_prefix.trim_matches('/').to_string(),
            control_prefix: control_prefix.trim_matches('/').to_string(),
            export_id_prefix,
            raw_database,
            curated_database,
            athena_workgroup,
            keep_versions: keep.expect("checked above"),
            hash_salt_secret,
            curated_kms_key,
            policy_digest,
            pinned_source_id,
            pinned_source_kind,
            pinned_export_role_arn,
            pinned_export_kms_key,
            prices: prices.expect("checked above"),
            local_only_input_policy: local_only_input_policy == "allow",
            lineage_to_glue: lineage == "glue",
            table_format: format.expect("checked above"),
        })
    }
}

/// Checks a digest's form (64 lowercase hex characters).
pub fn check_digest(field: &str, value: &str) -> Result<(), String> {
    if value.len() == 64 && value.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) {
        Ok(())
    } else {
        Err(format!(
            "{field} must be the 64-character lowercase hex SHA-256 of the policy"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, Error> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_fill_everything_but_the_bucket() {
        let c = config(&[("SNAPLAKE_BUCKET", "lake-bucket")]).unwrap();
        assert_eq!(c.bucket, "lake-bucket");
        assert_eq!(c.time_zone.iana_name(), Some("Asia/Tokyo"));
        assert_eq!(c.export_prefix, "exports");
        assert_eq!(c.keep_versions, 4);
        assert_eq!(c.raw_database, "snaplake_raw");
        assert_eq!(c.table_format, TableFormat::Hive);
    }

    #[test]
    fn missing_bucket_is_named_with_its_meaning() {
        let err = config(&[]).unwrap_err().to_string();
        assert!(err.contains("SNAPLAKE_BUCKET is not set"), "{err}");
        assert!(err.contains("1 problem(s)"), "{err}");
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let err = config(&[
            ("SNAPLAKE_BUCKET", "Bad_Bucket"),
            ("SNAPLAKE_TIME_ZONE", "Mars/Base"),
            ("SNAPLAKE_KEEP_VERSIONS", "0"),
            ("SNAPLAKE_RAW_DATABASE", "raw-db"),
            ("SNAPLAKE_EXPORT_ID_PREFIX", "9lives"),
            ("SNAPLAKE_EXPORT_PREFIX", "a//b"),
            ("SNAPLAKE_SOURCE_KIND", "database"),
            ("SNAPLAKE_EXPORT_KMS_KEY", "alias/snaplake"),
            ("SNAPLAKE_PRICES", r#"{"athena_per_tib": 5}"#),
            ("SNAPLAKE_LINEAGE", "datazone"),
            ("SNAPLAKE_TABLE_FORMAT", "delta"),
        ])
        .unwrap_err();
        let Error::Config { problems } = &err else {
            panic!("{err}")
        };
        assert_eq!(problems.len(), 11, "{problems:#?}");
        let text = err.to_string();
        for name in [
            "SNAPLAKE_BUCKET",
            "SNAPLAKE_TIME_ZONE",
            "SNAPLAKE_KEEP_VERSIONS",
            "SNAPLAKE_RAW_DATABASE",
            "SNAPLAKE_EXPORT_ID_PREFIX",
            "SNAPLAKE_EXPORT_PREFIX",
            "SNAPLAKE_SOURCE_KIND",
            "SNAPLAKE_EXPORT_KMS_KEY",
            "SNAPLAKE_PRICES",
            "SNAPLAKE_LINEAGE",
            "SNAPLAKE_TABLE_FORMAT",
        ] {
            assert!(text.contains(name), "{name} missing from {text}");
        }
    }

    #[test]
    fn empty_values_count_as_unset_and_slashes_are_trimmed() {
        let c = config(&[
            ("SNAPLAKE_BUCKET", "lake-bucket"),
            ("SNAPLAKE_TIME_ZONE", ""),
            ("SNAPLAKE_CONTROL_PREFIX", "/ctl/"),
            ("SNAPLAKE_TIME_ZONE", "UTC"),
        ])
        .unwrap();
        assert_eq!(c.control_prefix, "ctl");
        assert_eq!(c.time_zone, TimeZone::UTC);
    }

    #[test]
    fn the_export_pins_are_read_and_unset_ones_pin_nothing() {
        let key = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
        let c = config(&[
            ("SNAPLAKE_BUCKET", "lake-bucket"),
            ("SNAPLAKE_SOURCE_KIND", "instance"),
            ("SNAPLAKE_EXPORT_KMS_KEY", key),
        ])
        .unwrap();
        assert_eq!(c.pinned_source_kind, Some(SourceKind::Instance));
        assert_eq!(c.pinned_export_kms_key.as_deref(), Some(key));
        let c = config(&[("SNAPLAKE_BUCKET", "lake-bucket"), ("SNAPLAKE_SOURCE_KIND", "")]).unwrap();
        assert_eq!((c.pinned_source_kind, c.pinned_export_kms_key), (None, None));
    }

    #[test]
    fn readme_documents_every_variable() {
        let readme = include_str!("../../README.md");
        for v in VARIABLES {
            assert!(readme.contains(&format!("`{}`", v.name)), "README.md lacks {}", v.name);
        }
    }
}
