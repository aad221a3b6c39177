//! The Dockerfile, checked as text (no Docker here): a multi-stage build that
//! compiles only the operator and copies that one binary onto a distroless
//! nonroot base.

mod support;

use support::tools::read;

#[test]
fn dockerfile_builds_only_the_operator_onto_distroless_nonroot() {
    let dockerfile = read("Dockerfile");
    let instructions: Vec<String> =
        dockerfile.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned).collect();
    let stages: Vec<&String> = instructions.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert!(stages.len() >= 2, "multi-stage build");
    let last_stage = stages.last().unwrap();
    assert!(
        last_stage.as_str() == "FROM gcr.io/distroless/cc-debian12:nonroot"
            || last_stage.as_str() == "FROM gcr.io/distroless/static-debian12:nonroot",
        "final stage is distroless nonroot: {last_stage}"
    );
    let final_stage: Vec<&String> = instructions.iter().skip_while(|l| l != last_stage).collect();
    let copies: Vec<&&String> = final_stage.iter().filter(|l| l.starts_with("COPY")).collect();
    assert_eq!(copies.len(), 1, "the final stage copies one thing: {copies:?}");
    assert!(copies[0].ends_with(" /zpa-operator") && copies[0].contains("--from=builder"), "{}", copies[0]);
    assert!(copies[0].contains("/zpa-operator /zpa-operator"), "only the zpa-operator binary: {}", copies[0]);
    assert!(final_stage.iter().any(|l| l.as_str() == "USER 65532:65532"), "runs as 65532");
    assert!(final_stage.iter().any(|l| l.as_str() == r#"ENTRYPOINT ["/zpa-operator"]"#));
    assert!(final_stage.iter().any(|l| l.as_str() == r#"CMD ["run"]"#));
    assert!(
        dockerfile.contains("cargo build --release --locked --package zpa-operator --bin zpa-operator"),
        "the builder compiles only the zpa-operator binary"
    );

    let ignore = read(".dockerignore");
    for pattern in ["target", ".git", "charts", "deploy", "tests"] {
        assert!(ignore.lines().any(|l| l.trim() == pattern), ".dockerignore has {pattern}");
    }
    // Every workspace member must reach the build context, or `cargo build
    // --locked` cannot load the workspace.
    let manifest = read("Cargo.toml");
    let members = manifest.split("members = [").nth(1).and_then(|rest| rest.split(']').next()).unwrap_or_default();
    for member in members.split(',').map(|m| m.trim().trim_matches('"')).filter(|m| !m.is_empty() && *m != ".") {
        let top = member.split('/').next().unwrap_or(member);
        assert!(
            !ignore.lines().any(|l| l.trim() == top || l.trim() == member),
            ".dockerignore leaves out the workspace member {member}"
        );
    }
    let readme = read("charts/zpa-operator/README.md");
    assert!(readme.contains("docker build -t REGISTRY/zpa-operator:0.1.0 ."), "the chart README shows the image build");
}
