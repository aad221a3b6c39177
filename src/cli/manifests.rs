//! Reading manifests for `plan`, `sync` and `export`, as `kubectl apply -f`
//! reads them: each `-f` is a file, a directory (its `.yaml`, `.yml` and
//! `.json` files, in name order; with `-R` those of its subdirectories too)
//! or `-` for standard input. Every document of this operator's group is
//! checked as the API server would check it (`crd::validation`) before
//! anything else happens: one refused document refuses the whole run.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use serde_json::Value;

use crate::crd::validation::{self, Refusal};
use crate::crd::{IsolationProfile, Microtenant, ZpaProviderConfig};
use crate::secret::SecretString;

/// The objects `plan`, `sync` and `export` act on, and what they read.
#[derive(Debug, Default)]
pub struct Manifests {
    pub provider_configs: Vec<ZpaProviderConfig>,
    pub secrets: Vec<Secret>,
    pub microtenants: Vec<Microtenant>,
    pub profiles: Vec<IsolationProfile>,
    /// Documents of other groups, described for the user.
    pub ignored: Vec<String>,
    /// What the user should know about the input (a document that replaces an earlier one).
    pub notes: Vec<String>,
}

/// Namespaced objects without one land here, as with `kubectl apply`.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Where a document came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file as given (or found in a directory), or `STDIN`.
    pub source: String,
    /// 1-based, among the file's non-empty documents.
    pub document: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (document {})", self.source, self.document)
    }
}

/// A document refused, and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub origin: Origin,
    pub kind: String,
    pub name: String,
    pub refusal: Refusal,
}

/// Why manifests could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the path {0:?} does not exist")]
    Missing(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: invalid YAML: {error}")]
    Yaml { file: String, error: String },
    #[error("no objects passed (no .yaml, .yml or .json file in {0})")]
    NoObjects(String),
    /// Documents the API server would refuse; nothing was done.
    #[error("{} document(s) refused", .0.len())]
    Refused(Vec<Refused>),
}

/// What `-f` and `-R` name.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub filenames: Vec<PathBuf>,
    pub recursive: bool,
}

/// A file's text and how to call it.
struct SourceText {
    name: String,
    text: String,
}

impl Inputs {
    fn read(&self, stdin: &mut dyn Read) -> Result<Vec<SourceText>, LoadError> {
        let mut sources = Vec::new();
        for path in &self.filenames {
            if path.as_os_str() == "-" {
                let mut text = String::new();
                stdin.read_to_string(&mut text).map_err(|source| LoadError::Read { path: "STDIN".into(), source })?;
                sources.push(SourceText { name: "STDIN".into(), text });
                continue;
            }
            let metadata = std::fs::metadata(path).map_err(|error| match error.kind() {
                std::io::ErrorKind::NotFound => LoadError::Missing(path.display().to_string()),
                _ => LoadError::Read { path: path.display().to_string(), source: error },
            })?;
            if metadata.is_dir() {
                let mut files = Vec::new();
                collect_dir(path, self.recursive, &mut files)?;
                if files.is_empty() {
                    return Err(LoadError::NoObjects(path.display().to_string()));
                }
                for file in files {
                    sources.push(read_file(&file)?);
                }
            } else {
                sources.push(read_file(path)?);
            }
        }
        Ok(sources)
    }
}

fn read_file(path: &Path) -> Result<SourceText, LoadError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read { path: name.clone(), source })?;
    Ok(SourceText { name, text })
}

/// A directory's manifest files in name order (kubectl's extensions), and
/// with `recursive` its subdirectories' after them.
fn collect_dir(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let entries =
        std::fs::read_dir(dir).map_err(|source| LoadError::Read { path: dir.display().to_string(), source })?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|entry| entry.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut subdirs = Vec::new();
    for path in paths {
        if path.is_dir() {
            subdirs.push(path);
        } else if path.extension().is_some_and(|x| x == "yaml" || x == "yml" || x == "json") {
            out.push(path);
        }
    }
    if recursive {
        for subdir in subdirs {
            collect_dir(&subdir, true, out)?;
        }
    }
    Ok(())
}

impl Manifests {
    /// Reads, parses and validates every document `inputs` names (`-` from `stdin`).
    pub fn load(inputs: &Inputs, stdin: &mut dyn Read) -> Result<Self, LoadError> {
        let mut manifests = Manifests::default();
        let mut refused = Vec::new();
        // Earlier documents of our group by object, for transition rules.
        let mut seen: HashMap<(String, String, String), (Origin, Value)> = HashMap::new();
        for source in inputs.read(stdin)? {
            let documents =
                parse_documents(&source.text).map_err(|error| LoadError::Yaml { file: source.name.clone(), error })?;
            for (index, document) in documents.into_iter().enumerate() {
                let origin = Origin { source: source.name.clone(), document: index + 1 };
                if let Err(refusal) = manifests.add(document, &origin, &mut seen) {
                    refused.push(*refusal);
                }
            }
        }
        if !refused.is_empty() {
            return Err(LoadError::Refused(refused));
        }
        Ok(manifests)
    }

    /// Parses `text` alone (tests, and callers that hold the text).
    pub fn from_text(text: &str) -> Result<Self, LoadError> {
        let mut manifests = Manifests::default();
        let mut seen = HashMap::new();
        let mut refused = Vec::new();
        let documents = parse_documents(text).map_err(|error| LoadError::Yaml { file: "text".into(), error })?;
        for (index, document) in documents.into_iter().enumerate() {
            let origin = Origin { source: "text".into(), document: index + 1 };
            if let Err(refusal) = manifests.add(document, &origin, &mut seen) {
                refused.push(*refusal);
            }
        }
        if refused.is_empty() { Ok(manifests) } else { Err(LoadError::Refused(refused)) }
    }

    fn add(
        &mut self,
        mut value: Value,
        origin: &Origin,
        seen: &mut HashMap<(String, String, String), (Origin, Value)>,
    ) -> Result<(), Box<Refused>> {
        let text = |pointer: &str| value.pointer(pointer).and_then(Value::as_str).filter(|t| !t.is_empty());
        let (kind, api_version) = (text("/kind").map(str::to_owned), text("/apiVersion").map(str::to_owned));
        // Without a name the refusal says so; the empty name only labels it.
        let name = text("/metadata/name").map_or_else(String::new, str::to_owned);
        let (Some(kind), Some(api_version)) = (kind.clone(), api_version.clone()) else {
            let refusal = Refusal::NotSet { api_version: api_version.is_none(), kind: kind.is_none() };
            let kind = kind.unwrap_or_else(|| "(no kind)".to_owned());
            return Err(Box::new(Refused { origin: origin.clone(), kind, name, refusal }));
        };
        let refused = |refusal: Refusal| {
            Box::new(Refused { origin: origin.clone(), kind: kind.clone(), name: name.clone(), refusal })
        };
        if validation::is_our_group(&api_version) {
            let namespaced = validation::served_kinds().iter().any(|k| k.kind == kind && k.namespaced);
            if namespaced
                && value.pointer("/metadata/namespace").is_none_or(Value::is_null)
                && let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut)
            {
                metadata.insert("namespace".into(), Value::from(DEFAULT_NAMESPACE));
            }
            let namespace =
                value.pointer("/metadata/namespace").and_then(Value::as_str).map_or_else(String::new, str::to_owned);
            let key = (kind.clone(), namespace.clone(), name.clone());
            let old = seen.get(&key).map(|(_, old)| old);
            validation::validate(&value, old).map_err(refused)?;
            if let Some((earlier, _)) = seen.get(&key) {
                self.notes.push(format!(
                    "{kind} {namespace}/{name} in {origin} replaces the one in {earlier}, as a second kubectl apply would"
                ));
            }
            seen.insert(key, (origin.clone(), value.clone()));
            // The API server ignores status on create (a status subresource).
            if let Some(object) = value.as_object_mut() {
                object.remove("status");
            }
            let decode_error = |e: serde_json::Error| {
                refused(Refusal::Invalid {
                    kind: kind.clone(),
                    name: name.clone(),
                    causes: vec![validation::FieldError {
                        path: "<root>".into(),
                        problem: validation::Problem::Invalid { value: "\"object\"".into(), detail: e.to_string() },
                    }],
                })
            };
            match kind.as_str() {
                "ZpaProviderConfig" => {
                    let object: ZpaProviderConfig = serde_json::from_value(value).map_err(decode_error)?;
                    replace(&mut self.provider_configs, object);
                }
                "Microtenant" => {
                    let object: Microtenant = serde_json::from_value(value).map_err(decode_error)?;
                    replace(&mut self.microtenants, object);
                }
                "IsolationProfile" => {
                    let object: IsolationProfile = serde_json::from_value(value).map_err(decode_error)?;
                    replace(&mut self.profiles, object);
                }
                _ => {}
            }
            return Ok(());
        }
        match (api_version.as_str(), kind.as_str()) {
            ("v1", "Secret") => {
                let mut secret: Secret = serde_json::from_value(value).map_err(|e| {
                    refused(Refusal::Invalid {
                        kind: "Secret".into(),
                        name: name.clone(),
                        causes: vec![validation::FieldError {
                            path: "<root>".into(),
                            problem: validation::Problem::Invalid { value: "\"object\"".into(), detail: e.to_string() },
                        }],
                    })
                })?;
                if secret.metadata.namespace.is_none() {
                    secret.metadata.namespace = Some(DEFAULT_NAMESPACE.to_owned());
                }
                replace(&mut self.secrets, secret);
            }
            _ => self.ignored.push(format!("{kind} {name}")),
        }
        Ok(())
    }

    /// A key of a Secret from the manifests (`stringData` or `data`).
    pub fn secret_key(&self, namespace: &str, name: &str, key: &str) -> Option<SecretString> {
        let secret =
            self.secrets.iter().find(|s| s.namespace().as_deref() == Some(namespace) && s.name_any() == name)?;
        let from_string = secret.string_data.as_ref().and_then(|d| d.get(key)).cloned();
        let from_data = secret.data.as_ref().and_then(|d| d.get(key)).and_then(|b| String::from_utf8(b.0.clone()).ok());
        from_string.or(from_data).map(|v| SecretString::new(v.trim())).filter(|v| !v.is_empty())
    }

    pub fn provider_config(&self, name: &str) -> Option<&ZpaProviderConfig> {
        self.provider_configs.iter().find(|p| p.name_any() == name)
    }

    pub fn microtenant(&self, namespace: &str, name: &str) -> Option<&Microtenant> {
        self.microtenants.iter().find(|m| m.namespace().as_deref() == Some(namespace) && m.name_any() == name)
    }
}

/// The documents of a YAML (or JSON) stream; empty documents left out.
fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    let documents = serde_saphyr::from_multiple::<Value>(text).map_err(|e| e.to_string())?;
    Ok(documents.into_iter().filter(|d| !d.is_null()).collect())
}

/// A later document for the same object replaces the earlier one.
fn replace<K: ResourceExt>(objects: &mut Vec<K>, object: K) {
    let same = |o: &K| o.name_any() == object.name_any() && o.namespace() == object.namespace();
    match objects.iter().position(same) {
        Some(at) => objects[at] = object,
        None => objects.push(object),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_sorted_by_kind_and_secrets_readable() {
        let manifests = Manifests::from_text(
            r#"
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: zpa-system}
stringData: {clientId: abc}
data: {clientSecret: czNjcmV0}
---
apiVersion: zpa.operator.dev/v1alpha1
kind: Microtenant
metadata: {name: team-a}
spec: {criteriaAttributeValues: [a.example.com]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: other}
"#,
        )
        .unwrap();
        assert_eq!(manifests.microtenants[0].namespace().as_deref(), Some("default"));
        assert_eq!(manifests.secret_key("zpa-system", "creds", "clientId").unwrap().expose(), "abc");
        assert_eq!(manifests.secret_key("zpa-system", "creds", "clientSecret").unwrap().expose(), "s3cret");
        assert_eq!(manifests.ignored, vec!["Deployment other"]);
    }

    #[test]
    fn refused_documents_name_file_document_and_field() {
        let error = Manifests::from_text(
            "apiVersion: zpa.operator.dev/v1alpha1\nkind: Microtenant\nmetadata: {name: x}\nspec: {criteriaAttributeValues: 3}\n---\napiVersion: zpa.operator.dev/v1beta1\nkind: Microtenant\nmetadata: {name: y}\nspec: {}\n",
        )
        .unwrap_err();
        let LoadError::Refused(refused) = error else { panic!("{error}") };
        assert_eq!(refused.len(), 2);
        assert_eq!(refused[0].origin.to_string(), "text (document 1)");
        assert!(refused[0].refusal.to_string().contains(
            r#"spec.criteriaAttributeValues: Invalid value: "integer": spec.criteriaAttributeValues in body must be of type array"#
        ));
        assert!(
            refused[1]
                .refusal
                .to_string()
                .contains(r#"no matches for kind "Microtenant" in version "zpa.operator.dev/v1beta1""#)
        );
    }

    #[test]
    fn files_directories_recursion_and_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let doc = |name: &str| {
            format!(
                "apiVersion: zpa.operator.dev/v1alpha1\nkind: Microtenant\nmetadata: {{name: {name}}}\nspec: {{}}\n"
            )
        };
        std::fs::write(dir.path().join("a.yaml"), doc("a")).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a manifest").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b.yml"), doc("b")).unwrap();
        std::fs::write(
            dir.path().join("sub/c.json"),
            r#"{"apiVersion":"zpa.operator.dev/v1alpha1","kind":"Microtenant","metadata":{"name":"c"},"spec":{}}"#,
        )
        .unwrap();
        let names = |inputs: Inputs, stdin: &str| -> Vec<String> {
            let manifests = Manifests::load(&inputs, &mut stdin.as_bytes()).unwrap();
            manifests.microtenants.iter().map(|m| m.name_any()).collect()
        };
        let flat = Inputs { filenames: vec![dir.path().into()], recursive: false };
        assert_eq!(names(flat, ""), ["a"]);
        let deep = Inputs { filenames: vec![dir.path().into()], recursive: true };
        assert_eq!(names(deep, ""), ["a", "b", "c"]);
        let file_and_stdin = Inputs { filenames: vec![dir.path().join("sub/b.yml"), "-".into()], recursive: false };
        assert_eq!(names(file_and_stdin, &doc("d")), ["b", "d"]);
        let missing = Inputs { filenames: vec![dir.path().join("nope")], recursive: false };
        assert!(matches!(Manifests::load(&missing, &mut "".as_bytes()), Err(LoadError::Missing(_))));
    }
}
