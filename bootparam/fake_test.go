package bootparam_test

import "encoding/binary"

// fakeImage describes a synthetic bzImage: a plausible setup header in a
// small file, not a kernel.
type fakeImage struct {
	setupSects  byte
	syssize     uint32
	version     uint16
	jump        byte // second byte of the jump at 0x200: header end - 0x202
	loadFlags   byte
	xloadFlags  uint16
	relocatable byte
	alignment   uint32
	cmdlineSize uint32
	initSize    uint32
	versionPtr  uint16 // kernel_version
	versionStr  string // placed at versionPtr + 0x200
	bootFlag    uint16
	magic       string
}

// defaultFake resembles a 6.12 x86_64 defconfig-ish kernel, shrunk.
func defaultFake() fakeImage {
	return fakeImage{
		setupSects:  3,
		syssize:     64, // 1 KiB of "kernel"
		version:     0x020f,
		jump:        0x6a, // header ends at 0x26c, as in 2.15 kernels
		loadFlags:   0x01,
		xloadFlags:  0x7f &^ 0x40, // KERNEL_64 | ABOVE_4G | EFI handovers | EFI_KEXEC | 5LEVEL
		relocatable: 1,
		alignment:   0x200000,
		cmdlineSize: 2047,
		initSize:    0x1800000,
		versionPtr:  0x600 - 0x200,
		versionStr:  "6.12.0-fake (kjump@test) #1 SMP",
		bootFlag:    0xaa55,
		magic:       "HdrS",
	}
}

func (f fakeImage) bytes() []byte {
	sects := int(f.setupSects)
	if sects == 0 {
		sects = 4
	}
	setup := (sects + 1) * 512
	b := make([]byte, setup+int(f.syssize)*16)
	le := binary.LittleEndian
	copy(b, "MZ")              // EFI stub, as in distribution kernels
	b[0x1ef] = 0xff            // the sentinel; must not reach boot_params
	b[0x1f1] = f.setupSects    // setup_sects
	le.PutUint16(b[0x1f2:], 1) // root_flags
	le.PutUint32(b[0x1f4:], f.syssize)
	le.PutUint16(b[0x1fa:], 0xffff) // vid_mode
	le.PutUint16(b[0x1fe:], f.bootFlag)
	b[0x200], b[0x201] = 0xeb, f.jump
	copy(b[0x202:], f.magic)
	le.PutUint16(b[0x206:], f.version)
	le.PutUint16(b[0x20c:], 0x1000) // start_sys_seg
	le.PutUint16(b[0x20e:], f.versionPtr)
	b[0x210] = 0                          // type_of_loader: the loader writes it
	b[0x211] = f.loadFlags | 0x80         // CAN_USE_HEAP set, as some images ship it
	le.PutUint16(b[0x212:], 0x8000)       // setup_move_size
	le.PutUint32(b[0x214:], 0x100000)     // code32_start
	le.PutUint16(b[0x224:], 0xde00)       // heap_end_ptr
	le.PutUint32(b[0x22c:], 0x7fffffff)   // initrd_addr_max
	le.PutUint32(b[0x230:], f.alignment)  // kernel_alignment
	b[0x234] = f.relocatable              // relocatable_kernel
	b[0x235] = 21                         // min_alignment
	le.PutUint16(b[0x236:], f.xloadFlags) // xloadflags
	le.PutUint32(b[0x238:], f.cmdlineSize)
	le.PutUint32(b[0x248:], 0x3a0)      // payload_offset
	le.PutUint32(b[0x24c:], 0x200)      // payload_length
	le.PutUint64(b[0x250:], 0)          // setup_data
	le.PutUint64(b[0x258:], 0x1000000)  // pref_address
	le.PutUint32(b[0x260:], f.initSize) // init_size
	le.PutUint32(b[0x264:], 0x190)      // handover_offset
	le.PutUint32(b[0x268:], 0x1234)     // kernel_info_offset
	if s := int(f.versionPtr) + 0x200; f.versionPtr != 0 && s+len(f.versionStr) < setup {
		copy(b[s:], f.versionStr)
	}
	for i := setup; i < len(b); i++ {
		b[i] = byte(i * 13)
	}
	return b
}
