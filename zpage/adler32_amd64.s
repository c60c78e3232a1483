//go:build !purego

#include "textflag.h"

// The weights of a 32-byte block's bytes in s2: 32 down to 1.
DATA weights<>+0(SB)/8, $0x191a1b1c1d1e1f20
DATA weights<>+8(SB)/8, $0x1112131415161718
DATA weights<>+16(SB)/8, $0x090a0b0c0d0e0f10
DATA weights<>+24(SB)/8, $0x0102030405060708
GLOBL weights<>(SB), RODATA|NOPTR, $32

// Sixteen 16-bit ones.
DATA ones<>+0(SB)/8, $0x0001000100010001
DATA ones<>+8(SB)/8, $0x0001000100010001
DATA ones<>+16(SB)/8, $0x0001000100010001
DATA ones<>+24(SB)/8, $0x0001000100010001
GLOBL ones<>(SB), RODATA|NOPTR, $32

// func blocksAVX2(p []byte) (sum, before, weighted uint64)
//
// Y0: the bytes' sums so far, 4 lanes of 64 bits (VPSADBW against zero).
// Y1: the sum of Y0 before each block, 4 lanes of 64 bits.
// Y2: each block's bytes times their weights, 8 lanes of 32 bits
//     (VPMADDUBSW to 16-bit pairs, VPMADDWD with ones to 32 bits).
TEXT ·blocksAVX2(SB), NOSPLIT, $0-48
	MOVQ p_base+0(FP), SI
	MOVQ p_len+8(FP), CX
	SHRQ $5, CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y7, Y7, Y7
	VMOVDQU weights<>(SB), Y5
	VMOVDQU ones<>(SB), Y6
	TESTQ CX, CX
	JZ done

loop:
	VMOVDQU (SI), Y3
	VPADDQ Y0, Y1, Y1
	VPSADBW Y7, Y3, Y4
	VPADDQ Y4, Y0, Y0
	VPMADDUBSW Y5, Y3, Y4
	VPMADDWD Y6, Y4, Y4
	VPADDD Y4, Y2, Y2
	ADDQ $32, SI
	DECQ CX
	JNZ loop

done:
	VEXTRACTI128 $1, Y0, X4
	VPADDQ X4, X0, X0
	VPSHUFD $0x4e, X0, X4
	VPADDQ X4, X0, X0
	VMOVQ X0, AX
	MOVQ AX, sum+24(FP)

	VEXTRACTI128 $1, Y1, X4
	VPADDQ X4, X1, X1
	VPSHUFD $0x4e, X1, X4
	VPADDQ X4, X1, X1
	VMOVQ X1, AX
	MOVQ AX, before+32(FP)

	VEXTRACTI128 $1, Y2, X4
	VPADDD X4, X2, X2
	VPSHUFD $0x4e, X2, X4
	VPADDD X4, X2, X2
	VPSHUFD $0xb1, X2, X4
	VPADDD X4, X2, X2
	VMOVD X2, AX
	MOVQ AX, weighted+40(FP)

	VZEROUPPER
	RET
