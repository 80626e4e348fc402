//! README.md's list of implemented system calls matches the syscall table
//! (services/src/syscall/). When it fails, regenerate the list with
//! `cargo run -q -p umbra-tests --bin syscall-list -- --write`.

use umbra_tests::syscall_list::{self, Kind, COMMAND};
use umbra_tests::workspace_root;

#[test]
fn readme_syscall_list_is_up_to_date() {
    let (readme, expected) = syscall_list::expected_readme(&workspace_root()).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        readme == expected,
        "README.md's list of implemented syscalls is out of date: run `{COMMAND}` and commit README.md"
    );
}

#[test]
fn table_parses_to_known_syscalls() {
    let table = syscall_list::collect(&workspace_root()).unwrap_or_else(|e| panic!("{e}"));
    let has = |name: &str, kind: Kind| table.iter().any(|(_, n, k)| n == name && *k == kind);
    assert!(has("read", Kind::Implemented) && has("getrandom", Kind::Implemented), "{table:?}");
    assert!(has("rseq", Kind::Enosys), "{table:?}");
    assert!(table.iter().filter(|(_, _, k)| *k == Kind::Implemented).count() > 100, "{table:?}");
    assert!(table.iter().any(|&(n, ref name, _)| n == 0 && name == "read"));
}
