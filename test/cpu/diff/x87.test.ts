/**
 * x87 instructions against the host CPU (VIRIDIAN_DIFF_CASES cases per template, default 100).
 * Transcendentals within 2^20 ulp of the 64-bit significand or 2^-45 absolute; everything else bit for bit.
 */
import { runArea } from './area.js';
import { x87Templates } from './templates-x87.js';

runArea('x87', x87Templates());
