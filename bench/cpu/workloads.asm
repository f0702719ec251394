; CPU benchmark workloads, as a Multiboot v1 image (a.out kludge) so that the same bytes run on
; Viridian and on QEMU (-kernel). Entered in 32-bit protected mode without paging; switches to long
; mode, runs the workload selected at build time (-DWORKLOAD=n, -DITER=n), writes 0 to the debug-exit
; port 0xf4. ITER=0 runs the set-up only, to measure the peer's boot overhead.

%ifndef WORKLOAD
%define WORKLOAD 1
%endif
%ifndef ITER
%define ITER 100
%endif

        bits 32
        org 0x100000
mb_header:
        dd 0x1badb002
        dd 0x00010000
        dd -(0x1badb002 + 0x00010000)
        dd mb_header            ; header_addr
        dd mb_header            ; load_addr
        dd load_end             ; load_end_addr
        dd bss_end              ; bss_end_addr
        dd entry                ; entry_addr

entry:
        cli
        mov esp, stack_top
        lgdt [gdt_desc]
        ; identity-map the first 1 GiB with 2 MiB pages
        mov edi, pml4
        mov ecx, 3*1024
        xor eax, eax
        rep stosd
        mov dword [pml4], pdpt + 3
        mov dword [pdpt], pd + 3
        mov ecx, 0
.map:   mov eax, ecx
        shl eax, 21
        or eax, 0x83
        mov [pd + ecx*8], eax
        inc ecx
        cmp ecx, 512
        jb .map
        mov eax, cr4
        or eax, 0x620            ; PAE | OSFXSR | OSXMMEXCPT
        mov cr4, eax
        mov eax, pml4
        mov cr3, eax
        mov ecx, 0xc0000080
        rdmsr
        or eax, 0x100
        wrmsr
        mov eax, cr0
        and eax, 0xfffffffb      ; EM off
        or eax, 0x80000002       ; PG | MP
        mov cr0, eax
        jmp 0x08:long_entry

        bits 64
long_entry:
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov rsp, stack_top
        mov r15, ITER
        test r15, r15
        jz done
%if WORKLOAD = 1
        ; integer mix: dependent ALU chains, shifts, multiplies, register moves
.outer: mov rcx, 10000
        mov rax, 0x12345678
        mov rbx, 0x9abcdef
.l1:    add rax, rbx
        xor rbx, rax
        shl rax, 3
        shr rbx, 1
        imul rdx, rax, 13
        sub rax, rdx
        lea rbx, [rbx + rax*2 + 7]
        mov rsi, rax
        and rsi, 0xff
        or rbx, rsi
        dec rcx
        jnz .l1
        dec r15
        jnz .outer
%elif WORKLOAD = 2
        ; memory copy: 64 KiB with an 8-byte mov loop, then with rep movsq
.outer: mov rsi, buf_a
        mov rdi, buf_b
        mov rcx, 8192
.l2:    mov rax, [rsi]
        mov [rdi], rax
        add rsi, 8
        add rdi, 8
        dec rcx
        jnz .l2
        mov rsi, buf_b
        mov rdi, buf_a
        mov rcx, 8192
        cld
        rep movsq
        dec r15
        jnz .outer
%elif WORKLOAD = 3
        ; branchy: Collatz step counts for 1..2000 (data-dependent branches)
.outer: mov r8, 1
        xor r10, r10
.num:   mov rax, r8
.step:  cmp rax, 1
        je .next
        inc r10
        test rax, 1
        jnz .odd
        shr rax, 1
        jmp .step
.odd:   lea rax, [rax + rax*2 + 1]
        jmp .step
.next:  inc r8
        cmp r8, 2000
        jbe .num
        dec r15
        jnz .outer
%elif WORKLOAD = 4
        ; SSE2 math: dot products of two 1024-element double arrays
.outer: mov rsi, buf_a
        mov rdi, buf_b
        mov rcx, 512
        xorpd xmm0, xmm0
        xorpd xmm3, xmm3
.l4:    movapd xmm1, [rsi]
        movapd xmm2, [rdi]
        mulpd xmm1, xmm2
        addpd xmm0, xmm1
        addpd xmm3, xmm2
        add rsi, 16
        add rdi, 16
        dec rcx
        jnz .l4
        dec r15
        jnz .outer
%endif
done:
        mov al, 0
        out 0xf4, al
        cli
.h:     hlt
        jmp .h

        align 8
gdt:    dq 0
        dq 0x00af9a000000ffff    ; 0x08 code64
        dq 0x00cf92000000ffff    ; 0x10 data
gdt_desc:
        dw 23
        dd gdt
load_end:

        section .bss
        alignb 4096
pml4:   resb 4096
pdpt:   resb 4096
pd:     resb 4096
buf_a:  resb 65536
buf_b:  resb 65536
        resb 16384
stack_top:
bss_end:
