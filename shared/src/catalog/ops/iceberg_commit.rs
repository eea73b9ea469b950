//! Publishes a table's version as one Iceberg snapshot (`SNAPLAKE_TABLE_FORMAT=iceberg`):
//! writes the metadata `catalog::iceberg` builds (encrypted with the
//! curated key and tagged as audited, as the version's files are), then
//! points the Glue table at it in one `UpdateTable` carrying the
//! `VersionId` read before, as Iceberg's own Glue catalog commits:
//! `metadata_location` is the new metadata file, `previous_metadata_location`
//! the one it replaces. Readers see the previous snapshot or the new one,
//! never an empty or partial table, and the table (its UUID, its Lake
//! Formation grants) stays the same.
//!
//! The Glue table's storage location is the version's folder, as for a Hive
//! table: the swap's judgement (superseded, unchanged, the quality gate),
//! retention and `snaplake status` read the table as they always do. The
//! Iceberg table's own location is the table's base, where its metadata
//! lives (`metadata/`, which retention never deletes). Each commit expires
//! the snapshots beyond `SNAPLAKE_KEEP_VERSIONS`, so time travel never
//! reaches a day whose folder retention deletes.
//!
//! One attempt: a concurrent change (`ConcurrentModificationException`)
//! answers `Update::Conflict`, and the caller reads the table again and
//! judges anew, as for a Hive table. The metadata files are named by the
//! run (`iceberg::overwrite`), so a retry rewrites the same objects.

use jiff::Timestamp;
use tracing::info;

use super::curated_base;
use crate::aws::glue::{self, TableDef, TableState, Update};
use crate::aws::s3::{self, ResultEncryption};
use crate::catalog::audit;
use crate::catalog::iceberg::{self, Current, DataFile, Overwrite};
use crate::catalog::location::S3Prefix;
use crate::catalog::parameters::{ICEBERG, METADATA_LOCATION, PREVIOUS_METADATA_LOCATION, TABLE_TYPE, is_iceberg};
use crate::env::Env;
use crate::error::Error;

/// A version to publish as the table's next snapshot.
pub struct Publish<'a> {
    /// The Glue table as it will read: the version's folder, its columns,
    /// snaplake's parameters (logical time, rows, audit…).
    pub def: &'a TableDef,
    pub files: &'a [DataFile],
    /// Names the snapshot: the same run (or rollback) publishes the same one.
    pub run: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub snapshot_id: i64,
    pub metadata_location: String,
    /// False when the table already holds this run's snapshot (then
    /// `metadata_location` is the table's current one).
    pub changed: bool,
}

/// Publishes `version` onto the table as read (`table`: None when it does
/// not exist yet). See the module's documentation.
pub async fn publish(
    env: &Env,
    table: Option<&TableState>,
    version: &Publish<'_>,
) -> Result<(Update, Committed), Error> {
    let def = version.def;
    let current = current(env, &def.name, table).await?;
    // Already published by this run (a retry): its snapshot is in the table.
    let ours = iceberg::snapshot_id(version.run);
    if let Some(c) = current.as_ref().filter(|c| c.metadata.snapshot_by_id(ours).is_some()) {
        let done = Committed {
            snapshot_id: ours,
            metadata_location: c.metadata_location.clone(),
            changed: false,
        };
        return Ok((Update::Done, done));
    }
    let root = curated_base(env, &def.name).to_string();
    let day = Overwrite {
        table: &def.name,
        location: &root,
        columns: &def.columns,
        files: version.files,
        key: version.run,
        now_ms: Timestamp::now().as_millisecond(),
        keep: env.config.keep_versions as usize,
    };
    let commit = iceberg::overwrite(current.as_ref(), &day).await?;
    write(env, &commit.files).await?;
    let mut glue_def = def.clone();
    glue_def.parameters.insert(TABLE_TYPE.into(), ICEBERG.into());
    glue_def
        .parameters
        .insert(METADATA_LOCATION.into(), commit.metadata_location.clone());
    if let Some(c) = &current {
        glue_def
            .parameters
            .insert(PREVIOUS_METADATA_LOCATION.into(), c.metadata_location.clone());
    }
    let update = match table {
        None => match glue::create_table(&env.clients.glue, &glue_def).await {
            Ok(()) => Update::Done,
            // Another run created it first: read it again.
            Err(e) if e.aws_code() == Some("AlreadyExistsException") => Update::Conflict,
            Err(e) => return Err(e),
        },
        Some(t) => glue::update_table(&env.clients.glue, &glue_def, t.version_id.as_deref()).await?,
    };
    if update == Update::Done {
        info!(table = %def.name, snapshot = commit.snapshot_id, metadata = %commit.metadata_location,
              "published as one Iceberg snapshot");
    }
    let committed = Committed {
        snapshot_id: commit.snapshot_id,
        metadata_location: commit.metadata_location,
        changed: true,
    };
    Ok((update, committed))
}

/// The Iceberg table as Glue and its metadata file hold it, or None for a
/// table that does not exist yet.
async fn current(env: &Env, table: &str, state: Option<&TableState>) -> Result<Option<Current>, Error> {
    let Some(state) = state else { return Ok(None) };
    let database = &env.config.curated_database;
    if !is_iceberg(&state.parameters) {
        return Err(Error::invalid_input(
            format!("curated table {database}.{table}"),
            "is a Hive table, so it is not published as Iceberg; snaplake does not convert a table in place, \
             and nothing was changed. Set table_format \"hive\" again (the module's, or the table's in the \
             masking policy), or drop the table to have the next run create it as Iceberg",
        ));
    }
    let Some(location) = state.parameters.get(METADATA_LOCATION) else {
        return Err(Error::invalid_input(
            format!("curated table {database}.{table}"),
            "is an Iceberg table without a metadata_location parameter; nothing was changed. \
             Restore the parameter (the table's last metadata file is under its location's metadata/)",
        ));
    };
    let file = S3Prefix::parse(METADATA_LOCATION, location)?;
    let key = file.key.trim_end_matches('/');
    let Some(body) = s3::get_bytes(&env.clients.s3, &file.bucket, key).await? else {
        return Err(Error::invalid_input(
            format!("curated table {database}.{table}"),
            format!(
                "names the metadata file {location}, which does not exist; nothing was changed. \
                 Point metadata_location at the table's last metadata file"
            ),
        ));
    };
    Ok(Some(Current::parse(table, location, &body)?))
}

/// Writes the commit's files, the metadata file last, with the curated key,
/// each tagged as audited: analysts read only audited objects, and these
/// describe a version that passed its audit.
async fn write(env: &Env, files: &[(String, Vec<u8>)]) -> Result<(), Error> {
    let encryption = match &env.config.curated_kms_key {
        Some(key) => ResultEncryption::Kms(key.clone()),
        None => ResultEncryption::Unset,
    };
    for (uri, body) in files {
        let object = S3Prefix::parse("iceberg metadata", uri)?;
        let key = object.key.trim_end_matches('/');
        let tag = Some((audit::TAG, audit::PASSED));
        s3::put_bytes_tagged(&env.clients.s3, &object.bucket, key, body.clone(), &encryption, tag).await?;
    }
    Ok(())
}
