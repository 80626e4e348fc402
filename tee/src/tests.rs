//! In-kernel tests of the TEE layer (`ktest tee`). Under `--tee tdx-emu`
//! they drive the real TDX code path against the emulator and check the
//! emulator's view (page states, violations, measurements); on a plain VM
//! only the platform choice is checked.

use framework::ktest;

#[ktest]
fn boot_platform_matches_the_boot_option() {
    let platform = crate::platform();
    #[cfg(feature = "emulation")]
    if crate::emu::active() {
        assert_eq!(platform.kind(), crate::PlatformKind::Tdx);
        assert!(platform.emulated());
        assert_eq!(crate::detect(), crate::PlatformKind::Tdx);
        return;
    }
    #[cfg(feature = "emulation")]
    if crate::emu::snp::active() {
        assert_eq!(platform.kind(), crate::PlatformKind::SevSnp);
        assert!(platform.emulated());
        return;
    }
    assert_eq!(platform.kind(), crate::detect::hardware());
    assert!(!platform.emulated());
}

#[ktest]
fn emulation_option_parsing() {
    use crate::detect::{emulation_request, EmulationRequest};
    assert_eq!(emulation_request("console=ttyS0"), None);
    assert_eq!(emulation_request("a umbra.tee_emu=tdx b"), Some(EmulationRequest::Tdx));
    assert_eq!(emulation_request("umbra.tee_emu=tdx umbra.tee_emu=snp"), Some(EmulationRequest::Snp));
    assert_eq!(emulation_request("umbra.tee_emu=sgx"), Some(EmulationRequest::Unknown("sgx")));
}

#[ktest]
fn tdx_status_codes_are_pinned() {
    use crate::tdx::abi::status;
    // TDX module ABI spec, error codes: PAGE_ALREADY_ACCEPTED is a warning
    // (class 0), not 0xC0000B0A.. as sometimes quoted.
    assert_eq!(status::PAGE_ALREADY_ACCEPTED, 0x0000_0B0A_0000_0000);
    assert_eq!(status::PAGE_SIZE_MISMATCH, 0xC000_0B0B_0000_0000);
    assert_eq!(status::OPERAND_INVALID, 0xC000_0100_0000_0000);
}

#[cfg(feature = "emulation")]
mod emulated {
    use alloc::vec::Vec;

    use boot::PhysRange;
    use framework::ktest;
    use framework::mm::{Frame, MemoryAcceptor, Segment};

    use crate::emu::measure::sha384;
    use crate::emu::pages::PageState;
    use crate::emu::{self, Violation};
    use crate::platform::{IoSize, TeeError, TeeReport};
    use crate::tdx::abi::{leaf, status, vmcall_status};
    use crate::tdx::calls::{self, PageLevel};
    use crate::tdx::tdcall::{tdcall, TdcallRegs};
    use crate::tdx::{quote, vmcall};

    /// Tests here need the emulator (they pass trivially without it).
    fn emulated() -> bool {
        if !emu::active() {
            framework::println!("  (not under --tee tdx-emu: nothing to check)");
        }
        emu::active()
    }

    fn shared_bit() -> u64 {
        calls::vp_info().expect("TDG.VP.INFO").shared_bit()
    }

    fn frame_range(frame: &Frame) -> PhysRange {
        PhysRange { start: frame.paddr(), end: frame.paddr() + 4096 }
    }

    #[ktest]
    fn vp_info_reports_gpaw_and_shared_bit() {
        if !emulated() {
            return;
        }
        let info = calls::vp_info().expect("TDG.VP.INFO");
        assert!(info.gpaw == 48 || info.gpaw == 52, "GPAW {}", info.gpaw);
        assert_eq!(info.shared_bit(), 1 << (info.gpaw - 1));
        assert!(info.num_vcpus >= 1 && info.vcpu_index < info.max_vcpus);
    }

    #[ktest]
    fn second_accept_is_a_violation_not_a_crash() {
        if !emulated() {
            return;
        }
        let frame = Frame::alloc().unwrap();
        let range = frame_range(&frame);
        // A fresh pending page: private -> shared -> private (MapGPA).
        // SAFETY: the test owns the frame; nothing references it.
        unsafe { crate::platform().convert_to_shared(range) }.unwrap();
        assert_eq!(emu::page_state(range.start), Some(PageState::Shared));
        vmcall::map_gpa(range.start, 4096, false, shared_bit()).unwrap();
        assert_eq!(emu::page_state(range.start), Some(PageState::Unaccepted));

        let before = emu::violation_count(Violation::DoubleAccept);
        // SAFETY: as above.
        assert_eq!(unsafe { calls::accept_page(range.start, PageLevel::Size4K) }, Ok(()));
        assert_eq!(emu::page_state(range.start), Some(PageState::Private));
        assert_eq!(emu::violation_count(Violation::DoubleAccept), before);
        // SAFETY: as above.
        let again = unsafe { calls::accept_page(range.start, PageLevel::Size4K) };
        assert_eq!(again, Err(TeeError::AlreadyAccepted));
        assert_eq!(emu::violation_count(Violation::DoubleAccept), before + 1);
        assert_eq!(emu::page_state(range.start), Some(PageState::Private));
    }

    #[ktest]
    fn accept_rejects_bad_operands() {
        if !emulated() {
            return;
        }
        // Misaligned 2 MiB accept: refused before any state change.
        // SAFETY: refused by the wrapper (alignment) without a TDCALL.
        assert!(matches!(unsafe { calls::accept_page(0x1000, PageLevel::Size2M) }, Err(TeeError::InvalidArgument(_))));
        let before = emu::violation_count(Violation::AcceptNotRam);
        // A hole in the memory map (the 0xa0000 VGA window is not RAM).
        // SAFETY: not RAM: the module refuses and writes nothing.
        let result = unsafe { calls::accept_page(0xa_0000, PageLevel::Size4K) };
        assert!(matches!(result, Err(TeeError::Module(s)) if status::code(s) == status::OPERAND_ADDR_RANGE_ERROR));
        assert_eq!(emu::violation_count(Violation::AcceptNotRam), before + 1);
    }

    #[ktest]
    fn rtmr_extend_is_sha384_of_old_and_digest() {
        if !emulated() {
            return;
        }
        let platform = crate::platform();
        let old = emu::measurements().unwrap().1[3];
        let digest = sha384(&[b"umbra rtmr test"]);
        platform.extend_measurement(3, &digest).unwrap();
        let expected = sha384(&[&old, &digest]);
        assert_eq!(emu::measurements().unwrap().1[3], expected);
        let Ok(TeeReport::Tdx(report)) = platform.report(&[0; 64]) else { panic!("no TDREPORT") };
        assert_eq!(report.rtmr(3), Some(&expected));
        assert_eq!(platform.extend_measurement(4, &digest), Err(TeeError::InvalidArgument("RTMR index is 0..=3")));
    }

    #[ktest]
    fn report_round_trips_reportdata_and_is_maced() {
        if !emulated() {
            return;
        }
        let mut data = [0u8; 64];
        for (i, byte) in data.iter_mut().enumerate() {
            *byte = i as u8 ^ 0xa5;
        }
        let Ok(TeeReport::Tdx(report)) = crate::platform().report(&data) else { panic!("no TDREPORT") };
        assert_eq!(report.report_data(), &data);
        assert_eq!(report.tee_type(), 0x81);
        assert_ne!(report.mrtd(), &[0u8; 48], "MRTD must measure the kernel");
        assert_eq!(Some(report.mrtd()), emu::measurements().as_ref().map(|m| &m.0));
        assert_eq!(emu::verify_report(report.as_bytes()), Ok(()));
        let mut tampered = *report.as_bytes();
        tampered[crate::tdx::report::layout::RTMR0] ^= 1;
        assert!(emu::verify_report(&tampered).is_err(), "changed RTMR0 must not verify");
        let mut tampered = *report.as_bytes();
        tampered[crate::tdx::report::layout::REPORTDATA] ^= 1;
        assert_eq!(emu::verify_report(&tampered), Err(emu::measure::ReportMismatch::Mac));
    }

    #[ktest]
    fn misaligned_report_buffer_is_refused() {
        if !emulated() {
            return;
        }
        let frame = Frame::alloc().unwrap();
        let before = emu::violation_count(Violation::BadBuffer);
        let mut regs =
            TdcallRegs { rax: leaf::MR_REPORT, rcx: frame.paddr() + 64, rdx: frame.paddr(), ..Default::default() };
        // SAFETY: the module refuses (misaligned TDREPORT) and writes
        // nothing; even if it wrote, the frame is ours.
        unsafe { tdcall(&mut regs) };
        assert_eq!(regs.rax, status::OPERAND_INVALID | status::OPERAND_RCX);
        assert_eq!(emu::violation_count(Violation::BadBuffer), before + 1);
    }

    #[ktest]
    fn map_gpa_to_shared_and_back_with_retries() {
        if !emulated() {
            return;
        }
        // 4 MiB: more than the emulated host converts per call, so the
        // guest's retry loop runs.
        let segment = Segment::alloc(10).unwrap();
        let range = PhysRange { start: segment.paddr(), end: segment.paddr() + segment.size() as u64 };
        let calls_before = emu::STATS.vmcalls.load(core::sync::atomic::Ordering::Relaxed);
        // SAFETY: the test owns the segment; nothing references it.
        unsafe { crate::platform().convert_to_shared(range) }.unwrap();
        assert!(emu::STATS.vmcalls.load(core::sync::atomic::Ordering::Relaxed) - calls_before >= 2, "no retry");
        for page in (range.start..range.end).step_by(4096) {
            assert_eq!(emu::page_state(page), Some(PageState::Shared));
        }
        let mut word = [0u8; 8];
        segment.read_bytes(8, &mut word).unwrap();
        assert_eq!(word, [0; 8], "shared pages are zeroed");
        // SAFETY: as above; nothing maps it shared.
        unsafe { crate::platform().convert_to_private(range) }.unwrap();
        for page in (range.start..range.end).step_by(4096) {
            assert_eq!(emu::page_state(page), Some(PageState::Private));
        }
    }

    #[ktest]
    fn tdvmcall_services_and_checks() {
        if !emulated() {
            return;
        }
        let native = framework::arch::cpuid::raw(0, 0);
        let via_host = vmcall::cpuid(0, 0).unwrap();
        assert_eq!((via_host.eax, via_host.ebx, via_host.ecx, via_host.edx), (native.eax, native.ebx, native.ecx, native.edx));
        let lsr = vmcall::io_read(0x3fd, IoSize::Byte).unwrap();
        assert!(lsr <= 0xff && lsr & 0x20 != 0, "COM1 LSR {:#x}: transmitter empty expected", lsr);
        vmcall::hlt(true).unwrap();
        // SAFETY: reading IA32_APIC_BASE has no side effect.
        let apic_base = unsafe { crate::native::rdmsr_checked(0x1b) }.unwrap();
        assert_eq!(vmcall::rdmsr(0x1b), Ok(apic_base));
        assert_eq!(vmcall::setup_event_notify(0x40), Ok(()));

        // A TDVMCALL that hides R10..R15 from the host.
        let before = emu::violation_count(Violation::HiddenOperands);
        let mut regs = TdcallRegs { rax: leaf::VP_VMCALL, rcx: 0, r11: 10, ..Default::default() };
        // SAFETY: exposes nothing; the emulated host refuses.
        unsafe { tdcall(&mut regs) };
        assert_eq!((regs.rax, regs.r10), (0, vmcall_status::INVALID_OPERAND));
        assert_eq!(emu::violation_count(Violation::HiddenOperands), before + 1);
        // An unknown TDCALL leaf.
        let mut regs = TdcallRegs { rax: 99, ..Default::default() };
        // SAFETY: an unknown leaf does nothing.
        unsafe { tdcall(&mut regs) };
        assert_eq!(regs.rax, status::OPERAND_INVALID | status::OPERAND_RAX);
    }

    #[ktest]
    fn get_quote_refuses_a_request_without_a_tdreport() {
        if !emulated() {
            return;
        }
        let frame = Frame::alloc().unwrap();
        let range = frame_range(&frame);
        let before = emu::violation_count(Violation::QuoteBufferNotShared);
        assert_eq!(vmcall::get_quote(range.start, 4096, shared_bit()), Err(TeeError::Host(vmcall_status::INVALID_OPERAND)));
        assert_eq!(emu::violation_count(Violation::QuoteBufferNotShared), before + 1, "private buffer");
        // SAFETY: the test owns the frame.
        unsafe { crate::platform().convert_to_shared(range) }.unwrap();
        let mut header = [0u8; quote::HEADER_SIZE];
        quote::write_request(&mut header, 0).unwrap();
        frame.write_bytes(0, &header).unwrap();
        vmcall::get_quote(range.start, 4096, shared_bit()).unwrap();
        let mut copy = [0u8; 64];
        frame.read_bytes(0, &mut copy).unwrap();
        let response = quote::parse_response(&copy).unwrap();
        assert_eq!(response.status, quote::QuoteStatus::Error, "in_len 0: no TDREPORT to quote");
        // SAFETY: as above.
        unsafe { crate::platform().convert_to_private(range) }.unwrap();
    }

    #[ktest]
    fn handing_out_an_unaccepted_frame_is_caught() {
        if !emulated() {
            return;
        }
        let frame = Frame::alloc().unwrap();
        let range = frame_range(&frame);
        // SAFETY: the test owns the frame.
        unsafe { crate::platform().convert_to_shared(range) }.unwrap();
        vmcall::map_gpa(range.start, 4096, false, shared_bit()).unwrap();
        let before = emu::violation_count(Violation::UnacceptedInUse);
        emu::CheckingAcceptor(&framework::mm::unaccepted::AlreadyAccepted).check_handed_out(range);
        assert_eq!(emu::violation_count(Violation::UnacceptedInUse), before + 1);
        // SAFETY: as above.
        unsafe { crate::platform().accept_memory(range) }.unwrap();
        emu::CheckingAcceptor(&framework::mm::unaccepted::AlreadyAccepted).check_handed_out(range);
        assert_eq!(emu::violation_count(Violation::UnacceptedInUse), before + 1);
    }

    #[ktest]
    fn lazy_accept_draws_on_the_unaccepted_pool() {
        if !emulated() {
            return;
        }
        use core::sync::atomic::Ordering;
        let pool = framework::mm::stats().unaccepted_bytes;
        if pool < (4 << 20) {
            framework::println!("  (unaccepted pool already used up: {} KiB left)", pool >> 10);
            return;
        }
        let accepted_before = emu::STATS.accepted_pages.load(Ordering::Relaxed);
        let violations_before = emu::violation_count(Violation::UnacceptedInUse);
        let free = framework::mm::stats().free_frames;
        let mut held: Vec<Segment> = Vec::with_capacity((free / 512 + 16) as usize);
        // Use up free memory, then 4 MiB more: that must come from the pool.
        while framework::mm::stats().unaccepted_bytes + (4 << 20) > pool && held.len() < held.capacity() {
            held.push(Segment::alloc(9).expect("memory with an unaccepted pool left"));
        }
        let accepted = emu::STATS.accepted_pages.load(Ordering::Relaxed) - accepted_before;
        assert!(accepted >= 1024, "only {} pages accepted through TDCALL", accepted);
        for segment in &held {
            for page in (0..segment.size() as u64).step_by(4096) {
                assert_eq!(emu::page_state(segment.paddr() + page), Some(PageState::Private));
            }
        }
        assert_eq!(emu::violation_count(Violation::UnacceptedInUse), violations_before);
        framework::println!("  {} MiB accepted lazily through TDG.MEM.PAGE.ACCEPT", accepted >> 8);
    }
}
