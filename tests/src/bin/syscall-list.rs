//! `cargo run -q -p umbra-tests --bin syscall-list -- [--write | --check]`:
//! print the README's generated list of implemented system calls, or
//! rewrite it in README.md (`--write`), or fail when README.md is stale
//! (`--check`). See `umbra_tests::syscall_list`.

use umbra_tests::syscall_list::{self, COMMAND};
use umbra_tests::workspace_root;

fn main() {
    let root = workspace_root();
    let mode = std::env::args().nth(1);
    let result = match mode.as_deref() {
        None => syscall_list::collect(&root).map(|table| println!("{}", syscall_list::render(&table))),
        Some("--write") => syscall_list::expected_readme(&root).and_then(|(old, new)| {
            if old == new {
                println!("README.md: syscall list up to date");
                return Ok(());
            }
            std::fs::write(root.join("README.md"), new).map_err(|e| format!("writing README.md: {e}"))?;
            println!("README.md: syscall list rewritten");
            Ok(())
        }),
        Some("--check") => syscall_list::expected_readme(&root).and_then(|(old, new)| {
            if old == new {
                Ok(())
            } else {
                Err(format!("README.md's syscall list is stale: run `{COMMAND}`"))
            }
        }),
        Some(other) => Err(format!("unknown option {other}; usage: syscall-list [--write | --check]")),
    };
    if let Err(message) = result {
        eprintln!("syscall-list: {message}");
        std::process::exit(1);
    }
}
