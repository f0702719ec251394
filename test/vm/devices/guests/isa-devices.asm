; Boot-sector guest that checks the ISA devices against datasheet behaviour. It runs both under
; QEMU (SeaBIOS loads it at 0x7c00) and on Viridian's engine with src/vm/devices wired up, and
; reports through the debug-exit port: 0 when every check passed, else the failing check number.
bits 16
org 0x7c00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7000
    mov word [0x20*4], irq0
    mov word [0x20*4+2], 0
    mov word [ticks], 0

    ; PIC: ICW1-4 on both chips, vectors 0x20/0x28, everything masked
    mov al, 0x11
    out 0x20, al
    out 0xa0, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x28
    out 0xa1, al
    mov al, 4
    out 0x21, al
    mov al, 2
    out 0xa1, al
    mov al, 1
    out 0x21, al
    out 0xa1, al
    mov al, 0xff
    out 0x21, al
    out 0xa1, al
    mov bl, 1
    in al, 0x21
    cmp al, 0xff
    jne fail

    ; i8042 self-test answers 0x55
    mov bl, 2
    mov cx, 64
.flush:
    in al, 0x64
    test al, 1
    jz .flushed
    in al, 0x60
    loop .flush
.flushed:
    mov al, 0xaa
    out 0x64, al
    call kbd_wait
    in al, 0x60
    cmp al, 0x55
    jne fail

    ; RTC: register D valid bit, A = 0x26, B = 24-hour BCD
    mov bl, 3
    mov al, 0x0d
    out 0x70, al
    in al, 0x71
    cmp al, 0x80
    jne fail
    mov bl, 4
    mov al, 0x0a
    out 0x70, al
    in al, 0x71
    and al, 0x7f
    cmp al, 0x26
    jne fail
    mov bl, 5
    mov al, 0x0b
    out 0x70, al
    in al, 0x71
    cmp al, 0x02
    jne fail
    ; seconds are valid BCD once UIP is clear
    mov bl, 6
    mov ecx, 0x100000
.uip:
    mov al, 0x0a
    out 0x70, al
    in al, 0x71
    test al, 0x80
    jz .uipclear
    dec ecx
    jnz .uip
    jmp fail
.uipclear:
    xor al, al
    out 0x70, al
    in al, 0x71
    cmp al, 0x60
    jae fail
    and al, 0x0f
    cmp al, 9
    ja fail

    ; UART loopback as the Linux 8250 probe does it
    mov bl, 7
    mov dx, 0x3fc
    mov al, 0x1a
    out dx, al
    mov dx, 0x3fe
    in al, dx
    and al, 0xf0
    cmp al, 0x90
    jne fail
    mov bl, 8
    mov dx, 0x3fc
    mov al, 0x1f
    out dx, al
    mov dx, 0x3fe
    in al, dx
    and al, 0xf0
    cmp al, 0xf0
    jne fail
    mov bl, 9
    mov dx, 0x3f8
    mov al, 0x5a
    out dx, al
    mov dx, 0x3fd
    mov cx, 1000
.lsr:
    in al, dx
    test al, 1
    jnz .got
    loop .lsr
    jmp fail
.got:
    mov dx, 0x3f8
    in al, dx
    cmp al, 0x5a
    jne fail
    mov dx, 0x3fc
    xor al, al
    out dx, al
    ; scratch register
    mov bl, 10
    mov dx, 0x3ff
    mov al, 0xa5
    out dx, al
    in al, dx
    cmp al, 0xa5
    jne fail
    ; THRE interrupt identification: raised by enabling ETBEI, cleared by reading IIR
    mov bl, 11
    mov dx, 0x3f9
    xor al, al
    out dx, al
    mov dx, 0x3fa
    in al, dx
    and al, 0x0f
    cmp al, 1
    jne fail
    mov bl, 12
    mov dx, 0x3f9
    mov al, 2
    out dx, al
    mov dx, 0x3fa
    in al, dx
    and al, 0x0f
    cmp al, 2
    jne fail
    mov bl, 13
    in al, dx
    and al, 0x0f
    cmp al, 1
    jne fail
    mov dx, 0x3f9
    xor al, al
    out dx, al

    ; PIT channel 2, mode 0, 256 clocks, gate on, speaker off: read-back status, then OUT2 rises
    mov bl, 14
    in al, 0x61
    and al, 0xfc
    or al, 1
    out 0x61, al
    mov al, 0xb0
    out 0x43, al
    xor al, al
    out 0x42, al
    mov al, 1
    out 0x42, al
    mov al, 0xe8            ; read-back: status only, channel 2
    out 0x43, al
    in al, 0x42
    cmp al, 0x30            ; OUT low, LSB/MSB, mode 0, binary
    jne fail
    mov bl, 15
    in al, 0x61
    test al, 0x20
    jnz fail
    mov ecx, 0x1000000
.out2:
    in al, 0x61
    test al, 0x20
    jnz .out2high
    dec ecx
    jnz .out2
    jmp fail
.out2high:

    ; PIT channel 0, mode 2, 1193 clocks (1 ms): three IRQ0s through the PIC at vector 0x20
    mov bl, 16
    mov al, 0x34
    out 0x43, al
    mov al, 1193 & 0xff
    out 0x40, al
    mov al, 1193 >> 8
    out 0x40, al
    mov al, 0xfe
    out 0x21, al
    sti
    mov cx, 1000
.wait:
    cmp word [ticks], 3
    jae .ticked
    hlt
    loop .wait
    jmp fail
.ticked:
    cli
    mov bl, 17
    mov al, 0x0b
    out 0x20, al
    in al, 0x20
    test al, al             ; nothing left in service after the handler's EOIs
    jnz fail

    xor al, al
    out 0xf4, al
stop:
    hlt
    jmp stop

fail:
    mov al, bl
    out 0xf4, al
    jmp stop

kbd_wait:
    mov cx, 0xffff
.k:
    in al, 0x64
    test al, 1
    jnz .ok
    loop .k
    jmp fail
.ok:
    ret

irq0:
    push ax
    inc word [cs:ticks]
    mov al, 0x20
    out 0x20, al
    pop ax
    iret

ticks: dw 0

times 510 - ($ - $$) db 0
dw 0xaa55
