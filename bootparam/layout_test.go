package bootparam

import "testing"

// TestLayoutMatchesDocumentation restates every offset and size from
// Documentation/arch/x86/boot.rst ("The Real-Mode Kernel Header" table) and
// Documentation/arch/x86/zero-page.rst, and checks the package's fields
// against them.
func TestLayoutMatchesDocumentation(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got       field
		off, size int // as written in the documentation
	}{
		// boot.rst, "Offset/Size" column.
		{"setup_sects", fSetupSects, 0x01F1, 1},
		{"root_flags", fRootFlags, 0x01F2, 2},
		{"syssize", fSyssize, 0x01F4, 4},
		{"ram_size", fRAMSize, 0x01F8, 2},
		{"vid_mode", fVidMode, 0x01FA, 2},
		{"root_dev", fRootDev, 0x01FC, 2},
		{"boot_flag", fBootFlag, 0x01FE, 2},
		{"jump", fJump, 0x0200, 2},
		{"header", fHeader, 0x0202, 4},
		{"version", fVersion, 0x0206, 2},
		{"realmode_swtch", fRealmodeSwtch, 0x0208, 4},
		{"start_sys_seg", fStartSysSeg, 0x020C, 2},
		{"kernel_version", fKernelVersion, 0x020E, 2},
		{"type_of_loader", fTypeOfLoader, 0x0210, 1},
		{"loadflags", fLoadFlags, 0x0211, 1},
		{"setup_move_size", fSetupMoveSize, 0x0212, 2},
		{"code32_start", fCode32Start, 0x0214, 4},
		{"ramdisk_image", fRamdiskImage, 0x0218, 4},
		{"ramdisk_size", fRamdiskSize, 0x021C, 4},
		{"bootsect_kludge", fBootsectKludge, 0x0220, 4},
		{"heap_end_ptr", fHeapEndPtr, 0x0224, 2},
		{"ext_loader_ver", fExtLoaderVer, 0x0226, 1},
		{"ext_loader_type", fExtLoaderType, 0x0227, 1},
		{"cmd_line_ptr", fCmdLinePtr, 0x0228, 4},
		{"initrd_addr_max", fInitrdAddrMax, 0x022C, 4},
		{"kernel_alignment", fKernelAlignment, 0x0230, 4},
		{"relocatable_kernel", fRelocatableKernel, 0x0234, 1},
		{"min_alignment", fMinAlignment, 0x0235, 1},
		{"xloadflags", fXLoadFlags, 0x0236, 2},
		{"cmdline_size", fCmdlineSize, 0x0238, 4},
		{"hardware_subarch", fHardwareSubarch, 0x023C, 4},
		{"hardware_subarch_data", fHardwareSubarchData, 0x0240, 8},
		{"payload_offset", fPayloadOffset, 0x0248, 4},
		{"payload_length", fPayloadLength, 0x024C, 4},
		{"setup_data", fSetupData, 0x0250, 8},
		{"pref_address", fPrefAddress, 0x0258, 8},
		{"init_size", fInitSize, 0x0260, 4},
		{"handover_offset", fHandoverOffset, 0x0264, 4},
		{"kernel_info_offset", fKernelInfoOffset, 0x0268, 4},
		// zero-page.rst, "Offset/Size" column (hex, sizes in hex too).
		{"acpi_rsdp_addr", fACPIRSDPAddr, 0x070, 0x008},
		{"ext_ramdisk_image", fExtRamdiskImage, 0x0C0, 0x004},
		{"ext_ramdisk_size", fExtRamdiskSize, 0x0C4, 0x004},
		{"ext_cmd_line_ptr", fExtCmdLinePtr, 0x0C8, 0x004},
		{"e820_entries", fE820Entries, 0x1E8, 0x001},
		{"sentinel", fSentinel, 0x1EF, 0x001},
		{"edd_mbr_sig_buffer", fEDDMBRSigBuffer, 0x290, 0x040},
		{"e820_table", fE820Table, 0x2D0, 0xA00},
		{"eddbuf", fEDDBuf, 0xD00, 0x1EC},
	} {
		if tc.got.off != tc.off || tc.got.size != tc.size {
			t.Errorf("%s: package has %#x/%d, documentation says %#x/%d", tc.name, tc.got.off, tc.got.size, tc.off, tc.size)
		}
	}
	// Constants derived from the same documents.
	for _, tc := range []struct {
		name      string
		got, want int
	}{
		{"setup header start (setup_sects)", setupHeaderStart, 0x1f1},
		{"e820 entry size (u64 addr, u64 size, u32 type, packed)", e820EntrySize, 20},
		{"E820_MAX_ENTRIES_ZEROPAGE", E820MaxEntries, 128},
		{"e820_table end (bootparam.h: _pad8 at 0xcd0)", fE820Table.off + fE820Table.size, 0xcd0},
		{"setup header hole end (edd_mbr_sig_buffer)", maxHeaderEnd, 0x290},
		{"2.12 header end (after handover_offset)", minHeaderEnd, 0x264 + 4},
		{"zero page size", ZeroPageSize, 4096},
		{"boot protocol 2.12", minVersion, 0x020c},
		{`"HdrS"`, headerMagic, 'H' | 'd'<<8 | 'r'<<16 | 'S'<<24},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %#x, want %#x", tc.name, tc.got, tc.want)
		}
	}
	// The fields must not overlap within the setup header.
	hdr := []field{fSetupSects, fRootFlags, fSyssize, fRAMSize, fVidMode, fRootDev, fBootFlag, fJump, fHeader,
		fVersion, fRealmodeSwtch, fStartSysSeg, fKernelVersion, fTypeOfLoader, fLoadFlags, fSetupMoveSize,
		fCode32Start, fRamdiskImage, fRamdiskSize, fBootsectKludge, fHeapEndPtr, fExtLoaderVer, fExtLoaderType,
		fCmdLinePtr, fInitrdAddrMax, fKernelAlignment, fRelocatableKernel, fMinAlignment, fXLoadFlags,
		fCmdlineSize, fHardwareSubarch, fHardwareSubarchData, fPayloadOffset, fPayloadLength, fSetupData,
		fPrefAddress, fInitSize, fHandoverOffset, fKernelInfoOffset}
	for i := 1; i < len(hdr); i++ {
		if hdr[i-1].off+hdr[i-1].size != hdr[i].off {
			t.Errorf("gap or overlap before the field at %#x", hdr[i].off)
		}
	}
}

func TestFieldGetPut(t *testing.T) {
	b := make([]byte, 16)
	for _, f := range []field{{0, 1}, {1, 2}, {3, 4}, {7, 8}} {
		v := uint64(0x0102030405060708) >> (64 - 8*f.size)
		f.put(b, v)
		if got := f.get(b); got != v {
			t.Errorf("%+v: put %#x, got %#x", f, v, got)
		}
	}
	if b[15] != 0 || b[0] != 0x01 || b[1] != 0x02 || b[2] != 0x01 {
		t.Errorf("unexpected bytes %x (little-endian, no spill)", b)
	}
}
