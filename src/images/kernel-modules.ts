/**
 * Kernel module metadata read straight from the .ko ELF files: the `.modinfo` section's
 * `depends=` and `name=` fields. Debian's kernel package ships no modules.dep (depmod builds it at
 * install time), so the initramfs builder computes the dependency closure from these fields.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface ModuleInfo { name: string; path: string; depends: string[] }

function modinfoSection(file: string, elf: Uint8Array): string {
  const dv = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  if (elf[0] !== 0x7f || elf[1] !== 0x45 || elf[4] !== 2) throw new Error(`${file}: not an ELF64 module`);
  const shoff = Number(dv.getBigUint64(0x28, true));
  const shentsize = dv.getUint16(0x3a, true);
  const shnum = dv.getUint16(0x3c, true);
  const shstrndx = dv.getUint16(0x3e, true);
  const sec = (k: number): { name: number; off: number; size: number } => {
    const b = shoff + k * shentsize;
    return { name: dv.getUint32(b, true), off: Number(dv.getBigUint64(b + 0x18, true)), size: Number(dv.getBigUint64(b + 0x20, true)) };
  };
  const strtab = sec(shstrndx);
  for (let k = 0; k < shnum; k++) {
    const s = sec(k);
    let end = strtab.off + s.name;
    while (elf[end] !== 0 && end < elf.length) end++;
    const name = Buffer.from(elf.subarray(strtab.off + s.name, end)).toString('ascii');
    if (name === '.modinfo') return Buffer.from(elf.subarray(s.off, s.off + s.size)).toString('latin1');
  }
  return '';
}

export function readModuleInfo(file: string, root: string): ModuleInfo {
  const text = modinfoSection(file, new Uint8Array(readFileSync(file)));
  const fields = text.split('\0');
  const get = (k: string): string | undefined => fields.find((f) => f.startsWith(k + '='))?.slice(k.length + 1);
  const base = file.split('/').pop()!.replace(/\.ko$/, '');
  const deps = get('depends');
  return { name: get('name') ?? base.replace(/-/g, '_'), path: relative(root, file), depends: deps ? deps.split(',').filter((d) => d.length > 0) : [] };
}

/** Indexes every module under `root` (lib/modules/VERSION) by name. */
export function indexModules(root: string): Map<string, ModuleInfo> {
  const out = new Map<string, ModuleInfo>();
  const walk = (dir: string): void => {
    for (const n of readdirSync(dir)) {
      const p = join(dir, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.ko')) { const m = readModuleInfo(p, root); out.set(m.name, m); }
    }
  };
  walk(join(root, 'kernel'));
  return out;
}

/** The wanted modules and everything they depend on, dependencies first (load order). */
export function dependencyClosure(index: Map<string, ModuleInfo>, wanted: string[]): ModuleInfo[] {
  const order: ModuleInfo[] = [];
  const seen = new Set<string>();
  const visit = (name: string, chain: string[]): void => {
    const key = name.replace(/-/g, '_');
    if (seen.has(key)) return;
    if (chain.includes(key)) throw new Error(`module dependency loop: ${[...chain, key].join(' -> ')}`);
    const m = index.get(key);
    if (m === undefined) return; // built into the kernel (modules.builtin) or absent
    for (const d of m.depends) visit(d, [...chain, key]);
    seen.add(key);
    order.push(m);
  };
  for (const w of wanted) visit(w, []);
  return order;
}
