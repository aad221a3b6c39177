//! Zscaler's official Python SDK (`zscaler-sdk-python`), unchanged, against the
//! simulator binary: legacy client and OneAPI client, Microtenant and CBI
//! profile CRUD, both ZPA-side profile views, and a OneAPI client signing in
//! with `privateKey` (a key this test generates, its public half registered
//! with `--public-key-client`). See `tests/sdk/official_sdk_check.py`.
//!
//! The SDK (pinned) is installed into a virtual environment under `target/`
//! by `tests/sdk/install.sh` on first use; without python3 the test fails
//! with one line saying so: it never passes without running the SDK.

mod support;

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncBufReadExt as _;
use tokio::process::Command;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/official_sdk_check.py");

/// Environment variables the SDK reads that would change what it does.
const SDK_ENV: &[&str] = &[
    "ZPA_CLIENT_ID",
    "ZPA_CLIENT_SECRET",
    "ZPA_CUSTOMER_ID",
    "ZPA_MICROTENANT_ID",
    "ZSCALER_CLOUD",
    "ZSCALER_VANITY_DOMAIN",
    "ZSCALER_PARTNER_ID",
    "ZSCALER_CLIENT_ID",
    "ZSCALER_CLIENT_SECRET",
    "ZSCALER_PRIVATE_KEY",
];

/// The API client that signs in with a private key.
const KEY_CLIENT: &str = "sdk-key-client";

/// Fails the test with `line` alone on stderr (no panic location, no backtrace).
fn fail_with_one_line(line: &str) -> ! {
    eprintln!("{line}");
    std::panic::resume_unwind(Box::new(line.to_owned()))
}

/// The python of a virtual environment holding the pinned SDK
/// (`tests/sdk/install.sh` makes it on first use); without python3 the test
/// fails with one line saying what to install.
async fn sdk_python() -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/install.sh");
    let output = Command::new("bash").arg(script).stderr(Stdio::inherit()).output().await;
    match output {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        Ok(output) if output.status.code() == Some(127) => {
            fail_with_one_line("python3 is not installed: install Python 3.10+ with pip and venv for the SDK check")
        }
        Ok(output) => fail_with_one_line(&format!(
            "tests/sdk/install.sh could not install zscaler-sdk-python ({}); see its output above",
            output.status
        )),
        Err(e) => fail_with_one_line(&format!("bash cannot run tests/sdk/install.sh: {e}")),
    }
}

#[tokio::test]
async fn the_official_python_sdk_works_against_the_simulator() {
    let python = sdk_python().await;
    let keys_dir = tempfile::tempdir().expect("a temporary directory");
    let key = support::keys::client_key();
    let public_key = keys_dir.path().join("public.pem");
    let private_key = keys_dir.path().join("private.pem");
    std::fs::write(&public_key, support::keys::public_pem(key)).expect("public key written");
    std::fs::write(&private_key, support::keys::private_pem(key)).expect("private key written");
    let key_client = format!("{KEY_CLIENT}={}", public_key.display());

    let mut sim = Command::new(env!("CARGO_BIN_EXE_zpa-operator"))
        .args(["simulator", "--listen", "127.0.0.1:0", "--public-key-client", &key_client])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the simulator binary");
    let stdout = sim.stdout.take().expect("stdout");
    let line = tokio::time::timeout(Duration::from_secs(30), tokio::io::BufReader::new(stdout).lines().next_line())
        .await
        .expect("the simulator prints its URL within 30 s")
        .expect("read stdout")
        .expect("a line");
    let rest = line.strip_prefix("zpa simulator listening on ").unwrap_or_else(|| panic!("unexpected line: {line}"));
    // `http://127.0.0.1:PORT (customer 72057594037927936)`
    let url = rest.split_whitespace().next().expect("a URL").to_owned();
    let customer = rest.rsplit(' ').next().expect("a customer id").trim_end_matches(')').to_owned();
    assert!(customer.parse::<u64>().is_ok(), "{line}");

    let mut script = Command::new(&python);
    script
        .arg(SCRIPT)
        .args([&url, &customer, "sim-client", "sim-secret", KEY_CLIENT])
        .arg(&private_key)
        .env("ZSCALER_CLIENT_CACHE_ENABLED", "false")
        .env("PYTHONUNBUFFERED", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for var in SDK_ENV {
        script.env_remove(var);
    }
    // ZPA's rate limits are on: the SDK may have to honour a `retry-after` or two.
    let output = tokio::time::timeout(Duration::from_secs(180), script.output())
        .await
        .expect("the SDK check finishes within 180 s")
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the official SDK check failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert!(stdout.contains("all official SDK checks passed"), "{stdout}");
    assert!(
        stdout.contains("ok - legacy: create a CBI profile") && stdout.contains("ok - oneapi: create a CBI profile")
    );
    for line in ["ok - oneapi privateKey: list CBI profiles", "ok - oneapi privateKey: list Microtenants"] {
        assert!(stdout.contains(line), "missing {line:?}:\n{stdout}");
    }

    let _ = sim.start_kill();
    let _ = sim.wait().await;
}
