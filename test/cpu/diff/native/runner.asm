; Native half of the differential harness: loads a case's complete register state (FXRSTOR64, RFLAGS
; through POPFQ, all sixteen GPRs including RSP) and jumps to the snippet at the fixed code base.
; The snippet's code page ends in a jump to diff_exit, which stores everything back. Assembled with
; nasm -f elf64 at test time and linked with runner.c.
        bits 64
        default rel

        section .bss
        alignb 16
        global diff_out_fx
diff_out_fx:    resb 512
        global diff_out_gpr
diff_out_gpr:   resq 17          ; RAX..R15 in encoding order, then RFLAGS
host_rsp:       resq 1

USER_DS         equ 0x2b
USER32_CS       equ 0x23

        section .data
code_entry:     dq 0x20000000
code_entry32:   dd 0x20000000    ; m16:32 for the far jump: offset, then selector
                dw USER32_CS

        section .text
; Saves the host's callee-saved registers and stack, then loads the case state from RDI (17 qwords)
; and RSI (FXSAVE image); the caller jumps to the snippet right after.
%macro LOAD_CASE 0
        push rbx
        push rbp
        push r12
        push r13
        push r14
        push r15
        mov [host_rsp], rsp
        fxrstor64 [rsi]
        push qword [rdi + 16*8]
        popfq
        mov rax, [rdi + 0*8]
        mov rcx, [rdi + 1*8]
        mov rdx, [rdi + 2*8]
        mov rbx, [rdi + 3*8]
        mov rsp, [rdi + 4*8]
        mov rbp, [rdi + 5*8]
        mov rsi, [rdi + 6*8]
        mov r8,  [rdi + 8*8]
        mov r9,  [rdi + 9*8]
        mov r10, [rdi + 10*8]
        mov r11, [rdi + 11*8]
        mov r12, [rdi + 12*8]
        mov r13, [rdi + 13*8]
        mov r14, [rdi + 14*8]
        mov r15, [rdi + 15*8]
        mov rdi, [rdi + 7*8]
%endmacro

; void diff_run(const uint64_t state[17], const void *fx512): the snippet runs as 64-bit code.
        global diff_run
diff_run:
        LOAD_CASE
        jmp [code_entry]

; void diff_run32(const uint64_t state[17], const void *fx512): the snippet runs as 32-bit code in
; compatibility mode, entered through Linux's 32-bit user code selector. A 64-bit process has null
; DS/ES, which would fault every 32-bit data access, so they get the user data selector first. The
; runner ends such a snippet with a far jump back to the 64-bit selector, then the jump to diff_exit.
        global diff_run32
diff_run32:
        mov ax, USER_DS
        mov ds, ax
        mov es, ax
        LOAD_CASE
        jmp far [code_entry32]

; Reached from the snippet's trailing jump. The snippet's RSP may point anywhere, so every GPR is
; stored before the host stack comes back; only then can RFLAGS go through PUSHFQ.
        global diff_exit
diff_exit:
        mov [diff_out_gpr + 0*8], rax
        mov [diff_out_gpr + 1*8], rcx
        mov [diff_out_gpr + 2*8], rdx
        mov [diff_out_gpr + 3*8], rbx
        mov [diff_out_gpr + 4*8], rsp
        mov [diff_out_gpr + 5*8], rbp
        mov [diff_out_gpr + 6*8], rsi
        mov [diff_out_gpr + 7*8], rdi
        mov [diff_out_gpr + 8*8], r8
        mov [diff_out_gpr + 9*8], r9
        mov [diff_out_gpr + 10*8], r10
        mov [diff_out_gpr + 11*8], r11
        mov [diff_out_gpr + 12*8], r12
        mov [diff_out_gpr + 13*8], r13
        mov [diff_out_gpr + 14*8], r14
        mov [diff_out_gpr + 15*8], r15
        mov rsp, [host_rsp]
        pushfq
        pop qword [diff_out_gpr + 16*8]
        fxsave64 [diff_out_fx]
        cld
        pop r15
        pop r14
        pop r13
        pop r12
        pop rbp
        pop rbx
        ret

; void diff_host_fpu(void *fx512, int save): the runner's own x87/SSE state around each case.
        global diff_host_fpu
diff_host_fpu:
        test esi, esi
        jz .load
        fxsave64 [rdi]
        ret
.load:
        fxrstor64 [rdi]
        ret

        section .note.GNU-stack noalloc noexec nowrite progbits
