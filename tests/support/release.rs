//! The release rehearsed on loopback: a real OCI registry (`crane registry
//! serve`) on 127.0.0.1, the scripts of `release/` run against it with the
//! Go-built crane, helm and cosign, a base image made from this machine's own
//! glibc, libgcc and CA bundle, and a proxy trap that records every
//! connection a tool tries to make to any other address.
//!
//! The image holds the `zpa-operator` binary of `$ZPA_RELEASE_BINARY` (the
//! release profile's, when a run builds it) or else the one cargo built for
//! this test: the recipe is the release's either way (see the README,
//! "Releases").

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::processes::operator_binary;
use super::tools::{fail_with_one_line, go_tool, root, run_tool};

/// What the image's `source` label says in the tests.
pub const SOURCE_URL: &str = "https://github.com/zpa-operator/zpa-operator";

/// The release scripts and subcommands the tests run; the release workflow
/// must run the same (tests/release.rs checks it).
pub const SCRIPTS: [&str; 7] = [
    "release/image.sh platform",
    "release/image.sh index",
    "release/chart.sh",
    "release/sbom.sh",
    "release/sign.sh",
    "release/sign.sh --attest",
    "release/verify.sh",
];

/// The password of every cosign key pair the tests make (`cosign
/// generate-key-pair` and `release/sign.sh --key` read it from the environment).
pub const COSIGN_PASSWORD: &str = "rehearsal";

const GO_TOOLS: &str = "tests/controlplane/build.sh builds crane, helm and cosign (it needs Go 1.26)";
pub const CYCLONEDX_INSTALL: &str =
    "cargo-cyclonedx is not installed: cargo install cargo-cyclonedx --version 0.5.9 --locked";

/// The binary the image is made of.
pub fn release_binary() -> PathBuf {
    match std::env::var_os("ZPA_RELEASE_BINARY") {
        Some(path) => PathBuf::from(path),
        None => operator_binary().to_path_buf(),
    }
}

/// This machine's platform, as OCI names it (the image is built for it).
pub fn platform() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "linux/amd64",
        "aarch64" => "linux/arm64",
        other => fail_with_one_line(&format!("the release is built for amd64 and arm64, not {other}")),
    }
}

/// A loopback TCP listener that records every connection made to it (the
/// first line each sends, e.g. `CONNECT rekor.sigstore.dev:443 HTTP/1.1`)
/// and answers none. Every proxy variable of the release tools points here.
pub struct ProxyTrap {
    pub url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl ProxyTrap {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy trap");
        let url = format!("http://{}", listener.local_addr().expect("trap address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut first = String::new();
                let _ = BufReader::new(stream.take(1024)).read_line(&mut first);
                record.lock().expect("trap record").push(first.trim().to_owned());
            }
        });
        Self { url, seen }
    }

    /// The first line of every connection so far.
    pub fn connections(&self) -> Vec<String> {
        self.seen.lock().expect("trap record").clone()
    }
}

/// `crane registry serve` on 127.0.0.1, blobs on disk; killed when dropped.
pub struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub host: String,
}

impl Registry {
    pub fn start(blobs: &Path) -> Self {
        std::fs::create_dir_all(blobs).expect("blob directory");
        let mut command = Command::new(go_tool("crane"));
        command.args(["registry", "serve", "--address", "127.0.0.1:0", "--disk"]).arg(blobs);
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| fail_with_one_line(&format!("`{program}` cannot run ({e}): {GO_TOOLS}")));
        let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        let port = loop {
            let line = lines.next().and_then(Result::ok).unwrap_or_else(|| panic!("crane registry serve exited"));
            if let Some(port) = line.split("serving on port ").nth(1) {
                break port.trim().to_owned();
            }
        };
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, host: format!("127.0.0.1:{port}") }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The pushed image: the multi-arch index and this platform's image in it,
/// each `REPOSITORY@sha256:...`.
pub struct Image {
    pub repository: String,
    pub index: String,
    pub platform: String,
}

/// The pushed charts, `REGISTRY/charts/NAME:VERSION@sha256:...`.
pub struct Charts {
    pub crds: String,
    pub operator: String,
}

/// One test's release rehearsal: its registry, directory, home and proxy trap.
pub struct Release {
    pub dir: tempfile::TempDir,
    pub trap: ProxyTrap,
    pub registry: Registry,
}

impl Default for Release {
    fn default() -> Self {
        Self::start()
    }
}

impl Release {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("home")).expect("home");
        let registry = Registry::start(&dir.path().join("blobs"));
        Self { trap: ProxyTrap::start(), registry, dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The environment every release tool runs in here: a home of its own
    /// (no registry logins, no cosign or helm caches from elsewhere), every
    /// proxy variable at the trap (Go, cargo and helm never proxy loopback,
    /// so only traffic to other addresses reaches it), the Go-built tools.
    pub fn env(&self, command: &mut Command) {
        let home = self.path("home");
        let real_home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
        let kept = |name: &str, default: &str| std::env::var_os(name).unwrap_or_else(|| real_home.join(default).into());
        command
            .env("CARGO_HOME", kept("CARGO_HOME", ".cargo"))
            .env("RUSTUP_HOME", kept("RUSTUP_HOME", ".rustup"))
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("DOCKER_CONFIG", home.join(".docker"))
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .env("CRANE", go_tool("crane"))
            .env("HELM", go_tool("helm"))
            .env("COSIGN", go_tool("cosign"))
            .env("SOURCE_URL", SOURCE_URL)
            .env("COSIGN_PASSWORD", COSIGN_PASSWORD)
            .env("HELM_PUSH_FLAGS", "--plain-http");
        for proxy in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
            command.env(proxy, &self.trap.url);
        }
    }

    /// `bash release/SCRIPT ARGS...` (one of [`SCRIPTS`]); its output.
    pub fn run_script(&self, script: &str, args: &[&str]) -> Output {
        let called = match (script, args.first()) {
            ("image.sh", Some(subcommand)) => format!("release/image.sh {subcommand}"),
            ("sign.sh", _) if args.contains(&"--attest") => "release/sign.sh --attest".to_owned(),
            _ => format!("release/{script}"),
        };
        assert!(
            SCRIPTS.contains(&called.as_str()),
            "{called} is not in SCRIPTS (the release workflow must run it too)"
        );
        let mut command = Command::new("bash");
        command.arg(root().join("release").join(script)).args(args).current_dir(self.dir.path());
        self.env(&mut command);
        run_tool(&mut command, "bash is needed to run the release scripts")
    }

    /// Like [`Release::run_script`], failing the test unless it succeeds; its stdout.
    pub fn script(&self, script: &str, args: &[&str]) -> String {
        let output = self.run_script(script, args);
        assert!(
            output.status.success(),
            "release/{script} {args:?} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 output").trim().to_owned()
    }

    /// A Go-built tool (`crane`, `cosign`, `helm`) in the release environment.
    pub fn tool(&self, name: &str, args: &[&str]) -> Output {
        let mut command = Command::new(go_tool(name));
        command.args(args).current_dir(self.dir.path());
        self.env(&mut command);
        run_tool(&mut command, GO_TOOLS)
    }

    /// Like [`Release::tool`], failing the test unless it succeeds; its stdout.
    pub fn tool_ok(&self, name: &str, args: &[&str]) -> Vec<u8> {
        let output = self.tool(name, args);
        assert!(output.status.success(), "{name} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        output.stdout
    }

    /// `crane ARGS` as JSON.
    pub fn crane_json(&self, args: &[&str]) -> Value {
        serde_json::from_slice(&self.tool_ok("crane", args)).expect("crane prints JSON")
    }

    /// The test base: what `gcr.io/distroless/cc-debian12:nonroot` gives the
    /// binary, taken from this machine: the dynamic loader, glibc's libraries
    /// and libgcc_s, the CA bundle, and /etc/passwd and /etc/group with the
    /// nonroot user (65532). One layer on an empty OCI base; its reference.
    pub fn push_test_base(&self) -> String {
        let base = self.path("base");
        let (loader, libs) = match std::env::consts::ARCH {
            "aarch64" => ("/lib/ld-linux-aarch64.so.1", "/lib/aarch64-linux-gnu"),
            _ => ("/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu"),
        };
        let mut files = vec![loader.to_owned(), "/etc/ssl/certs/ca-certificates.crt".to_owned()];
        files.extend(["libc.so.6", "libm.so.6", "libgcc_s.so.1"].map(|lib| format!("{libs}/{lib}")));
        for file in &files {
            assert!(Path::new(file).exists(), "this machine has no {file} for the test base");
        }
        // glibc's compatibility stubs, where this glibc still ships them (distroless does).
        let stubs = ["libdl.so.2", "libpthread.so.0", "librt.so.1"].map(|lib| format!("{libs}/{lib}"));
        files.extend(stubs.into_iter().filter(|path| Path::new(path).exists()));
        for file in &files {
            let target = base.join(file.trim_start_matches('/'));
            std::fs::create_dir_all(target.parent().expect("a parent")).expect("base directories");
            // The file itself, not a symlink into this machine's tree.
            std::fs::copy(file, &target).unwrap_or_else(|e| panic!("copy {file}: {e}"));
        }
        std::fs::create_dir_all(base.join("tmp")).expect("tmp");
        std::fs::create_dir_all(base.join("home/nonroot")).expect("home");
        std::fs::write(
            base.join("etc/passwd"),
            "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
        )
        .expect("passwd");
        std::fs::write(base.join("etc/group"), "root:x:0:\nnonroot:x:65532:\n").expect("group");
        let layer = self.path("base.tar");
        let tar = run_tool(
            Command::new("tar")
                .args(["--create", "--owner=0", "--group=0", "--numeric-owner", "--file"])
                .arg(&layer)
                .arg("--directory")
                .arg(&base)
                .arg("."),
            "GNU tar is needed to make the test base layer (apt-get install tar)",
        );
        assert!(tar.status.success(), "tar: {}", String::from_utf8_lossy(&tar.stderr));
        let reference = format!("{}/zpa-operator-test-base:1", self.registry.host);
        let layer = layer.to_str().expect("UTF-8 path");
        let pushed =
            self.tool_ok("crane", &["append", "--oci-empty-base", "--new_layer", layer, "--new_tag", &reference]);
        String::from_utf8(pushed).expect("UTF-8").trim().to_owned()
    }

    /// The release recipe on the test base: this platform's image, then the index.
    pub fn push_image(&self) -> Image {
        let base = self.push_test_base();
        let repository = format!("{}/zpa-operator", self.registry.host);
        let binary = release_binary();
        let binary = binary.to_str().expect("UTF-8 path");
        let platform = self.script("image.sh", &["platform", &base, &repository, platform(), binary]);
        assert!(platform.starts_with(&format!("{repository}@sha256:")), "image.sh platform printed {platform}");
        let version = env!("CARGO_PKG_VERSION");
        let index = self.script("image.sh", &["index", &repository, version, &platform]);
        assert!(index.starts_with(&format!("{repository}@sha256:")), "image.sh index printed {index}");
        Image { repository, index, platform }
    }

    /// Both charts pushed, the operator chart's image defaulting to `image`.
    pub fn push_charts(&self, image: &Image) -> Charts {
        let printed = self.script("chart.sh", &[&self.registry.host, &image.index]);
        let lines: Vec<&str> = printed.lines().collect();
        assert_eq!(lines.len(), 2, "chart.sh prints one line per chart: {printed}");
        let version = env!("CARGO_PKG_VERSION");
        let find = |name: &str| {
            let prefix = format!("{}/charts/{name}:{version}@sha256:", self.registry.host);
            lines
                .iter()
                .find(|l| l.starts_with(&prefix))
                .unwrap_or_else(|| panic!("no {prefix} in {printed}"))
                .to_string()
        };
        Charts { crds: find("zpa-operator-crds"), operator: find("zpa-operator") }
    }

    /// `oci://REGISTRY/charts/NAME`.
    pub fn chart_url(&self, name: &str) -> String {
        format!("oci://{}/charts/{name}", self.registry.host)
    }

    /// Fails the test if any tool tried to reach an address off loopback.
    pub fn assert_no_traffic_off_loopback(&self) {
        let seen = self.trap.connections();
        assert!(seen.is_empty(), "release tools tried to reach other addresses through the proxy: {seen:?}");
    }
}

/// `sha256:<hex>` of `bytes`, by coreutils' sha256sum.
pub fn sha256(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail_with_one_line(&format!("sha256sum cannot run ({e}): apt-get install coreutils")));
    child.stdin.take().expect("stdin").write_all(bytes).expect("write to sha256sum");
    let output = child.wait_with_output().expect("sha256sum");
    let text = String::from_utf8_lossy(&output.stdout);
    format!("sha256:{}", text.split_whitespace().next().unwrap_or_default())
}

/// The digest part of `REPOSITORY@sha256:...`.
pub fn digest_of(reference: &str) -> &str {
    reference.split_once('@').map(|(_, digest)| digest).unwrap_or_else(|| panic!("{reference} has no digest"))
}
