/**
 * Integer instructions against the host CPU. Every template runs VIRIDIAN_DIFF_CASES cases
 * (default 100, see DEFAULT_CASES) natively and on the engine; one mismatch per template is reported.
 */
import { runArea } from './area.js';
import { integerTemplates } from './templates-integer.js';

runArea('integer', integerTemplates());
