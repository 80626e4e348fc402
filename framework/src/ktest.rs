//! In-kernel tests: `#[ktest] fn name() { ... }` anywhere in a kernel crate
//! registers the function in the `.ktests` linker section; [`run`] runs the
//! registered tests inside the booted kernel and reports on the console:
//!
//! ```text
//! ktest framework::ktest::tests::registry_is_sorted ... ok
//! ktest services::foo::bar ... FAILED
//! ktest: 12 passed, 1 failed, 1 ignored
//! ```
//!
//! A test fails by panicking (assert!). The kernel cannot unwind, so the
//! first failure ends the run: the panic handler reports it through
//! [`fail_current`], prints the summary (tests not reached count as not run)
//! and exits with status 1.

use core::panic::PanicInfo;
use core::sync::atomic::{AtomicUsize, Ordering};

/// One registered test (built by `#[ktest]`).
pub struct KtestDescriptor {
    pub module: &'static str,
    pub name: &'static str,
    pub run: fn(),
    pub ignore: bool,
}

impl KtestDescriptor {
    /// Does the full name `module::name` contain `filter`?
    fn matches(&self, filter: &str) -> bool {
        if filter.is_empty() {
            return true;
        }
        // module_path! and name without allocating: check both parts and the joint.
        self.module.contains(filter)
            || self.name.contains(filter)
            || filter.split_once("::").is_some_and(|_| {
                let mut joined = FullName::default();
                joined.push(self.module);
                joined.push("::");
                joined.push(self.name);
                joined.as_str().contains(filter)
            })
    }
}

/// A fixed buffer for `module::name` (no heap in the framework yet).
struct FullName {
    bytes: [u8; 256],
    len: usize,
}

impl Default for FullName {
    fn default() -> Self {
        Self { bytes: [0; 256], len: 0 }
    }
}

impl FullName {
    fn push(&mut self, part: &str) {
        let take = part.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + take].copy_from_slice(&part.as_bytes()[..take]);
        self.len += take;
    }
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

/// Which tests a run includes.
#[derive(Clone, Copy, Debug, Default)]
pub struct KtestOptions<'a> {
    /// Substring of `module::name`; empty = all.
    pub filter: &'a str,
    /// Also run tests marked `#[ktest(ignore)]`.
    pub include_ignored: bool,
}

/// The outcome of a run that finished (a failure ends the kernel instead).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KtestSummary {
    pub passed: usize,
    pub ignored: usize,
}

/// All registered tests.
pub fn registered() -> &'static [KtestDescriptor] {
    #[cfg(target_os = "none")]
    {
        extern "C" {
            static __ktests_start: u8;
            static __ktests_end: u8;
        }
        // SAFETY: the linker script gathers exactly the `.ktests` statics,
        // each a KtestDescriptor (the only thing `#[ktest]` puts there),
        // between these two symbols; the section is read-only after link.
        unsafe {
            let start = core::ptr::addr_of!(__ktests_start).cast::<KtestDescriptor>();
            let end = core::ptr::addr_of!(__ktests_end).cast::<KtestDescriptor>();
            let count = (end as usize - start as usize) / core::mem::size_of::<KtestDescriptor>();
            core::slice::from_raw_parts(start, count)
        }
    }
    #[cfg(not(target_os = "none"))]
    {
        &[]
    }
}

const NONE_RUNNING: usize = usize::MAX;
/// Index of the running test, for the panic handler.
static CURRENT: AtomicUsize = AtomicUsize::new(NONE_RUNNING);
static PASSED: AtomicUsize = AtomicUsize::new(0);
static SELECTED: AtomicUsize = AtomicUsize::new(0);

/// Run the selected tests. Returns only if none failed.
pub fn run(options: KtestOptions) -> KtestSummary {
    let tests = registered();
    let selected = tests.iter().filter(|t| t.matches(options.filter)).count();
    SELECTED.store(selected, Ordering::SeqCst);
    crate::println!("ktest: running {} of {} registered tests", selected, tests.len());
    let mut ignored = 0;
    for (index, test) in tests.iter().enumerate() {
        if !test.matches(options.filter) {
            continue;
        }
        if test.ignore && !options.include_ignored {
            crate::println!("ktest {}::{} ... ignored", test.module, test.name);
            ignored += 1;
            continue;
        }
        CURRENT.store(index, Ordering::SeqCst);
        (test.run)();
        CURRENT.store(NONE_RUNNING, Ordering::SeqCst);
        crate::println!("ktest {}::{} ... ok", test.module, test.name);
        PASSED.fetch_add(1, Ordering::SeqCst);
    }
    let passed = PASSED.load(Ordering::SeqCst);
    crate::println!("ktest: {} passed, 0 failed, {} ignored", passed, ignored);
    KtestSummary { passed, ignored }
}

/// Called by the panic handler: if a test is running, report it as failed
/// with the panic message and the run's summary, and return true.
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
pub(crate) fn fail_current(info: &PanicInfo) -> bool {
    let index = CURRENT.swap(NONE_RUNNING, Ordering::SeqCst);
    let Some(test) = registered().get(index) else {
        return false;
    };
    crate::println!("ktest {}::{} ... FAILED", test.module, test.name);
    crate::println!("  panicked: {}", info.message());
    if let Some(location) = info.location() {
        crate::println!("  at {}:{}:{}", location.file(), location.line(), location.column());
    }
    let passed = PASSED.load(Ordering::SeqCst);
    let not_run = SELECTED.load(Ordering::SeqCst).saturating_sub(passed + 1);
    crate::println!("ktest: {} passed, 1 failed, {} not run", passed, not_run);
    true
}

/// Tests of the test machinery itself.
mod selftest {
    use crate::ktest;

    #[ktest]
    fn passing_test_runs() {
        assert_eq!(core::hint::black_box(1) + 1, 2);
    }

    /// Fails on purpose: the harness test (tests/) runs it with
    /// `ktest --ignored deliberately_failing` and checks the failure is seen.
    #[ktest(ignore)]
    fn deliberately_failing() {
        let answer = core::hint::black_box(41);
        assert_eq!(answer, 42, "this test fails on purpose");
    }
}
