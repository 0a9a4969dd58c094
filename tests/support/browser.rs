//! What the browser tests share: running a scenario of a Playwright driver script in
//! Chromium against the real server, and reading numbers and pixels as the page shows
//! them. Each test binary uses part of it.

#![allow(dead_code, reason = "each browser test binary uses part of it")]

use serde_json::{Value, json};

use super::helpers::TestApp;

/// At most two browsers at once: each takes a core while a page renders.
pub static BROWSERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Runs one scenario of the driver `script` (in web/tests/) and returns what it saw. Fails on any page error,
/// console error or failed request (a scenario lists the 4xx answers it provokes on
/// purpose in `expected` instead).
pub async fn drive(script: &str, app: &TestApp, scenario: &str, args: &Value) -> Value {
    let (cookies, _) = app
        .sign_in(super::helpers::TESTER, super::helpers::TESTER_PASSWORD)
        .await;
    drive_signed_in(script, app, scenario, args, &cookies).await
}

/// Like [`drive`], with the browser holding these cookies (`name=value; …`, as
/// [`TestApp::sign_in`] returns them; empty: not signed in).
pub async fn drive_signed_in(
    script: &str,
    app: &TestApp,
    scenario: &str,
    args: &Value,
    cookies: &str,
) -> Value {
    let _permit = BROWSERS.acquire().await.unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let output = tokio::process::Command::new("node")
        .env("PAICHA_COOKIES", cookies)
        .env("PAICHA_TOKEN", &app.token)
        .arg(format!("{root}/web/tests/{script}"))
        .arg(scenario)
        .arg(&app.address)
        .arg(args.to_string())
        .current_dir(root)
        .output()
        .await
        .expect("node must be installed (see .ci/run)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{scenario}: the driver failed ({})\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    let parsed: Result<Value, _> = serde_json::from_str(&stdout);
    assert!(
        parsed.is_ok(),
        "{scenario}: not JSON ({parsed:?}): {stdout}\n{stderr}"
    );
    let seen = parsed.unwrap();
    assert!(
        seen["exception"].is_null(),
        "{scenario}: {}",
        seen["exception"].as_str().unwrap_or_default()
    );
    assert_eq!(
        seen["errors"],
        json!([]),
        "{scenario}: the page logged errors"
    );
    seen
}

/// 12,345 as the page writes it.
pub fn grouped(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// The name the screen shows, as officials say it: 五副甲村民委员会 → 五副甲村, 前进社区居委会
/// → 前进社区 (the exports keep the full name).
pub fn short_name(name: &str) -> String {
    for (suffix, with) in [
        ("村村民委员会", "村"),
        ("村民委员会", "村"),
        ("社区居民委员会", "社区"),
        ("社区居委会", "社区"),
        ("居民委员会", "社区"),
        ("居委会", "社区"),
    ] {
        if let Some(stem) = name.strip_suffix(suffix) {
            return format!("{stem}{with}");
        }
    }
    name.to_owned()
}

/// 23.8% as the page writes it.
pub fn percent(rate: &Value) -> String {
    rate.as_f64()
        .map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// `#rrggbb` as three channels.
pub fn hex_rgb(hex: &str) -> [f64; 3] {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap();
    [
        f64::from((v >> 16) & 0xff),
        f64::from((v >> 8) & 0xff),
        f64::from(v & 0xff),
    ]
}

/// The colour of one pixel of a screenshot.
pub fn pixel(path: &str, x: f64, y: f64) -> [f64; 3] {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "on-screen pixels"
    )]
    let (x, y) = (x.round() as usize, y.round() as usize);
    let at = (y * info.width as usize + x) * channels;
    [
        f64::from(buf[at]),
        f64::from(buf[at + 1]),
        f64::from(buf[at + 2]),
    ]
}

/// What a fill of `color` at the map's opacity looks like over its background.
pub fn blended(color: &str) -> [f64; 3] {
    const OPACITY: f64 = 0.8;
    let fill = hex_rgb(color);
    let background = hex_rgb("#f6f4ef");
    [0, 1, 2].map(|i| OPACITY * fill[i] + (1.0 - OPACITY) * background[i])
}

/// Two colours equal within 3 of 255 per channel (antialiasing, blending).
pub fn close(a: [f64; 3], b: [f64; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 3.0)
}
