; Bare-metal hostile-driver guest for the virtio PCI transport (run with `viridian run --kernel`;
; it needs the PC platform's PCI devices, so it lives here rather than with the CPU-only guests
; of guests/baremetal, which the engine's minimal harness and `viridian selftest` run).
; It finds the virtio entropy device on PCI bus 0 (vendor 0x1AF4, device 0x1044), places its
; memory BAR itself (there is no firmware), negotiates VERSION_1 and RING_INDIRECT_DESC, and then
; posts malformed descriptor chains one at a time:
;   a descriptor loop, a buffer running past guest RAM, an available index jumping by more than
;   the queue size, and an indirect table holding another indirect descriptor.
; After each it checks that the device set DEVICE_NEEDS_RESET (status bit 0x40) and completed
; nothing, resets the device (status 0), sets it up again and checks that a well-formed request
; is then served (16 random bytes, used length 16); the last recovery uses an indirect table.
; Debug-exit port 0xf4: 0 = all passed, otherwise the number of the failed check. Progress lines
; go to COM1 (port 0x3f8), which `viridian run` prints. With "wait-power-button" on the Multiboot
; command line the guest, once every check passed, waits for the ACPI power button (PM1a_STS
; PWRBTN_STS at port 0x600) before it exits, so a test can show the host still answering.

        org 0x8000
%define EXIT    0xf4
%define COM1    0x3f8
%define PM1A_STS 0x600
%define PWRBTN_STS 0x100

%define BAR_BASE 0xc0000000                 ; first address of the 32-bit PCI window (decision 005)
%define QSIZE   16
%define DESC    0x100000                    ; descriptor table, 16 bytes an entry
%define AVAIL   0x101000                    ; flags, idx, ring[QSIZE], used_event
%define USED    0x102000                    ; flags, idx, ring[QSIZE] of {id, len}, avail_event
%define ITABLE  0x103000                    ; indirect tables
%define ITABLE2 0x103100
%define BUF     0x104000
%define RINGS_DWORDS (0x5000 / 4)

; common configuration registers (virtio 1.2, 4.1.4.3)
%define DEV_FEAT_SEL  0x00
%define DEV_FEAT      0x04
%define DRV_FEAT_SEL  0x08
%define DRV_FEAT      0x0c
%define STATUS        0x14
%define Q_SELECT      0x16
%define Q_SIZE        0x18
%define Q_MSIX        0x1a
%define Q_ENABLE      0x1c
%define Q_NOTIFY_OFF  0x1e
%define Q_DESC        0x20
%define Q_DRIVER      0x28
%define Q_DEVICE      0x30

%define S_ACK 1
%define S_DRIVER 2
%define S_DRIVER_OK 4
%define S_FEATURES_OK 8
%define S_NEEDS_RESET 0x40

%define D_NEXT 1
%define D_WRITE 2
%define D_INDIRECT 4

%macro FAIL 1
        mov al, %1
        out EXIT, al
        hlt
%endmacro

; CHECK_EQ check, operand, value: fail with `check` unless operand == value
%macro CHECK_EQ 3
        cmp %2, %3
        je %%ok
        FAIL %1
%%ok:
%endmacro

%macro SAY 1
        mov esi, %1
        call puts
%endmacro

; DESCR index, addr, len, flags, next: writes one descriptor of the main table
%macro DESCR 5
        mov dword [DESC + 16*%1], %2
        mov dword [DESC + 16*%1 + 4], 0
        mov dword [DESC + 16*%1 + 8], %3
        mov word [DESC + 16*%1 + 12], %4
        mov word [DESC + 16*%1 + 14], %5
%endmacro

; IDESCR table, entry, addr, len, flags, next: one entry of an indirect table
%macro IDESCR 6
        mov dword [%1 + 16*%2], %3
        mov dword [%1 + 16*%2 + 4], 0
        mov dword [%1 + 16*%2 + 8], %4
        mov word [%1 + 16*%2 + 12], %5
        mov word [%1 + 16*%2 + 14], %6
%endmacro

        bits 16
%include "../baremetal/multiboot-real-mode.inc"     ; the real-mode entry the bare-metal guests share
start:
        cli
        mov [cs:mbi], ebx                       ; the Multiboot information (0 when entered in real mode)
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7000
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
        SAY msg_hello

        ; ---- find the device: bus 0, devices 0..31, function 0 ----
        xor ebx, ebx
.scan:
        mov eax, ebx
        shl eax, 11
        or eax, 0x80000000
        mov [pci_addr], eax
        call pci_read
        cmp eax, 0x10441af4
        je .found
        inc ebx
        cmp ebx, 32
        jb .scan
        FAIL 1                                  ; no virtio entropy device
.found:
        SAY msg_found

        ; ---- the vendor capabilities: where common configuration and notifications are ----
        mov eax, [pci_addr]
        or eax, 0x34
        call pci_read
        and eax, 0xfc
        mov edi, eax                            ; edi = capability offset
        mov dword [common_cfg], 0
        mov dword [notify_base], 0
.cap:
        test edi, edi
        jz .caps_done
        mov eax, [pci_addr]
        or eax, edi
        call pci_read
        mov ecx, eax                            ; id, next, len, cfg_type
        cmp cl, 0x09
        jne .cap_next
        mov eax, [pci_addr]
        lea eax, [eax + edi + 4]
        call pci_read
        CHECK_EQ 2, al, 0                       ; every structure is in BAR 0
        mov eax, [pci_addr]
        lea eax, [eax + edi + 8]
        call pci_read
        add eax, BAR_BASE                       ; structure address once the BAR is placed
        mov edx, ecx
        shr edx, 24
        cmp dl, 1
        jne .not_common
        mov [common_cfg], eax
        jmp .cap_next
.not_common:
        cmp dl, 2
        jne .cap_next
        mov [notify_base], eax
        mov eax, [pci_addr]
        lea eax, [eax + edi + 16]
        call pci_read
        mov [notify_mult], eax
.cap_next:
        shr ecx, 8
        movzx edi, cl
        and edi, 0xfc
        jmp .cap
.caps_done:
        cmp dword [common_cfg], 0
        jne .have_common
        FAIL 3                                  ; no common configuration capability
.have_common:
        cmp dword [notify_base], 0
        jne .caps_ok
        FAIL 4                                  ; no notification capability
.caps_ok:

        ; ---- place the 64-bit memory BAR and turn on memory decoding and bus mastering ----
        mov eax, [pci_addr]
        or eax, 0x10
        mov ecx, BAR_BASE
        call pci_write
        mov eax, [pci_addr]
        or eax, 0x14
        xor ecx, ecx
        call pci_write
        mov eax, [pci_addr]
        or eax, 0x04
        mov ecx, 0x0006
        call pci_write

        ; ---- a well-formed request first ----
        call setup
        call good_request
        SAY msg_baseline

        ; ---- 1. a descriptor loop: 0 -> 1 -> 0 ----
        DESCR 0, BUF, 16, D_WRITE | D_NEXT, 1
        DESCR 1, BUF + 16, 16, D_WRITE | D_NEXT, 0
        xor eax, eax
        call post
        mov bl, 20
        call expect_refused
        SAY msg_loop
        call setup
        call good_request

        ; ---- 2. a buffer from 2 MiB running 3.75 GiB on: past RAM and through the MMIO hole ----
        DESCR 0, 0x200000, 0xf0000000, D_WRITE, 0
        xor eax, eax
        call post
        mov bl, 30
        call expect_refused
        SAY msg_ram
        call setup
        call good_request

        ; ---- 3. the available index jumps QSIZE + 1 entries ahead ----
        DESCR 0, BUF, 16, D_WRITE, 0
        movzx ecx, word [avail_idx]
        mov edx, ecx
        and edx, QSIZE - 1
        mov word [AVAIL + 4 + 2*edx], 0
        add ecx, QSIZE + 1                          ; one past what a full ring can hold
        mov [AVAIL + 2], cx
        call kick
        mov bl, 40
        call expect_refused
        SAY msg_jump
        call setup
        call good_request

        ; ---- 4. an indirect table whose entry is itself indirect ----
        IDESCR ITABLE2, 0, BUF, 16, D_WRITE, 0
        IDESCR ITABLE, 0, ITABLE2, 16, D_INDIRECT, 0
        DESCR 0, ITABLE, 16, D_INDIRECT, 0
        xor eax, eax
        call post
        mov bl, 50
        call expect_refused
        SAY msg_nested
        call setup

        ; ---- recovery through a well-formed indirect table: two 8-byte buffers ----
        IDESCR ITABLE, 0, BUF, 8, D_WRITE | D_NEXT, 1
        IDESCR ITABLE, 1, BUF + 8, 8, D_WRITE, 0
        DESCR 0, ITABLE, 32, D_INDIRECT, 0
        mov bl, 60
        call request_checked
        SAY msg_indirect

        SAY msg_done
        call wants_power_button
        jnz .exit
        SAY msg_waiting
        mov dx, PM1A_STS
.poll:
        pause
        in ax, dx
        test ax, PWRBTN_STS
        jz .poll
        mov ax, PWRBTN_STS
        out dx, ax                              ; acknowledge (write 1 to clear)
        SAY msg_button
.exit:
        mov al, 0
        out EXIT, al
        hlt

; ---- ZF set when the Multiboot command line holds "wait-power-button" ----
wants_power_button:
        mov ebx, [mbi]
        test ebx, ebx
        jz .no
        test dword [ebx], 4                         ; flags: cmdline present
        jz .no
        mov esi, [ebx + 16]
.try:
        cmp byte [esi], 0
        je .no
        mov edi, word_power
        mov ecx, esi
.cmp:
        mov al, [edi]
        test al, al
        jz .yes
        cmp al, [ecx]
        jne .next
        inc edi
        inc ecx
        jmp .cmp
.next:
        inc esi
        jmp .try
.yes:
        xor eax, eax                                ; ZF = 1
        ret
.no:
        or eax, 1                                   ; ZF = 0
        ret

; ---- PCI configuration mechanism #1: eax = address; pci_read returns eax, pci_write writes ecx ----
pci_read:
        mov dx, 0xcf8
        out dx, eax
        mov dx, 0xcfc
        in eax, dx
        ret
pci_write:
        mov dx, 0xcf8
        out dx, eax
        mov dx, 0xcfc
        mov eax, ecx
        out dx, eax
        ret

; ---- reset and set up the device with an empty queue 0 of QSIZE entries ----
setup:
        mov ebx, [common_cfg]
        mov byte [ebx + STATUS], 0
        mov al, [ebx + STATUS]
        CHECK_EQ 5, al, 0                           ; reset is immediate and clears NEEDS_RESET
        mov byte [ebx + STATUS], S_ACK
        mov byte [ebx + STATUS], S_ACK | S_DRIVER
        mov dword [ebx + DEV_FEAT_SEL], 1
        mov eax, [ebx + DEV_FEAT]
        test eax, 1                                 ; VIRTIO_F_VERSION_1 (bit 32)
        jnz .v1
        FAIL 6
.v1:
        mov dword [ebx + DEV_FEAT_SEL], 0
        mov eax, [ebx + DEV_FEAT]
        test eax, 1 << 28                           ; VIRTIO_F_RING_INDIRECT_DESC
        jnz .ind
        FAIL 7
.ind:
        mov dword [ebx + DRV_FEAT_SEL], 0
        mov dword [ebx + DRV_FEAT], 1 << 28
        mov dword [ebx + DRV_FEAT_SEL], 1
        mov dword [ebx + DRV_FEAT], 1
        mov byte [ebx + STATUS], S_ACK | S_DRIVER | S_FEATURES_OK
        mov al, [ebx + STATUS]
        CHECK_EQ 8, al, S_ACK | S_DRIVER | S_FEATURES_OK
        ; fresh rings
        mov edi, DESC
        mov ecx, RINGS_DWORDS
        xor eax, eax
        rep stosd
        mov word [ebx + Q_SELECT], 0
        mov word [ebx + Q_SIZE], QSIZE
        mov word [ebx + Q_MSIX], 0xffff             ; no MSI-X vector: the guest polls
        mov dword [ebx + Q_DESC], DESC
        mov dword [ebx + Q_DESC + 4], 0
        mov dword [ebx + Q_DRIVER], AVAIL
        mov dword [ebx + Q_DRIVER + 4], 0
        mov dword [ebx + Q_DEVICE], USED
        mov dword [ebx + Q_DEVICE + 4], 0
        mov word [ebx + Q_ENABLE], 1
        mov byte [ebx + STATUS], S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK
        mov al, [ebx + STATUS]
        CHECK_EQ 9, al, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK
        movzx eax, word [ebx + Q_NOTIFY_OFF]
        imul eax, [notify_mult]
        add eax, [notify_base]
        mov [notify_addr], eax
        mov word [avail_idx], 0
        mov word [used_idx], 0
        ret

; ---- make descriptor ax available and notify ----
post:
        movzx ecx, word [avail_idx]
        mov edx, ecx
        and edx, QSIZE - 1
        mov [AVAIL + 4 + 2*edx], ax
        inc ecx
        mov [avail_idx], cx
        mov [AVAIL + 2], cx
kick:
        mov eax, [notify_addr]
        mov word [eax], 0                           ; queue 0
        ret

; ---- bl = check number: the device must be in DEVICE_NEEDS_RESET with nothing completed ----
expect_refused:
        mov edx, [common_cfg]
        mov al, [edx + STATUS]
        test al, S_NEEDS_RESET
        jnz .set
        mov al, bl
        out EXIT, al
        hlt
.set:
        mov ax, [USED + 2]
        cmp ax, [used_idx]
        je .none
        mov al, bl
        inc al
        out EXIT, al
        hlt
.none:
        ret

; ---- one request on descriptor 0 (already written) must complete with 16 random bytes; bl = check ----
request_checked:
        xor eax, eax
        mov [BUF], eax
        mov [BUF + 4], eax
        mov [BUF + 8], eax
        mov [BUF + 12], eax
        call post
        ; the device serves a kick before the notify write returns
        mov ax, [used_idx]
        inc ax
        mov [used_idx], ax
        cmp ax, [USED + 2]
        je .completed
        mov al, bl
        out EXIT, al
        hlt
.completed:
        movzx edx, ax
        dec edx
        and edx, QSIZE - 1
        cmp dword [USED + 4 + 8*edx], 0             ; id: descriptor 0
        je .id_ok
        mov al, bl
        add al, 1
        out EXIT, al
        hlt
.id_ok:
        cmp dword [USED + 4 + 8*edx + 4], 16        ; len: all 16 bytes written
        je .len_ok
        mov al, bl
        add al, 2
        out EXIT, al
        hlt
.len_ok:
        mov eax, [BUF]
        or eax, [BUF + 4]
        or eax, [BUF + 8]
        or eax, [BUF + 12]
        jnz .random
        mov al, bl
        add al, 3
        out EXIT, al
        hlt
.random:
        mov edx, [common_cfg]
        test byte [edx + STATUS], S_NEEDS_RESET
        jz .healthy
        mov al, bl
        add al, 4
        out EXIT, al
        hlt
.healthy:
        ret

good_request:
        DESCR 0, BUF, 16, D_WRITE, 0
        mov bl, 10
        jmp request_checked

; ---- esi = NUL-terminated string to COM1 (the UART transmits at once; no waiting needed) ----
puts:
        mov dx, COM1
.next:
        lodsb
        test al, al
        jz .end
        out dx, al
        jmp .next
.end:
        ret

msg_hello:    db "virtio-hostile: start", 10, 0
msg_found:    db "virtio-hostile: found virtio-rng", 10, 0
msg_baseline: db "virtio-hostile: a well-formed request is served", 10, 0
msg_loop:     db "virtio-hostile: descriptor loop refused; served again after reset", 10, 0
msg_ram:      db "virtio-hostile: buffer past RAM refused; served again after reset", 10, 0
msg_jump:     db "virtio-hostile: available index jump refused; served again after reset", 10, 0
msg_nested:   db "virtio-hostile: nested indirect table refused", 10, 0
msg_indirect: db "virtio-hostile: a well-formed indirect chain is served after reset", 10, 0
msg_done:     db "virtio-hostile: all checks passed", 10, 0
msg_waiting:  db "virtio-hostile: waiting for the power button", 10, 0
msg_button:   db "virtio-hostile: power button pressed", 10, 0
word_power:   db "wait-power-button", 0

        align 4
mbi:         dd 0
pci_addr:    dd 0
common_cfg:  dd 0
notify_base: dd 0
notify_mult: dd 0
notify_addr: dd 0
avail_idx:   dw 0
used_idx:    dw 0

        align 8
gdt:
        dq 0
        dq 0x00cf9a000000ffff                       ; 0x08 code32
        dq 0x00cf92000000ffff                       ; 0x10 data
gdt_end:
gdt_desc:
        dw gdt_end - gdt - 1
        dd gdt
