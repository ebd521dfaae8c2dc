//! The version of a policy set: a content hash of its files, so that the same files give the
//! same [`PolicyVersion`] wherever they are read from (a directory, the store, a push).

use super::SourceFile;
use crate::domain::PolicyVersion;

/// The version of a policy set: the SHA-256 of its files, each as its kind (schema or
/// policies), its file name (not the directory: the same set read from another place is the
/// same version) and its text, length-prefixed so that no two sets share an input. The files
/// come sorted by name (as [`SourceFile::read_dir`] reads them), so the order is fixed too.
pub fn policy_version(schema_files: &[SourceFile], policy_files: &[SourceFile]) -> PolicyVersion {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (kind, files) in [(b's', schema_files), (b'p', policy_files)] {
        for file in files {
            let name = file
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            hasher.update([kind]);
            hasher.update((name.len() as u64).to_le_bytes());
            hasher.update(name.as_bytes());
            hasher.update((file.text.len() as u64).to_le_bytes());
            hasher.update(file.text.as_bytes());
        }
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    PolicyVersion::from_digest(&hex)
}

#[cfg(test)]
mod version_tests {
    use std::path::PathBuf;

    use super::{SourceFile, policy_version};

    fn file(path: &str, text: &str) -> SourceFile {
        SourceFile {
            path: PathBuf::from(path),
            text: text.to_owned(),
        }
    }

    #[test]
    fn the_version_is_the_files_content_and_names_not_their_place() {
        let schema = [file("/a/schema/hub.cedarschema", "namespace Hub {}")];
        let policies = [
            file(
                "/a/policies/one.cedar",
                "permit(principal, action, resource);",
            ),
            file(
                "/a/policies/two.cedar",
                "forbid(principal, action, resource);",
            ),
        ];
        let version = policy_version(&schema, &policies);
        assert_eq!(version.as_str().len(), 64);

        let moved_schema = [file("/b/s/hub.cedarschema", "namespace Hub {}")];
        let moved = [
            file("/b/p/one.cedar", "permit(principal, action, resource);"),
            file("/b/p/two.cedar", "forbid(principal, action, resource);"),
        ];
        assert_eq!(policy_version(&moved_schema, &moved), version, "moved");

        let mut edited = policies.clone();
        edited[1].text.push(' ');
        assert_ne!(policy_version(&schema, &edited), version, "one byte more");

        let mut renamed = policies.clone();
        renamed[1].path = PathBuf::from("/a/policies/three.cedar");
        assert_ne!(policy_version(&schema, &renamed), version, "renamed");

        // Text moved from one file's end to the next one's start is another set.
        let shifted = [
            file(
                "/a/policies/one.cedar",
                "permit(principal, action, resource);f",
            ),
            file(
                "/a/policies/two.cedar",
                "orbid(principal, action, resource);",
            ),
        ];
        assert_ne!(policy_version(&schema, &shifted), version, "shifted");

        // A schema file is not a policy file of the same name and text.
        assert_ne!(
            policy_version(
                &[],
                &[schema[0].clone(), policies[0].clone(), policies[1].clone()]
            ),
            version,
            "kinds"
        );
    }
}
