//! The README's list of implemented system calls, generated from the
//! syscall table: the match arms `nr::SYS_NAME => ...` in
//! services/src/syscall/*.rs, numbered through the `pub const SYS_NAME:
//! u64 = N;` lines of services/src/syscall_numbers.rs.
//!
//! An arm whose body mentions `ENOSYS` is "recognised, ENOSYS on purpose";
//! an arm whose whole body is `ok(<number>)` is a no-op stub; every other
//! arm is implemented. `cargo run -q -p umbra-tests --bin syscall-list --
//! --write` rewrites the part of README.md between [`BEGIN`] and [`END`];
//! tests/tests/readme_syscalls.rs fails when that part is stale.

use std::collections::BTreeMap;
use std::path::Path;

pub const BEGIN: &str = "<!-- syscall-list:begin -->";
pub const END: &str = "<!-- syscall-list:end -->";
pub const COMMAND: &str = "cargo run -q -p umbra-tests --bin syscall-list -- --write";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Implemented,
    Stub,
    Enosys,
}

/// `SYS_NAME` -> number, from syscall_numbers.rs.
pub fn parse_numbers(source: &str) -> BTreeMap<String, u64> {
    let mut numbers = BTreeMap::new();
    for line in source.lines() {
        let Some(rest) = line.trim().strip_prefix("pub const SYS_") else { continue };
        let Some((name, value)) = rest.split_once(": u64 = ") else { continue };
        if let Ok(n) = value.trim_end_matches(';').trim().parse() {
            numbers.insert(format!("SYS_{name}"), n);
        }
    }
    numbers
}

/// The match arms `nr::SYS_A | nr::SYS_B => body` of one source file, as
/// (constant names, body text up to the next arm).
pub fn parse_arms(source: &str) -> Vec<(Vec<String>, String)> {
    let mut arms: Vec<(Vec<String>, String)> = Vec::new();
    // Whether lines continue the last arm's body (false after `_ =>`).
    let mut open = false;
    for line in source.lines() {
        // Comments say nothing about an arm (and may mention ENOSYS).
        let trimmed = line.split_once("//").map_or(line, |(code, _)| code).trim();
        if trimmed.is_empty() {
            continue;
        }
        let pattern = trimmed.split_once("=>").map(|(p, b)| (p.trim(), b));
        let names: Option<Vec<String>> = pattern.and_then(|(p, _)| {
            let names: Vec<String> = p
                .split('|')
                .map(|alt| alt.trim().strip_prefix("nr::").map(str::to_string))
                .collect::<Option<_>>()?;
            names.iter().all(|n| n.starts_with("SYS_") && n[4..].chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')).then_some(names)
        });
        match (names, pattern) {
            (Some(names), Some((_, body))) => {
                arms.push((names, body.trim().to_string()));
                open = true;
            }
            _ if trimmed.starts_with("_ =>") => open = false,
            _ => {
                // Continuation of the previous arm's body (multi-line arms).
                if let Some(last) = arms.last_mut().filter(|_| open) {
                    last.1.push(' ');
                    last.1.push_str(trimmed);
                }
            }
        }
    }
    arms
}

pub fn classify(body: &str) -> Kind {
    let body = body.trim().trim_end_matches(',');
    if body.contains("ENOSYS") {
        return Kind::Enosys;
    }
    if let Some(inner) = body.strip_prefix("ok(").and_then(|b| b.strip_suffix(')')) {
        if inner.chars().all(|c| c.is_ascii_digit()) {
            return Kind::Stub;
        }
    }
    Kind::Implemented
}

/// (number, name, kind) of every syscall in the table, by number.
pub fn collect(root: &Path) -> Result<Vec<(u64, String, Kind)>, String> {
    let numbers_path = root.join("services/src/syscall_numbers.rs");
    let numbers = parse_numbers(&std::fs::read_to_string(&numbers_path).map_err(|e| format!("{}: {e}", numbers_path.display()))?);
    let dir = root.join("services/src/syscall");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    let mut table: BTreeMap<u64, (String, Kind)> = BTreeMap::new();
    for file in files {
        let source = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        for (names, body) in parse_arms(&source) {
            let kind = classify(&body);
            for constant in names {
                let number = *numbers
                    .get(&constant)
                    .ok_or_else(|| format!("{}: {constant} is not in syscall_numbers.rs", file.display()))?;
                let name = constant["SYS_".len()..].to_ascii_lowercase();
                // A syscall in two arms (another match): the better kind wins.
                let entry = table.entry(number).or_insert((name, kind));
                entry.1 = entry.1.min(kind);
            }
        }
    }
    Ok(table.into_iter().map(|(n, (name, kind))| (n, name, kind)).collect())
}

/// The generated README section, markers included.
pub fn render(table: &[(u64, String, Kind)]) -> String {
    let list = |kind: Kind| -> (usize, String) {
        let items: Vec<String> = table
            .iter()
            .filter(|(_, _, k)| *k == kind)
            .map(|(n, name, _)| format!("`{name}` ({n})"))
            .collect();
        (items.len(), wrap(&items, 78))
    };
    let (implemented, implemented_list) = list(Kind::Implemented);
    let (stubs, stub_list) = list(Kind::Stub);
    let (enosys, enosys_list) = list(Kind::Enosys);
    let mut out = String::new();
    out.push_str(BEGIN);
    out.push('\n');
    out.push_str(&format!(
        "<!-- Generated from services/src/syscall/ by `{COMMAND}`; do not edit by hand. -->\n\n"
    ));
    out.push_str(&format!("Implemented ({implemented}; name and x86-64 number):\n{implemented_list}\n\n"));
    if stubs > 0 {
        out.push_str(&format!("Accepted as no-ops that return a constant ({stubs}):\n{stub_list}\n\n"));
    }
    if enosys > 0 {
        out.push_str(&format!(
            "Known and answered with `ENOSYS` on purpose, without a log line ({enosys}):\n{enosys_list}\n\n"
        ));
    }
    out.push_str("Every other number returns `ENOSYS` and is logged once by name.\n");
    out.push_str(END);
    out
}

/// `items` joined by ", " in lines of at most `width` characters, never
/// breaking inside an item.
fn wrap(items: &[String], width: usize) -> String {
    let mut lines: Vec<String> = vec![String::new()];
    for (i, item) in items.iter().enumerate() {
        let piece = if i + 1 < items.len() { format!("{item},") } else { item.clone() };
        let line = lines.last_mut().expect("one line");
        if !line.is_empty() && line.len() + 1 + piece.len() > width {
            lines.push(piece);
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&piece);
        }
    }
    lines.join("\n")
}

/// `readme` with its section between the markers replaced by `section`;
/// an error when the markers are missing.
pub fn splice(readme: &str, section: &str) -> Result<String, String> {
    let start = readme.find(BEGIN).ok_or_else(|| format!("README.md has no {BEGIN} marker"))?;
    let end = readme[start..].find(END).ok_or_else(|| format!("README.md has no {END} marker"))? + start + END.len();
    Ok(format!("{}{}{}", &readme[..start], section, &readme[end..]))
}

/// README.md as it should be now.
pub fn expected_readme(root: &Path) -> Result<(String, String), String> {
    let path = root.join("README.md");
    let readme = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let updated = splice(&readme, &render(&collect(root)?))?;
    Ok((readme, updated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arms_single_multi_and_continued() {
        let src = "match number {\n    nr::SYS_READ => read(a),\n    nr::SYS_FSYNC | nr::SYS_SYNC => ok(0),\n    \
                   nr::SYS_LCHOWN => {\n        chown(x)\n    }\n    nr::SYS_RSEQ => Err(Error::with_message(Errno::ENOSYS, \"\")),\n    \
                   _ => unknown(number),\n}\n";
        let arms = parse_arms(src);
        let kinds: Vec<(Vec<String>, Kind)> = arms.iter().map(|(n, b)| (n.clone(), classify(b))).collect();
        assert_eq!(
            kinds,
            vec![
                (vec!["SYS_READ".to_string()], Kind::Implemented),
                (vec!["SYS_FSYNC".to_string(), "SYS_SYNC".to_string()], Kind::Stub),
                (vec!["SYS_LCHOWN".to_string()], Kind::Implemented),
                (vec!["SYS_RSEQ".to_string()], Kind::Enosys),
            ]
        );
    }

    #[test]
    fn numbers_and_splice() {
        let numbers = parse_numbers("pub const NR_SYSCALLS: usize = 470;\npub const SYS_READ: u64 = 0;\npub const SYS_STATX: u64 = 332;\n");
        assert_eq!(numbers.get("SYS_STATX"), Some(&332));
        assert_eq!(numbers.len(), 2);
        let readme = format!("a\n{BEGIN}\nold\n{END}\nb\n");
        assert_eq!(splice(&readme, "NEW").unwrap(), "a\nNEW\nb\n");
        assert!(splice("no markers", "x").is_err());
    }
}
