//! What the command line adds to the library's errors: its flags and what to type. The library
//! names the file, the field and the problem, never a flag (docs/ARCHITECTURE.md); the advice
//! for a user of the command line is written here, once, for every subcommand.

use docseal::error::Setting;
use docseal::Error;

/// The flag that changes `s`, and how.
fn setting_advice(s: Setting) -> Option<&'static str> {
    Some(match s {
        Setting::Force => "use --force to write into it",
        Setting::MaxFileSize => "raise the limit with --max-file-size",
        Setting::MaxTotalSize => "raise the limit with --max-total-size",
        Setting::MaxEntries => "raise the limit with --max-entries",
        Setting::BatchBase => "job paths are confined to --base DIR",
        Setting::Record => "choose the record with: docseal pack CAPTURE --url URL",
        _ => return None,
    })
}

/// `e` as the command line shows it, when the command line has advice to add: the library's
/// message, then what to type. `None` when the library's message is all there is to say.
pub fn message(e: &Error) -> Option<String> {
    match e {
        Error::Exists { path } => Some(format!(
            "{}: already exists (use --force to replace it)",
            path.display()
        )),
        Error::NoPassphrase { path } => Some(format!(
            "{}: the secret key is encrypted; give --passphrase-file FILE (no terminal to ask on)",
            path.display()
        )),
        Error::Damaged { path, .. } => Some(format!(
            "{e}; see docseal inspect {} for its findings",
            path.display()
        )),
        Error::Setting { setting, .. } => setting_advice(*setting).map(|a| format!("{e}; {a}")),
        Error::Invalid { problem, .. } if problem == docseal::timestamp::bundle::ONLY_HTTP => {
            Some(format!(
                "{e}; for an https:// TSA, fetch the token with curl and use --request-out/--reply"
            ))
        }
        _ => {
            let text = e.to_string();
            text.contains(docseal::archive::AUDIT_HINT).then(|| {
                text.replace(
                    docseal::archive::AUDIT_HINT,
                    "docseal archive audit ARCHIVE gives the details",
                )
            })
        }
    }
}

/// [`message`], or the library's message.
pub fn message_or_plain(e: &Error) -> String {
    message(e).unwrap_or_else(|| e.to_string())
}

/// A sealing error about a request field (`url`), named as pack's flag (`--url`); the
/// attachments as `--attach`.
pub fn as_flag(e: Error) -> Error {
    let flag = |what: String| {
        if docseal::seal::SEALED_FIELDS.contains(&what.as_str()) {
            format!("--{what}")
        } else if what == "attachments" {
            "--attach".to_string()
        } else {
            what
        }
    };
    match e {
        Error::Invalid { what, problem } => Error::Invalid {
            what: flag(what),
            problem,
        },
        Error::Setting {
            what,
            problem,
            setting,
        } => Error::Setting {
            what: flag(what),
            problem,
            setting,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue13_every_setting_has_its_flag_and_the_library_message_has_none() {
        let all = [
            (Setting::Force, "--force"),
            (Setting::MaxFileSize, "--max-file-size"),
            (Setting::MaxTotalSize, "--max-total-size"),
            (Setting::MaxEntries, "--max-entries"),
            (Setting::BatchBase, "--base"),
            (Setting::Record, "--url"),
        ];
        for (s, flag) in all {
            let e = Error::setting("x.zip", "refused", s);
            assert_eq!(e.to_string(), "x.zip: refused");
            let shown = message(&e).unwrap();
            assert!(
                shown.starts_with("x.zip: refused; ") && shown.contains(flag),
                "{shown}"
            );
        }
        let e = as_flag(Error::setting(
            "attachments",
            "9 files",
            Setting::MaxEntries,
        ));
        assert!(message_or_plain(&e).starts_with("--attach: 9 files; "));
        let e = as_flag(Error::invalid("url", "not a URL"));
        assert_eq!(message_or_plain(&e), "--url: not a URL");
    }
}
