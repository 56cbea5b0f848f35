; A hostile virtio-net driver: programs kvmm's first virtio-mmio transport
; directly (run with --net only, so the net device is device 0) and offers
; malformed TX chains — a header outside guest memory, a frame over 64 KiB,
; writable buffers, zero-length and too-short chains, a loop, buffers in the
; device's own registers or straddling the end of RAM, a header-only frame,
; a header with a garbage GSO type — between valid frames, then malformed RX
; buffers (outside guest memory, straddling the end of RAM, device-readable)
; ahead of a valid one, and finally an available index far ahead.
;
; Every frame carries a 16-byte tag after its Ethernet header, so the test,
; capturing on the tap, can tell which ones left: "kvmm-tx-valid-0N" must
; arrive, no "kvmm-tx-bad-..." may. Once the TX steps are done the guest
; prints "RX buffers posted"; the test then sends frames tagged "kvmm-rx-..."
; into the tap, and one of them must land in the valid RX buffer.
;
; Exits 0 when the device survived everything; otherwise with the number of
; the step that failed (99: the device stopped answering).
; Run: kvmm run --flat virtio_net_hostile.bin --mode long --mem 64M --net fd=N
%include "kvmm.inc"
%include "virtio.inc"
bits 64
org LOAD_ADDRESS

%define QSIZE           8
%define RAM_END         0x4000000      ; --mem 64M
%define OUTSIDE         0x7fff00000000 ; far beyond guest memory
%define RX_DESC         0x100000
%define RX_AVAIL        0x101000
%define RX_USED         0x102000
%define TX_DESC         0x110000
%define TX_AVAIL        0x111000
%define TX_USED         0x112000
%define HDR             0x120000       ; 12 zero bytes: no offloads
%define HDR_GSO         0x120100       ; gso_type 0x55: no such GSO type
%define FRAME           0x121000       ; one 60-byte Ethernet frame
%define SCRATCH         0x122000
%define RXBUF           0x130000       ; the valid RX buffer
%define RXRO            0x131000       ; an RX buffer offered device-readable
%define BIG             0x200000       ; 65568 bytes of frame
%define HDR_LEN         12
%define FRAME_LEN       60
%define RXBUF_LEN       2048

; frame TAG: builds the frame at FRAME with that 16-byte tag.
%macro frame 1
    mov rsi, %1
    mov rdi, FRAME
    call make_frame
%endmacro

; tx_pair: the usual two-descriptor TX chain (header, frame) at 0..1.
%macro tx_pair 0
    desc TX_DESC, 0, HDR, HDR_LEN, F_NEXT, 1
    desc TX_DESC, 1, FRAME, FRAME_LEN, 0, 0
%endmacro

; The device never writes into a TX chain (§5.1.6.2), so every TX used
; entry, sent or dropped, has length 0: what the step proves is that the
; device answered. The test checks what reached the tap.
%macro expect_zero 1
    mov bl, %1
    test eax, eax
    jnz fail
%endmacro

start:
    mov r15, VIRTIO
    mov bl, 1
    cmp dword [r15 + R_MAGIC], 0x74726976
    jne fail
    cmp dword [r15 + R_DEVICE_ID], 1        ; network card
    jne fail
    call init_device
    mov bl, 2
    mov eax, [r15 + R_STATUS]
    test eax, S_NEEDS_RESET
    jnz fail
    test eax, S_DRIVER_OK
    jz fail

    ; RX buffers, offered now and used only once a packet arrives: outside
    ; guest memory (0), straddling the end of RAM (1), device-readable (2),
    ; then a valid one (3).
    desc RX_DESC, 0, OUTSIDE, RXBUF_LEN, F_WRITE, 0
    desc RX_DESC, 1, RAM_END - 0x100, 0x1000, F_WRITE, 0
    desc RX_DESC, 2, RXRO, RXBUF_LEN, 0, 0
    desc RX_DESC, 3, RXBUF, RXBUF_LEN, F_WRITE, 0
    xor ecx, ecx
    call rx_post
    mov ecx, 1
    call rx_post
    mov ecx, 2
    call rx_post
    mov ecx, 3
    call rx_post

    ; 3: a valid frame.
    frame tag_valid1
    tx_pair
    call tx_submit
    expect_zero 3

    ; 4: the header outside guest memory.
    frame tag_bad04
    tx_pair
    desc TX_DESC, 0, OUTSIDE, HDR_LEN, F_NEXT, 1
    call tx_submit
    expect_zero 4

    ; 5: a frame of 65568 bytes (> 64 KiB + an Ethernet header) in three
    ; descriptors after the header.
    mov rsi, tag_bad05
    mov rdi, BIG
    call make_frame
    desc TX_DESC, 0, HDR, HDR_LEN, F_NEXT, 1
    desc TX_DESC, 1, BIG, 32768, F_NEXT, 2
    desc TX_DESC, 2, BIG + 32768, 32768, F_NEXT, 3
    desc TX_DESC, 3, BIG + 65536, 32, 0, 0
    call tx_submit
    expect_zero 5

    ; 6: a valid frame followed by a device-writable buffer.
    frame tag_bad06
    desc TX_DESC, 0, HDR, HDR_LEN, F_NEXT, 1
    desc TX_DESC, 1, FRAME, FRAME_LEN, F_NEXT, 2
    desc TX_DESC, 2, SCRATCH, 16, F_WRITE, 0
    call tx_submit
    expect_zero 6

    ; 7: header and frame both device-writable.
    frame tag_bad07
    desc TX_DESC, 0, HDR, HDR_LEN, F_NEXT | F_WRITE, 1
    desc TX_DESC, 1, FRAME, FRAME_LEN, F_WRITE, 0
    call tx_submit
    expect_zero 7

    ; 8: a zero-length chain.
    desc TX_DESC, 0, FRAME, 0, 0, 0
    call tx_submit
    expect_zero 8

    ; 9: shorter than the 12-byte header.
    desc TX_DESC, 0, HDR, HDR_LEN - 1, 0, 0
    call tx_submit
    expect_zero 9

    ; 10: a loop (0 -> 1 -> 0).
    frame tag_bad10
    desc TX_DESC, 0, HDR, HDR_LEN, F_NEXT, 1
    desc TX_DESC, 1, FRAME, FRAME_LEN, F_NEXT, 0
    call tx_submit
    expect_zero 10

    ; 11: the frame in the device's own registers (MMIO, not RAM).
    tx_pair
    desc TX_DESC, 1, VIRTIO, FRAME_LEN, 0, 0
    call tx_submit
    expect_zero 11

    ; 12: the frame straddling the end of RAM.
    tx_pair
    desc TX_DESC, 1, RAM_END - 0x20, FRAME_LEN, 0, 0
    call tx_submit
    expect_zero 12

    ; 13: a readable buffer after a writable one.
    frame tag_bad13
    desc TX_DESC, 0, SCRATCH, 16, F_NEXT | F_WRITE, 1
    desc TX_DESC, 1, HDR, HDR_LEN, F_NEXT, 2
    desc TX_DESC, 2, FRAME, FRAME_LEN, 0, 0
    call tx_submit
    expect_zero 13

    ; 14: a header and no frame at all (the tap refuses less than an
    ; Ethernet header).
    desc TX_DESC, 0, HDR, HDR_LEN, 0, 0
    call tx_submit
    expect_zero 14

    ; 15: a header with a GSO type that does not exist (the tap refuses it).
    frame tag_bad15
    tx_pair
    desc TX_DESC, 0, HDR_GSO, HDR_LEN, F_NEXT, 1
    call tx_submit
    expect_zero 15

    ; 16: after all that, a valid frame still goes out.
    frame tag_valid2
    tx_pair
    call tx_submit
    expect_zero 16

    ; RX: the test sends frames into the tap once it sees this line.
    mov rsi, rx_ready
    print_string rsi

    ; 17-19: the first packet skips the buffers outside memory and
    ; straddling RAM's end (bad chains, used with length 0) and is dropped
    ; at the device-readable one (length 0 as well).
    mov r14d, 17
.bad_rx:
    call rx_wait
    mov bl, r14b
    lea ecx, [r14d - 17]
    cmp edx, ecx
    jne fail
    test eax, eax
    jnz fail
    inc r14d
    cmp r14d, 20
    jne .bad_rx

    ; 20-22: the valid buffer receives a test frame: header (num_buffers
    ; 1) + 60 bytes. Anything else the host sent first (it should not: the
    ; tap has no addresses) is skipped by offering the buffer again.
    mov r14d, 8
.valid_rx:
    call rx_wait
    mov bl, 20
    cmp edx, 3
    jne fail
    cmp eax, HDR_LEN + FRAME_LEN
    jne .not_ours
    cmp word [RXBUF + HDR_LEN + 12], 0xb588       ; EtherType 0x88b5
    jne .not_ours
    mov rax, 'kvmm-rx-'
    cmp [RXBUF + HDR_LEN + 14], rax
    jne .not_ours
    mov bl, 21
    cmp word [RXBUF + 10], 1                      ; num_buffers
    jne fail
    jmp .rx_done
.not_ours:
    mov bl, 22
    dec r14d
    jz fail
    mov ecx, 3
    call rx_post
    jmp .valid_rx
.rx_done:

    ; 23: an available index far ahead of the device: the queue is broken
    ; and the device asks for a reset (§2.1.2).
    break_ring TX_AVAIL, tx_avail_idx, r15, 1, 23

    ; 24: after a clean reset the device sends again.
    call init_device
    mov bl, 24
    test dword [r15 + R_STATUS], S_NEEDS_RESET
    jnz fail
    frame tag_valid3
    tx_pair
    call tx_submit
    expect_zero 24

    mov rsi, done
    print_string rsi
    exit_with 0

fail:
    mov al, bl
    mov dx, DEBUG_EXIT
    out dx, al
    hlt

; make_frame: writes at RDI a 60-byte broadcast frame of EtherType 0x88b5
; whose payload starts with the 16-byte tag at RSI.
make_frame:
    push rdi
    xor eax, eax
    mov ecx, FRAME_LEN
    rep stosb
    pop rdi
    mov dword [rdi], 0xffffffff                   ; destination: broadcast
    mov word [rdi + 4], 0xffff
    mov dword [rdi + 6], 0x12005452               ; source 52:54:00:12:34:56
    mov word [rdi + 10], 0x5634
    mov word [rdi + 12], 0xb588
    mov rax, [rsi]
    mov [rdi + 14], rax
    mov rax, [rsi + 8]
    mov [rdi + 22], rax
    ret

; init_device: reset, negotiate VERSION_1 only (no MRG_RXBUF: one RX buffer
; per packet, no offloads), set up both queues, DRIVER_OK. Clears the rings,
; the indexes and the headers.
init_device:
    mov dword [r15 + R_STATUS], 0
    mov rdi, RX_DESC
    xor eax, eax
    mov ecx, 0x3000 / 4
    rep stosd
    mov rdi, TX_DESC
    mov ecx, 0x3000 / 4
    rep stosd
    mov rdi, HDR
    mov ecx, 0x200 / 4
    rep stosd
    mov byte [HDR_GSO + 1], 0x55                  ; gso_type
    mov word [HDR_GSO + 4], 1000                  ; gso_size
    mov word [rx_avail_idx], 0
    mov word [rx_used_idx], 0
    mov word [tx_avail_idx], 0
    mov word [tx_used_idx], 0
    mov dword [r15 + R_STATUS], S_ACK
    mov dword [r15 + R_STATUS], S_ACK | S_DRIVER
    mov dword [r15 + R_DRV_FEAT_SEL], 0
    mov dword [r15 + R_DRV_FEAT], 0
    mov dword [r15 + R_DRV_FEAT_SEL], 1
    mov dword [r15 + R_DRV_FEAT], 1                ; VIRTIO_F_VERSION_1 (bit 32)
    mov dword [r15 + R_STATUS], S_ACK | S_DRIVER | S_FEATURES_OK
    xor ecx, ecx
    mov rdx, RX_DESC
    call setup_queue
    mov ecx, 1
    mov rdx, TX_DESC
    call setup_queue
    mov dword [r15 + R_STATUS], S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK
    ret

; setup_queue: queue ECX with its descriptor table at RDX, the available
; ring 4 KiB above and the used ring 8 KiB above.
setup_queue:
    mov [r15 + R_QUEUE_SEL], ecx
    mov dword [r15 + R_QUEUE_NUM], QSIZE
    mov [r15 + R_DESC_LO], edx
    mov dword [r15 + R_DESC_HI], 0
    add edx, 0x1000
    mov [r15 + R_AVAIL_LO], edx
    mov dword [r15 + R_AVAIL_HI], 0
    add edx, 0x1000
    mov [r15 + R_USED_LO], edx
    mov dword [r15 + R_USED_HI], 0
    mov dword [r15 + R_QUEUE_READY], 1
    ret

; tx_submit: offers the chain at descriptor 0 on the TX queue, notifies,
; waits for the used entry and returns its length in EAX. Exits 99 if the
; device never answers.
tx_submit:
    offer_and_wait TX_AVAIL, TX_USED, tx_avail_idx, tx_used_idx, r15, 1
    ret

; rx_post: offers descriptor ECX on the RX queue and notifies.
rx_post:
    movzx eax, word [rx_avail_idx]
    mov edx, eax
    and edx, QSIZE - 1
    mov [RX_AVAIL + 4 + rdx * 2], cx
    inc eax
    mov [rx_avail_idx], ax
    mov [RX_AVAIL + 2], ax
    mov dword [r15 + R_QUEUE_NOTIFY], 0
    ret

; rx_wait: waits for the next RX used entry; returns its id in EDX and its
; length in EAX. Exits 99 if none comes (the test sends its frames within
; milliseconds of the "RX buffers posted" line).
rx_wait:
    mov rcx, 1000000000
.wait:
    mov ax, [RX_USED + 2]
    cmp ax, [rx_used_idx]
    jne .answered
    pause
    dec rcx
    jnz .wait
    mov bl, 99
    jmp fail
.answered:
    movzx eax, word [rx_used_idx]
    and eax, QSIZE - 1
    mov edx, [RX_USED + 4 + rax * 8]
    mov eax, [RX_USED + 4 + rax * 8 + 4]
    inc word [rx_used_idx]
    mov dword [r15 + R_INT_ACK], 3
    ret

rx_ready: db "virtio-net: RX buffers posted", 10, 0
done: db "virtio-net: the device survived every hostile request", 10, 0
; 16-byte tags, the start of each frame's payload.
tag_valid1: db "kvmm-tx-valid-01"
tag_valid2: db "kvmm-tx-valid-02"
tag_valid3: db "kvmm-tx-valid-03"
tag_bad04:  db "kvmm-tx-bad---04"
tag_bad05:  db "kvmm-tx-bad---05"
tag_bad06:  db "kvmm-tx-bad---06"
tag_bad07:  db "kvmm-tx-bad---07"
tag_bad10:  db "kvmm-tx-bad---10"
tag_bad13:  db "kvmm-tx-bad---13"
tag_bad15:  db "kvmm-tx-bad---15"
align 2
rx_avail_idx: dw 0
rx_used_idx: dw 0
tx_avail_idx: dw 0
tx_used_idx: dw 0
