; Bare-metal CPU test guest: exceptions and interrupts in 32-bit protected mode.
; Every vector is raised on purpose and its handler checks the vector and error code; also #DF
; escalation, a ring-3 round trip through the TSS, the STI and MOV SS interrupt shadows and NMI.
; Debug-exit port 0xf4: 0 = passed, otherwise the failed check's number. Console: port 0xe9.
; Test interrupt source: with the engine's harness, out 0xe0 <- vector makes it pending and out 0xe1
; raises an NMI; assembled with -DPC (for `viridian run` on the PC platform) the local APIC does the
; same with a fixed self-IPI and an NMI IPI.

        org 0x8000
%define EXIT 0xf4
%define CON  0xe9

%ifdef PC
%macro TEST_INTERRUPT 1
        mov dword [0xfee000f0], 0x1ff           ; APIC software-enabled, spurious vector 0xff
        mov dword [0xfee00310], 0
        mov dword [0xfee00300], 0x40000 | %1    ; fixed, destination shorthand self
%endmacro
%macro TEST_INTERRUPT_DONE 0
        mov dword [0xfee000b0], 0               ; EOI
%endmacro
%macro TEST_NMI 0
        mov dword [0xfee00310], 0               ; APIC id 0
        mov dword [0xfee00300], 0x400           ; delivery mode NMI
%endmacro
%else
%macro TEST_INTERRUPT 1
        mov al, %1
        out 0xe0, al
%endmacro
%macro TEST_INTERRUPT_DONE 0
%endmacro
%macro TEST_NMI 0
        out 0xe1, al
%endmacro
%endif

%macro FAIL 1
        mov al, %1
        out EXIT, al
        hlt
%endmacro

; EXPECT check, vector, errorcode(-1 = none), resume-label: arm the common handler
%macro EXPECT 4
        mov dword [want_vec], %2
        mov dword [want_err], %3
        mov dword [check_no], %1
        mov dword [resume], %4
        mov dword [got_vec], -1
%endmacro
%macro VERIFY 0
        cmp dword [got_vec], -2
        je %%ok
        mov eax, [check_no]
        out EXIT, al
        hlt
%%ok:
%endmacro

        bits 16
%include "multiboot-real-mode.inc"
start:
        cli
        xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, 0x7000
        lgdt [gdt_desc]
        mov eax, cr0
        or eax, 1
        mov cr0, eax
        jmp 0x08:pm

        bits 32
pm:
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, 0x70000
        call build_idt
        lidt [idt_desc]
        ; TSS for ring 3 -> 0 transitions
        mov dword [tss + 4], 0x6f000            ; ESP0
        mov dword [tss + 8], 0x10               ; SS0
        mov eax, tss                            ; TSS base into its descriptor
        mov [gdt + 0x28 + 2], ax
        shr eax, 16
        mov [gdt + 0x28 + 4], al
        mov [gdt + 0x28 + 7], ah
        mov ax, 0x28
        ltr ax
        mov al, 'E'
        out CON, al

        ; 1: #DE on divide by zero, no error code
        EXPECT 1, 0, -1, .r1
        xor edx, edx
        mov eax, 5
        xor ecx, ecx
        div ecx
.r1:    VERIFY
        ; 2: #BP from INT3 (trap: handler sees the return address after it)
        EXPECT 2, 3, -1, .r2
        int3
.r2:    VERIFY
        ; 3: #OF from INTO with OF set
        EXPECT 3, 4, -1, .r3
        mov al, 0x7f
        add al, 1
        into
.r3:    VERIFY
        ; 4: #BR from BOUND out of range
        EXPECT 4, 5, -1, .r4
        mov eax, 50
        bound eax, [bounds]
.r4:    VERIFY
        ; 5: #UD from UD2
        EXPECT 5, 6, -1, .r5
        ud2
.r5:    VERIFY
        ; 6: #NP loading a not-present data segment (selector 0x30), error code = selector
        EXPECT 6, 11, 0x30, .r6
        mov ax, 0x30
        mov ds, ax
.r6:    mov ax, 0x10
        mov ds, ax
        VERIFY
        ; 7: #GP loading a selector beyond the GDT limit, error code = selector
        EXPECT 7, 13, 0xf8, .r7
        mov ax, 0xf8
        mov es, ax
.r7:    VERIFY
        ; 8: #SS(0): an SS-relative operand beyond a 64 KiB SS limit (ESP itself stays valid)
        EXPECT 8, 12, 0, .r8
        mov esp, 0xff00
        mov ax, 0x38
        mov ss, ax
        mov ebp, 0x20000
        mov eax, [ebp]
.r8:    mov ax, 0x10
        mov ss, ax
        mov esp, 0x70000
        VERIFY
        ; 9: #GP(0) writing to a read-only data segment (selector 0x40)
        EXPECT 9, 13, 0, .r9
        mov ax, 0x40
        mov es, ax
        mov dword [es:0x1000], 1
.r9:    mov ax, 0x10
        mov es, ax
        VERIFY
        ; 10: #DB single step: TF set by POPF traps after the next instruction
        EXPECT 10, 1, -1, .r10
        pushfd
        or dword [esp], 0x100
        popfd
        nop
.r10:   VERIFY
        ; 11: #DB from an instruction breakpoint in DR0
        EXPECT 11, 1, -1, .r11
        mov eax, .bp_here
        mov dr0, eax
        mov eax, 0x00000001                     ; L0, execute, length 1
        mov dr7, eax
.bp_here:
        nop
.r11:   xor eax, eax
        mov dr7, eax
        VERIFY
        mov eax, dr6
        test eax, 1                             ; B0
        jnz .ok11
        FAIL 11
.ok11:
        ; 12: #DB from a data write breakpoint (trap after the store)
        EXPECT 12, 1, -1, .r12
        mov eax, watched
        mov dr1, eax
        mov eax, 0x00d00004                     ; L1, write, 4 bytes
        mov dr7, eax
        mov dword [watched], 7
.r12:   xor eax, eax
        mov dr7, eax
        VERIFY
        ; 13: #DF: #GP while its handler's gate is not present -> #NP during delivery -> #DF(0)
        EXPECT 13, 8, 0, .r13
        and byte [idt + 13*8 + 5], 0x7f         ; mark the #GP gate not present
        mov ax, 0xf8
        mov es, ax
.r13:   or byte [idt + 13*8 + 5], 0x80
        mov ax, 0x10
        mov es, ax
        VERIFY
        ; 14: STI shadow: a pending interrupt arrives after the instruction following STI
        mov dword [shadow_seen], -1
        TEST_INTERRUPT 0x40                     ; pending, IF = 0
        xor ecx, ecx
        sti
        inc ecx                                 ; runs before the interrupt
        inc ecx
        inc ecx
        cli
        TEST_INTERRUPT_DONE
        cmp dword [shadow_seen], 1
        je .ok14
        FAIL 14
.ok14:
        ; 15: MOV SS shadow: the single-step trap is held until after the instruction following MOV SS
        EXPECT 15, 1, -1, .r15
        xor ecx, ecx
        pushfd
        or dword [esp], 0x100
        popfd                                   ; TF takes effect from the next instruction
        mov ss, [ss_sel]                        ; no trap here: MOV SS shadow
        inc ecx                                 ; the trap comes after this one
.after_inc:
        nop
.r15:   VERIFY
        cmp dword [got_eip], .after_inc
        je .ok15
        FAIL 15
.ok15:
        ; 16: NMI is delivered even with IF = 0
        mov dword [nmi_seen], 0
        cli
        TEST_NMI
        nop
        nop
        cmp dword [nmi_seen], 1
        je .ok16
        FAIL 16
.ok16:
        ; 17: ring 3 and back: IRET to CPL 3, INT 0x30 (DPL 3 gate) returns to ring 0 on ESP0
        mov dword [ring3_seen], 0
        push 0x23 | 3                           ; SS (user data, selector 0x20)
        push 0x50000                            ; ESP
        push 0x2                                ; EFLAGS
        push 0x18 | 3                           ; CS (user code, selector 0x18)
        push ring3
        iretd
back_from_ring3:
        cmp dword [ring3_seen], 3
        je .ok17
        FAIL 17
.ok17:
        ; 18: #GP(0x30*8+2) for INT 0x31 from ring 3 (gate DPL 0): handled in ring 0
        ; (covered by ring3 code below, which sets ring3_gp)
        cmp dword [ring3_gp], (0x31 * 8 + 2)
        je .ok18
        FAIL 18
.ok18:
        ; 19: #AC: misaligned access in ring 3 with CR0.AM and EFLAGS.AC
        mov eax, cr0
        or eax, 0x40000                         ; AM
        mov cr0, eax
        mov dword [ac_seen], 0
        push 0x23 | 3
        push 0x50000
        push 0x40002                            ; EFLAGS.AC
        push 0x18 | 3
        push ring3_ac
        iretd
back_from_ac:
        cmp dword [ac_seen], 1
        je .ok19
        FAIL 19
.ok19:
        mov al, 'K'
        out CON, al
        mov al, 0
        out EXIT, al
        hlt

ring3:
        ; CPL 3 now (IRET nulled DS/ES: they were DPL 0): load user data segments, read CS to
        ; confirm the privilege, then try a privileged gate, then the user gate
        mov ax, 0x23
        mov ds, ax
        mov es, ax
        mov eax, cs
        and eax, 3
        mov [ring3_seen], eax
        mov dword [ring3_gp], 0
        mov dword [want_vec], 13
        mov dword [want_err], 0x31 * 8 + 2
        mov dword [resume], ring3_after_gp
        mov dword [got_vec], -1
        int 0x31
ring3_after_gp:
        int 0x30
ring3_ac:
        mov ax, 0x23
        mov ds, ax
        mov eax, [0x1001]                       ; misaligned dword read -> #AC(0)
        int 0x30

build_idt:
        ; vectors 0-31 -> stub_n; 0x30 (DPL 3) -> from_user; 0x31 (DPL 0) -> from_user; 0x40 -> tick; 2 -> nmi
        xor ecx, ecx
.l:     mov eax, [stubs + ecx*4]
        mov [idt + ecx*8], ax
        mov word [idt + ecx*8 + 2], 0x08
        mov word [idt + ecx*8 + 4], 0x8e00
        shr eax, 16
        mov [idt + ecx*8 + 6], ax
        inc ecx
        cmp ecx, 32
        jb .l
        mov eax, nmi_handler
        mov [idt + 2*8], ax
        shr eax, 16
        mov [idt + 2*8 + 6], ax
        mov eax, from_user
        mov [idt + 0x30*8], ax
        mov word [idt + 0x30*8 + 2], 0x08
        mov word [idt + 0x30*8 + 4], 0xee00     ; DPL 3 interrupt gate
        shr eax, 16
        mov [idt + 0x30*8 + 6], ax
        mov eax, from_user
        mov [idt + 0x31*8], ax
        mov word [idt + 0x31*8 + 2], 0x08
        mov word [idt + 0x31*8 + 4], 0x8e00     ; DPL 0
        shr eax, 16
        mov [idt + 0x31*8 + 6], ax
        mov eax, tick
        mov [idt + 0x40*8], ax
        mov word [idt + 0x40*8 + 2], 0x08
        mov word [idt + 0x40*8 + 4], 0x8e00
        shr eax, 16
        mov [idt + 0x40*8 + 6], ax
        ret

; Stubs: push a dummy error code where the CPU pushes none, then the vector.
%macro STUB 1
stub_%1:
%if %1 = 8 || (%1 >= 10 && %1 <= 14) || %1 = 17
%else
        push -1
%endif
        push %1
        jmp exc_common
%endmacro
%assign v 0
%rep 32
        STUB v
%assign v v+1
%endrep
stubs:
%assign v 0
%rep 32
        dd stub_ %+ v
%assign v v+1
%endrep

exc_common:
        mov ax, 0x10                            ; handlers may come from ring 3 with user DS
        mov ds, ax
        ; [esp] = vector, [esp+4] = error code, [esp+8] = EIP, [esp+12] = CS, [esp+16] = EFLAGS
        mov eax, [esp]
        cmp eax, [want_vec]
        jne .bad
        mov eax, [esp + 4]
        cmp eax, [want_err]
        jne .bad
        mov dword [got_vec], -2
        mov eax, [esp + 8]
        mov [got_eip], eax
        cmp dword [want_vec], 17
        jne .notac
        mov dword [ac_seen], 1
        add esp, 8
        ; the #AC came from ring 3: continue in ring 0
        mov esp, 0x70000
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov eax, cr0
        and eax, ~0x40000
        mov cr0, eax
        jmp back_from_ac
.notac:
        mov eax, [resume]
        mov [esp + 8], eax
        and dword [esp + 16], ~0x100            ; clear TF in the returned flags
        add esp, 8
        iretd
.bad:
        mov eax, [check_no]
        or eax, 0x80
        out EXIT, al
        hlt

from_user:
        ; ring 3 used INT 0x30: discard the frame, continue in ring 0 (with ring-0 data segments:
        ; the IRET back to ring 3 after the #GP nulled the DPL-0 DS)
        mov ax, 0x10
        mov ds, ax
        cmp dword [got_vec], -2
        jne .nogp
        mov dword [ring3_gp], 0x31 * 8 + 2
.nogp:
        mov esp, 0x70000
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        cmp dword [ac_armed], 1
        je back_from_ac
        mov dword [ac_armed], 1
        mov dword [want_vec], 17
        mov dword [want_err], 0
        mov dword [check_no], 19
        jmp back_from_ring3

tick:
        mov [shadow_seen], ecx
        iretd

nmi_handler:
        mov dword [nmi_seen], 1
        iretd

        align 8
gdt:
        dq 0
        dq 0x00cf9a000000ffff                   ; 0x08 code32 DPL0
        dq 0x00cf92000000ffff                   ; 0x10 data DPL0
        dq 0x00cffa000000ffff                   ; 0x18 code32 DPL3
        dq 0x00cff2000000ffff                   ; 0x20 data DPL3
        dq 0x0000890000000067                   ; 0x28 TSS32 (base patched)
        dq 0x00cf12000000ffff                   ; 0x30 data, NOT present
        dq 0x004092000000ffff                   ; 0x38 data, 64 KiB limit (byte granular), 32-bit
        dq 0x00cf90000000ffff                   ; 0x40 data, read-only
gdt_end:
gdt_desc:
        dw gdt_end - gdt - 1
        dd gdt
idt_desc:
        dw 0x41*8 - 1
        dd idt
ss_sel:  dw 0x10
bounds:  dd 0, 10
        align 4
want_vec:    dd 0
want_err:    dd 0
got_vec:     dd 0
got_eip:     dd 0
check_no:    dd 0
resume:      dd 0
watched:     dd 0
shadow_seen: dd 0
nmi_seen:    dd 0
ring3_seen:  dd 0
ring3_gp:    dd 0
ac_seen:     dd 0
ac_armed:    dd 0
        align 16
tss:    times 104 db 0
        align 8
idt:    times 0x41*8 db 0
