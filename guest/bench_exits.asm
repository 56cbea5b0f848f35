; Exit-latency benchmark guest for `kvmm bench exits`. Long mode.
;
; kvmm writes a parameter block at BENCH_PARAMS before the first KVM_RUN; the
; guest times warmup + iterations round trips of one exit kind with the TSC
; and stores each of the last `iterations` samples (cycles, a qword each) in
; the buffer at `samples`, which kvmm reads back after the run. It ends with
; status 0 on the debug-exit port (BENCH_BAD_PARAMS, BENCH_UNEXPECTED_VECTOR
; on failure).
;
; Timing: lfence; rdtsc before the exit, rdtscp; lfence after (Intel, "How to
; Benchmark Code Execution Times", and SDM RDTSCP): rdtsc cannot start before
; earlier instructions finish, rdtscp waits for the exit to complete, and the
; trailing lfence keeps later work out of the interval. Every sample includes
; this pair's own cost, which the `none` kind measures alone.
%include "kvmm.inc"
bits 64
org LOAD_ADDRESS

; Keep in step with vmm/bench/exit_kinds.h.
%define BENCH_PARAMS      0x7000      ; below the image, above the page tables
%define P_KIND            BENCH_PARAMS + 0
%define P_ITERATIONS      BENCH_PARAMS + 8
%define P_WARMUP          BENCH_PARAMS + 16
%define P_SAMPLES         BENCH_PARAMS + 24
%define P_TIMER_DELTA     BENCH_PARAMS + 32   ; TSC cycles from now to the deadline
%define P_STAMP           BENCH_PARAMS + 40   ; written by the guest: 1 rdtscp, 2 lfence; rdtsc
%define IOEVENTFD_PORT    0x530       ; bound to an ioeventfd by kvmm
%define IOEVENTFD_MMIO    0xd0001000  ; bound to an ioeventfd by kvmm (4-byte writes)
%define LAPIC             0xfee00000
%define LAPIC_EOI         0xb0
%define LAPIC_SVR         0xf0
%define LAPIC_LVT_TIMER   0x320
%define TIMER_VECTOR      0x40
%define MSR_TSC_DEADLINE  0x6e0
%define BENCH_BAD_PARAMS        0x10
%define BENCH_UNEXPECTED_VECTOR 0x11
%define KIND_VMCALL       2
%define KIND_HLT_TIMER    5
%define IDT_VECTORS       256

start:
    ; r12 = warmup + iterations, r13 = samples, r14 = warmup, r15 = i.
    mov r14, [P_WARMUP]
    mov r12, [P_ITERATIONS]
    add r12, r14
    mov r13, [P_SAMPLES]
    xor r15, r15
    mov r10, TESTDEV_MMIO
    mov r11, IOEVENTFD_MMIO
    mov rbx, [P_KIND]
    cmp rbx, (kind_table_end - kind_table) / 8
    jae bad_params
    cmp rbx, KIND_HLT_TIMER
    jne .no_timer
    call setup_timer
.no_timer:
    cmp rbx, KIND_VMCALL
    jne .dispatch
    ; AMD's hypercall instruction is vmmcall; KVM would emulate vmcall
    ; there through #UD and patch the code, which is not what is measured.
    xor eax, eax
    cpuid
    cmp ebx, 0x68747541          ; "Auth" of AuthenticAMD
    mov rbx, KIND_VMCALL
    jne .dispatch
    call has_rdtscp
    jnc .amd_lfence
    mov qword [P_STAMP], 1
    jmp loop_vmmcall
.amd_lfence:
    mov qword [P_STAMP], 2
    jmp loop_vmmcall_lf
.dispatch:
    ; Tell kvmm which closing timestamp the samples carry.
    call has_rdtscp
    jnc .lfence
    mov qword [P_STAMP], 1
    jmp [kind_table + rbx * 8]
.lfence:
    mov qword [P_STAMP], 2
    jmp [kind_table_lfence + rbx * 8]

; Carry set when CPUID.80000001H:EDX[27] (RDTSCP) is. Clobbers eax-edx.
has_rdtscp:
    push rbx
    mov eax, 0x80000001
    cpuid
    pop rbx
    bt edx, 27
    ret

bad_params:
    exit_with BENCH_BAD_PARAMS
    hlt

; bench_loop NAME, OP, STAMP: the timed loop for one kind; OP is a macro with
; the exit. It may clobber rax, rbx, rcx, rdx, rsi, rdi, r9, never r8 or
; r10-r15. STAMP is end_rdtscp, or end_lfence where the CPU has no rdtscp.
%macro bench_loop 3
%1:
.next:
    cmp r15, r12
    jae done
    lfence
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r8, rax
    %2
    %3
    shl rdx, 32
    or rax, rdx
    sub rax, r8
    mov rdi, r15
    sub rdi, r14
    jb .skip                    ; still warming up
    mov [r13 + rdi * 8], rax
.skip:
    inc r15
    jmp .next
%endmacro

%macro end_rdtscp 0
    rdtscp
    lfence
%endmacro
; Without rdtscp (kvm_pvm hides it): lfence makes rdtsc wait for the exit
; to complete, the same ordering rdtscp gives.
%macro end_lfence 0
    lfence
    rdtsc
    lfence
%endmacro

%macro op_none 0
%endmacro
%macro op_cpuid 0
    xor eax, eax
    cpuid
%endmacro
%macro op_vmcall 0
    mov eax, 0xfff              ; no such hypercall: KVM returns -KVM_ENOSYS
    vmcall
%endmacro
%macro op_vmmcall 0
    mov eax, 0xfff
    vmmcall
%endmacro
%macro op_pio_out_ioeventfd 0
    mov dx, IOEVENTFD_PORT
    out dx, al
%endmacro
%macro op_mmio_write_ioeventfd 0
    mov [r11], eax
%endmacro
; The sample is the time from the deadline to the guest running again after
; the handler's iretq: r8 becomes the deadline. Any other wake-up halts again.
%macro op_hlt_timer 0
    add r8, [P_TIMER_DELTA]
    mov byte [timer_fired], 0
    mov rax, r8
    mov rdx, r8
    shr rdx, 32
    mov ecx, MSR_TSC_DEADLINE
    wrmsr
%%wait:
    sti                         ; the sti shadow covers the hlt: no lost wake-up
    hlt
    cli
    cmp byte [timer_fired], 0
    je %%wait
%endmacro
%macro op_pio_out 0
    mov dx, TESTDEV_PORT
    out dx, al
%endmacro
%macro op_pio_in 0
    mov dx, TESTDEV_PORT
    in al, dx
%endmacro
%macro op_mmio_write 0
    mov [r10], eax
%endmacro
%macro op_mmio_read 0
    mov eax, [r10]
%endmacro
%macro op_serial_out 0
    mov dx, COM1
    mov al, '.'
    out dx, al
%endmacro

bench_loop loop_none, op_none, end_rdtscp
bench_loop loop_cpuid, op_cpuid, end_rdtscp
bench_loop loop_vmcall, op_vmcall, end_rdtscp
bench_loop loop_vmmcall, op_vmmcall, end_rdtscp
bench_loop loop_pio_out_ioeventfd, op_pio_out_ioeventfd, end_rdtscp
bench_loop loop_mmio_write_ioeventfd, op_mmio_write_ioeventfd, end_rdtscp
bench_loop loop_hlt_timer, op_hlt_timer, end_rdtscp
bench_loop loop_pio_out, op_pio_out, end_rdtscp
bench_loop loop_pio_in, op_pio_in, end_rdtscp
bench_loop loop_mmio_write, op_mmio_write, end_rdtscp
bench_loop loop_mmio_read, op_mmio_read, end_rdtscp
bench_loop loop_serial_out, op_serial_out, end_rdtscp
bench_loop loop_none_lf, op_none, end_lfence
bench_loop loop_cpuid_lf, op_cpuid, end_lfence
bench_loop loop_vmcall_lf, op_vmcall, end_lfence
bench_loop loop_vmmcall_lf, op_vmmcall, end_lfence
bench_loop loop_pio_out_ioeventfd_lf, op_pio_out_ioeventfd, end_lfence
bench_loop loop_mmio_write_ioeventfd_lf, op_mmio_write_ioeventfd, end_lfence
bench_loop loop_hlt_timer_lf, op_hlt_timer, end_lfence
bench_loop loop_pio_out_lf, op_pio_out, end_lfence
bench_loop loop_pio_in_lf, op_pio_in, end_lfence
bench_loop loop_mmio_write_lf, op_mmio_write, end_lfence
bench_loop loop_mmio_read_lf, op_mmio_read, end_lfence
bench_loop loop_serial_out_lf, op_serial_out, end_lfence

done:
    exit_with 0
    hlt

; The LAPIC timer in TSC-deadline mode (SDM §10.5.4.1), an IDT whose vectors
; all report an unexpected interrupt except the timer's.
setup_timer:
    mov rdi, idt
    xor ecx, ecx
.gate:
    mov rax, unexpected_vector
    cmp ecx, TIMER_VECTOR
    jne .store
    mov rax, timer_handler
.store:
    ; 64-bit interrupt gate (SDM §6.14.1): offset 15:0, selector, type
    ; 0x8e (present, DPL 0, interrupt gate), offset 31:16, offset 63:32.
    mov [rdi], ax
    mov word [rdi + 2], 0x08
    mov word [rdi + 4], 0x8e00
    shr rax, 16
    mov [rdi + 6], ax
    shr rax, 16
    mov [rdi + 8], eax
    mov dword [rdi + 12], 0
    add rdi, 16
    inc ecx
    cmp ecx, IDT_VECTORS
    jb .gate
    lidt [idtr]
    mov rsi, LAPIC
    mov dword [rsi + LAPIC_SVR], 0x1ff              ; software-enable, spurious 0xff
    mov dword [rsi + LAPIC_LVT_TIMER], TIMER_VECTOR | (2 << 17)   ; TSC-deadline
    mfence                      ; SDM: order the LVT write before the MSR write
    ret

timer_handler:
    push rax
    mov byte [timer_fired], 1
    mov rax, LAPIC
    mov dword [rax + LAPIC_EOI], 0
    pop rax
    iretq

unexpected_vector:
    exit_with BENCH_UNEXPECTED_VECTOR
    hlt

align 8
kind_table:                     ; index: the kind number in exit_kinds.h
    dq loop_none                ; 0
    dq loop_cpuid               ; 1
    dq loop_vmcall              ; 2
    dq loop_pio_out_ioeventfd   ; 3
    dq loop_mmio_write_ioeventfd ; 4
    dq loop_hlt_timer           ; 5
    dq loop_pio_out             ; 6
    dq loop_pio_in              ; 7
    dq loop_mmio_write          ; 8
    dq loop_mmio_read           ; 9
    dq loop_serial_out          ; 10
kind_table_end:
kind_table_lfence:                     ; the same, closing with end_lfence
    dq loop_none_lf                ; 0
    dq loop_cpuid_lf               ; 1
    dq loop_vmcall_lf              ; 2
    dq loop_pio_out_ioeventfd_lf   ; 3
    dq loop_mmio_write_ioeventfd_lf ; 4
    dq loop_hlt_timer_lf           ; 5
    dq loop_pio_out_lf             ; 6
    dq loop_pio_in_lf              ; 7
    dq loop_mmio_write_lf          ; 8
    dq loop_mmio_read_lf           ; 9
    dq loop_serial_out_lf          ; 10

timer_fired: db 0
align 8
idtr:
    dw IDT_VECTORS * 16 - 1
    dq idt
align 16
idt:
    times IDT_VECTORS * 16 db 0
