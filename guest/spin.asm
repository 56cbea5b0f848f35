; Spins forever without exits, to test that kvmm stops a running guest on a
; signal (the vCPU must be kicked out of KVM_RUN).
%include "kvmm.inc"
bits 64
org LOAD_ADDRESS

start:
    mov rsi, message
    print_string rsi
.forever:
    pause
    jmp .forever

message: db "spinning", 10, 0
