/**
 * Loads every instruction group (each file registers its handlers in the opcode table) and
 * re-exports the engine's public pieces. Import the engine through this module.
 */
import './insn/alu.js';
import './insn/move.js';
import './insn/control.js';
import './insn/stack.js';
import './insn/flagops.js';
import './insn/muldiv.js';
import './insn/shift.js';
import './insn/bits.js';
import './insn/atomic.js';
import './insn/string.js';
import './insn/legacy.js';
import './insn/sse-int.js';
import './insn/sse-move.js';
import './insn/sse-float.js';
import './insn/sse-convert.js';
import './insn/sse-ssse3.js';
import './insn/sse-sse41.js';
import './insn/sse-sse42.js';
import './insn/x87-arith.js';
import './insn/x87-load.js';
import './insn/x87-control.js';
import './insn/x87-math.js';
import './insn/system-io.js';
import './insn/system-flags.js';
import './insn/system-cr.js';
import './insn/system-misc.js';
import './insn/system-tables.js';
import './insn/system-transfer.js';

export { X86Cpu } from './cpu.js';
export { runCpu, flushBlocks } from './executor.js';
