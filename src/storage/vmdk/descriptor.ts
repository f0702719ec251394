/**
 * The VMDK text descriptor: `key = value` lines and extent lines. The text comes from an untrusted
 * file, so parsing is bounded (size, line and extent counts), unknown keys and lines are kept but
 * ignored, and only the fields this driver relies on must be well formed.
 */
import { FormatError } from '../../common/errors.js';

export const MAX_DESCRIPTOR_BYTES = 1 << 20;
const MAX_EXTENTS = 10_000;

export type ExtentAccess = 'RW' | 'RDONLY' | 'NOACCESS';
export type ExtentType = 'FLAT' | 'SPARSE' | 'ZERO' | 'VMFS';

export interface ExtentLine {
  access: ExtentAccess;
  sectors: number;
  type: ExtentType;
  /** File name as written (relative to the descriptor's folder); empty for ZERO extents. */
  fileName: string;
  /** Start sector inside the file, for FLAT extents. */
  offset: number;
}

export interface Descriptor {
  /** Every `key = value` line with quotes removed; the last occurrence wins. */
  fields: Map<string, string>;
  extents: ExtentLine[];
  createType: string;
  cid: string;
  /** undefined when the disk has no parent (parentCID ffffffff). */
  parentCID: string | undefined;
  parentFileNameHint: string | undefined;
}

const EXTENT_RE = /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+([A-Z]+)(?:\s+(.*))?$/;
const KEY_RE = /^([A-Za-z0-9_.\-]+)\s*=\s*(.*)$/;

/** Returns the value unquoted, or undefined when the quoting is broken. */
function unquote(raw: string): string | undefined {
  const t = raw.trim();
  if (t.startsWith('"')) {
    const end = t.indexOf('"', 1);
    if (end < 0 || t.slice(end + 1).trim() !== '') return undefined;
    return t.slice(1, end);
  }
  if (t.includes('"')) return undefined;
  return t;
}

export function parseDescriptor(text: string, file: string): Descriptor {
  if (text.length > MAX_DESCRIPTOR_BYTES) throw new FormatError(file, `descriptor is larger than ${MAX_DESCRIPTOR_BYTES} bytes`);
  const nul = text.indexOf('\0');
  if (nul >= 0) text = text.slice(0, nul);
  const fields = new Map<string, string>();
  const broken = new Map<string, number>();
  const extents: ExtentLine[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const em = EXTENT_RE.exec(line);
    if (em) {
      if (extents.length >= MAX_EXTENTS) throw new FormatError(file, `descriptor lists more than ${MAX_EXTENTS} extents`);
      extents.push(parseExtent(em, file, i + 1));
      continue;
    }
    const km = KEY_RE.exec(line);
    if (!km) continue; // unknown line shapes are tolerated, as VMware does
    const value = unquote(km[2]!);
    if (value === undefined) broken.set(km[1]!, i + 1);
    else fields.set(km[1]!, value);
  }
  const need = (key: string): string | undefined => {
    const line = broken.get(key);
    if (line !== undefined && !fields.has(key)) throw new FormatError(file, `descriptor line ${line}: value of ${key} has unbalanced quotes`);
    return fields.get(key);
  };
  if (extents.length === 0) throw new FormatError(file, 'descriptor lists no extents');
  const createType = need('createType');
  if (createType === undefined) throw new FormatError(file, 'descriptor has no createType');
  const cid = need('CID') ?? 'ffffffff';
  const parentRaw = need('parentCID');
  const hint = need('parentFileNameHint');
  const parentCID = parentRaw === undefined || parentRaw.toLowerCase() === 'ffffffff' ? undefined : parentRaw;
  if (parentCID !== undefined && (hint === undefined || hint === '')) {
    throw new FormatError(file, `descriptor has parentCID ${parentCID} but no parentFileNameHint naming the parent`);
  }
  return { fields, extents, createType, cid, parentCID, parentFileNameHint: parentCID === undefined ? undefined : hint };
}

function parseExtent(m: RegExpExecArray, file: string, lineNo: number): ExtentLine {
  const where = `descriptor line ${lineNo}`;
  const type = m[3]!;
  if (type !== 'FLAT' && type !== 'SPARSE' && type !== 'ZERO' && type !== 'VMFS') {
    throw new FormatError(file, `${where}: extent type ${type} is not supported (FLAT, SPARSE, ZERO and VMFS are)`);
  }
  const sectors = Number(m[2]);
  if (!Number.isSafeInteger(sectors) || sectors <= 0 || sectors * 512 > Number.MAX_SAFE_INTEGER) {
    throw new FormatError(file, `${where}: extent size ${m[2]} sectors is out of range`);
  }
  let fileName = '';
  let offset = 0;
  const rest = (m[4] ?? '').trim();
  if (type === 'ZERO') {
    return { access: m[1] as ExtentAccess, sectors, type, fileName, offset };
  }
  const fm = /^"([^"]*)"(?:\s+(\d+))?$/.exec(rest);
  if (!fm) throw new FormatError(file, `${where}: extent needs a quoted file name (got '${rest.slice(0, 80)}')`);
  fileName = fm[1]!;
  if (fileName === '') throw new FormatError(file, `${where}: extent file name is empty`);
  if (fm[2] !== undefined) {
    offset = Number(fm[2]);
    if (!Number.isSafeInteger(offset) || offset * 512 > Number.MAX_SAFE_INTEGER) throw new FormatError(file, `${where}: extent offset ${fm[2]} is out of range`);
  }
  return { access: m[1] as ExtentAccess, sectors, type: type as ExtentType, fileName, offset };
}

export interface DescriptorText {
  cid: string;
  parentCID?: string;
  parentFileNameHint?: string;
  createType: string;
  extents: ExtentLine[];
  sizeSectors: number;
  adapterType?: string;
}

/** Writes a descriptor in the layout VMware and qemu-img produce. */
export function formatDescriptor(d: DescriptorText): string {
  const lines = [
    '# Disk DescriptorFile',
    'version=1',
    `CID=${d.cid}`,
    `parentCID=${d.parentCID ?? 'ffffffff'}`,
    `createType="${d.createType}"`,
  ];
  if (d.parentFileNameHint !== undefined) lines.push(`parentFileNameHint="${d.parentFileNameHint}"`);
  lines.push('', '# Extent description');
  for (const e of d.extents) {
    const tail = e.type === 'ZERO' ? '' : ` "${e.fileName}"${e.type === 'FLAT' ? ` ${e.offset}` : ''}`;
    lines.push(`${e.access} ${e.sectors} ${e.type}${tail}`);
  }
  const heads = 16;
  const secs = 63;
  const cyl = Math.min(65535, Math.max(1, Math.floor(d.sizeSectors / (heads * secs))));
  lines.push(
    '',
    '# The Disk Data Base',
    '#DDB',
    '',
    'ddb.virtualHWVersion = "4"',
    `ddb.geometry.cylinders = "${cyl}"`,
    `ddb.geometry.heads = "${heads}"`,
    `ddb.geometry.sectors = "${secs}"`,
    `ddb.adapterType = "${d.adapterType ?? 'ide'}"`,
    '',
  );
  return lines.join('\n');
}

/** CIDs are 32-bit numbers written in hex; compare the numbers, not the spelling. */
export function sameCid(a: string, b: string): boolean {
  return Number.parseInt(a, 16) === Number.parseInt(b, 16);
}
