/**
 * 32-bit code in compatibility mode against the host CPU: the 64-bit templates that are valid
 * 32-bit code, plus the instructions that only exist outside 64-bit mode (templates-compat.ts).
 * VIRIDIAN_DIFF_CASES cases per template, default 100.
 */
import { runArea } from './area.js';
import { compatTemplates } from './templates-compat.js';

runArea('compat', compatTemplates());
