; Hello from 64-bit long mode, entered by kvmm with identity-mapped paging.
; Run: kvmm run --flat hello_long.bin --mode long
%include "kvmm.inc"
bits 64
org LOAD_ADDRESS

start:
    mov rsi, message
    print_string rsi
    hlt

message: db "Hello from long mode!", 10, 0
