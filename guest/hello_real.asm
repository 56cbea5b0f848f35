; Hello from 16-bit real mode. Run: kvmm run --flat hello_real.bin --mode real
; Entered at 0000:8000 with DS=0; ends with hlt (exit status 0).
%include "kvmm.inc"
bits 16
org LOAD_ADDRESS

start:
    mov si, message
    print_string si
    hlt

message: db "Hello from real mode!", 10, 0
