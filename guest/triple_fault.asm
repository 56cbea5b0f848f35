; Loads an empty IDT and executes an invalid opcode: #UD cannot be
; delivered, nor the #DF that follows, so the CPU shuts down (triple fault).
; kvmm must report the crash with the registers and exit with status 2.
%include "kvmm.inc"
bits 64
org LOAD_ADDRESS

start:
    lidt [empty_idt]
    mov rax, 0x5ca1ab1e             ; visible in the register dump
    ud2

empty_idt:
    dw 0                            ; limit 0: no vectors
    dq 0
