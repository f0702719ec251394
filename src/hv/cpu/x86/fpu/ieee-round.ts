/**
 * Correctly rounded binary32/binary64 results in all four MXCSR rounding modes, from JavaScript's
 * round-to-nearest double arithmetic plus the sign of the exact rounding error (error-free
 * transformations: TwoSum, Dekker's TwoProduct, remainders for division and square root).
 * Results that land in the binary64 subnormal range are recomputed on scaled operands so the
 * error stays exact there too.
 */

// Bit access for one value at a time (no allocation per call).
const f64 = new Float64Array(1), i64 = new Int32Array(f64.buffer);
const f32 = new Float32Array(1), i32 = new Int32Array(f32.buffer);

export const RC_NEAREST = 0, RC_DOWN = 1, RC_UP = 2, RC_ZERO = 3;

/** Steps |x| (finite, or a zero) by one unit in the last place of binary64, keeping the sign. */
function stepMag64(x: number, up: boolean): number {
  f64[0] = x;
  let lo = i64[0]! >>> 0, hi = i64[1]!;
  if (up) { lo = (lo + 1) >>> 0; if (lo === 0) hi++; }
  else { if (lo === 0) hi--; lo = (lo - 1) >>> 0; }
  i64[0] = lo | 0; i64[1] = hi;
  return f64[0];
}
export function nextUp64(x: number): number {
  if (x === Infinity || x !== x) return x;
  if (x === 0) return 5e-324;
  return x > 0 ? stepMag64(x, true) : stepMag64(x, false);
}
export function nextDown64(x: number): number { return -nextUp64(-x); }

function stepMag32(x: number, up: boolean): number {
  f32[0] = x;
  i32[0] = i32[0]! + (up ? 1 : -1);
  return f32[0];
}
export function nextUp32(x: number): number {
  if (x === Infinity || x !== x) return x;
  if (x === 0) return 1.401298464324817e-45;
  return x > 0 ? stepMag32(x, true) : stepMag32(x, false);
}
export function nextDown32(x: number): number { return -nextUp32(-x); }

/**
 * Rounds `r` (the round-to-nearest binary64 result) in mode `rc`, given the sign `es` of
 * (exact − r).
 */
export function round64(r: number, es: number, rc: number): number {
  if (es === 0 || rc === RC_NEAREST) return r;
  if (rc === RC_UP) return es > 0 ? nextUp64(r) : r;
  if (rc === RC_DOWN) return es < 0 ? nextDown64(r) : r;
  // Toward zero: step back only when the exact value lies between r and zero.
  if ((r > 0 && es < 0) || (r < 0 && es > 0)) return r > 0 ? nextDown64(r) : nextUp64(r);
  return r;
}

/** Rounds the value r + ε (sign(ε) = es, |ε| below half a binary64 ulp of r) to binary32 in mode rc. */
export function round32(r: number, es: number, rc: number): number {
  const f = Math.fround(r);
  if (f === r) {
    if (es === 0 || rc === RC_NEAREST) return f;
    if (rc === RC_UP) return es > 0 ? nextUp32(f) : f;
    if (rc === RC_DOWN) return es < 0 ? nextDown32(f) : f;
    if ((f > 0 && es < 0) || (f < 0 && es > 0)) return f > 0 ? nextDown32(f) : nextUp32(f);
    return f;
  }
  let lo: number, hi: number;
  if (f > r) { hi = f; lo = nextDown32(f); } else { lo = f; hi = nextUp32(f); }
  switch (rc) {
    case RC_DOWN: return lo;
    case RC_UP: return hi;
    case RC_ZERO: return Math.abs(lo) < Math.abs(hi) ? lo : hi;
    default: {
      // Only an exact binary64 midpoint needs the error's sign to break the tie.
      const loV = lo === -Infinity ? -(2 ** 128) : lo, hiV = hi === Infinity ? 2 ** 128 : hi;
      if (r - loV === hiV - r && es !== 0) return es > 0 ? hi : lo;
      return f;
    }
  }
}

// ---- error-free transformations ----

/** Error of the last twoProd/twoSum (exact when no overflow or underflow happens). */
export let errLo = 0;

export function twoSum(a: number, b: number): number {
  const s = a + b;
  const bb = s - a;
  errLo = (a - (s - bb)) + (b - bb);
  return s;
}

const SPLIT = 134217729; // 2^27 + 1
let splitHi = 0, splitLo = 0;
function split(x: number): void {
  if (!Number.isFinite(x)) { splitHi = x; splitLo = 0; return; }
  const t = SPLIT * x;
  splitHi = t - (t - x);
  splitLo = x - splitHi;
}

export function twoProd(a: number, b: number): number {
  // Splitting multiplies by 2^27: keep huge factors away from overflow (scaling by 2^±28 is exact).
  if (Math.abs(a) > 2 ** 995 && Number.isFinite(a)) { const p = twoProd(a * 2 ** -28, b); errLo *= 2 ** 28; return p * 2 ** 28; }
  if (Math.abs(b) > 2 ** 995 && Number.isFinite(b)) { const p = twoProd(a, b * 2 ** -28); errLo *= 2 ** 28; return p * 2 ** 28; }
  const p = a * b;
  split(a); const ah = splitHi, al = splitLo;
  split(b); const bh = splitHi, bl = splitLo;
  errLo = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
  return p;
}

function sign(x: number): number { return x > 0 ? 1 : x < 0 ? -1 : 0; }

/** Sign of (exact − returned) for the last mulExact/divExact/sqrtExact. */
export let errSign = 0;
/** fl(a·b) for finite non-zero a, b, with errSign set; subnormal products are handled by scaling. */
export function mulExact(a: number, b: number): number {
  const p = twoProd(a, b);
  if (Math.abs(p) >= 2 ** -960) { errSign = sign(errLo); return p; }
  // Scale the smaller factor up so the product is normal, then descale with one rounding.
  const aBig = Math.abs(a) >= Math.abs(b);
  const ps = aBig ? twoProd(a, b * 2 ** 600) : twoProd(a * 2 ** 600, b);
  if (Math.abs(ps) < 2 ** -900) { errSign = sign(a) * sign(b); return errSign < 0 ? -0 : 0; }
  return descale(ps, errLo, 600);
}

/** fl(a/b) for finite a and non-zero finite b, with errSign set. */
export function divExact(a: number, b: number): number {
  const q = a / b;
  if (q === 0) { errSign = sign(a) * sign(b); return q; }
  if (Math.abs(q) < 2 ** -960) {
    const as = a * 2 ** 600;
    const qs = as / b;
    const p = twoProd(qs, b);
    const rem = (as - p) - errLo;
    return descale(qs, sign(rem) * sign(b), 600);
  }
  // The remainder a − q·b must not underflow or overflow: work on a·2^s and q·2^s.
  const s = Math.abs(a) < 2 ** -800 ? 600 : Math.abs(a) > 2 ** 800 ? -600 : 0;
  const as = a * 2 ** s, qs = q * 2 ** s;
  const p = twoProd(qs, b);
  const rem = (as - p) - errLo;
  errSign = sign(rem) * sign(b);
  return q;
}

/** sqrt with errSign = sign(exact − result). */
export function sqrtExact(a: number): number {
  const r = Math.sqrt(a);
  if (a === 0) { errSign = 0; return r; }
  const k = a < 2 ** -900 ? 100 : a > 2 ** 900 ? -100 : 0;
  const as = a * 2 ** (2 * k), rs = r * 2 ** k;
  const p = twoProd(rs, rs);
  errSign = sign((as - p) - errLo);
  return r;
}

/**
 * Rounds hi·2^-k (+ a tail with sign `tail`) to nearest binary64, possibly subnormal, and sets
 * errSign for the result.
 */
function descale(hi: number, tail: number, k: number): number {
  if (Math.abs(hi) < 2 ** -900) {
    // Still far below half the smallest subnormal after scaling: the result is a signed zero.
    errSign = hi !== 0 ? sign(hi) : sign(tail);
    return errSign < 0 ? -0 : 0;
  }
  const r = hi * 2 ** -k;
  const d = hi - r * 2 ** k; // exact: r·2^k is within one subnormal ulp of hi
  const half = 2 ** (-1075 + k);
  if (Math.abs(d) === half && tail !== 0) {
    // A tie in the subnormal grid decided by the tail: move towards it.
    const exactSide = sign(d); // exact − r has the sign of d (the tail is smaller than any step)
    if (sign(tail) === exactSide) {
      const moved = exactSide > 0 ? nextUp64(r) : nextDown64(r);
      errSign = -exactSide;
      return moved;
    }
  }
  errSign = d !== 0 ? sign(d) : sign(tail);
  return r;
}
