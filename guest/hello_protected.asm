; Hello from 32-bit protected mode, entered by kvmm with flat segments.
; Run: kvmm run --flat hello_protected.bin --mode protected
%include "kvmm.inc"
bits 32
org LOAD_ADDRESS

start:
    mov esi, message
    print_string esi
    hlt

message: db "Hello from protected mode!", 10, 0
