//! In-kernel tests of the TDX paths the emulator drives synthetically:
//! the #VE handler (each exit reason, and the refusals). Under
//! `--tee tdx-emu` only (elsewhere they print a note and pass).

use framework::ktest;
use framework::mm::DmaBuffer;

/// On every platform: a DMA buffer is zeroed, reads back what was
/// written through its shared mapping, and its pages are given back.
#[ktest]
fn dma_buffer_round_trip_on_any_platform() {
    let (live_before, leaked_before) = framework::mm::dma::stats();
    let buffer = DmaBuffer::alloc(1).expect("a DMA buffer");
    assert_eq!(buffer.len(), 8192);
    let mut bytes = [0xffu8; 64];
    buffer.read_bytes(8192 - 64, &mut bytes).unwrap();
    assert_eq!(bytes, [0; 64], "zeroed");
    buffer.write_bytes(100, b"to the device").unwrap();
    let mut back = [0u8; 13];
    buffer.read_bytes(100, &mut back).unwrap();
    assert_eq!(&back, b"to the device");
    assert!(buffer.read_bytes(8190, &mut back).is_err(), "past the end");
    assert_eq!(framework::mm::dma::stats().0, live_before + 2);
    let vaddr = buffer.vaddr();
    assert!(framework::mm::kernel_pte(vaddr).is_some());
    drop(buffer);
    assert!(framework::mm::kernel_pte(vaddr).is_none(), "unmapped on drop");
    assert_eq!(framework::mm::dma::stats(), (live_before, leaked_before));
}

#[cfg(feature = "emulation")]
mod emulated {
    use core::sync::atomic::Ordering;

    use framework::arch::trap::TrapFrame;
    use framework::ktest;

    use crate::emu::ve::{self as inject, VeRequest};
    use crate::emu::{self, TEST_DEVICE_GPA};
    use crate::tdx::abi::status;
    use crate::tdx::calls;
    use crate::tdx::tdcall::{tdcall, TdcallRegs};
    use crate::tdx::ve;

    fn emulated() -> bool {
        if !emu::active() {
            framework::println!("  (not under --tee tdx-emu: nothing to check)");
        }
        emu::active()
    }

    fn shared_bit() -> u64 {
        calls::vp_info().expect("TDG.VP.INFO").shared_bit()
    }

    /// Run `f` with a #VE armed for its `ud2`, interrupts off.
    fn armed<R>(request: VeRequest, f: impl FnOnce() -> R) -> R {
        let _irqs = framework::arch::irq::disable_local();
        inject::arm(request);
        f()
    }

    fn cpuid_through_ve(leaf: u32, subleaf: u32) -> [u32; 4] {
        armed(VeRequest::Instruction, || {
            let (eax, ebx, ecx, edx): (u32, u64, u32, u32);
            // SAFETY: `ud2` raises the armed #VE whose handler emulates
            // `cpuid` and resumes after it; rbx is saved and restored
            // around it (LLVM reserves it).
            unsafe {
                core::arch::asm!(
                    "mov {b}, rbx",
                    "ud2",
                    "cpuid",
                    "xchg {b}, rbx",
                    b = out(reg) ebx,
                    inout("eax") leaf => eax,
                    inout("ecx") subleaf => ecx,
                    out("edx") edx,
                );
            }
            [eax, ebx as u32, ecx, edx]
        })
    }

    #[ktest]
    fn ve_cpuid_asks_the_host_only_for_hypervisor_leaves() {
        if !emulated() {
            return;
        }
        let handled = ve::HANDLED.load(Ordering::Relaxed);
        let native = framework::arch::cpuid::raw(0x4000_0000, 0);
        assert_eq!(cpuid_through_ve(0x4000_0000, 0), [native.eax, native.ebx, native.ecx, native.edx]);
        // Any other leaf: zeros, whatever the host says.
        assert_eq!(cpuid_through_ve(1, 0), [0; 4]);
        assert_eq!(ve::HANDLED.load(Ordering::Relaxed), handled + 2);
        // The VE info was consumed by the handler.
        let mut regs = TdcallRegs { rax: crate::tdx::abi::leaf::VP_VEINFO_GET, ..Default::default() };
        // SAFETY: VEINFO.GET touches no memory.
        unsafe { tdcall(&mut regs) };
        assert_eq!(regs.rax, status::NO_VALID_VE_INFO);
    }

    /// SYSENTER_ESP: present on every x86-64 CPU, unused in long mode.
    const SCRATCH_MSR: u32 = 0x175;

    #[ktest]
    fn ve_msr_read_write_and_refusal() {
        if !emulated() {
            return;
        }
        // SAFETY: the scratch MSR is unused by the kernel.
        let saved = unsafe { crate::native::rdmsr_checked(SCRATCH_MSR) }.unwrap();
        let value = 0x1234_5678_9abc_def0u64;
        armed(VeRequest::Instruction, || {
            // SAFETY: `ud2` raises the armed #VE; the handler writes the
            // scratch MSR through the host and resumes after `wrmsr`.
            unsafe {
                core::arch::asm!("ud2", "wrmsr", in("ecx") SCRATCH_MSR, in("eax") value as u32, in("edx") (value >> 32) as u32)
            };
        });
        // SAFETY: as above.
        assert_eq!(unsafe { crate::native::rdmsr_checked(SCRATCH_MSR) }, Some(value));
        let (low, high): (u32, u32) = armed(VeRequest::Instruction, || {
            let (low, high);
            // SAFETY: as above, reading it back.
            unsafe { core::arch::asm!("ud2", "rdmsr", in("ecx") SCRATCH_MSR, out("eax") low, out("edx") high) };
            (low, high)
        });
        assert_eq!((u64::from(high) << 32) | u64::from(low), value);
        // SAFETY: restoring the scratch MSR.
        assert!(unsafe { crate::native::wrmsr_checked(SCRATCH_MSR, saved) });

        // An MSR the host refuses: the #GP the instruction would raise,
        // through its fixup.
        let failed: u32 = armed(VeRequest::Instruction, || {
            let failed: u32;
            // SAFETY: the armed #VE; the host refuses, the handler
            // continues at the fixup (label 3).
            unsafe {
                core::arch::asm!(
                    "xor {f:e}, {f:e}",
                    "ud2",
                    "2: rdmsr",
                    "jmp 4f",
                    "3: mov {f:e}, 1",
                    "4:",
                    framework::ex_table_entry!("2b", "3b"),
                    f = out(reg) failed,
                    in("ecx") 0x4b56_4d99u32,
                    out("eax") _,
                    out("edx") _,
                );
            }
            failed
        });
        assert_eq!(failed, 1, "a refused RDMSR must take the fixup");
    }

    #[ktest]
    fn ve_port_io_keeps_the_other_register_bits() {
        if !emulated() {
            return;
        }
        // The PIC's interrupt mask register: stable, side-effect free.
        // SAFETY: reading the mask register changes nothing.
        let imr = unsafe { crate::native::port_in(0x21, crate::IoSize::Byte) } as u64;
        let rax: u64 = armed(VeRequest::Instruction, || {
            let mut rax = 0x1122_3344_5566_7700u64;
            // SAFETY: the armed #VE emulates `in al, 0x21` and resumes.
            unsafe { core::arch::asm!("ud2", "in al, 0x21", inout("rax") rax) };
            rax
        });
        assert_eq!(rax, 0x1122_3344_5566_7700 | imr);
        let rax: u64 = armed(VeRequest::Instruction, || {
            let mut rax = u64::MAX;
            // SAFETY: as above, the DX form.
            unsafe { core::arch::asm!("ud2", "in al, dx", inout("rax") rax, in("dx") 0x21u16) };
            rax
        });
        assert_eq!(rax, 0xffff_ffff_ffff_ff00 | imr);
        let handled = ve::HANDLED.load(Ordering::Relaxed);
        armed(VeRequest::Instruction, || {
            // SAFETY: `out 0x80, eax`: the POST port, harmless.
            unsafe { core::arch::asm!("ud2", "out 0x80, eax", in("eax") 0u32) };
        });
        assert_eq!(ve::HANDLED.load(Ordering::Relaxed), handled + 1);
    }

    #[ktest]
    fn ve_hlt_returns_through_the_host() {
        if !emulated() {
            return;
        }
        let handled = ve::HANDLED.load(Ordering::Relaxed);
        armed(VeRequest::Instruction, || {
            // SAFETY: the armed #VE emulates `hlt` (interrupts blocked: the
            // host does not wait) and resumes after it.
            unsafe { core::arch::asm!("ud2", "hlt") };
        });
        assert_eq!(ve::HANDLED.load(Ordering::Relaxed), handled + 1);
    }

    #[repr(C, align(4096))]
    struct Page([u8; 4096]);
    /// What the MMIO instructions would touch if the #VE were not raised
    /// (never, in a passing run): a real, aligned page, so the GLA is a
    /// plausible kernel address.
    static DECOY: spin::Mutex<Page> = spin::Mutex::new(Page([0; 4096]));

    #[ktest]
    fn ve_mmio_loads_and_stores_reach_the_device() {
        if !emulated() {
            return;
        }
        let gpa = |offset: u64| (TEST_DEVICE_GPA + offset) | shared_bit();
        let decoy = DECOY.lock();
        let gla = decoy.0.as_ptr() as u64;
        let request = |offset: u64| VeRequest::Mmio { gpa: gpa(offset), gla: gla + offset };
        // 4-byte store from a register, 8-byte store, 1-byte immediate.
        armed(request(0x10), || {
            // SAFETY: the armed #VE emulates the store; resumes after it.
            unsafe { core::arch::asm!("ud2", "mov dword ptr [{p}], {v:e}", p = in(reg) gla + 0x10, v = in(reg) 0xdead_beefu32) };
        });
        armed(request(0x18), || {
            // SAFETY: as above.
            unsafe { core::arch::asm!("ud2", "mov qword ptr [{p}], {v}", p = in(reg) gla + 0x18, v = in(reg) 0x0102_0304_0506_0708u64) };
        });
        armed(request(0x20), || {
            // SAFETY: as above, an immediate store.
            unsafe { core::arch::asm!("ud2", "mov byte ptr [{p} + 0x7f], 0x5a", p = in(reg) gla + 0x20 - 0x7f) };
        });
        // Loads: 4 bytes zero-extend, 1 byte keeps the rest, movzx.
        let v: u64 = armed(request(0x10), || {
            let mut v = u64::MAX;
            // SAFETY: the armed #VE emulates the load.
            unsafe { core::arch::asm!("ud2", "mov {v:e}, dword ptr [{p}]", p = in(reg) gla + 0x10, v = inout(reg) v) };
            v
        });
        assert_eq!(v, 0xdead_beef);
        let v: u64 = armed(request(0x18), || {
            let v: u64;
            // SAFETY: as above.
            unsafe { core::arch::asm!("ud2", "mov {v}, qword ptr [{p}]", p = in(reg) gla + 0x18, v = out(reg) v) };
            v
        });
        assert_eq!(v, 0x0102_0304_0506_0708);
        let v: u64 = armed(request(0x20), || {
            let mut v = 0x1111_1111_1111_1111u64;
            // SAFETY: as above, a byte load into AL.
            unsafe { core::arch::asm!("ud2", "mov al, byte ptr [{p}]", p = in(reg) gla + 0x20, inout("rax") v) };
            v
        });
        assert_eq!(v, 0x1111_1111_1111_115a);
        let v: u64 = armed(request(0x12), || {
            let mut v = u64::MAX;
            // SAFETY: as above, movzx of the upper half of 0xdeadbeef.
            unsafe { core::arch::asm!("ud2", "movzx {v:e}, word ptr [{p}]", p = in(reg) gla + 0x12, v = inout(reg) v) };
            v
        });
        assert_eq!(v, 0xdead);
        assert_eq!(decoy.0[0x10..0x28], [0; 0x18], "the real access must never happen");
    }

    /// Hand the #VE handler a frame whose RIP points at `code`, with VE
    /// info for an MMIO at `gpa`, as the module would; true if handled.
    fn handle_fake_mmio(code: &'static [u8], gpa: u64, gla: u64, user: bool) -> bool {
        let _irqs = framework::arch::irq::disable_local();
        emu::ve::set_info(emu::ve::VeInfoRegs { exit_reason: 48, gpa, gla, ..Default::default() });
        let mut frame = TrapFrame { rip: code.as_ptr() as u64, cs: if user { 0x2b } else { 0x08 }, ..Default::default() };
        let handled = ve::handle(&mut frame);
        emu::ve::set_info_none();
        handled
    }

    #[ktest]
    fn ve_from_user_mode_emulates_cpuid_only() {
        if !emulated() {
            return;
        }
        let _irqs = framework::arch::irq::disable_local();
        // CPUID from user mode (TCG cannot raise it: a crafted user frame
        // with the VE info the module would give).
        emu::ve::set_info(emu::ve::VeInfoRegs { exit_reason: 10, instr_len_info: 2, ..Default::default() });
        let mut frame = TrapFrame { rip: 0x40_1000, cs: 0x2b, rax: 1, rcx: 0, rbx: 0xdead, ..Default::default() };
        assert!(ve::handle(&mut frame));
        assert_eq!((frame.rip, frame.rax, frame.rbx), (0x40_1002, 0, 0), "leaf 1 reads zeros, RIP advanced");
        // HLT from user mode: not emulated (it becomes a signal).
        emu::ve::set_info(emu::ve::VeInfoRegs { exit_reason: 12, instr_len_info: 1, ..Default::default() });
        let mut frame = TrapFrame { rip: 0x40_1000, cs: 0x2b, ..Default::default() };
        assert!(!ve::handle(&mut frame));
        assert_eq!(frame.rip, 0x40_1000);
        // An instruction length the module would never give: refused.
        emu::ve::set_info(emu::ve::VeInfoRegs { exit_reason: 10, instr_len_info: 16, ..Default::default() });
        let mut frame = TrapFrame { rip: 0x40_1000, cs: 0x08, ..Default::default() };
        assert!(!ve::handle(&mut frame));
    }

    #[ktest]
    fn ve_refuses_what_it_cannot_emulate() {
        if !emulated() {
            return;
        }
        static ADD: [u8; 16] = [0x01, 0x07, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90];
        static MOVS: [u8; 16] = [0xf3, 0xa5, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90];
        static LOAD: [u8; 16] = [0x8b, 0x07, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90];
        let shared = TEST_DEVICE_GPA | shared_bit();
        let refused = ve::REFUSED.load(Ordering::Relaxed);
        assert!(!handle_fake_mmio(&ADD, shared, 0x1000, false), "read-modify-write");
        assert!(!handle_fake_mmio(&MOVS, shared, 0x1000, false), "rep movs");
        assert!(!handle_fake_mmio(&LOAD, TEST_DEVICE_GPA, 0x1000, false), "private GPA");
        assert!(!handle_fake_mmio(&LOAD, shared + 0xffe, 0x1ffe, false), "split across pages");
        assert!(!handle_fake_mmio(&LOAD, shared, 0x1000, true), "MMIO from user mode");
        assert_eq!(ve::REFUSED.load(Ordering::Relaxed), refused + 5);
        // And the one that is fine, for contrast.
        assert!(handle_fake_mmio(&LOAD, shared, 0x1000, false));
        // No VE info at all: refused.
        let mut frame = TrapFrame { rip: LOAD.as_ptr() as u64, cs: 0x08, ..Default::default() };
        assert!(!ve::handle(&mut frame));
    }
}

#[cfg(feature = "emulation")]
mod dma {
    use framework::ktest;
    use framework::mm::{DmaBuffer, Frame};

    use crate::emu::pages::PageState;
    use crate::emu::{self, Violation};
    use crate::tdx::calls;

    fn shared_bit() -> Option<u64> {
        if !emu::active() {
            framework::println!("  (not under --tee tdx-emu: nothing to check)");
            return None;
        }
        Some(calls::vp_info().expect("TDG.VP.INFO").shared_bit())
    }

    #[ktest]
    fn dma_buffers_are_shared_with_the_shared_bit_and_come_back_private() {
        let Some(shared_bit) = shared_bit() else { return };
        let strict = [Violation::DoubleAccept, Violation::UnacceptedInUse, Violation::DmaFromPrivate];
        let before = strict.map(emu::violation_count);
        let buffer = DmaBuffer::alloc(2).unwrap();
        let range = buffer.range();
        for page in (range.start..range.end).step_by(4096) {
            assert_eq!(emu::page_state(page), Some(PageState::Shared), "page {:#x}", page);
        }
        assert_eq!(buffer.device_address(), range.start | shared_bit, "devices see the shared GPA");
        let (pte, level) = framework::mm::kernel_pte(buffer.vaddr() + 4096).unwrap();
        assert_eq!(level, 1);
        assert_ne!(pte & crate::tdx::EMULATED_SHARED_PTE_BIT, 0, "the mapping carries the shared marker: {:#x}", pte);
        assert_eq!(pte & 0x000f_ffff_ffff_f000, range.start + 4096);
        // The direct map of the same page is private: no marker.
        let (direct, _) = framework::mm::kernel_pte(framework::mm::paddr_to_vaddr(range.start)).unwrap();
        assert_eq!(direct & crate::tdx::EMULATED_SHARED_PTE_BIT, 0);
        assert_eq!(emu::device_dma(buffer.device_address(), buffer.len() as u64), Ok(()));
        drop(buffer);
        for page in (range.start..range.end).step_by(4096) {
            assert_eq!(emu::page_state(page), Some(PageState::Private), "re-accepted on free: {:#x}", page);
        }
        assert_eq!(strict.map(emu::violation_count), before);
    }

    #[ktest]
    fn device_registers_are_mapped_shared_and_uncached() {
        let Some(_) = shared_bit() else { return };
        // The I/O APIC (QEMU's, at 0xfec00000) as framework mapped it.
        let vaddr = framework::mm::dma::SHARED_WINDOW + 0xfec0_0000;
        let Some((pte, level)) = framework::mm::kernel_pte(vaddr) else {
            framework::println!("  (no I/O APIC at 0xfec00000 mapped)");
            return;
        };
        assert_eq!(level, 1);
        assert_ne!(pte & crate::tdx::EMULATED_SHARED_PTE_BIT, 0, "shared marker: {:#x}", pte);
        assert_eq!(pte & 0x18, 0x18, "PCD|PWT: {:#x}", pte);
        assert_eq!(pte & 0x000f_ffff_ffff_f000, 0xfec0_0000);
    }

    #[ktest]
    fn dma_from_a_private_page_is_caught() {
        let Some(shared_bit) = shared_bit() else { return };
        let private = Frame::alloc().unwrap();
        let before = emu::violation_count(Violation::DmaFromPrivate);
        // Deliberately: a private page's address given to a device.
        assert!(emu::device_dma(private.paddr() | shared_bit, 4096).is_err());
        assert!(emu::device_dma(private.paddr(), 64).is_err(), "a private GPA");
        assert_eq!(emu::violation_count(Violation::DmaFromPrivate), before + 2);
        // A shared buffer, one page too long: the next page is private.
        let buffer = DmaBuffer::alloc(0).unwrap();
        let next = buffer.paddr() + 4096;
        if emu::page_state(next) != Some(PageState::Shared) {
            assert!(emu::device_dma(buffer.device_address(), 8192).is_err());
            assert_eq!(emu::violation_count(Violation::DmaFromPrivate), before + 3);
        }
    }
}

#[cfg(feature = "emulation")]
mod quoting {
    use framework::ktest;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, VerifyingKey};
    use sha2::{Digest, Sha256};

    use crate::emu::quote_service::test_keys;
    use crate::platform::{TeeError, TeeReport};
    use crate::tdx::quote::{v4, QuoteStatus};

    fn report(data: &[u8; 64]) -> Option<crate::tdx::TdReport> {
        if !crate::emu::active() {
            framework::println!("  (not under --tee tdx-emu: nothing to check)");
            return None;
        }
        let TeeReport::Tdx(report) = crate::get_report(data).expect("TDG.MR.REPORT") else {
            panic!("not a TDX report");
        };
        Some(report)
    }

    #[ktest]
    fn get_quote_returns_a_v4_quote_signed_by_the_test_attestation_key() {
        let data = [0x5au8; 64];
        let Some(report) = report(&data) else { return };
        let quote = crate::get_quote(&report).expect("a quote");
        assert_eq!(v4::check_shape(&quote), Ok(()));
        let body = &quote[v4::BODY..v4::BODY + v4::BODY_SIZE];
        assert_eq!(&body[v4::BODY_MRTD..v4::BODY_MRTD + 48], report.mrtd());
        assert_eq!(&body[v4::BODY_REPORTDATA..v4::BODY_REPORTDATA + 64], &data);
        assert_eq!(&body[v4::BODY_RTMR0..v4::BODY_RTMR0 + 48], report.rtmr(0).unwrap());
        // The signature over header || body verifies under the AK in the quote.
        let sig_at = v4::SIGNATURE_DATA;
        let key_bytes = &quote[sig_at + 64..sig_at + 128];
        assert_eq!(key_bytes, &test_keys::ATTESTATION_KEY_PUBLIC);
        let mut sec1 = [4u8; 65];
        sec1[1..].copy_from_slice(key_bytes);
        let key = VerifyingKey::from_sec1_bytes(&sec1).unwrap();
        let signature = Signature::from_slice(&quote[sig_at..sig_at + 64]).unwrap();
        assert!(key.verify(&quote[..v4::SIGNATURE_DATA_LEN], &signature).is_ok());
        let mut tampered = quote.clone();
        tampered[v4::BODY + v4::BODY_REPORTDATA] ^= 1;
        assert!(key.verify(&tampered[..v4::SIGNATURE_DATA_LEN], &signature).is_err());
        // Certification data: QE report binding the AK, then the TEST chain.
        let cert = sig_at + 128;
        assert_eq!(u16::from_le_bytes([quote[cert], quote[cert + 1]]), v4::CERT_TYPE_QE_REPORT);
        let qe_report = &quote[cert + 6..cert + 6 + v4::QE_REPORT_SIZE];
        let binding = Sha256::new().chain_update(key_bytes).chain_update(test_keys::QE_AUTH_DATA).finalize();
        assert_eq!(&qe_report[320..352], binding.as_slice());
        let tail = core::str::from_utf8(&quote[quote.len() - test_keys::PCK_CHAIN_PEM.len()..]).unwrap();
        assert!(tail.starts_with("-----BEGIN CERTIFICATE-----"), "{}", &tail[..40]);
        framework::println!("  quote v4: {} bytes, PCK chain of {} bytes (TEST keys)", quote.len(), tail.len());
        // The host announced completion with the notify vector.
        assert!(crate::tdx::quoting::notify_vector().is_some());
        let deadline = framework::arch::tsc::monotonic_ns() + 1_000_000_000;
        while crate::tdx::quoting::NOTIFICATIONS.load(core::sync::atomic::Ordering::Acquire) == 0
            && framework::arch::tsc::monotonic_ns() < deadline
        {
            framework::task::sleep(core::time::Duration::from_millis(1));
        }
        assert!(crate::tdx::quoting::NOTIFICATIONS.load(core::sync::atomic::Ordering::Acquire) >= 1, "no quote-ready interrupt");
    }

    #[ktest]
    fn get_quote_of_a_forged_report_is_refused_by_the_quoting_enclave() {
        let Some(report) = report(&[1; 64]) else { return };
        let mut bytes = *report.as_bytes();
        bytes[crate::tdx::report::layout::MRTD] ^= 0xff;
        let forged = crate::tdx::TdReport::from_bytes(&bytes);
        assert_eq!(crate::get_quote(&forged), Err(TeeError::Host(QuoteStatus::ERROR)));
    }
}

#[cfg(feature = "emulation")]
mod hostile {
    use core::time::Duration;

    use framework::ktest;
    use framework::mm::DmaBuffer;

    use crate::emu::hostile::{self, TAMPERED};
    use crate::emu::ve::{self as inject, VeRequest};
    use crate::emu::{self, TEST_DEVICE_GPA};
    use crate::platform::{IoSize, TeeReport};
    use crate::tdx::{calls, quote::v4, vmcall};

    /// Thousands of lies from the host, through every path that asks it
    /// something: the kernel must come out the other end (no panic, every
    /// value it kept within its width), logging what it refused.
    #[ktest]
    fn hostile_host_answers_never_panic() {
        if !emu::active() || !hostile::enabled() {
            framework::println!("  (hostile mode is off (--hostile): nothing to check)");
            return;
        }
        let shared_bit = calls::vp_info().expect("TDG.VP.INFO (the module stays honest)").shared_bit();
        let TeeReport::Tdx(report) = crate::get_report(&[7; 64]).expect("TDG.MR.REPORT") else {
            panic!("not a TDX report");
        };
        let (tampered_before, rejected_before) = (TAMPERED.load(core::sync::atomic::Ordering::Relaxed), crate::rejected::count());
        let (mut quotes_ok, mut quotes_refused, mut dma_ok, mut dma_refused) = (0, 0, 0, 0);
        const ROUNDS: u32 = 6000;
        for round in 0..ROUNDS {
            let r = hostile::next();
            let size = [IoSize::Byte, IoSize::Word, IoSize::Dword][(r >> 8) as usize % 3];
            match r % 11 {
                0 => {
                    // COM2, absent on this rig: the host may say anything.
                    if let Ok(value) = vmcall::io_read(0x2f8 + (r >> 16) as u16 % 8, size) {
                        assert_eq!(value & !size.mask(), 0);
                    }
                }
                1 => drop(vmcall::cpuid((r >> 32) as u32, 0)),
                2 => drop(vmcall::rdmsr(0x175)),
                3 => {
                    let mmio_size = [1u8, 2, 4, 8][(r >> 12) as usize % 4];
                    if let Ok(value) = vmcall::mmio_read((TEST_DEVICE_GPA + 8 * ((r >> 20) % 64)) | shared_bit, mmio_size, shared_bit) {
                        assert_eq!(value & !crate::tdx::insn::mask(mmio_size), 0);
                    }
                }
                4 => {
                    let _irqs = framework::arch::irq::disable_local();
                    inject::arm(VeRequest::Instruction);
                    let (eax, ecx): (u32, u32);
                    // SAFETY: the armed #VE emulates `cpuid` (rbx saved
                    // and restored around it) and resumes after it.
                    unsafe {
                        core::arch::asm!("mov {b}, rbx", "ud2", "cpuid", "mov rbx, {b}", b = out(reg) _,
                            inout("eax") 0x4000_0000u32 => eax, inout("ecx") 0u32 => ecx, out("edx") _)
                    };
                    let _ = (eax, ecx);
                }
                5 => {
                    let _irqs = framework::arch::irq::disable_local();
                    static DECOY: [u64; 2] = [0; 2];
                    let gla = DECOY.as_ptr() as u64;
                    inject::arm(VeRequest::Mmio { gpa: TEST_DEVICE_GPA | shared_bit, gla });
                    let mut value = 0x1111_1111_0000_0000u64;
                    // SAFETY: the armed #VE emulates the 2-byte load.
                    unsafe { core::arch::asm!("ud2", "mov {v:x}, word ptr [{p}]", p = in(reg) gla, v = inout(reg) value) };
                    assert_eq!(value >> 16, 0x1111_1111_0000, "a 16-bit load keeps the upper bits");
                }
                6 => {
                    let _irqs = framework::arch::irq::disable_local();
                    inject::arm(VeRequest::Instruction);
                    let mut rax = 0xabcd_0000_0000_0000u64;
                    // SAFETY: the armed #VE emulates `in al, dx` (COM2).
                    unsafe { core::arch::asm!("ud2", "in al, dx", inout("rax") rax, in("dx") 0x2f9u16) };
                    assert_eq!(rax >> 8, 0x00ab_cd00_0000_0000, "an 8-bit in keeps the other bits");
                }
                7 => drop(vmcall::hlt(true)),
                8 | 9 if round % 16 == 0 => match DmaBuffer::alloc((r >> 40) as u8 % 3) {
                    Ok(buffer) => {
                        buffer.write_bytes(0, &[1, 2, 3]).unwrap();
                        dma_ok += 1;
                    }
                    Err(_) => dma_refused += 1,
                },
                10 if round % 8 == 0 => match crate::attest::get_quote_within(&report, Duration::from_millis(20)) {
                    Ok(quote) => {
                        assert_eq!(v4::check_shape(&quote), Ok(()));
                        quotes_ok += 1;
                    }
                    Err(_) => quotes_refused += 1,
                },
                _ => drop(vmcall::setup_event_notify(0x40)),
            }
        }
        let tampered = TAMPERED.load(core::sync::atomic::Ordering::Relaxed) - tampered_before;
        let rejected = crate::rejected::count() - rejected_before;
        let (_, leaked) = framework::mm::dma::stats();
        framework::println!(
            "  {} rounds, {} falsified host answers, {} rejected and logged; quotes {} ok / {} refused; DMA buffers {} ok / {} refused, {} pages leaked (unknown state)",
            ROUNDS, tampered, rejected, quotes_ok, quotes_refused, dma_ok, dma_refused, leaked
        );
        assert!(tampered >= 2000, "only {} falsified answers", tampered);
        assert!(rejected >= 1, "nothing was rejected");
    }
}

#[cfg(feature = "emulation")]
mod ap_wakeup {
    use core::sync::atomic::Ordering;

    use framework::ktest;

    /// Under the emulator every AP came up through the ACPI wake-up
    /// mailbox: parked by the emulated firmware, woken by the TDX path.
    #[ktest]
    fn aps_were_woken_through_the_mailbox() {
        if !crate::emu::active() {
            framework::println!("  (not under --tee tdx-emu: nothing to check)");
            return;
        }
        let others = framework::smp::cpu_count() as u64 - 1;
        assert_eq!(crate::tdx::mailbox::WOKEN.load(Ordering::Relaxed), others);
        if others > 0 {
            assert_eq!(crate::emu::mailbox::parked() as u64, others, "every AP parked by the firmware first");
        }
        framework::println!("  {} AP(s) woken through the wake-up mailbox", others);
    }
}
