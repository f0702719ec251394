/**
 * The operand-mix templates (mix.ts) against the host CPU: integer, MMX/SSE integer and SSE
 * floating point with special operands and every MXCSR mode. VIRIDIAN_DIFF_CASES cases each.
 */
import { runArea } from './area.js';
import { mixTemplates } from './templates-mix.js';

runArea('operand-mix', mixTemplates());
