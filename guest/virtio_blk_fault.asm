; A virtio-blk driver for the test of a fault in the device's I/O thread
; (kvmm run with KVMM_TEST_IO_THREAD_FAULT=virtio-blk0): after DRIVER_OK the
; device must ask for a reset (DEVICE_NEEDS_RESET) instead of taking kvmm
; down; after the reset it must work again: a write of sector 0 completes.
; Exits 0 and prints a line when both hold; otherwise with the failed step.
; Run: kvmm run --flat virtio_blk_fault.bin --mode long --mem 64M --disk IMAGE
%include "kvmm.inc"
%include "virtio.inc"
bits 64
org LOAD_ADDRESS

%define QSIZE           8
%define DESC            0x100000
%define AVAIL           0x101000
%define USED            0x102000
%define HDR             0x103000
%define DATA            0x104000
%define STATUS_BYTE     0x105000

start:
    mov rsi, VIRTIO
    mov bl, 1
    cmp dword [rsi + R_DEVICE_ID], 2
    jne fail
    call init_device

    ; 2: the I/O thread fails as it starts; the device says so. Each status
    ; read is an exit, so the bound is in reads, not time.
    mov bl, 2
    mov rcx, 1000000
.wait_needs_reset:
    test dword [rsi + R_STATUS], S_NEEDS_RESET
    jnz .reset
    dec rcx
    jnz .wait_needs_reset
    jmp fail

    ; 3: reset and set up again: the device works.
.reset:
    call init_device
    mov bl, 3
    test dword [rsi + R_STATUS], S_NEEDS_RESET
    jnz fail
    mov rdi, DATA
    mov eax, 'FIXD'
    mov ecx, 128
    rep stosd
    mov dword [HDR], 1                  ; VIRTIO_BLK_T_OUT
    mov dword [HDR + 4], 0
    mov qword [HDR + 8], 0              ; sector 0
    mov byte [STATUS_BYTE], 0xff
    desc DESC, 0, HDR, 16, F_NEXT, 1
    desc DESC, 1, DATA, 512, F_NEXT, 2
    desc DESC, 2, STATUS_BYTE, 1, F_WRITE, 0
    mov bl, 4
    offer_and_wait AVAIL, USED, avail_idx, used_idx, rsi, 0
    mov bl, 5
    cmp byte [STATUS_BYTE], 0
    jne fail

    mov rsi, done
    print_string rsi
    exit_with 0

fail:
    mov al, bl
    mov dx, DEBUG_EXIT
    out dx, al
    hlt

; init_device: reset, negotiate VERSION_1, set up queue 0, DRIVER_OK.
init_device:
    mov rsi, VIRTIO
    mov dword [rsi + R_STATUS], 0
    mov rdi, DESC
    xor eax, eax
    mov ecx, 0x3000 / 4
    rep stosd
    mov word [avail_idx], 0
    mov word [used_idx], 0
    mov dword [rsi + R_STATUS], S_ACK
    mov dword [rsi + R_STATUS], S_ACK | S_DRIVER
    mov dword [rsi + R_DRV_FEAT_SEL], 1
    mov dword [rsi + R_DRV_FEAT], 1            ; VIRTIO_F_VERSION_1 (bit 32)
    mov dword [rsi + R_STATUS], S_ACK | S_DRIVER | S_FEATURES_OK
    mov dword [rsi + R_QUEUE_SEL], 0
    mov dword [rsi + R_QUEUE_NUM], QSIZE
    mov dword [rsi + R_DESC_LO], DESC
    mov dword [rsi + R_DESC_HI], 0
    mov dword [rsi + R_AVAIL_LO], AVAIL
    mov dword [rsi + R_AVAIL_HI], 0
    mov dword [rsi + R_USED_LO], USED
    mov dword [rsi + R_USED_HI], 0
    mov dword [rsi + R_QUEUE_READY], 1
    mov dword [rsi + R_STATUS], S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK
    ret

done: db "virtio-blk: the device asked for a reset after its thread's fault, and works again", 10, 0
align 2
avail_idx: dw 0
used_idx: dw 0
