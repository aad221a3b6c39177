//! Offline validation with kubeconform: JSON schemas generated from `crds/`
//! (committed under `deploy/schemas/`, in kubeconform's `{kind}_{version}.json`
//! layout), and for the built-in kinds the manifests hold, from k8s-openapi
//! (no document is skipped), accept every example manifest and refuse the bad-manifest corpus
//! (`tests/corpus/bad-manifests/`), except the documents only the API server
//! can refuse: CEL rules (`x-kubernetes-validations`), which kubeconform does
//! not evaluate. Each corpus file says which kind of rule refuses it in its
//! `# Refused by:` line:
//!
//! - `schema`: the OpenAPI schema (unknown fields, bounds, enums, types):
//!   kubeconform and the API server;
//! - `no-schema`: an apiVersion the CRDs do not serve: kubeconform finds no
//!   schema, the API server no kind;
//! - `no-kind`: no `kind`: both;
//! - `cel`: a CEL rule: the API server only (kubeconform accepts the file,
//!   which this test asserts, so the line cannot lie);
//! - `cel-update`: a CEL transition rule (`oldSelf`): the API server only, and
//!   only when the second document updates the first.
//!
//! Its `# kubeconform:` line records what kubeconform says (checked here), its
//! `# API server:` line what the API server says.
//!
//! What the real API server answers to the same files is in
//! `tests/manifest_server_validation.rs`.
//!
//! Regenerate the schemas after changing `crds/`:
//! `ZPA_UPDATE_SCHEMAS=1 cargo test --test manifest_schemas schemas_are_generated_from_the_crds`.
//!
//! Tools: the Go-built `kubeconform` (tests/controlplane/build.sh), and `helm`
//! for the chart renders. A missing tool fails with one line.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value, json};

use support::tools::{crd_sources, go_tool, helm, helm_template, root, run_tool, yaml_files};

/// kubeconform's lookup of our schemas, relative to the repository root.
const SCHEMA_LOCATION: &str = "deploy/schemas/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json";

/// Kubernetes OpenAPI formats JSON Schema does not know (kubeconform would
/// ignore them; dropping them keeps the schemas plain).
const KUBERNETES_FORMATS: [&str; 7] = ["int32", "int64", "uint32", "uint64", "float", "double", "byte"];

/// A CRD's structural schema as a JSON Schema for kubeconform: `nullable`
/// becomes a null type, `x-kubernetes-int-or-string` a choice of integer and
/// string, set lists `uniqueItems`, and every object with properties (unless
/// it preserves unknown fields) refuses other properties, as the API server's
/// strict field validation does. CEL rules are dropped: JSON Schema cannot
/// express them.
fn to_json_schema(node: &Value) -> Value {
    let Value::Object(map) = node else { return node.clone() };
    let mut out = Map::new();
    for (key, value) in map {
        match key.as_str() {
            "properties" => {
                let props: Map<String, Value> =
                    value.as_object().unwrap().iter().map(|(k, v)| (k.clone(), to_json_schema(v))).collect();
                out.insert(key.clone(), Value::Object(props));
            }
            "items" | "additionalProperties" if value.is_object() => {
                out.insert(key.clone(), to_json_schema(value));
            }
            "nullable" | "x-kubernetes-validations" | "x-kubernetes-list-map-keys" | "x-kubernetes-map-type" => {}
            "x-kubernetes-list-type" => {
                if value == "set" {
                    out.insert("uniqueItems".into(), json!(true));
                }
            }
            "x-kubernetes-int-or-string"
            | "x-kubernetes-preserve-unknown-fields"
            | "x-kubernetes-embedded-resource" => {}
            "format" if value.as_str().is_some_and(|f| KUBERNETES_FORMATS.contains(&f)) => {}
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    if map.get("nullable") == Some(&json!(true))
        && let Some(Value::String(t)) = out.get("type").cloned()
    {
        out.insert("type".into(), json!([t, "null"]));
    }
    if map.get("x-kubernetes-int-or-string") == Some(&json!(true)) {
        out.remove("type");
        out.insert("anyOf".into(), json!([{"type": "integer"}, {"type": "string"}]));
    }
    if out.contains_key("properties")
        && !out.contains_key("additionalProperties")
        && map.get("x-kubernetes-preserve-unknown-fields") != Some(&json!(true))
    {
        out.insert("additionalProperties".into(), json!(false));
    }
    Value::Object(out)
}

/// The schemas of every served version of every CRD: file name -> text.
fn generated_schemas() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (_, (_, text)) in crd_sources() {
        let crd: Value = serde_saphyr::from_str(&text).expect("CRD parses");
        let group = crd["spec"]["group"].as_str().unwrap();
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap();
        for version in crd["spec"]["versions"].as_array().unwrap() {
            if version["served"] != true {
                continue;
            }
            let name = version["name"].as_str().unwrap();
            let mut schema = to_json_schema(&version["schema"]["openAPIV3Schema"]);
            let properties = schema["properties"].as_object_mut().expect("a root with properties");
            properties.insert("apiVersion".into(), json!({"type": "string", "enum": [format!("{group}/{name}")]}));
            properties.insert("kind".into(), json!({"type": "string", "enum": [kind]}));
            // The API server validates metadata itself; CRDs may leave it out.
            properties.entry("metadata").or_insert_with(|| json!({"type": "object"}));
            let required = schema.as_object_mut().unwrap().entry("required").or_insert_with(|| json!([]));
            for field in ["apiVersion", "kind"] {
                if !required.as_array().unwrap().contains(&json!(field)) {
                    required.as_array_mut().unwrap().push(json!(field));
                }
            }
            let mut root_schema = Map::new();
            root_schema.insert(
                "description".into(),
                json!(format!(
                    "{kind} {group}/{name}, generated from crds/ by tests/manifest_schemas.rs for kubeconform; \
                     CEL rules (x-kubernetes-validations) are not included"
                )),
            );
            root_schema.extend(schema.as_object().unwrap().clone());
            let text = serde_json::to_string_pretty(&Value::Object(root_schema)).unwrap() + "\n";
            out.insert(format!("{}_{name}.json", kind.to_lowercase()), text);
        }
    }
    out
}

#[test]
fn schemas_are_generated_from_the_crds() {
    let dir = root().join("deploy/schemas");
    let generated = generated_schemas();
    assert_eq!(generated.len(), 3, "one schema per CRD version");
    if std::env::var_os("ZPA_UPDATE_SCHEMAS").is_some() {
        fs::create_dir_all(&dir).unwrap();
        for (file, text) in &generated {
            fs::write(dir.join(file), text).unwrap();
        }
    }
    let mut on_disk: Vec<String> = fs::read_dir(&dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|f| f.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    on_disk.sort();
    assert_eq!(
        on_disk,
        generated.keys().cloned().collect::<Vec<_>>(),
        "deploy/schemas/ holds exactly the generated schemas"
    );
    for (file, text) in &generated {
        let committed = fs::read_to_string(dir.join(file)).unwrap();
        assert!(
            committed == *text,
            "deploy/schemas/{file} is stale: run ZPA_UPDATE_SCHEMAS=1 cargo test --test manifest_schemas"
        );
    }
}

/// One kubeconform verdict for one document.
#[derive(Debug)]
struct Verdict {
    status: String,
    kind: String,
    msg: String,
}

/// Schemas for the built-in kinds the manifests hold (Secret, ConfigMap,
/// Namespace), from k8s-openapi's: the Kubernetes API's own definitions, made
/// strict as the CRDs' are ([`to_json_schema`], on the root and each of its
/// `$defs`), so kubeconform judges every document offline and skips none.
fn builtin_schemas() -> tempfile::TempDir {
    use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
    let dir = tempfile::tempdir().unwrap();
    for (file, schema) in [
        ("secret_v1.json", schemars::schema_for!(Secret)),
        ("configmap_v1.json", schemars::schema_for!(ConfigMap)),
        ("namespace_v1.json", schemars::schema_for!(Namespace)),
    ] {
        let mut strict = to_json_schema(&serde_json::to_value(&schema).unwrap());
        if let Some(Value::Object(defs)) = strict.get_mut("$defs") {
            defs.values_mut().for_each(|def| *def = to_json_schema(def));
        }
        fs::write(dir.path().join(file), serde_json::to_string_pretty(&strict).unwrap()).unwrap();
    }
    dir
}

/// kubeconform with our schemas and the built-in kinds' (offline), strict
/// (unknown fields refused).
fn kubeconform(files: &[PathBuf]) -> Vec<(String, Verdict)> {
    let builtin = builtin_schemas();
    let builtin_location =
        format!("{}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json", builtin.path().display());
    let output = run_tool(
        Command::new(go_tool("kubeconform"))
            .current_dir(root())
            .args(["-strict", "-output", "json", "-verbose", "-schema-location", SCHEMA_LOCATION])
            .args(["-schema-location", &builtin_location])
            .args(files),
        "build it with tests/controlplane/build.sh (needs Go 1.26)",
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("kubeconform printed no JSON ({e}):\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr))
    });
    report["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| {
            (
                r["filename"].as_str().unwrap_or_default().to_owned(),
                Verdict {
                    status: r["status"].as_str().unwrap_or_default().to_owned(),
                    kind: r["kind"].as_str().unwrap_or_default().to_owned(),
                    msg: r["msg"].as_str().unwrap_or_default().to_owned(),
                },
            )
        })
        .collect()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).to_string_lossy().into_owned()
}

/// The manifests users start from: the demo (`examples/`) and the catalog.
fn example_files() -> Vec<PathBuf> {
    let mut files = yaml_files("examples");
    files.extend(yaml_files("docs/examples"));
    files
}

#[test]
fn examples_are_valid_offline() {
    let files = example_files();
    assert!(files.len() >= 10, "examples/ and docs/examples/ hold the manifests: {files:?}");
    let verdicts = kubeconform(&files);
    let mut checked = 0;
    for (file, verdict) in &verdicts {
        assert_eq!(verdict.status, "statusValid", "{file}: kubeconform says {verdict:?}");
        checked += 1;
    }
    assert!(checked >= 10, "kubeconform validated {checked} documents: {verdicts:?}");
    assert!(verdicts.iter().any(|(_, v)| v.kind == "Secret"), "the examples hold Secrets: {verdicts:?}");
}

/// The built-in kinds' schemas judge too: an unknown field or a wrong type
/// in a Secret is refused, as the API server refuses it.
#[test]
fn built_in_kinds_are_judged_offline_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("unknown-field.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringDatta: {a: b}\n"),
        ("wrong-type.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nimmutable: maybe\n"),
        ("namespace-spec.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\nspec: {finalizers: 3}\n"),
    ];
    for (file, text) in cases {
        let path = dir.path().join(file);
        fs::write(&path, text).unwrap();
        let verdicts = kubeconform(&[path]);
        assert_eq!(verdicts.len(), 1, "{file}: {verdicts:?}");
        assert_eq!(verdicts[0].1.status, "statusInvalid", "{file}: {verdicts:?}");
    }
}

/// The chart's renders that hold custom resources (a ZpaProviderConfig) pass too.
#[test]
fn chart_provider_configs_are_valid_offline() {
    let helm = helm();
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, args) in [
        &["--set", "providerConfig.cloud=PRODUCTION"][..],
        &[
            "--set",
            "providerConfig.auth=oneapi",
            "--set",
            "providerConfig.vanityDomain=acme",
            "--set",
            "providerConfig.rateLimits.readsPerWindow=10",
            "--set",
            "providerConfig.rateLimits.writesPerWindow=5",
            "--set",
            "providerConfig.rateLimits.windowSeconds=10",
        ][..],
        &[
            "--set",
            "providerConfig.baseUrl=http://zpa-simulator.zpa-system:8085",
            "--set",
            "providerConfig.tls.insecureSkipTLSVerify=true",
        ][..],
    ]
    .iter()
    .enumerate()
    {
        let mut all =
            vec!["--set", "providerConfig.create=true", "--set", "providerConfig.customerId=72057594037927936"];
        all.extend_from_slice(args);
        let render = helm_template(&helm, "zpa-operator", &all);
        let only: Vec<Value> = support::tools::documents(&render)
            .into_iter()
            .filter(|d| support::tools::kind(d) == "ZpaProviderConfig")
            .collect();
        assert_eq!(only.len(), 1);
        let file = dir.path().join(format!("provider-config-{i}.yaml"));
        fs::write(&file, serde_saphyr::to_string(&only[0]).unwrap()).unwrap();
        files.push(file);
    }
    for (file, verdict) in kubeconform(&files) {
        assert_eq!(verdict.status, "statusValid", "{file}: {verdict:?}");
    }
}

/// A corpus file and what its header says about it.
struct BadManifest {
    path: PathBuf,
    refused_by: String,
    what: String,
    /// What kubeconform says (a fragment of its message), for the documents it refuses.
    kubeconform: String,
}

fn corpus() -> Vec<BadManifest> {
    let files = yaml_files("tests/corpus/bad-manifests");
    let corpus: Vec<BadManifest> = files
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).unwrap();
            let header = |prefix: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(prefix).map(|v| v.trim().to_owned()))
                    .unwrap_or_else(|| panic!("{} has no `{prefix}` line", path.display()))
            };
            let refused_by = header("# Refused by:");
            let what = header("# Bad manifest:");
            header("# API server:");
            let kubeconform = header("# kubeconform:");
            assert!(
                ["schema", "no-schema", "no-kind", "cel", "cel-update"].contains(&refused_by.as_str()),
                "{}: unknown `Refused by: {refused_by}`",
                path.display()
            );
            BadManifest { path, refused_by, what, kubeconform }
        })
        .collect();
    let documents: usize =
        corpus.iter().map(|m| fs::read_to_string(&m.path).unwrap().matches("\n---\n").count() + 1).sum();
    assert!(documents >= 25, "the corpus holds {documents} documents; at least 25");
    corpus
}

#[test]
fn bad_manifests_are_refused_offline_except_cel_rules() {
    let corpus = corpus();
    let mut failures = Vec::new();
    for manifest in &corpus {
        let verdicts = kubeconform(std::slice::from_ref(&manifest.path));
        let name = relative(&manifest.path);
        let refused: Vec<&Verdict> = verdicts
            .iter()
            .map(|(_, v)| v)
            .filter(|v| v.status == "statusInvalid" || v.status == "statusError")
            .collect();
        let valid = verdicts.iter().filter(|(_, v)| v.status == "statusValid").count();
        match manifest.refused_by.as_str() {
            "cel" | "cel-update" => {
                // kubeconform cannot evaluate CEL: it must accept every document.
                if !refused.is_empty() || valid == 0 {
                    failures.push(format!(
                        "{name} ({}): marked CEL-only, but kubeconform says {verdicts:?}",
                        manifest.what
                    ));
                }
            }
            _ => {
                // Refused, and for the reason the file records.
                if refused.is_empty() {
                    failures.push(format!("{name} ({}): kubeconform accepts it: {verdicts:?}", manifest.what));
                } else if !refused.iter().any(|v| v.msg.contains(&manifest.kubeconform)) {
                    failures.push(format!(
                        "{name} ({}): refused, but not with {:?}: {refused:?}",
                        manifest.what, manifest.kubeconform
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
