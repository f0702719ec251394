; randread DEVICE COUNT: COUNT reads of 4 KiB at pseudo-random 4 KiB-aligned offsets of DEVICE,
; opened with O_DIRECT so each one reaches the virtual disk (queue depth 1). For bench/io, where
; busybox has no random-read tool and a dd per read would time fork and exec, not the disk.
; Static x86-64 Linux, no libc: nasm -f elf64, then ld -static. Exit status 0 when every read
; returned 4096 bytes, 1 on an I/O error, 2 on bad arguments.
BITS 64
default rel

%define SYS_pread64 17
%define SYS_open 2
%define SYS_lseek 8
%define SYS_exit 60
%define O_DIRECT 0x4000
%define SEEK_END 2
%define BLOCK 4096

section .bss align=4096
buffer: resb BLOCK

section .text
global _start
_start:
    cmp qword [rsp], 3              ; argc
    jne usage
    mov r12, [rsp + 24]             ; argv[2]: COUNT in decimal
    xor r13, r13
.digit:
    movzx eax, byte [r12]
    test eax, eax
    jz .parsed
    sub eax, '0'
    cmp eax, 9
    ja usage
    imul r13, r13, 10
    add r13, rax
    inc r12
    jmp .digit
.parsed:
    mov rdi, [rsp + 16]             ; argv[1]: DEVICE
    mov eax, SYS_open
    mov esi, O_DIRECT               ; | O_RDONLY (0)
    xor edx, edx
    syscall
    test rax, rax
    js io_error
    mov r14, rax                    ; fd
    mov eax, SYS_lseek              ; the device's size in bytes
    mov rdi, r14
    xor esi, esi
    mov edx, SEEK_END
    syscall
    shr rax, 12                     ; whole blocks (also turns an error into a huge, rejected count)
    test rax, rax
    jz io_error
    mov r15, rax
    mov rbx, 0x9E3779B97F4A7C15     ; xorshift64 state: fixed, so every run reads the same offsets
.next:
    test r13, r13
    jz done
    mov rax, rbx
    shl rax, 13
    xor rbx, rax
    mov rax, rbx
    shr rax, 7
    xor rbx, rax
    mov rax, rbx
    shl rax, 17
    xor rbx, rax
    mov rax, rbx
    xor edx, edx
    div r15                         ; rdx = block number
    shl rdx, 12
    mov r10, rdx                    ; byte offset
    mov eax, SYS_pread64
    mov rdi, r14
    lea rsi, [buffer]
    mov edx, BLOCK
    syscall
    cmp rax, BLOCK
    jne io_error
    dec r13
    jmp .next
done:
    xor edi, edi
    jmp exit
io_error:
    mov edi, 1
    jmp exit
usage:
    mov edi, 2
exit:
    mov eax, SYS_exit
    syscall
