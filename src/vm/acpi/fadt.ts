/**
 * Fixed ACPI Description Table, revision 6 (ACPI 6.3, 5.2.9), 276 bytes: where the fixed hardware
 * is, how the OS resets the machine, which legacy devices exist, and where the DSDT and FACS are.
 *
 * The register blocks are those of src/vm/devices/acpi-pm.ts. SMI_CMD is 0: that device starts with
 * SCI_EN set and there is no SMI handler, so the OS finds the machine already in ACPI mode.
 */
import type { AcpiConfig } from './acpi-config.js';
import { systemDescriptionTable } from './sdt.js';
import { TableWriter } from './table-writer.js';

/** Offsets in the PM block (the layout documented at the top of acpi-pm.ts, QEMU's ICH9 one). */
export const PM1_EVT_OFFSET = 0x00, PM1_CNT_OFFSET = 0x04, PM_TMR_OFFSET = 0x08, RESET_REG_OFFSET = 0x0c, GPE0_OFFSET = 0x20;
export const PM1_EVT_LEN = 4, PM1_CNT_LEN = 2, PM_TMR_LEN = 4, GPE0_LEN = 8;

export const FADT_REVISION = 6;
export const FADT_MINOR_REVISION = 3;
export const FADT_LENGTH = 276;

/** Fixed feature flags (5.2.9). */
export const FADT_WBINVD = 1 << 0, FADT_PROC_C1 = 1 << 2, FADT_PWR_BUTTON = 1 << 4, FADT_SLP_BUTTON = 1 << 5;
export const FADT_TMR_VAL_EXT = 1 << 8, FADT_RESET_REG_SUP = 1 << 10;
/** IA-PC boot architecture flags (5.2.9.3). */
export const BOOT_LEGACY_DEVICES = 1 << 0, BOOT_8042 = 1 << 1;

/** C2/C3 latencies above 100/1000 µs mean "not supported": the VM idles with HLT (C1) only. */
const NO_C2 = 0x0fff, NO_C3 = 0x0fff;

export function buildFadt(config: AcpiConfig, facsAddress: number, dsdtAddress: number): Uint8Array {
  const pm = config.pm.base;
  // A fixed-feature power button (PWR_BUTTON clear, the device's PWRBTN_STS); no sleep button.
  const flags = FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_RESET_REG_SUP | (config.pm.timer32 ? FADT_TMR_VAL_EXT : 0);
  const w = new TableWriter()
    .u32(0) // FIRMWARE_CTRL: must be zero when X_FIRMWARE_CTRL is set
    .u32(dsdtAddress, 'DSDT address')
    .u8(0) // reserved (ACPI 1.0 INT_MODEL)
    .u8(0) // Preferred_PM_Profile: unspecified
    .u16(config.sciIrq, 'SCI_INT')
    .u32(0) // SMI_CMD
    .u8(0).u8(0) // ACPI_ENABLE, ACPI_DISABLE
    .u8(0) // S4BIOS_REQ
    .u8(0) // PSTATE_CNT
    .u32(pm + PM1_EVT_OFFSET).u32(0) // PM1a_EVT_BLK, PM1b_EVT_BLK
    .u32(pm + PM1_CNT_OFFSET).u32(0) // PM1a_CNT_BLK, PM1b_CNT_BLK
    .u32(0) // PM2_CNT_BLK
    .u32(pm + PM_TMR_OFFSET)
    .u32(pm + GPE0_OFFSET).u32(0) // GPE0_BLK, GPE1_BLK
    .u8(PM1_EVT_LEN).u8(PM1_CNT_LEN).u8(0).u8(PM_TMR_LEN).u8(GPE0_LEN).u8(0) // ..., GPE1_BLK_LEN
    .u8(0) // GPE1_BASE
    .u8(0) // CST_CNT: no _CST notification
    .u16(NO_C2).u16(NO_C3)
    .u16(0).u16(0) // FLUSH_SIZE, FLUSH_STRIDE (WBINVD works)
    .u8(0).u8(0) // DUTY_OFFSET, DUTY_WIDTH
    .u8(0).u8(0) // DAY_ALRM, MON_ALRM: the RTC has no day/month alarm
    .u8(config.rtcCenturyIndex, 'CENTURY')
    .u16(BOOT_LEGACY_DEVICES | BOOT_8042)
    .u8(0)
    .u32(flags)
    .gas('io', 8, pm + RESET_REG_OFFSET) // RESET_REG
    .u8(config.pm.resetValue, 'RESET_VALUE')
    .u16(0) // ARM_BOOT_ARCH
    .u8(FADT_MINOR_REVISION)
    .u64(facsAddress, 'X_FIRMWARE_CTRL')
    .u64(dsdtAddress, 'X_DSDT')
    .gas('io', PM1_EVT_LEN * 8, pm + PM1_EVT_OFFSET).noGas() // X_PM1a_EVT_BLK, X_PM1b_EVT_BLK
    .gas('io', PM1_CNT_LEN * 8, pm + PM1_CNT_OFFSET).noGas() // X_PM1a_CNT_BLK, X_PM1b_CNT_BLK
    .noGas() // X_PM2_CNT_BLK
    .gas('io', PM_TMR_LEN * 8, pm + PM_TMR_OFFSET)
    .gas('io', GPE0_LEN * 8, pm + GPE0_OFFSET).noGas() // X_GPE0_BLK, X_GPE1_BLK
    .noGas().noGas() // SLEEP_CONTROL_REG, SLEEP_STATUS_REG: only for hardware-reduced ACPI
    .ascii('VIRIDIAN', 8); // hypervisor vendor identity
  const table = systemDescriptionTable('FACP', FADT_REVISION, w.finish());
  if (table.length !== FADT_LENGTH) throw new Error(`FADT is ${table.length} bytes, not ${FADT_LENGTH}`);
  return table;
}
