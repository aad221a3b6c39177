//! The release, rehearsed end to end on 127.0.0.1 with the scripts the
//! release workflow runs (`release/*.sh`): the image assembled by crane and
//! pushed to a real OCI registry on loopback, pulled back, and its binary run
//! as the chart's pod runs it; the charts pushed as OCI artifacts and
//! installed from there on the real control plane; signatures and the SBOM
//! attestation made and checked with cosign, with no traffic off loopback;
//! and the workflows linted by actionlint.
//!
//! Tools: crane, helm, cosign and actionlint (tests/controlplane/build.sh),
//! cargo-cyclonedx, util-linux's unshare and setpriv, coreutils' chroot, GNU
//! tar. A missing tool fails with one line.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use support::controlplane::{ControlPlane, tool, unique_name};
use support::install::pod_args_and_env;
use support::manifests;
use support::processes::{World, tail};
use support::release::{CYCLONEDX_INSTALL, Release, SCRIPTS, SOURCE_URL, digest_of, platform, release_binary, sha256};
use support::tools::{documents, fail_with_one_line, go_tool, kind, read, root, run_tool};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The kinds of a render that make up the operator's identity and rights.
const RBAC_KINDS: [&str; 5] = ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"];

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("UTF-8 output")
}

/// `helm template` of the OCI chart, pulled from the loopback registry.
fn render_oci_chart(release: &Release, name: &str, namespace: &str, values: &[String]) -> Vec<Value> {
    let url = release.chart_url("zpa-operator");
    let mut args = vec!["template", name, url.as_str(), "--version", VERSION, "--plain-http", "--namespace", namespace];
    args.extend(values.iter().map(String::as_str));
    documents(&text(release.tool_ok("helm", &args)))
}

/// Runs `binary`'s pod the way a container runtime does for the chart's
/// securityContext: a mount namespace whose root is `rootfs` (the image's
/// filesystem) mounted read-only, the ServiceAccount token directory `sa`
/// mounted read-only where the kubelet mounts it, a PID namespace and its
/// /proc, no new privileges, uid and gid 65532, working directory `/`.
fn spawn_in_image(
    rootfs: &Path,
    sa: &Path,
    args: &[String],
    env: &[(String, String)],
    log: &Path,
) -> std::process::Child {
    for dir in ["proc", "var/run/secrets/kubernetes.io/serviceaccount"] {
        // The mount points a runtime creates before it makes the root read-only.
        std::fs::create_dir_all(rootfs.join(dir)).expect("mount point");
    }
    let script = r#"PATH=/usr/sbin:/usr/bin:/sbin:/bin
root=$1; sa=$2; shift 2
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --bind -o ro "$sa" "$root/var/run/secrets/kubernetes.io/serviceaccount"
mount -o remount,bind,ro "$root"
exec setpriv --no-new-privs "$(command -v chroot)" --userspec=65532:65532 "$root" /zpa-operator "$@""#;
    for program in ["unshare", "setpriv", "chroot", "mount"] {
        let found = Command::new("sh").args(["-c", &format!("command -v {program}")]).output();
        if !found.is_ok_and(|o| o.status.success()) {
            fail_with_one_line(&format!("{program} is not installed: apt-get install util-linux coreutils mount"));
        }
    }
    let stderr = std::fs::File::create(log).expect("log file");
    Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "--pid",
            "--fork",
            "--kill-child",
            "--",
            "sh",
            "-euc",
            script,
            "sh",
        ])
        .arg(rootfs)
        .arg(sa)
        .args(args)
        .env_clear()
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| fail_with_one_line(&format!("unshare cannot run ({e}): apt-get install util-linux")))
}

fn log_tail(log: &Path) -> String {
    tail(&std::fs::read_to_string(log).unwrap_or_default(), 40)
}

/// Fails the test if the operator exited, or if `until` has passed.
fn exited_or_late(child: &mut std::process::Child, until: tokio::time::Instant, what: &str, log: &Path) {
    if let Ok(Some(status)) = child.try_wait() {
        panic!("the operator exited ({status}) before it came {what}:\n{}", log_tail(log));
    }
    assert!(tokio::time::Instant::now() < until, "the operator did not come {what} in time:\n{}", log_tail(log));
}

/// The pid (in this machine's namespace) of the process whose root is `rootfs`.
fn pid_rooted_at(rootfs: &Path) -> Option<u32> {
    let rootfs = rootfs.canonicalize().ok()?;
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let root = std::fs::read_link(entry.path().join("root")).ok()?;
        let exe = std::fs::read_link(entry.path().join("exe")).ok()?;
        (root == rootfs && exe.ends_with("zpa-operator")).then_some(pid)
    })
}

fn status_field(pid: u32, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The image's config (user, entrypoint, cmd, labels, platform) and digest as
/// pulled back from the registry; its last layer holds /zpa-operator alone;
/// that binary, run from the image's filesystem as the chart's pod would run
/// it (uid 65532, read-only root, working directory `/` it cannot write, the
/// chart's args and env, the chart's ServiceAccount), turns ready and
/// converges an IsolationProfile against the simulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_pulled_back_has_its_config_and_its_binary_runs_as_the_charts_pod() {
    let release = Release::start();
    let image = release.push_image();
    release.push_charts(&image);
    let repository = &image.repository;

    // The index: one manifest, this platform's, and the digest it was pushed under.
    let raw_index = release.tool_ok("crane", &["manifest", &image.index]);
    assert_eq!(sha256(&raw_index), digest_of(&image.index), "the index's bytes hash to its digest");
    assert_eq!(
        text(release.tool_ok("crane", &["digest", &format!("{repository}:{VERSION}")])).trim(),
        digest_of(&image.index)
    );
    let index: Value = serde_json::from_slice(&raw_index).expect("index JSON");
    assert_eq!(index["mediaType"], "application/vnd.oci.image.index.v1+json");
    let entries = index["manifests"].as_array().expect("index manifests");
    assert_eq!(entries.len(), 1, "this run builds one platform: {index}");
    assert_eq!(entries[0]["digest"], digest_of(&image.platform));
    let (os, arch) = platform().split_once('/').expect("os/arch");
    assert_eq!(entries[0]["platform"], serde_json::json!({"os": os, "architecture": arch}));

    let config = release.crane_json(&["config", &image.platform]);
    assert_eq!((config["os"].as_str(), config["architecture"].as_str()), (Some(os), Some(arch)));
    assert_eq!(config["config"]["User"], "65532:65532");
    assert_eq!(config["config"]["Entrypoint"], serde_json::json!(["/zpa-operator"]));
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["run"]));
    let revision =
        text(run_tool(Command::new("git").args(["-C"]).arg(root()).args(["rev-parse", "HEAD"]), "git").stdout);
    let labels = &config["config"]["Labels"];
    for (label, value) in [
        ("title", "zpa-operator"),
        ("description", env!("CARGO_PKG_DESCRIPTION")),
        ("licenses", env!("CARGO_PKG_LICENSE")),
        ("source", SOURCE_URL),
        ("version", VERSION),
        ("revision", revision.trim()),
    ] {
        assert_eq!(labels[format!("org.opencontainers.image.{label}")], value, "label {label}: {labels}");
    }

    // One layer on top of the base, holding /zpa-operator and nothing else.
    let manifest = release.crane_json(&["manifest", &image.platform]);
    let base = release.crane_json(&["manifest", &format!("{}/zpa-operator-test-base:1", release.registry.host)]);
    let layers = manifest["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), base["layers"].as_array().expect("base layers").len() + 1, "one layer on the base");
    let last = layers.last().expect("a layer")["digest"].as_str().expect("layer digest").to_owned();
    let blob = release.path("layer.tar.gz");
    std::fs::write(&blob, release.tool_ok("crane", &["blob", &format!("{repository}@{last}")])).expect("write layer");
    let listing = run_tool(Command::new("tar").arg("-tvzf").arg(&blob), "GNU tar is needed (apt-get install tar)");
    let listing = text(listing.stdout);
    let entries: Vec<&str> = listing.lines().collect();
    assert_eq!(entries.len(), 1, "the layer holds one file: {listing}");
    assert!(entries[0].starts_with("-rwxr-xr-x 0/0 ") && entries[0].ends_with(" zpa-operator"), "{listing}");

    // The image's filesystem, pulled back; its binary is the one built.
    let rootfs = release.path("rootfs");
    std::fs::create_dir_all(&rootfs).expect("rootfs");
    let exported = release.path("rootfs.tar");
    release.tool_ok("crane", &["export", &image.platform, exported.to_str().expect("UTF-8 path")]);
    let untar = run_tool(Command::new("tar").arg("-xf").arg(&exported).arg("-C").arg(&rootfs), "apt-get install tar");
    assert!(untar.status.success(), "tar -x: {}", String::from_utf8_lossy(&untar.stderr));
    let pulled = std::fs::read(rootfs.join("zpa-operator")).expect("/zpa-operator in the image");
    assert!(pulled == std::fs::read(release_binary()).expect("the built binary"), "the image holds the built binary");

    // The world: a simulator, this test's namespaces and provider config, the
    // chart's RBAC from the OCI chart, and a token for its ServiceAccount.
    let world = World::start("30m");
    world.apply_provider_config();
    let values = vec![
        "--set".to_owned(),
        format!("fullnameOverride={}", unique_name("release")),
        "--set".to_owned(),
        format!("watchNamespaces={{{}}}", world.namespace),
        "--set".to_owned(),
        format!("rbac.credentialsSecretNamespaces={{{}}}", world.system_namespace),
        "--set-json".to_owned(),
        format!(r#"extraArgs=["--provider-config-selector=zpa.operator.dev/test={}"]"#, world.namespace),
    ];
    let rendered = render_oci_chart(&release, "zpa-operator", &world.namespace, &values);
    let rbac: Vec<&Value> = rendered.iter().filter(|doc| RBAC_KINDS.contains(&kind(doc))).collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": rbac});
    let rbac_file = release.path("rbac.json");
    std::fs::write(&rbac_file, list.to_string()).expect("write RBAC");
    world.kubectl_ok(&["apply", "-f", rbac_file.to_str().expect("UTF-8 path")]);
    let deployment = rendered.iter().find(|d| kind(d) == "Deployment").expect("a Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["containers"][0]["image"], image.index, "the chart's default image is the pushed index");
    let service_account = pod["serviceAccountName"].as_str().expect("the pod's ServiceAccount");
    let token = world.kubectl_ok(&["create", "token", service_account, "--duration=1h"]);
    let sa = release.path("serviceaccount");
    std::fs::create_dir_all(&sa).expect("sa dir");
    std::fs::write(sa.join("token"), token.trim()).expect("token");
    std::fs::write(sa.join("ca.crt"), world.plane.ca_pem()).expect("ca.crt");
    std::fs::write(sa.join("namespace"), &world.namespace).expect("namespace");

    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let (args, mut env) =
        pod_args_and_env(&pod["containers"][0], "zpa-operator-6d8f9c7b4-k2m7p", &world.namespace, port);
    let api_port = world.plane.server.rsplit(':').next().expect("the API server's port").to_owned();
    env.extend([
        ("KUBERNETES_SERVICE_HOST".to_owned(), "127.0.0.1".to_owned()),
        ("KUBERNETES_SERVICE_PORT".to_owned(), api_port),
        ("NO_COLOR".to_owned(), "1".to_owned()),
    ]);
    let log = release.path("operator.log");
    let mut child = spawn_in_image(&rootfs, &sa, &args, &env, &log);
    let operator_log = || log_tail(&log);

    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    let pid = loop {
        if let Some(pid) = pid_rooted_at(&rootfs) {
            break pid;
        }
        exited_or_late(&mut child, until, "up inside the image", &log);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status_field(pid, "Uid:"), "65532 65532 65532 65532", "runs as uid 65532");
    assert_eq!(status_field(pid, "Gid:"), "65532 65532 65532 65532", "runs as gid 65532");
    assert_eq!(status_field(pid, "NoNewPrivs:"), "1");
    assert_eq!(status_field(pid, "CapEff:"), "0000000000000000", "no capabilities");
    assert_eq!(std::fs::read_link(format!("/proc/{pid}/cwd")).ok(), rootfs.canonicalize().ok(), "working directory /");
    let mountinfo = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).expect("mountinfo");
    let writable: Vec<&str> = mountinfo
        .lines()
        .filter(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            fields.get(5).is_some_and(|options| options.split(',').any(|o| o == "rw"))
                && fields.get(4) != Some(&"/proc")
        })
        .collect();
    assert!(writable.is_empty(), "nothing but /proc is mounted writable in the pod: {writable:?}\n{mountinfo}");

    let readiness =
        pod["containers"][0]["readinessProbe"]["httpGet"]["path"].as_str().expect("readiness path").to_owned();
    let url = format!("http://127.0.0.1:{port}{readiness}");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let until = tokio::time::Instant::now() + Duration::from_secs(60);
    while !reqwest::get(&url).await.is_ok_and(|response| response.status() == 200) {
        exited_or_late(&mut child, until, "ready (200 on its readiness probe)", &log);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let output = world.apply("profile.yaml", &manifests::profile("from-the-image").to_string());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let profile = world
        .wait_for("isop", "from-the-image", "Ready", |o| support::processes::has_condition(o, "Ready", "True", None));
    let profile = tokio::time::timeout(Duration::from_secs(90), profile)
        .await
        .unwrap_or_else(|_| panic!("the profile did not converge; operator log:\n{}", operator_log()));
    let id =
        profile["status"]["id"].as_str().filter(|id| !id.is_empty()).unwrap_or_else(|| panic!("no id: {profile:#}"));
    assert!(world.remote_state().await.to_string().contains(id), "the simulator holds profile {id}");
    let _ = child.kill();
    let _ = child.wait();
    release.assert_no_traffic_off_loopback();
}

/// The README's published install, run on the real control plane with
/// ghcr.io/OWNER replaced by the loopback registry: the charts come from the
/// OCI registry (not the folder) and the Deployment references exactly the
/// pushed index by digest; image.repository and image.digest set on the
/// command line point it at exactly another digest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_installs_the_oci_chart_and_the_deployment_names_the_pushed_digest() {
    let release = Release::start();
    let image = release.push_image();
    let charts = release.push_charts(&image);
    let plane = ControlPlane::dedicated();

    let shown = text(release.tool_ok(
        "helm",
        &["show", "values", &release.chart_url("zpa-operator"), "--version", VERSION, "--plain-http"],
    ));
    let values: Value = serde_saphyr::from_str(&shown).expect("values parse");
    assert_eq!(values["image"]["repository"], image.repository);
    assert_eq!(values["image"]["digest"], digest_of(&image.index));

    let readme = read("README.md");
    let section = readme.split("## Install on a cluster").nth(1).expect("the README's install section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let block = section
        .split("```sh\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains("oci://ghcr.io/OWNER/charts/zpa-operator "))
        .expect("the README's install block of the published chart");
    let recipe = block
        .replace("oci://ghcr.io/OWNER/", &format!("oci://{}/", release.registry.host))
        .replace("helm install ", "helm install --plain-http ")
        .replace("YOUR_CLIENT_ID", "sim-client")
        .replace("YOUR_CLIENT_SECRET", "sim-secret")
        .replace("YOUR_CUSTOMER_ID", "72057594037927936");
    assert!(!recipe.contains("YOUR_") && !recipe.contains("OWNER"), "a placeholder left: {recipe}");
    assert!(recipe.contains(&format!("--version {VERSION}")), "the README installs version {VERSION}: {recipe}");
    run_block(&release, plane, &recipe);

    let deployment = plane.kubectl_ok(&["-n", "zpa-system", "get", "deployment", "zpa-operator", "-o", "json"]);
    let deployment: Value = serde_json::from_str(&deployment).expect("Deployment JSON");
    assert_eq!(deployment["spec"]["template"]["spec"]["containers"][0]["image"], image.index);
    let installed = plane.kubectl_ok(&["get", "crd", "isolationprofiles.zpa.operator.dev", "-o", "json"]);
    let installed: Value = serde_json::from_str(&installed).expect("CRD JSON");
    assert_eq!(installed["metadata"]["annotations"]["meta.helm.sh/release-name"], "zpa-operator-crds");
    assert_eq!(installed["metadata"]["labels"]["app.kubernetes.io/version"], VERSION);
    assert!(charts.crds.contains("/charts/zpa-operator-crds:"), "{}", charts.crds);

    // image.repository and image.digest given on the command line win.
    let platform_digest = digest_of(&image.platform);
    run_block(
        &release,
        plane,
        &format!(
            "helm upgrade --plain-http zpa-operator {} --version {VERSION} -n zpa-system --reuse-values \
             --set image.repository={} --set image.digest={platform_digest}",
            release.chart_url("zpa-operator"),
            image.repository
        ),
    );
    let deployment = plane.kubectl_ok(&["-n", "zpa-system", "get", "deployment", "zpa-operator", "-o", "json"]);
    let deployment: Value = serde_json::from_str(&deployment).expect("Deployment JSON");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("{}@{platform_digest}", image.repository)
    );
    release.assert_no_traffic_off_loopback();
}

/// Runs a shell block with bash (errors stop it) in the release environment,
/// the Go-built kubectl and Helm first on PATH, against `plane`.
fn run_block(release: &Release, plane: &ControlPlane, block: &str) {
    let bin = release.path("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    for (name, target) in [("kubectl", tool("kubectl")), ("helm", go_tool("helm"))] {
        let link = bin.join(name);
        if !link.exists() {
            std::os::unix::fs::symlink(target, link).expect("tool link");
        }
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut command = Command::new("bash");
    command.args(["-euo", "pipefail", "-c", block]).current_dir(root());
    release.env(&mut command);
    let output = command.env("PATH", path).env("KUBECONFIG", plane.admin_kubeconfig()).output().expect("bash runs");
    assert!(
        output.status.success(),
        "the block failed:\n{block}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `[[package]]` versions of `name` in Cargo.lock.
fn locked_versions(name: &str) -> Vec<String> {
    let lock = read("Cargo.lock");
    lock.split("[[package]]")
        .filter(|p| p.lines().any(|l| l.trim() == format!("name = \"{name}\"")))
        .filter_map(|p| {
            p.lines().find_map(|l| l.trim().strip_prefix("version = \"")?.strip_suffix('"').map(str::to_owned))
        })
        .collect()
}

/// cosign signs the image and the chart with a key pair made here, verifies
/// both, and refuses them under another key; the SBOM (cargo-cyclonedx)
/// attached to the image as a signed attestation lists kube and reqwest at
/// their Cargo.lock versions. Nothing reaches Sigstore's services or any
/// other address: every proxy variable points at a trap that stays empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cosign_signs_and_verifies_the_image_and_chart_and_attaches_the_sbom_offline() {
    let cyclonedx =
        Command::new("cargo").args(["cyclonedx", "--version"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    if !cyclonedx.is_ok_and(|s| s.success()) {
        fail_with_one_line(CYCLONEDX_INSTALL);
    }
    let release = Release::start();
    let image = release.push_image();
    let charts = release.push_charts(&image);

    let keys = |dir: &str| -> (PathBuf, PathBuf) {
        let dir = release.path(dir);
        std::fs::create_dir_all(&dir).expect("key dir");
        let mut command = Command::new(go_tool("cosign"));
        command.arg("generate-key-pair").current_dir(&dir);
        release.env(&mut command);
        let output = run_tool(&mut command, "cosign is built by tests/controlplane/build.sh");
        assert!(output.status.success(), "cosign generate-key-pair: {}", String::from_utf8_lossy(&output.stderr));
        (dir.join("cosign.key"), dir.join("cosign.pub"))
    };
    let (key, public) = keys("keys");
    let (_, other_public) = keys("other-keys");
    let (key, public, other_public) = (
        key.to_str().unwrap().to_owned(),
        public.to_str().unwrap().to_owned(),
        other_public.to_str().unwrap().to_owned(),
    );
    let signed_refs = [image.index.as_str(), charts.operator.as_str(), charts.crds.as_str()];

    let mut sign_args = vec!["--key", key.as_str()];
    sign_args.extend(signed_refs);
    let signed = release.script("sign.sh", &sign_args);
    assert_eq!(signed.lines().count(), 3, "{signed}");
    let mut verify_args = vec!["--key", public.as_str()];
    verify_args.extend(signed_refs);
    let verified = release.script("verify.sh", &verify_args);
    assert_eq!(verified.lines().filter(|l| l.starts_with("verified ")).count(), 3, "{verified}");
    for reference in signed_refs {
        let refused = release.run_script("verify.sh", &["--key", &other_public, reference]);
        assert!(!refused.status.success(), "{reference} verified under another key");
    }
    // A digest nobody signed is refused too: the platform image.
    let unsigned = release.run_script("verify.sh", &["--key", &public, &image.platform]);
    assert!(!unsigned.status.success(), "an unsigned image verified");

    let target = match platform() {
        "linux/arm64" => "aarch64-unknown-linux-gnu",
        _ => "x86_64-unknown-linux-gnu",
    };
    let sbom_path = release.path("sbom.cdx.json");
    release.script("sbom.sh", &[target, sbom_path.to_str().expect("UTF-8 path")]);
    let sbom: Value = serde_json::from_str(&std::fs::read_to_string(&sbom_path).expect("SBOM")).expect("SBOM JSON");
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert_eq!(sbom["metadata"]["component"]["name"], "zpa-operator");
    let components = sbom["components"].as_array().expect("components");
    eprintln!("SBOM: {} components", components.len());
    for name in ["kube", "reqwest", "tokio", "rustls"] {
        let listed: Vec<&str> =
            components.iter().filter(|c| c["name"] == name).filter_map(|c| c["version"].as_str()).collect();
        assert!(!listed.is_empty(), "the SBOM lists {name}");
        for version in &listed {
            assert!(locked_versions(name).iter().any(|v| v == version), "{name} {version} is not in Cargo.lock");
        }
    }
    for dev_only in ["proptest", "rcgen", "tempfile"] {
        assert!(!components.iter().any(|c| c["name"] == dev_only), "the SBOM lists the dev-dependency {dev_only}");
    }

    let sbom_file = sbom_path.to_str().expect("UTF-8 path");
    release.script("sign.sh", &["--key", &key, "--attest", "cyclonedx", sbom_file, &image.platform]);
    let statements = release.script("verify.sh", &["--key", &public, "--attestation", "cyclonedx", &image.platform]);
    let statement: Value = serde_json::from_str(statements.lines().next().expect("a statement")).expect("in-toto JSON");
    assert_eq!(statement["predicateType"], "https://cyclonedx.org/bom");
    assert_eq!(statement["subject"][0]["digest"]["sha256"], digest_of(&image.platform).trim_start_matches("sha256:"));
    assert_eq!(statement["predicate"], sbom, "the attestation carries the SBOM");
    let refused =
        release.run_script("verify.sh", &["--key", &other_public, "--attestation", "cyclonedx", &image.platform]);
    assert!(!refused.status.success(), "the attestation verified under another key");

    release.assert_no_traffic_off_loopback();
}

/// actionlint passes the workflows; ci.yml runs .ci/run; release.yml runs
/// exactly the release scripts the tests run, and publishes nothing by any
/// other recipe.
#[test]
fn the_workflows_lint_clean_and_release_yml_runs_the_scripts_the_tests_run() {
    let workflows = root().join(".github/workflows");
    let files: Vec<PathBuf> = ["ci.yml", "release.yml"].iter().map(|f| workflows.join(f)).collect();
    let mut lint = Command::new(go_tool("actionlint"));
    // shellcheck and pyflakes are not among the test tools: actionlint's own checks only.
    lint.args(["-shellcheck=", "-pyflakes=", "-no-color"]).args(&files).current_dir(root());
    let output = run_tool(&mut lint, "actionlint is built by tests/controlplane/build.sh (it needs Go 1.26)");
    assert!(
        output.status.success(),
        "actionlint:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let runs = |file: &str| -> Vec<String> {
        let workflow: Value =
            serde_saphyr::from_str(&read(format!(".github/workflows/{file}"))).expect("workflow YAML");
        let jobs = workflow["jobs"].as_object().expect("jobs");
        jobs.values()
            .flat_map(|job| job["steps"].as_array().cloned().unwrap_or_default())
            .filter_map(|step| step["run"].as_str().map(str::to_owned))
            .collect()
    };
    let ci = runs("ci.yml");
    assert!(ci.iter().any(|run| run.trim().ends_with(" bash .ci/run")), "ci.yml runs .ci/run: {ci:?}");

    let release = runs("release.yml").join("\n");
    for script in SCRIPTS {
        let (file, rest) = script.split_once(' ').unwrap_or((script, ""));
        let called = release.lines().any(|line| {
            let line = line.trim();
            line.contains(&format!("bash {file}")) && (rest.is_empty() || line.contains(rest))
        });
        assert!(called, "release.yml runs `bash {script}`:\n{release}");
    }
    let mut called_scripts: Vec<&str> = release
        .split_whitespace()
        .filter(|word| word.starts_with("release/") && word.ends_with(".sh"))
        // The helpers every script sources (tests/release_versions.rs runs them too).
        .filter(|word| *word != "release/lib.sh")
        .collect();
    called_scripts.sort();
    called_scripts.dedup();
    for script in &called_scripts {
        assert!(SCRIPTS.iter().any(|s| s.starts_with(script)), "release.yml runs {script}, which no test runs");
    }
    // No second recipe: building, pushing and signing go through the scripts.
    for other in [
        "docker ",
        "buildx",
        "crane mutate",
        "crane append",
        "helm push",
        "helm package",
        "cosign sign",
        "cosign attest",
    ] {
        assert!(!release.contains(other), "release.yml runs `{other}` outside release/*.sh:\n{release}");
    }
    let workflow: Value = serde_saphyr::from_str(&read(".github/workflows/release.yml")).expect("workflow YAML");
    assert_eq!(workflow["on"]["push"]["tags"], serde_json::json!(["v*"]), "release.yml runs on v* tags");
}
