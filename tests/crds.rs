//! `crds/` holds exactly what `zpa-operator crds` prints.

use std::process::Command;

use zpa_operator::crd;

#[test]
fn crds_directory_matches_the_generated_crds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let mut expected_files = Vec::new();
    for definition in crd::all() {
        let file = crd::crd_file_name(&definition);
        let on_disk = std::fs::read_to_string(dir.join(&file)).unwrap_or_default();
        assert_eq!(
            on_disk,
            crd::crd_yaml(&definition).unwrap(),
            "crds/{file} is stale: run `zpa-operator crds --dir crds`"
        );
        expected_files.push(file);
    }
    let mut present: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    present.sort();
    expected_files.sort();
    assert_eq!(present, expected_files, "crds/ holds only the generated CRDs");
}

#[test]
fn the_crds_subcommand_prints_the_same_yaml() {
    let output = Command::new(env!("CARGO_BIN_EXE_zpa-operator")).arg("crds").output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8(output.stdout).unwrap(), crd::to_yaml().unwrap());
}

#[test]
fn crds_carry_the_contracted_names_columns_and_subresources() {
    for definition in crd::all() {
        let spec = &definition.spec;
        assert_eq!(spec.group, "zpa.operator.dev");
        assert_eq!(spec.names.categories.as_deref(), Some(&["zpa".to_owned()][..]));
        let version = &spec.versions[0];
        assert_eq!(version.name, "v1alpha1");
        assert!(
            version.subresources.as_ref().and_then(|s| s.status.as_ref()).is_some(),
            "{} has a status subresource",
            spec.names.kind
        );
        let columns: Vec<&str> = version.additional_printer_columns.iter().flatten().map(|c| c.name.as_str()).collect();
        assert!(columns.contains(&"READY") && columns.contains(&"AGE"), "{columns:?}");
        if spec.names.kind != "ZpaProviderConfig" {
            assert!(columns.contains(&"SYNCED") && columns.contains(&"ID"), "{columns:?}");
            assert_eq!(spec.scope, "Namespaced");
        } else {
            assert_eq!(spec.scope, "Cluster");
        }
    }
    let short: Vec<String> =
        crd::all().iter().flat_map(|c| c.spec.names.short_names.clone().unwrap_or_default()).collect();
    assert_eq!(short, vec!["zpapc", "mt", "isop"]);
}
