; Exercises each kind of user-space exit once, checking what comes back, and
; ends with status 42 (1 on the first wrong value).
; Run: kvmm run --flat pio_mmio.bin --mode long
%include "kvmm.inc"
bits 64
org LOAD_ADDRESS

start:
    ; Port I/O: a dword out, the same dword back in, then one byte of it.
    mov dx, TESTDEV_PORT
    mov eax, 0x12345678
    out dx, eax
    xor eax, eax
    in eax, dx
    cmp eax, 0x12345678
    jne fail
    mov dx, TESTDEV_PORT + 3
    in al, dx
    cmp al, 0x12
    jne fail

    ; MMIO: write and read back, then read what the port write stored (the
    ; test device's ports and MMIO window are the same 16 bytes).
    mov rbx, TESTDEV_MMIO
    mov dword [rbx + 4], 0xcafef00d
    mov eax, [rbx + 4]
    cmp eax, 0xcafef00d
    jne fail
    mov eax, [rbx]
    cmp eax, 0x12345678
    jne fail

    ; rep insb: KVM reads ahead, so four port reads arrive as one exit
    ; with kvm_run.io.count = 4; each reads offset 0 (0x78).
    mov rdi, buffer
    mov rcx, 4
    mov dx, TESTDEV_PORT
    rep insb
    cmp dword [buffer], 0x78787878
    jne fail

    ; rep outsb: KVM's emulator writes one element per exit.
    mov rsi, ok
    mov rcx, ok_end - ok
    mov dx, COM1
    rep outsb

    ; A port with no device reads as all ones.
    mov dx, 0x7ff
    in al, dx
    cmp al, 0xff
    jne fail

    exit_with 42
fail:
    exit_with 1

ok: db "ok", 10
ok_end:
align 4
buffer: dd 0
