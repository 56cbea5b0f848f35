; A hostile virtio-blk driver: programs kvmm's first virtio-mmio transport
; directly and submits malformed requests — descriptors outside guest memory,
; at the device's own registers, straddling the end of RAM, zero and 4 GiB
; long, loops, nested and misshapen indirect tables, readable after writable,
; an available index far ahead, a queue size that is not a power of two.
; After each it checks that the device answered (a used entry of length 0,
; or an error status) and, at the end, that a clean reset brings back a
; working device. Exits 0 when the device survived everything; otherwise
; with the number of the step that failed (99: the device stopped answering).
; Run: kvmm run --flat virtio_blk_hostile.bin --mode long --mem 64M --disk IMAGE
%include "kvmm.inc"
%include "virtio.inc"
bits 64
org LOAD_ADDRESS

%define QSIZE           8
%define RAM_END         0x4000000      ; --mem 64M
%define DESC            0x100000
%define AVAIL           0x101000
%define USED            0x102000
%define HDR             0x103000
%define DATA            0x104000
%define STATUS_BYTE     0x105000
%define IND             0x106000
%define IND2            0x107000

%define T_IN            0
%define T_OUT           1

; header TYPE, SECTOR (a 64-bit immediate)
%macro header 2
    mov dword [HDR], %1
    mov dword [HDR + 4], 0
    mov rax, %2
    mov [HDR + 8], rax
    mov byte [STATUS_BYTE], 0xff
%endmacro

; expect_len STEP, LEN: the last used entry's length must be LEN.
%macro expect_len 2
    mov bl, %1
    cmp eax, %2
    jne fail
%endmacro

start:
    mov rbx, VIRTIO
    mov bl, 1
    mov rsi, VIRTIO
    cmp dword [rsi + R_MAGIC], 0x74726976
    jne fail
    cmp dword [rsi + R_DEVICE_ID], 2
    jne fail
    mov ecx, QSIZE
    call init_device
    mov bl, 2
    test dword [rsi + R_STATUS], S_DRIVER_OK
    jz fail

    ; 3: a valid write of sector 0, then read it back.
    mov rdi, DATA
    mov eax, 'GOOD'
    mov ecx, 128
    rep stosd
    header T_OUT, 0
    desc DESC, 0, HDR, 16, F_NEXT, 1
    desc DESC, 1, DATA, 512, F_NEXT, 2
    desc DESC, 2, STATUS_BYTE, 1, F_WRITE, 0
    call submit0
    mov bl, 3
    cmp byte [STATUS_BYTE], 0
    jne fail
    call read_back_sector0

    ; 5: the header outside guest memory.
    header T_OUT, 1
    desc DESC, 0, 0x7fff00000000, 16, F_NEXT, 1
    desc DESC, 1, DATA, 512, F_NEXT, 2
    desc DESC, 2, STATUS_BYTE, 1, F_WRITE, 0
    call submit0
    expect_len 5, 0

    ; 6: data straddling the end of RAM.
    header T_OUT, 1
    desc DESC, 0, HDR, 16, F_NEXT, 1
    desc DESC, 1, RAM_END - 0x100, 512, F_NEXT, 2
    call submit0
    expect_len 6, 0

    ; 7: data pointing at the device's own registers (MMIO, not RAM).
    header T_IN, 1
    desc DESC, 1, VIRTIO, 512, F_NEXT | F_WRITE, 2
    call submit0
    expect_len 7, 0

    ; 8: a 4 GiB data buffer.
    header T_OUT, 1
    desc DESC, 1, DATA, 0xffffffff, F_NEXT, 2
    call submit0
    expect_len 8, 0

    ; 9: a zero-length data buffer: answered either way, never hangs.
    header T_OUT, 1
    desc DESC, 1, DATA, 0, F_NEXT, 2
    call submit0

    ; 10: a loop (1 -> 2 -> 1).
    header T_OUT, 1
    desc DESC, 1, DATA, 512, F_NEXT, 2
    desc DESC, 2, DATA, 512, F_NEXT, 1
    call submit0
    expect_len 10, 0

    ; 11: a writable buffer before a readable one.
    header T_OUT, 1
    desc DESC, 0, STATUS_BYTE, 1, F_WRITE | F_NEXT, 1
    desc DESC, 1, HDR, 16, 0, 0
    call submit0
    expect_len 11, 0

    ; 12: an indirect table inside an indirect table.
    header T_OUT, 1
    desc DESC, 0, IND, 32, F_INDIRECT, 0
    desc IND, 0, HDR, 16, F_NEXT, 1
    desc IND, 1, IND2, 32, F_INDIRECT, 0
    desc IND2, 0, DATA, 512, F_NEXT, 1
    desc IND2, 1, STATUS_BYTE, 1, F_WRITE, 0
    call submit0
    expect_len 12, 0

    ; 13: an indirect table whose length is not a multiple of 16.
    desc DESC, 0, IND, 24, F_INDIRECT, 0
    call submit0
    expect_len 13, 0

    ; 14: a loop inside an indirect table (an over-long chain).
    desc DESC, 0, IND, 48, F_INDIRECT, 0
    desc IND, 0, HDR, 16, F_NEXT, 1
    desc IND, 1, DATA, 512, F_NEXT, 2
    desc IND, 2, DATA, 512, F_NEXT, 1
    call submit0
    expect_len 14, 0

    ; 15: an indirect table outside guest memory.
    desc DESC, 0, 0x7fff00000000, 48, F_INDIRECT, 0
    call submit0
    expect_len 15, 0

    ; 16: a well-formed write far past the end of the disk: an error status.
    header T_OUT, 0xfffffffffffffff0
    desc DESC, 0, HDR, 16, F_NEXT, 1
    desc DESC, 1, DATA, 512, F_NEXT, 2
    desc DESC, 2, STATUS_BYTE, 1, F_WRITE, 0
    call submit0
    mov bl, 16
    cmp byte [STATUS_BYTE], 1          ; VIRTIO_BLK_S_IOERR
    jne fail

    ; 17: an available index far ahead of the device: the queue is broken
    ; and the device asks for a reset (§2.1.2).
    break_ring AVAIL, avail_idx, rsi, 0, 17

    ; 18: a queue size that is not a power of two is refused at DRIVER_OK.
    mov ecx, 6
    call init_device
    mov bl, 18
    test dword [rsi + R_STATUS], S_NEEDS_RESET
    jz fail

    ; 19: after a clean reset the device works again and sector 0 holds
    ; what step 3 wrote.
    mov ecx, QSIZE
    call init_device
    mov bl, 19
    test dword [rsi + R_STATUS], S_NEEDS_RESET
    jnz fail
    call read_back_sector0

    mov rsi, done
    print_string rsi
    exit_with 0

fail:
    mov al, bl
    mov dx, DEBUG_EXIT
    out dx, al
    hlt

; read_back_sector0: reads sector 0 into DATA and checks it holds 'GOOD'.
read_back_sector0:
    mov rdi, DATA
    xor eax, eax
    mov ecx, 128
    rep stosd
    header T_IN, 0
    desc DESC, 0, HDR, 16, F_NEXT, 1
    desc DESC, 1, DATA, 512, F_NEXT | F_WRITE, 2
    desc DESC, 2, STATUS_BYTE, 1, F_WRITE, 0
    call submit0
    mov bl, 4
    cmp byte [STATUS_BYTE], 0
    jne fail
    cmp dword [DATA + 508], 'GOOD'
    jne fail
    ret

; init_device: reset, negotiate VERSION_1 and INDIRECT_DESC, set up queue 0
; with ECX entries, DRIVER_OK. Clears the rings and the driver's indexes.
init_device:
    mov rsi, VIRTIO
    mov dword [rsi + R_STATUS], 0
    mov rdi, DESC
    push rcx
    xor eax, eax
    mov ecx, 0x3000 / 4
    rep stosd
    pop rcx
    mov word [avail_idx], 0
    mov word [used_idx], 0
    mov dword [rsi + R_STATUS], S_ACK
    mov dword [rsi + R_STATUS], S_ACK | S_DRIVER
    mov dword [rsi + R_DRV_FEAT_SEL], 0
    mov dword [rsi + R_DRV_FEAT], 1 << 28      ; VIRTIO_F_RING_INDIRECT_DESC
    mov dword [rsi + R_DRV_FEAT_SEL], 1
    mov dword [rsi + R_DRV_FEAT], 1            ; VIRTIO_F_VERSION_1 (bit 32)
    mov dword [rsi + R_STATUS], S_ACK | S_DRIVER | S_FEATURES_OK
    mov dword [rsi + R_QUEUE_SEL], 0
    mov [rsi + R_QUEUE_NUM], ecx
    mov dword [rsi + R_DESC_LO], DESC
    mov dword [rsi + R_DESC_HI], 0
    mov dword [rsi + R_AVAIL_LO], AVAIL
    mov dword [rsi + R_AVAIL_HI], 0
    mov dword [rsi + R_USED_LO], USED
    mov dword [rsi + R_USED_HI], 0
    mov dword [rsi + R_QUEUE_READY], 1
    mov dword [rsi + R_STATUS], S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK
    ret

; submit0: offers the chain at descriptor 0, notifies, waits for the used
; entry and returns its length in EAX. Exits 99 if the device never answers.
submit0:
    offer_and_wait AVAIL, USED, avail_idx, used_idx, rsi, 0
    ret

done: db "virtio-blk: the device survived every hostile request", 10, 0
align 2
avail_idx: dw 0
used_idx: dw 0
