; Platform test guest for `viridian run`: a Multiboot v1 kernel (a.out-kludge header) that does
; what the first character of its command line says, so one image drives every exit path:
;   e  write 0x2a to the debug-exit port 0xf4           (run exits with (0x2a << 1) | 1 = 85)
;   p  ACPI S5: SLP_TYP 5 | SLP_EN into PM1a_CNT (0x604) (exits 0)
;   c  reset through port 0xCF9                          (restart, or 4 with --no-reboot)
;   k  reset through the i8042 (0xFE to port 0x64)
;   a  reset through the ACPI reset register (0x60C <- 6)
;   t  triple fault (empty IDT, then INT3)
;   s  echo COM1 input back until 'q', then exit with 0x2a
;   b  wait for the ACPI power button (PWRBTN_STS in PM1a_STS, polled), then S5
; Every path first prints "actions:" and the command line on COM1.

        bits 32
        org 0x100000
MB_MAGIC equ 0x1BADB002
MB_FLAGS equ 0x00010000
COM1     equ 0x3f8

header:
        dd MB_MAGIC
        dd MB_FLAGS
        dd -(MB_MAGIC + MB_FLAGS)
        dd header               ; header_addr
        dd header               ; load_addr
        dd 0                    ; load_end_addr: the whole file
        dd bss_end              ; bss_end_addr
        dd entry                ; entry_addr

entry:
        mov esp, stack_top
        mov esi, banner
        call puts
        mov esi, [ebx + 16]     ; Multiboot info: cmdline (flags bit 2 is always set by our loader)
        push esi
        call puts
        mov al, 10
        call putc
        pop esi
        mov al, [esi]
        cmp al, 'e'
        je do_exit
        cmp al, 'p'
        je do_poweroff
        cmp al, 'c'
        je do_cf9
        cmp al, 'k'
        je do_kbc
        cmp al, 'a'
        je do_acpi_reset
        cmp al, 't'
        je do_triple
        cmp al, 's'
        je do_echo
        cmp al, 'b'
        je do_button
        mov al, 0x7f            ; unknown action
        out 0xf4, al
        jmp halt

do_exit:
        mov al, 0x2a
        out 0xf4, al
        jmp halt
do_poweroff:
        mov dx, 0x604
        mov ax, (5 << 10) | (1 << 13)
        out dx, ax
        jmp halt
do_cf9:
        mov dx, 0xcf9
        mov al, 0x06
        out dx, al
        jmp halt
do_kbc:
        mov al, 0xfe
        out 0x64, al
        jmp halt
do_acpi_reset:
        mov dx, 0x60c
        mov al, 6
        out dx, al
        jmp halt
do_triple:
        lidt [empty_idt]
        int3
        jmp halt
do_echo:
        mov dx, COM1 + 5
.wait:  in al, dx
        test al, 1              ; LSR.DR
        jz .wait
        mov dx, COM1
        in al, dx
        cmp al, 'q'
        je do_exit
        call putc
        mov dx, COM1 + 5
        jmp .wait

do_button:
        mov dx, 0x600           ; PM1a_STS
.poll:  in ax, dx
        test ax, 1 << 8         ; PWRBTN_STS
        jz .poll
        out dx, ax              ; write-1-to-clear, as an OSPM does
        jmp do_poweroff

halt:   hlt
        jmp halt

; putc: AL to COM1 once the transmitter holding register is empty
putc:
        push edx
        push eax
        mov dx, COM1 + 5
.busy:  in al, dx
        test al, 0x20
        jz .busy
        pop eax
        mov dx, COM1
        out dx, al
        pop edx
        ret

; puts: NUL-terminated string at ESI
puts:
        lodsb
        test al, al
        jz .done
        call putc
        jmp puts
.done:  ret

banner: db "actions: ", 0
empty_idt:
        dw 0
        dd 0

        section .bss align=16
        resb 4096
stack_top:
bss_end:
