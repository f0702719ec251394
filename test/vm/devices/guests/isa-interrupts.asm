; Boot-sector guest for interrupt wiring: RTC periodic interrupt through the slave PIC (IRQ8,
; cascade on IR2), PIC poll mode and specific EOI with the PIT, and the i8042 raising IRQ1.
; Debug-exit status: 0 when all checks passed, else the failing check number.
bits 16
org 0x7c00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    mov word [0x28*4], irq8
    mov word [0x28*4+2], 0
    mov word [count], 0
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

    ; RTC periodic interrupt (1024 Hz) via IRQ8 → slave IR0 → master IR2, vector 0x28
    mov bl, 1
    mov al, 0x0c
    out 0x70, al
    in al, 0x71             ; clear stale flags
    mov al, 0x0b
    out 0x70, al
    mov al, 0x42            ; PIE, 24-hour, BCD
    out 0x71, al
    mov al, 0xfb
    out 0x21, al
    mov al, 0xfe
    out 0xa1, al
    sti
    mov cx, 1000
.wait:
    cmp word [count], 2
    jae .done
    hlt
    loop .wait
    jmp fail
.done:
    cli
    mov bl, 2
    cmp byte [regc], 0xc0   ; IRQF and PF
    jne fail
    mov al, 0x0b
    out 0x70, al
    mov al, 0x02
    out 0x71, al
    mov al, 0x0c
    out 0x70, al
    in al, 0x71
    mov al, 0xff
    out 0x21, al
    out 0xa1, al

    ; PIT IRQ0 seen in IRR while masked, then taken by poll: 0x80 | 0, in service until specific EOI
    mov bl, 3
    mov al, 0x34
    out 0x43, al
    mov al, 100
    out 0x40, al
    xor al, al
    out 0x40, al
    mov al, 0x0a
    out 0x20, al
    mov ecx, 0x1000000
.irr:
    in al, 0x20
    test al, 1
    jnz .pending
    dec ecx
    jnz .irr
    jmp fail
.pending:
    mov bl, 4
    mov al, 0xfe
    out 0x21, al            ; unmasked, but IF is clear: poll instead
    mov al, 0x0c
    out 0x20, al
    in al, 0x20
    cmp al, 0x80
    jne fail
    mov bl, 5
    mov al, 0x0b
    out 0x20, al
    in al, 0x20
    cmp al, 1
    jne fail
    mov bl, 6
    mov al, 0x60            ; specific EOI, level 0
    out 0x20, al
    in al, 0x20
    test al, al
    jne fail
    mov al, 0xff
    out 0x21, al
    mov al, 0x30            ; stop the PIT in mode 0 with a long count
    out 0x43, al

    ; i8042: with the keyboard interrupt enabled, a self-test reply raises IRQ1
    mov bl, 7
    mov cx, 64
.flush:
    in al, 0x64
    test al, 1
    jz .flushed
    in al, 0x60
    loop .flush
.flushed:
    mov al, 0x60
    out 0x64, al
    mov al, 0x41            ; keyboard interrupt, translation
    out 0x60, al
    mov al, 0x11            ; re-initialise the master to clear IRR
    out 0x20, al
    mov al, 0x20
    out 0x21, al
    mov al, 4
    out 0x21, al
    mov al, 1
    out 0x21, al
    mov al, 0xff
    out 0x21, al
    mov al, 0xaa
    out 0x64, al
    mov cx, 0xffff
.obf:
    in al, 0x64
    test al, 1
    jnz .full
    loop .obf
    jmp fail
.full:
    mov al, 0x0a
    out 0x20, al
    in al, 0x20
    test al, 2
    jz fail
    mov bl, 8
    in al, 0x60
    cmp al, 0x55
    jne fail

    xor al, al
    out 0xf4, al
stop:
    hlt
    jmp stop

fail:
    mov al, bl
    out 0xf4, al
    jmp stop

irq8:
    push ax
    mov al, 0x0c
    out 0x70, al
    in al, 0x71
    mov [cs:regc], al
    mov al, 0x20
    out 0xa0, al
    out 0x20, al
    inc word [cs:count]
    pop ax
    iret

count: dw 0
regc: db 0

times 510 - ($ - $$) db 0
dw 0xaa55
