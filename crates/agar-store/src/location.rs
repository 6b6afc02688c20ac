//! Where a store is: a directory (the default) or `s3://bucket/prefix`, as
//! given to `--store` / `AGAR_STORE`, and the one function that opens either.
//!
//! An `s3://` store is a local *staging* directory mirrored to the bucket
//! (see [`crate::mirror`]): `$AGAR_S3_STAGING` when set, else
//! `CACHE/agar/s3/BUCKET/PREFIX` under the user's cache directory. The S3
//! client is configured by the standard AWS environment variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
//! `AWS_REGION` / `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL` for S3-compatible
//! services); a plain `http://` endpoint is refused unless
//! `AWS_ALLOW_HTTP=true`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;

use crate::Store;
use crate::mirror::ObjectMirror;
use crate::store::{StoreError, check_id};

/// A `--store` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A directory.
    Local(PathBuf),
    /// `s3://bucket/prefix` (`prefix` may be empty).
    S3 { bucket: String, prefix: String },
}

/// The environment variable naming the staging directory of `s3://` stores.
pub const STAGING_ENV: &str = "AGAR_S3_STAGING";

fn bad(spec: &str, why: &str) -> StoreError {
    StoreError::Mirror(format!("--store {spec}: {why}"))
}

impl StoreLocation {
    /// Reads a `--store` value: `s3://bucket[/prefix]`, else a directory.
    pub fn parse(spec: &Path) -> Result<Self, StoreError> {
        let Some(text) = spec.to_str().and_then(|s| s.strip_prefix("s3://")) else {
            return Ok(StoreLocation::Local(spec.to_path_buf()));
        };
        let shown = spec.display().to_string();
        let (bucket, prefix) = text.split_once('/').unwrap_or((text, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !bucket_ok {
            return Err(bad(&shown, "not a valid bucket name (3-63 of a-z, 0-9, '-', '.')"));
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() && prefix.split('/').any(|part| check_id(part).is_err()) {
            return Err(bad(
                &shown,
                "each part of the prefix must be letters, digits, '-', '_' or '.' (not starting with '.')",
            ));
        }
        Ok(StoreLocation::S3 { bucket: bucket.to_string(), prefix: prefix.to_string() })
    }

    /// The location as written on the command line.
    pub fn describe(&self) -> String {
        match self {
            StoreLocation::Local(p) => p.display().to_string(),
            StoreLocation::S3 { bucket, prefix } if prefix.is_empty() => format!("s3://{bucket}"),
            StoreLocation::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
        }
    }
}

/// Whether `spec` names an object store (`s3://`) rather than a directory.
pub fn is_remote(spec: &Path) -> bool {
    spec.to_str().is_some_and(|s| s.starts_with("s3://"))
}

/// The staging directory of an `s3://` store (see the module docs).
pub fn staging_dir(bucket: &str, prefix: &str) -> Result<PathBuf, StoreError> {
    if let Some(dir) = std::env::var_os(STAGING_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let cache = dirs::cache_dir().ok_or_else(|| {
        StoreError::Mirror(format!(
            "no user cache directory for the staging of s3://{bucket}; set {STAGING_ENV}"
        ))
    })?;
    let mut dir = cache.join("agar").join("s3").join(bucket);
    for part in prefix.split('/').filter(|p| !p.is_empty()) {
        dir = dir.join(part);
    }
    Ok(dir)
}

/// Opens the store at `spec`, creating a local one if needed (`agar audit`).
pub fn open(spec: &Path) -> Result<Store, StoreError> {
    match StoreLocation::parse(spec)? {
        StoreLocation::Local(dir) => Store::open(dir),
        StoreLocation::S3 { bucket, prefix } => {
            let staging = staging_dir(&bucket, &prefix)?;
            open_s3(&bucket, &prefix, &staging)
        }
    }
}

/// Opens the store at `spec`; a local one must exist (`agar show`, `resume`).
pub fn open_existing(spec: &Path) -> Result<Store, StoreError> {
    match StoreLocation::parse(spec)? {
        StoreLocation::Local(dir) => Store::open_existing(dir),
        StoreLocation::S3 { .. } => open(spec),
    }
}

/// The store at `spec` as it is, to read from: a local store must exist;
/// an `s3://` store is listed and downloaded into `scratch` (a directory
/// of the caller's that should be empty), so what is read is what the bucket
/// holds, not what a staging directory kept. Returns the store and how many
/// files were downloaded.
pub fn snapshot(spec: &Path, scratch: &Path) -> Result<(Store, usize), StoreError> {
    match StoreLocation::parse(spec)? {
        StoreLocation::Local(dir) => Ok((Store::open_existing(dir)?, 0)),
        StoreLocation::S3 { bucket, prefix } => {
            let store = open_s3(&bucket, &prefix, scratch)?;
            let pulled = store.pull_all()?;
            Ok((store, pulled))
        }
    }
}

/// An `s3://bucket/prefix` store staged in `staging`, the S3 client
/// configured from the environment (see the module docs).
pub fn open_s3(bucket: &str, prefix: &str, staging: &Path) -> Result<Store, StoreError> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let endpoint =
        ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"].into_iter().find_map(env);
    if let Some(why) = plain_http_refused(endpoint.as_deref(), env("AWS_ALLOW_HTTP").as_deref()) {
        return Err(StoreError::Mirror(format!("s3://{bucket}: {why}")));
    }
    let s3 = AmazonS3Builder::from_env().with_bucket_name(bucket).build().map_err(|e| {
        StoreError::Mirror(format!(
            "s3://{bucket}: {e} (see docs/storage.md for the AWS_* variables)"
        ))
    })?;
    let location = StoreLocation::S3 { bucket: bucket.to_string(), prefix: prefix.to_string() };
    let mirror = ObjectMirror::new(Arc::new(s3), prefix, location.describe())?;
    Store::open_mirrored(staging, Arc::new(mirror))
}

/// Why a plain `http://` endpoint is refused: only with `AWS_ALLOW_HTTP=true`
/// (object_store's own refusal says only "builder error").
fn plain_http_refused(endpoint: Option<&str>, allow_http: Option<&str>) -> Option<String> {
    let endpoint = endpoint?;
    let plain = endpoint.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("http://"));
    let allowed = allow_http.is_some_and(|v| v.eq_ignore_ascii_case("true"));
    (plain && !allowed).then(|| {
        format!("the endpoint {endpoint} is plain http; set AWS_ALLOW_HTTP=true to allow it")
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_plain_http_endpoint_needs_the_explicit_opt_in() {
        let refused = super::plain_http_refused(Some("http://127.0.0.1:9000"), None);
        assert!(refused.is_some_and(|r| r.contains("AWS_ALLOW_HTTP=true")));
        assert_eq!(super::plain_http_refused(Some("http://127.0.0.1:9000"), Some("true")), None);
        assert_eq!(super::plain_http_refused(Some("https://s3.example"), None), None);
        assert_eq!(super::plain_http_refused(None, None), None);
    }

    use super::*;

    #[test]
    fn parses_directories_and_s3_urls() -> Result<(), StoreError> {
        assert_eq!(
            StoreLocation::parse(Path::new("transcripts"))?,
            StoreLocation::Local("transcripts".into())
        );
        let s3 = StoreLocation::parse(Path::new("s3://agar-runs/team/nightly/"))?;
        assert_eq!(
            s3,
            StoreLocation::S3 { bucket: "agar-runs".into(), prefix: "team/nightly".into() }
        );
        assert_eq!(s3.describe(), "s3://agar-runs/team/nightly");
        assert_eq!(StoreLocation::parse(Path::new("s3://agar-runs"))?.describe(), "s3://agar-runs");
        Ok(())
    }

    #[test]
    fn refuses_bad_buckets_and_prefixes_with_the_reason() {
        for (spec, why) in [
            ("s3://", "bucket"),
            ("s3://Upper", "bucket"),
            ("s3://ok-bucket/../up", "prefix"),
            ("s3://ok-bucket/a/.hidden", "prefix"),
        ] {
            let e = StoreLocation::parse(Path::new(spec)).err().map(|e| e.to_string());
            assert!(
                e.as_deref().is_some_and(|e| e.contains(why) && e.contains(spec)),
                "{spec}: {e:?}"
            );
        }
    }
}
