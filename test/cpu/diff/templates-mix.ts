/** The operand-mix sets (mix.ts) as diff templates, with unique names. */
import { fromMix, type MixTemplate } from './mix.js';
import { floatMix } from './mix-float.js';
import { integerMix } from './mix-integer.js';
import { sseMix } from './mix-sse.js';
import { sseExtMix } from './mix-sse-ext.js';
import { x87Mix } from './mix-x87.js';
import type { Area, Template } from './template.js';

export function mixTemplates(): Template[] {
  const seen = new Map<string, number>();
  const out: Template[] = [];
  const addAll = (ts: MixTemplate[], area: Area): void => {
    for (const t of ts) {
      const n = (seen.get(t.asm) ?? 0) + 1;
      seen.set(t.asm, n);
      out.push(fromMix(t, area, n > 1 ? ` ${n}` : ''));
    }
  };
  addAll(integerMix(), 'integer');
  addAll(sseMix(), 'sse');
  addAll(floatMix(), 'sse');
  addAll(sseExtMix(), 'sse');
  addAll(x87Mix(), 'x87');
  return out;
}
