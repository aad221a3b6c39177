//! The operator's log levels: a normal dependency wait (a profile whose
//! Microtenant has no ZPA id yet) is INFO, never WARN; WARN is kept for what
//! needs a person.
//!
//! Tools: the real control plane and the Go-built kubectl. A missing tool
//! fails with one line.

mod support;

use std::time::Duration;

use serde_json::json;

use support::eventually;
use support::manifests::{microtenant, profile, with_spec};
use support::processes::{World, has_condition};

#[tokio::test]
async fn a_dependency_wait_is_info_and_a_bad_reference_is_a_warning() {
    let mut world = World::start("30m");
    world.apply_provider_config();
    world.start_operator();
    // A Microtenant kept from getting an id (paused), and a profile scoped to it.
    let mut paused = microtenant("paused");
    paused["metadata"]["annotations"] = json!({"zpa.operator.dev/paused": "true"});
    let waiting = with_spec(profile("waiting"), json!({"microtenantRef": {"name": "paused"}}));
    for (name, manifest) in [("paused", paused), ("waiting", waiting)] {
        let output = world.apply(&format!("{name}.json"), &manifest.to_string());
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    world
        .wait_for("isolationprofile", "waiting", "ReferenceNotReady", |o| {
            has_condition(o, "Synced", "False", Some("ReferenceNotReady"))
        })
        .await;
    eventually("the wait logged at INFO", Duration::from_secs(30), || async {
        world
            .operator_log()
            .lines()
            .any(|l| l.contains(" INFO ") && l.contains("ReferenceNotReady") && l.contains("waiting"))
            .then_some(())
    })
    .await;
    let log = world.operator_log();
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains(" WARN ")).collect();
    assert!(warnings.is_empty(), "a dependency wait logged warnings:\n{}", warnings.join("\n"));

    // What needs a person is a warning.
    let bad = with_spec(profile("bad-region"), json!({"regions": ["Atlantis", "Frankfurt"]}));
    let output = world.apply("bad-region.json", &bad.to_string());
    assert!(output.status.success());
    eventually("a bad reference logged at WARN", Duration::from_secs(30), || async {
        world.operator_log().lines().any(|l| l.contains(" WARN ") && l.contains("Atlantis")).then_some(())
    })
    .await;
}
