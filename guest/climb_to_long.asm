; Starts in real mode and climbs on its own, with its own GDT and page
; tables: real -> 32-bit protected -> 64-bit long mode, printing in each.
; Run: kvmm run --flat climb_to_long.bin --mode real   (exit status 0)
%include "kvmm.inc"

PML4 equ 0x1000                     ; page tables in low memory, below the image
PDPT equ 0x2000
PD   equ 0x3000

bits 16
org LOAD_ADDRESS

real_start:
    cli
    mov si, in_real
    print_string si
    lgdt [gdt_descriptor]
    mov eax, cr0
    or eax, 1                       ; CR0.PE
    mov cr0, eax
    jmp CODE32:protected_start      ; far jump loads CS and leaves real mode

bits 32
protected_start:
    mov ax, DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esi, in_protected
    print_string esi

    ; Identity-map the first 2 MiB with one large page: PML4 -> PDPT -> PD.
    mov edi, PML4
    mov ecx, 3 * 4096 / 4
    xor eax, eax
    rep stosd
    mov dword [PML4], PDPT | 3      ; present | writable
    mov dword [PDPT], PD | 3
    mov dword [PD], 0x83            ; present | writable | 2 MiB page

    mov eax, cr4
    or eax, 1 << 5                  ; CR4.PAE
    mov cr4, eax
    mov eax, PML4
    mov cr3, eax
    mov ecx, 0xc0000080             ; EFER
    rdmsr
    or eax, 1 << 8                  ; EFER.LME
    wrmsr
    mov eax, cr0
    or eax, 1 << 31                 ; CR0.PG: long mode becomes active
    mov cr0, eax
    jmp CODE64:long_start

bits 64
long_start:
    mov rsi, in_long
    print_string rsi
    exit_with 0

align 8
gdt:
    dq 0                            ; null
    dq 0x00af9b000000ffff           ; 0x08: 64-bit code
    dq 0x00cf93000000ffff           ; 0x10: data, 4 GiB
    dq 0x00cf9b000000ffff           ; 0x18: 32-bit code, 4 GiB
gdt_end:
CODE64 equ 0x08
DATA   equ 0x10
CODE32 equ 0x18
gdt_descriptor:
    dw gdt_end - gdt - 1
    dd gdt

in_real:      db "real mode", 10, 0
in_protected: db "protected mode", 10, 0
in_long:      db "long mode", 10, 0
