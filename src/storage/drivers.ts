/**
 * The format drivers this build knows. The registry probes them in this order; raw accepts
 * anything, so it must stay last.
 */
import type { FormatDriver } from './disk-image.js';
import { rawDriver } from './raw/driver.js';
import { vhdDriver } from './vhd/driver.js';
import { vhdxDriver } from './vhdx/driver.js';
import { vmdkDriver } from './vmdk/driver.js';
import { qcow2Driver } from './qcow2/driver.js';

export const DRIVERS: readonly FormatDriver[] = [vhdxDriver, qcow2Driver, vmdkDriver, vhdDriver, rawDriver];
