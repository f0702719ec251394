/**
 * MMX and SSE through SSE4.2 against the host CPU (VIRIDIAN_DIFF_CASES cases per template, default
 * 100). Bit for bit, except RCPPS/RSQRTPS/RCPSS/RSQRTSS, whose results are documented
 * approximations (each within 1.5 * 2^-12 of the true value; compared within 3 * 2^-12).
 */
import { runArea } from './area.js';
import { sseTemplates } from './templates-sse.js';

runArea('sse', sseTemplates());
