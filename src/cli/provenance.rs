//! `docseal cosign`, `docseal history`, `docseal archive ...`: thin layers over
//! [`docseal::cosign`], [`docseal::history`] and [`docseal::archive`].

use super::args::{
    ArchiveAddArgs, ArchiveAuditArgs, ArchiveCheckProofArgs, ArchiveCommand, ArchiveCosignArgs,
    ArchiveMigrateArgs, ArchiveProveArgs, ArchiveProveConsistencyArgs, CosignArgs, HistoryArgs,
    KeyArgs,
};
use super::load::{limits, load_secret_key};
use super::output;
use anyhow::Result;
use docseal::archive::{self, Proof};
use docseal::finding::Severity;
use docseal::metadata::format_sealed;
use docseal::verify::{self, Options, Trust};
use docseal::Error;

pub fn cosign(a: CosignArgs) -> Result<u8> {
    let key = load_secret_key(&a.key)?;
    let c = docseal::cosign::cosign(&a.bundle, &key, &limits(&a.limits))?;
    println!(
        "co-signed {} with key {} ({} signatures now)",
        c.path.display(),
        c.key_id,
        c.signatures
    );
    println!("  id {}", c.id);
    println!("  content sha256 {} (unchanged)", c.content_sha256);
    println!("  added {}", c.file);
    Ok(0)
}

// Longer than 80 lines: the histories printed as text or JSON in one pass over the components.
pub fn history(a: HistoryArgs) -> Result<u8> {
    let mut opts = Options::default();
    opts.limits = limits(&a.limits);
    let mut paths = Vec::new();
    for b in &a.bundles {
        paths.extend(verify::find_bundles(b)?);
    }
    paths.sort();
    paths.dedup();
    if paths.is_empty() && !a.allow_empty {
        eprintln!(
            "docseal: nothing to show: no bundle (*.zip file or unzipped bundle directory) found (give --allow-empty to accept that)"
        );
        return Ok(super::EXIT_FAILED);
    }
    let trust = if a.trust.is_empty() {
        None
    } else {
        Some(super::load::load_trust(&a.trust)?)
    };
    let reports: Vec<verify::Report> = paths
        .iter()
        .map(|p| verify::verify_path(p, trust.as_ref(), &opts))
        .collect();
    let h = docseal::history::history(&reports);
    output::set_earned(if h.ok() { 0 } else { super::EXIT_FAILED });
    if a.json {
        output::print_json("history", &h)?;
    } else {
        for (ci, chain) in h.chains.iter().enumerate() {
            if ci > 0 {
                println!();
            }
            let first = &chain.versions[0];
            let n = chain.versions.len();
            println!(
                "{} ({} version{}, oldest first)",
                first.url,
                n,
                if n == 1 { "" } else { "s" }
            );
            let pos = |c: &str| {
                chain
                    .versions
                    .iter()
                    .position(|v| v.content_sha256 == c)
                    .map(|i| i + 1)
            };
            for (i, v) in chain.versions.iter().enumerate() {
                let trusted_signer = v
                    .signers
                    .iter()
                    .any(|s| s.status == verify::SignerStatus::Trusted);
                let state = if v.trusted == Some(false) && !trusted_signer {
                    "UNTRUSTED: no trusted key signed it".to_string()
                } else if v.trusted == Some(false) {
                    "NOT VERIFIED: see the problems below".to_string()
                } else if !v.superseded_by.is_empty() {
                    let by: Vec<String> = v
                        .superseded_by
                        .iter()
                        .filter_map(|c| pos(c).map(|p| p.to_string()))
                        .collect();
                    format!("superseded by {}", by.join(", "))
                } else {
                    "latest".into()
                };
                println!(
                    "  {}. {}  sealed {} (as asserted by the signer)  [{state}]",
                    i + 1,
                    v.id,
                    v.date_sealed
                );
                println!("     \"{}\"", v.headline);
                if let Some(s) = &v.supersedes {
                    match pos(&s.sha256) {
                        Some(p) => println!("     corrects version {p}"),
                        None => println!("     corrects {} ({})", s.id, s.sha256),
                    }
                }
                println!("     content sha256 {}", v.content_sha256);
                for s in &v.signers {
                    let who = match &s.name {
                        Some(n) => format!("key {} ({n})", s.key_id),
                        None => format!("key {}", s.key_id),
                    };
                    let how = match (s.status, v.trusted.is_some()) {
                        (verify::SignerStatus::Trusted, _) => "trusted",
                        (verify::SignerStatus::ValidUntrusted, false) => {
                            "valid, not checked against trust (give --trust)"
                        }
                        (
                            verify::SignerStatus::ValidUntrusted | verify::SignerStatus::Unknown,
                            true,
                        ) => "NOT TRUSTED",
                        (verify::SignerStatus::Refused, _) => "REFUSED by the trust file",
                        (verify::SignerStatus::Unknown, false) => "unknown key",
                        (verify::SignerStatus::Invalid, _) => "INVALID",
                    };
                    println!("     signed by {who}: {how}");
                }
                for f in &v.files {
                    println!("     file {f}");
                }
                for p in &v.problems {
                    println!("     problem: {p}");
                }
                for n in &v.notes {
                    println!("     note: {n}");
                }
            }
        }
        for u in &h.unplaced {
            println!("unreadable {}: {}", u.path, u.problems.join(", "));
        }
    }
    Ok(if h.ok() { 0 } else { super::EXIT_FAILED })
}

pub fn archive(c: ArchiveCommand) -> Result<u8> {
    match c {
        ArchiveCommand::Add(a) => add(a),
        ArchiveCommand::Audit(a) => audit(a),
        ArchiveCommand::Prove(a) => prove(a),
        ArchiveCommand::ProveConsistency(a) => prove_consistency(a),
        ArchiveCommand::CheckProof(a) => check_proof(a),
        ArchiveCommand::CosignCheckpoint(a) => cosign_checkpoint(a),
        ArchiveCommand::Migrate(a) => migrate(a),
    }
}

fn add(a: ArchiveAddArgs) -> Result<u8> {
    let time = match &a.time {
        Some(t) => Some(docseal::trust::parse_time(t).map_err(|e| Error::invalid("--time", e))?),
        None => None,
    };
    for u in &a.tsa {
        docseal::timestamp::bundle::check_url(u)?;
    }
    let key = load_secret_key(&a.key)?;
    if docseal::store::is_s3(&a.archive) {
        return super::s3archive::add(&a, &key, time);
    }
    let r = archive::add_wait(
        &a.archive,
        &a.bundles,
        &key,
        time,
        &limits(&a.limits),
        std::time::Duration::from_secs(a.wait),
    )?;
    if a.json {
        output::print_json(
            "archive_add",
            &super::s3archive::AddReport {
                archive: a.archive.display().to_string(),
                entries: &r.entries,
                already: &[],
                checkpoint: super::s3archive::CheckpointReport::of(&r.checkpoint, r.key_id, true),
                recovered: &r.recovered,
                conflicts: 0,
                layout: None,
            },
        )?;
    }
    for what in r.recovered.iter().filter(|_| !a.json) {
        println!("recovered from an interrupted add: {what}");
    }
    for e in r.entries.iter().filter(|_| !a.json) {
        println!(
            "logged {} as entry {} ({}, content sha256 {})",
            e.name, e.index, e.id, e.content_sha256
        );
    }
    let cp = &r.checkpoint;
    if !a.json {
        println!(
            "checkpoint {} of {} signed by key {} at {}",
            cp.size,
            cp.origin,
            r.key_id,
            format_sealed(cp.time)
        );
    }
    if !a.tsa.is_empty() {
        super::timestamp::stamp_checkpoint(&a.archive, cp.size, &a.tsa)?;
    }
    Ok(0)
}

fn audit(a: ArchiveAuditArgs) -> Result<u8> {
    let mut trust = Trust::load_archive_keys(&a.trust)?;
    trust.add_tsa_roots(super::timestamp::load_roots(&a.tsa_trust)?);
    let mut kept = Vec::new();
    for k in &a.checkpoints {
        kept.extend(archive::read_kept(k)?);
    }
    let mut policy = archive::tiles::WitnessPolicy::default();
    for w in &a.witnesses {
        let k = archive::witness::read_witness(w)?;
        if !policy.witnesses.contains(&k) {
            policy.witnesses.push(k);
        }
    }
    // A public key given under two names is one witness: it counts once.
    let mut keys: Vec<_> = policy.witnesses.iter().map(|w| w.public_key()).collect();
    keys.sort_unstable_by_key(|k| k.to_bytes());
    keys.dedup();
    policy.min = a.min_witnesses.unwrap_or(keys.len());
    if policy.min > keys.len() {
        return Err(Error::invalid(
            "--min-witnesses",
            format!(
                "{} is more than the {} distinct --witness keys given",
                policy.min,
                keys.len()
            ),
        )
        .into());
    }
    // An archive in object storage: audited through a local copy of its log
    // (cli/s3archive.rs); a v3 archive's bundles are read from the store in place (no copy of
    // `bundles/`), an older layout's are copied too.
    let v3 = super::s3archive::v3_store(&a.archive)?;
    let mirror = super::s3archive::Mirror::for_audit(&a.archive, v3.is_some())?;
    let at = mirror.as_ref().map_or(a.archive.as_path(), |m| m.path());
    let lim = limits(&a.limits);
    let mut r = super::s3archive::renamed(
        mirror.as_ref(),
        match &v3 {
            Some(s) => {
                archive::audit_with_store_bundles(at, &trust, &kept, &lim, &policy, s.as_ref())
            }
            None => archive::audit_with(at, &trust, &kept, &lim, &policy),
        },
    )?;
    if let Some(m) = &mirror {
        r.archive = m.rename(&r.archive);
        for f in &mut r.findings {
            f.message = m.rename(&f.message);
        }
        // Objects no file can be named as (not in the copy): under `bundles/` unlisted (as the
        // audit in place of a v3 archive reports them itself), under `log/` an unexpected
        // file in the log (as on a disk); elsewhere ignored, as on a disk.
        use docseal::finding::{Code, Finding};
        let why = "under a name no file of an archive can have (a control character, an empty or `.` component, a trailing `/`): planted by hand (remove it by hand)";
        for name in m.strays() {
            let f = if name.starts_with("bundles/") && v3.is_none() {
                Finding::at(
                    Code::ArchiveBundleUnlisted,
                    name.clone(),
                    format!("in the archive but not in its log, {why}"),
                )
            } else if name.starts_with("log/") {
                Finding::at(
                    Code::LogMalformed,
                    name.clone(),
                    format!("an unexpected object in the log, {why}"),
                )
            } else {
                continue;
            };
            r.findings.push(f);
            r.ok = false;
        }
    }
    output::set_earned(if r.ok { 0 } else { super::EXIT_FAILED });
    if a.json {
        output::print_json("audit", &r)?;
    } else {
        println!(
            "{}  {}  {} entries, {} checkpoints",
            if r.ok { "OK    " } else { "FAILED" },
            r.archive,
            r.entries,
            r.checkpoints
        );
        if let Some(l) = &r.latest {
            println!(
                "  latest checkpoint {} at {}, root {}, signed by {}",
                l.size,
                l.time,
                l.root,
                l.signer.as_deref().unwrap_or("an untrusted key")
            );
        }
        output::write_checkpoint_tokens(&mut std::io::stdout().lock(), &r.timestamps)
            .map_err(output::stdout_error)?;
        for f in &r.findings {
            let tag = if f.severity == Severity::Warning {
                "warning "
            } else {
                ""
            };
            println!("  {tag}{f}");
        }
    }
    Ok(if r.ok { 0 } else { super::EXIT_FAILED })
}

fn cosign_checkpoint(a: ArchiveCosignArgs) -> Result<u8> {
    // A regular file or a pipe (`<(curl ...)`, `/dev/stdin`), opened without blocking (a FIFO
    // with no writer reads as empty; a device is refused); bounded: one byte past a note's
    // limit is enough for cosign_checkpoint to refuse it as too large.
    let how = docseal::input::Open {
        what: "signature file",
        follow: true,
        accept: docseal::input::Accept::RegularOrPipe,
    };
    let (file, _) = docseal::input::open(&a.signature, how)?;
    let bytes = docseal::input::read_at_most(file, docseal::note::MAX_NOTE_BYTES as u64)
        .map_err(|e| docseal::Error::io(&a.signature, e))?;
    let mut policy = archive::witness::CosignPolicy::default();
    policy.allow_unverified = a.allow_unverified;
    for w in &a.witnesses {
        policy.witnesses.push(archive::witness::read_witness(w)?);
    }
    let r = archive::witness::cosign_checkpoint_with(
        &a.archive,
        &bytes,
        std::time::Duration::from_secs(a.wait),
        &policy,
    )
    .map_err(|e| match e {
        docseal::Error::Refused { summary, .. } => docseal::Error::Refused {
            path: a.signature.clone(),
            summary,
        },
        e => e,
    })?;
    println!(
        "checkpoint {}: {} new cosignature line(s), {} in all",
        r.size, r.added, r.total
    );
    if r.unverified > 0 {
        eprintln!(
            "note: {} cosignature line(s) not verified (no --witness key for them): archive audit --witness checks them",
            r.unverified
        );
    }
    Ok(0)
}

fn migrate(a: ArchiveMigrateArgs) -> Result<u8> {
    let wait = std::time::Duration::from_secs(a.wait);
    if docseal::store::is_s3(&a.archive) {
        return migrate_s3(&a);
    }
    let v3 = archive::v3log::is_v3(&a.archive)?;
    let v1 = !v3 && !archive::tiles::is_v2(&a.archive)?;
    if a.to == "v2" && !v1 {
        let now = if v3 {
            "v3 (log/sequence exists)"
        } else {
            "v2 already (log/tile/ exists)"
        };
        return Err(
            Error::invalid(a.archive.display().to_string(), format!("its log is {now}")).into(),
        );
    }
    if v1 {
        let Some(key) = a.key.clone() else {
            return Err(Error::invalid(
                a.archive.display().to_string(),
                "its log is v1: migrating it to v2 signs log/checkpoint, which needs --key",
            )
            .into());
        };
        let key = load_secret_key(&KeyArgs {
            key,
            passphrase_file: a.passphrase_file.clone(),
        })?;
        let r = archive::tiles::migrate(&a.archive, &key, wait)?;
        println!(
            "{}: log v2 written: tiles of {} entries, log/checkpoint is checkpoint {}",
            a.archive.display(),
            r.entries,
            r.checkpoint
        );
    }
    if a.to == "v3" {
        let r = archive::v3log::migrate_v3(&a.archive, wait)?;
        println!(
            "{}: log v3 {}: {} entries in the entry bundles and log/index/, log/sequence starts at {}",
            a.archive.display(),
            if r.already { "already" } else { "written" },
            r.entries,
            r.entries
        );
    }
    Ok(0)
}

/// `archive migrate s3://... --to v3`: the log checked on a private copy, the index, the
/// sequence and the removal of log/entries written to the bucket.
fn migrate_s3(a: &ArchiveMigrateArgs) -> Result<u8> {
    let name = docseal::store::safe_display(&a.archive);
    if a.to != "v3" {
        return Err(Error::invalid(
            name,
            "an archive on object storage migrates to v3 only (--to v3); a v1 log there must be migrated to v2 on a local copy",
        )
        .into());
    }
    let store = docseal::store::Location::parse(&a.archive)
        .and_then(|l| l.open())
        .map_err(|e| Error::invalid(name.clone(), e.to_string()))?;
    let mirror = super::s3archive::Mirror::of(&a.archive, false)?
        .ok_or_else(|| Error::invalid(name.clone(), "not an s3:// location"))?;
    let r = super::s3archive::renamed(
        Some(&mirror),
        archive::v3log::migrate_v3_store(store.as_ref(), mirror.path()),
    )?;
    println!(
        "{name}: log v3 {}: {} entries in the entry bundles and log/index/, log/sequence starts at {}",
        if r.already { "already" } else { "written" },
        r.entries,
        r.entries
    );
    Ok(0)
}

fn prove(a: ArchiveProveArgs) -> Result<u8> {
    let p = if let Some(s) = super::s3archive::v3_store(&a.archive)? {
        // A v3 archive in object storage: read in place, O(log n) requests, no copy.
        archive::prove_inclusion_store(s.as_ref(), &a.bundle, a.checkpoint, &limits(&a.limits))?
    } else {
        // The log, and the bundle if one of the archive is named (not a file here).
        let mirror = super::s3archive::Mirror::of_parts(&a.archive, false, true, Some(&a.bundle))?;
        let at = mirror.as_ref().map_or(a.archive.as_path(), |m| m.path());
        super::s3archive::renamed(
            mirror.as_ref(),
            archive::prove_inclusion(at, &a.bundle, a.checkpoint, &limits(&a.limits)),
        )?
    };
    let entry =
        archive::Entry::parse(p.entry.as_bytes()).map_err(|e| Error::invalid("entry", e))?;
    let cp = archive::Checkpoint::parse(p.checkpoint.body.as_bytes())
        .map_err(|e| Error::invalid("checkpoint", e))?;
    docseal::atomic::write(&a.out, &Proof::Inclusion(p).to_bytes(), a.force)?;
    println!(
        "wrote {}: entry {} ({}) is in {} as of checkpoint {} ({})",
        a.out.display(),
        entry.index,
        entry.name,
        cp.origin,
        cp.size,
        format_sealed(cp.time)
    );
    Ok(0)
}

fn prove_consistency(a: ArchiveProveConsistencyArgs) -> Result<u8> {
    let p = if let Some(s) = super::s3archive::v3_store(&a.archive)? {
        // A v3 archive in object storage: read in place, O(log n) requests, no copy.
        archive::prove_consistency_store(s.as_ref(), a.from, a.to)?
    } else {
        let mirror = super::s3archive::Mirror::of_parts(&a.archive, false, false, None)?;
        let at = mirror.as_ref().map_or(a.archive.as_path(), |m| m.path());
        super::s3archive::renamed(
            mirror.as_ref(),
            archive::prove_consistency(at, a.from, a.to),
        )?
    };
    let new = archive::Checkpoint::parse(p.new.body.as_bytes())
        .map_err(|e| Error::invalid("checkpoint", e))?;
    docseal::atomic::write(&a.out, &Proof::Consistency(p).to_bytes(), a.force)?;
    println!(
        "wrote {}: checkpoint {} extends checkpoint {}",
        a.out.display(),
        new.size,
        a.from
    );
    Ok(0)
}

fn check_proof(a: ArchiveCheckProofArgs) -> Result<u8> {
    let trust = Trust::load_archive_keys(&a.trust)?;
    let kept = match &a.checkpoint {
        Some(k) => archive::read_kept(k)?.pop(),
        None => None,
    };
    let r = archive::check_proof(
        &a.proof,
        &trust,
        a.bundle.as_deref(),
        kept.as_ref(),
        &limits(&a.limits),
    )
    .map_err(|e| {
        // The library names the kept checkpoint or the bundle it refused; the command line
        // names them by their flags.
        let flags = [
            kept.as_ref().map(|k| (k.label.clone(), "--checkpoint")),
            a.bundle
                .as_ref()
                .map(|b| (b.display().to_string(), "--bundle")),
        ];
        match e {
            docseal::Error::Invalid { what, problem } => {
                let flag = flags.iter().flatten().find(|(l, _)| *l == what);
                docseal::Error::Invalid {
                    what: flag.map_or(what.clone(), |(_, f)| format!("{f} {what}")),
                    problem,
                }
            }
            other => other,
        }
    })?;
    if a.json {
        output::print_json("proof_check", &r)?;
        return Ok(0);
    }
    let cp = &r.checkpoint;
    let signer = match &cp.key_name {
        Some(n) => format!("key {} ({n})", cp.key_id),
        None => format!("key {}", cp.key_id),
    };
    match (&r.entry, &r.old) {
        (Some(e), _) => {
            println!(
                "OK  entry {} ({}, {}) is in {} as of checkpoint {}",
                e.index, e.name, e.id, cp.origin, cp.size
            );
            println!("  content sha256 {}", e.content_sha256);
            println!(
                "  checkpoint {} signed by {signer} at {}: the bundle existed by then",
                cp.size, cp.time
            );
        }
        (None, Some(old)) => {
            println!(
                "OK  checkpoint {} ({}) of {} extends checkpoint {} ({})",
                cp.size, cp.time, cp.origin, old.size, old.time
            );
            println!("  both signed by trusted keys; nothing logged by {} was removed, replaced or reordered", old.size);
        }
        (None, None) => {}
    }
    for n in &r.notes {
        println!("  {n}");
    }
    Ok(0)
}
