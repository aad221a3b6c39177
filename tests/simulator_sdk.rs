//! Zscaler's official Python SDK (`zscaler-sdk-python`), unchanged, against the
//! simulator binary: legacy client and OneAPI client, Microtenant and CBI
//! profile CRUD, both ZPA-side profile views. See `tests/sdk/official_sdk_check.py`.
//!
//! Needs `python3 -m pip install zscaler-sdk-python` (`.ci/run` installs it);
//! without it the test fails with one line saying so: it never passes without
//! running the SDK.

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
];

/// Fails the test with `line` alone on stderr (no panic location, no backtrace).
fn fail_with_one_line(line: &str) -> ! {
    eprintln!("{line}");
    std::panic::resume_unwind(Box::new(line.to_owned()))
}

/// Fails the test with one line when python3 or the SDK is missing.
async fn require_sdk() {
    let probe = Command::new("python3")
        .args(["-c", "import zscaler.oneapi_client, zscaler.zpa.legacy"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    match probe {
        Ok(status) if status.success() => {}
        Ok(_) => fail_with_one_line(
            "the official Zscaler Python SDK is not importable: install it with `python3 -m pip install zscaler-sdk-python`",
        ),
        Err(e) => fail_with_one_line(&format!("python3 cannot run ({e}): install Python 3 and `zscaler-sdk-python`")),
    }
}

#[tokio::test]
async fn the_official_python_sdk_works_against_the_simulator() {
    require_sdk().await;

    let mut sim = Command::new(env!("CARGO_BIN_EXE_zpa-operator"))
        .args(["simulator", "--listen", "127.0.0.1:0"])
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

    let mut script = Command::new("python3");
    script
        .arg(SCRIPT)
        .args([&url, &customer, "sim-client", "sim-secret"])
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

    let _ = sim.start_kill();
    let _ = sim.wait().await;
}
