; Prints a line to COM1 over and over and never stops, to test that a
; stdout nobody reads stalls neither the vCPU nor kvmm's stop on a signal.
%include "kvmm.inc"
bits 64
org LOAD_ADDRESS

start:
.again:
    mov rsi, message
    print_string rsi
    jmp .again

message: db "the guest keeps talking", 10, 0
