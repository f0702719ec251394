; Native side of the host-CPU oracle: runs one instruction snippet with all general registers and
; RFLAGS loaded from a record, then stores them back. Assembled with nasm -f elf64 at test time and
; linked with runner.c. RSP is the host's own stack and is neither loaded nor compared.
        bits 64
        default rel
        global run_case
        section .bss
saved_rsp: resq 1
out_ptr:   resq 1
code_ptr:  resq 1
fxout_ptr: resq 1
        section .text
; void run_case(const uint64_t in[17], uint64_t out[17], void *code, const void *fxin, void *fxout)
; fxin/fxout are 16-byte aligned 512-byte FXSAVE64 images (x87, MXCSR, XMM0-15).
run_case:
        push rbx
        push rbp
        push r12
        push r13
        push r14
        push r15
        mov [saved_rsp], rsp
        mov [out_ptr], rsi
        mov [code_ptr], rdx
        mov [fxout_ptr], r8
        fxrstor64 [rcx]
        push qword [rdi + 16*8]
        popfq
        mov rax, [rdi + 0*8]
        mov rcx, [rdi + 1*8]
        mov rdx, [rdi + 2*8]
        mov rbx, [rdi + 3*8]
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
        jmp [code_ptr]
        global snippet_return
snippet_return:
        pushfq
        push rax
        push 0x202                      ; clear TF/AC/DF the snippet may have set before C code runs
        popfq
        mov rax, [out_ptr]
        pop qword [rax + 0*8]
        pop qword [rax + 16*8]
        mov [rax + 1*8], rcx
        mov [rax + 2*8], rdx
        mov [rax + 3*8], rbx
        mov [rax + 5*8], rbp
        mov [rax + 6*8], rsi
        mov [rax + 7*8], rdi
        mov [rax + 8*8], r8
        mov [rax + 9*8], r9
        mov [rax + 10*8], r10
        mov [rax + 11*8], r11
        mov [rax + 12*8], r12
        mov [rax + 13*8], r13
        mov [rax + 14*8], r14
        mov [rax + 15*8], r15
        mov rax, [fxout_ptr]
        fxsave64 [rax]
        mov rsp, [saved_rsp]
        pop r15
        pop r14
        pop r13
        pop r12
        pop rbp
        pop rbx
        ret
        section .note.GNU-stack noalloc noexec nowrite progbits
