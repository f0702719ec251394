; Bare-metal CPU test guest: real mode -> 32-bit protected mode -> long mode, the way firmware and
; kernels do it, checking paging, exceptions, IST, SYSCALL/SYSRET and self-modifying code.
; Loaded as a flat image at 0x8000 and entered in real mode at 0000:8000. Reports through the
; QEMU-compatible debug-exit port 0xf4: 0 = all passed, otherwise the number of the failed check.
; Progress characters go to port 0xe9.

        org 0x8000
%define EXIT 0xf4
%define CON  0xe9

%macro FAIL 1
        mov al, %1
        out EXIT, al
        hlt
%endmacro

        bits 16
%include "multiboot-real-mode.inc"
start:
        cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7000
        mov al, 'R'
        out CON, al
        ; check 1: real-mode arithmetic and a far-pointer-free stack round trip
        mov ax, 0x1234
        push ax
        pop bx
        cmp bx, 0x1234
        je .ok1
        FAIL 1
.ok1:
        lgdt [gdt_desc]
        mov eax, cr0
        or eax, 1
        mov cr0, eax
        jmp 0x08:pm32

        bits 32
pm32:
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, 0x70000
        mov al, 'P'
        out CON, al
        ; check 2: #GP with an error code in 32-bit protected mode (load a selector beyond the GDT)
        lidt [idt32_desc]
        mov dword [gp_seen], 0
        mov ax, 0x0f8                   ; index 31: beyond the GDT limit
        mov ds, ax                      ; #GP(0xf8) -> handler skips 3 bytes
        mov ax, 0x10
        mov ds, ax
        cmp dword [gp_seen], 0xf8 + 1
        je .ok2
        FAIL 2
.ok2:
        ; check 3: 32-bit paging with a 4 MiB identity page and one 4 KiB page aliased twice
        mov edi, pd32
        mov ecx, 1024
        xor eax, eax
        rep stosd
        mov dword [pd32], 0x00000083            ; 0-4M: present, writable, PS
        mov dword [pd32 + 4*1], pt32 + 3        ; 4M-8M: page table
        mov dword [pt32 + 4*0], 0x00200003      ; 0x400000 -> phys 0x200000
        mov dword [pt32 + 4*1], 0x00200003      ; 0x401000 -> phys 0x200000 (alias)
        mov dword [pt32 + 4*2], 0x00201001      ; 0x402000 -> phys 0x201000 read-only
        mov eax, cr4
        or eax, 0x10                            ; PSE
        mov cr4, eax
        mov eax, pd32
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80010000                      ; PG | WP
        mov cr0, eax
        mov dword [0x400010], 0xcafef00d
        cmp dword [0x401010], 0xcafef00d
        je .ok3
        FAIL 3
.ok3:
        ; check 4: accessed and dirty bits written to the PTE
        mov eax, [pt32]
        and eax, 0x60
        cmp eax, 0x60
        je .ok4
        FAIL 4
.ok4:
        ; check 5: supervisor write to a read-only page with CR0.WP -> #PF, error code 3, CR2
        mov dword [pf_seen], 0
        mov dword [0x402000], 1                 ; faults; handler skips 10 bytes
        cmp dword [pf_seen], 3
        je .ok5a
        FAIL 5
.ok5a:
        mov eax, cr2
        cmp eax, 0x402000
        je .ok5
        FAIL 5
.ok5:
        ; leave paging for the long-mode switch
        mov eax, cr0
        and eax, 0x7fffffff
        mov cr0, eax

        ; long mode: 4-level tables, identity-map 0-2 MiB (2 MiB page) plus 4 KiB pages at 4M
        mov edi, pml4
        mov ecx, 6*1024
        xor eax, eax
        rep stosd
        mov dword [pml4], pdpt + 7
        mov dword [pdpt], pd64 + 7
        mov dword [pd64], 0x00000083            ; 0-2M: 2 MiB page, supervisor
        mov dword [pd64 + 8*2], pt64 + 7        ; 4M-6M: page table (user allowed at this level)
        mov dword [pt64 + 8*0], 0x00200007      ; 0x400000: user RW data
        mov dword [pt64 + 8*1], 0x00202001      ; 0x401000: read-only
        mov dword [pt64 + 8*2], 0x00203003      ; 0x402000: NX data (code placed here)
        mov dword [pt64 + 8*2 + 4], 0x80000000
        mov dword [pt64 + 8*3], user_page + 5   ; 0x403000: user code (read-only, executable)
        mov dword [pt64 + 8*4], 0x00204007      ; 0x404000: user stack
        mov eax, cr4
        or eax, 0x20                            ; PAE
        mov cr4, eax
        mov eax, pml4
        mov cr3, eax
        mov ecx, 0xc0000080
        rdmsr
        or eax, 0x901                           ; LME | NXE | SCE
        wrmsr
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp 0x18:lm64

        bits 64
lm64:
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov rsp, 0x60000
        mov al, 'L'
        out CON, al
        ; check 6: 64-bit arithmetic on full registers
        mov rax, 0x123456789abcdef0
        mov rbx, 0x0fedcba987654321
        add rax, rbx
        mov rcx, 0x2222222222222211
        cmp rax, rcx
        je .ok6
        FAIL 6
.ok6:
        ; 64-bit TSS with IST1, IDT with #PF on IST1
        mov rax, tss64
        mov word [gdt + 0x28 + 2], ax
        shr rax, 16
        mov byte [gdt + 0x28 + 4], al
        mov byte [gdt + 0x28 + 7], ah
        mov ax, 0x28
        ltr ax
        call build_idt64
        lidt [idt64_desc]
        ; check 7: #PF on an unmapped address, delivered on the IST1 stack, error code 0 (not present, read)
        mov qword [pf_seen], -1
        mov rax, [0x7ff000]                     ; unmapped: handler skips 8 bytes
        cmp qword [pf_seen], 0
        je .ok7a
        FAIL 7
.ok7a:
        cmp qword [pf_rsp_ok], 1
        je .ok7b
        FAIL 7
.ok7b:
        mov rax, cr2
        cmp rax, 0x7ff000
        je .ok7
        FAIL 7
.ok7:
        ; check 8: executing from an NX page faults with I/D set (error code 0x11), RIP = the page
        mov byte [0x402000], 0xc3               ; ret (writable data page, NX)
        mov qword [pf_seen], -1
        mov rax, 0x402000
        call rax                                ; #PF on fetch; handler "returns" via the pushed RIP
        cmp qword [pf_seen], 0x11
        je .ok8
        FAIL 8
.ok8:
        ; check 9: self-modifying code: patch an immediate that executes right after the store
        mov byte [smc_imm + 1], 42
smc_imm:
        mov al, 7
        cmp al, 42
        je .ok9
        FAIL 9
.ok9:
        ; check 10: SYSCALL/SYSRET round trip through CPL 3 (user code page at 0x403000)
        mov ecx, 0xc0000081                     ; STAR: SYSRET base 0x30 (CS 0x40|3, SS 0x38|3), SYSCALL CS 0x18
        xor eax, eax
        mov edx, 0x00300018
        wrmsr
        mov ecx, 0xc0000082                     ; LSTAR
        mov rax, syscall_entry
        mov rdx, rax
        shr rdx, 32
        wrmsr
        mov ecx, 0xc0000084                     ; SFMASK: clear IF, TF, DF
        mov eax, 0x700
        xor edx, edx
        wrmsr
        mov [saved_rsp], rsp
        ; IRETQ to user mode: SS, RSP, RFLAGS, CS, RIP
        push 0x38 | 3
        push 0x405000
        push 0x2
        push 0x40 | 3
        push 0x403000
        iretq
after_user:
        mov rsp, [saved_rsp]
        cmp r12, 0x5a5a
        je .ok10a
        FAIL 10
.ok10a:
        cmp r13, 3                              ; CPL seen in the saved user CS
        je .ok10
        FAIL 10
.ok10:
        mov al, 'K'
        out CON, al
        mov al, 0
        out EXIT, al
        hlt

syscall_entry:
        ; in CPL 0 with user RSP; RCX = user RIP, R11 = user RFLAGS
        mov r12, 0x5a5a
        mov r13, rcx
        mov rbx, 0x403000
        cmp r13, rbx
        jb .bad
        mov r13, 3
        jmp after_user
.bad:
        mov r13, 0
        jmp after_user

build_idt64:
        ; vector 14 -> pf64 with IST1, DPL 0, 64-bit interrupt gate
        mov rdi, idt64 + 14*16
        mov rax, pf64
        mov word [rdi], ax
        mov word [rdi + 2], 0x18
        mov byte [rdi + 4], 1                   ; IST1
        mov byte [rdi + 5], 0x8e
        shr rax, 16
        mov word [rdi + 6], ax
        shr rax, 16
        mov dword [rdi + 8], eax
        mov dword [rdi + 12], 0
        ret

pf64:
        ; stack: error code, RIP, CS, RFLAGS, RSP, SS; must be on the IST1 stack
        mov qword [pf_rsp_ok], 0
        lea rax, [rsp + 6*8]
        cmp rax, ist1_top
        jne .notist
        mov qword [pf_rsp_ok], 1
.notist:
        pop rax                                 ; error code
        mov [pf_seen], rax
        test rax, 0x10
        jnz .fetch
        add qword [rsp], 8                      ; skip "mov rax, [abs]" (8 bytes)
        iretq
.fetch:
        ; fetch fault at the NX page: return to the caller (the address "call rax" pushed)
        mov rax, [rsp + 24]                     ; faulting context's RSP
        mov rbx, [rax]                          ; return address pushed by the call
        add qword [rsp + 24], 8                 ; pop it
        mov [rsp], rbx
        iretq

        bits 32
gp32:
        pop eax                                 ; error code
        inc eax
        mov [gp_seen], eax
        add dword [esp], 3                      ; skip "mov ds, ax" + following... (8E D8 = 2 bytes) + 1
        sub dword [esp], 1
        iretd
pf32:
        pop eax
        mov [pf_seen], eax
        add dword [esp], 10                     ; skip "mov dword [abs], imm32" (10 bytes)
        iretd

        align 8
gdt:
        dq 0
        dq 0x00cf9a000000ffff                   ; 0x08 code32
        dq 0x00cf92000000ffff                   ; 0x10 data
        dq 0x00af9a000000ffff                   ; 0x18 code64
        dq 0                                    ; 0x20 unused
        dq 0x0000890000000067                   ; 0x28 TSS64 (base patched at run time)
        dq 0                                    ;      TSS64 upper half
        dq 0x00cff2000000ffff                   ; 0x38 user data (DPL 3)
        dq 0x00affa000000ffff                   ; 0x40 user code64 (DPL 3)
gdt_end:
gdt_desc:
        dw gdt_end - gdt - 1
        dq gdt

idt32_desc:
        dw 15*8 - 1
        dd idt32
        align 8
idt32:
        times 13 dq 0
        dw gp32, 0x08, 0x8e00, 0                ; 13: #GP
        dw pf32, 0x08, 0x8e00, 0                ; 14: #PF

idt64_desc:
        dw 256*16 - 1
        dq idt64

        align 8
gp_seen:   dq 0
pf_seen:   dq 0
pf_rsp_ok: dq 0
saved_rsp: dq 0

        align 16
tss64:
        dd 0
        dq 0x68000                              ; RSP0
        dq 0, 0
        dq 0
        dq ist1_top                             ; IST1
        times 6 dq 0
        dq 0
        dw 0, 0x68

        align 16
        times 512 db 0
ist1_top:

        bits 64
        align 4096
user_page:
        ; CPL 3 code (mapped at 0x403000): check CPL, then SYSCALL
        mov rsp, 0x405000
        syscall
        ud2

        align 4096
idt64:  times 256*16 db 0
        align 4096
pd32:   times 4096 db 0
pt32:   times 4096 db 0
pml4:   times 4096 db 0
pdpt:   times 4096 db 0
pd64:   times 4096 db 0
pt64:   times 4096 db 0
