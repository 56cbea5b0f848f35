; SMP scheduling benchmark for `kvmm bench sched`. Every vCPU enters here in
; long mode (kvmm gives each its own stack) and reads its APIC ID to pick its
; role: vCPU 0 leads, the others follow. kvmm writes the parameters below
; before the run and reads the results back after the debug-exit write.
;
; Workloads (PARAM_WORKLOAD):
;   0 ipi        vCPU 0 hands a token to vCPU k (k = 1, 2, .. in turn) through
;                shared memory and wakes it with an IPI; k answers the same
;                way; both wait in hlt. vCPU 0 times each round trip (TSC).
;   1 spin-wait  the same exchange, but both sides spin on the shared memory
;                (pause loop) instead of halting: no IPI, no exit.
;   2 spin       every vCPU counts in a loop until a common TSC deadline;
;                the counts show how fairly the host shared its CPUs.
;
; Every wait that lasts longer than an exchange is a hlt woken by an IPI, not
; a spin: a spinning vCPU would keep the host CPU from a vCPU that is runnable
; but not running (overcommit, or SCHED_FIFO, where a spinner never yields).
;
; Exit status: 0 done; 0xe0 an exception; 0xe1 bad parameters.
; Keep the layout in step with vmm/bench/sched_bench.cc.
%include "kvmm.inc"
bits 64
org LOAD_ADDRESS

%define PARAMS          0x100000
%define PARAM_MAGIC     PARAMS + 0    ; u32 'SCHD', written by kvmm
%define PARAM_WORKLOAD  PARAMS + 4    ; u32
%define PARAM_CPUS      PARAMS + 8    ; u32
%define PARAM_ITERS     PARAMS + 12   ; u32 measured round trips
%define PARAM_WARMUP    PARAMS + 16   ; u32 round trips before those, not recorded
%define RESULT_DONE     PARAMS + 20   ; u32 guest: 1 when the results are complete
%define PARAM_SPIN_TSC  PARAMS + 24   ; u64 spin duration in TSC cycles
%define PARAM_XAPIC     PARAMS + 32   ; u32 1: use the xAPIC MMIO page even with x2APIC
%define SYNC_ARRIVED    PARAMS + 64   ; u64 vCPUs that are ready (own line)
%define SYNC_GO         PARAMS + 128  ; u64 1 once vCPU 0 starts the workload
%define SYNC_DEADLINE   PARAMS + 136  ; u64 spin: TSC at which to stop
%define SYNC_FINISHED   PARAMS + 192  ; u64 spin: vCPUs past the deadline
%define RESULT_X2APIC   PARAMS + 256  ; u64 guest: 1 if IPIs went through x2APIC MSRs
%define SLOTS           0x101000      ; 256 bytes per vCPU:
%define SLOT_SHIFT      8
%define SLOT_INBOX      0             ;   u64 token from vCPU 0 (own cache line)
%define SLOT_OUTBOX     64            ;   u64 answer to vCPU 0 (own cache line)
%define SLOT_COUNT      128           ;   u64 spin: loop count (own cache line)
%define SAMPLES         0x200000      ; u64 round-trip cycles per measured iteration

%define MAGIC           0x44484353    ; "SCHD"
%define IPI_VECTOR      0x40

%define MSR_APIC_BASE   0x1b
%define MSR_X2APIC_EOI  0x80b
%define MSR_X2APIC_SVR  0x80f
%define MSR_X2APIC_ICR  0x830
%define XAPIC_BASE      0xfee00000
%define XAPIC_EOI       XAPIC_BASE + 0xb0
%define XAPIC_SVR       XAPIC_BASE + 0xf0
%define XAPIC_ICR_LOW   XAPIC_BASE + 0x300
%define XAPIC_ICR_HIGH  XAPIC_BASE + 0x310
; ICR: fixed delivery, physical destination, level assert (SDM vol. 3A §11.6.1).
%define ICR_FIXED       0x4000 | IPI_VECTOR
%define ICR_ALL_BUT_SELF (3 << 18) | ICR_FIXED

; r15 = this vCPU's APIC ID (= its index), r14 = its slot, r13 = x2APIC in use.

start:
    cld
    lidt [idt_descriptor]
    mov eax, 1
    cpuid
    shr ebx, 24
    mov r15d, ebx
    mov r14, r15
    shl r14, SLOT_SHIFT
    add r14, SLOTS
    bt ecx, 21                  ; CPUID.1:ECX.x2APIC
    setc r13b
    movzx r13, r13b
    cmp dword [PARAM_XAPIC], 0
    je .apic_chosen
    xor r13d, r13d
.apic_chosen:
    cmp dword [PARAM_MAGIC], MAGIC
    jne bad_parameters

    ; Enable the local APIC: global enable (and x2APIC mode when there is
    ; one) in IA32_APIC_BASE, then software enable in the SVR. An APIC left
    ; software-disabled drops fixed IPIs, so nobody counts as arrived before.
    ; A single vCPU sends no IPIs, and kvmm gives it no in-kernel APIC.
    cmp dword [PARAM_CPUS], 1
    je .arrive
    mov ecx, MSR_APIC_BASE
    rdmsr
    or eax, 1 << 11
    test r13, r13
    jz .xapic
    or eax, 1 << 10
    wrmsr
    mov ecx, MSR_X2APIC_SVR
    mov eax, 0x1ff              ; enabled, spurious vector 0xff
    xor edx, edx
    wrmsr
    jmp .arrive
.xapic:
    wrmsr
    mov rax, XAPIC_SVR          ; above 2 GiB: no 32-bit displacement reaches it
    mov dword [rax], 0x1ff
.arrive:
    mov [RESULT_X2APIC], r13
    mov eax, 1
    lock xadd [SYNC_ARRIVED], rax
    inc rax
    test r15, r15
    jz leader
    ; The last to arrive wakes vCPU 0 (which arrived before it, so its APIC is on).
    cmp eax, [PARAM_CPUS]
    jne .wait_go
    xor edi, edi
    call send_ipi
.wait_go:
    mov rbx, SYNC_GO
    call wait_nonzero
    mov eax, [PARAM_WORKLOAD]
    cmp eax, 2
    je spin
    cmp eax, 1
    je follower_spin_wait
    jmp follower_ipi

leader:
    cmp dword [PARAM_CPUS], 1
    jb bad_parameters
    cmp dword [PARAM_WORKLOAD], 2
    ja bad_parameters
    ; Wait until every vCPU is ready.
.wait_arrived:
    cli
    mov eax, [PARAM_CPUS]
    cmp [SYNC_ARRIVED], rax
    jae .all_arrived
    sti
    hlt
    jmp .wait_arrived
.all_arrived:
    ; Start everyone at once.
    rdtsc
    shl rdx, 32
    or rax, rdx
    add rax, [PARAM_SPIN_TSC]
    mov [SYNC_DEADLINE], rax
    mov qword [SYNC_GO], 1
    cmp dword [PARAM_CPUS], 1
    je .started
    mov eax, ICR_ALL_BUT_SELF
    xor edi, edi
    call write_icr
.started:
    mov eax, [PARAM_WORKLOAD]
    cmp eax, 2
    je spin
    cmp dword [PARAM_CPUS], 2   ; a ping-pong needs a partner
    jb bad_parameters
    jmp leader_ping_pong

; vCPU 0: round trips to vCPU 1, 2, .. N-1, 1, 2, ..
leader_ping_pong:
    mov r12d, [PARAM_WARMUP]
    add r12d, [PARAM_ITERS]     ; r12 = iterations in all
    xor r11, r11                ; r11 = iteration
    mov edi, 0                  ; edi = partner
.next:
    cmp r11, r12
    jae .done
    inc edi
    cmp edi, [PARAM_CPUS]
    jb .partner_ok
    mov edi, 1
.partner_ok:
    mov rbx, rdi
    shl rbx, SLOT_SHIFT
    add rbx, SLOTS              ; rbx = partner's slot
    lea r10, [r11 + 1]          ; r10 = token of this round trip
    lfence
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r9, rax                 ; r9 = start
    mov [rbx + SLOT_INBOX], r10
    cmp dword [PARAM_WORKLOAD], 1
    je .spin_for_answer
    call send_ipi
.halt_for_answer:
    cli
    cmp [rbx + SLOT_OUTBOX], r10
    je .answered
    sti
    hlt
    jmp .halt_for_answer
.spin_for_answer:
    pause
    cmp [rbx + SLOT_OUTBOX], r10
    jne .spin_for_answer
.answered:
    lfence                      ; not rdtscp: not every (paravirtual) CPU has it
    rdtsc
    shl rdx, 32
    or rax, rdx
    sub rax, r9
    mov ecx, [PARAM_WARMUP]
    mov rdx, r11
    sub rdx, rcx
    jb .not_measured
    mov [SAMPLES + rdx * 8], rax
.not_measured:
    inc r11
    jmp .next
.done:
    jmp finish

; vCPU k: answer each new token, waiting in hlt.
follower_ipi:
    xor r10, r10                ; r10 = last token answered
.wait:
    cli
    mov rax, [r14 + SLOT_INBOX]
    cmp rax, r10
    jne .answer
    sti
    hlt
    jmp .wait
.answer:
    mov r10, rax
    mov [r14 + SLOT_OUTBOX], rax
    xor edi, edi
    call send_ipi
    jmp .wait

; vCPU k: answer each new token, spinning on the inbox.
follower_spin_wait:
    xor r10, r10
.wait:
    pause
    mov rax, [r14 + SLOT_INBOX]
    cmp rax, r10
    je .wait
    mov r10, rax
    mov [r14 + SLOT_OUTBOX], rax
    jmp .wait

; Every vCPU: count until the deadline, publishing the count every 1024 loops.
spin:
    mov rsi, [SYNC_DEADLINE]
    xor ecx, ecx
.loop:
    inc rcx
    test ecx, 0x3ff
    jnz .loop
    mov [r14 + SLOT_COUNT], rcx
    rdtsc
    shl rdx, 32
    or rax, rdx
    cmp rax, rsi
    jb .loop
    mov [r14 + SLOT_COUNT], rcx
    mov eax, 1
    lock xadd [SYNC_FINISHED], rax
    inc rax
    test r15, r15
    jz .leader_wait
    ; The last to finish wakes vCPU 0; the others halt for good.
    cmp eax, [PARAM_CPUS]
    jne halt_forever
    xor edi, edi
    call send_ipi
    jmp halt_forever
.leader_wait:
    cli
    mov eax, [PARAM_CPUS]
    cmp [SYNC_FINISHED], rax
    jae finish
    sti
    hlt
    jmp .leader_wait

finish:
    mov dword [RESULT_DONE], 1
    exit_with 0
halt_forever:
    cli
    hlt
    jmp halt_forever

bad_parameters:
    exit_with 0xe1
    jmp halt_forever

; Waits in hlt until the u64 at [rbx] is non-zero. Clobbers nothing else.
wait_nonzero:
    cli
    cmp qword [rbx], 0
    jne .done
    sti                         ; sti; hlt: no interrupt slips in between
    hlt
    jmp wait_nonzero
.done:
    ret

; send_ipi: a fixed IPI to the vCPU whose APIC ID is in edi.
send_ipi:
    mov eax, ICR_FIXED
; write_icr: ICR low dword in eax, destination APIC ID in edi.
write_icr:
    push rcx
    push rdx
    test r13, r13
    jz .xapic
    mov ecx, MSR_X2APIC_ICR
    mov edx, edi                ; x2APIC: destination in ICR[63:32]
    wrmsr
    jmp .done
.xapic:
    mov edx, edi
    shl edx, 24                 ; xAPIC: destination in ICR[63:56]
    mov rcx, XAPIC_ICR_HIGH
    mov [rcx], edx
    mov rcx, XAPIC_ICR_LOW
    mov [rcx], eax              ; writing the low half sends it
.done:
    pop rdx
    pop rcx
    ret

; Interrupts 32-255: the IPI (or a spurious one); waking the hlt is its job.
interrupt:
    push rax
    push rcx
    push rdx
    test r13, r13
    jz .xapic
    mov ecx, MSR_X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    jmp .done
.xapic:
    mov rax, XAPIC_EOI
    mov dword [rax], 0
.done:
    pop rdx
    pop rcx
    pop rax
    iretq

; Exceptions 0-31: a guest bug; end the run with a status kvmm reports.
exception:
    exit_with 0xe0
    jmp halt_forever

; 64-bit interrupt gates (SDM vol. 3A §6.14.1): selector 0x08, present, DPL 0.
%macro gate 1
    dw (%1 - $$ + LOAD_ADDRESS) & 0xffff
    dw 0x08
    db 0, 0x8e
    dw ((%1 - $$ + LOAD_ADDRESS) >> 16) & 0xffff
    dd 0, 0
%endmacro

align 16
idt:
%rep 32
    gate exception
%endrep
%rep 224
    gate interrupt
%endrep
idt_end:

idt_descriptor:
    dw idt_end - idt - 1
    dq idt
