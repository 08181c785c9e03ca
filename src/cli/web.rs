//! `docseal web`: write the one-file verifier page (issue 15). The page, its script and
//! docseal's verifier compiled to WebAssembly are committed under `web/` (rebuilt by
//! `scripts/build-web.sh`) and embedded here, so that building docseal needs no wasm
//! toolchain. The given keys and TSA roots are pinned in the page as data.

use super::args::WebArgs;
use super::load::load_trust;
use anyhow::Result;
use base64::Engine as _;
use docseal::verify::Pinned;
use sha2::{Digest, Sha256};

/// The page's parts (web/): the template, its style and script, the worker's script, and the
/// built verifier: the wasm-bindgen glue and the WebAssembly module.
const TEMPLATE: &str = include_str!("../../web/page.html");
const STYLE: &str = include_str!("../../web/page.css");
const SCRIPT: &str = include_str!("../../web/page.js");
const WORKER: &str = include_str!("../../web/worker.js");
const GLUE: &str = include_str!("../../web/dist/docseal_web.js");
const WASM: &[u8] = include_bytes!("../../web/dist/docseal_web_bg.wasm");

pub fn run(a: WebArgs) -> Result<u8> {
    let trust = load_trust(&a.trust)?;
    let roots = super::timestamp::load_roots(&a.tsa_trust)?;
    let pinned = Pinned::new(&trust, &roots)?;
    let page = page(&pinned)?;
    docseal::atomic::write(&a.out, page.as_bytes(), a.force)?;
    Ok(0)
}

/// `'sha256-…'` of an inline script or style, for the Content-Security-Policy.
fn csp_hash(text: &str) -> String {
    let d = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(d)
    )
}

/// The page's Content-Security-Policy: nothing from anywhere (no network, no form, no frame),
/// except its own inline script and style (by hash), WebAssembly, and its worker (from a
/// `blob:` made of the worker script in the page).
pub fn csp(script: &str, style: &str) -> String {
    format!(
        "default-src 'none'; script-src {} 'wasm-unsafe-eval'; style-src {}; worker-src blob:; \
         base-uri 'none'; form-action 'none'",
        csp_hash(script),
        csp_hash(style)
    )
}

/// Text that can sit inside a `<script>` data element: no `</script` (nor `<!--`) in it.
fn script_safe(what: &str, text: &str) -> Result<()> {
    let lower = text.to_ascii_lowercase();
    if lower.contains("</script") || lower.contains("<!--") {
        anyhow::bail!("internal: the page's {what} cannot be embedded in a script element");
    }
    Ok(())
}

/// The page with `pinned` in it.
pub fn page(pinned: &Pinned) -> Result<String> {
    // JSON with every `<`, `>` and `&` escaped: no text in it can end its element.
    let json = serde_json::to_string(pinned)?
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let worker = format!("{GLUE}\n{WORKER}");
    script_safe("worker", &worker)?;
    script_safe("script", SCRIPT)?;
    let wasm = base64::engine::general_purpose::STANDARD.encode(WASM);
    let mut out = TEMPLATE.to_owned();
    let mut from = 0;
    for (k, v) in [
        ("{{CSP}}", csp(SCRIPT, STYLE).as_str()),
        ("{{STYLE}}", STYLE),
        ("{{VERSION}}", env!("CARGO_PKG_VERSION")),
        ("{{PINNED}}", &json),
        ("{{WASM}}", &wasm),
        ("{{WORKER}}", &worker),
        ("{{SCRIPT}}", SCRIPT),
    ] {
        // Each placeholder once, in this order, looked for only after the parts already put
        // in (a key name could hold a placeholder's text).
        let at = from
            + out[from..]
                .find(k)
                .ok_or_else(|| anyhow::anyhow!("internal: {k} missing from the page template"))?;
        out.replace_range(at..at + k.len(), v);
        from = at + v.len();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 15: the page is one file whose policy allows no network and whose script hash is
    /// the script's; pinned data cannot end its element.
    #[test]
    fn issue15_page_is_self_contained_with_strict_csp() {
        let mut p = Pinned::new(&docseal::verify::Trust::default(), &[]).unwrap();
        p.keys.push(docseal::verify::PinnedKey {
            public_key: "RWQ</script><script>alert(1)</script>".into(),
            name: Some("<!-- & --> {{SCRIPT}} {{WASM}}".into()),
            valid_from: None,
            valid_until: None,
            revoked_at: None,
            revoked_reason: None,
            signer: true,
            archive: false,
            aliases: Vec::new(),
        });
        let html = page(&p).unwrap();
        assert_eq!(
            html.matches("</script>").count(),
            4,
            "exactly the four script elements"
        );
        assert!(!html.contains("<!-- &"));
        assert!(html.contains("default-src 'none'"));
        assert!(html.contains(&csp_hash(SCRIPT)));
        assert_eq!(
            html.matches("{{").count(),
            2,
            "every placeholder is filled, once"
        );
        assert!(html.contains(&format!("<script>{SCRIPT}</script>")));
        for bad in ["http://", "https://", "src=\"", "href=\""] {
            assert!(!TEMPLATE.contains(bad), "the template refers to {bad}");
        }
    }

    /// A trust file's key name that spells a placeholder (`{{SCRIPT}}`, `{{WASM}}`...) stays
    /// in the pinned data: the page's own parts still go where the template puts them, and the
    /// name reads back whole.
    #[test]
    fn attack_web_placeholder_in_key_name() {
        let mut p = Pinned::new(&docseal::verify::Trust::default(), &[]).unwrap();
        let name = "a {{PINNED}} {{WASM}} {{WORKER}} {{SCRIPT}} {{CSP}} b";
        p.keys.push(docseal::verify::PinnedKey {
            public_key: "RWQ".into(),
            name: Some(name.into()),
            valid_from: None,
            valid_until: None,
            revoked_at: None,
            revoked_reason: None,
            signer: true,
            archive: false,
            aliases: Vec::new(),
        });
        let html = page(&p).unwrap();
        let inline = |id: &str| {
            let open = format!("id=\"{id}\">");
            let at = html.find(&open).unwrap() + open.len();
            html[at..at + html[at..].find("</script>").unwrap()].to_owned()
        };
        let back: Pinned = serde_json::from_str(&inline("docseal-pinned")).unwrap();
        assert_eq!(back, p, "the pinned data reads back whole");
        assert_eq!(inline("docseal-worker"), format!("{GLUE}\n{WORKER}"));
        assert!(html.ends_with(&format!("<script>{SCRIPT}</script>\n</body>\n</html>\n")));
        assert!(!html.contains("<script>{{SCRIPT}}</script>"));
    }
}
