//! In-kernel tests of the SEV-SNP layer (`ktest tee::snp`). Under `--tee
//! snp-emu` they drive the real SNP code against the emulator and check
//! its view (RMP states, violations, PSP sequence numbers, signatures);
//! elsewhere only the pinned numbers are checked.

use framework::ktest;

#[ktest]
fn snp_abi_numbers_are_pinned() {
    use super::abi::*;
    // AMD GHCB spec 56421 / Linux sev-common.h, svm.h.
    assert_eq!((MSR_SEV_STATUS, MSR_GHCB), (0xc001_0131, 0xc001_0130));
    assert_eq!((SEV_STATUS_SEV, SEV_STATUS_ES, SEV_STATUS_SNP), (1, 2, 4));
    assert_eq!((msr_proto::SEV_INFO_REQ, msr_proto::SEV_INFO_RESP), (0x002, 0x001));
    assert_eq!((msr_proto::CPUID_REQ, msr_proto::CPUID_RESP), (0x004, 0x005));
    assert_eq!((msr_proto::REG_GPA_REQ, msr_proto::REG_GPA_RESP), (0x012, 0x013));
    assert_eq!((msr_proto::PSC_REQ, msr_proto::PSC_RESP), (0x014, 0x015));
    assert_eq!((msr_proto::HV_FT_REQ, msr_proto::HV_FT_RESP, msr_proto::TERM_REQ), (0x080, 0x081, 0x100));
    assert_eq!((msr_proto::TERM_SET_LINUX, msr_proto::TERM_PVALIDATE), (1, 2));
    assert_eq!((PSC_OP_PRIVATE, PSC_OP_SHARED, PSC_MAX_ENTRIES), (1, 2, 253));
    assert_eq!((exit::CPUID, exit::IOIO, exit::MSR), (0x72, 0x7b, 0x7c));
    assert_eq!((exit::PSC, exit::GUEST_REQUEST, exit::EXT_GUEST_REQUEST, exit::AP_CREATION), (0x8000_0010, 0x8000_0011, 0x8000_0012, 0x8000_0013));
    assert_eq!((pvalidate::FAIL_INPUT, pvalidate::FAIL_SIZEMISMATCH), (1, 6));
    // Firmware ABI 56860 / Linux sev-guest.h: message header and report.
    assert_eq!((msg::HEADER_SIZE, msg::SEQNO, msg::ALGO, msg::MSG_TYPE, msg::MSG_SZ, msg::MSG_VMPCK), (0x60, 0x20, 0x30, 0x34, 0x36, 0x3c));
    assert_eq!((msg::TYPE_KEY_REQ, msg::TYPE_REPORT_REQ, msg::REPORT_REQ_SIZE), (3, 5, 96));
    assert_eq!((report::SIZE, report::REPORT_DATA, report::MEASUREMENT, report::CHIP_ID, report::SIGNATURE), (0x4a0, 0x50, 0x90, 0x1a0, 0x2a0));
    assert_eq!((secrets::VMPCK0, secrets::OS_AREA), (0x20, 0xa0));
    assert_eq!(FW_ERR_INVALID_PARAM, 0x16);
    assert_eq!(super::ghcb::layout::SW_EXIT_CODE, 0x390);
}

#[cfg(feature = "emulation")]
mod emulated {
    use alloc::vec::Vec;
    use core::sync::atomic::Ordering;

    use boot::PhysRange;
    use framework::ktest;
    use framework::mm::{Frame, Segment};

    use crate::emu::pages::PageState;
    use crate::emu::snp::{self as emu, attest, SnpViolation};
    use crate::platform::{IoSize, PlatformKind, TeeError, TeeReport};
    use crate::snp::abi::{msg, pvalidate as pv, SEV_STATUS_SNP};
    use crate::snp::{ghcb, guest_request, instr, msr_protocol, pvalidate};

    fn emulated() -> bool {
        if !emu::active() {
            framework::println!("  (not under --tee snp-emu: nothing to check)");
        }
        emu::active()
    }

    fn range_of(paddr: u64, size: u64) -> PhysRange {
        PhysRange { start: paddr, end: paddr + size }
    }

    #[ktest]
    fn detection_and_msr_protocol() {
        if !emulated() {
            return;
        }
        let platform = crate::platform();
        assert_eq!(platform.kind(), PlatformKind::SevSnp);
        assert!(instr::read_sev_status() & SEV_STATUS_SNP != 0);
        let info = msr_protocol::sev_info().unwrap();
        assert_eq!(info.c_bit, 51);
        assert!(info.protocol_min <= 2 && info.protocol_max >= 2);
        assert!(msr_protocol::hv_features().unwrap() & 1 != 0, "SNP feature");
        // The MSR protocol's CPUID agrees with the CPU.
        assert_eq!(msr_protocol::cpuid(0, 1).unwrap(), framework::arch::cpuid::raw(0, 0).ebx);
        // CPUID answers come from the firmware-validated table: it says
        // SNP and C-bit 51, which TCG's own CPUID does not.
        assert!(crate::snp::cpuid_table::table().is_some());
        let sev = crate::platform().cpuid(0x8000_001f, 0).unwrap();
        assert!(sev.eax & (1 << 4) != 0 && sev.ebx & 0x3f == 51, "{:?}", sev);
        // (ECX differs in OSXSAVE, which follows CR4 after launch: Linux
        // patches it in; compare the signature.)
        let native = framework::arch::cpuid::raw(1, 0);
        assert_eq!(crate::platform().cpuid(1, 0).unwrap().eax, native.eax);
    }

    #[ktest]
    fn ghcb_calls_reach_the_host() {
        if !emulated() {
            return;
        }
        let before = emu::STATS.vmgexits.load(Ordering::Relaxed);
        // Leaf 0x4000_0000 is outside the table's ranges: the host answers.
        let native = framework::arch::cpuid::raw(0x4000_0000, 0);
        let via_ghcb = crate::snp::cpuid(0x4000_0000, 0).unwrap();
        assert_eq!((via_ghcb.eax, via_ghcb.ebx, via_ghcb.ecx, via_ghcb.edx), (native.eax, native.ebx, native.ecx, native.edx));
        let lsr = crate::snp::io_read(0x3fd, IoSize::Byte).unwrap();
        assert!(lsr <= 0xff && lsr & 0x20 != 0, "COM1 LSR {:#x}: transmitter empty expected", lsr);
        // SAFETY: reading IA32_APIC_BASE has no side effect.
        let apic_base = unsafe { crate::native::rdmsr_checked(0x1b) }.unwrap();
        assert_eq!(crate::snp::rdmsr(0x1b), Ok(apic_base));
        // An MSR exit without RCX: the host refuses (GHCB error 2) and the
        // emulator counts a malformed request.
        let bad = emu::violation_count(SnpViolation::BadGhcb);
        // SAFETY: an MSR exit writes only the GHCB.
        let refused = ghcb::with_ghcb(|g| unsafe { g.call(crate::snp::abi::exit::MSR, 0, 0) }).unwrap();
        assert_eq!(refused, Err(TeeError::Host(2)));
        assert_eq!(emu::violation_count(SnpViolation::BadGhcb), bad + 1);
        // An exit code the host does not know: refused as well.
        // SAFETY: as above.
        assert_eq!(ghcb::with_ghcb(|g| unsafe { g.call(0x8000_00ff, 0, 0) }).unwrap(), Err(TeeError::Host(2)));
        assert!(emu::STATS.vmgexits.load(Ordering::Relaxed) - before >= 4);
        // This CPU's GHCB is registered and shared.
        let cpu = framework::cpu_local::this_cpu().index;
        let gpa = ghcb::gpa_of(cpu).unwrap();
        assert_eq!(emu::registered_ghcb(cpu), gpa);
        assert_eq!(crate::emu::page_state(gpa), Some(PageState::Shared));
    }

    #[ktest]
    fn psc_and_pvalidate_round_trip() {
        if !emulated() {
            return;
        }
        let platform = crate::platform();
        let violations = emu::violation_count(SnpViolation::SharedWhileValidated);
        // 128 pages of 4 KiB: two PSC exits (64 entries each).
        let segment = Segment::alloc(7).unwrap();
        let range = range_of(segment.paddr(), segment.size() as u64);
        segment.fill(0x5a);
        let exits = emu::STATS.vmgexits.load(Ordering::Relaxed);
        // SAFETY: the test owns the segment; nothing references it.
        unsafe { platform.convert_to_shared(range) }.unwrap();
        assert!(emu::STATS.vmgexits.load(Ordering::Relaxed) - exits >= 2, "the PSC loop did not run");
        for page in (range.start..range.end).step_by(4096) {
            assert_eq!(crate::emu::page_state(page), Some(PageState::Shared));
        }
        let mut word = [0u8; 8];
        segment.read_bytes(4096 * 5, &mut word).unwrap();
        assert_eq!(word, [0; 8], "made shared only after zeroing");
        // SAFETY: as above; nothing maps it shared.
        unsafe { platform.convert_to_private(range) }.unwrap();
        for page in (range.start..range.end).step_by(4096) {
            assert_eq!(crate::emu::page_state(page), Some(PageState::Private));
        }
        segment.read_bytes(4096 * 7, &mut word).unwrap();
        assert_eq!(word, [0; 8], "validated again and zeroed");
        // 4 MiB: two 2 MiB PSC entries and 2 MiB PVALIDATEs.
        let big = Segment::alloc(10).unwrap();
        let range = range_of(big.paddr(), big.size() as u64);
        let pvalidates = emu::STATS.pvalidates.load(Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { platform.convert_to_shared(range) }.unwrap();
        // SAFETY: as above.
        unsafe { platform.convert_to_private(range) }.unwrap();
        assert_eq!(emu::STATS.pvalidates.load(Ordering::Relaxed) - pvalidates, 4, "2 MiB PVALIDATEs expected");
        assert_eq!(crate::emu::page_state(range.end - 4096), Some(PageState::Private));
        assert_eq!(emu::violation_count(SnpViolation::SharedWhileValidated), violations);
    }

    #[ktest]
    fn pvalidate_reports_no_change_and_the_emulator_counts_it() {
        if !emulated() {
            return;
        }
        let frame = Frame::alloc().unwrap();
        let vaddr = framework::mm::paddr_to_vaddr(frame.paddr()) as u64;
        let double = emu::violation_count(SnpViolation::DoubleValidate);
        // SAFETY: the frame is ours and validated: validating again
        // changes nothing (CF = 1), which is what this checks.
        assert_eq!(unsafe { pvalidate::pvalidate_page(vaddr, false, true) }, pv::FAIL_NOUPDATE);
        assert_eq!(emu::violation_count(SnpViolation::DoubleValidate), double + 1);
        // Rescind, rescind again (no change), validate again.
        // SAFETY: the frame is ours; nothing reads it while rescinded.
        assert_eq!(unsafe { pvalidate::pvalidate_page(vaddr, false, false) }, pv::SUCCESS);
        assert_eq!(crate::emu::page_state(frame.paddr()), Some(PageState::Unaccepted));
        let rescinds = emu::violation_count(SnpViolation::RescindUnvalidated);
        // SAFETY: as above.
        assert_eq!(unsafe { pvalidate::pvalidate_page(vaddr, false, false) }, pv::FAIL_NOUPDATE);
        assert_eq!(emu::violation_count(SnpViolation::RescindUnvalidated), rescinds + 1);
        // SAFETY: as above; the page is validated again before use.
        assert_eq!(unsafe { pvalidate::pvalidate_page(vaddr, false, true) }, pv::SUCCESS);
        assert_eq!(crate::emu::page_state(frame.paddr()), Some(PageState::Private));
        // A 2 MiB PVALIDATE of a misaligned address: FAIL_INPUT.
        // SAFETY: refused before any state change.
        assert_eq!(unsafe { pvalidate::pvalidate_page(vaddr | 0x1000, true, true) }, pv::FAIL_INPUT);
        frame.fill(0);
    }

    /// Run alone (`ktest --ignored double_validation` with the boot option
    /// `umbra.snp_emu_fatal_tests`): the guest must terminate itself, so
    /// this never returns.
    #[ktest(ignore)]
    fn double_validation_is_fatal() {
        if !emulated() {
            return;
        }
        if !emu::fatal_tests_allowed() {
            framework::println!("  (skipped: ends the guest; boot with {} to run it)", emu::FATAL_TESTS_OPTION);
            return;
        }
        let frame = Frame::alloc().unwrap();
        framework::println!("snp test: validating an already validated page; the guest must terminate");
        // SAFETY: the frame is ours. Accepting it again must end the guest.
        let result = unsafe { crate::platform().accept_memory(range_of(frame.paddr(), 4096)) };
        panic!("double validation went unnoticed: {:?}", result);
    }

    /// Synthetic #VC exceptions (the emulator cannot make TCG raise them):
    /// the handler decodes the bytes at RIP, asks the host through the
    /// GHCB and resumes after the instruction.
    #[ktest]
    fn vc_handler_emulates_cpuid_msr_and_port_io() {
        if !emulated() {
            return;
        }
        use framework::arch::trap::TrapFrame;
        // cpuid; rdmsr; in al,dx; in ax,dx; in al,0x80; ud2
        static CODE: [u8; 16] = [0x0f, 0xa2, 0x0f, 0x32, 0xec, 0x66, 0xed, 0xe4, 0x80, 0x0f, 0x0b, 0, 0, 0, 0, 0];
        let base = CODE.as_ptr() as u64;
        let vc = |error_code: u64, rip: u64, rax: u64, rcx: u64, rdx: u64| TrapFrame { vector: 29, error_code, rip, rax, rcx, rdx, ..Default::default() };
        let mut frame = vc(0x72, base, 0, 0, 0);
        assert!(crate::snp::vc::handle(&mut frame));
        let native = framework::arch::cpuid::raw(0, 0);
        assert_eq!((frame.rax, frame.rbx, frame.rcx, frame.rdx), (native.eax.into(), native.ebx.into(), native.ecx.into(), native.edx.into()));
        assert_eq!(frame.rip, base + 2);
        let mut frame = vc(0x7c, base + 2, 0, 0x1b, 0);
        assert!(crate::snp::vc::handle(&mut frame));
        // SAFETY: reading IA32_APIC_BASE has no side effect.
        let apic_base = unsafe { crate::native::rdmsr_checked(0x1b) }.unwrap();
        assert_eq!((frame.rdx << 32) | frame.rax, apic_base);
        assert_eq!(frame.rip, base + 4);
        // in al, dx of COM1's LSR keeps RAX's upper bytes.
        let mut frame = vc(0x7b, base + 4, 0xdead_be00, 0, 0x3fd);
        assert!(crate::snp::vc::handle(&mut frame));
        assert_eq!(frame.rax & !0xff, 0xdead_be00);
        assert!(frame.rax & 0x20 != 0, "LSR transmitter empty");
        assert_eq!(frame.rip, base + 5);
        let mut frame = vc(0x7b, base + 5, 0, 0, 0x3fd);
        assert!(crate::snp::vc::handle(&mut frame));
        assert_eq!(frame.rip, base + 7);
        let mut frame = vc(0x7b, base + 7, 0, 0, 0);
        assert!(crate::snp::vc::handle(&mut frame));
        assert_eq!(frame.rip, base + 9);
        // Not the instruction the exit code names, or from user mode: refused.
        assert!(!crate::snp::vc::handle(&mut vc(0x72, base + 9, 0, 0, 0)));
        assert!(!crate::snp::vc::handle(&mut vc(0x7b, base + 9, 0, 0, 0)));
        let mut user = vc(0x72, base, 0, 0, 0);
        user.cs = 0x33;
        assert!(!crate::snp::vc::handle(&mut user));
    }

    fn data(seed: u8) -> [u8; 64] {
        let mut d = [0u8; 64];
        for (i, byte) in d.iter_mut().enumerate() {
            *byte = (i as u8).wrapping_mul(7) ^ seed;
        }
        d
    }

    #[ktest]
    fn report_round_trip_is_signed_by_the_test_key() {
        if !emulated() {
            return;
        }
        let seqno = guest_request::stored_seqno(0).unwrap();
        let report = crate::snp::get_report(&data(0x3c)).unwrap();
        assert_eq!(guest_request::stored_seqno(0), Some(seqno + 2), "request N+1, response N+2");
        assert_eq!(emu::psp_seqno(0), Some(u64::from(seqno) + 2));
        assert_eq!(report.version(), 3);
        assert_eq!(report.vmpl(), 0);
        assert_eq!(report.signature_algo(), 1);
        assert_eq!(report.report_data(), &data(0x3c)[..]);
        assert_eq!(Some(report.measurement()), emu::launch_measurement().as_ref().map(|m| &m[..]));
        assert_eq!(report.chip_id(), &attest::test_chip_id()[..]);
        assert!(attest::verify_report(&report), "signature does not verify with the test key");
        let mut tampered = report.clone();
        tampered.0[crate::snp::abi::report::MEASUREMENT] ^= 1;
        assert!(!attest::verify_report(&tampered), "a changed measurement must not verify");
        // Through the Platform interface as well.
        let Ok(TeeReport::SevSnp(boxed)) = crate::platform().report(&data(1)) else { panic!("no SNP report") };
        assert_eq!(boxed.report_data(), &data(1)[..]);
        assert!(attest::verify_report(&boxed));
        assert_eq!(crate::platform().extend_measurement(0, &[0; 48]), Err(TeeError::Unsupported));
        // The extended request: the same report, and the emulated host's
        // certificate table (the TEST VCEK, ASK, ARK), up to its last
        // certificate's end.
        let mut certs = alloc::vec![0xffu8; guest_request::CERTS_SIZE];
        let (ext, certs_len) = crate::snp::get_ext_report(&data(7), &mut certs).unwrap();
        assert_eq!(ext.report_data(), &data(7)[..]);
        assert!(attest::verify_report(&ext));
        let table = crate::emu::snp::hypervisor::TEST_CERT_TABLE;
        assert_eq!(certs_len, table.len());
        assert_eq!(&certs[..certs_len], table);
    }

    #[ktest]
    fn derived_keys_are_stable_and_field_dependent() {
        if !emulated() {
            return;
        }
        let request = guest_request::KeyRequest { guest_field_select: 1 << 3, ..Default::default() };
        let a = crate::snp::get_derived_key(&request).unwrap();
        let b = crate::snp::get_derived_key(&request).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, [0; 32]);
        let other = crate::snp::get_derived_key(&guest_request::KeyRequest { guest_field_select: 1, ..request }).unwrap();
        assert_ne!(a, other);
    }

    #[ktest]
    fn sequence_number_reuse_is_refused_and_disables_the_key() {
        if !emulated() {
            return;
        }
        // VMPCK1 (VMPL 1 reports): VMPCK0 must stay usable for the others.
        let first = guest_request::get_report_with(1, 1, &data(9)).unwrap();
        assert_eq!(first.vmpl(), 1);
        let used = u64::from(guest_request::stored_seqno(1).unwrap()) - 1;
        let reuse = emu::violation_count(SnpViolation::SeqnoReuse);
        let mut req = [0u8; msg::REPORT_REQ_SIZE];
        req[64] = 1;
        let mut out = [0u8; 64];
        // The request sequence number of the exchange above, again.
        let result = guest_request::request_with_seqno_for_test(1, used, msg::TYPE_REPORT_REQ, &req, &mut out);
        assert!(matches!(result, Err(TeeError::Host(0x16))), "{:?}", result);
        assert_eq!(emu::violation_count(SnpViolation::SeqnoReuse), reuse + 1);
        assert!(!guest_request::vmpck_enabled(1), "VMPCK1 must be wiped after a failed request");
        assert!(guest_request::get_report_with(1, 1, &data(9)).is_err());
        assert!(guest_request::vmpck_enabled(0));
        assert!(crate::snp::get_report(&data(2)).is_ok(), "VMPCK0 unaffected");
    }

    /// Thousands of adversarial hypervisor answers: every one is either
    /// rejected with an error or yields a value inside its type's range;
    /// none panics. VMPCK3 is the one the guest requests here may wipe.
    #[ktest]
    fn hostile_host_answers_are_rejected_without_a_crash() {
        if !emulated() {
            return;
        }
        use crate::emu::snp::hostile;
        // A page of our own, rescinded first, for page state changes whose
        // outcome the hostile host may misreport (never used again).
        let frame = Frame::alloc().unwrap();
        let range = range_of(frame.paddr(), 4096);
        // SAFETY: the frame is ours and is leaked below, never read again.
        assert_eq!(unsafe { pvalidate::pvalidate_page(framework::mm::paddr_to_vaddr(frame.paddr()) as u64, false, false) }, pv::SUCCESS);
        core::mem::forget(frame);
        let answers_before = hostile::ANSWERS.load(Ordering::Relaxed);
        let mut rejected = 0u32;
        let mut req = [0u8; msg::REPORT_REQ_SIZE];
        req[64] = 3;
        let mut out = [0u8; msg::MAX_PAYLOAD];
        hostile::set(true);
        for i in 0..6000u32 {
            let failed = match i % 7 {
                0 => crate::snp::io_read(0x80, IoSize::Byte).map(|v| assert!(v <= 0xff)).is_err(),
                1 => crate::snp::io_read(0x80, IoSize::Word).map(|v| assert!(v <= 0xffff)).is_err(),
                2 => crate::snp::rdmsr(0x1b).is_err(),
                3 => crate::snp::cpuid(0x4000_0000, 0).is_err(),
                4 => msr_protocol::sev_info().map(|info| assert!((32..=63).contains(&info.c_bit))).is_err(),
                5 => crate::snp::psc::change(range, if i % 2 == 0 { 2 } else { 1 }).is_err(),
                _ => guest_request::request(3, msg::TYPE_REPORT_REQ, 1, &req, &mut out).is_err(),
            };
            rejected += u32::from(failed);
        }
        hostile::set(false);
        let answers = hostile::ANSWERS.load(Ordering::Relaxed) - answers_before;
        framework::println!("  {} hostile answers, {} calls rejected them", answers, rejected);
        assert!(answers >= 4000, "only {} hostile answers", answers);
        assert!(rejected >= 1000, "only {} rejections", rejected);
        // The guest still works with an honest host.
        assert!(crate::snp::io_read(0x3fd, IoSize::Byte).is_ok());
        assert!(crate::snp::get_report(&data(5)).is_ok(), "VMPCK0 untouched");
    }

    #[ktest]
    fn lazy_validation_draws_on_the_unaccepted_pool() {
        if !emulated() {
            return;
        }
        let pool = framework::mm::stats().unaccepted_bytes;
        if pool < (4 << 20) {
            framework::println!("  (unaccepted pool already used up: {} KiB left)", pool >> 10);
            return;
        }
        let validated_before = emu::STATS.validated_pages.load(Ordering::Relaxed);
        let violations_before = crate::emu::violation_count(crate::emu::Violation::UnacceptedInUse);
        let free = framework::mm::stats().free_frames;
        let mut held: Vec<Segment> = Vec::with_capacity((free / 512 + 16) as usize);
        while framework::mm::stats().unaccepted_bytes + (4 << 20) > pool && held.len() < held.capacity() {
            held.push(Segment::alloc(9).expect("memory with an unaccepted pool left"));
        }
        let validated = emu::STATS.validated_pages.load(Ordering::Relaxed) - validated_before;
        assert!(validated >= 1024, "only {} pages validated through PVALIDATE", validated);
        for segment in &held {
            for page in (0..segment.size() as u64).step_by(4096) {
                assert_eq!(crate::emu::page_state(segment.paddr() + page), Some(PageState::Private));
            }
        }
        assert_eq!(crate::emu::violation_count(crate::emu::Violation::UnacceptedInUse), violations_before);
        framework::println!("  {} MiB validated lazily through PSC + PVALIDATE", validated >> 8);
    }
}
